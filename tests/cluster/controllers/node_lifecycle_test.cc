// Node lifecycle in a simulated cluster: the pure rules (zones, tolerations), then a node
// whose kubelet stops goes Unknown after 50 s and not before, is tainted unreachable, its
// pods are marked not ready and evicted after their toleration (300 s by default) and not
// before; a node that comes back is untainted and its evictions are cancelled; tainting is
// rate limited per zone (0.1/s, 0.01/s in a large unhealthy zone, none in a small one) and
// stops when every zone is down.
#include "cluster/controllers/node_lifecycle.h"

#include <gtest/gtest.h>

#include "tests/cluster/controllers/cm_cluster.h"

namespace ksim::controllers::testing {
namespace {

TEST(NodeHealth, ZoneStates) {
  EXPECT_EQ(ComputeZoneState(0, 1, 0.55), ZoneState::kFullDisruption);
  EXPECT_EQ(ComputeZoneState(0, 0, 0.55), ZoneState::kNormal);
  EXPECT_EQ(ComputeZoneState(1, 2, 0.55), ZoneState::kNormal);  // not more than 2 not ready
  EXPECT_EQ(ComputeZoneState(2, 3, 0.55), ZoneState::kPartialDisruption);
  EXPECT_EQ(ComputeZoneState(3, 3, 0.55), ZoneState::kNormal);  // 50% < 55%
  EXPECT_EQ(ComputeZoneState(9, 11, 0.55), ZoneState::kPartialDisruption);  // exactly 55%
}

TEST(NodeHealth, ZoneKeyFromRegionAndZoneLabels) {
  api::Node n;
  EXPECT_EQ(ZoneKey(n), "");
  (*n.mutable_metadata()->mutable_labels())["topology.kubernetes.io/zone"] = "a";
  const std::string a = ZoneKey(n);
  (*n.mutable_metadata()->mutable_labels())["topology.kubernetes.io/region"] = "r";
  EXPECT_NE(ZoneKey(n), a);
  api::Node beta;
  (*beta.mutable_metadata()->mutable_labels())["failure-domain.beta.kubernetes.io/zone"] = "a";
  EXPECT_EQ(ZoneKey(beta), a);
}

TEST(NodeHealth, TolerationTime) {
  api::Taint unreachable;
  unreachable.set_key(kTaintUnreachable);
  unreachable.set_effect("NoExecute");
  google::protobuf::RepeatedPtrField<api::Toleration> none;
  EXPECT_EQ(TolerationTime(none, {unreachable}), Nanos(0));
  google::protobuf::RepeatedPtrField<api::Toleration> t;
  auto* a = t.Add();
  a->set_key(kTaintUnreachable);
  a->set_operator_("Exists");
  a->set_effect("NoExecute");
  EXPECT_EQ(TolerationTime(t, {unreachable}), std::nullopt);  // forever
  a->set_toleration_seconds(300);
  EXPECT_EQ(TolerationTime(t, {unreachable}), Seconds(300));
  auto* b = t.Add();
  b->set_operator_("Exists");  // wildcard, forever; the smallest set time still wins
  EXPECT_EQ(TolerationTime(t, {unreachable}), Seconds(300));
  a->set_toleration_seconds(-5);
  EXPECT_EQ(TolerationTime(t, {unreachable}), Nanos(0));
  api::Taint other;
  other.set_key("example.com/x");
  other.set_effect("NoExecute");
  t.RemoveLast();
  EXPECT_EQ(TolerationTime(t, {unreachable, other}), Nanos(0));  // one taint not tolerated
}

class LifecycleTest : public ::testing::Test {
 protected:
  // Sees the world every `step` and records when things happened.
  void RunUntil(const std::function<bool()>& done, Nanos within, Nanos step = Milliseconds(500)) {
    const Nanos deadline = c.Now() + within;
    while (c.Now() < deadline && !done()) c.Run(step);
  }
  std::string ReadyStatus(const std::string& node) {
    auto nodes = c.Nodes();
    auto it = nodes.find(node);
    if (it == nodes.end()) return "";
    const api::NodeCondition* ready = ReadyCondition(it->second);
    return ready == nullptr ? "" : ready->status();
  }
  bool Tainted(const std::string& node, const char* key) {
    auto nodes = c.Nodes();
    auto it = nodes.find(node);
    return it != nodes.end() && HasTaint(it->second, key);
  }
  std::string LeaseVersion(const std::string& node) {
    auto r = c.api.Await([&](client::ApiClient::Done d) {
      c.kubectl->Get(Kind("coordination.k8s.io", "leases"), "kube-node-lease", node, std::move(d));
    });
    api::Lease l;
    return r.ok() && l.ParseFromString(r.body) ? l.metadata().resource_version() : "";
  }
  // A pod bound to `node`, Ready, with extra tolerations.
  void BoundPod(const std::string& name, const std::string& node, std::vector<api::Toleration> tolerations = {}) {
    api::Pod p = apiserver::testing::MakePod("default", name, {}, node);
    for (auto& t : tolerations) *p.mutable_spec()->add_tolerations() = t;
    auto r = c.Create(p);
    ASSERT_TRUE(r.ok()) << r.Describe();
    ASSERT_TRUE(p.ParseFromString(r.body));
    auto* ready = p.mutable_status()->add_conditions();
    ready->set_type("Ready");
    ready->set_status("True");
    p.mutable_status()->set_phase("Running");
    r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Update(Kind("", "pods"), p, std::move(d), "status"); });
    ASSERT_TRUE(r.ok()) << r.Describe();
  }
  std::map<std::string, api::Pod> Pods() { return c.List<api::Pod>("pods", "default"); }
  bool Evicted(const std::string& pod) {
    auto pods = Pods();
    auto it = pods.find(pod);
    return it == pods.end() || it->second.metadata().has_deletion_timestamp();
  }
  static api::Toleration Unreachable(std::optional<int64_t> seconds) {
    api::Toleration t;
    t.set_key(kTaintUnreachable);
    t.set_operator_("Exists");
    t.set_effect("NoExecute");
    if (seconds) t.set_toleration_seconds(*seconds);
    return t;
  }
  void AddZone(const std::string& zone, int nodes) {
    for (int i = 0; i < nodes; ++i) c.AddKubelet(zone + "-" + std::to_string(i), {{"topology.kubernetes.io/zone", zone}});
  }
  void Stop(const std::string& node) { c.KubeletHost(node).CrashProcess("kubelet"); }
  NodeLifecycleController* Lifecycle(int i = 1) {
    return c.Manager(i) == nullptr ? nullptr : c.Manager(i)->Get<NodeLifecycleController>("nodelifecycle");
  }

