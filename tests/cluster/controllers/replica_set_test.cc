// The ReplicaSet and ReplicationController controllers against the API in the simulated
// world: one controller-manager replica, no kubelets (pod status is posted by the test).
#include <gtest/gtest.h>

#include <algorithm>

#include "cluster/api/apps.pb.h"
#include "cluster/controllers/replica_set.h"
#include "tests/cluster/controllers/cm_cluster.h"

namespace ksim::controllers::testing {
namespace {

const api::KindInfo& RsKind() { return Kind("apps", "replicasets"); }

api::PodTemplateSpec Template(const std::string& app) {
  api::PodTemplateSpec t;
  (*t.mutable_metadata()->mutable_labels())["app"] = app;
  auto* c = t.mutable_spec()->add_containers();
  c->set_name("c");
  c->set_image("nginx");
  return t;
}

api::ReplicaSet MakeRs(const std::string& name, int replicas, int min_ready = 0) {
  api::ReplicaSet rs;
  rs.mutable_metadata()->set_name(name);
  rs.mutable_metadata()->set_namespace_("default");
  rs.mutable_spec()->set_replicas(replicas);
  rs.mutable_spec()->set_min_ready_seconds(min_ready);
  (*rs.mutable_spec()->mutable_selector()->mutable_match_labels())["app"] = name;
  *rs.mutable_spec()->mutable_template_() = Template(name);
  return rs;
}

api::Pod MakePod(const std::string& name, const std::string& app) {
  api::Pod p;
  p.mutable_metadata()->set_name(name);
  p.mutable_metadata()->set_namespace_("default");
  (*p.mutable_metadata()->mutable_labels())["app"] = app;
  *p.mutable_spec() = Template(app).spec();
  return p;
}

class ReplicaSetTest : public ::testing::Test {
 public:
  void Start(std::function<void(ControllerManagerOptions&)> tweak = nullptr) {
    c.AddManager(1, [tweak](ControllerManagerOptions& o) {
      o.controllers = {kReplicaSetControllerName, kReplicationControllerName};
      if (tweak) tweak(o);
    });
    c.Run(Seconds(20));  // lease acquired, informers synced
  }
  std::map<std::string, api::Pod> Pods() { return c.List<api::Pod>("pods", "default"); }
  api::ReplicaSet GetRs(const std::string& name) {
    auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Get(RsKind(), "default", name, std::move(d)); });
    api::ReplicaSet rs;
    EXPECT_TRUE(r.ok() && rs.ParseFromString(r.body)) << r.Describe();
    return rs;
  }
  // As `kubectl scale`: read, change, write; a 409 (the controller wrote the status in
  // between) is read again.
  void Scale(const std::string& name, int replicas) {
    client::ApiResult r;
    for (int attempt = 0; attempt < 5; ++attempt) {
      api::ReplicaSet rs = GetRs(name);
      rs.mutable_spec()->set_replicas(replicas);
      r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Update(RsKind(), rs, std::move(d)); });
      if (r.code != 409) break;
    }
    ASSERT_TRUE(r.ok()) << r.Describe();
  }
  void Touch(const std::string& name) {  // any change: the RS is synced again
    api::ReplicaSet rs = GetRs(name);
    (*rs.mutable_metadata()->mutable_annotations())["touched"] = "1";
    auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Update(RsKind(), rs, std::move(d)); });
    ASSERT_TRUE(r.ok()) << r.Describe();
  }
  // Posts a pod's status (what a kubelet would).
  void SetStatus(const std::string& name, const std::string& phase, bool ready, int restarts = 0, int64_t ready_since = 0) {
    api::Pod p = Pods().at(name);
    p.mutable_status()->set_phase(phase);
    p.mutable_status()->clear_conditions();
    auto* cond = p.mutable_status()->add_conditions();
    cond->set_type("Ready");
    cond->set_status(ready ? "True" : "False");
    cond->mutable_last_transition_time()->set_seconds(ready_since != 0 ? ready_since : WallSeconds());
    p.mutable_status()->clear_container_statuses();
    auto* cs = p.mutable_status()->add_container_statuses();
    cs->set_name("c");
    cs->set_restart_count(restarts);
    auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Update(Kind("", "pods"), p, std::move(d), "status"); });
    ASSERT_TRUE(r.ok()) << r.Describe();
  }
  int64_t WallSeconds() { return c.ManagerHost(1).WallNow().count() / 1'000'000'000; }
  int CountReason(const std::string& reason) {
    int n = 0;
    for (const auto& e : c.Events()) n += e.reason() == reason ? std::max(1, e.count()) : 0;
    return n;
  }
  CmCluster c;
};

