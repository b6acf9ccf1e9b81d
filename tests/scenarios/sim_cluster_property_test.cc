// RapidCheck properties of a whole SimCluster under random fault schedules (3 control-plane
// hosts, 3-4 workers, 8-12 bare pods). A schedule is a list of timed faults that shrinks to
// a readable story ("t=12.000s crash cp-2/apiserver"); the run prints the faults as applied.
//
//   safety: a pod (by uid) never has a running container on two hosts at once, nor two
//     running containers of one container name on a host (sampled every simulated second);
//   liveness floor: every pod bound before the faults is Running and Ready again, with the
//     same uid, within a bounded time after everything heals. Faults all fall in the first
//     kFaultWindow (200 s) and are healed by kHealAt, so no node is unreachable for its
//     pods' 300 s unreachable toleration plus the 50 s grace: no eviction is legitimate and
//     none may happen;
//   a kubelet crash loses no pod: under kubelet crashes/restarts (and container crashes)
//     every pod ends Running, each container started exactly once more per crash of its
//     own, and the restart counts say so.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <algorithm>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "faults/fault.h"
#include "scenarios/sim_cluster.h"
#include "sim/host.h"
#include "sim/world.h"
#include "tests/property_cases.h"

namespace ksim::scenarios {
namespace {

constexpr Nanos kFaultWindow = Seconds(200);
constexpr Nanos kHealAt = Seconds(210);
constexpr Nanos kConverge = Seconds(330);  // container back-off caps at 300 s
constexpr char kPodUidLabel[] = "io.kubernetes.pod.uid";

// Runs `property` for `cases` cases (RapidCheck's configured seed) and fails the gtest with
// RapidCheck's report (the shrunk counterexample) if it is falsified.
template <typename F>
void CheckCases(const std::string& name, int cases, F property) {
  ::ksim::testing::CheckPropertyCases(name, cases, property);
}

bool Ready(const api::Pod& p) {
  if (p.status().phase() != "Running" || p.metadata().has_deletion_timestamp()) return false;
  if (p.status().container_statuses_size() == 0 || !p.status().container_statuses(0).state().has_running()) return false;
  for (const auto& c : p.status().conditions()) {
    if (c.type() == "Ready") return c.status() == "True";
  }
  return false;
}

// Checks the runtimes every simulated second; the first violation is kept.
class RuntimeSampler {
 public:
  explicit RuntimeSampler(SimCluster& c) : c_(c) {}
  void Start() { Tick(); }
  const std::string& violation() const { return violation_; }
  int samples() const { return samples_; }

 private:
  void Tick() {
    ++samples_;
    std::map<std::string, std::set<std::string>> hosts;  // pod uid -> hosts running it
    for (const std::string& w : c_.worker_hosts()) {
      std::map<std::pair<std::string, std::string>, int> running;  // (uid, container) -> count
      for (const ContainerStatus& s : c_.world().FindHost(w)->runtime().Snapshot()) {
        if (s.state != ContainerState::kRunning) continue;
        const auto uid = s.labels.find(kPodUidLabel);
        const std::string pod = uid == s.labels.end() ? "?" : uid->second;
        hosts[pod].insert(w);
        if (++running[{pod, s.name}] == 2 && violation_.empty()) {
          violation_ = fmt::format("t={}s: two running containers '{}' of pod {} on {}", c_.now().count() / 1000000000,
                                   s.name, pod, w);
        }
      }
    }
    for (const auto& [uid, on] : hosts) {
      if (on.size() > 1 && violation_.empty()) {
        violation_ = fmt::format("t={}s: pod {} runs on {}", c_.now().count() / 1000000000, uid, fmt::join(on, " and "));
      }
    }
    c_.world().After(Seconds(1), [this] { Tick(); });
  }

  SimCluster& c_;
  std::string violation_;
  int samples_ = 0;
};

SimClusterOptions ClusterFor(uint64_t seed, int workers) {
  SimClusterOptions o;
  o.seed = seed;
  o.control_plane = 3;
  o.workers = workers;
  o.service_network = false;  // not under test; fewer processes to simulate
  return o;
}

std::string BarePods(int n, bool bind) {
  std::string yaml;
  for (int i = 0; i < n; ++i) {
    yaml += fmt::format(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: p{}}}\n"
        "spec: {{{}containers: [{{name: app, image: nginx, resources: {{requests: {{cpu: 100m}}}}}}]}}\n---\n",
        i, bind ? fmt::format("nodeName: worker-{}, ", i % 3 + 1) : "");
  }
  return yaml;
}

