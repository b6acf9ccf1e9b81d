// Property: a Job run by two controller-manager replicas through crashes, restarts and
// isolations of the replicas, restarts of an apiserver and watch compaction (every watch
// ends with 410 and the informers re-list), with random pod outcomes:
//   - status.succeeded never exceeds completions, and no more pods succeed than that;
//   - never more than parallelism active pods (nothing but the control plane fails here);
//   - an Indexed Job's index is completed by at most one pod, completedIndexes within range;
//   - one acting controller-manager at every write (CmCluster violations);
//   - liveness floor: once everything heals (and pods stop failing) the Job finishes
//     within 480 s (the pod back-off caps at 6 min), counted exactly: Complete with
//     succeeded == completions, nothing uncounted, no pod left with the finalizer.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <iostream>
#include <ostream>
#include <sstream>

#include "tests/property_cases.h"
#include "tests/cluster/controllers/job_fixture.h"

namespace ksim::controllers::testing {
namespace {

constexpr int kManagers = 2;
constexpr int kScheduleMs = 120000;
constexpr Nanos kLiveness = Seconds(480);

enum ActionKind { kCrash, kRestart, kIsolate, kHeal, kRestartApiserver, kExpireWatches, kActionKinds };

struct Action {
  int at_ms = 0;
  int kind = 0;
  int target = 0;
};

std::ostream& operator<<(std::ostream& os, const Action& a) {
  static const char* names[] = {"crash cm", "restart cm", "isolate cm", "heal", "restart apiserver", "expire watches"};
  return os << "t=" << a.at_ms << "ms " << names[a.kind] << " " << a.target;
}

struct Shape {
  bool indexed = false;
  int completions = 1;
  int parallelism = 1;
  int fail_per_mille = 0;  // pod failure odds before healing
};

std::ostream& operator<<(std::ostream& os, const Shape& s) {
  return os << (s.indexed ? "Indexed" : "NonIndexed") << " completions=" << s.completions
            << " parallelism=" << s.parallelism << " fail=" << s.fail_per_mille << "/1000";
}

uint64_t Mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}

std::string RunSchedule(const Shape& shape, std::vector<Action> schedule, uint64_t seed) {
  std::sort(schedule.begin(), schedule.end(), [](const Action& a, const Action& b) { return a.at_ms < b.at_ms; });
  CmCluster c(seed, 2);
  auto healed = std::make_shared<bool>(false);
  c.AddPodRunner([healed, shape, seed](const api::Pod& p) {
    uint64_t h = seed;
    for (char ch : p.metadata().name()) h = Mix(h * 31 + static_cast<unsigned char>(ch));
    const bool fail = !*healed && static_cast<int>(h % 1000) < shape.fail_per_mille;
    return Exits(Seconds(1 + static_cast<int64_t>(h % 20)), fail ? 1 : 0);
  });
  for (int i = 1; i <= kManagers; ++i) {
    c.AddManager(i, [](ControllerManagerOptions& o) { o.controllers = {kJobControllerName}; });
  }
  c.Run(Seconds(20));
  api::Job j = MakeJob("prop");
  j.mutable_spec()->set_completions(shape.completions);
  j.mutable_spec()->set_parallelism(shape.parallelism);
  j.mutable_spec()->set_backoff_limit(1000);
  if (shape.indexed) j.mutable_spec()->set_completion_mode("Indexed");
  if (auto r = c.Create(j); !r.ok()) return "create: " + r.Describe();

  std::string failure;
  const auto fail_with = [&failure](const std::string& why) {
    if (failure.empty()) failure = why;
  };
  api::Job job;
  const auto check = [&] {
    auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Get(JobKind(), "default", "prop", std::move(d)); });
    if (!r.ok() || !job.ParseFromString(r.body)) return;  // an apiserver may be restarting
    if (job.status().succeeded() > shape.completions) fail_with("status.succeeded " + std::to_string(job.status().succeeded()));
    const auto completed = ParseIndexes(job.status().completed_indexes());
    if (!completed.empty() && *completed.rbegin() >= shape.completions) fail_with("completedIndexes " + job.status().completed_indexes());
    int active = 0, succeeded_pods = 0;
    std::map<int32_t, int> per_index;
    for (const auto& [name, p] : c.List<api::Pod>("pods", "default")) {
      active += PodActive(p) ? 1 : 0;
      if (p.status().phase() != "Succeeded") continue;
      ++succeeded_pods;
      if (auto ix = PodCompletionIndex(p); ix && ++per_index[*ix] > 1) fail_with("index " + std::to_string(*ix) + " completed twice");
    }
    if (active > shape.parallelism) fail_with(std::to_string(active) + " active pods");
    if (succeeded_pods > shape.completions) fail_with(std::to_string(succeeded_pods) + " pods succeeded");
    if (!c.violations.empty()) fail_with(c.violations[0]);
  };

  const Nanos start = c.Now();
  for (const Action& a : schedule) {
    while (c.Now() < start + Milliseconds(a.at_ms) && failure.empty()) {
      c.Run(std::min(Seconds(2), start + Milliseconds(a.at_ms) - c.Now()));
      check();
    }
    const int m = a.target % kManagers + 1;
    switch (a.kind) {
      case kCrash: c.ManagerHost(m).CrashProcess("controller-manager"); break;
      case kRestart: c.ManagerHost(m).RestartProcess("controller-manager"); break;
      case kIsolate: c.api.store.world.network().Isolate(c.ManagerHost(m).id()); break;
      case kHeal: c.api.store.world.network().Heal(); break;
      case kRestartApiserver: c.api.store.world.FindHost("api" + std::to_string(a.target % 2 + 1))->RestartProcess("apiserver"); break;
      case kExpireWatches: c.api.ExpireWatchWindows(); break;
      default: break;
    }
  }
  // Heal: network, every replica and apiserver up, no more pod failures.
  *healed = true;
  c.api.store.world.network().Heal();
  for (int i = 1; i <= kManagers; ++i) {
    if (c.Manager(i) == nullptr) c.ManagerHost(i).RestartProcess("controller-manager");
  }
  for (int i = 1; i <= 2; ++i) {
    auto* h = c.api.store.world.FindHost("api" + std::to_string(i));
    if (h->Find<apiserver::ApiServer>("apiserver") == nullptr) h->RestartProcess("apiserver");
  }
  const Nanos deadline = c.Now() + kLiveness;
  while (failure.empty() && c.Now() < deadline && !JobFinished(job)) {
    c.Run(Seconds(2));
    check();
  }
  if (!failure.empty()) return failure;
  if (!HasCondition(job, "Complete")) return "not Complete " + std::to_string(kLiveness.count() / 1'000'000'000) + " s after healing: " + job.status().ShortDebugString();
  c.Run(Seconds(10));
  check();
  if (job.status().succeeded() != shape.completions) return "succeeded " + std::to_string(job.status().succeeded());
  if (job.status().uncounted_terminated_pods().succeeded_size() + job.status().uncounted_terminated_pods().failed_size() != 0) {
    return "uncounted pods left: " + job.status().ShortDebugString();
  }
  for (const auto& [name, p] : c.List<api::Pod>("pods", "default")) {
    if (HasJobFinalizer(p)) return name + " still has the tracking finalizer";
  }
  return failure;
}

