// Service accounts end to end in SimCluster: one signing key (from the seed) for every
// apiserver, the ServiceAccount admission plugin on, and the controller-manager's
// serviceaccount and root-ca-cert-publisher controllers with the cluster's root CA.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>

#include "cluster/api/authentication.pb.h"
#include "cluster/api/core.pb.h"
#include "cluster/api/registry.h"
#include "cluster/client/token_request.h"
#include "scenarios/sim_cluster.h"

namespace ksim::scenarios {
namespace {

const api::KindInfo& Core(const char* resource) { return *api::Registry::Default().ByGroupResource("", resource); }

class SimClusterTokens : public ::testing::Test {
 protected:
  void SetUp() override {
    SimClusterOptions o;
    o.seed = 3;
    o.control_plane = 2;
    o.workers = 1;
    o.service_network = false;
    c = std::make_unique<SimCluster>(o);
    ASSERT_TRUE(c->Bootstrap().ok());
  }
  // A client of control-plane host i's apiserver alone.
  std::unique_ptr<client::ApiClient> Via(int i, const std::string& token = kSimClusterAdminToken) {
    client::ApiClientOptions co;
    co.endpoints = {c->control_plane_hosts()[static_cast<size_t>(i)] + ":" + std::to_string(SimCluster::kApiPort)};
    co.token = token;
    return std::make_unique<client::ApiClient>(c->client_env(), co);
  }
  client::ApiResult Await(const std::function<void(client::ApiClient::Done)>& start) {
    std::optional<client::ApiResult> r;
    start([&r](const client::ApiResult& result) { r = result; });
    c->RunUntil([&r] { return r.has_value(); }, Seconds(30));
    if (r.has_value()) return *r;
    client::ApiResult none;
    none.status = Status::Timeout("no answer");
    return none;
  }
  // Polls `check` (which makes its own calls) once a simulated second, up to `seconds`.
  bool Eventually(const std::function<bool()>& check, int seconds) {
    for (int i = 0; i < seconds; ++i) {
      if (check()) return true;
      c->RunFor(Seconds(1));
    }
    return check();
  }
  std::unique_ptr<SimCluster> c;
};

TEST_F(SimClusterTokens, APodsBoundTokenFromOneApiserverAuthenticatesAtAnother) {
  auto a = Via(0);
  api::Pod pod;
  pod.mutable_metadata()->set_namespace_("default");
  pod.mutable_metadata()->set_name("app");
  pod.mutable_spec()->add_containers()->set_name("app");
  pod.mutable_spec()->mutable_containers(0)->set_image("nginx");
  const client::ApiResult created = Await([&](client::ApiClient::Done d) { a->Create(Core("pods"), pod, d); });
  ASSERT_EQ(created.code, 201) << created.Describe();
  ASSERT_TRUE(pod.ParseFromString(created.body));
  EXPECT_EQ(pod.spec().service_account_name(), "default");
  bool has_volume = false;
  for (const api::Volume& v : pod.spec().volumes()) {
    has_volume |= std::string_view(v.name()).starts_with("kube-api-access-") && v.has_projected();
  }
  EXPECT_TRUE(has_volume);
  ASSERT_EQ(pod.spec().containers(0).volume_mounts_size(), 1);
  EXPECT_EQ(pod.spec().containers(0).volume_mounts(0).mount_path(), "/var/run/secrets/kubernetes.io/serviceaccount");

  // What the kubelet asks for the volume's token source: bound to the pod, via apiserver A.
  api::TokenRequest tr;
  tr.mutable_spec()->set_expiration_seconds(3607);
  tr.mutable_spec()->mutable_bound_object_ref()->set_kind("Pod");
  tr.mutable_spec()->mutable_bound_object_ref()->set_api_version("v1");
  tr.mutable_spec()->mutable_bound_object_ref()->set_name("app");
  tr.mutable_spec()->mutable_bound_object_ref()->set_uid(pod.metadata().uid());
  const client::ApiResult issued =
      Await([&](client::ApiClient::Done d) { client::RequestServiceAccountToken(*a, "default", "default", tr, d); });
  ASSERT_EQ(issued.code, 201) << issued.Describe();
  ASSERT_TRUE(tr.ParseFromString(issued.body));
  ASSERT_FALSE(tr.status().token().empty());

  // Apiserver B knows the key: the token authenticates there (403: the account may not
  // list pods), where a made-up one does not (401).
  auto b = Via(1, tr.status().token());
  const client::ApiResult at_b = Await([&](client::ApiClient::Done d) { b->List(Core("pods"), "default", {}, d); });
  EXPECT_EQ(at_b.code, 403) << at_b.Describe();
  EXPECT_NE(at_b.error.message().find("system:serviceaccount:default:default"), std::string::npos) << at_b.Describe();
  auto stranger = Via(1, "not-a-token");
  EXPECT_EQ(Await([&](client::ApiClient::Done d) { stranger->List(Core("pods"), "default", {}, d); }).code, 401);

  // The token dies with its pod.
  ASSERT_TRUE(c->DeletePod("default", "app").ok());
  ASSERT_TRUE(Eventually(
      [&] { return Await([&](client::ApiClient::Done d) { b->List(Core("pods"), "default", {}, d); }).code == 401; },
      120));
}

TEST_F(SimClusterTokens, ANewNamespaceGetsItsDefaultAccountAndTheRootCa) {
  api::Namespace ns;
  ns.mutable_metadata()->set_name("team-a");
  ASSERT_EQ(Await([&](client::ApiClient::Done d) { c->admin().Create(Core("namespaces"), ns, d); }).code, 201);
  api::ConfigMap cm;
  ASSERT_TRUE(Eventually(
      [&] {
        const client::ApiResult r =
            Await([&](client::ApiClient::Done d) { c->admin().Get(Core("configmaps"), "team-a", "kube-root-ca.crt", d); });
        return r.ok() && cm.ParseFromString(r.body);
      },
      30));
  ASSERT_EQ(cm.data().count("ca.crt"), 1u);
  EXPECT_TRUE(std::string_view(cm.data().at("ca.crt")).starts_with("-----BEGIN CERTIFICATE-----"));
  EXPECT_TRUE(cm.metadata().annotations().contains("kubernetes.io/description"));
  // A pod there is admitted once the serviceaccount controller made `default`.
  api::Pod pod;
  pod.mutable_metadata()->set_namespace_("team-a");
  pod.mutable_metadata()->set_name("app");
  pod.mutable_spec()->add_containers()->set_name("app");
  pod.mutable_spec()->mutable_containers(0)->set_image("nginx");
  ASSERT_TRUE(Eventually(
      [&] { return Await([&](client::ApiClient::Done d) { c->admin().Create(Core("pods"), pod, d); }).code == 201; },
      30));
}

}  // namespace
}  // namespace ksim::scenarios
