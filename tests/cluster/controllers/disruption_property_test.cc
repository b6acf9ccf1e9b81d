// Property: random concurrent evictions through three apiservers, with controller-manager
// crashes and failovers and apiserver restarts, never take the Ready pods of a ReplicaSet
// below its budget's minAvailable (safety), and once every fault has healed each eviction
// that is retried every 5 s succeeds once replacements are Ready (liveness floor). One
// controller-manager acts at a time (CmCluster's write checks).
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <optional>
#include <ostream>
#include <sstream>

#include "cluster/controllers/disruption.h"
#include "tests/property_cases.h"
#include "tests/cluster/controllers/pdb_helpers.h"

namespace ksim::controllers::testing {
namespace {

constexpr int kReplicas = 5;
constexpr int kMinAvailable = 3;
constexpr int kApiservers = 3;
constexpr int kManagers = 2;
constexpr int kScheduleMs = 60000;

enum ActionKind { kEvict, kEvict2, kEvict3, kEvict4, kCrashManager, kRestartManager, kCrashApi, kRestartApi, kActionKinds };

struct Action {
  int at_ms = 0;
  int kind = 0;
  int target = 0;
};

std::ostream& operator<<(std::ostream& os, const Action& a) {
  static const char* names[] = {"evict", "evict", "evict", "evict", "crash cm", "restart cm", "crash apiserver", "restart apiserver"};
  return os << "t=" << a.at_ms << "ms " << names[a.kind] << " " << a.target;
}

std::string RunSchedule(std::vector<Action> schedule, uint64_t seed) {
  std::sort(schedule.begin(), schedule.end(), [](const Action& a, const Action& b) { return a.at_ms < b.at_ms; });
  CmCluster c(seed, kApiservers);
  std::vector<client::ApiClient*> via;
  for (int i = 1; i <= kApiservers; ++i) via.push_back(c.api.AddClient("evictor" + std::to_string(i), i));
  c.AddPodRunner(ReadyPlan);
  for (int i = 1; i <= kManagers; ++i) {
    c.AddManager(i, [](ControllerManagerOptions& o) {
      o.controllers = {kReplicaSetControllerName, kDisruptionControllerName};
    });
  }
  c.Run(Seconds(20));
  if (!c.Create(WebRs("web", kReplicas)).ok()) return "cannot create the ReplicaSet";
  if (!c.Create(WebPdb("web", std::to_string(kMinAvailable))).ok()) return "cannot create the budget";
  std::vector<std::string> ready;
  for (int t = 0; t < 60 && ready.size() != kReplicas; ++t) {
    c.Run(Seconds(1));
    ready = ReadyPods(c);
  }
  if (ready.size() != kReplicas) {
    std::string pods;
    for (const auto& [name, p] : c.List<api::Pod>("pods", "default")) {
      pods += " " + name + "/" + p.status().phase() + "/" + p.spec().node_name() + (PodReady(p) ? "/ready" : "");
    }
    return "not every pod Ready 60 s after the ReplicaSet was created: leader " + std::to_string(c.Leader()) + pods;
  }
  c.Run(Seconds(2));  // the budget's status catches up

  std::string failure;
  int evictions = 0;
  auto evicted = std::make_shared<int>(0);
  auto sample = [&] {
    // A linearizable list; when no apiserver answers, there is nothing to judge.
    // (Not ApiCluster::Await: an answer after its deadline would write into a dead frame.)
    auto answer = std::make_shared<std::optional<client::ApiResult>>();
    c.kubectl->List(Kind("", "pods"), "default", {}, [answer](const client::ApiResult& res) { *answer = res; });
    c.api.store.world.RunUntilCondition([&] { return answer->has_value(); }, c.Now() + Seconds(5));
    if (!answer->has_value() || !(*answer)->ok()) return;
    const client::ApiResult& r = **answer;
    apiserver::ObjectList l;
    l.ParseFromString(r.body);
    ready.clear();
    for (const auto& item : l.items()) {
      api::Pod p;
      p.ParseFromString(item);
      if (!p.metadata().has_deletion_timestamp() && PodReady(p)) ready.push_back(p.metadata().name());
    }
    if (static_cast<int>(ready.size()) < kMinAvailable && failure.empty()) {
      failure = "only " + std::to_string(ready.size()) + " Ready pods at " +
                std::to_string((c.Now().count() / 1'000'000)) + " ms";
    }
    if (!c.violations.empty() && failure.empty()) failure = c.violations[0];
  };
  const Nanos start = c.Now();
  for (const Action& a : schedule) {
    while (c.Now() < start + Milliseconds(a.at_ms) && failure.empty()) {
      c.Run(std::min(Milliseconds(250), start + Milliseconds(a.at_ms) - c.Now()));
      sample();
    }
    if (!failure.empty()) break;
    const int m = a.target % kManagers + 1;
    const std::string api_host = "api" + std::to_string(a.target % kApiservers + 1);
    switch (a.kind) {
      case kEvict:
      case kEvict2:
      case kEvict3:
      case kEvict4:
        if (!ready.empty()) {
          ++evictions;
          client::EvictPod(*via[static_cast<size_t>(a.target) % via.size()], "default",
                           ready[static_cast<size_t>(a.target) % ready.size()], {},
                           [evicted](const client::ApiResult& r) { *evicted += r.ok() ? 1 : 0; });
        }
        break;
      case kCrashManager: c.ManagerHost(m).CrashProcess("controller-manager"); break;
      case kRestartManager: c.ManagerHost(m).RestartProcess("controller-manager"); break;
      case kCrashApi: c.api.store.world.FindHost(api_host)->CrashProcess("apiserver"); break;
      case kRestartApi: c.api.store.world.FindHost(api_host)->RestartProcess("apiserver"); break;
      default: break;
    }
  }
  if (!failure.empty()) return failure;
  // Heal: every apiserver and controller-manager runs again.
  for (int i = 1; i <= kApiservers; ++i) c.api.store.world.FindHost("api" + std::to_string(i))->RestartProcess("apiserver");
  for (int i = 1; i <= kManagers; ++i) c.ManagerHost(i).RestartProcess("controller-manager");
  for (int t = 0; t < 120 && failure.empty(); ++t) {
    c.Run(Milliseconds(250));
    sample();
  }
  // Liveness floor: evict three pods one after another, each retried every 5 s; each must
  // go within 150 s (an eviction whose delete was lost to a crash holds the budget 2 min).
  for (int k = 0; k < 3 && failure.empty(); ++k) {
    sample();
    if (ready.empty()) return "no Ready pod after healing";
    const std::string pod = ready[static_cast<size_t>(k) % ready.size()];
    const Nanos deadline = c.Now() + Seconds(150);
    bool done = false;
    while (!done && c.Now() < deadline && failure.empty()) {
      const client::ApiResult r = EvictVia(c, via[static_cast<size_t>(k) % via.size()], pod);
      done = r.ok() || r.code == 404;
      if (!done && r.code != 429 && r.status.ok()) failure = "eviction of " + pod + ": " + r.Describe();
      for (int t = 0; !done && t < 20 && failure.empty(); ++t) {
        c.Run(Milliseconds(250));
        sample();
      }
    }
    if (!done && failure.empty()) failure = "eviction of " + pod + " still refused 150 s after healing";
    for (int t = 0; t < 8 && failure.empty(); ++t) {  // let the next sample see it go
      c.Run(Milliseconds(250));
      sample();
    }
  }
  RC_TAG(*evicted >= 2 ? "2+ evictions during faults" : *evicted == 1 ? "1 eviction during faults" : "none during faults");
  return failure;
}

// Runs the property for `cases` cases and fails the gtest with RapidCheck's report.
template <typename F>
void CheckCases(const std::string& name, int cases, F property) {
  ::ksim::testing::CheckPropertyCases(name, cases, property);
}

void Property() {
  const auto schedule = *rc::gen::container<std::vector<Action>>(
      *rc::gen::inRange(0, 40),
      rc::gen::build<Action>(rc::gen::set(&Action::at_ms, rc::gen::inRange(0, kScheduleMs)),
                             rc::gen::set(&Action::kind, rc::gen::inRange(0, static_cast<int>(kActionKinds))),
                             rc::gen::set(&Action::target, rc::gen::inRange(0, 60))));
  const std::string failure = RunSchedule(schedule, *rc::gen::inRange<uint64_t>(1, 1000));
  if (!failure.empty()) RC_FAIL(failure);
}

TEST(DisruptionProperty, EvictionsNeverBreakTheBudgetAndSucceedAfterHealing) {
  CheckCases("DisruptionProperty", 10, Property);
}

TEST(DisruptionPropertyLong, EvictionsNeverBreakTheBudgetAndSucceedAfterHealing) {
  CheckCases("DisruptionPropertyLong", 100, Property);
}

}  // namespace
}  // namespace ksim::controllers::testing
