// What RunScenario draws from the seed before the world exists: swarm values and nemesis
// schedules (scenario_runner.h).
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "cluster/env/random.h"
#include "faults/nemesis.h"
#include "scenarios/scenario_runner.h"

namespace ksim::scenarios {
namespace {

double Draw(Random& r, const SwarmRange& range, bool integral) {
  if (!range.choices.empty()) return range.choices[r.Uniform(range.choices.size())];
  if (integral) {
    const auto lo = static_cast<int64_t>(range.min), hi = static_cast<int64_t>(range.max);
    return static_cast<double>(r.Range(lo, std::max(lo, hi)));
  }
  return range.min + r.NextDouble() * (range.max - range.min);
}

}  // namespace

std::optional<faults::FaultKind> NemesisFaultKind(ActionKind k) {
  using F = faults::FaultKind;
  switch (k) {
    case ActionKind::kCrash: return F::kCrashProcess;
    case ActionKind::kPowerOff: return F::kPowerOff;
    case ActionKind::kPause: return F::kPause;
    case ActionKind::kPartition: return F::kPartition;
    case ActionKind::kIsolate: return F::kIsolate;
    case ActionKind::kOneWay: return F::kOneWay;
    case ActionKind::kBridge: return F::kBridge;
    case ActionKind::kClockSkew: return F::kClockSkew;
    case ActionKind::kClockJump: return F::kClockJump;
    case ActionKind::kClockDrift: return F::kClockDrift;
    case ActionKind::kSlowDisk: return F::kSlowDisk;
    case ActionKind::kDiskErrors: return F::kDiskErrors;
    case ActionKind::kLinkFaults: return F::kLinkFaults;
    case ActionKind::kImagePullFailure: return F::kImagePullFailure;
    default: return std::nullopt;  // containerCrash, cpuLoad: their pods are not known when drawn
  }
}

Status ApplySwarm(const Scenario& in, uint64_t seed, Scenario* out) {
  *out = in;
  const Random root(seed);
  bool counts_changed = false;
  for (const SwarmRange& range : in.swarm) {
    Random r = root.Child("swarm/" + range.path);
    const size_t i = static_cast<size_t>(range.index);
    switch (range.field) {
      case SwarmRange::Field::kWorkerGroupCount:
        if (i >= out->cluster.worker_groups.size()) return Status::InvalidArgument(range.path + ": no such group");
        out->cluster.worker_groups[i].count = static_cast<int>(Draw(r, range, true));
        counts_changed = true;
        break;
      case SwarmRange::Field::kNetworkLatency: out->cluster.network.latency = Nanos(static_cast<int64_t>(Draw(r, range, true))); break;
      case SwarmRange::Field::kNetworkJitter: out->cluster.network.jitter = Nanos(static_cast<int64_t>(Draw(r, range, true))); break;
      case SwarmRange::Field::kNetworkLoss: out->cluster.network.loss = Draw(r, range, false); break;
      case SwarmRange::Field::kNetworkDuplicate: out->cluster.network.duplicate = Draw(r, range, false); break;
      case SwarmRange::Field::kNetworkReorder: out->cluster.network.reorder = Draw(r, range, false); break;
      case SwarmRange::Field::kNemesisEvery:
      case SwarmRange::Field::kNemesisDuration: {
        if (i >= out->nemesis.size()) return Status::InvalidArgument(range.path + ": no such nemesis entry");
        const Nanos v(static_cast<int64_t>(Draw(r, range, true)));
        (range.field == SwarmRange::Field::kNemesisEvery ? out->nemesis[i].mean_interval : out->nemesis[i].fault_duration) = v;
        break;
      }
    }
  }
  if (!counts_changed) return Status::Ok();
  // Worker numbers shift with the counts: "worker-<n>" names in the file meant (group, k);
  // map each to its new number, dropping workers a smaller group no longer has.
  std::map<std::string, std::string> renamed;
  int next = 1;
  for (size_t g = 0; g < out->cluster.worker_groups.size(); ++g) {
    WorkerGroup& group = out->cluster.worker_groups[g];
    const WorkerGroup& old = in.cluster.worker_groups[g];
    for (int k = 0; k < old.count; ++k) {
      renamed[fmt::format("worker-{}", old.first_worker + k)] = k < group.count ? fmt::format("worker-{}", next + k) : "";
    }
    group.first_worker = next;
    next += group.count;
  }
  auto rename = [&](std::string& host) {
    auto it = renamed.find(host);
    if (it != renamed.end() && !it->second.empty()) host = it->second;
  };
  for (TimelineEntry& e : out->timeline) {
    rename(e.api.node);
    for (faults::Fault& f : e.faults) {
      rename(f.host);
      for (auto& group : f.groups) std::for_each(group.begin(), group.end(), rename);
    }
  }
  for (NemesisSpec& n : out->nemesis) {
    std::vector<std::string> targets;
    for (const std::string& t : n.targets) {
      auto it = renamed.find(t);
      if (it == renamed.end()) targets.push_back(t);
      else if (!it->second.empty()) targets.push_back(it->second);
    }
    n.targets = std::move(targets);
  }
  return Status::Ok();
}

Status NemesisSchedule(const Scenario& s, uint64_t seed,
                       const std::vector<std::pair<std::string, std::vector<std::string>>>& host_processes,
                       std::vector<std::pair<std::string, std::vector<faults::TimedFault>>>* out) {
  out->clear();
  const Random root(seed);
  for (const NemesisSpec& n : s.nemesis) {
    faults::NemesisEntryOptions o;
    for (ActionKind k : n.faults) {
      const std::optional<faults::FaultKind> f = NemesisFaultKind(k);
      if (!f) {
        return Status::NotSupported(fmt::format("{}:{}:{}: nemesis {}: not implemented yet: drawing {} faults",
                                                n.pos.file, n.pos.line, n.pos.column, n.name, ActionKindName(k)));
      }
      o.kinds.push_back(*f);
    }
    o.targets = n.targets;
    for (const auto& [host, processes] : host_processes) {
      if (std::find(n.targets.begin(), n.targets.end(), host) == n.targets.end()) continue;
      std::vector<std::string> chosen;
      for (const std::string& p : processes) {
        if (n.processes.empty() || std::find(n.processes.begin(), n.processes.end(), p) != n.processes.end()) {
          chosen.push_back(p);
        }
      }
      if (!chosen.empty()) o.processes_by_host.emplace_back(host, std::move(chosen));
    }
    o.mean_interval = n.mean_interval;
    o.fault_duration = n.fault_duration;
    o.start = Nanos(0);
    o.end = s.phases.safety;
    Random r = root.Child("nemesis/" + n.name);
    out->emplace_back(n.name, faults::GenerateEntrySchedule(r, o));
  }
  return Status::Ok();
}

std::string ReplayCommand(const std::string& file, uint64_t seed) {
  return fmt::format("ksim run {} --seed {}", file, seed);
}

}  // namespace ksim::scenarios
