// The JSON Schema of scenario files for editors (scenarios/scenario.schema.json), generated
// from the loader's own tables: the key tables (scenario_fields.h), the actions and the
// expectation catalogue. `ksim scenario schema` prints it; a test keeps the checked-in file
// equal to it.
#pragma once

#include <string>

namespace ksim::scenarios {

// JSON text, two-space indented, ending in a newline.
std::string ScenarioJsonSchema();

}  // namespace ksim::scenarios