// Pods of "default" by name; false if the list failed.
bool PodsByName(SimCluster& c, std::map<std::string, api::Pod>* out) {
  std::vector<api::Pod> pods;
  if (!c.ListPods("default", "", &pods).ok()) return false;
  out->clear();
  for (api::Pod& p : pods) (*out)[p.metadata().name()] = std::move(p);
  return true;
}

// Runs up to 120 s until all `npods` pods exist and are Ready; *pods gets them by name.
bool AwaitAllReady(SimCluster& c, int npods, std::map<std::string, api::Pod>* pods) {
  for (int i = 0; i < 120; ++i) {
    if (PodsByName(c, pods) && static_cast<int>(pods->size()) == npods &&
        std::all_of(pods->begin(), pods->end(), [](const auto& p) { return Ready(p.second); })) {
      return true;
    }
    c.RunFor(Seconds(1));
  }
  return false;
}

// Whether `host`'s runtime runs a container of the pod with `uid`.
bool RunsOn(SimCluster& c, const std::string& host, const std::string& uid) {
  sim::Host* h = c.world().FindHost(host);
  if (h == nullptr) return false;
  for (const ContainerStatus& s : h->runtime().Snapshot()) {
    const auto it = s.labels.find(kPodUidLabel);
    if (s.state == ContainerState::kRunning && it != s.labels.end() && it->second == uid) return true;
  }
  return false;
}

// Polls once per simulated second until every pod of `before` is Ready with its uid and
// its node's runtime agrees (the API's status is stale while a kubelet is away).
bool AllBackWithTheirUids(SimCluster& c, const std::map<std::string, api::Pod>& before, Nanos timeout,
                          std::map<std::string, api::Pod>* now) {
  const Nanos deadline = c.now() + timeout;
  for (;;) {
    if (PodsByName(c, now) && std::all_of(before.begin(), before.end(), [&](const auto& b) {
          const auto it = now->find(b.first);
          return it != now->end() && it->second.metadata().uid() == b.second.metadata().uid() && Ready(it->second) &&
                 RunsOn(c, it->second.spec().node_name(), it->second.metadata().uid());
        })) {
      return true;
    }
    if (c.now() >= deadline) return false;
    c.RunFor(Seconds(1));
  }
}

std::string Missing(SimCluster& c, const std::map<std::string, api::Pod>& before, const std::map<std::string, api::Pod>& now) {
  std::vector<std::string> out;
  for (const auto& [name, b] : before) {
    const auto it = now.find(name);
    if (it == now.end()) {
      out.push_back(name + " (gone)");
    } else if (it->second.metadata().uid() != b.metadata().uid()) {
      out.push_back(name + " (new uid)");
    } else if (!Ready(it->second) || !RunsOn(c, it->second.spec().node_name(), it->second.metadata().uid())) {
      out.push_back(fmt::format("{} on {} (phase {}{}{})", name, it->second.spec().node_name(),
                                it->second.status().phase(), Ready(it->second) ? ", Ready" : "",
                                it->second.metadata().has_deletion_timestamp() ? ", terminating" : ""));
    }
  }
  return fmt::format("{}", fmt::join(out, ", "));
}

// --- fault schedules ---

const std::vector<std::string> kCpProcesses = {"apiserver", "store", "controller-manager", "scheduler"};

faults::Fault Crash(faults::FaultKind kind, const std::string& host, const std::string& process) {
  faults::Fault f;
  f.kind = kind;
  f.host = host;
  f.process = process;
  return f;
}

