// RunRecord: what one `ksim run` of a scenario file leaves behind, as plain values.
//
// The runner fills it; the renderers (JSON, JUnit XML, HTML) and `ksim report compare`
// read it. It includes nothing of cluster/ or sim/ (docs/REPORTS.md): times are
// nanoseconds of simulated time since the run started, as int64 (Nanos::count()).
//
// Extending it: add a field with a default, write and read it in run_record_json.cc
// (an absent key reads as the default, so v1 files stay readable), and say so in
// docs/REPORTS.md. Named numbers, histograms, series and coverage marks need no code.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ksim::reports {

enum class Verdict {
  kPass,   // every expectation held
  kFail,   // an expectation failed
  kError,  // the run could not be carried out (bad workload, internal error): no verdict
};
std::string_view VerdictName(Verdict verdict);  // "pass", "fail", "error"
std::optional<Verdict> ParseVerdict(std::string_view name);

enum class When { kAlways, kEventually, kAtEnd };
std::string_view WhenName(When when);  // "always", "eventually", "atEnd" (the file's keys)
std::optional<When> ParseWhen(std::string_view name);

struct ExpectationResult {
  std::string name;  // the catalogue name, e.g. "noPodOnTwoNodes"
  When when = When::kAlways;
  bool passed = true;
  std::string message;                      // why it failed (empty when it passed)
  std::optional<int64_t> first_violation_ns;  // always: when it first broke; eventually: the deadline
  std::string source;                       // "file:line:col" of the expectation in the scenario

  bool operator==(const ExpectationResult&) const = default;
};

// A fault's interval: rendered as a band on the timeline.
struct FaultInterval {
  int64_t start_ns = 0;
  std::optional<int64_t> end_ns;  // absent: still active when the run ended
  std::string kind;               // the scenario's action name: "partition", "crash", ...
  std::string target;             // hosts / processes it hit, as text
  std::string origin;             // "timeline" or the nemesis name

  bool operator==(const FaultInterval&) const = default;
};

// Anything else worth a mark on the timeline: an API action, a phase change, a note.
struct TimelineEvent {
  int64_t time_ns = 0;
  std::string kind;  // "apply", "scale", "phase", "violation", ...
  std::string description;

  bool operator==(const TimelineEvent&) const = default;
};

struct Sample {
  int64_t time_ns = 0;
  double value = 0;

  bool operator==(const Sample&) const = default;
};

struct LeaderChange {
  int64_t time_ns = 0;
  std::string component;  // "store", "kube-controller-manager", "kube-scheduler"
  std::string holder;     // the new leader's identity; empty: no leader

  bool operator==(const LeaderChange&) const = default;
};

// Which way is better for `ksim report compare`.
enum class Better { kLower, kHigher, kNeither };
std::string_view BetterName(Better better);  // "lower", "higher", "neither"
std::optional<Better> ParseBetter(std::string_view name);

struct Metric {
  double value = 0;
  std::string unit;  // "s", "ms", "count", ... (free text, shown beside the value)
  Better better = Better::kLower;

  bool operator==(const Metric&) const = default;
};

// A histogram with fixed upper bounds: counts[i] counts values <= upper_bounds[i] (and
// > upper_bounds[i-1]); the last count, counts[upper_bounds.size()], is the overflow.
struct Histogram {
  std::string unit;
  Better better = Better::kLower;
  std::vector<double> upper_bounds;  // strictly increasing
  std::vector<uint64_t> counts;      // upper_bounds.size() + 1 entries
  uint64_t count = 0;
  double sum = 0;

  // Bounds 1, 2, 5, 10, 20, 50 ... up to `max` (inclusive), in the unit given.
  static Histogram Exponential125(std::string unit, double min, double max);
  void Add(double value);
  // The q-quantile (0 < q <= 1), estimated as the upper bound of the bucket that holds
  // it; the largest bound for the overflow bucket; 0 when empty.
  double Quantile(double q) const;
  double Mean() const { return count == 0 ? 0 : sum / static_cast<double>(count); }

  bool operator==(const Histogram&) const = default;
};

// One seed's run of the scenario.
struct SeedRun {
  uint64_t seed = 0;
  Verdict verdict = Verdict::kPass;
  std::string error;           // kError: what went wrong
  std::string replay_command;  // e.g. "ksim run scenarios/examples/x.yaml --seed 7"
  std::vector<ExpectationResult> expectations;
  std::vector<FaultInterval> faults;  // by start time
  std::vector<TimelineEvent> events;  // by time
  // Series sampled over time, by name, e.g. "ready pods", "nodes Ready".
  std::map<std::string, std::vector<Sample>> series;
  std::vector<LeaderChange> leader_changes;  // by time
  // e.g. "pod startup latency p50", "elections", "messages", "evictions".
  std::map<std::string, Metric> metrics;
  // e.g. "pod startup latency", "scheduling latency", "api latency".
  std::map<std::string, Histogram> histograms;
  // Coverage marks: faults fired and states reached ("fault.partition", "leader changed").
  std::map<std::string, uint64_t> coverage;
  std::string trace_hash;  // hex
  int64_t simulated_ns = 0;
  int64_t wall_ns = 0;

  bool operator==(const SeedRun&) const = default;
};

struct RunRecord {
  std::string scenario_name;
  std::string scenario_file;
  std::string ksim_version;  // free text: git describe or empty
  std::vector<SeedRun> seeds;  // in the order they ran
  // Anything else a tool wants kept (shard "2/8", host name of the CI job ...).
  std::map<std::string, std::string> attributes;

  // kFail if a seed failed, else kError if a seed errored, else kPass (also with no seeds).
  Verdict OverallVerdict() const;
  // The seeds' coverage marks summed.
  std::map<std::string, uint64_t> MergedCoverage() const;

  bool operator==(const RunRecord&) const = default;
};

}  // namespace ksim::reports
