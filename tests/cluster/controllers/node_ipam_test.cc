// Node IPAM in a simulated cluster: nodes get distinct /24s from 10.244.0.0/16, exhaustion
// is reported with a CIDRNotAvailable Event, a deleted node's CIDR is reused, bad options
// are refused, and CidrSet's arithmetic.
#include "cluster/controllers/node_ipam.h"

#include <gtest/gtest.h>

#include "tests/cluster/controllers/cm_cluster.h"

namespace ksim::controllers::testing {
namespace {

TEST(CidrSet, CutsTheClusterCidrRoundRobin) {
  CidrSet set;
  ASSERT_TRUE(CidrSet::Create("10.244.0.0/16", 24, &set).ok());
  EXPECT_EQ(set.capacity(), 256u);
  EXPECT_EQ(set.AllocateNext(), "10.244.0.0/24");
  EXPECT_EQ(set.AllocateNext(), "10.244.1.0/24");
  ASSERT_TRUE(set.Occupy("10.244.2.0/24").ok());
  EXPECT_EQ(set.AllocateNext(), "10.244.3.0/24");
  set.Release("10.244.0.0/24");
  EXPECT_FALSE(set.IsUsed("10.244.0.0/24"));
  EXPECT_EQ(set.used(), 3u);
  EXPECT_FALSE(set.Occupy("10.245.0.0/24").ok());
  EXPECT_FALSE(set.Occupy("10.244.0.0/25").ok());
  EXPECT_FALSE(set.Occupy("10.244.0.1/24").ok());
}

TEST(CidrSet, ExhaustsThenReusesReleased) {
  CidrSet set;
  ASSERT_TRUE(CidrSet::Create("10.244.0.0/23", 24, &set).ok());
  EXPECT_TRUE(set.AllocateNext().has_value());
  EXPECT_TRUE(set.AllocateNext().has_value());
  EXPECT_FALSE(set.AllocateNext().has_value());
  set.Release("10.244.1.0/24");
  EXPECT_EQ(set.AllocateNext(), "10.244.1.0/24");
}

TEST(CidrSet, RefusesBadOptionsNamingTheFlag) {
  CidrSet set;
  Status s = CidrSet::Create("10.244.0.0", 24, &set);
  EXPECT_NE(s.message().find("--cluster-cidr"), std::string::npos) << s.ToString();
  s = CidrSet::Create("10.244.0.0/16", 16, &set);
  EXPECT_NE(s.message().find("--node-cidr-mask-size"), std::string::npos) << s.ToString();
  s = CidrSet::Create("10.0.0.0/8", 28, &set);
  EXPECT_NE(s.message().find("2^16"), std::string::npos) << s.ToString();
  s = CidrSet::Create("10.244.1.0/16", 24, &set);
  EXPECT_FALSE(s.ok());
}

TEST(NodeIpam, EveryNodeGetsItsOwnPodCidr) {
  CmCluster c;
  ControllerManager* cm = c.AddManager(1);
  for (int i = 0; i < 5; ++i) c.AddKubelet("node-" + std::to_string(i));
  c.Run(Seconds(30));
  ASSERT_TRUE(cm->IsLeader());
  auto cidrs = c.CheckUniqueCidrs();
  ASSERT_EQ(cidrs.size(), 5u);
  for (const auto& [node, cidr] : cidrs) {
    EXPECT_EQ(cidr.rfind("10.244.", 0), 0u) << cidr;
    EXPECT_EQ(cidr.substr(cidr.size() - 3), "/24");
  }
  EXPECT_TRUE(c.violations.empty()) << c.violations[0];
  EXPECT_GE(c.writes, 5u);
  EXPECT_EQ(cm->stats().writes_not_acting, 0u);
}

TEST(NodeIpam, ExhaustionIsReportedAndADeletedNodesCidrIsReused) {
  CmCluster c;
  c.AddManager(1, [](ControllerManagerOptions& o) { o.cluster_cidr = "10.244.0.0/23"; });
  c.AddKubelet("a");
  c.AddKubelet("b");
  c.Run(Seconds(20));
  c.AddKubelet("c");
  c.Run(Seconds(20));
  auto cidrs = c.CheckUniqueCidrs();
  ASSERT_EQ(cidrs.size(), 2u);
  EXPECT_EQ(cidrs.count("c"), 0u);
  bool reported = false;
  for (const auto& e : c.Events()) {
    if (e.reason() == "CIDRNotAvailable" && e.involved_object().name() == "c") {
      reported = true;
      EXPECT_EQ(e.message(), "Node c status is now: CIDRNotAvailable");
      EXPECT_EQ(e.source().component(), "cidrAllocator");
    }
  }
  EXPECT_TRUE(reported);
  const std::string freed = cidrs["a"];
  c.api.store.world.FindHost("a")->CrashProcess("kubelet");
  ASSERT_TRUE(c.DeleteNode("a").ok());
  c.Run(Seconds(30));  // c's retry back-off grows from 5 ms; it is well under 30 s here
  cidrs = c.CheckUniqueCidrs();
  EXPECT_EQ(cidrs["c"], freed);
}

TEST(NodeIpam, BadOptionsAreRefusedAndNothingRuns) {
  CmCluster c;
  ControllerManager* cm = c.AddManager(1, [](ControllerManagerOptions& o) { o.cluster_cidr = "10.244.0.0/33"; });
  EXPECT_EQ(cm->config_status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(cm->config_status().message().find("--cluster-cidr"), std::string::npos);
  c.AddKubelet("a");
  c.Run(Seconds(20));
  EXPECT_TRUE(c.Nodes()["a"].spec().pod_cidr().empty());
}

TEST(NodeIpam, AFailoverKeepsCidrsUnique) {
  CmCluster c;
  c.AddManager(1);
  c.AddManager(2);
  for (int i = 0; i < 3; ++i) c.AddKubelet("n" + std::to_string(i));
  c.Run(Seconds(30));
  const int first = c.Leader();
  ASSERT_NE(first, 0);
  c.ManagerHost(first).CrashProcess("controller-manager");
  for (int i = 3; i < 6; ++i) c.AddKubelet("n" + std::to_string(i));
  c.Run(Seconds(60));
  const int second = c.Leader();
  ASSERT_NE(second, 0);
  EXPECT_NE(second, first);
  EXPECT_EQ(c.CheckUniqueCidrs().size(), 6u);
  EXPECT_TRUE(c.violations.empty()) << c.violations[0];
  EXPECT_EQ(c.writes_by.size(), 2u);  // both replicas wrote, one after the other
}

}  // namespace
}  // namespace ksim::controllers::testing
