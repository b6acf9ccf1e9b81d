// Parsing of human durations on the command line: "60s", "500ms", "2m", "1h30m", "250us".
#pragma once

#include <string>
#include <string_view>

#include "cluster/env/status.h"
#include "cluster/env/time.h"

namespace ksim::tools {

// Parses one or more <integer><unit> parts (units: ns, us, ms, s, m, h). Returns
// InvalidArgument naming `flag` and the reason on anything else, including overflow.
Status ParseDuration(std::string_view flag, std::string_view text, Nanos* out);

// "60s", "1.5s", "250ms": the shortest exact rendering for messages.
std::string FormatDuration(Nanos d);

}  // namespace ksim::tools