std::vector<api::Pod> Owned(const std::map<std::string, api::Pod>& pods, const std::string& uid) {
  std::vector<api::Pod> out;
  for (const auto& [name, p] : pods) {
    const auto* ref = ControllerRef(p.metadata());
    if (ref != nullptr && ref->uid() == uid) out.push_back(p);
  }
  return out;
}

TEST_F(ReplicaSetTest, ScalesUpFromTheTemplateAndDownAgain) {
  Start();
  ASSERT_TRUE(c.Create(MakeRs("web", 3)).ok());
  c.Run(Seconds(10));
  api::ReplicaSet rs = GetRs("web");
  auto owned = Owned(Pods(), rs.metadata().uid());
  ASSERT_EQ(owned.size(), 3u);
  for (const auto& p : owned) {
    EXPECT_EQ(p.metadata().name().rfind("web-", 0), 0u) << p.metadata().name();
    EXPECT_EQ(p.metadata().labels().at("app"), "web");
    const auto& ref = p.metadata().owner_references(0);
    EXPECT_EQ(ref.kind(), "ReplicaSet");
    EXPECT_EQ(ref.api_version(), "apps/v1");
    EXPECT_TRUE(ref.block_owner_deletion());
  }
  EXPECT_EQ(CountReason("SuccessfulCreate"), 3);
  EXPECT_EQ(rs.status().replicas(), 3);
  EXPECT_EQ(rs.status().fully_labeled_replicas(), 3);
  EXPECT_EQ(rs.status().observed_generation(), rs.metadata().generation());

  Scale("web", 1);
  c.Run(Seconds(10));
  EXPECT_EQ(Owned(Pods(), rs.metadata().uid()).size(), 1u);
  EXPECT_EQ(CountReason("SuccessfulDelete"), 2);
  rs = GetRs("web");
  EXPECT_EQ(rs.status().replicas(), 1);
  EXPECT_EQ(rs.status().observed_generation(), rs.metadata().generation());
  EXPECT_TRUE(c.violations.empty());
}

// A deleted pod is replaced; a pod of another app is left alone.
TEST_F(ReplicaSetTest, ReplacesADeletedPod) {
  Start();
  ASSERT_TRUE(c.Create(MakePod("other", "db")).ok());
  ASSERT_TRUE(c.Create(MakeRs("web", 2)).ok());
  c.Run(Seconds(10));
  const std::string uid = GetRs("web").metadata().uid();
  auto owned = Owned(Pods(), uid);
  ASSERT_EQ(owned.size(), 2u);
  auto r = c.api.Await([&](client::ApiClient::Done d) {
    c.kubectl->Delete(Kind("", "pods"), "default", owned[0].metadata().name(), std::move(d));
  });
  ASSERT_TRUE(r.ok());
  c.Run(Seconds(10));
  auto pods = Pods();
  EXPECT_EQ(Owned(pods, uid).size(), 2u);
  EXPECT_EQ(pods.count(owned[0].metadata().name()), 0u);
  EXPECT_EQ(pods.at("other").metadata().owner_references_size(), 0);
}

