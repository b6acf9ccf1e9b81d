// The first step of running a scenario: its cluster as SimClusterOptions. Taints are not
// SimCluster options; the runner sets them on the Nodes after bootstrap (ScenarioTaints).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "scenarios/scenario.h"
#include "scenarios/sim_cluster.h"

namespace ksim::scenarios {

// REQUIRES: `scenario` came from the loader (its counts are within SimCluster's bounds).
SimClusterOptions ToSimClusterOptions(const Scenario& scenario, uint64_t seed);

// (worker host name, taint) for every tainted worker, in worker order.
std::vector<std::pair<std::string, Taint>> ScenarioTaints(const Scenario& scenario);

}  // namespace ksim::scenarios
