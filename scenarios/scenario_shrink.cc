#include "scenarios/scenario_shrink.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "scenarios/scenario_loader.h"
#include "scenarios/scenario_writer.h"

namespace ksim::scenarios {
namespace {

using FK = faults::FaultKind;

ActionKind ActionFor(FK kind) {
  switch (kind) {
    case FK::kPartition: return ActionKind::kPartition;
    case FK::kIsolate: return ActionKind::kIsolate;
    case FK::kOneWay: return ActionKind::kOneWay;
    case FK::kBridge: return ActionKind::kBridge;
    case FK::kHeal: return ActionKind::kHeal;
    case FK::kCrashProcess: return ActionKind::kCrash;
    case FK::kRestartProcess: return ActionKind::kRestart;
    case FK::kPowerOff: return ActionKind::kPowerOff;
    case FK::kPowerOn: return ActionKind::kPowerOn;
    case FK::kPause: return ActionKind::kPause;
    case FK::kResume: return ActionKind::kResume;
    case FK::kClockJump: return ActionKind::kClockJump;
    case FK::kClockSkew: return ActionKind::kClockSkew;
    case FK::kClockDrift: return ActionKind::kClockDrift;
    case FK::kLinkFaults: return ActionKind::kLinkFaults;
    case FK::kLinkClear: return ActionKind::kLinkClear;
    case FK::kSlowDisk: return ActionKind::kSlowDisk;
    case FK::kDiskErrors: return ActionKind::kDiskErrors;
    case FK::kDiskHeal: return ActionKind::kDiskHeal;
    case FK::kContainerCrash: return ActionKind::kContainerCrash;
    case FK::kImagePullFailure: return ActionKind::kImagePullFailure;
    case FK::kImagePullHeal: return ActionKind::kImagePullHeal;
    case FK::kCpuLoad: return ActionKind::kCpuLoad;
    case FK::kCpuLoadClear: return ActionKind::kCpuLoadClear;
  }
  return ActionKind::kHeal;
}

// Whether `undo` ends what `cause` started (so ddmin drops them together).
bool Undoes(const faults::Fault& undo, const faults::Fault& cause) {
  const bool network = cause.kind == FK::kPartition || cause.kind == FK::kIsolate || cause.kind == FK::kOneWay ||
                       cause.kind == FK::kBridge;
  switch (undo.kind) {
    case FK::kHeal: return network;
    case FK::kLinkClear: return cause.kind == FK::kLinkFaults;
    case FK::kRestartProcess:
      return cause.kind == FK::kCrashProcess && cause.host == undo.host && cause.process == undo.process;
    case FK::kPowerOn: return cause.kind == FK::kPowerOff && cause.host == undo.host;
    case FK::kResume: return cause.kind == FK::kPause && cause.host == undo.host;
    case FK::kDiskHeal: return (cause.kind == FK::kSlowDisk || cause.kind == FK::kDiskErrors) && cause.host == undo.host;
    case FK::kImagePullHeal: return cause.kind == FK::kImagePullFailure && cause.host == undo.host;
    case FK::kCpuLoadClear: return cause.kind == FK::kCpuLoad && cause.host == undo.host && cause.pod == undo.pod;
    default: return false;
  }
}

// Units of timeline fault entries (indices into timeline): a cause with its undo.
std::vector<std::vector<size_t>> FaultUnits(const Scenario& s) {
  std::vector<std::vector<size_t>> units;
  std::vector<size_t> open;  // units whose cause is not undone yet
  for (size_t i = 0; i < s.timeline.size(); ++i) {
    const TimelineEntry& e = s.timeline[i];
    if (!e.is_fault) continue;
    std::optional<size_t> paired;
    if (e.faults.size() == 1) {
      for (size_t k = open.size(); k-- > 0;) {
        const TimelineEntry& cause = s.timeline[units[open[k]].front()];
        if (cause.faults.size() == 1 && Undoes(e.faults[0], cause.faults[0])) {
          paired = open[k];
          open.erase(open.begin() + static_cast<std::ptrdiff_t>(k));
          break;
        }
      }
    }
    if (paired) {
      units[*paired].push_back(i);
    } else {
      units.push_back({i});
      open.push_back(units.size() - 1);
    }
  }
  return units;
}

// `s` with only the fault units in `keep` (API entries always kept).
Scenario KeepUnits(const Scenario& s, const std::vector<std::vector<size_t>>& units, const std::vector<size_t>& keep) {
  std::vector<bool> kept(s.timeline.size(), false);
  for (size_t u : keep) {
    for (size_t i : units[u]) kept[i] = true;
  }
  Scenario out = s;
  out.timeline.clear();
  for (size_t i = 0; i < s.timeline.size(); ++i) {
    if (!s.timeline[i].is_fault || kept[i]) out.timeline.push_back(s.timeline[i]);
  }
  return out;
}

class Shrinker {
 public:
  Shrinker(const FailsSameWay& fails, const ShrinkOptions& options) : fails_(fails), options_(options) {}

