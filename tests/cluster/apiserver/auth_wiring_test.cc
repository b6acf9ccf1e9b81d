// The apiserver's front door: bearer tokens (static and service-account) and RBAC, with
// Kubernetes' 401 and 403 Statuses.
#include <gtest/gtest.h>

#include "cluster/api/rbac.pb.h"
#include "tests/cluster/apiserver/api_cluster.h"

namespace ksim::apiserver::testing {
namespace {

using client::ApiClient;
using client::ApiResult;

const api::KindInfo& Pods() { return Kind("", "pods"); }

class ApiAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    admin = cluster.AddClient("admin");
    for (const char* ns : {"default", "other"}) {
      ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { admin->Create(Kind("", "namespaces"), MakeNamespace(ns), d); }).code, 201);
    }
    ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { admin->Create(Pods(), MakePod("default", "web"), d); }).code, 201);
    ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { admin->Create(Pods(), MakePod("other", "db"), d); }).code, 201);
  }
  ApiResult ListPods(ApiClient* c, const std::string& ns) {
    return cluster.Await([&](ApiClient::Done d) { c->List(Pods(), ns, {}, d); });
  }
  void GrantPodReader(const std::string& ns, const std::string& subject_kind, const std::string& subject,
                      const std::string& subject_ns = "") {
    api::Role role;
    role.mutable_metadata()->set_namespace_(ns);
    role.mutable_metadata()->set_name("pod-reader");
    auto* rule = role.add_rules();
    rule->add_api_groups("");
    rule->add_resources("pods");
    rule->add_verbs("get");
    rule->add_verbs("list");
    const ApiResult r = cluster.Await([&](ApiClient::Done d) { admin->Create(Kind("rbac.authorization.k8s.io", "roles"), role, d); });
    ASSERT_TRUE(r.code == 201 || r.code == 409) << r.Describe();
    api::RoleBinding b;
    b.mutable_metadata()->set_namespace_(ns);
    b.mutable_metadata()->set_name("read-pods-" + subject);
    auto* s = b.add_subjects();
    s->set_kind(subject_kind);
    s->set_name(subject);
    if (subject_kind == "ServiceAccount") {
      s->set_namespace_(subject_ns);
    } else {
      s->set_api_group("rbac.authorization.k8s.io");
    }
    b.mutable_role_ref()->set_api_group("rbac.authorization.k8s.io");
    b.mutable_role_ref()->set_kind("Role");
    b.mutable_role_ref()->set_name("pod-reader");
    ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { admin->Create(Kind("rbac.authorization.k8s.io", "rolebindings"), b, d); }).code, 201);
    cluster.store.world.RunFor(Milliseconds(200));  // the apiserver's cache sees the binding
  }
  ApiCluster cluster;
  ApiClient* admin = nullptr;
};

TEST_F(ApiAuthTest, NoTokenOrAnUnknownTokenIs401) {
  for (const std::string token : {"", "nobody-token"}) {
    ApiClient* c = cluster.AddClient("anon" + std::to_string(token.size()), 0, token);
    const ApiResult r = ListPods(c, "default");
    EXPECT_EQ(r.code, 401) << "token '" << token << "'";
    EXPECT_EQ(r.error.reason(), "Unauthorized");
    EXPECT_EQ(r.error.kind(), "Status");
  }
}

TEST_F(ApiAuthTest, RbacDecidesWithKubernetesForbiddenMessages) {
  ApiClient* bob = cluster.AddClient("bob", 0, "bob-token");
  const ApiResult denied = ListPods(bob, "default");
  EXPECT_EQ(denied.code, 403);
  EXPECT_EQ(denied.error.reason(), "Forbidden");
  EXPECT_EQ(denied.error.message(),
            "pods is forbidden: User \"bob\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\"");

  GrantPodReader("default", "User", "bob");
  EXPECT_EQ(ListPods(bob, "default").code, 200);
  EXPECT_EQ(cluster.Await([&](ApiClient::Done d) { bob->Get(Pods(), "default", "web", d); }).code, 200);
  EXPECT_EQ(ListPods(bob, "other").code, 403) << "a RoleBinding grants in its namespace only";
  EXPECT_EQ(cluster.Await([&](ApiClient::Done d) { bob->Delete(Pods(), "default", "web", d); }).code, 403)
      << "the role has no delete verb";

  // Groups: carol is in team-a.
  ApiClient* carol = cluster.AddClient("carol", 0, "carol-token");
  EXPECT_EQ(ListPods(carol, "other").code, 403);
  GrantPodReader("other", "Group", "team-a");
  EXPECT_EQ(ListPods(carol, "other").code, 200);

  // Revoking the binding takes effect through the watch cache.
  ASSERT_EQ(cluster.Await([&](ApiClient::Done d) {
              admin->Delete(Kind("rbac.authorization.k8s.io", "rolebindings"), "default", "read-pods-bob", d);
            }).code,
            200);
  cluster.store.world.RunFor(Milliseconds(200));
  EXPECT_EQ(ListPods(bob, "default").code, 403);
}

TEST_F(ApiAuthTest, ServiceAccountTokensFromSecretsAuthenticate) {
  api::Secret secret;
  secret.mutable_metadata()->set_namespace_("default");
  secret.mutable_metadata()->set_name("builder-token");
  (*secret.mutable_metadata()->mutable_annotations())["kubernetes.io/service-account.name"] = "builder";
  secret.set_type("kubernetes.io/service-account-token");
  (*secret.mutable_data())["token"] = "sa-builder-token";
  ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { admin->Create(Kind("", "secrets"), secret, d); }).code, 201);
  cluster.store.world.RunFor(Milliseconds(200));
  ApiClient* sa = cluster.AddClient("builder", 0, "sa-builder-token");
  const ApiResult denied = ListPods(sa, "default");
  EXPECT_EQ(denied.code, 403) << denied.Describe();
  EXPECT_NE(denied.error.message().find("system:serviceaccount:default:builder"), std::string::npos)
      << denied.error.message();
  GrantPodReader("default", "ServiceAccount", "builder", "default");
  EXPECT_EQ(ListPods(sa, "default").code, 200);
}

TEST_F(ApiAuthTest, TheBootstrapPolicyLetsTheSchedulerBindButNotDeleteNodes) {
  // The scheduler's identity comes from a static token for this test.
  ApiCluster c2(1, 2, [](ApiServerOptions& o) {
    o.token_file = std::string(kTokenFile) + "sched-token,system:kube-scheduler,uid-sched\n";
  });
  ApiClient* a = c2.AddClient("admin");
  ASSERT_EQ(c2.Await([&](ApiClient::Done d) { a->Create(Kind("", "namespaces"), MakeNamespace("default"), d); }).code, 201);
  ASSERT_EQ(c2.Await([&](ApiClient::Done d) { a->Create(Pods(), MakePod("default", "web"), d); }).code, 201);
  ApiClient* sched = c2.AddClient("scheduler", 0, "sched-token");
  api::Binding b;
  b.mutable_target()->set_name("node-a");
  Request bind;
  bind.set_verb("create");
  bind.set_version("v1");
  bind.set_resource("pods");
  bind.set_namespace_("default");
  bind.set_name("web");
  bind.set_subresource("binding");
  bind.set_body(b.SerializeAsString());
  EXPECT_EQ(c2.Await([&](ApiClient::Done d) { sched->Do(bind, d); }).code, 201);
  EXPECT_EQ(c2.Await([&](ApiClient::Done d) { sched->Delete(Kind("", "nodes"), "", "node-a", d); }).code, 403);
}

}  // namespace
}  // namespace ksim::apiserver::testing
