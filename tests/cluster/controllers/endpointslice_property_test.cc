// Property: EndpointSlices and Endpoints under random pod readiness flips, graceful and
// final deletions, new pods, controller-manager crashes/restarts (2 replicas, so
// failovers) and apiserver restarts (2 apiservers), with the slice informer lagging (so
// the controller's own writes reach its cache late). Max 5 endpoints per slice.
// Safety, at every 100 ms sample: no slice holds more than 5 endpoints, no pod is listed
// twice across the Service's slices, and no replica writes while not acting. Liveness
// floor: within 60 s of the heal, the slices and the Endpoints equal exactly what
// Kubernetes' rules give for the pods (eps_fixture.h's independent computation).
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include "tests/cluster/controllers/eps_fixture.h"
#include "tests/property_cases.h"

namespace ksim::controllers::testing {
namespace {

constexpr size_t kMax = 5;
enum ActionKind { kFlip, kStartDelete, kFinishDelete, kNewPod, kCrashCm, kRestartCm, kRestartApiserver, kActionKinds };

struct Action {
  int at_ms = 0;
  int kind = 0;
  int target = 0;
};

struct Case {
  uint64_t seed = 1;
  int pods = 8;
  bool publish = false;
  std::vector<Action> schedule;
};

std::string RunCase(Case k) {
  std::sort(k.schedule.begin(), k.schedule.end(), [](const Action& a, const Action& b) { return a.at_ms < b.at_ms; });
  EpsFixture f(k.seed, /*managers=*/2, /*apiservers=*/2, static_cast<int>(kMax), /*slice_informer_lag=*/Seconds(2));
  api::Service svc = EpsFixture::MakeService("web");
  svc.mutable_spec()->set_publish_not_ready_addresses(k.publish);
  if (!f.c.Create(svc).ok()) return "service create failed";
  int next = 0;
  for (; next < k.pods; ++next) {
    if (!f.AddPod(f.MakePod(fmt::format("web-{}", next), "web", next % 2 ? "n1" : "n2"), next % 3 != 0)) return "pod create failed";
  }
  std::string failure;
  const auto check = [&] {
    if (!failure.empty()) return;
    bool ok = false;
    const auto slices = f.Slices("web", &ok);
    if (!ok) return;  // an apiserver restarting: nothing to judge
    EpsFixture::Actual(slices, kMax, &failure);
    if (failure.empty() && !f.c.violations.empty()) failure = f.c.violations[0];
    if (!failure.empty()) failure = fmt::format("at {} ms: {}", f.c.Now().count() / 1000000, failure);
  };
  const Nanos start = f.c.Now();
  std::set<int> crashed;
  for (const Action& a : k.schedule) {
    f.RunUntil([&] { return f.c.Now() >= start + Milliseconds(a.at_ms) || !failure.empty(); }, Seconds(60), check);
    const std::string pod = fmt::format("web-{}", a.target % std::max(1, next));
    const int m = a.target % 2 + 1;
    switch (a.kind) {
      case kFlip: {
        const auto pods = f.Pods();
        auto it = pods.find(pod);
        if (it != pods.end()) {
          bool ready = false;
          for (const auto& c : it->second.status().conditions()) ready = ready || (c.type() == "Ready" && c.status() == "True");
          (void)f.SetReady(pod, !ready);
        }
        break;
      }
      case kStartDelete: (void)f.StartDelete(pod); break;
      case kFinishDelete: (void)f.FinishDelete(pod); break;
      case kNewPod:
        (void)f.AddPod(f.MakePod(fmt::format("web-{}", next), "web", next % 2 ? "n1" : "n2"), a.target % 2 == 0);
        ++next;
        break;
      case kCrashCm:
        f.c.ManagerHost(m).CrashProcess("controller-manager");
        crashed.insert(m);
        break;
      case kRestartCm:
        f.c.ManagerHost(m).RestartProcess("controller-manager");
        crashed.erase(m);
        break;
      case kRestartApiserver: {
        sim::Host* api = f.c.api.store.world.FindHost("api" + std::to_string(m));
        api->CrashProcess("apiserver");
        api->RestartProcess("apiserver");
        break;
      }
      default: break;
    }
  }
  for (int m : crashed) f.c.ManagerHost(m).RestartProcess("controller-manager");
  std::string why;
  const bool done = f.RunUntil([&] { return !failure.empty() || f.Converged(svc, kMax, &why); }, Seconds(60), check);
  if (failure.empty() && !done) {
    failure = "not converged within 60 s of the heal: " + why;
    for (const auto& e : f.c.Events()) failure += " [event " + e.reason() + ": " + e.message() + "]";
    failure += fmt::format(" [{} slices, leader {}]", f.Slices("web").size(), f.c.Leader());
  }
  return failure;
}

Case GenCase() {
  Case k;
  k.seed = *rc::gen::inRange<uint64_t>(1, 100000);
  k.pods = *rc::gen::inRange(0, 16);
  k.publish = *rc::gen::element(false, false, true);
  k.schedule = *rc::gen::container<std::vector<Action>>(
      *rc::gen::inRange(0, 30),
      rc::gen::build<Action>(rc::gen::set(&Action::at_ms, rc::gen::inRange(0, 30000)),
                             rc::gen::set(&Action::kind, rc::gen::inRange(0, static_cast<int>(kActionKinds))),
                             rc::gen::set(&Action::target, rc::gen::inRange(0, 40))));
  return k;
}

void Property() {
  const Case k = GenCase();
  const std::string failure = RunCase(k);
  if (!failure.empty()) {
    std::string schedule;
    for (const Action& a : k.schedule) schedule += fmt::format(" t={}ms kind={} target={};", a.at_ms, a.kind, a.target);
    RC_LOG() << "seed=" << k.seed << " pods=" << k.pods << " publish=" << k.publish << schedule << "\n";
  }
  RC_ASSERT(failure == "");
}

TEST(EndpointSliceProperty, SlicesStayBoundedAndDistinctAndConvergeAfterChaos) {
  ::ksim::testing::CheckPropertyCases("EndpointSliceProperty", 8, Property);
}
TEST(EndpointSlicePropertyLong, SlicesStayBoundedAndDistinctAndConvergeAfterChaos) {
  ::ksim::testing::CheckPropertyCases("EndpointSlicePropertyLong", 100, Property);
}

}  // namespace
}  // namespace ksim::controllers::testing