// One fault of the cluster-wide schedule. `pods` maps pod names to their nodes.
rc::Gen<faults::TimedFault> ClusterFault(int workers, const std::map<std::string, std::string>& pods,
                                         Nanos window = kFaultWindow) {
  return rc::gen::exec([workers, pods, window] {
    std::vector<std::string> hosts = {"cp-1", "cp-2", "cp-3", SimCluster::kLoadBalancerHost};
    for (int w = 1; w <= workers; ++w) hosts.push_back(fmt::format("worker-{}", w));
    const int at = *rc::gen::inRange(0, static_cast<int>(window.count() / 1000000000));
    const int kind = *rc::gen::inRange(0, 8);
    const int cp = *rc::gen::inRange(1, 4);
    const int worker = *rc::gen::inRange(1, workers + 1);
    const bool on_worker = *rc::gen::arbitrary<bool>();
    const std::string process = on_worker ? "kubelet" : *rc::gen::elementOf(kCpProcesses);
    const std::string host = on_worker ? fmt::format("worker-{}", worker) : fmt::format("cp-{}", cp);
    faults::Fault f;
    switch (kind) {
      case 0: f = Crash(faults::FaultKind::kCrashProcess, host, process); break;
      case 1: f = Crash(faults::FaultKind::kRestartProcess, host, process); break;
      case 2: f.kind = faults::FaultKind::kIsolate; f.host = *rc::gen::elementOf(hosts); break;
      case 3: {
        // A seed-chosen side against the rest (the client host stays with the second).
        const uint32_t mask = *rc::gen::inRange<uint32_t>(1, (1u << hosts.size()) - 1);
        f.kind = faults::FaultKind::kPartition;
        f.groups.resize(2);
        for (size_t i = 0; i < hosts.size(); ++i) f.groups[(mask >> i) & 1u ? 0 : 1].push_back(hosts[i]);
        f.groups[1].push_back(SimCluster::kClientHost);
        break;
      }
      case 4: f.kind = faults::FaultKind::kHeal; break;
      case 5: f.kind = faults::FaultKind::kPowerOff; f.host = fmt::format("worker-{}", worker); break;
      case 6: f.kind = faults::FaultKind::kPowerOn; f.host = fmt::format("worker-{}", worker); break;
      default: {
        const auto& [pod, node] = *rc::gen::elementOf(std::vector<std::pair<std::string, std::string>>(pods.begin(), pods.end()));
        f.kind = faults::FaultKind::kContainerCrash;
        f.host = node;
        f.pod = "default/" + pod;
        f.exit_code = *rc::gen::element(1, 137, 143);
        break;
      }
    }
    return faults::TimedFault{Seconds(at), f};
  });
}

// Injects each fault at its time from now; `log` gets "t=<since now> <fault>" lines (with
// the error if it did not apply) and `applied` sees each fault that did.
void Schedule(SimCluster& c, const std::vector<faults::TimedFault>& schedule, std::vector<std::string>* log,
              std::function<void(const faults::Fault&)> applied = nullptr) {
  const Nanos start = c.now();
  for (const faults::TimedFault& tf : schedule) {
    c.world().At(start + tf.at, [&c, log, applied, start, tf] {
      const Status s = c.Inject(tf.fault);
      log->push_back(faults::TimedFault{c.now() - start, tf.fault}.Describe() + (s.ok() ? "" : " (" + s.ToString() + ")"));
      if (s.ok() && applied) applied(tf.fault);
    });
  }
}

std::vector<faults::TimedFault> Sorted(std::vector<faults::TimedFault> s) {
  std::stable_sort(s.begin(), s.end(), [](const auto& a, const auto& b) { return a.at < b.at; });
  return s;
}

void PropertyFaultsKeepPodsSafeAndLive() {
  const uint64_t seed = *rc::gen::inRange<uint64_t>(1, 100000);
  const int workers = *rc::gen::inRange(3, 5);
  const int npods = *rc::gen::inRange(8, 13);
  std::vector<std::string> log;
  SimCluster c(ClusterFor(seed, workers));
  RuntimeSampler sampler(c);
  RC_ASSERT(c.Bootstrap().ok());
  RC_ASSERT(c.Apply(BarePods(npods, false)).ok());
  std::map<std::string, api::Pod> before, now;
  // Liveness floor before the faults, too: the scheduler binds every pod and each runs.
  RC_ASSERT(AwaitAllReady(c, npods, &before));
  std::map<std::string, std::string> node_of;
  for (const auto& [name, p] : before) node_of[name] = p.spec().node_name();
  const auto schedule = Sorted(*rc::gen::container<std::vector<faults::TimedFault>>(ClusterFault(workers, node_of)));
  sampler.Start();
  Schedule(c, schedule, &log);
  c.RunFor(kHealAt);
  faults::HealAll(c.world());
  log.push_back(fmt::format("t={}s heal-all", kHealAt.count() / 1000000000));
  const bool back = AllBackWithTheirUids(c, before, kConverge, &now);
  for (const std::string& line : log) RC_LOG() << line << "\n";
  RC_TAG(schedule.size() > 5 ? "6+ faults" : "0-5 faults");
  if (!sampler.violation().empty()) RC_FAIL("safety: " + sampler.violation());
  if (!back) RC_FAIL("liveness: not Running and Ready with their uids after the heal: " + Missing(c, before, now));
  RC_ASSERT(sampler.samples() > static_cast<int>(kHealAt.count() / 1000000000));
}

