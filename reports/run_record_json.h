// RunRecord <-> JSON, format "ksim-run-record/v1" (docs/REPORTS.md, "JSON").
//
// The reader is strict, as scenario files are: a missing required key, a value of the
// wrong type, an unknown key or an unknown enum name is an error naming the file, the
// field path ("seeds[2].expectations[0].when") and the reason. Non-finite doubles are
// written as the strings "nan", "inf", "-inf" (JSON has no such numbers).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "reports/run_record.h"

namespace ksim::reports {

inline constexpr std::string_view kRunRecordFormat = "ksim-run-record/v1";

// Pretty-printed (2-space indent), keys in a fixed order, ending in a newline.
std::string RunRecordToJson(const RunRecord& record);

// Parses `text` (the contents of `file`, named in errors). On failure returns nullopt and
// sets *error to "<file>: <field>: <reason>".
std::optional<RunRecord> ParseRunRecordJson(std::string_view text, std::string_view file, std::string* error);

// Reads and parses a file; an unreadable file is an error as well.
std::optional<RunRecord> ReadRunRecordFile(const std::string& path, std::string* error);

// Writes `contents` to `path` (replacing it); false with *error set when it cannot.
bool WriteTextFile(const std::string& path, std::string_view contents, std::string* error);

}  // namespace ksim::reports
