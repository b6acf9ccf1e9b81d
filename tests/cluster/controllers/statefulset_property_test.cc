// Property: whatever happens (controller-manager replicas crashed, restarted, isolated;
// apiservers restarted or their watches expired (informers re-list); the node side frozen,
// partitioned or slowed; pods deleted; the set scaled or its template changed), no identity of the StatefulSet ever has two live pods (a pod
// is live until it is gone from the API), and only one controller-manager acts.
// Liveness floor: once everything heals, the set converges (every replica Running and
// Ready at the update revision) within 120 s.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <iostream>
#include <ostream>
#include <sstream>

#include "tests/property_cases.h"
#include "tests/cluster/controllers/sts_fixture.h"

namespace ksim::controllers::testing {
namespace {

constexpr int kManagers = 2;
constexpr int kScheduleMs = 120000;
constexpr Nanos kConverge = Seconds(120);

enum ActionKind {
  kCrashManager, kRestartManager, kIsolateManager, kHeal, kRestartApiserver, kFreezeRunner, kThawRunner,
  kIsolateRunner, kDeletePod, kScale, kNewImage, kExpireWatches, kSlowRunner, kActionKinds
};

struct Action {
  int at_ms = 0;
  int kind = 0;
  int target = 0;
};

std::ostream& operator<<(std::ostream& os, const Action& a) {
  static const char* names[] = {"crash cm", "restart cm", "isolate cm", "heal", "restart apiserver", "freeze runner",
                                "thaw runner", "isolate runner", "delete pod", "scale", "new image",
                                "expire watches", "slow runner"};
  return os << "t=" << a.at_ms << "ms " << names[a.kind] << " " << a.target;
}

// Pods per identity (set + ordinal) in one consistent list; more than one is a violation.
std::string CheckIdentities(const std::map<std::string, api::Pod>& pods) {
  std::map<std::string, std::string> by_identity;
  for (const auto& [name, p] : pods) {
    auto idx = p.metadata().labels().find(kStsPodIndexLabel);
    const std::string identity = idx == p.metadata().labels().end() ? name : "web/" + idx->second;
    auto [it, inserted] = by_identity.emplace(identity, name + " (" + p.metadata().uid() + ")");
    if (!inserted) return "identity " + identity + " has two live pods: " + it->second + " and " + name;
  }
  return "";
}

std::string RunSchedule(std::vector<Action> schedule, uint64_t seed, bool parallel) {
  std::sort(schedule.begin(), schedule.end(), [](const Action& a, const Action& b) { return a.at_ms < b.at_ms; });
  StsFixture f(seed, 2);
  CmCluster& c = f.c;
  c.AddPodRunner([](const api::Pod&) {
    PodPlan p = PodPlan::On("n1");
    p.ready_after = Seconds(1);
    p.stop_after = Seconds(2);
    return p;
  });
  f.StartManagers(kManagers);
  api::StatefulSet set = MakeSts("web", 3);
  if (parallel) set.mutable_spec()->set_pod_management_policy("Parallel");
  if (!c.Create(set).ok()) return "create failed";
  int replicas = 3;
  int image = 1;
  const Nanos start = c.Now();
  std::string failure;
  auto check = [&] {
    if (!failure.empty()) return;
    auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->List(Kind("", "pods"), "default", {}, std::move(d)); });
    apiserver::ObjectList l;
    if (r.ok() && l.ParseFromString(r.body)) {
      std::map<std::string, api::Pod> pods;
      for (const auto& item : l.items()) {
        api::Pod p;
        if (p.ParseFromString(item)) pods[p.metadata().name()] = p;
      }
      failure = CheckIdentities(pods);
    }
    if (failure.empty() && !c.violations.empty()) failure = c.violations[0];
  };
  sim::World& world = c.api.store.world;
  for (const Action& a : schedule) {
    while (failure.empty() && c.Now() < start + Milliseconds(a.at_ms)) {
      c.Run(std::min(Seconds(1), start + Milliseconds(a.at_ms) - c.Now()));
      check();
    }
    if (!failure.empty()) break;
    const int m = a.target % kManagers + 1;
    switch (a.kind) {
      case kCrashManager: c.ManagerHost(m).CrashProcess("controller-manager"); break;
      case kRestartManager: c.ManagerHost(m).RestartProcess("controller-manager"); break;
      case kIsolateManager: world.network().Isolate(c.ManagerHost(m).id()); break;
      case kHeal:
        world.network().Heal();
        if (c.Runner() != nullptr) c.Runner()->SetExtraDelay(Nanos(0));
        break;
      case kExpireWatches: c.api.ExpireWatchWindows(); break;
      case kSlowRunner:
        if (c.Runner() != nullptr) c.Runner()->SetExtraDelay(Seconds(a.target % 5 + 2));
        break;
      case kRestartApiserver: world.FindHost("api" + std::to_string(a.target % 2 + 1))->RestartProcess("apiserver"); break;
      case kFreezeRunner: c.RunnerHost().CrashProcess("pod-runner"); break;
      case kThawRunner: c.RunnerHost().RestartProcess("pod-runner"); break;
      case kIsolateRunner: world.network().Isolate(c.RunnerHost().id()); break;
      case kDeletePod:
        c.kubectl->Delete(Kind("", "pods"), "default", "web-" + std::to_string(a.target % 5),
                          [](const client::ApiResult&) {});
        break;
      case kScale:
        replicas = a.target % 5;
        if (!f.UpdateSts("web", [replicas](api::StatefulSet& s) { s.mutable_spec()->set_replicas(replicas); })) {
          failure = "scale failed";
        }
        break;
      case kNewImage:
        ++image;
        if (!f.UpdateSts("web", [image](api::StatefulSet& s) {
              s.mutable_spec()->mutable_template_()->mutable_spec()->mutable_containers(0)->set_image(
                  "db:" + std::to_string(image));
            })) {
          failure = "template update failed";
        }
        break;
      default: break;
    }
  }
  if (!failure.empty()) return failure;
  // Heal everything; the set must converge.
  world.network().Heal();
  // The fake node side does not retry a status post that failed (a kubelet does): a fresh
  // incarnation re-reads every pod.
  c.RunnerHost().CrashProcess("pod-runner");
  c.RunnerHost().RestartProcess("pod-runner");
  for (int i = 1; i <= kManagers; ++i) {
    if (c.Manager(i) == nullptr) c.ManagerHost(i).RestartProcess("controller-manager");
  }
  const Nanos deadline = c.Now() + kConverge;
  bool converged = false;
  std::string state;
  while (!converged && c.Now() < deadline && failure.empty()) {
    c.Run(Seconds(1));
    check();
    api::StatefulSet cur;
    if (!f.GetSts("web", &cur)) continue;
    const auto pods = f.Pods();
    const std::string& rev = cur.status().update_revision();
    converged = static_cast<int>(pods.size()) == replicas && cur.status().ready_replicas() == replicas &&
                cur.status().observed_generation() == cur.metadata().generation() && !rev.empty();
    for (int i = 0; converged && i < replicas; ++i) {
      auto it = pods.find("web-" + std::to_string(i));
      converged = it != pods.end() && sts::Healthy(it->second) && sts::RevisionOf(it->second) == rev &&
                  it->second.spec().containers(0).image() == "db:" + std::to_string(image);
    }
    std::ostringstream os;
    os << pods.size() << " pods, status ready " << cur.status().ready_replicas() << " updated "
       << cur.status().updated_replicas() << " of " << replicas;
    for (const auto& [n, p] : pods) {
      os << " [" << n << " " << p.status().phase() << (sts::Healthy(p) ? " ready" : "")
         << (p.metadata().has_deletion_timestamp() ? " terminating" : "") << " " << sts::RevisionOf(p) << "]";
    }
    state = os.str();
  }
  if (failure.empty() && !converged) failure = "not converged 120 s after healing: " + state;
  return failure;
}

