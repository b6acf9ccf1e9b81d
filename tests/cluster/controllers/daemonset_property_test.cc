// Property: whatever happens (nodes joining, leaving and relabelled; controller-manager
// replicas crashed and restarted, so the DaemonSet controller fails over between two;
// apiservers restarted; template updates), only one replica acts at any time, and once
// everything heals the DaemonSet converges within a bounded simulated time to exactly one
// pod on every eligible node, available and at the update revision (the hash of the
// DaemonSet's current template), at most one on any node, and no pod on a node that is
// not eligible.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <fmt/format.h>

#include <ostream>
#include <set>
#include <sstream>

#include "cluster/api/apps.pb.h"
#include "cluster/controllers/daemonset.h"
#include "cluster/controllers/history.h"
#include "cluster/controllers/replica_set.h"
#include "tests/property_cases.h"
#include "tests/cluster/controllers/cm_cluster.h"

namespace ksim::controllers::testing {
namespace {

constexpr int kManagers = 2;
constexpr int kScheduleMs = 120000;
constexpr int kMaxNodes = 10;
const Nanos kConverge = Seconds(180);

enum ActionKind { kCrashManager, kRestartManager, kRestartApiserver, kAddNode, kRemoveNode, kRelabel, kUpdate, kKinds };

struct Action {
  int at_ms = 0;
  int kind = 0;
  int target = 0;
};

std::ostream& operator<<(std::ostream& os, const Action& a) {
  static const char* names[] = {"crash manager", "restart manager", "restart apiserver", "add node",
                                "remove node",   "relabel node",    "update template"};
  return os << "t=" << a.at_ms << "ms " << names[a.kind] << " " << a.target;
}

const api::KindInfo& DsKind() { return Kind("apps", "daemonsets"); }

api::DaemonSet MakeDs() {
  api::DaemonSet ds;
  ds.mutable_metadata()->set_name("agent");
  ds.mutable_metadata()->set_namespace_("default");
  (*ds.mutable_spec()->mutable_selector()->mutable_match_labels())["app"] = "agent";
  auto* t = ds.mutable_spec()->mutable_template_();
  (*t->mutable_metadata()->mutable_labels())["app"] = "agent";
  (*t->mutable_spec()->mutable_node_selector())["ds"] = "yes";
  auto* c = t->mutable_spec()->add_containers();
  c->set_name("c");
  c->set_image("agent:0");
  return ds;
}

// The hash the DaemonSet's current template must carry (history.h, its collision count).
std::string WantedHash(const api::DaemonSet& ds) {
  google::protobuf::Struct data;
  if (!history::TemplateData(ds.spec().template_(), &data).ok()) return "";
  api::ControllerRevision r = history::NewRevision(ds.metadata(), "apps/v1", "DaemonSet", {}, std::move(data), 1, 0);
  return history::HashRevision(r, ds.status().collision_count());
}

class Run {
 public:
  explicit Run(uint64_t seed) : c(seed, /*apiservers=*/2) {
    c.AddPodRunner([](const api::Pod& pod) { return PodPlan::On(TargetNodeName(pod)); });
    for (int i = 1; i <= kManagers; ++i) {
      c.AddManager(i, [](ControllerManagerOptions& o) { o.controllers = {kDaemonSetControllerName}; });
    }
    for (int i = 0; i < 3; ++i) AddNode(i != 1);
  }

  void AddNode(bool eligible) {
    const std::string name = "n" + std::to_string(next_node_++);
    c.AddKubelet(name, {{"ds", eligible ? "yes" : "no"}});
    live_.insert(name);
  }
  std::string Pick(int target) const {
    auto it = live_.begin();
    std::advance(it, target % static_cast<int>(live_.size()));
    return *it;
  }

  void Apply(const Action& a) {
    // Half the crashes and restarts hit the acting replica: failovers.
    const int m = a.target % 2 == 0 && c.Leader() != 0 ? c.Leader() : a.target / 2 % kManagers + 1;
    switch (a.kind) {
      case kCrashManager: c.ManagerHost(m).CrashProcess("controller-manager"); break;
      case kRestartManager:
        c.ManagerHost(m).CrashProcess("controller-manager");
        c.ManagerHost(m).RestartProcess("controller-manager");
        break;
      case kRestartApiserver: {
        sim::Host* h = c.api.store.world.FindHost("api" + std::to_string(a.target % 2 + 1));
        h->CrashProcess("apiserver");
        h->RestartProcess("apiserver");
        break;
      }
      case kAddNode:
        if (next_node_ < kMaxNodes) AddNode(a.target % 3 != 0);
        break;
      case kRemoveNode: {
        if (live_.size() <= 1) break;
        const std::string name = Pick(a.target);
        c.KubeletHost(name).CrashProcess("kubelet");
        c.kubectl->Delete(Kind("", "nodes"), "", name, [](const client::ApiResult&) {});
        live_.erase(name);
        break;
      }
      case kRelabel: {
        if (live_.empty()) break;
        const std::string name = Pick(a.target);
        c.kubectl->Get(Kind("", "nodes"), "", name, [this](const client::ApiResult& r) {
          api::Node n;
          if (!r.ok() || !n.ParseFromString(r.body)) return;
          auto& labels = *n.mutable_metadata()->mutable_labels();
          labels["ds"] = labels["ds"] == "yes" ? "no" : "yes";
          c.kubectl->Update(Kind("", "nodes"), n, [](const client::ApiResult&) {});
        });
        break;
      }
      case kUpdate:
        c.kubectl->Get(DsKind(), "default", "agent", [this](const client::ApiResult& r) {
          api::DaemonSet ds;
          if (!r.ok() || !ds.ParseFromString(r.body)) return;
          ds.mutable_spec()->mutable_template_()->mutable_spec()->mutable_containers(0)->set_image(
              "agent:" + std::to_string(++version_));
          c.kubectl->Update(DsKind(), ds, [](const client::ApiResult&) {});
        });
        break;
      default: break;
    }
  }

