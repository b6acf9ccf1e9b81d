// Property: whatever failovers happen (controller-manager replicas crashed, restarted,
// isolated from the apiservers, nodes deleted and added), no two nodes ever hold the same
// pod CIDR, and no replica writes while another acts or while it does not act itself.
// Liveness floor: once everything heals, every node has a CIDR within 60 s.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <ostream>

#include "tests/cluster/controllers/cm_cluster.h"

namespace ksim::controllers::testing {
namespace {

constexpr int kManagers = 3;
constexpr int kScheduleMs = 90000;

enum ActionKind { kCrash, kRestart, kIsolate, kHeal, kAddNode, kDeleteNode, kActionKinds };

struct Action {
  int at_ms = 0;
  int kind = 0;
  int target = 0;
};

std::ostream& operator<<(std::ostream& os, const Action& a) {
  static const char* names[] = {"crash", "restart", "isolate", "heal", "add node", "delete node"};
  return os << "t=" << a.at_ms << "ms " << names[a.kind] << " " << a.target;
}

std::string RunSchedule(std::vector<Action> schedule, uint64_t seed) {
  std::sort(schedule.begin(), schedule.end(), [](const Action& a, const Action& b) { return a.at_ms < b.at_ms; });
  CmCluster c(seed);
  for (int i = 1; i <= kManagers; ++i) c.AddManager(i);
  int next_node = 0;
  std::set<int> live;
  for (; next_node < 4; ++next_node) {
    c.AddKubelet("n" + std::to_string(next_node));
    live.insert(next_node);
  }
  const Nanos start = c.Now();
  std::string failure;
  auto check = [&] {
    std::map<std::string, std::string> by_cidr;
    for (const auto& [name, n] : c.Nodes()) {
      const std::string& cidr = n.spec().pod_cidr();
      if (cidr.empty()) continue;
      auto [it, inserted] = by_cidr.emplace(cidr, name);
      if (!inserted && failure.empty()) failure = "nodes " + it->second + " and " + name + " share " + cidr;
    }
    if (!c.violations.empty() && failure.empty()) failure = c.violations[0];
  };
  for (const Action& a : schedule) {
    while (c.Now() < start + Milliseconds(a.at_ms)) {
      c.Run(std::min(Seconds(2), start + Milliseconds(a.at_ms) - c.Now()));
      check();
    }
    const int m = a.target % kManagers + 1;
    switch (a.kind) {
      case kCrash: c.ManagerHost(m).CrashProcess("controller-manager"); break;
      case kRestart: c.ManagerHost(m).RestartProcess("controller-manager"); break;
      case kIsolate: c.api.store.world.network().Isolate(c.ManagerHost(m).id()); break;
      case kHeal: c.api.store.world.network().Heal(); break;
      case kAddNode:
        if (next_node < 12) {
          c.AddKubelet("n" + std::to_string(next_node));
          live.insert(next_node++);
        }
        break;
      case kDeleteNode: {
        if (live.empty()) break;
        auto it = live.begin();
        std::advance(it, a.target % static_cast<int>(live.size()));
        const std::string name = "n" + std::to_string(*it);
        c.KubeletHost(name).CrashProcess("kubelet");
        c.kubectl->Delete(Kind("", "nodes"), "", name, [](const client::ApiResult&) {});
        live.erase(it);
        break;
      }
      default: break;
    }
  }
  // Heal everything; every live node must get a CIDR.
  c.api.store.world.network().Heal();
  for (int i = 1; i <= kManagers; ++i) c.ManagerHost(i).RestartProcess("controller-manager");
  const Nanos deadline = c.Now() + Seconds(60);
  bool all = false;
  while (!all && c.Now() < deadline && failure.empty()) {
    c.Run(Seconds(2));
    check();
    const auto nodes = c.Nodes();
    all = true;
    for (int n : live) {
      auto it = nodes.find("n" + std::to_string(n));
      all = all && it != nodes.end() && !it->second.spec().pod_cidr().empty();
    }
  }
  if (failure.empty() && !all) failure = "a node has no pod CIDR 60 s after healing";
  // Every node may have been deleted before its first CIDR; otherwise someone must have written.
  if (failure.empty() && c.writes == 0 && !live.empty()) failure = "no controller-manager wrote anything";
  return failure;
}

RC_GTEST_PROP(NodeIpamProperty, CidrsStayUniqueAcrossFailovers, ()) {
  constexpr int kFullSize = 100;
  const auto schedule = *rc::gen::resize(
      kFullSize, rc::gen::container<std::vector<Action>>(
                     *rc::gen::resize(kFullSize, rc::gen::inRange(0, 16)),
                     rc::gen::build<Action>(rc::gen::set(&Action::at_ms, rc::gen::inRange(0, kScheduleMs)),
                                            rc::gen::set(&Action::kind, rc::gen::inRange(0, static_cast<int>(kActionKinds))),
                                            rc::gen::set(&Action::target, rc::gen::inRange(0, 12)))));
  const std::string failure = RunSchedule(schedule, *rc::gen::inRange<uint64_t>(1, 1000));
  if (!failure.empty()) RC_FAIL(failure);
}

}  // namespace
}  // namespace ksim::controllers::testing