// With the fake node side (pod_runner.h): pods are bound, become Ready, and a scale-down's
// graceful deletes are finished by the "kubelet".
TEST_F(ReplicaSetTest, WithAPodRunnerPodsBecomeReadyAndGracefulDeletesFinish) {
  c.AddPodRunner([](const api::Pod&) { return PodPlan::On("n1"); });
  Start();
  ASSERT_TRUE(c.Create(MakeRs("web", 3)).ok());
  c.Run(Seconds(10));
  EXPECT_EQ(GetRs("web").status().ready_replicas(), 3);
  for (const auto& [name, p] : Pods()) EXPECT_EQ(p.spec().node_name(), "n1") << name;
  Scale("web", 1);
  c.Run(Seconds(10));
  EXPECT_EQ(Pods().size(), 1u) << "graceful deletes finished by the runner";
  EXPECT_EQ(GetRs("web").status().ready_replicas(), 1);
}

// status.terminatingReplicas (Kubernetes 1.33+): owned pods with a deletionTimestamp that
// have not ended yet; they do not count in replicas.
TEST_F(ReplicaSetTest, TerminatingReplicasCountsPodsStillShuttingDown) {
  c.AddPodRunner([](const api::Pod&) {
    PodPlan plan = PodPlan::On("n1");
    plan.stop_after = Seconds(30);
    return plan;
  });
  Start();
  ASSERT_TRUE(c.Create(MakeRs("web", 3)).ok());
  c.Run(Seconds(10));
  EXPECT_EQ(GetRs("web").status().terminating_replicas(), 0);
  Scale("web", 1);
  c.Run(Seconds(10));
  EXPECT_EQ(GetRs("web").status().terminating_replicas(), 2);
  EXPECT_EQ(GetRs("web").status().replicas(), 1);
  c.Run(Seconds(30));
  EXPECT_EQ(GetRs("web").status().terminating_replicas(), 0);
  EXPECT_EQ(Pods().size(), 1u);
}

TEST_F(ReplicaSetTest, AdoptsMatchingOrphansAndReleasesPodsThatStopMatching) {
  Start();
  ASSERT_TRUE(c.Create(MakePod("orphan", "web")).ok());
  ASSERT_TRUE(c.Create(MakeRs("web", 1)).ok());
  c.Run(Seconds(10));
  const std::string uid = GetRs("web").metadata().uid();
  auto pods = Pods();
  ASSERT_EQ(pods.size(), 1u) << "the orphan is adopted, nothing created";
  const auto* ref = ControllerRef(pods.at("orphan").metadata());
  ASSERT_NE(ref, nullptr);
  EXPECT_EQ(ref->uid(), uid);

  api::Pod p = pods.at("orphan");
  (*p.mutable_metadata()->mutable_labels())["app"] = "debug";
  auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Update(Kind("", "pods"), p, std::move(d)); });
  ASSERT_TRUE(r.ok()) << r.Describe();
  c.Run(Seconds(10));
  pods = Pods();
  EXPECT_EQ(pods.at("orphan").metadata().owner_references_size(), 0) << "released";
  EXPECT_EQ(Owned(pods, uid).size(), 1u) << "and replaced";
  EXPECT_EQ(pods.size(), 2u);
}