void Property() {
  const Shape shape = *rc::gen::build<Shape>(rc::gen::set(&Shape::indexed, rc::gen::arbitrary<bool>()),
                                             rc::gen::set(&Shape::completions, rc::gen::inRange(1, 7)),
                                             rc::gen::set(&Shape::parallelism, rc::gen::inRange(1, 5)),
                                             rc::gen::set(&Shape::fail_per_mille, rc::gen::inRange(0, 500)));
  const auto schedule = *rc::gen::resize(
      100, rc::gen::container<std::vector<Action>>(
               *rc::gen::inRange(0, 10),
               rc::gen::build<Action>(rc::gen::set(&Action::at_ms, rc::gen::inRange(0, kScheduleMs)),
                                      rc::gen::set(&Action::kind, rc::gen::inRange(0, static_cast<int>(kActionKinds))),
                                      rc::gen::set(&Action::target, rc::gen::inRange(0, 4)))));
  const std::string failure = RunSchedule(shape, schedule, *rc::gen::inRange<uint64_t>(1, 1000));
  RC_TAG(shape.indexed ? "Indexed" : "NonIndexed");
  if (!failure.empty()) RC_FAIL(failure);
}

void CheckCases(const std::string& name, int cases) {
  ::ksim::testing::CheckPropertyCases(name, cases, &Property);
}

TEST(JobProperty, CountsOnceRunsAtMostParallelismAndFinishes) { CheckCases("JobProperty", 6); }

// `ctest -L long` only (the CMakeLists labels it).
TEST(JobPropertyLong, CountsOnceRunsAtMostParallelismAndFinishes) { CheckCases("JobProperty (long)", 150); }

}  // namespace
}  // namespace ksim::controllers::testing
