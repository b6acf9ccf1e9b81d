// The pod garbage collector: terminated pods beyond the threshold (oldest first), pods
// of a deleted node (after the 40 s quarantine, with DisruptionTarget), terminating pods
// on an out-of-service node, unscheduled terminating pods.
#include <gtest/gtest.h>

#include "cluster/controllers/garbage_collector.h"
#include "tests/cluster/controllers/gc_fixture.h"

namespace ksim::controllers::testing {
namespace {

api::Node MakeNode(const std::string& name, bool ready, bool out_of_service = false) {
  api::Node n;
  n.mutable_metadata()->set_name(name);
  auto* c = n.mutable_status()->add_conditions();
  c->set_type("Ready");
  c->set_status(ready ? "True" : "False");
  if (out_of_service) {
    auto* t = n.mutable_spec()->add_taints();
    t->set_key("node.kubernetes.io/out-of-service");
    t->set_value("nodeshutdown");
    t->set_effect("NoExecute");
  }
  return n;
}

api::Pod MakePod(const std::string& name) {
  api::Pod p;
  p.mutable_metadata()->set_name(name);
  p.mutable_metadata()->set_namespace_("default");
  *p.mutable_spec() = GcTemplate(name).spec();
  return p;
}

class PodGcTest : public ::testing::Test {
 public:
  void Start(PodPlanner planner, int threshold = 12500) {
    c.AddPodRunner(std::move(planner));
    c.AddManager(1, [this, threshold](ControllerManagerOptions& o) {
      o.controllers = {kPodGcName};
      o.terminated_pod_gc_threshold = threshold;
      auto inner = o.on_write;
      o.on_write = [this, inner](const std::string& id, bool acting, const apiserver::Request& r) {
        if (r.resource() == "pods" && r.subresource() == "status") {
          api::Pod p;
          if (p.ParseFromString(r.body())) marked_.push_back(p);
        }
        inner(id, acting, r);
      };
    });
    c.Run(Seconds(20));
  }
  std::map<std::string, api::Pod> Pods() { return c.List<api::Pod>("pods", "default"); }
  CmCluster c;
  std::vector<api::Pod> marked_;  // pod status writes the controller-manager sent
};

TEST_F(PodGcTest, TerminatedPodsBeyondTheThresholdGoOldestFirst) {
  Start([](const api::Pod& p) {
    PodPlan plan = PodPlan::On("n1");
    if (p.metadata().name() != "running") plan.exit_after = Seconds(1);
    return plan;
  }, /*threshold=*/3);
  ASSERT_TRUE(c.Create(MakeNode("n1", true)).ok());
  ASSERT_TRUE(c.Create(MakePod("running")).ok());
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(c.Create(MakePod("done-" + std::to_string(i))).ok());
    c.Run(Seconds(2));  // distinct creation times
  }
  c.Run(Seconds(45));  // ended, and at least two passes
  auto pods = Pods();
  EXPECT_EQ(pods.size(), 4u);
  EXPECT_EQ(pods.count("running"), 1u);
  for (int i = 3; i < 6; ++i) EXPECT_EQ(pods.count("done-" + std::to_string(i)), 1u) << "the newest stay";
  EXPECT_TRUE(c.violations.empty());
}

TEST_F(PodGcTest, PodsOfADeletedNodeGoAfterTheQuarantineWithDisruptionTarget) {
  Start([](const api::Pod& p) { return PodPlan::On(p.metadata().name() == "stays" ? "n1" : "n2"); });
  ASSERT_TRUE(c.Create(MakeNode("n1", true)).ok());
  ASSERT_TRUE(c.Create(MakeNode("n2", true)).ok());
  for (const char* n : {"stays", "orphan-a", "orphan-b"}) ASSERT_TRUE(c.Create(MakePod(n)).ok());
  c.Run(Seconds(5));
  ASSERT_TRUE(c.DeleteNode("n2").ok());
  c.Run(Seconds(39));
  EXPECT_EQ(Pods().size(), 3u) << "quarantined for 40 s";
  c.Run(Seconds(41));
  auto pods = Pods();
  EXPECT_EQ(pods.size(), 1u);
  EXPECT_EQ(pods.count("stays"), 1u);
  int with_condition = 0;
  for (const auto& p : marked_) {
    EXPECT_EQ(p.status().phase(), "Failed");
    for (const auto& cond : p.status().conditions()) {
      if (cond.type() == "DisruptionTarget" && cond.status() == "True" && cond.reason() == "DeletionByPodGC") {
        ++with_condition;
      }
    }
  }
  EXPECT_EQ(with_condition, 2);
  EXPECT_TRUE(c.violations.empty());
}

// A node absent from the cache only for a moment (here: deleted and re-created within
// the quarantine) keeps its pods.
TEST_F(PodGcTest, ANodeBackWithinTheQuarantineKeepsItsPods) {
  Start([](const api::Pod&) { return PodPlan::On("n2"); });
  ASSERT_TRUE(c.Create(MakeNode("n2", true)).ok());
  ASSERT_TRUE(c.Create(MakePod("p")).ok());
  c.Run(Seconds(5));
  ASSERT_TRUE(c.DeleteNode("n2").ok());
  c.Run(Seconds(38));
  ASSERT_TRUE(c.Create(MakeNode("n2", true)).ok());
  c.Run(Seconds(90));
  EXPECT_EQ(Pods().count("p"), 1u);
}

TEST_F(PodGcTest, TerminatingPodsOnAnOutOfServiceNodeAndUnscheduledOnesAreForceDeleted) {
  Start([](const api::Pod& p) {
    PodPlan plan = PodPlan::On(p.metadata().name() == "unscheduled" ? "" : p.metadata().name() == "oos" ? "n1" : "n2");
    plan.stop_after = Seconds(3600);  // the node side never finishes the delete
    return plan;
  });
  ASSERT_TRUE(c.Create(MakeNode("n1", false, /*out_of_service=*/true)).ok());
  ASSERT_TRUE(c.Create(MakeNode("n2", false)).ok());
  api::Pod unscheduled = MakePod("unscheduled");
  unscheduled.mutable_metadata()->add_finalizers("example.com/keep");
  ASSERT_TRUE(c.Create(unscheduled).ok());
  ASSERT_TRUE(c.Create(MakePod("oos")).ok());
  ASSERT_TRUE(c.Create(MakePod("notready")).ok());
  c.Run(Seconds(5));
  for (const char* n : {"unscheduled", "oos", "notready"}) {
    auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Delete(Kind("", "pods"), "default", n, std::move(d)); });
    ASSERT_TRUE(r.ok()) << r.Describe();
  }
  c.Run(Seconds(45));
  auto pods = Pods();
  EXPECT_EQ(pods.count("oos"), 0u) << "not ready and out of service: force-deleted";
  EXPECT_EQ(pods.count("notready"), 1u) << "not ready alone is not enough";
  ASSERT_EQ(pods.count("unscheduled"), 1u) << "held by its finalizer";
  EXPECT_EQ(pods.at("unscheduled").status().phase(), "Failed");
  EXPECT_TRUE(c.violations.empty());
}

}  // namespace
}  // namespace ksim::controllers::testing
