#include "reports/run_record.h"

#include <algorithm>
#include <cmath>

namespace ksim::reports {

std::string_view VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kPass: return "pass";
    case Verdict::kFail: return "fail";
    case Verdict::kError: return "error";
  }
  return "error";
}

std::optional<Verdict> ParseVerdict(std::string_view name) {
  for (Verdict v : {Verdict::kPass, Verdict::kFail, Verdict::kError}) {
    if (VerdictName(v) == name) return v;
  }
  return std::nullopt;
}

std::string_view WhenName(When when) {
  switch (when) {
    case When::kAlways: return "always";
    case When::kEventually: return "eventually";
    case When::kAtEnd: return "atEnd";
  }
  return "always";
}

std::optional<When> ParseWhen(std::string_view name) {
  for (When w : {When::kAlways, When::kEventually, When::kAtEnd}) {
    if (WhenName(w) == name) return w;
  }
  return std::nullopt;
}

std::string_view BetterName(Better better) {
  switch (better) {
    case Better::kLower: return "lower";
    case Better::kHigher: return "higher";
    case Better::kNeither: return "neither";
  }
  return "neither";
}

std::optional<Better> ParseBetter(std::string_view name) {
  for (Better b : {Better::kLower, Better::kHigher, Better::kNeither}) {
    if (BetterName(b) == name) return b;
  }
  return std::nullopt;
}

Histogram Histogram::Exponential125(std::string unit, double min, double max) {
  Histogram h;
  h.unit = std::move(unit);
  // Start at the largest power of ten not above min, then 1-2-5 steps.
  // Each bound is m * 10^e computed afresh, so that no rounding accumulates.
  int exponent = static_cast<int>(std::floor(std::log10(min > 0 ? min : 1.0)));
  for (int i = 0; i < 64; ++i, ++exponent) {
    for (double m : {1.0, 2.0, 5.0}) {
      double bound = exponent >= 0 ? m * std::pow(10.0, exponent) : m / std::pow(10.0, -exponent);
      if (bound > max * (1 + 1e-12)) {
        h.counts.assign(h.upper_bounds.size() + 1, 0);
        return h;
      }
      if (bound >= min * (1 - 1e-12)) h.upper_bounds.push_back(bound);
    }
  }
  h.counts.assign(h.upper_bounds.size() + 1, 0);
  return h;
}

void Histogram::Add(double value) {
  if (counts.size() != upper_bounds.size() + 1) counts.resize(upper_bounds.size() + 1, 0);
  auto it = std::lower_bound(upper_bounds.begin(), upper_bounds.end(), value);
  ++counts[static_cast<size_t>(it - upper_bounds.begin())];
  ++count;
  sum += value;
}

double Histogram::Quantile(double q) const {
  if (count == 0 || upper_bounds.empty()) return 0;
  // The rank of the q-quantile, 1-based: ceil(q * count), at least 1.
  auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count)));
  rank = std::max<uint64_t>(rank, 1);
  uint64_t seen = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    seen += counts[i];
    if (seen >= rank) return upper_bounds[std::min(i, upper_bounds.size() - 1)];
  }
  return upper_bounds.back();
}

Verdict RunRecord::OverallVerdict() const {
  bool error = false;
  for (const SeedRun& run : seeds) {
    if (run.verdict == Verdict::kFail) return Verdict::kFail;
    if (run.verdict == Verdict::kError) error = true;
  }
  return error ? Verdict::kError : Verdict::kPass;
}

std::map<std::string, uint64_t> RunRecord::MergedCoverage() const {
  std::map<std::string, uint64_t> merged;
  for (const SeedRun& run : seeds) {
    for (const auto& [name, n] : run.coverage) merged[name] += n;
  }
  return merged;
}

}  // namespace ksim::reports