void Property() {
  constexpr int kFullSize = 100;  // rapidcheck scales ranges with size: use the whole range at once
  const auto schedule = *rc::gen::resize(
      kFullSize, rc::gen::container<std::vector<Action>>(
                     *rc::gen::resize(kFullSize, rc::gen::inRange(0, 16)),
                     rc::gen::build<Action>(rc::gen::set(&Action::at_ms, rc::gen::inRange(0, kScheduleMs)),
                                            rc::gen::set(&Action::kind, rc::gen::inRange(0, static_cast<int>(kActionKinds))),
                                            rc::gen::set(&Action::target, rc::gen::inRange(0, 10)))));
  const bool parallel = *rc::gen::arbitrary<bool>();
  const std::string failure = RunSchedule(schedule, *rc::gen::inRange<uint64_t>(1, 1000), parallel);
  if (!failure.empty()) RC_FAIL(failure);
}

void CheckCases(const std::string& name, int cases) {
  ::ksim::testing::CheckPropertyCases(name, cases, &Property);
}

TEST(StatefulSetProperty, OneLivePodPerIdentityAndConvergence) { CheckCases("StatefulSetProperty", 4); }

// `ctest -L long` only (the CMakeLists labels it).
TEST(StatefulSetPropertyLong, OneLivePodPerIdentityAndConvergence) { CheckCases("StatefulSetProperty (long)", 100); }

}  // namespace
}  // namespace ksim::controllers::testing