// Kubernetes' order: unscheduled, Pending < Unknown < Running, not ready, more restarts, newer.
TEST_F(ReplicaSetTest, ScaleDownDeletesInKubernetesOrder) {
  Start();
  // Orphans for it to adopt, each differing from the next by one rule.
  // Orphans for it to adopt, each differing from the next by one rule; "new" is created
  // after "old".
  const std::vector<std::string> names = {"unscheduled", "pending", "unknown", "notready", "restarts", "old", "new"};
  for (const auto& n : names) {
    api::Pod p = MakePod(n, "web");
    if (n != "unscheduled") p.mutable_spec()->set_node_name("node-a");
    ASSERT_TRUE(c.Create(p).ok());
    c.Run(Seconds(2));  // distinct creation times
  }
  const int64_t long_ago = WallSeconds() - 1000;
  SetStatus("unscheduled", "Pending", false);
  SetStatus("pending", "Pending", false);
  SetStatus("unknown", "Unknown", false);
  SetStatus("notready", "Running", false);
  SetStatus("restarts", "Running", true, 5, long_ago);
  SetStatus("old", "Running", true, 0, long_ago);
  SetStatus("new", "Running", true, 0, long_ago);
  ASSERT_TRUE(c.Create(MakeRs("web", 7)).ok());
  c.Run(Seconds(10));
  ASSERT_EQ(Owned(Pods(), GetRs("web").metadata().uid()).size(), 7u);
  EXPECT_EQ(CountReason("SuccessfulCreate"), 0);
  const std::vector<std::string> order = {"unscheduled", "pending", "unknown", "notready", "restarts", "new"};
  for (int replicas = 6; replicas >= 1; --replicas) {
    Scale("web", replicas);
    c.Run(Seconds(10));
    auto pods = Pods();
    std::erase_if(pods, [](const auto& kv) { return kv.second.metadata().has_deletion_timestamp(); });  // terminating: no kubelet here
    const std::string gone = order[static_cast<size_t>(6 - replicas)];
    EXPECT_EQ(pods.count(gone), 0u) << "at " << replicas << " replicas " << gone << " should be gone";
    EXPECT_EQ(pods.size(), static_cast<size_t>(replicas));
  }
  EXPECT_FALSE(Pods().at("old").metadata().has_deletion_timestamp());
}

// The rest of ActivePodsWithRanks among Running and Ready pods: a lower
// controller.kubernetes.io/pod-deletion-cost first, then pods sharing a node with another
// of the set's pods, then the more recently ready, then the newer.
TEST_F(ReplicaSetTest, ScaleDownHonoursDeletionCostDoubledUpPodsAndReadyTime) {
  Start();
  const std::vector<std::pair<std::string, std::string>> pods = {
      {"cheap", "node-x"}, {"d1", "node-b"}, {"d2", "node-b"}, {"veteran", "node-d"}, {"recent", "node-c"}};
  for (const auto& [name, node] : pods) {
    api::Pod p = MakePod(name, "web");
    p.mutable_spec()->set_node_name(node);
    if (name == "cheap") (*p.mutable_metadata()->mutable_annotations())[kPodDeletionCostAnnotation] = "-5";
    ASSERT_TRUE(c.Create(p).ok());
    c.Run(Seconds(2));
  }
  const int64_t long_ago = WallSeconds() - 1000;
  for (const auto& [name, node] : pods) SetStatus(name, "Running", true, 0, name == "recent" ? WallSeconds() : long_ago);
  ASSERT_TRUE(c.Create(MakeRs("web", 5)).ok());
  c.Run(Seconds(10));
  ASSERT_EQ(Owned(Pods(), GetRs("web").metadata().uid()).size(), 5u);
  const std::vector<std::string> order = {"cheap", "d2", "recent", "veteran"};
  for (int replicas = 4; replicas >= 1; --replicas) {
    Scale("web", replicas);
    c.Run(Seconds(10));
    auto live = Pods();
    std::erase_if(live, [](const auto& kv) { return kv.second.metadata().has_deletion_timestamp(); });
    const std::string gone = order[static_cast<size_t>(4 - replicas)];
    EXPECT_EQ(live.count(gone), 0u) << "at " << replicas << " replicas " << gone << " should be gone";
    EXPECT_EQ(live.size(), static_cast<size_t>(replicas));
  }
  EXPECT_FALSE(Pods().at("d1").metadata().has_deletion_timestamp());
}

TEST_F(ReplicaSetTest, StatusCountsReadyAndAvailableAfterMinReadySeconds) {
  Start();
  ASSERT_TRUE(c.Create(MakeRs("web", 2, /*min_ready=*/30)).ok());
  c.Run(Seconds(10));
  auto owned = Owned(Pods(), GetRs("web").metadata().uid());
  ASSERT_EQ(owned.size(), 2u);
  SetStatus(owned[0].metadata().name(), "Running", true);
  SetStatus(owned[1].metadata().name(), "Running", true);
  c.Run(Seconds(5));
  api::ReplicaSet rs = GetRs("web");
  EXPECT_EQ(rs.status().ready_replicas(), 2);
  EXPECT_EQ(rs.status().available_replicas(), 0) << "not ready for 30 s yet";
  c.Run(Seconds(30));
  rs = GetRs("web");
  EXPECT_EQ(rs.status().available_replicas(), 2);
}

