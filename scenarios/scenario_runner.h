// RunScenario: one scenario file (scenario.h) under one seed, in a SimCluster.
//
//   1. swarm ranges drawn from the seed change the scenario's values (ApplySwarm);
//   2. the cluster is built and bootstrapped, taints set on the Nodes, the workload applied
//      in order (a failure there fails the run: the scenario never started as written);
//   3. time 0 is then: timeline entries and nemesis faults run at their times, every
//      expectation is checked every `poll` of simulated time;
//   4. at the end of the safety phase everything is healed (faults::HealAll), the liveness
//      phase runs, and the atEnd conditions are checked at `duration`.
//
// Random draws come from per-purpose streams of the seed: the world gets the seed itself,
// swarm range i draws from Random(seed).Child("swarm/<path>"), nemesis entry i from
// Random(seed).Child("nemesis/<name>"), so adding a nemesis entry or a swarm range does not
// change the cluster's own draws or another entry's schedule.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cluster/env/status.h"
#include "faults/fault.h"
#include "scenarios/scenario.h"
#include "scenarios/sim_cluster.h"

namespace ksim::scenarios {

struct RunOptions {
  Nanos poll = Milliseconds(100);  // how often expectations are checked (simulated time)
  Nanos bootstrap_timeout = Seconds(120);
  // Each event-log line as it happens (--verbose), besides ScenarioResult::events.
  std::function<void(const std::string&)> on_event;
  // Test hooks: change the cluster's options before it is built (after the runner set its
  // own); run at scenario time 0 (workload applied, informers synced); run at the end,
  // before the atEnd conditions are judged.
  std::function<void(SimClusterOptions*)> adjust_cluster;
  std::function<void(SimCluster&)> at_start;
  std::function<void(SimCluster&)> at_end;
};

struct RunEvent {
  Nanos at{0};  // scenario time (0 = the workload applied)
  std::string what;
};

// A fault as applied: at scenario time, from "timeline" or a nemesis entry's name.
struct AppliedFault {
  Nanos at{0};
  faults::Fault fault;
  std::string origin;
};

struct Violation {
  Nanos at{0};
  std::string expectation;  // catalogue name, with the `when` ("always noPodOnTwoNodes")
  std::string message;
};

struct ScenarioResult {
  uint64_t seed = 0;
  // Not OK: the run could not start as written (bad swarm draw, a check not implemented
  // yet, bootstrap or workload failure); no verdict.
  Status status;
  bool passed = false;  // status OK and no violation
  std::vector<Violation> violations;
  std::vector<RunEvent> events;           // timeline actions, faults, heals, failures
  std::vector<AppliedFault> faults;       // every fault applied (undos included), in order
  std::optional<Nanos> healed_all_at;     // the end of the safety phase, when it had one
  std::vector<std::pair<std::string, int>> nemesis_fired;  // entry name -> faults injected
  uint64_t trace_hash = 0;
  Nanos simulated{0};
};

// The scenario with the seed's draws of its swarm ranges applied.
Status ApplySwarm(const Scenario& in, uint64_t seed, Scenario* out);
// Every nemesis entry's schedule, at scenario times, within the safety phase; `hosts`
// gives each host's processes (for crash faults without a `processes:` list).
// InvalidArgument for a fault kind no nemesis can draw yet.
Status NemesisSchedule(const Scenario& s, uint64_t seed,
                       const std::vector<std::pair<std::string, std::vector<std::string>>>& host_processes,
                       std::vector<std::pair<std::string, std::vector<faults::TimedFault>>>* out);

ScenarioResult RunScenario(const Scenario& scenario, uint64_t seed, const RunOptions& options = {});

// The fault a nemesis `faults:` key injects (its undo is implied); nullopt for the kinds no
// nemesis draws yet (containerCrash, cpuLoad: their pods are not known when drawn).
std::optional<faults::FaultKind> NemesisFaultKind(ActionKind kind);

// "ksim run FILE --seed N".
std::string ReplayCommand(const std::string& file, uint64_t seed);

}  // namespace ksim::scenarios
