// Property: a rollout (RollingUpdate with random maxSurge/maxUnavailable, or Recreate)
// under random controller-manager crashes, restarts and isolations (2 replicas, so
// failovers), apiserver restarts (2 apiservers), watch compaction (every watch ends with
// 410 and informers re-list) and a slow node side (pods start, become Ready and finish
// deleting 4 or 8 s later than planned). The pods never fail, so the bounds
// must hold at every 100 ms: never more than replicas + maxSurge active pods, never fewer
// than replicas - maxUnavailable available (Recreate: never old and new pods at once); no
// controller-manager writes while another acts or while it does not act. Liveness floor:
// after healing, the rollout completes within 120 s.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <iostream>
#include <set>
#include <sstream>

#include "cluster/controllers/rollout_bounds.h"
#include "tests/property_cases.h"
#include "tests/cluster/controllers/deployment_fixture.h"

namespace ksim::controllers::testing {
namespace {

constexpr int kScheduleMs = 40000;
enum ActionKind { kCrash, kRestart, kIsolate, kHeal, kRestartApiserver, kExpireWatches, kSlowNodes, kActionKinds };

struct Action {
  int at_ms = 0;
  int kind = 0;
  int target = 0;
};

std::string Describe(const Action& a) {
  static const char* names[] = {"crash cm",        "restart cm",     "isolate cm", "heal", "restart apiserver",
                                "expire watches", "slow node side"};
  if (a.kind == kExpireWatches) return fmt::format("t={}ms {}", a.at_ms, names[a.kind]);
  if (a.kind == kSlowNodes) return fmt::format("t={}ms {} +{}s", a.at_ms, names[a.kind], (a.target % 2 + 1) * 4);
  return fmt::format("t={}ms {} {}", a.at_ms, names[a.kind], a.target % 2 + 1);
}

struct Case {
  uint64_t seed = 1;
  int replicas = 3;
  int surge = 1;
  int unavailable = 0;
  bool recreate = false;
  std::vector<Action> schedule;
};

// "" or what went wrong.
std::string RunCase(Case k) {
  std::sort(k.schedule.begin(), k.schedule.end(), [](const Action& a, const Action& b) { return a.at_ms < b.at_ms; });
  DeploymentFixture f(k.seed, /*managers=*/2, /*apiservers=*/2);
  api::Deployment d = MakeDeployment("web", k.replicas, "a");
  if (k.recreate) {
    d.mutable_spec()->mutable_strategy()->set_type("Recreate");
  } else {
    SetRolling(d, api::MakeIntOrString(k.surge), api::MakeIntOrString(k.unavailable));
  }
  if (!f.c.Create(d).ok()) return "create failed";
  if (!f.WaitRolledOut("web", Seconds(60))) {
    std::string rss;
    for (const auto& [name, rs] : f.ReplicaSets()) {
      rss += fmt::format(" {} spec {} status {}/{};", name, rs.spec().replicas(), rs.status().replicas(),
                         rs.status().available_replicas());
    }
    for (const auto& [name, p] : f.Pods()) {
      rss += fmt::format(" pod {} node {} phase {} ready {} rv {};", name, p.spec().node_name(), p.status().phase(),
                         PodReady(p), p.metadata().resource_version());
    }
    return "the first rollout did not finish: " + api::EncodeJson(f.Get("web").status()) + rss;
  }
  f.SetImage("web", "b");
  std::string failure;
  const auto check = [&] {
    if (!failure.empty()) return;
    bool ok = true;
    PodCounts n = f.Count("web", &ok);
    if (!ok) return;  // the read failed (an apiserver restarting): nothing to judge
    if (k.recreate) {
      if (n.running_by_image["a"] > 0 && n.running_by_image["b"] > 0) failure = "old and new pods at once";
    } else {
      failure = RolloutBoundsViolation(n.active, n.available, k.replicas, k.surge, k.unavailable);
    }
    if (failure.empty() && !f.c.violations.empty()) failure = f.c.violations[0];
    if (!failure.empty()) failure = fmt::format("at {} ms: {}", (f.c.Now()).count() / 1000000, failure);
  };
  const Nanos start = f.c.Now();
  std::set<int> crashed;
  for (const Action& a : k.schedule) {
    f.RunUntil([&] { return f.c.Now() >= start + Milliseconds(a.at_ms) || !failure.empty(); }, Seconds(60), check);
    const int m = a.target % 2 + 1;
    switch (a.kind) {
      case kCrash:
        f.c.ManagerHost(m).CrashProcess("controller-manager");
        crashed.insert(m);
        break;
      case kRestart:
        f.c.ManagerHost(m).RestartProcess("controller-manager");
        crashed.erase(m);
        break;
      case kIsolate: f.c.api.store.world.network().Isolate(f.c.ManagerHost(m).id()); break;
      case kHeal:
        f.c.api.store.world.network().Heal();
        f.c.Runner()->SetExtraDelay(Nanos(0));
        break;
      case kRestartApiserver: {
        sim::Host* api = f.c.api.store.world.FindHost("api" + std::to_string(m));
        api->CrashProcess("apiserver");
        api->RestartProcess("apiserver");
        break;
      }
      case kExpireWatches: f.c.api.ExpireWatchWindows(); break;
      case kSlowNodes: f.c.Runner()->SetExtraDelay(Seconds((a.target % 2 + 1) * 4)); break;
      default: break;
    }
  }
  f.c.api.store.world.network().Heal();
  f.c.Runner()->SetExtraDelay(Nanos(0));
  for (int m : crashed) f.c.ManagerHost(m).RestartProcess("controller-manager");
  const bool done = f.RunUntil(
      [&] {
        if (!failure.empty()) return true;
        const api::Deployment cur = f.Get("web");
        return cur.metadata().generation() == 2 && DeploymentFixture::RolledOut(cur) &&
               f.Count("web").running_by_image["a"] == 0;
      },
      Seconds(120), check);
  if (failure.empty() && !done) failure = "the rollout did not finish within 120 s of healing";
  return failure;
}

Case GenCase() {
  Case k;
  k.seed = *rc::gen::inRange<uint64_t>(1, 100000);
  k.replicas = *rc::gen::inRange(2, 9);
  k.surge = *rc::gen::inRange(0, 4);
  k.unavailable = *rc::gen::inRange(0, 3);
  if (k.surge == 0 && k.unavailable == 0) k.surge = 1;
  k.unavailable = std::min(k.unavailable, k.replicas);
  k.recreate = *rc::gen::element(false, false, false, true);
  k.schedule = *rc::gen::container<std::vector<Action>>(
      *rc::gen::inRange(0, 10),
      rc::gen::build<Action>(rc::gen::set(&Action::at_ms, rc::gen::inRange(0, kScheduleMs)),
                             rc::gen::set(&Action::kind, rc::gen::inRange(0, static_cast<int>(kActionKinds))),
                             rc::gen::set(&Action::target, rc::gen::inRange(0, 2))));
  return k;
}

void Property() {
  const Case k = GenCase();
  RC_LOG() << fmt::format("seed {} replicas {} surge {} unavailable {} {}\n", k.seed, k.replicas, k.surge,
                          k.unavailable, k.recreate ? "Recreate" : "RollingUpdate");
  for (const Action& a : k.schedule) RC_LOG() << Describe(a) << "\n";
  const std::string failure = RunCase(k);
  RC_TAG(k.recreate ? "Recreate" : "RollingUpdate");
  if (!failure.empty()) RC_FAIL(failure);
}

template <typename F>
void CheckCases(const std::string& name, int cases, F property) {
  ::ksim::testing::CheckPropertyCases(name, cases, property);
}

TEST(DeploymentProperty, RolloutBoundsHoldAndItConvergesAcrossFailovers) {
  CheckCases("RolloutBoundsHoldAndItConvergesAcrossFailovers", 4, Property);
}

// `ctest -L long` only (the CMakeLists labels it).
TEST(DeploymentPropertyLong, RolloutBoundsHoldAndItConvergesAcrossFailovers) {
  CheckCases("RolloutBoundsHoldAndItConvergesAcrossFailovers (long)", 100, Property);
}

}  // namespace
}  // namespace ksim::controllers::testing
