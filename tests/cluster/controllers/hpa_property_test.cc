// Property: under random load curves and controller-manager failovers (the leader crashed,
// restarted, isolated), the HPA (with or without a behavior) only ever writes replicas
// within [min, max], and never scales down within the 300 s stabilization window after it
// scaled up (safety). Liveness floor: once everything heals under a constant load, the
// replicas settle at the fixed point of Kubernetes' rule (ceil(ratio x current), or current
// within the tolerance) within 600 s and stay there.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <ostream>
#include <sstream>

#include "tests/cluster/controllers/hpa_test.h"
#include "tests/property_cases.h"

namespace ksim::controllers::testing {
namespace {

constexpr int kManagers = 2;
constexpr int32_t kMin = 1, kMax = 8;
constexpr int64_t kRequest = 200;  // millicores, target 50%

enum StepKind { kNothing, kCrashLeader, kRestartAll, kIsolateLeader, kHeal, kStepKinds };
struct Step {
  int seconds = 0;
  int64_t load = 0;
  int kind = 0;
};
std::ostream& operator<<(std::ostream& os, const Step& s) {
  static const char* names[] = {"-", "crash leader", "restart all", "isolate leader", "heal"};
  return os << s.seconds << "s load=" << s.load << " " << names[s.kind];
}

struct ScaleWrite {  // also a recommendation
  Nanos at{0};
  int32_t replicas = 0;
};

// The replica count Kubernetes' rule leads to from `n` evenly loaded, ready pods.
int32_t Next(int32_t n, int64_t load) {
  const int64_t share = std::max<int64_t>(load / n, 1);
  const int64_t utilization = share * n * 100 / (kRequest * n);
  const double ratio = static_cast<double>(utilization) / 50.0;
  const int32_t p = std::abs(1.0 - ratio) <= 0.1 ? n : static_cast<int32_t>(std::ceil(ratio * n));
  return std::clamp(p, kMin, kMax);
}

std::string RunSteps(const std::vector<Step>& steps, bool behavior, int64_t final_load, uint64_t seed) {
  // Declared first: they outlive the cluster's processes.
  std::vector<ScaleWrite> writes, recommendations;
  HpaFixture f(seed);
  CmCluster& c = f.c;
  c.AddPodRunner([](const api::Pod&) { return PodPlan::On("n1"); });
  for (int i = 1; i <= kManagers; ++i) {
    auto shared = f.load_;
    c.AddManager(i, [shared, &writes, &recommendations, &c](ControllerManagerOptions& o) {
      o.controllers = {kReplicaSetControllerName, kHpaControllerName};
      o.hpa_metrics_source = [shared](ControllerContext& ctx) {
        return std::make_unique<FakeMetricsSource>(ctx, shared);
      };
      o.hpa_on_recommendation = [&recommendations, &c](const std::string&, int32_t r) {
        recommendations.push_back({c.Now(), r});
      };
      auto check = o.on_write;
      o.on_write = [check, &writes, &c](const std::string& id, bool acting, const apiserver::Request& r) {
        check(id, acting, r);
        api::Scale s;
        if (r.subresource() == "scale" && s.ParseFromString(r.body())) writes.push_back({c.Now(), s.spec().replicas()});
      };
    });
  }
  c.Run(Seconds(20));
  f.CreateTarget(PhpApache(2));
  api::HorizontalPodAutoscaler h = MakeHpa(kMin, kMax, 50);
  if (behavior) h.mutable_spec()->mutable_behavior()->mutable_scale_up();
  if (!c.Create(h).ok()) return "create HPA failed";

  std::set<int> crashed;
  for (const Step& s : steps) {
    f.load.total_millis = s.load;
    const int leader = c.Leader();
    switch (s.kind) {
      case kCrashLeader:
        if (leader != 0) {
          c.ManagerHost(leader).CrashProcess("controller-manager");
          crashed.insert(leader);
        }
        break;
      case kRestartAll:
        for (int i : crashed) c.ManagerHost(i).RestartProcess("controller-manager");
        crashed.clear();
        break;
      case kIsolateLeader:
        if (leader != 0) c.api.store.world.network().Isolate(c.ManagerHost(leader).id());
        break;
      case kHeal: c.api.store.world.network().Heal(); break;
      default: break;
    }
    c.Run(Seconds(s.seconds));
  }
  c.api.store.world.network().Heal();
  for (int i : crashed) c.ManagerHost(i).RestartProcess("controller-manager");
  f.load.total_millis = final_load;
  c.Run(Seconds(600));
  const int32_t settled = f.Replicas();
  const size_t writes_before = writes.size();
  c.Run(Seconds(60));

  std::ostringstream fail;
  if (!c.violations.empty()) fail << c.violations[0] << "; ";
  // A scale-down never goes below a recommendation of the last 300 s (or max).
  int32_t last = 2;
  for (const auto& w : writes) {
    if (w.replicas < kMin || w.replicas > kMax) fail << "wrote " << w.replicas << " outside [1, 8]; ";
    if (w.replicas < last) {
      for (const auto& r : recommendations) {
        if (r.at <= w.at && w.at - r.at < Seconds(300) && w.replicas < std::min(r.replicas, kMax)) {
          fail << "scaled down to " << w.replicas << " " << (w.at - r.at) / Milliseconds(1)
               << " ms after a recommendation of " << r.replicas << "; ";
          break;
        }
      }
    }
    last = w.replicas;
  }
  if (Next(settled, final_load) != settled) {
    fail << "not settled at " << settled << " under " << final_load << "m (next " << Next(settled, final_load) << "); ";
  }
  if (writes.size() != writes_before || f.Replicas() != settled) fail << "still scaling after 600 s; ";
  return fail.str();
}

void Check(const std::string& name, int cases) {
  ::ksim::testing::CheckPropertyCases(name, cases, [] {
    const auto steps = *rc::gen::container<std::vector<Step>>(
        *rc::gen::inRange(0, 10),
        rc::gen::build<Step>(rc::gen::set(&Step::seconds, rc::gen::inRange(5, 90)),
                             rc::gen::set(&Step::load, rc::gen::inRange<int64_t>(0, 2500)),
                             rc::gen::set(&Step::kind, rc::gen::inRange(0, static_cast<int>(kStepKinds)))));
    const bool behavior = *rc::gen::arbitrary<bool>();
    const int64_t final_load = *rc::gen::inRange<int64_t>(0, 2500);
    const std::string failure = RunSteps(steps, behavior, final_load, *rc::gen::inRange<uint64_t>(1, 1000));
    if (!failure.empty()) RC_FAIL(failure);
  });
}

// The case the window is for across a failover: load, then none as the leader dies.
TEST(HpaProperty, AFailoverKeepsTheWindow) {
  for (bool behavior : {false, true}) {
    EXPECT_EQ(RunSteps({{60, 2000, kNothing}, {60, 0, kCrashLeader}, {30, 0, kRestartAll}}, behavior, 0, 1), "")
        << "behavior " << behavior;
  }
}

TEST(HpaProperty, BoundsStabilizationAndSettling) { Check("HpaProperty", 5); }
TEST(HpaPropertyLong, BoundsStabilizationAndSettling) { Check("HpaPropertyLong", 100); }

}  // namespace
}  // namespace ksim::controllers::testing