// Kubelet crashes and restarts (and container crashes) only, on pods bound round-robin to
// worker-1..3: every pod keeps its containers, each started once more per crash of its own.
rc::Gen<faults::TimedFault> KubeletFault(int npods) {
  return rc::gen::exec([npods] {
    const int at = *rc::gen::inRange(0, 60);
    const int worker = *rc::gen::inRange(1, 4);
    const int kind = *rc::gen::inRange(0, 5);
    faults::Fault f;
    if (kind < 2) {
      f = Crash(faults::FaultKind::kCrashProcess, fmt::format("worker-{}", worker), "kubelet");
    } else if (kind < 4) {
      f = Crash(faults::FaultKind::kRestartProcess, fmt::format("worker-{}", worker), "kubelet");
    } else {
      const int pod = *rc::gen::inRange(0, npods);
      f.kind = faults::FaultKind::kContainerCrash;
      f.host = fmt::format("worker-{}", pod % 3 + 1);
      f.pod = fmt::format("default/p{}", pod);
      f.exit_code = 1;
    }
    return faults::TimedFault{Milliseconds(at * 1000 + *rc::gen::inRange(0, 1000)), f};
  });
}

void PropertyKubeletCrashLosesNoPod() {
  const uint64_t seed = *rc::gen::inRange<uint64_t>(1, 100000);
  const int npods = *rc::gen::inRange(8, 13);
  SimCluster c(ClusterFor(seed, 3));
  RuntimeSampler sampler(c);
  RC_ASSERT(c.Bootstrap().ok());
  RC_ASSERT(c.Apply(BarePods(npods, true)).ok());
  std::map<std::string, api::Pod> before, now;
  RC_ASSERT(AwaitAllReady(c, npods, &before));
  uint64_t starts_before = 0;
  for (const std::string& w : c.worker_hosts()) starts_before += c.world().FindHost(w)->runtime().stats().starts;
  const auto schedule = Sorted(*rc::gen::container<std::vector<faults::TimedFault>>(KubeletFault(npods)));
  std::vector<std::string> log;
  std::map<std::string, int> crashed;  // pod name -> container crashes that took effect
  sampler.Start();
  Schedule(c, schedule, &log, [&crashed](const faults::Fault& f) {
    if (f.kind == faults::FaultKind::kContainerCrash) ++crashed[f.pod.substr(f.pod.find('/') + 1)];
  });
  c.RunFor(Seconds(61));
  for (const std::string& w : c.worker_hosts()) c.RestartProcess(w, "kubelet");
  log.push_back("t=61s restart every kubelet");
  const bool back = AllBackWithTheirUids(c, before, Seconds(120), &now);
  for (const std::string& line : log) RC_LOG() << line << "\n";
  if (!sampler.violation().empty()) RC_FAIL("safety: " + sampler.violation());
  if (!back) RC_FAIL("liveness: not Running and Ready after the kubelets restarted: " + Missing(c, before, now));
  // No container started again except after a crash of its own, and the counts say so.
  uint64_t starts_after = 0, crashes = 0;
  for (const std::string& w : c.worker_hosts()) starts_after += c.world().FindHost(w)->runtime().stats().starts;
  for (const auto& [pod, n] : crashed) crashes += static_cast<uint64_t>(n);
  RC_ASSERT(starts_after - starts_before == crashes);
  for (const auto& [name, p] : now) {
    RC_ASSERT(p.status().container_statuses(0).restart_count() == (crashed.count(name) ? crashed.at(name) : 0));
  }
}

