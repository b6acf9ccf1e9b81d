// A realistic RunRecord for the renderers' tests: two seeds (one passes, one fails), fault
// bands, a ready-pods series, leader changes, metrics and histograms. `hostile` puts
// markup, quotes, control characters and non-ASCII text into every string.
#pragma once

#include <string>

#include "reports/run_record.h"

namespace ksim::reports::testing {

// The text used in hostile records: HTML/XML markup, entities, quotes, a CDATA end,
// control characters and multi-byte UTF-8.
std::string HostileText();

RunRecord SampleRecord(bool hostile = false);

}  // namespace ksim::reports::testing
