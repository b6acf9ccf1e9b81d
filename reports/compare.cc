#include "reports/compare.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <set>

#include <fmt/format.h>

namespace ksim::reports {
namespace {

using Status = ComparisonRow::Status;

// A metric's value summarised over a record's seeds.
struct Summary {
  double value = 0;
  std::string unit;
  Better better = Better::kLower;
  std::string threshold_key;  // the histogram's name for its rows
};

std::map<std::string, Summary> Summarise(const RunRecord& record) {
  std::map<std::string, Summary> out;
  std::map<std::string, int> seen;
  for (const SeedRun& run : record.seeds) {
    for (const auto& [name, m] : run.metrics) {
      Summary& s = out[name];
      s.value += m.value;
      s.unit = m.unit, s.better = m.better, s.threshold_key = name;
      ++seen[name];
    }
  }
  for (auto& [name, s] : out) s.value /= seen[name];
  // Histograms: the seeds' buckets merged (when their bounds agree; else the first's kept).
  std::map<std::string, Histogram> merged;
  for (const SeedRun& run : record.seeds) {
    for (const auto& [name, h] : run.histograms) {
      auto [it, inserted] = merged.emplace(name, h);
      if (inserted || it->second.upper_bounds != h.upper_bounds) continue;
      for (size_t i = 0; i < h.counts.size() && i < it->second.counts.size(); ++i) it->second.counts[i] += h.counts[i];
      it->second.count += h.count;
      it->second.sum += h.sum;
    }
  }
  for (const auto& [name, h] : merged) {
    // "histogram" in the row name: a metric may be called "<name> p99" too.
    out[name + " histogram mean"] = Summary{h.Mean(), h.unit, h.better, name};
    out[name + " histogram p99"] = Summary{h.Quantile(0.99), h.unit, h.better, name};
  }
  return out;
}

std::string Number(double v, const std::string& unit) {
  return unit.empty() ? fmt::format("{:.6g}", v) : fmt::format("{:.6g} {}", v, unit);
}

}  // namespace

std::string_view StatusName(Status status) {
  switch (status) {
    case Status::kSame: return "same";
    case Status::kBetter: return "better";
    case Status::kWorseWithinThreshold: return "worse (within threshold)";
    case Status::kRegression: return "REGRESSION";
    case Status::kOnlyInBase: return "only in base";
    case Status::kOnlyInNew: return "only in new";
    case Status::kInfo: return "info";
  }
  return "info";
}

std::string AddThreshold(const std::string& flag_value, CompareOptions* options) {
  size_t eq = flag_value.rfind('=');
  if (eq == std::string::npos || eq == 0) return "--threshold " + flag_value + ": expected name=percent";
  std::string pct_text = flag_value.substr(eq + 1);
  char* end = nullptr;
  double pct = std::strtod(pct_text.c_str(), &end);
  if (pct_text.empty() || end != pct_text.c_str() + pct_text.size() || !std::isfinite(pct) || pct < 0) {
    return "--threshold " + flag_value + ": percent '" + pct_text + "' is not a non-negative number";
  }
  options->thresholds_pct[flag_value.substr(0, eq)] = pct;
  return "";
}

bool Comparison::HasRegression() const {
  return std::any_of(rows.begin(), rows.end(), [](const ComparisonRow& r) { return r.status == Status::kRegression; });
}

std::optional<Comparison> CompareRecords(const RunRecord& base, const RunRecord& now, const CompareOptions& options,
                                         std::string* error) {
  Comparison c;
  // Verdicts by seed, in NEW's order, then seeds only in BASE.
  std::map<uint64_t, Verdict> base_verdicts, new_verdicts;
  for (const SeedRun& run : base.seeds) base_verdicts.emplace(run.seed, run.verdict);
  for (const SeedRun& run : now.seeds) {
    if (!new_verdicts.emplace(run.seed, run.verdict).second) continue;
    ComparisonRow row{fmt::format("seed {} verdict", run.seed), "-", std::string(VerdictName(run.verdict)),
                      std::nullopt, std::nullopt, Status::kSame};
    auto it = base_verdicts.find(run.seed);
    bool bad = run.verdict != Verdict::kPass;
    if (it == base_verdicts.end()) {
      row.status = bad ? Status::kRegression : Status::kOnlyInNew;
    } else {
      row.base = VerdictName(it->second);
      bool was_bad = it->second != Verdict::kPass;
      row.status = bad && !was_bad ? Status::kRegression : !bad && was_bad ? Status::kBetter : Status::kSame;
    }
    c.rows.push_back(std::move(row));
  }
  for (const SeedRun& run : base.seeds) {
    if (new_verdicts.count(run.seed)) continue;
    c.rows.push_back({fmt::format("seed {} verdict", run.seed), std::string(VerdictName(run.verdict)), "-",
                      std::nullopt, std::nullopt, Status::kOnlyInBase});
  }
  std::map<std::string, Summary> b = Summarise(base), n = Summarise(now);
  std::set<std::string> keys;
  for (const auto& [name, s] : b) keys.insert(s.threshold_key), keys.insert(name);
  for (const auto& [name, s] : n) keys.insert(s.threshold_key), keys.insert(name);
  for (const auto& [name, pct] : options.thresholds_pct) {
    if (!keys.count(name)) {
      *error = "--threshold " + name + "=" + fmt::format("{:g}", pct) + ": no metric or histogram of that name";
      return std::nullopt;
    }
  }
  std::set<std::string> names;
  for (const auto& [name, s] : b) names.insert(name);
  for (const auto& [name, s] : n) names.insert(name);
  for (const std::string& name : names) {
    auto bi = b.find(name), ni = n.find(name);
    ComparisonRow row{name, "-", "-", std::nullopt, std::nullopt, Status::kSame};
    if (bi == b.end() || ni == n.end()) {
      const Summary& s = bi == b.end() ? ni->second : bi->second;
      (bi == b.end() ? row.now : row.base) = Number(s.value, s.unit);
      row.status = bi == b.end() ? Status::kOnlyInNew : Status::kOnlyInBase;
      c.rows.push_back(std::move(row));
      continue;
    }
    const Summary& was = bi->second;
    const Summary& is = ni->second;
    row.base = Number(was.value, was.unit);
    row.now = Number(is.value, is.unit);
    if (std::isnan(is.value) || std::isnan(was.value) || std::isinf(was.value)) {
      // No relative change exists. A judged metric that became NaN (nothing measured,
      // e.g. no pod started) is a regression; the rest is shown.
      row.status = std::isnan(is.value) && !std::isnan(was.value) && is.better != Better::kNeither
                       ? Status::kRegression
                       : Status::kInfo;
      c.rows.push_back(std::move(row));
      continue;
    }
    double delta = is.value - was.value;
    row.change_pct = was.value != 0 ? 100 * delta / std::abs(was.value)
                     : delta == 0   ? 0
                                    : std::copysign(std::numeric_limits<double>::infinity(), delta);
    auto t = options.thresholds_pct.find(name);
    if (t == options.thresholds_pct.end()) t = options.thresholds_pct.find(is.threshold_key);
    double threshold = t != options.thresholds_pct.end() ? t->second : options.default_threshold_pct;
    Better better = is.better;
    if (better == Better::kNeither) {
      row.status = Status::kInfo;
    } else {
      row.threshold_pct = threshold;
      double worse_pct = better == Better::kLower ? *row.change_pct : -*row.change_pct;
      row.status = worse_pct > threshold ? Status::kRegression
                   : worse_pct > 0       ? Status::kWorseWithinThreshold
                   : worse_pct < 0       ? Status::kBetter
                                         : Status::kSame;
    }
    c.rows.push_back(std::move(row));
  }
  return c;
}

std::string FormatComparison(const Comparison& comparison) {
  std::vector<std::array<std::string, 6>> cells = {
      std::array<std::string, 6>{"item", "base", "new", "change", "threshold", "status"}};
  size_t regressions = 0;
  for (const ComparisonRow& r : comparison.rows) {
    regressions += r.status == Status::kRegression ? 1 : 0;
    cells.push_back(std::array<std::string, 6>{r.item, r.base, r.now, r.change_pct ? fmt::format("{:+.1f}%", *r.change_pct) : "",
                     r.threshold_pct ? fmt::format("{:g}%", *r.threshold_pct) : "", std::string(StatusName(r.status))});
  }
  std::array<size_t, 6> width{};
  for (const auto& row : cells) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : cells) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) line += fmt::format("{:<{}}  ", row[i], width[i]);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  out += regressions == 0 ? "no regression\n" : fmt::format("{} regression{}\n", regressions, regressions == 1 ? "" : "s");
  return out;
}

}  // namespace ksim::reports