  CmCluster c;
};

TEST_F(LifecycleTest, ASilentNodeGoesUnknownAfter50sNotBeforeAndIsTaintedUnreachable) {
  c.AddManager(1);
  AddZone("a", 3);
  c.Run(Seconds(20));
  // The last renewal as the test sees it (every 100 ms, from before the stop: the last one
  // may precede it by up to 10 s); the node must stay Ready 50 s after it.
  std::string version = LeaseVersion("a-0");
  Nanos last_renewal = c.Now();
  for (int i = 0; i < 200; ++i) {
    c.Run(Milliseconds(100));
    const std::string v = LeaseVersion("a-0");
    if (v != version) version = v, last_renewal = c.Now();
  }
  ASSERT_EQ(ReadyStatus("a-0"), "True");
  Stop("a-0");
  Nanos unknown_at{0};
  const Nanos deadline = c.Now() + Seconds(90);
  while (c.Now() < deadline && unknown_at == Nanos(0)) {
    c.Run(Milliseconds(100));
    const std::string v = LeaseVersion("a-0");
    if (v != version) version = v, last_renewal = c.Now();
    if (ReadyStatus("a-0") == "Unknown") unknown_at = c.Now();
  }
  ASSERT_NE(unknown_at, Nanos(0)) << "never went Unknown";
  EXPECT_GT(unknown_at - last_renewal, Seconds(50) - Milliseconds(100)) << "Unknown too early";
  EXPECT_LE(unknown_at - last_renewal, Seconds(50) + Seconds(6)) << "liveness: one monitor period late at most";
  const api::Node node = c.Nodes()["a-0"];
  for (const auto& cond : node.status().conditions()) {
    EXPECT_EQ(cond.status(), "Unknown") << cond.type();
    EXPECT_EQ(cond.reason(), "NodeStatusUnknown");
    EXPECT_EQ(cond.message(), "Kubelet stopped posting node status.");
  }
  EXPECT_EQ(ReadyStatus("a-1"), "True");
  RunUntil([&] { return Tainted("a-0", kTaintUnreachable); }, Seconds(15));
  ASSERT_TRUE(Tainted("a-0", kTaintUnreachable));
  EXPECT_FALSE(Tainted("a-0", kTaintNotReady));
  const api::Node tainted = c.Nodes()["a-0"];
  for (const auto& t : tainted.spec().taints()) EXPECT_GT(t.time_added().seconds(), 0);
  bool event = false;
  for (const auto& e : c.Events()) {
    event = event || (e.reason() == "NodeNotReady" && e.involved_object().name() == "a-0" &&
                      e.message() == "Node a-0 status is now: NodeNotReady" && e.source().component() == "node-controller");
  }
  EXPECT_TRUE(event);
  EXPECT_FALSE(Tainted("a-1", kTaintUnreachable));
  EXPECT_TRUE(c.violations.empty()) << c.violations[0];
}

