// The root CA publisher against the API in the simulated world: kube-root-ca.crt with the
// root CA and Kubernetes' description in every active namespace (a new one too), made
// again when deleted, put back when its data or annotation is changed, none in a
// terminating namespace; the cluster signing CA when no root CA is given; a replica that
// takes over publishes what was missed.
#include <gtest/gtest.h>

#include "cluster/controllers/root_ca_publisher.h"
#include "tests/cluster/controllers/cm_cluster.h"

namespace ksim::controllers::testing {
namespace {

constexpr char kRootCa[] = "-----BEGIN CERTIFICATE-----\nroot\n-----END CERTIFICATE-----\n";
constexpr char kSigningCa[] = "-----BEGIN CERTIFICATE-----\nsigning\n-----END CERTIFICATE-----\n";

api::Namespace MakeNs(const std::string& name) {
  api::Namespace ns;
  ns.mutable_metadata()->set_name(name);
  return ns;
}

class RootCaPublisherTest : public ::testing::Test {
 public:
  void Start(int managers = 1, std::string root_ca = kRootCa) {
    for (int i = 1; i <= managers; ++i) {
      c.AddManager(i, [root_ca](ControllerManagerOptions& o) {
        o.controllers = {kRootCaPublisherControllerName};
        o.root_ca_pem = root_ca;
        o.cluster_signing_cert_pem = kSigningCa;
      });
    }
    c.Run(Seconds(20));
  }
  // The namespace's kube-root-ca.crt, or nullopt.
  std::optional<api::ConfigMap> Published(const std::string& ns) {
    auto maps = c.List<api::ConfigMap>("configmaps", ns);
    auto it = maps.find(kRootCaConfigMap);
    if (it == maps.end()) return std::nullopt;
    return it->second;
  }
  client::ApiResult Delete(const std::string& resource, const std::string& ns, const std::string& name) {
    return c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Delete(Kind("", resource), ns, name, std::move(d)); });
  }
  client::ApiResult Update(const api::ConfigMap& cm) {
    return c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Update(Kind("", "configmaps"), cm, std::move(d)); });
  }
  CmCluster c;
};

void ExpectRootCa(const std::optional<api::ConfigMap>& cm, const std::string& ca, const std::string& where) {
  ASSERT_TRUE(cm.has_value()) << where;
  ASSERT_EQ(cm->data().size(), 1u) << where;
  EXPECT_EQ(cm->data().at("ca.crt"), ca) << where;
  auto d = cm->metadata().annotations().find(kRootCaDescriptionAnnotation);
  ASSERT_NE(d, cm->metadata().annotations().end()) << where;
  EXPECT_NE(d->second.find("verify the kube-apiserver"), std::string::npos) << where;
}

TEST_F(RootCaPublisherTest, EveryActiveNamespaceGetsItAgainWhenDeletedOrChanged) {
  ASSERT_TRUE(c.Create(MakeNs("team-a")).ok());
  Start();
  ASSERT_TRUE(c.Create(MakeNs("team-b")).ok());
  c.Run(Seconds(2));
  for (const char* ns : {"default", "kube-system", "kube-public", "team-a", "team-b"}) ExpectRootCa(Published(ns), kRootCa, ns);

  ASSERT_TRUE(Delete("configmaps", "team-a", kRootCaConfigMap).ok());
  c.Run(Seconds(2));
  ExpectRootCa(Published("team-a"), kRootCa, "re-created");

  api::ConfigMap changed = *Published("team-b");
  (*changed.mutable_data())["ca.crt"] = "forged";
  (*changed.mutable_data())["extra"] = "x";
  ASSERT_TRUE(Update(changed).ok());
  c.Run(Seconds(2));
  ExpectRootCa(Published("team-b"), kRootCa, "data put back");

  api::ConfigMap bare = *Published("team-b");
  bare.mutable_metadata()->mutable_annotations()->clear();
  ASSERT_TRUE(Update(bare).ok());
  c.Run(Seconds(2));
  ExpectRootCa(Published("team-b"), kRootCa, "description put back");

  // A terminating namespace gets none back.
  ASSERT_TRUE(Delete("namespaces", "", "team-b").ok());
  c.Run(Seconds(1));
  (void)Delete("configmaps", "team-b", kRootCaConfigMap);
  c.Run(Seconds(5));
  EXPECT_FALSE(Published("team-b").has_value());
  EXPECT_TRUE(c.violations.empty());
}

TEST_F(RootCaPublisherTest, WithoutARootCaTheClusterSigningCaIsPublished) {
  Start(1, "");
  ExpectRootCa(Published("default"), kSigningCa, "default");
}

TEST_F(RootCaPublisherTest, AReplicaThatTakesOverPublishesWhatWasMissed) {
  Start(2);
  const int leader = c.Leader();
  ASSERT_NE(leader, 0);
  c.ManagerHost(leader).CrashProcess("controller-manager");
  ASSERT_TRUE(c.Create(MakeNs("late")).ok());
  c.Run(Seconds(30));
  EXPECT_NE(c.Leader(), leader);
  ExpectRootCa(Published("late"), kRootCa, "late");
  EXPECT_TRUE(c.violations.empty());
}

}  // namespace
}  // namespace ksim::controllers::testing