// Slow start and ReplicaFailure: a quota of 4 pods lets batches 1 and 2 through and one of
// the batch of 4; the rest of that batch fail (FailedCreate) and no batch of 8 follows
// (the retries start again at 1).
TEST_F(ReplicaSetTest, QuotaFailuresStopTheSlowStartAndSetReplicaFailure) {
  std::map<Nanos, int> creates_at;  // pod creates sent at one instant = one batch
  Start([this, &creates_at](ControllerManagerOptions& o) {
    auto inner = o.on_write;
    o.on_write = [this, inner, &creates_at](const std::string& id, bool acting, const apiserver::Request& r) {
      if (r.verb() == "create" && r.resource() == "pods") ++creates_at[c.Now()];
      inner(id, acting, r);
    };
  });
  api::ResourceQuota q;
  q.mutable_metadata()->set_name("pods");
  q.mutable_metadata()->set_namespace_("default");
  (*q.mutable_spec()->mutable_hard())["pods"] = "4";
  ASSERT_TRUE(c.Create(q).ok());
  ASSERT_TRUE(c.Create(MakeRs("web", 20)).ok());
  c.Run(Seconds(5));
  EXPECT_EQ(Pods().size(), 4u);
  EXPECT_EQ(CountReason("SuccessfulCreate"), 4);
  EXPECT_GE(CountReason("FailedCreate"), 3);
  std::vector<int> batches;
  for (const auto& [at, n] : creates_at) batches.push_back(n);
  ASSERT_GE(batches.size(), 4u);
  EXPECT_EQ(batches[0], 1);
  EXPECT_EQ(batches[1], 2);
  EXPECT_EQ(batches[2], 4);
  EXPECT_EQ(*std::max_element(batches.begin(), batches.end()), 4) << "a failed batch ends the slow start";
  api::ReplicaSet rs = GetRs("web");
  ASSERT_EQ(rs.status().conditions_size(), 1);
  EXPECT_EQ(rs.status().conditions(0).type(), "ReplicaFailure");
  EXPECT_EQ(rs.status().conditions(0).reason(), "FailedCreate");
  EXPECT_NE(rs.status().conditions(0).message().find("exceeded quota"), std::string::npos);
  // Scaled within the quota: the condition is cleared.
  Scale("web", 4);
  c.Run(Seconds(30));
  rs = GetRs("web");
  EXPECT_EQ(rs.status().conditions_size(), 0);
  EXPECT_EQ(rs.status().replicas(), 4);
}

TEST_F(ReplicaSetTest, AReplicationControllerRunsThroughTheSameController) {
  Start();
  api::ReplicationController rc;
  rc.mutable_metadata()->set_name("legacy");
  rc.mutable_metadata()->set_namespace_("default");
  rc.mutable_spec()->set_replicas(2);
  (*rc.mutable_spec()->mutable_selector())["app"] = "legacy";
  *rc.mutable_spec()->mutable_template_() = Template("legacy");
  ASSERT_TRUE(c.Create(rc).ok());
  c.Run(Seconds(10));
  auto pods = Pods();
  ASSERT_EQ(pods.size(), 2u);
  for (const auto& [name, p] : pods) {
    EXPECT_EQ(name.rfind("legacy-", 0), 0u);
    EXPECT_EQ(p.metadata().owner_references(0).kind(), "ReplicationController");
    EXPECT_EQ(p.metadata().owner_references(0).api_version(), "v1");
  }
  auto rcs = c.List<api::ReplicationController>("replicationcontrollers", "default");
  EXPECT_EQ(rcs.at("legacy").status().replicas(), 2);
}

