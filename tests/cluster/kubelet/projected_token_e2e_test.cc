// Projected service-account tokens end to end: store, an apiserver signing bound tokens,
// a kubelet acting as its node (system:node:w1) on the simulated runtime. The pods carry
// the projected volume themselves (the ServiceAccount admission plugin adds it in a full
// cluster). The token file on the host's Disk must authenticate as the pod's account with
// the pod in `extra`, be refreshed past 80 % of its lifetime, die with the pod, and hold
// the containers back while it cannot be had.
#include <gtest/gtest.h>

#include "cluster/api/authentication.pb.h"
#include "cluster/apiserver/auth/bound_token.h"
#include "cluster/apiserver/auth/jwt.h"
#include "cluster/client/token_request.h"
#include "cluster/env/entropy.h"
#include "cluster/kubelet/projected_volume.h"
#include "tests/cluster/kubelet/kubelet_cluster.h"

namespace ksim::kubelet::testing {
namespace {

constexpr char kNodeTokens[] =
    "node-token-w1,system:node:w1,uid-node-w1,\"system:nodes\"\n"
    "node-token-w2,system:node:w2,uid-node-w2,\"system:nodes\"\n";

std::string ClusterKeyPem() {
  SeededEntropy entropy(0x5a5a);
  return apiserver::JwtKey::Ed25519FromEntropy(entropy)->PrivateKeyPem();
}

// The kube-api-access volume the ServiceAccount admission plugin writes, with a 600 s token.
constexpr char kPodYaml[] = R"(
apiVersion: v1
kind: Pod
metadata: {name: app}
spec:
  serviceAccountName: robot
  containers: [{name: app, image: "nginx:1.25"}]
  volumes:
  - name: kube-api-access
    projected:
      sources:
      - serviceAccountToken: {path: token, expirationSeconds: 600}
      - configMap: {name: kube-root-ca.crt, items: [{key: ca.crt, path: ca.crt}]}
      - downwardAPI: {items: [{path: namespace, fieldRef: {apiVersion: v1, fieldPath: metadata.namespace}}]}
)";

class ProjectedTokenTest : public ::testing::Test {
 protected:
  ProjectedTokenTest()
      : c(1, [](apiserver::ApiServerOptions& o) {
          o.service_account_signing_key_pem = ClusterKeyPem();
          o.token_file = std::string(apiserver::testing::kTokenFile) + kNodeTokens;
        }) {
    c.AddNode("w1", 1, [](KubeletOptions& o) { o.token = "node-token-w1"; });
    api::ConfigMap ca;
    ca.mutable_metadata()->set_namespace_("default");
    ca.mutable_metadata()->set_name("kube-root-ca.crt");
    (*ca.mutable_data())["ca.crt"] = "-----BEGIN CERTIFICATE-----\nroot\n-----END CERTIFICATE-----\n";
    EXPECT_TRUE(c.Create(ca).ok());
  }

  void CreateAccount(const std::string& name = "robot") {
    api::ServiceAccount sa;
    sa.mutable_metadata()->set_namespace_("default");
    sa.mutable_metadata()->set_name(name);
    const client::ApiResult r = c.Create(sa);
    ASSERT_TRUE(r.ok()) << r.Describe();
  }
  std::string FileOf(const api::Pod& pod, const std::string& path) {
    std::string out;
    if (!c.Host("w1").disk().Read(ProjectedFilePath("pods", pod.metadata().uid(), "kube-api-access", path), &out).ok()) {
      return "";
    }
    return out;
  }
  // Who the apiserver takes `token` for now (nullopt: 401).
  std::optional<apiserver::UserInfo> WhoIs(const std::string& token) {
    const int64_t now_s = c.world().FindHost("api1")->WallNow().count() / 1'000'000'000;
    return c.api.Server(1)->handler().authenticator().Authenticate(token, now_s);
  }
  void ExpectBoundTo(const std::string& token, const api::Pod& pod) {
    const auto user = WhoIs(token);
    ASSERT_TRUE(user.has_value()) << c.api.Server(1)->handler().authenticator().last_bound_token_refusal();
    EXPECT_EQ(user->name, "system:serviceaccount:default:robot");
    EXPECT_EQ(user->extra.at(std::string(apiserver::kPodNameExtra)), std::vector<std::string>{pod.metadata().name()});
    EXPECT_EQ(user->extra.at(std::string(apiserver::kPodUidExtra)), std::vector<std::string>{pod.metadata().uid()});
  }

