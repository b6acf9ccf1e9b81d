#include "reports/run_record_json.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace ksim::reports {
namespace {

using Json = nlohmann::ordered_json;

Json Double(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

Json SeedToJson(const SeedRun& run) {
  Json j;
  j["seed"] = run.seed;
  j["verdict"] = VerdictName(run.verdict);
  j["error"] = run.error;
  j["replay_command"] = run.replay_command;
  j["trace_hash"] = run.trace_hash;
  j["simulated_ns"] = run.simulated_ns;
  j["wall_ns"] = run.wall_ns;
  Json& expectations = j["expectations"] = Json::array();
  for (const ExpectationResult& e : run.expectations) {
    Json x;
    x["name"] = e.name;
    x["when"] = WhenName(e.when);
    x["passed"] = e.passed;
    x["message"] = e.message;
    if (e.first_violation_ns) x["first_violation_ns"] = *e.first_violation_ns;
    x["source"] = e.source;
    expectations.push_back(std::move(x));
  }
  Json& faults = j["faults"] = Json::array();
  for (const FaultInterval& f : run.faults) {
    Json x;
    x["start_ns"] = f.start_ns;
    if (f.end_ns) x["end_ns"] = *f.end_ns;
    x["kind"] = f.kind;
    x["target"] = f.target;
    x["origin"] = f.origin;
    faults.push_back(std::move(x));
  }
  Json& events = j["events"] = Json::array();
  for (const TimelineEvent& e : run.events) {
    events.push_back(Json{{"time_ns", e.time_ns}, {"kind", e.kind}, {"description", e.description}});
  }
  Json& series = j["series"] = Json::object();
  for (const auto& [name, samples] : run.series) {
    Json& s = series[name] = Json::array();
    for (const Sample& sample : samples) s.push_back(Json::array({sample.time_ns, Double(sample.value)}));
  }
  Json& leaders = j["leader_changes"] = Json::array();
  for (const LeaderChange& l : run.leader_changes) {
    leaders.push_back(Json{{"time_ns", l.time_ns}, {"component", l.component}, {"holder", l.holder}});
  }
  Json& metrics = j["metrics"] = Json::object();
  for (const auto& [name, m] : run.metrics) {
    metrics[name] = Json{{"value", Double(m.value)}, {"unit", m.unit}, {"better", BetterName(m.better)}};
  }
  Json& histograms = j["histograms"] = Json::object();
  for (const auto& [name, h] : run.histograms) {
    Json bounds = Json::array();
    for (double b : h.upper_bounds) bounds.push_back(Double(b));
    histograms[name] = Json{{"unit", h.unit},   {"better", BetterName(h.better)}, {"upper_bounds", bounds},
                            {"counts", h.counts}, {"count", h.count},              {"sum", Double(h.sum)}};
  }
  Json& coverage = j["coverage"] = Json::object();
  for (const auto& [name, n] : run.coverage) coverage[name] = n;
  return j;
}

// Thrown by Reader with the field path and reason; caught at the top.
struct FieldError {
  std::string field;
  std::string reason;
};

// Reads one JSON object's keys, remembering which it used so that unknown keys are errors.
class Reader {
 public:
  Reader(const Json& j, std::string path) : j_(j), path_(std::move(path)) {
    if (!j_.is_object()) Fail(path_, "expected an object");
  }

  [[noreturn]] static void Fail(const std::string& field, const std::string& reason) {
    throw FieldError{field.empty() ? "(top level)" : field, reason};
  }

  std::string Path(std::string_view key) const { return path_.empty() ? std::string(key) : path_ + "." + std::string(key); }

  const Json* Get(std::string_view key, bool required) {
    used_.insert(std::string(key));
    auto it = j_.find(key);
    if (it == j_.end()) {
      if (required) Fail(Path(key), "required key missing");
      return nullptr;
    }
    return &*it;
  }

  std::string String(std::string_view key, bool required = true) {
    const Json* v = Get(key, required);
    if (v == nullptr) return "";
    if (!v->is_string()) Fail(Path(key), "expected a string");
    return v->get<std::string>();
  }

  bool Bool(std::string_view key) {
    const Json* v = Get(key, true);
    if (!v->is_boolean()) Fail(Path(key), "expected true or false");
    return v->get<bool>();
  }

  int64_t Int(std::string_view key) { return IntValue(*Get(key, true), Path(key)); }
  std::optional<int64_t> OptionalInt(std::string_view key) {
    const Json* v = Get(key, false);
    if (v == nullptr) return std::nullopt;
    return IntValue(*v, Path(key));
  }
  uint64_t Uint(std::string_view key) { return UintValue(*Get(key, true), Path(key)); }
  double Number(std::string_view key) { return NumberValue(*Get(key, true), Path(key)); }

  const Json& Array(std::string_view key) {
    const Json* v = Get(key, true);
    if (!v->is_array()) Fail(Path(key), "expected an array");
    return *v;
  }
  const Json& Object(std::string_view key) {
    const Json* v = Get(key, true);
    if (!v->is_object()) Fail(Path(key), "expected an object");
    return *v;
  }

  static int64_t IntValue(const Json& v, const std::string& field) {
    if (v.is_number_unsigned()) {
      if (v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        Fail(field, "integer out of range");
      }
      return static_cast<int64_t>(v.get<uint64_t>());
    }
    if (!v.is_number_integer()) Fail(field, "expected an integer");
    return v.get<int64_t>();
  }
  static uint64_t UintValue(const Json& v, const std::string& field) {
    if (!v.is_number_unsigned()) Fail(field, "expected a non-negative integer");
    return v.get<uint64_t>();
  }
  static double NumberValue(const Json& v, const std::string& field) {
    if (v.is_number()) return v.get<double>();
    if (v.is_string()) {
      const std::string& s = v.get_ref<const std::string&>();
      if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
      if (s == "inf") return std::numeric_limits<double>::infinity();
      if (s == "-inf") return -std::numeric_limits<double>::infinity();
    }
    Fail(field, "expected a number (or \"nan\", \"inf\", \"-inf\")");
  }

  // Call once every key was read: any other key is an error.
  void Done() const {
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      if (!used_.count(it.key())) Fail(Path(it.key()), "unknown key");
    }
  }

 private:
  const Json& j_;
  std::string path_;
  std::set<std::string, std::less<>> used_;
};

template <typename T>
T Enum(std::optional<T> parsed, const std::string& field, const char* allowed) {
  if (!parsed) Reader::Fail(field, std::string("expected one of ") + allowed);
  return *parsed;
}

std::string Index(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

SeedRun SeedFromJson(const Json& j, const std::string& path) {
  Reader r(j, path);
  SeedRun run;
  run.seed = r.Uint("seed");
  run.verdict = Enum(ParseVerdict(r.String("verdict")), r.Path("verdict"), "pass, fail, error");
  run.error = r.String("error", false);
  run.replay_command = r.String("replay_command", false);
  run.trace_hash = r.String("trace_hash", false);
  run.simulated_ns = r.Int("simulated_ns");
  run.wall_ns = r.Int("wall_ns");
  const Json& expectations = r.Array("expectations");
  for (size_t i = 0; i < expectations.size(); ++i) {
    Reader x(expectations[i], Index(r.Path("expectations"), i));
    ExpectationResult e;
    e.name = x.String("name");
    e.when = Enum(ParseWhen(x.String("when")), x.Path("when"), "always, eventually, atEnd");
    e.passed = x.Bool("passed");
    e.message = x.String("message", false);
    e.first_violation_ns = x.OptionalInt("first_violation_ns");
    e.source = x.String("source", false);
    x.Done();
    run.expectations.push_back(std::move(e));
  }
  const Json& faults = r.Array("faults");
  for (size_t i = 0; i < faults.size(); ++i) {
    Reader x(faults[i], Index(r.Path("faults"), i));
    FaultInterval f;
    f.start_ns = x.Int("start_ns");
    f.end_ns = x.OptionalInt("end_ns");
    if (f.end_ns && *f.end_ns < f.start_ns) Reader::Fail(x.Path("end_ns"), "before start_ns");
    f.kind = x.String("kind");
    f.target = x.String("target", false);
    f.origin = x.String("origin", false);
    x.Done();
    run.faults.push_back(std::move(f));
  }
  const Json& events = r.Array("events");
  for (size_t i = 0; i < events.size(); ++i) {
    Reader x(events[i], Index(r.Path("events"), i));
    run.events.push_back(TimelineEvent{x.Int("time_ns"), x.String("kind"), x.String("description", false)});
    x.Done();
  }
  const Json& series = r.Object("series");
  for (auto it = series.begin(); it != series.end(); ++it) {
    std::string field = r.Path("series") + "." + it.key();
    if (!it->is_array()) Reader::Fail(field, "expected an array of [time_ns, value] pairs");
    std::vector<Sample>& samples = run.series[it.key()];
    for (size_t i = 0; i < it->size(); ++i) {
      const Json& pair = (*it)[i];
      if (!pair.is_array() || pair.size() != 2) Reader::Fail(Index(field, i), "expected a [time_ns, value] pair");
      samples.push_back(Sample{Reader::IntValue(pair[0], Index(field, i) + "[0]"),
                               Reader::NumberValue(pair[1], Index(field, i) + "[1]")});
    }
  }
  const Json& leaders = r.Array("leader_changes");
  for (size_t i = 0; i < leaders.size(); ++i) {
    Reader x(leaders[i], Index(r.Path("leader_changes"), i));
    run.leader_changes.push_back(LeaderChange{x.Int("time_ns"), x.String("component"), x.String("holder")});
    x.Done();
  }
  const Json& metrics = r.Object("metrics");
  for (auto it = metrics.begin(); it != metrics.end(); ++it) {
    Reader x(*it, r.Path("metrics") + "." + it.key());
    Metric m;
    m.value = x.Number("value");
    m.unit = x.String("unit", false);
    m.better = Enum(ParseBetter(x.String("better")), x.Path("better"), "lower, higher, neither");
    x.Done();
    run.metrics[it.key()] = std::move(m);
  }
  const Json& histograms = r.Object("histograms");
  for (auto it = histograms.begin(); it != histograms.end(); ++it) {
    Reader x(*it, r.Path("histograms") + "." + it.key());
    Histogram h;
    h.unit = x.String("unit", false);
    h.better = Enum(ParseBetter(x.String("better")), x.Path("better"), "lower, higher, neither");
    const Json& bounds = x.Array("upper_bounds");
    for (size_t i = 0; i < bounds.size(); ++i) {
      h.upper_bounds.push_back(Reader::NumberValue(bounds[i], Index(x.Path("upper_bounds"), i)));
      if (i > 0 && !(h.upper_bounds[i] > h.upper_bounds[i - 1])) {
        Reader::Fail(Index(x.Path("upper_bounds"), i), "bounds must increase strictly");
      }
    }
    const Json& counts = x.Array("counts");
    if (counts.size() != h.upper_bounds.size() + 1) {
      Reader::Fail(x.Path("counts"), "expected " + std::to_string(h.upper_bounds.size() + 1) +
                                         " counts (one per bound and the overflow)");
    }
    uint64_t total = 0;
    for (size_t i = 0; i < counts.size(); ++i) {
      h.counts.push_back(Reader::UintValue(counts[i], Index(x.Path("counts"), i)));
      total += h.counts.back();
    }
    h.count = x.Uint("count");
    if (h.count != total) Reader::Fail(x.Path("count"), "is not the sum of counts (" + std::to_string(total) + ")");
    h.sum = x.Number("sum");
    x.Done();
    run.histograms[it.key()] = std::move(h);
  }
  const Json& coverage = r.Object("coverage");
  for (auto it = coverage.begin(); it != coverage.end(); ++it) {
    run.coverage[it.key()] = Reader::UintValue(*it, r.Path("coverage") + "." + it.key());
  }
  r.Done();
  return run;
}

}  // namespace

std::string RunRecordToJson(const RunRecord& record) {
  Json j;
  j["format"] = kRunRecordFormat;
  j["scenario_name"] = record.scenario_name;
  j["scenario_file"] = record.scenario_file;
  j["ksim_version"] = record.ksim_version;
  j["attributes"] = Json::object();
  for (const auto& [k, v] : record.attributes) j["attributes"][k] = v;
  j["seeds"] = Json::array();
  for (const SeedRun& run : record.seeds) j["seeds"].push_back(SeedToJson(run));
  // Invalid UTF-8 in a string (a message quoting raw bytes) is replaced, not thrown on.
  return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::optional<RunRecord> ParseRunRecordJson(std::string_view text, std::string_view file, std::string* error) {
  Json j;
  try {
    j = Json::parse(text.begin(), text.end());
  } catch (const Json::exception& e) {  // parse_error, or out_of_range for a number like 1e9999
    *error = std::string(file) + ": (syntax): " + e.what();
    return std::nullopt;
  }
  try {
    Reader r(j, "");
    std::string format = r.String("format");
    if (format != kRunRecordFormat) {
      Reader::Fail("format", "is \"" + format + "\", this ksim reads \"" + std::string(kRunRecordFormat) + "\"");
    }
    RunRecord record;
    record.scenario_name = r.String("scenario_name");
    record.scenario_file = r.String("scenario_file", false);
    record.ksim_version = r.String("ksim_version", false);
    if (const Json* attributes = r.Get("attributes", false)) {
      if (!attributes->is_object()) Reader::Fail("attributes", "expected an object");
      for (auto it = attributes->begin(); it != attributes->end(); ++it) {
        if (!it->is_string()) Reader::Fail("attributes." + it.key(), "expected a string");
        record.attributes[it.key()] = it->get<std::string>();
      }
    }
    const Json& seeds = r.Array("seeds");
    for (size_t i = 0; i < seeds.size(); ++i) record.seeds.push_back(SeedFromJson(seeds[i], Index("seeds", i)));
    r.Done();
    return record;
  } catch (const FieldError& e) {
    *error = std::string(file) + ": " + e.field + ": " + e.reason;
    return std::nullopt;
  }
}

std::optional<RunRecord> ReadRunRecordFile(const std::string& path, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = path + ": cannot open: " + std::strerror(errno);
    return std::nullopt;
  }
  // A record of a thousand seeds is a few megabytes; a file far beyond that is not one.
  constexpr std::streamoff kMaxRecordBytes = std::streamoff{1} << 30;
  in.seekg(0, std::ios::end);
  if (in.tellg() > kMaxRecordBytes) {
    *error = path + ": larger than 1 GiB, the limit for a run record";
    return std::nullopt;
  }
  in.seekg(0, std::ios::beg);
  std::ostringstream contents;
  contents << in.rdbuf();
  return ParseRunRecordJson(contents.str(), path, error);
}

bool WriteTextFile(const std::string& path, std::string_view contents, std::string* error) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (out) out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  if (out) out.close();
  if (!out) {
    *error = path + ": cannot write: " + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace ksim::reports
