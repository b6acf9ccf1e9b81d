// `ksim report compare BASE NEW`: what got worse between two run records
// (docs/REPORTS.md, "compare").
//
// - Verdicts, by seed: a seed that passed in BASE and fails or errors in NEW, or a seed
//   only in NEW that fails or errors, is always a regression.
// - Metrics: each named metric's mean over the record's seeds; each histogram's mean and
//   p99 over its seeds' buckets merged ("<name> histogram mean", "<name> histogram p99").
//   A change beyond the threshold (percent of BASE) in the worse direction
//   (Metric::better: latencies are better lower) is a regression; from a BASE of 0 any
//   worsening is. "neither" metrics are shown, never judged.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "reports/run_record.h"

namespace ksim::reports {

struct CompareOptions {
  double default_threshold_pct = 10;
  // By metric name ("pod startup latency p99"), or by histogram name for both of its rows
  // ("api latency" covers "api latency histogram mean" and "api latency histogram p99").
  std::map<std::string, double> thresholds_pct;
};

// Parses "name=pct" (split at the last '='; pct a non-negative number) into *options.
// Returns an error message naming the flag value and the reason, or "" on success.
std::string AddThreshold(const std::string& flag_value, CompareOptions* options);

struct ComparisonRow {
  std::string item;  // "seed 8 verdict", "elections", "api latency p99"
  std::string base, now;  // as text ("pass", "1.5 s", "-")
  std::optional<double> change_pct;  // for metrics present in both
  std::optional<double> threshold_pct;
  enum class Status { kSame, kBetter, kWorseWithinThreshold, kRegression, kOnlyInBase, kOnlyInNew, kInfo } status =
      Status::kSame;
};
std::string_view StatusName(ComparisonRow::Status status);

struct Comparison {
  std::vector<ComparisonRow> rows;
  bool HasRegression() const;
};

// Fails (returns an error) when a threshold names no metric or histogram of either record.
std::optional<Comparison> CompareRecords(const RunRecord& base, const RunRecord& now, const CompareOptions& options,
                                         std::string* error);

// A fixed-width text table with a summary line ("2 regressions" / "no regression").
std::string FormatComparison(const Comparison& comparison);

}  // namespace ksim::reports