TEST(SimClusterProperty, FaultSchedulesKeepPodsSafeAndLive) {
  CheckCases("FaultSchedulesKeepPodsSafeAndLive", 6, PropertyFaultsKeepPodsSafeAndLive);
}

TEST(SimClusterProperty, AKubeletCrashLosesNoPod) {
  CheckCases("AKubeletCrashLosesNoPod", 12, PropertyKubeletCrashLosesNoPod);
}

// Ground truth from the faults as applied: how long each worker was continuously
// "disturbed" (its kubelet down, the host off, any network fault, or any control-plane
// process down). A node can only look unhealthy to the node lifecycle controller while
// disturbed, so no pod can be legitimately evicted from a worker whose longest stretch is
// shorter than the pod's toleration.
class Disturbance {
 public:
  explicit Disturbance(const std::vector<std::string>& workers) {
    for (const std::string& w : workers) since_[w] = Nanos(-1), longest_[w] = Nanos(0);
  }
  void Apply(Nanos at, const faults::Fault& f) {
    using K = faults::FaultKind;
    switch (f.kind) {
      case K::kIsolate: case K::kPartition: network_ = true; break;
      case K::kHeal: network_ = false; break;
      case K::kCrashProcess: down_.insert(f.host + "/" + f.process); break;
      case K::kRestartProcess: if (!off_.count(f.host)) down_.erase(f.host + "/" + f.process); break;
      case K::kPowerOff: off_.insert(f.host); break;
      case K::kPowerOn:  // every process of the host starts
        off_.erase(f.host);
        for (auto it = down_.begin(); it != down_.end();) it = it->starts_with(f.host + "/") ? down_.erase(it) : ++it;
        break;
      default: break;
    }
    Update(at);
  }
  void HealAll(Nanos at) {
    network_ = false;
    down_.clear();
    off_.clear();
    Update(at);
  }
  Nanos Longest(const std::string& worker) const { return longest_.at(worker); }

 private:
  bool Disturbed(const std::string& w) const {
    if (network_ || off_.count(w) || down_.count(w + "/kubelet")) return true;
    return std::any_of(down_.begin(), down_.end(), [](const std::string& p) { return p.starts_with("cp-"); });
  }
  void Update(Nanos at) {
    for (auto& [w, since] : since_) {
      const bool d = Disturbed(w);
      if (d && since < Nanos(0)) since = at;
      if (!d && since >= Nanos(0)) {
        longest_[w] = std::max(longest_[w], at - since);
        since = Nanos(-1);
      }
    }
  }
  bool network_ = false;
  std::set<std::string> down_;  // "host/process"
  std::set<std::string> off_;
  std::map<std::string, Nanos> since_, longest_;
};

bool RunsAnywhere(SimCluster& c, const std::string& uid) {
  return std::any_of(c.worker_hosts().begin(), c.worker_hosts().end(),
                     [&](const std::string& w) { return RunsOn(c, w, uid); });
}

