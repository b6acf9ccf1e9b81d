#include "scenarios/scenario_record.h"

#include <fmt/format.h>

#include <optional>

namespace ksim::scenarios {
namespace {

using FK = faults::FaultKind;

bool IsUndo(const faults::Fault& f) {
  switch (f.kind) {
    case FK::kHeal: case FK::kRestartProcess: case FK::kPowerOn: case FK::kResume: case FK::kDiskHeal:
    case FK::kLinkClear: case FK::kImagePullHeal: case FK::kCpuLoadClear:
      return true;
    case FK::kClockSkew: return f.amount == Nanos(0);
    case FK::kClockDrift: return f.ppm == 0;
    default: return false;
  }
}

// Whether `undo` puts `f` right.
bool Undoes(const faults::Fault& undo, const faults::Fault& f) {
  switch (f.kind) {
    case FK::kPartition: case FK::kIsolate: case FK::kOneWay: case FK::kBridge: return undo.kind == FK::kHeal;
    case FK::kCrashProcess:
      return undo.host == f.host && ((undo.kind == FK::kRestartProcess && undo.process == f.process) ||
                                     undo.kind == FK::kPowerOn);
    case FK::kPowerOff: return undo.kind == FK::kPowerOn && undo.host == f.host;
    case FK::kPause: return undo.kind == FK::kResume && undo.host == f.host;
    case FK::kClockSkew: case FK::kClockJump: case FK::kClockDrift:
      return undo.host == f.host && (undo.kind == FK::kClockSkew || undo.kind == FK::kClockDrift);
    case FK::kSlowDisk: case FK::kDiskErrors: return undo.kind == FK::kDiskHeal && undo.host == f.host;
    case FK::kLinkFaults: return undo.kind == FK::kLinkClear;
    case FK::kImagePullFailure: return undo.kind == FK::kImagePullHeal && undo.host == f.host;
    case FK::kCpuLoad: return undo.kind == FK::kCpuLoadClear && undo.host == f.host && undo.pod == f.pod;
    default: return false;
  }
}

std::string Target(const faults::Fault& f) {
  std::string out = f.host;
  if (!f.process.empty()) out += "/" + f.process;
  for (const auto& g : f.groups) {
    std::string group;
    for (const std::string& h : g) group += (group.empty() ? "" : " ") + h;
    out += (out.empty() ? "[" : " | [") + group + "]";
  }
  if (!f.pod.empty()) out += (out.empty() ? "" : " ") + f.pod;
  return out;
}

reports::When ToWhen(Expectation::When w) {
  switch (w) {
    case Expectation::When::kAlways: return reports::When::kAlways;
    case Expectation::When::kEventually: return reports::When::kEventually;
    case Expectation::When::kAtEnd: return reports::When::kAtEnd;
  }
  return reports::When::kAlways;
}

std::string WhenKey(Expectation::When w) { return std::string(reports::WhenName(ToWhen(w))); }

}  // namespace

reports::SeedRun ToSeedRun(const Scenario& scenario, const ScenarioResult& r, const std::string& file) {
  reports::SeedRun run;
  run.seed = r.seed;
  run.replay_command = ReplayCommand(file, r.seed);
  if (!r.status.ok()) {
    run.verdict = reports::Verdict::kError;
    run.error = r.status.message();
    return run;
  }
  run.verdict = r.passed ? reports::Verdict::kPass : reports::Verdict::kFail;
  std::vector<bool> used(r.violations.size(), false);
  for (const Expectation& e : scenario.expectations) {
    reports::ExpectationResult x;
    x.name = e.name;
    x.when = ToWhen(e.when);
    x.source = fmt::format("{}:{}:{}", e.pos.file, e.pos.line, e.pos.column);
    const std::string label = WhenKey(e.when) + " " + e.name;
    for (size_t i = 0; i < r.violations.size(); ++i) {
      if (used[i] || r.violations[i].expectation != label) continue;
      used[i] = true;  // two entries of one name take the violations in order
      x.passed = false;
      x.message = r.violations[i].message;
      x.first_violation_ns = r.violations[i].at.count();
      break;
    }
    run.expectations.push_back(std::move(x));
  }
  for (size_t i = 0; i < r.violations.size(); ++i) {  // mustFire and the like
    if (used[i] || r.violations[i].expectation.rfind("nemesis ", 0) != 0) continue;
    reports::ExpectationResult x;
    x.name = r.violations[i].expectation + " mustFire";
    x.when = reports::When::kAtEnd;
    x.passed = false;
    x.message = r.violations[i].message;
    x.first_violation_ns = r.violations[i].at.count();
    run.expectations.push_back(std::move(x));
  }
  for (size_t i = 0; i < r.faults.size(); ++i) {
    const AppliedFault& a = r.faults[i];
    if (IsUndo(a.fault)) continue;
    reports::FaultInterval band;
    band.start_ns = a.at.count();
    band.kind = std::string(faults::FaultKindName(a.fault.kind));
    band.target = Target(a.fault);
    band.origin = a.origin;
    for (size_t j = i + 1; j < r.faults.size() && !band.end_ns; ++j) {
      if (Undoes(r.faults[j].fault, a.fault)) band.end_ns = r.faults[j].at.count();
    }
    if (!band.end_ns && r.healed_all_at) band.end_ns = r.healed_all_at->count();
    ++run.coverage["fault." + band.kind];
    run.faults.push_back(std::move(band));
  }
  // States reached, for `ksim fuzz`'s summed coverage: which nemesis entries fired, and
  // whether the run got past its safety phase (faults healed, liveness judged).
  for (const auto& [name, fired] : r.nemesis_fired) {
    if (fired > 0) run.coverage["nemesis." + name] += static_cast<uint64_t>(fired);
  }
  if (r.healed_all_at) ++run.coverage["state.liveness-phase"];
  for (const RunEvent& e : r.events) {
    reports::TimelineEvent t;
    t.time_ns = e.at.count();
    t.kind = e.what.rfind("VIOLATION", 0) == 0 ? "violation"
             : e.what.rfind("safety phase over", 0) == 0 ? "phase"
             : e.what.rfind("timeline: ", 0) == 0 || e.what.rfind("nemesis ", 0) == 0 ? "fault"
                                                                                       : "action";
    t.description = e.what;
    run.events.push_back(std::move(t));
  }
  run.trace_hash = fmt::format("{:016x}", r.trace_hash);
  run.simulated_ns = r.simulated.count();
  return run;
}

}  // namespace ksim::scenarios