TEST_F(LifecycleTest, PodsAreMarkedNotReadyAndEvictedAfterTheirTolerationNotBefore) {
  c.AddManager(1);
  AddZone("a", 3);
  c.Run(Seconds(30));
  BoundPod("default-300", "a-0");
  BoundPod("short-30", "a-0", {Unreachable(30)});
  BoundPod("forever", "a-0", {Unreachable(std::nullopt)});
  BoundPod("elsewhere", "a-1");
  c.Run(Seconds(5));
  Stop("a-0");
  RunUntil([&] { return Tainted("a-0", kTaintUnreachable); }, Seconds(120));
  ASSERT_TRUE(Tainted("a-0", kTaintUnreachable));
  const Nanos tainted_at = c.Now();
  // MarkPodsNotReady ran when the node went Unknown.
  for (const char* name : {"default-300", "short-30", "forever"}) {
    bool not_ready = false;
    const api::Pod pod = Pods()[name];
    for (const auto& cond : pod.status().conditions()) not_ready = not_ready || (cond.type() == "Ready" && cond.status() == "False");
    EXPECT_TRUE(not_ready) << name;
  }
  Nanos short_at{0}, default_at{0};
  RunUntil(
      [&] {
        if (short_at == Nanos(0) && Evicted("short-30")) short_at = c.Now();
        if (default_at == Nanos(0) && Evicted("default-300")) default_at = c.Now();
        return default_at != Nanos(0);
      },
      Seconds(340), Seconds(1));
  ASSERT_NE(short_at, Nanos(0));
  ASSERT_NE(default_at, Nanos(0)) << "the default 300 s toleration never ran out";
  EXPECT_GE(short_at - tainted_at, Seconds(30) - Milliseconds(500));
  EXPECT_LE(short_at - tainted_at, Seconds(32));
  EXPECT_GE(default_at - tainted_at, Seconds(300) - Milliseconds(500)) << "evicted before 300 s";
  EXPECT_LE(default_at - tainted_at, Seconds(302));
  c.Run(Seconds(300));
  EXPECT_FALSE(Evicted("forever"));
  EXPECT_FALSE(Evicted("elsewhere"));
  EXPECT_EQ(Lifecycle()->stats().evictions, 2u);
  EXPECT_TRUE(c.violations.empty()) << c.violations[0];
}

TEST_F(LifecycleTest, ANodeThatComesBackIsUntaintedAndItsEvictionsCancelled) {
  c.AddManager(1);
  AddZone("a", 3);
  c.Run(Seconds(30));
  BoundPod("web", "a-0");
  Stop("a-0");
  RunUntil([&] { return Tainted("a-0", kTaintUnreachable); }, Seconds(120));
  ASSERT_TRUE(Tainted("a-0", kTaintUnreachable));
  c.Run(Seconds(60));
  c.KubeletHost("a-0").RestartProcess("kubelet");
  RunUntil([&] { return !Tainted("a-0", kTaintUnreachable); }, Seconds(30));
  EXPECT_FALSE(Tainted("a-0", kTaintUnreachable));
  EXPECT_EQ(ReadyStatus("a-0"), "True");
  c.Run(Seconds(400));
  EXPECT_FALSE(Evicted("web"));
  EXPECT_EQ(Lifecycle()->stats().evictions_cancelled, 1u);
}

TEST_F(LifecycleTest, TaintingIsRateLimitedToOneNodePer10sInAHealthyZone) {
  c.AddManager(1);
  AddZone("a", 10);
  c.Run(Seconds(30));
  for (int i = 0; i < 3; ++i) Stop("a-" + std::to_string(i));  // 30%: the zone stays Normal
  std::map<std::string, Nanos> at;
  RunUntil(
      [&] {
        for (const auto& [name, n] : c.Nodes()) {
          if (HasTaint(n, kTaintUnreachable) && at.count(name) == 0) at[name] = c.Now();
        }
        return at.size() == 3;
      },
      Seconds(150), Milliseconds(200));
  ASSERT_EQ(at.size(), 3u) << "liveness: every silent node is tainted";
  std::vector<Nanos> times;
  for (auto& [n, t] : at) times.push_back(t);
  std::sort(times.begin(), times.end());
  EXPECT_GE(times[1] - times[0], Seconds(10) - Milliseconds(300));
  EXPECT_GE(times[2] - times[1], Seconds(10) - Milliseconds(300));
  EXPECT_LE(times[2] - times[0], Seconds(30));
  EXPECT_EQ(Lifecycle()->zone_state(ZoneKey(c.Nodes()["a-0"])), ZoneState::kNormal);
}

