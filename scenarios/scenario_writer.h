// Writing a Scenario back as a scenario file: what the shrinker (issue 17) writes next to a
// report so that `ksim run` replays the minimal failing case. ParseScenario reads the text
// back to the same values, with two normal forms: manifests are written inline (their
// sources become the written file's lines) and each fault of the timeline gets its own
// entry (a host selector or a whole-host crash was expanded at load), in the same order.
#pragma once

#include <string>

#include "scenarios/scenario.h"

namespace ksim::scenarios {

std::string FormatScenario(const Scenario& scenario);

}  // namespace ksim::scenarios