// Kubernetes issue #129795: a pod informer that lags (an overloaded controller) shows none
// of the pods just created. Without expectations the next sync (here: the status update's
// own event) creates the replicas again. With them nothing is created twice, not even
// after the expectations expire (5 min) while the informer still lags: the expired sync
// reads the pods from the apiserver.
// Pods of "web" (replicas 3) after 60 s and after 340 s (an RS change at 310 s, once the
// expectations have expired), with the pod informer 360 s behind.
std::pair<size_t, size_t> PodsBehindASlowInformer(ReplicaSetTest& t, bool expectations) {
  t.Start([expectations](ControllerManagerOptions& o) {
    o.replica_expectations = expectations;
    o.informer_event_delay["pods"] = Seconds(360);
  });
  EXPECT_TRUE(t.c.Create(MakeRs("web", 3)).ok());
  t.c.Run(Seconds(60));
  const size_t early = t.Pods().size();
  t.c.Run(Seconds(250));
  t.Touch("web");
  t.c.Run(Seconds(30));
  return {early, t.Pods().size()};
}

TEST_F(ReplicaSetTest, WithoutExpectationsASlowInformerCausesExtraPods) {
  auto [early, late] = PodsBehindASlowInformer(*this, false);
  EXPECT_GT(early, 3u) << "the bug of Kubernetes issue #129795";
  EXPECT_GT(late, 3u);
}

TEST_F(ReplicaSetTest, ExpectationsPreventExtraPodsBehindASlowInformer) {
  auto [early, late] = PodsBehindASlowInformer(*this, true);
  EXPECT_EQ(early, 3u);
  EXPECT_EQ(late, 3u) << "expired expectations must not trust the lagging cache";
  EXPECT_TRUE(c.violations.empty());
}

// Kubernetes' RecheckDeletionTimestamp: an owner being deleted adopts nothing, even while
// the controller's cache still shows it alive (its ReplicaSet events arrive 60 s late).
TEST_F(ReplicaSetTest, AnOwnerBeingDeletedAdoptsNothingEvenBehindALaggingCache) {
  Start([](ControllerManagerOptions& o) { o.informer_event_delay["replicasets"] = Seconds(60); });
  api::ReplicaSet rs = MakeRs("web", 0);
  rs.mutable_metadata()->add_finalizers("example.com/hold");  // keeps it, deleting, after the delete
  ASSERT_TRUE(c.Create(rs).ok());
  c.Run(Seconds(70));
  auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Delete(RsKind(), "default", "web", std::move(d)); });
  ASSERT_TRUE(r.ok()) << r.Describe();
  ASSERT_TRUE(GetRs("web").metadata().has_deletion_timestamp());
  ASSERT_TRUE(c.Create(MakePod("orphan", "web")).ok());
  c.Run(Seconds(20));  // the pod is seen at once; the delete is not seen for 60 s
  EXPECT_EQ(Pods().at("orphan").metadata().owner_references_size(), 0) << "adopted by an owner being deleted";
  c.Run(Seconds(60));
  EXPECT_EQ(Pods().at("orphan").metadata().owner_references_size(), 0);
}

// Liveness floor for the test above: the same owner, not being deleted, adopts the pod
// behind the same lagging cache (and, at 0 replicas, deletes it).
TEST_F(ReplicaSetTest, ALiveOwnerBehindALaggingCacheStillAdopts) {
  Start([](ControllerManagerOptions& o) { o.informer_event_delay["replicasets"] = Seconds(60); });
  ASSERT_TRUE(c.Create(MakeRs("web", 0)).ok());
  c.Run(Seconds(70));
  ASSERT_TRUE(c.Create(MakePod("orphan", "web")).ok());
  c.Run(Seconds(20));
  EXPECT_EQ(Pods().count("orphan"), 0u) << "adopted and deleted";
  EXPECT_EQ(CountReason("SuccessfulDelete"), 1);
}

}  // namespace
}  // namespace ksim::controllers::testing