TEST_F(LifecycleTest, ASmallUnhealthyZoneIsNotTaintedWhileAnotherZoneIs) {
  c.AddManager(1);
  AddZone("a", 5);
  AddZone("b", 5);
  c.Run(Seconds(30));
  for (int i = 0; i < 3; ++i) Stop("a-" + std::to_string(i));  // 60% of a: PartialDisruption
  Stop("b-0");                                                 // 20% of b: Normal
  RunUntil([&] { return Tainted("b-0", kTaintUnreachable); }, Seconds(120));
  EXPECT_TRUE(Tainted("b-0", kTaintUnreachable)) << "liveness: the healthy zone's silent node is tainted";
  c.Run(Seconds(600));
  EXPECT_EQ(ReadyStatus("a-0"), "Unknown") << "the controller still watches zone a";
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(Tainted("a-" + std::to_string(i), kTaintUnreachable)) << i;
  EXPECT_EQ(Lifecycle()->zone_state(ZoneKey(c.Nodes()["a-0"])), ZoneState::kPartialDisruption);
}

TEST_F(LifecycleTest, ALargeUnhealthyZoneIsTaintedAtTheSecondaryRate) {
  c.AddManager(1, [](ControllerManagerOptions& o) { o.large_cluster_size_threshold = 4; });
  AddZone("a", 5);
  c.Run(Seconds(30));
  for (int i = 0; i < 3; ++i) Stop("a-" + std::to_string(i));
  std::map<std::string, Nanos> at;
  RunUntil(
      [&] {
        for (const auto& [name, n] : c.Nodes()) {
          if (HasTaint(n, kTaintUnreachable) && at.count(name) == 0) at[name] = c.Now();
        }
        return at.size() == 2;
      },
      Seconds(300), Milliseconds(500));
  ASSERT_EQ(at.size(), 2u) << "liveness: tainting goes on at 0.01/s";
  std::vector<Nanos> times;
  for (auto& [n, t] : at) times.push_back(t);
  std::sort(times.begin(), times.end());
  EXPECT_GE(times[1] - times[0], Seconds(100) - Milliseconds(600));
  EXPECT_LE(times[1] - times[0], Seconds(106));
}

TEST_F(LifecycleTest, NothingIsTaintedOrEvictedWhileEveryZoneIsDown) {
  c.AddManager(1);
  AddZone("a", 2);
  AddZone("b", 2);
  c.Run(Seconds(30));
  BoundPod("web", "a-0", {Unreachable(30)});
  for (const char* n : {"a-0", "a-1", "b-0", "b-1"}) Stop(n);
  RunUntil([&] { return ReadyStatus("b-1") == "Unknown" && ReadyStatus("a-0") == "Unknown"; }, Seconds(120));
  ASSERT_EQ(ReadyStatus("a-0"), "Unknown") << "liveness: the controller runs";
  c.Run(Seconds(300));
  for (const char* n : {"a-0", "a-1", "b-0", "b-1"}) EXPECT_FALSE(Tainted(n, kTaintUnreachable)) << n;
  EXPECT_FALSE(Evicted("web"));
  EXPECT_TRUE(Lifecycle()->all_zones_disrupted());
  // One node back: zone a is no longer fully down, tainting and eviction resume.
  c.KubeletHost("a-1").RestartProcess("kubelet");
  RunUntil([&] { return Tainted("a-0", kTaintUnreachable); }, Seconds(120));
  EXPECT_TRUE(Tainted("a-0", kTaintUnreachable)) << "liveness: tainting resumes";
  EXPECT_FALSE(Lifecycle()->all_zones_disrupted());
  RunUntil([&] { return Evicted("web"); }, Seconds(60));
  EXPECT_TRUE(Evicted("web"));
}

TEST_F(LifecycleTest, OnlyTheLeaderActsAndANewLeaderTakesOver) {
  c.AddManager(1);
  c.AddManager(2);
  AddZone("a", 3);
  c.Run(Seconds(40));
  const int first = c.Leader();
  ASSERT_NE(first, 0);
  Stop("a-0");
  c.ManagerHost(first).CrashProcess("controller-manager");
  RunUntil([&] { return Tainted("a-0", kTaintUnreachable); }, Seconds(180));
  EXPECT_TRUE(Tainted("a-0", kTaintUnreachable)) << "liveness: the new leader takes over";
  const int second = c.Leader();
  EXPECT_NE(second, 0);
  EXPECT_NE(second, first);
  EXPECT_TRUE(c.violations.empty()) << c.violations[0];
  EXPECT_GT(c.writes, 0u);
}

}  // namespace
}  // namespace ksim::controllers::testing