  KubeletCluster c;
};

TEST_F(ProjectedTokenTest, APodGetsATokenBoundToItAndTheVolumesOtherFiles) {
  CreateAccount();
  const api::Pod pod = c.CreatePod(kPodYaml, "w1");
  ASSERT_TRUE(c.WaitPod("app", IsReady, Seconds(30)));
  const std::string token = FileOf(pod, "token");
  ASSERT_FALSE(token.empty());
  ExpectBoundTo(token, pod);
  EXPECT_EQ(FileOf(pod, "namespace"), "default");
  EXPECT_EQ(FileOf(pod, "ca.crt"), "-----BEGIN CERTIFICATE-----\nroot\n-----END CERTIFICATE-----\n");
  // The default audience (the issuer) and the lifetime asked for.
  apiserver::Jws jws;
  ASSERT_TRUE(apiserver::ParseJws(token, &jws).ok());
  EXPECT_EQ(jws.claims["exp"].get<int64_t>() - jws.claims["iat"].get<int64_t>(), 600);
  EXPECT_EQ(c.Get("w1")->tokens()->stats().requests, 1u);
}

TEST_F(ProjectedTokenTest, TheTokenIsRefreshedPastEightyPercentOfItsLifetime) {
  CreateAccount();
  const api::Pod pod = c.CreatePod(kPodYaml, "w1");
  ASSERT_TRUE(c.WaitPod("app", IsReady, Seconds(30)));
  const std::string first = FileOf(pod, "token");
  ASSERT_FALSE(first.empty());
  // Before 80 % of 600 s (480 s) the token stays; the resyncs every 60 s reuse it.
  c.Run(Seconds(400));
  EXPECT_EQ(FileOf(pod, "token"), first);
  // By 480 s + one resync (60 s) it was replaced, before it expires at 600 s.
  c.Run(Seconds(150));
  const std::string second = FileOf(pod, "token");
  ASSERT_FALSE(second.empty());
  EXPECT_NE(second, first);
  ExpectBoundTo(second, pod);
  EXPECT_GE(c.Get("w1")->tokens()->stats().refreshes, 1u);
  // And again, for as long as the pod runs: the file never holds an expired token.
  c.Run(Seconds(600));
  ExpectBoundTo(FileOf(pod, "token"), pod);
}

TEST_F(ProjectedTokenTest, ADeletedPodsTokenStopsAuthenticatingAndItsFilesGo) {
  CreateAccount();
  const api::Pod pod = c.CreatePod(kPodYaml, "w1");
  ASSERT_TRUE(c.WaitPod("app", IsReady, Seconds(30)));
  const std::string token = FileOf(pod, "token");
  ExpectBoundTo(token, pod);
  ASSERT_TRUE(c.DeletePod("app").ok());
  ASSERT_TRUE(c.WaitPod("app", [](const std::optional<api::Pod>& p) { return !p.has_value(); }, Seconds(60)));
  c.Run(Seconds(5));  // housekeeping reaps the worker
  EXPECT_FALSE(WhoIs(token).has_value());
  EXPECT_EQ(FileOf(pod, "token"), "");
  EXPECT_EQ(FileOf(pod, "namespace"), "");
  EXPECT_EQ(c.Get("w1")->tokens()->size(), 0u);
}

TEST_F(ProjectedTokenTest, NoContainerStartsUntilTheTokenCanBeHad) {
  // The account does not exist yet: every TokenRequest is 404.
  const api::Pod pod = c.CreatePod(kPodYaml, "w1");
  c.Run(Seconds(20));
  const std::optional<api::Pod> waiting = c.GetPod("app");
  ASSERT_TRUE(waiting.has_value());
  EXPECT_EQ(waiting->status().pod_ip(), "");
  ASSERT_EQ(waiting->status().container_statuses_size(), 1);
  EXPECT_EQ(waiting->status().container_statuses(0).state().waiting().reason(), "ContainerCreating");
  EXPECT_EQ(c.Get("w1")->worker("default/app")->sandbox_id(), "");
  const uint64_t failures = c.Get("w1")->tokens()->stats().failures;
  EXPECT_GE(failures, 3u);   // retried...
  EXPECT_LE(failures, 12u);  // ...with back-off, not in a loop
  const client::ApiResult events = c.api.Await(
      [&](client::ApiClient::Done d) { c.kubectl->List(apiserver::testing::Kind("", "events"), "default", {}, d); });
  EXPECT_NE(events.body.find("FailedMount"), std::string::npos);
  EXPECT_NE(events.body.find("MountVolume.SetUp failed for volume \"kube-api-access\""), std::string::npos);
  EXPECT_EQ(FileOf(pod, "namespace"), "");  // nothing written while a source fails
  // Once the account exists the next retry gets the token and the pod runs.
  CreateAccount();
  ASSERT_TRUE(c.WaitPod("app", IsReady, Seconds(40)));
  ExpectBoundTo(FileOf(pod, "token"), pod);
}

// Kubernetes' NodeRestriction: a node gets tokens only bound to pods on it.
TEST_F(ProjectedTokenTest, ANodeGetsTokensOnlyForItsOwnPods) {
  CreateAccount();
  const api::Pod mine = c.CreatePod(kPodYaml, "w1");
  std::string other_yaml = kPodYaml;
  other_yaml.replace(other_yaml.find("name: app}"), 10, "name: far}");
  const api::Pod far = c.CreatePod(other_yaml, "w2");  // no kubelet there
  client::ApiClient* node = c.api.AddClient("as-w1", 0, "node-token-w1");
  auto ask = [&](const std::string& kind, const api::Pod& pod, bool with_uid) {
    api::TokenRequest tr;
    if (!kind.empty()) {
      tr.mutable_spec()->mutable_bound_object_ref()->set_api_version("v1");
      tr.mutable_spec()->mutable_bound_object_ref()->set_kind(kind);
      tr.mutable_spec()->mutable_bound_object_ref()->set_name(pod.metadata().name());
      if (with_uid) tr.mutable_spec()->mutable_bound_object_ref()->set_uid(pod.metadata().uid());
    }
    return c.api.Await(
        [&](client::ApiClient::Done d) { client::RequestServiceAccountToken(*node, "default", "robot", tr, d); });
  };
  EXPECT_EQ(ask("Pod", mine, true).code, 201);
  client::ApiResult r = ask("Pod", far, true);
  EXPECT_EQ(r.code, 403);
  EXPECT_EQ(r.error.message(),
            "serviceaccounts \"robot\" is forbidden: node requested token bound to a pod scheduled on a different node");
  r = ask("", mine, false);
  EXPECT_EQ(r.code, 403);
  EXPECT_EQ(r.error.message(), "serviceaccounts \"robot\" is forbidden: node requested token not bound to a pod");
  r = ask("Pod", mine, false);
  EXPECT_EQ(r.code, 403);
  EXPECT_EQ(r.error.message(),
            "serviceaccounts \"robot\" is forbidden: node requested token with a pod binding without a uid");
  // An administrator is not a node: unbound tokens are its to ask for.
  api::TokenRequest unbound;
  EXPECT_EQ(c.api.Await([&](client::ApiClient::Done d) {
                  client::RequestServiceAccountToken(*c.kubectl, "default", "robot", unbound, d);
                }).code,
            201);
}

}  // namespace
}  // namespace ksim::kubelet::testing
