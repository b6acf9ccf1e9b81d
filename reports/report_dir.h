// The files of a report directory (`ksim run ... --report DIR`): record.json (the run
// record, reports/run_record_json.h), report.html and junit.xml.
#pragma once

#include <string>

#include "reports/html_report.h"
#include "reports/run_record.h"

namespace ksim::reports {

inline constexpr const char* kRecordFileName = "record.json";
inline constexpr const char* kHtmlFileName = "report.html";
inline constexpr const char* kJUnitFileName = "junit.xml";

// Creates `dir` (and its parents) if needed and writes the three files, replacing them.
// False with *error naming the path and the reason when one cannot be written.
bool WriteReportDir(const RunRecord& record, const std::string& dir, std::string* error,
                    const HtmlOptions& html_options = {});

}  // namespace ksim::reports
