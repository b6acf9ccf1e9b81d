// RunScenario (scenario_runner.h): builds the cluster, runs the timeline, the nemesis and
// the checkers, and judges.
#include "scenarios/scenario_runner.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include "cluster/api/registry.h"
#include "cluster/apiserver/apiserver.pb.h"
#include "cluster/client/api_client.h"
#include "cluster/controllers/controller_manager.h"
#include "faults/fault.h"
#include "scenarios/checks/check.h"
#include "scenarios/scenario_actions.h"
#include "scenarios/scenario_cluster.h"
#include "scenarios/scenario_loader.h"
#include "sim/world.h"

namespace ksim::scenarios {
namespace {

constexpr size_t kMaxViolationsPerExpectation = 10;  // more are counted, not recorded
constexpr size_t kMaxEvents = 100000;

std::string WhenName(Expectation::When w) {
  switch (w) {
    case Expectation::When::kAlways: return "always";
    case Expectation::When::kEventually: return "eventually";
    case Expectation::When::kAtEnd: return "atEnd";
  }
  return "";
}

// Records what a controller-manager sends while it does not act, or while another acts.
void OnControllerWrite(SimCluster* cluster, checks::WorldHooks* hooks, const std::string& host,
                       const std::string& identity, bool acting, const apiserver::Request& r) {
  for (const auto& listen : hooks->controller_write_listeners) listen(host, r);
  const std::string what = fmt::format("{} {} {}/{}", r.verb(), r.resource(), r.namespace_(), r.name());
  if (!acting) {
    hooks->controller_writes_not_acting.push_back(fmt::format("{} ({}) wrote while not acting: {}", identity, host, what));
    return;
  }
  if (cluster == nullptr) return;
  for (const std::string& cp : cluster->control_plane_hosts()) {
    if (cp == host) continue;
    sim::Host* h = cluster->world().FindHost(cp);
    auto* m = h != nullptr ? h->Find<controllers::ControllerManager>("controller-manager") : nullptr;
    if (m != nullptr && m->IsLeader()) {
      hooks->controller_writes_not_acting.push_back(
          fmt::format("{} ({}) wrote while {} ({}) acts: {}", identity, host, m->identity(), cp, what));
    }
  }
}

// Merge-patches spec.taints of each tainted worker's Node, waiting for each answer.
Status SetTaints(SimCluster& c, const Scenario& s) {
  const api::KindInfo* nodes = api::Registry::Default().ByGroupResource("", "nodes");
  std::map<std::string, std::string> lists;  // worker -> JSON taints
  for (const auto& [node, t] : ScenarioTaints(s)) {
    std::string& list = lists[node];
    list += fmt::format(R"({}{{"key":"{}","value":"{}","effect":"{}"}})", list.empty() ? "" : ",", t.key, t.value,
                        t.effect);
  }
  for (const auto& [node, list] : lists) {
    bool done = false;
    client::ApiResult result;
    c.admin().Patch(*nodes, "", node, "application/merge-patch+json", fmt::format(R"({{"spec":{{"taints":[{}]}}}})", list),
                    [&](const client::ApiResult& r) {
                      result = r;
                      done = true;
                    });
    c.RunUntil([&] { return done; }, Seconds(60));
    if (!result.ok()) return Status::Unavailable(fmt::format("taints of {}: {}", node, result.Describe()));
  }
  return Status::Ok();
}

struct Judged {
  const Expectation* e = nullptr;
  std::unique_ptr<checks::Check> check;
  bool met = false;
  bool judged = false;  // eventually: held in time, or its deadline passed
  std::string why = "never checked";
  std::set<std::string> seen;  // invariant messages already recorded
  size_t count = 0;
};

}  // namespace

ScenarioResult RunScenario(const Scenario& in, uint64_t seed, const RunOptions& ro) {
  ScenarioResult res;
  res.seed = seed;
  Scenario s;
  if (res.status = ApplySwarm(in, seed, &s); !res.status.ok()) return res;
  // Every expectation must have a checker before anything runs.
  for (const Expectation& e : s.expectations) {
    if (res.status = checks::CheckImplemented(e); !res.status.ok()) return res;
  }

  checks::WorldHooks hooks;
  SimCluster* cluster_ptr = nullptr;
  SimClusterOptions co = ToSimClusterOptions(s, seed);
  co.on_controller_write = [&hooks, &cluster_ptr](const std::string& host, const std::string& identity, bool acting,
                                                  const apiserver::Request& r) {
    OnControllerWrite(cluster_ptr, &hooks, host, identity, acting, r);
  };
  co.on_scheduler_bind = [&hooks, &cluster_ptr](const std::string& host, const std::string& identity, bool acting,
                                                const apiserver::Request& r) {
    checks::OnSchedulerBind(cluster_ptr, &hooks, host, identity, acting, r);
  };
  if (ro.adjust_cluster) ro.adjust_cluster(&co);
  if (res.status = ValidateSimClusterOptions(co); !res.status.ok()) return res;
  SimCluster cluster(co);
  cluster_ptr = &cluster;
  sim::World& world = cluster.world();

  if (res.status = cluster.Bootstrap(ro.bootstrap_timeout); !res.status.ok()) return res;
  // Processes are listed after Bootstrap, which adds the controller-managers, schedulers,
  // kubelets, kube-proxies and DNS; before it only stores and apiservers exist. (Each
  // entry draws from its own stream, so when it is drawn changes nothing else.)
  std::vector<std::pair<std::string, std::vector<std::string>>> host_processes;
  for (const auto& host : world.hosts()) host_processes.emplace_back(host->name(), host->ProcessNames());
  std::vector<std::pair<std::string, std::vector<faults::TimedFault>>> nemesis;
  if (res.status = NemesisSchedule(s, seed, host_processes, &nemesis); !res.status.ok()) return res;
  if (res.status = SetTaints(cluster, s); !res.status.ok()) return res;
  for (const Manifest& m : s.workload) {
    if (res.status = cluster.Apply(m.text, m.source); !res.status.ok()) return res;
  }
  checks::ClusterView view(cluster, hooks);
  std::vector<Judged> judged;
  for (const Expectation& e : s.expectations) {
    Judged& j = judged.emplace_back();
    j.e = &e;
    if (res.status = checks::MakeCheck(e, view, &j.check); !res.status.ok()) return res;
  }
  if (res.status = view.Start(Seconds(60)); !res.status.ok()) return res;

  const Nanos t0 = world.now();
  if (ro.at_start) ro.at_start(cluster);
  auto record = [&](const std::string& what) {
    if (res.events.size() < kMaxEvents) res.events.push_back(RunEvent{world.now() - t0, what});
    if (ro.on_event) ro.on_event(fmt::format("t={} {}", FormatScenarioDuration(world.now() - t0), what));
  };
  auto inject = [&](const faults::Fault& f, const std::string& source) -> bool {
    const Status st = cluster.Inject(f);
    if (!st.ok()) {
      record(fmt::format("{}: {} FAILED: {}", source, f.Describe(), st.message()));
      return false;
    }
    res.faults.push_back(AppliedFault{world.now() - t0, f, source.rfind("nemesis ", 0) == 0 ? source.substr(8) : source});
    record(fmt::format("{}: {}", source, f.Describe()));
    return true;
  };

  ApiActions actions(cluster, [&](const std::string& line, bool failed) { record(failed ? line + " FAILED" : line); });
  for (const TimelineEntry& e : s.timeline) {
    world.At(t0 + e.at, [&, entry = &e] {
      if (!entry->is_fault) return actions.Start(*entry);
      for (const faults::Fault& f : entry->faults) inject(f, "timeline");
    });
  }
  std::map<std::string, std::set<faults::FaultKind>> fired;
  for (const auto& [name, schedule] : nemesis) {
    res.nemesis_fired.emplace_back(name, 0);
    const size_t slot = res.nemesis_fired.size() - 1;
    for (size_t i = 0; i < schedule.size(); ++i) {
      world.At(t0 + schedule[i].at, [&, slot, undo = i % 2 == 1, f = schedule[i].fault, name = name] {
        if (inject(f, "nemesis " + name) && !undo) {
          ++res.nemesis_fired[slot].second;
          fired[name].insert(f.kind);
        }
      });
    }
  }
  const bool has_liveness = s.phases.liveness > Nanos(0);
  if (has_liveness) {
    world.At(t0 + s.phases.safety, [&] {
      faults::HealAll(world);
      res.healed_all_at = world.now() - t0;
      record("safety phase over: healed everything (faults::HealAll); liveness phase");
    });
  }

  const Nanos live0 = t0 + (has_liveness ? s.phases.safety : Nanos(0));
  const Nanos end = t0 + s.duration;
  auto violate = [&](Judged& j, const std::string& message) {
    ++j.count;
    if (j.seen.size() >= kMaxViolationsPerExpectation || !j.seen.insert(message).second) return;
    res.violations.push_back(Violation{world.now() - t0, WhenName(j.e->when) + " " + j.e->name, message});
    record(fmt::format("VIOLATION {} {}: {}", WhenName(j.e->when), j.e->name, message));
  };
  Nanos tick = t0;
  while (world.now() < end) {
    tick = std::min(std::max(tick + ro.poll, world.now()), end);
    world.RunUntil(tick);
    const Nanos now = world.now();
    for (Judged& j : judged) {
      if (j.e->when == Expectation::When::kAlways) {
        std::vector<std::string> wrong;
        j.check->Observe(view, &wrong);
        for (const std::string& w : wrong) violate(j, w);
      } else if (j.e->when == Expectation::When::kEventually && !j.judged && now >= live0) {
        const Nanos deadline = live0 + j.e->within;
        j.met = j.check->Holds(view, &j.why);
        j.judged = j.met || now >= deadline;
        if (!j.met && now >= deadline) {
          violate(j, fmt::format("not true within {} of {}: {}", FormatScenarioDuration(j.e->within),
                                 has_liveness ? "the liveness phase" : "the start", j.why));
        }
      }
    }
  }
  if (ro.at_end) ro.at_end(cluster);
  for (Judged& j : judged) {
    if (j.e->when == Expectation::When::kAlways) {
      std::vector<std::string> wrong;
      j.check->Finish(view, &wrong);
      for (const std::string& w : wrong) violate(j, w);
    }
    if (j.e->when == Expectation::When::kAtEnd && !j.check->Holds(view, &j.why)) violate(j, "at the end: " + j.why);
    if (j.e->when == Expectation::When::kEventually && !j.judged) violate(j, "never judged: " + j.why);
  }
  for (const NemesisSpec& n : s.nemesis) {
    if (!n.must_fire) continue;
    for (ActionKind k : n.faults) {
      const std::optional<faults::FaultKind> f = NemesisFaultKind(k);
      if (!f || fired[n.name].count(*f) == 0) {
        res.violations.push_back(Violation{world.now() - t0, "nemesis " + n.name,
                                           fmt::format("mustFire: no {} fault fired", ActionKindName(k))});
      }
    }
  }
  res.simulated = world.now() - t0;
  res.trace_hash = cluster.trace_hash();
  res.passed = res.violations.empty();
  return res;
}

}  // namespace ksim::scenarios