// Fault windows up to 600 s with one worker outage of 250..500 s: nodes stay unreachable
// past the 300 s toleration and their pods are evicted. Safety: only from workers disturbed for at least the pod's
// toleration. Liveness floor: after the heal every pod is either back (Ready, its uid,
// running on its node) or evicted (gone from the API and from every runtime).
void PropertyEvictionsOnlyAfterTheToleration() {
  const uint64_t seed = *rc::gen::inRange<uint64_t>(1, 100000);
  const int workers = *rc::gen::inRange(3, 5);
  const int npods = *rc::gen::inRange(8, 13);
  const Nanos window = Seconds(*rc::gen::inRange(450, 601));
  std::vector<std::string> log;
  SimCluster c(ClusterFor(seed, workers));
  RuntimeSampler sampler(c);
  RC_ASSERT(c.Bootstrap().ok());
  RC_ASSERT(c.Apply(BarePods(npods, false)).ok());
  std::map<std::string, api::Pod> before, now;
  RC_ASSERT(AwaitAllReady(c, npods, &before));
  std::map<std::string, std::string> node_of;
  for (const auto& [name, p] : before) node_of[name] = p.spec().node_name();
  // Some noise and one outage of a worker, undone after 250..500 s, so that evictions do happen.
  auto schedule = *rc::gen::resize(15, rc::gen::container<std::vector<faults::TimedFault>>(ClusterFault(workers, node_of, window)));
  const std::string worker = fmt::format("worker-{}", *rc::gen::inRange(1, workers + 1));
  const int outage = *rc::gen::inRange(0, 3);
  const Nanos from = Seconds(*rc::gen::inRange(0, 60));
  const Nanos until = std::min(window, from + Seconds(*rc::gen::inRange(250, 501)));
  faults::Fault down, up;
  if (outage == 0) {
    down.kind = faults::FaultKind::kIsolate, up.kind = faults::FaultKind::kHeal;
  } else if (outage == 1) {
    down.kind = faults::FaultKind::kPowerOff, up.kind = faults::FaultKind::kPowerOn;
  } else {
    down = Crash(faults::FaultKind::kCrashProcess, worker, "kubelet");
    up = Crash(faults::FaultKind::kRestartProcess, worker, "kubelet");
  }
  down.host = up.host = worker;
  schedule.push_back({from, down});
  schedule.push_back({until, up});
  schedule = Sorted(schedule);
  Disturbance disturbance(c.worker_hosts());
  const Nanos start = c.now();
  sampler.Start();
  Schedule(c, schedule, &log, [&](const faults::Fault& f) { disturbance.Apply(c.now() - start, f); });
  c.RunFor(window + Seconds(10));
  faults::HealAll(c.world());
  disturbance.HealAll(c.now() - start);
  log.push_back(fmt::format("t={}s heal-all", (c.now() - start).count() / 1000000000));
  // Each pod settles: back with its uid, or evicted and gone everywhere.
  auto settled = [&](const std::string& name, const api::Pod& b) {
    const auto it = now.find(name);
    const bool same = it != now.end() && it->second.metadata().uid() == b.metadata().uid();
    if (same) return Ready(it->second) && RunsOn(c, b.spec().node_name(), b.metadata().uid());
    return !RunsAnywhere(c, b.metadata().uid());
  };
  bool converged = false;
  for (Nanos deadline = c.now() + kConverge; !converged; c.RunFor(Seconds(1))) {
    converged = PodsByName(c, &now) &&
                std::all_of(before.begin(), before.end(), [&](const auto& b) { return settled(b.first, b.second); });
    if (c.now() >= deadline) break;
  }
  for (const std::string& line : log) RC_LOG() << line << "\n";
  if (!sampler.violation().empty()) RC_FAIL("safety: " + sampler.violation());
  if (!converged) RC_FAIL("liveness: neither back nor evicted after the heal: " + Missing(c, before, now));
  int evicted = 0;
  for (const auto& [name, b] : before) {
    const auto it = now.find(name);
    if (it != now.end() && it->second.metadata().uid() == b.metadata().uid()) continue;
    ++evicted;
    int64_t toleration = 0;
    for (const auto& t : b.spec().tolerations()) {
      if (t.key() == "node.kubernetes.io/unreachable") toleration = t.toleration_seconds();
    }
    const Nanos longest = disturbance.Longest(b.spec().node_name());
    if (longest < Seconds(toleration)) {
      RC_FAIL(fmt::format("safety: {} evicted from {}, disturbed for at most {}s (toleration {}s)", name,
                          b.spec().node_name(), longest.count() / 1000000000, toleration));
    }
  }
  RC_TAG(evicted > 0 ? "evictions" : "no evictions");
}

TEST(SimClusterProperty, EvictionsOnlyAfterTheToleration) {
  CheckCases("EvictionsOnlyAfterTheToleration", 4, PropertyEvictionsOnlyAfterTheToleration);
}

// `ctest -L long` only (the CMakeLists labels these).
TEST(SimClusterPropertyLong, FaultSchedulesKeepPodsSafeAndLive) {
  CheckCases("FaultSchedulesKeepPodsSafeAndLive (long)", 200, PropertyFaultsKeepPodsSafeAndLive);
}

TEST(SimClusterPropertyLong, EvictionsOnlyAfterTheToleration) {
  CheckCases("EvictionsOnlyAfterTheToleration (long)", 100, PropertyEvictionsOnlyAfterTheToleration);
}

TEST(SimClusterPropertyLong, AKubeletCrashLosesNoPod) {
  CheckCases("AKubeletCrashLosesNoPod (long)", 600, PropertyKubeletCrashLosesNoPod);
}

}  // namespace
}  // namespace ksim::scenarios
