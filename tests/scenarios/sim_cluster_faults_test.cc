// SimCluster under faults, end to end: an isolated worker goes Unknown after the grace
// period, is tainted unreachable and loses its pods after their toleration (not before);
// the runtime's faults (container crash, image pull failure) through Inject.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "scenarios/sim_cluster.h"
#include "sim/host.h"
#include "sim/world.h"

namespace ksim::scenarios {
namespace {

SimClusterOptions Small(uint64_t seed) {
  SimClusterOptions o;
  o.seed = seed;
  o.control_plane = 3;
  o.workers = 3;
  o.service_network = false;  // not under test; fewer processes to simulate
  return o;
}

// A bare pod bound to `node` at creation (the scheduler is not under test here).
std::string PodOn(const std::string& name, const std::string& node, const std::string& image = "nginx") {
  return fmt::format(
      "apiVersion: v1\nkind: Pod\nmetadata: {{name: {}}}\n"
      "spec: {{nodeName: {}, containers: [{{name: app, image: {}, ports: [{{containerPort: 80}}]}}]}}\n---\n",
      name, node, image);
}

// Polls `done` once per simulated second (each poll is an API call, too costly per event).
bool Poll(SimCluster& c, const std::function<bool()>& done, Nanos timeout) {
  const Nanos deadline = c.now() + timeout;
  while (!done()) {
    if (c.now() >= deadline) return false;
    c.RunFor(Seconds(1));
  }
  return true;
}

bool Running(const api::Pod& p) {
  return p.status().phase() == "Running" && p.status().container_statuses_size() > 0 &&
         p.status().container_statuses(0).state().has_running();
}

std::map<std::string, api::Pod> PodsByName(SimCluster& c) {
  std::vector<api::Pod> pods;
  std::map<std::string, api::Pod> out;
  if (!c.ListPods("default", "", &pods).ok()) return out;
  for (api::Pod& p : pods) out[p.metadata().name()] = std::move(p);
  return out;
}

std::optional<api::Node> NodeNamed(SimCluster& c, const std::string& name) {
  std::vector<api::Node> nodes;
  if (!c.ListNodes(&nodes).ok()) return std::nullopt;
  for (const api::Node& n : nodes) {
    if (n.metadata().name() == name) return n;
  }
  return std::nullopt;
}

std::string ReadyStatus(const api::Node& n) {
  for (const auto& cond : n.status().conditions()) {
    if (cond.type() == "Ready") return cond.status();
  }
  return "";
}

bool HasTaint(const api::Node& n, const std::string& key) {
  return std::any_of(n.spec().taints().begin(), n.spec().taints().end(),
                     [&](const api::Taint& t) { return t.key() == key && t.effect() == "NoExecute"; });
}

constexpr char kUnreachable[] = "node.kubernetes.io/unreachable";

TEST(SimClusterFaults, AnIsolatedWorkerGoesUnknownIsTaintedAndLosesItsPodsAfterTheirToleration) {
  SimCluster c(Small(11));
  ASSERT_TRUE(c.Bootstrap().ok());
  ASSERT_TRUE(c.Apply(PodOn("cut-1", "worker-1") + PodOn("cut-2", "worker-1") + PodOn("kept-2", "worker-2") +
                      PodOn("kept-3", "worker-3"))
                  .ok());
  std::map<std::string, api::Pod> before;
  ASSERT_TRUE(Poll(c, [&] {
    before = PodsByName(c);
    return before.size() == 4 && std::all_of(before.begin(), before.end(), [](const auto& p) { return Running(p.second); });
  }, Seconds(60)));
  // The apiserver's DefaultTolerationSeconds gave every pod 300 s for the unreachable taint.
  bool tolerates = false;
  for (const auto& t : before.at("cut-1").spec().tolerations()) {
    tolerates |= t.key() == kUnreachable && t.toleration_seconds() == 300;
  }
  ASSERT_TRUE(tolerates);

  ASSERT_TRUE(c.Isolate("worker-1").ok());
  const Nanos cut = c.now();
  c.RunFor(Seconds(40));
  std::optional<api::Node> node = NodeNamed(c, "worker-1");
  ASSERT_TRUE(node.has_value());
  EXPECT_EQ(ReadyStatus(*node), "True") << "Unknown before the 50 s grace period";
  ASSERT_TRUE(Poll(c, [&] { node = NodeNamed(c, "worker-1"); return node && ReadyStatus(*node) == "Unknown"; },
                   Seconds(40)));
  EXPECT_GE(c.now() - cut, Seconds(50));
  ASSERT_TRUE(Poll(c, [&] { node = NodeNamed(c, "worker-1"); return node && HasTaint(*node, kUnreachable); },
                   Seconds(30)));
  const Nanos tainted = c.now();
  // Shortly before the toleration runs out the pods are still there, not terminating.
  c.RunFor(Seconds(290));
  std::map<std::string, api::Pod> pods = PodsByName(c);
  for (const char* name : {"cut-1", "cut-2"}) {
    ASSERT_EQ(pods.count(name), 1u) << name << " evicted before its toleration ran out";
    EXPECT_FALSE(pods.at(name).metadata().has_deletion_timestamp()) << name;
  }
  // Then both are deleted (Terminating: the isolated kubelet cannot confirm yet).
  auto evicted = [&](const char* name) { return !pods.count(name) || pods.at(name).metadata().has_deletion_timestamp(); };
  ASSERT_TRUE(Poll(c, [&] { pods = PodsByName(c); return evicted("cut-1") && evicted("cut-2"); }, Seconds(30)));
  EXPECT_GE(c.now() - tainted, Seconds(299));
  // Pods on other nodes are untouched: same uid, never restarted, not terminating.
  for (const char* name : {"kept-2", "kept-3"}) {
    ASSERT_EQ(pods.count(name), 1u) << name;
    const api::Pod& p = pods.at(name);
    EXPECT_EQ(p.metadata().uid(), before.at(name).metadata().uid()) << name;
    EXPECT_FALSE(p.metadata().has_deletion_timestamp()) << name;
    EXPECT_TRUE(Running(p)) << name;
    EXPECT_EQ(p.status().container_statuses(0).restart_count(), 0) << name;
  }
  // After the heal the node is Ready and untainted, the kubelet finishes the deletions
  // (the pods leave the API) and none of their containers runs on the worker.
  ASSERT_TRUE(c.Heal().ok());
  ASSERT_TRUE(Poll(c, [&] {
    node = NodeNamed(c, "worker-1");
    return node && ReadyStatus(*node) == "True" && node->spec().taints_size() == 0;
  }, Seconds(60)));
  ASSERT_TRUE(Poll(c, [&] { pods = PodsByName(c); return !pods.count("cut-1") && !pods.count("cut-2"); }, Seconds(60)));
  EXPECT_EQ(pods.size(), 2u);
  c.RunFor(Seconds(5));
  for (const ContainerStatus& s : c.world().FindHost("worker-1")->runtime().Snapshot()) {
    EXPECT_NE(s.state, ContainerState::kRunning) << s.labels.at("io.kubernetes.pod.name");
  }
}

TEST(SimClusterFaults, ACrashedContainerIsRestartedByItsKubelet) {
  SimCluster c(Small(12));
  ASSERT_TRUE(c.Bootstrap().ok());
  ASSERT_TRUE(c.Apply(PodOn("web", "worker-2") + PodOn("other", "worker-2")).ok());
  std::map<std::string, api::Pod> pods;
  ASSERT_TRUE(Poll(c, [&] { pods = PodsByName(c); return pods.size() == 2 && Running(pods["web"]) && Running(pods["other"]); },
                   Seconds(60)));
  faults::Fault f;
  f.kind = faults::FaultKind::kContainerCrash;
  f.host = "worker-2";
  f.pod = "default/web";
  f.container = "app";
  f.exit_code = 139;
  EXPECT_EQ(f.Describe(), "container-crash worker-2 default/web/app exit=139");
  ASSERT_TRUE(c.Inject(f).ok());
  ASSERT_EQ(c.fault_log().size(), 1u);
  EXPECT_NE(c.fault_log()[0].find("container-crash worker-2 default/web/app exit=139"), std::string::npos);
  ASSERT_TRUE(Poll(c, [&] {
    pods = PodsByName(c);
    return Running(pods["web"]) && pods["web"].status().container_statuses(0).restart_count() == 1;
  }, Seconds(60)));
  const auto& last = pods["web"].status().container_statuses(0).last_state();
  ASSERT_TRUE(last.has_terminated());
  EXPECT_EQ(last.terminated().exit_code(), 139);
  EXPECT_EQ(last.terminated().reason(), "Error");
  EXPECT_EQ(pods["other"].status().container_statuses(0).restart_count(), 0);
  // Naming a pod with nothing running on that host is an error, not a silent no-op.
  f.host = "worker-1";
  EXPECT_EQ(c.Inject(f).code(), Status::Code::kNotFound);
  f.host = "worker-2";
  f.pod = "default/nothing";
  EXPECT_EQ(c.Inject(f).code(), Status::Code::kNotFound);
}

TEST(SimClusterFaults, AnImagePullFailureHoldsThePodUntilItHeals) {
  SimCluster c(Small(13));
  ASSERT_TRUE(c.Bootstrap().ok());
  faults::Fault f;
  f.kind = faults::FaultKind::kImagePullFailure;
  f.host = "worker-3";
  f.image = "redis:7";  // a tag of its own: another tag of redis still pulls
  EXPECT_EQ(f.Describe(), "image-pull-failure worker-3 redis:7");
  ASSERT_TRUE(c.Inject(f).ok());
  ASSERT_TRUE(c.Apply(PodOn("cache", "worker-3", "redis:7") + PodOn("cache-elsewhere", "worker-1", "redis:7") +
                      PodOn("web", "worker-3"))
                  .ok());
  std::map<std::string, api::Pod> pods;
  auto waiting_reason = [&](const char* name) -> std::string {
    const api::Pod& p = pods[name];
    if (p.status().container_statuses_size() == 0) return "";
    return p.status().container_statuses(0).state().waiting().reason();
  };
  // Another image on the host and the image on another host pull; this one does not.
  ASSERT_TRUE(Poll(c, [&] {
    pods = PodsByName(c);
    return Running(pods["web"]) && Running(pods["cache-elsewhere"]) &&
           (waiting_reason("cache") == "ErrImagePull" || waiting_reason("cache") == "ImagePullBackOff");
  }, Seconds(60)));
  c.RunFor(Seconds(20));
  pods = PodsByName(c);
  EXPECT_FALSE(Running(pods["cache"]));
  f.kind = faults::FaultKind::kImagePullHeal;
  ASSERT_TRUE(c.Inject(f).ok());
  EXPECT_TRUE(Poll(c, [&] { pods = PodsByName(c); return Running(pods["cache"]); }, Seconds(120)));
}

}  // namespace
}  // namespace ksim::scenarios
