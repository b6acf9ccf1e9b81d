// The garbage collector against the API in the simulated world: background, foreground and
// orphan deletion of a ReplicaSet's pods (the ReplicaSet controller and a fake node side
// running), a chain of owners made by the test, an owner deleted while the
// controller-manager was down, a failover mid-collection, a lagging owner informer.
#include <gtest/gtest.h>

#include "cluster/controllers/garbage_collector.h"
#include "cluster/controllers/replica_set.h"
#include "tests/cluster/controllers/gc_fixture.h"

namespace ksim::controllers::testing {
namespace {

const api::KindInfo& RsKind() { return Kind("apps", "replicasets"); }

class GcTest : public ::testing::Test {
 public:
  void Start(int managers = 1, std::function<void(ControllerManagerOptions&)> tweak = nullptr) {
    c.AddPodRunner([](const api::Pod&) { return PodPlan::On("n1"); });
    for (int i = 1; i <= managers; ++i) {
      c.AddManager(i, [tweak](ControllerManagerOptions& o) {
        o.controllers = {kReplicaSetControllerName, kGarbageCollectorName};
        if (tweak) tweak(o);
      });
    }
    c.Run(Seconds(20));
  }
  std::map<std::string, api::Pod> Pods() { return c.List<api::Pod>("pods", "default"); }
  std::optional<api::ReplicaSet> Rs(const std::string& name) {
    return GetLive<api::ReplicaSet>(c, "apps", "replicasets", "default", name);
  }
  // Runs until `done` holds or `limit` passes.
  bool RunUntil(const std::function<bool()>& done, Nanos limit) {
    for (Nanos t{0}; t < limit; t += Seconds(1)) {
      if (done()) return true;
      c.Run(Seconds(1));
    }
    return done();
  }
  GarbageCollector* Gc(int i) { return c.Manager(i)->Get<GarbageCollector>(kGarbageCollectorName); }
  CmCluster c;
};

TEST_F(GcTest, BackgroundDeletionCollectsTheReplicaSetsPods) {
  Start();
  const api::ReplicaSet rs = CreateStored(c, GcRs("web", 3));
  c.Run(Seconds(10));
  ASSERT_EQ(CountOwnedBy(Pods(), rs.metadata().uid()), 3);
  ASSERT_TRUE(DeleteWith(c, RsKind(), "default", "web", "Background").ok());
  c.Run(Milliseconds(500));
  EXPECT_FALSE(Rs("web").has_value()) << "background: the owner goes at once";
  EXPECT_TRUE(RunUntil([&] { return Pods().empty(); }, Seconds(30))) << "its pods are collected";
  EXPECT_GE(Gc(1)->stats().deletes, 3u);
  EXPECT_TRUE(c.violations.empty());
}

TEST_F(GcTest, ForegroundDeletionRemovesThePodsBeforeTheOwner) {
  Start();
  const api::ReplicaSet rs = CreateStored(c, GcRs("web", 3));
  c.Run(Seconds(10));
  ASSERT_EQ(CountOwnedBy(Pods(), rs.metadata().uid()), 3);
  ASSERT_TRUE(DeleteWith(c, RsKind(), "default", "web", "Foreground").ok());
  bool owner_outlived_pods = true;
  const bool gone = RunUntil([&] {
    const bool rs_present = Rs("web").has_value();
    const size_t pods = Pods().size();
    if (!rs_present && pods > 0) owner_outlived_pods = false;
    return !rs_present && pods == 0;
  }, Seconds(60));
  EXPECT_TRUE(gone);
  EXPECT_TRUE(owner_outlived_pods) << "the owner must stay until its blocking dependents are gone";
  EXPECT_GE(Gc(1)->stats().finalizers_removed, 1u);
  EXPECT_TRUE(c.violations.empty());
}

TEST_F(GcTest, OrphanDeletionKeepsThePodsWithoutTheReference) {
  Start();
  const api::ReplicaSet rs = CreateStored(c, GcRs("web", 3));
  c.Run(Seconds(10));
  ASSERT_EQ(CountOwnedBy(Pods(), rs.metadata().uid()), 3);
  ASSERT_TRUE(DeleteWith(c, RsKind(), "default", "web", "Orphan").ok());
  EXPECT_TRUE(RunUntil([&] { return !Rs("web").has_value(); }, Seconds(30)));
  c.Run(Seconds(10));
  auto pods = Pods();
  EXPECT_EQ(pods.size(), 3u);
  for (const auto& [name, p] : pods) {
    EXPECT_EQ(p.metadata().owner_references_size(), 0) << name;
    EXPECT_FALSE(p.metadata().has_deletion_timestamp()) << name;
  }
  EXPECT_TRUE(c.violations.empty());
}

// Deployment -> ReplicaSet -> pods, the first reference made by the test (no Deployment
// controller runs). Deleting the Deployment collects the chain; an unrelated pod and a
// pod with a second, live owner stay (the latter without the dead reference).
TEST_F(GcTest, AChainOfOwnersIsCollectedAndLiveOwnersKeepTheirDependents) {
  Start();
  api::Deployment d;
  d.mutable_metadata()->set_name("app");
  d.mutable_metadata()->set_namespace_("default");
  (*d.mutable_spec()->mutable_selector()->mutable_match_labels())["app"] = "web";
  *d.mutable_spec()->mutable_template_() = GcTemplate("web");
  d = CreateStored(c, d);
  api::ReplicaSet rs = GcRs("web", 2);
  *rs.mutable_metadata()->add_owner_references() = RefTo(d, true, true);
  rs = CreateStored(c, rs);
  const api::ConfigMap keeper = CreateStored(c, MakeCm("keeper"));
  api::Pod shared;
  shared.mutable_metadata()->set_name("shared");
  shared.mutable_metadata()->set_namespace_("default");
  *shared.mutable_metadata()->add_owner_references() = RefTo(d);
  *shared.mutable_metadata()->add_owner_references() = RefTo(keeper);
  *shared.mutable_spec() = GcTemplate("other").spec();
  ASSERT_TRUE(c.Create(shared).ok());
  api::Pod loner = shared;
  loner.mutable_metadata()->set_name("loner");
  loner.mutable_metadata()->clear_owner_references();
  ASSERT_TRUE(c.Create(loner).ok());
  c.Run(Seconds(10));
  ASSERT_EQ(CountOwnedBy(Pods(), rs.metadata().uid()), 2);
  ASSERT_TRUE(DeleteWith(c, Kind("apps", "deployments"), "default", "app", "Foreground").ok());
  EXPECT_TRUE(RunUntil([&] {
    return !GetLive<api::Deployment>(c, "apps", "deployments", "default", "app") && !Rs("web") && Pods().size() == 2;
  }, Seconds(60)));
  c.Run(Seconds(10));
  auto pods = Pods();
  ASSERT_EQ(pods.size(), 2u);
  ASSERT_EQ(pods.count("shared"), 1u);
  ASSERT_EQ(pods.at("shared").metadata().owner_references_size(), 1) << "the dead reference is taken off";
  EXPECT_EQ(pods.at("shared").metadata().owner_references(0).uid(), keeper.metadata().uid());
  EXPECT_EQ(pods.count("loner"), 1u);
  EXPECT_TRUE(c.violations.empty());
}

// The owner is deleted while the only controller-manager is down: the restarted one
// rebuilds its graph, finds the owner absent (checked live) and collects the dependents.
TEST_F(GcTest, AnOwnerDeletedWhileTheControllerManagerIsDownIsCollectedAfterRestart) {
  Start();
  const api::ReplicaSet rs = CreateStored(c, GcRs("web", 3));
  c.Run(Seconds(10));
  ASSERT_EQ(CountOwnedBy(Pods(), rs.metadata().uid()), 3);
  c.ManagerHost(1).CrashProcess("controller-manager");
  ASSERT_TRUE(DeleteWith(c, RsKind(), "default", "web", "Background").ok());
  c.Run(Seconds(30));
  EXPECT_EQ(Pods().size(), 3u) << "nothing collects while it is down";
  c.ManagerHost(1).RestartProcess("controller-manager");
  EXPECT_TRUE(RunUntil([&] { return Pods().empty(); }, Seconds(90)));
  EXPECT_TRUE(c.violations.empty());
}

// Two replicas; the leader crashes right after a foreground delete starts: the other one
// finishes it, and only one replica ever acts.
TEST_F(GcTest, FailoverMidCollectionFinishesTheForegroundDelete) {
  Start(2);
  std::vector<std::string> names;
  for (int i = 0; i < 4; ++i) names.push_back(CreateStored(c, GcRs("web" + std::to_string(i), 5)).metadata().name());
  c.Run(Seconds(15));
  ASSERT_EQ(Pods().size(), 20u);
  const int first = c.Leader();
  ASSERT_NE(first, 0);
  for (const auto& n : names) ASSERT_TRUE(DeleteWith(c, RsKind(), "default", n, "Foreground").ok());
  c.Run(Milliseconds(300));
  c.ManagerHost(first).CrashProcess("controller-manager");
  EXPECT_TRUE(RunUntil([&] {
    for (const auto& n : names) {
      if (Rs(n)) return false;
    }
    return Pods().empty();
  }, Seconds(120)));
  EXPECT_NE(c.Leader(), first);
  EXPECT_TRUE(c.violations.empty()) << c.violations.front();
}

// The ConfigMaps' informer lags by 5 minutes. A pod owned by a Secret and by a ConfigMap
// made a moment ago: when the Secret is deleted, the pod is looked at, and the ConfigMap,
// absent from the lagging cache, must be found live: the pod stays (only the Secret's
// reference goes). Once the ConfigMap is deleted too, the pod is collected.
TEST_F(GcTest, ADependentWhoseOwnerTheInformerHasNotSeenIsNotDeleted) {
  Start(1, [](ControllerManagerOptions& o) { o.informer_event_delay["configmaps"] = Seconds(300); });
  api::Secret secret;
  secret.mutable_metadata()->set_name("old-owner");
  secret.mutable_metadata()->set_namespace_("default");
  secret = CreateStored(c, secret);
  const api::ConfigMap owner = CreateStored(c, MakeCm("new-owner"));
  api::Pod dep;
  dep.mutable_metadata()->set_name("dep");
  dep.mutable_metadata()->set_namespace_("default");
  *dep.mutable_metadata()->add_owner_references() = RefTo(secret);
  *dep.mutable_metadata()->add_owner_references() = RefTo(owner);
  *dep.mutable_spec() = GcTemplate("x").spec();
  ASSERT_TRUE(c.Create(dep).ok());
  c.Run(Seconds(10));
  ASSERT_TRUE(DeleteWith(c, Kind("", "secrets"), "default", "old-owner", "").ok());
  c.Run(Seconds(60));
  auto pods = Pods();
  ASSERT_EQ(pods.count("dep"), 1u) << "an owner absent from a lagging cache is not gone";
  EXPECT_FALSE(pods.at("dep").metadata().has_deletion_timestamp());
  ASSERT_EQ(pods.at("dep").metadata().owner_references_size(), 1);
  EXPECT_EQ(pods.at("dep").metadata().owner_references(0).uid(), owner.metadata().uid());
  ASSERT_TRUE(DeleteWith(c, Kind("", "configmaps"), "default", "new-owner", "").ok());
  EXPECT_TRUE(RunUntil([&] { return Pods().count("dep") == 0; }, Seconds(600)));
  EXPECT_TRUE(c.violations.empty());
}

// A reference to an owner in another namespace names nothing in the dependent's namespace:
// an Event OwnerRefInvalidNamespace, and the dependent (with no other owner) is collected.
TEST_F(GcTest, AnOwnerReferenceToAnotherNamespaceIsReportedAndCollected) {
  Start();
  api::Namespace ns;
  ns.mutable_metadata()->set_name("other");
  ASSERT_TRUE(c.Create(ns).ok());
  const api::ConfigMap owner = CreateStored(c, MakeCm("owner", "other"));
  c.Run(Seconds(2));
  api::ConfigMap dep = MakeCm("dep");
  *dep.mutable_metadata()->add_owner_references() = RefTo(owner);
  ASSERT_TRUE(c.Create(dep).ok());
  EXPECT_TRUE(RunUntil([&] { return !GetLive<api::ConfigMap>(c, "", "configmaps", "default", "dep"); }, Seconds(30)));
  bool reported = false;
  for (const auto& e : c.Events()) reported = reported || e.reason() == "OwnerRefInvalidNamespace";
  EXPECT_TRUE(reported);
  EXPECT_TRUE(GetLive<api::ConfigMap>(c, "", "configmaps", "other", "owner").has_value());
}

}  // namespace
}  // namespace ksim::controllers::testing