  // "" when converged, else what is not yet right.
  std::string Converged() {
    auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Get(DsKind(), "default", "agent", std::move(d)); });
    api::DaemonSet ds;
    if (!r.ok() || !ds.ParseFromString(r.body)) return "no DaemonSet: " + r.Describe();
    const std::string hash = WantedHash(ds);
    std::map<std::string, std::vector<api::Pod>> by_node;
    for (const auto& [name, p] : c.List<api::Pod>("pods", "default")) by_node[TargetNodeName(p)].push_back(p);
    for (const auto& [name, node] : c.Nodes()) {
      if (live_.count(name) == 0) continue;  // deleted, still listed for a moment
      const auto& pods = by_node[name];
      const bool eligible = node.metadata().labels().count("ds") != 0 && node.metadata().labels().at("ds") == "yes";
      if (!eligible) {
        if (!pods.empty()) return fmt::format("{} is not eligible and has {} pods", name, pods.size());
        continue;
      }
      if (pods.size() != 1) return fmt::format("{} has {} pods", name, pods.size());
      const api::Pod& p = pods[0];
      auto it = p.metadata().labels().find(kPodRevisionHashLabel);
      if (it == p.metadata().labels().end() || it->second != hash) return fmt::format("{}: {} not at {}", name, p.metadata().name(), hash);
      if (p.metadata().has_deletion_timestamp() || !PodReady(p)) return fmt::format("{}: {} not available", name, p.metadata().name());
    }
    if (ds.status().observed_generation() != ds.metadata().generation()) return "status not observed";
    return "";
  }

  CmCluster c;

 private:
  int next_node_ = 0;
  int version_ = 0;
  std::set<std::string> live_;
};

std::string RunSchedule(std::vector<Action> schedule, uint64_t seed, Nanos* converged_after, size_t* writers) {
  std::sort(schedule.begin(), schedule.end(), [](const Action& a, const Action& b) { return a.at_ms < b.at_ms; });
  Run run(seed);
  CmCluster& c = run.c;
  c.Run(Seconds(5));
  if (!c.Create(MakeDs()).ok()) return "create DaemonSet failed";
  const Nanos start = c.Now();
  const auto violation = [&]() -> std::string { return c.violations.empty() ? "" : c.violations[0]; };
  for (const Action& a : schedule) {
    if (start + Milliseconds(a.at_ms) > c.Now()) c.Run(start + Milliseconds(a.at_ms) - c.Now());
    run.Apply(a);
    if (auto v = violation(); !v.empty()) return v;
  }
  // Heal: every replica and apiserver running.
  for (int i = 1; i <= kManagers; ++i) c.ManagerHost(i).RestartProcess("controller-manager");
  for (int i = 1; i <= 2; ++i) c.api.store.world.FindHost("api" + std::to_string(i))->RestartProcess("apiserver");
  const Nanos healed = c.Now();
  std::string state = "not checked";
  while (c.Now() < healed + kConverge) {
    c.Run(Seconds(5));
    if (auto v = violation(); !v.empty()) return v;
    state = run.Converged();
    if (state.empty()) break;
  }
  if (!state.empty()) return fmt::format("not converged {} s after healing: {}", kConverge.count() / 1000000000, state);
  *converged_after = c.Now() - healed;
  *writers = c.writes_by.size();
  // Converged stays converged.
  c.Run(Seconds(30));
  if (auto v = violation(); !v.empty()) return v;
  if (state = run.Converged(); !state.empty()) return "converged, then: " + state;
  return "";
}

void Property() {
  constexpr int kFullSize = 100;
  const auto schedule = *rc::gen::resize(
      kFullSize, rc::gen::container<std::vector<Action>>(
                     *rc::gen::resize(kFullSize, rc::gen::inRange(0, 20)),
                     rc::gen::build<Action>(rc::gen::set(&Action::at_ms, rc::gen::inRange(0, kScheduleMs)),
                                            rc::gen::set(&Action::kind, rc::gen::inRange(0, static_cast<int>(kKinds))),
                                            rc::gen::set(&Action::target, rc::gen::inRange(0, 12)))));
  Nanos converged{0};
  size_t writers = 0;
  const std::string failure = RunSchedule(schedule, *rc::gen::inRange<uint64_t>(1, 1000), &converged, &writers);
  if (!failure.empty()) RC_FAIL(failure);
  RC_TAG(fmt::format("converged in {}-{} s", converged.count() / 1000000000 / 20 * 20,
                     converged.count() / 1000000000 / 20 * 20 + 20));
  RC_TAG(writers > 1 ? "failed over" : "one writer");
}

void CheckCases(const std::string& name, int cases) {
  ::ksim::testing::CheckPropertyCases(name, cases, &Property);
}

TEST(DaemonSetProperty, OnePodPerEligibleNodeAfterChaos) { CheckCases("DaemonSetProperty", 4); }

// `ctest -L long` only (the CMakeLists labels it).
TEST(DaemonSetPropertyLong, OnePodPerEligibleNodeAfterChaos) { CheckCases("DaemonSetPropertyLong", 100); }

}  // namespace
}  // namespace ksim::controllers::testing