  // Runs a candidate unless the budget is spent (then: not accepted).
  bool Try(const Scenario& candidate) {
    if (runs_ >= options_.max_runs) {
      exhausted_ = true;
      return false;
    }
    ++runs_;
    return fails_(candidate);
  }

  // Classic ddmin (Zeller): the smallest subset of units found that still fails.
  std::vector<size_t> Ddmin(const Scenario& s, const std::vector<std::vector<size_t>>& units) {
    std::vector<size_t> current(units.size());
    for (size_t i = 0; i < units.size(); ++i) current[i] = i;
    if (current.empty()) return current;
    if (Try(KeepUnits(s, units, {}))) return {};
    size_t n = 2;
    while (current.size() >= 2 && !exhausted_) {
      const size_t chunk = (current.size() + n - 1) / n;
      bool reduced = false;
      for (size_t start = 0; start < current.size() && !reduced; start += chunk) {
        const std::vector<size_t> subset(current.begin() + static_cast<std::ptrdiff_t>(start),
                                         current.begin() + static_cast<std::ptrdiff_t>(std::min(current.size(), start + chunk)));
        if (subset.size() < current.size() && Try(KeepUnits(s, units, subset))) {
          current = subset;
          n = 2;
          reduced = true;
        }
      }
      for (size_t start = 0; start < current.size() && !reduced && n > 2; start += chunk) {
        std::vector<size_t> complement;
        for (size_t i = 0; i < current.size(); ++i) {
          if (i < start || i >= start + chunk) complement.push_back(current[i]);
        }
        if (Try(KeepUnits(s, units, complement))) {
          current = complement;
          n = std::max<size_t>(n - 1, 2);
          reduced = true;
        }
      }
      if (reduced) continue;
      if (n >= current.size()) break;
      n = std::min(current.size(), n * 2);
    }
    return current;
  }

  int runs() const { return runs_; }
  bool exhausted() const { return exhausted_; }

