// A scenario run as a reports::SeedRun (reports/run_record.h), for `ksim run --report DIR`.
#pragma once

#include <string>

#include "reports/run_record.h"
#include "scenarios/scenario.h"
#include "scenarios/scenario_runner.h"

namespace ksim::scenarios {

// `file` is the scenario file as the user named it (for the replay command and sources).
// Faults become intervals: each ends at its undo (heal, restart, powerOn, resume, nominal
// clock, diskHeal, linkClear, imagePullHeal) or at the safety phase's HealAll; undos are
// not listed themselves. Coverage marks count "fault.<kind>" per fault injected.
reports::SeedRun ToSeedRun(const Scenario& scenario, const ScenarioResult& result, const std::string& file);

}  // namespace ksim::scenarios
