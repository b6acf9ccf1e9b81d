// Shrinking a failing scenario run (issue 17, `ksim fuzz`): from a scenario and the seed it
// failed under, a smaller scenario that fails the same way under the same seed.
//
//   1. ExplicitFaults: the seed's swarm draws are applied and the faults its nemesis entries
//      drew become timeline entries, so the failing schedule no longer depends on draws;
//   2. ddmin over the timeline's faults (a fault and its undo, e.g. crash + restart, are one
//      unit);
//   3. fewer workers per group;
//   4. a shorter safety phase (up to the last timeline entry) and liveness phase.
// "Fails the same way": the same expectation fails (the first violation's name). Candidate
// runs are bounded (ShrinkOptions::max_runs). Replicas are not shrunk: manifests are opaque.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "scenarios/scenario.h"
#include "scenarios/scenario_runner.h"

namespace ksim::scenarios {

struct ShrinkOptions {
  int max_runs = 200;  // candidate runs, at most
};

struct ShrinkResult {
  Scenario scenario;          // the smallest scenario found that fails the same way
  std::string expectation;    // the failure kept, e.g. "eventually deploymentAvailable"
  int runs = 0;               // candidate runs spent
  bool budget_exhausted = false;
  std::vector<std::string> steps;  // what each accepted reduction did, for the report
};

// True when `candidate` fails the same way (the predicate runs it).
using FailsSameWay = std::function<bool(const Scenario& candidate)>;

// `swarmed` (ApplySwarm's output, swarm ranges then dropped) with every fault that
// `failing` got from a nemesis entry as a timeline entry of its own, nemesis entries removed.
Scenario ExplicitFaults(const Scenario& swarmed, const ScenarioResult& failing);

// Steps 2-4 over `start` (which must fail the same way already).
ShrinkResult ShrinkScenario(const Scenario& start, const FailsSameWay& fails, const ShrinkOptions& options = {});

// The whole of it for a run of `scenario` under `seed` that failed as `failing` says:
// candidates run with RunScenario under the same seed. When the explicit schedule does not
// fail the same way (draws interleaved differently), shrinking starts from the swarmed
// scenario with its nemesis kept and skips the fault steps' nemesis faults.
ShrinkResult ShrinkFailingRun(const Scenario& scenario, uint64_t seed, const ScenarioResult& failing,
                              const ShrinkOptions& options = {});

}  // namespace ksim::scenarios