 private:
  const FailsSameWay& fails_;
  const ShrinkOptions& options_;
  int runs_ = 0;
  bool exhausted_ = false;
};

void Renumber(ClusterSpec* c) {
  int next = 1;
  for (WorkerGroup& g : c->worker_groups) {
    g.first_worker = next;
    next += g.count;
  }
}

Nanos LastEntryAt(const Scenario& s) {
  Nanos last{0};
  for (const TimelineEntry& e : s.timeline) last = std::max(last, e.at);
  return last;
}

void SetPhases(Scenario* s, Nanos safety, Nanos liveness) {
  s->phases.safety = safety;
  s->phases.liveness = liveness;
  s->duration = safety + liveness;
}

}  // namespace

Scenario ExplicitFaults(const Scenario& swarmed, const ScenarioResult& failing) {
  Scenario out = swarmed;
  out.swarm.clear();
  out.nemesis.clear();
  for (const AppliedFault& f : failing.faults) {
    if (f.origin == "timeline") continue;
    TimelineEntry e;
    e.at = f.at;
    e.action = ActionFor(f.fault.kind);
    e.is_fault = true;
    e.faults.push_back(f.fault);
    out.timeline.push_back(std::move(e));
  }
  std::stable_sort(out.timeline.begin(), out.timeline.end(),
                   [](const TimelineEntry& a, const TimelineEntry& b) { return a.at < b.at; });
  return out;
}

ShrinkResult ShrinkScenario(const Scenario& start, const FailsSameWay& fails, const ShrinkOptions& options) {
  Shrinker shrinker(fails, options);
  ShrinkResult result;
  Scenario best = start;

  const std::vector<std::vector<size_t>> units = FaultUnits(best);
  const std::vector<size_t> kept = shrinker.Ddmin(best, units);
  if (kept.size() < units.size()) {
    best = KeepUnits(best, units, kept);
    result.steps.push_back("timeline faults: " + std::to_string(units.size()) + " -> " + std::to_string(kept.size()) +
                           " (a fault and its undo count as one)");
  }

  for (size_t g = 0; g < best.cluster.worker_groups.size(); ++g) {
    const int before = best.cluster.worker_groups[g].count;
    for (;;) {
      const int count = best.cluster.worker_groups[g].count;
      bool reduced = false;
      for (int next : {count / 2, count - 1}) {
        if (next < 1 || next >= count || reduced) continue;
        Scenario candidate = best;
        candidate.cluster.worker_groups[g].count = next;
        Renumber(&candidate.cluster);
        if (shrinker.Try(candidate)) {
          best = std::move(candidate);
          reduced = true;
        }
      }
      if (!reduced) break;
    }
    if (best.cluster.worker_groups[g].count < before) {
      result.steps.push_back("workers of group " + best.cluster.worker_groups[g].name + ": " + std::to_string(before) +
                             " -> " + std::to_string(best.cluster.worker_groups[g].count));
    }
  }

  // The safety phase needs to last only past the last timeline entry.
  const Nanos safety_floor = LastEntryAt(best) + Seconds(1);
  if (best.phases.liveness > Nanos(0) && safety_floor < best.phases.safety) {
    Scenario candidate = best;
    SetPhases(&candidate, safety_floor, best.phases.liveness);
    if (shrinker.Try(candidate)) {
      result.steps.push_back("safety phase: " + FormatScenarioDuration(best.phases.safety) + " -> " +
                             FormatScenarioDuration(safety_floor));
      best = std::move(candidate);
    }
  }
  // An `eventually` condition's `within` must end inside the run (the loader refuses it).
  Nanos liveness_floor = Seconds(1);
  for (const Expectation& e : best.expectations) {
    if (e.when == Expectation::When::kEventually) liveness_floor = std::max(liveness_floor, e.within);
  }
  const Nanos liveness_before = best.phases.liveness, duration_before = best.duration;
  for (;;) {
    Scenario candidate = best;
    if (best.phases.liveness > Nanos(0)) {
      const Nanos half = best.phases.liveness / 2;
      if (half < liveness_floor) break;
      SetPhases(&candidate, best.phases.safety, half);
    } else {
      const Nanos half = best.duration / 2;
      if (half < safety_floor) break;
      candidate.duration = half;
      candidate.phases.safety = half;
    }
    if (!shrinker.Try(candidate)) break;
    best = std::move(candidate);
  }
  if (best.duration < duration_before) {
    result.steps.push_back(best.phases.liveness > Nanos(0)
                               ? "liveness phase: " + FormatScenarioDuration(liveness_before) + " -> " +
                                     FormatScenarioDuration(best.phases.liveness)
                               : "duration: " + FormatScenarioDuration(duration_before) + " -> " +
                                     FormatScenarioDuration(best.duration));
  }
  result.scenario = std::move(best);
  result.runs = shrinker.runs();
  result.budget_exhausted = shrinker.exhausted();
  return result;
}

ShrinkResult ShrinkFailingRun(const Scenario& scenario, uint64_t seed, const ScenarioResult& failing,
                              const ShrinkOptions& options) {
  ShrinkResult result;
  if (failing.violations.empty()) return result;
  const std::string expectation = failing.violations.front().expectation;
  const FailsSameWay fails = [&](const Scenario& candidate) {
    // The candidate as the file it would be written as: one the loader refuses is no result.
    Scenario as_file;
    if (!ParseScenario(FormatScenario(candidate), scenario.source.file, ".", &as_file).ok()) return false;
    const ScenarioResult r = RunScenario(as_file, seed);
    if (!r.status.ok() || r.passed) return false;
    return std::any_of(r.violations.begin(), r.violations.end(),
                       [&](const Violation& v) { return v.expectation == expectation; });
  };
  Scenario swarmed;
  if (!ApplySwarm(scenario, seed, &swarmed).ok()) swarmed = scenario;
  Scenario start = ExplicitFaults(swarmed, failing);
  ShrinkOptions rest = options;
  std::vector<std::string> first_steps;
  if (rest.max_runs > 0 && (--rest.max_runs, fails(start))) {
    first_steps.push_back("nemesis faults made explicit on the timeline");
  } else {
    start = swarmed;
    start.swarm.clear();
    first_steps.push_back("the explicit schedule did not fail the same way: nemesis kept");
  }
  result = ShrinkScenario(start, fails, rest);
  result.runs += options.max_runs - rest.max_runs;
  result.steps.insert(result.steps.begin(), first_steps.begin(), first_steps.end());
  result.expectation = expectation;
  return result;
}

}  // namespace ksim::scenarios
