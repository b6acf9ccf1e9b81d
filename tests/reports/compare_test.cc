#include "reports/compare.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/reports/sample_record.h"

namespace ksim::reports {
namespace {

using Status = ComparisonRow::Status;

const ComparisonRow& Row(const Comparison& c, const std::string& item) {
  for (const ComparisonRow& r : c.rows) {
    if (r.item == item) return r;
  }
  static const ComparisonRow kMissing{"<missing>", "", "", std::nullopt, std::nullopt, Status::kInfo};
  ADD_FAILURE() << "no row " << item;
  return kMissing;
}

Comparison Compare(const RunRecord& base, const RunRecord& now, const CompareOptions& options = {}) {
  std::string error;
  std::optional<Comparison> c = CompareRecords(base, now, options, &error);
  EXPECT_TRUE(c.has_value()) << error;
  return c.value_or(Comparison{});
}

// The sample record with every seed passing.
RunRecord Passing() {
  RunRecord r = testing::SampleRecord();
  for (SeedRun& run : r.seeds) {
    run.verdict = Verdict::kPass;
    for (ExpectationResult& e : run.expectations) e.passed = true;
  }
  return r;
}

TEST(ReportCompare, ARecordAgainstItselfHasNoRegression) {
  Comparison c = Compare(testing::SampleRecord(), testing::SampleRecord());
  EXPECT_FALSE(c.HasRegression()) << FormatComparison(c);
  EXPECT_EQ(Row(c, "seed 8 verdict").status, Status::kSame);  // failing in both: not a new regression
  EXPECT_EQ(Row(c, "elections").status, Status::kSame);
  EXPECT_NE(FormatComparison(c).find("no regression\n"), std::string::npos);
}

TEST(ReportCompare, PassToFailIsAlwaysARegression) {
  Comparison c = Compare(Passing(), testing::SampleRecord());
  EXPECT_TRUE(c.HasRegression());
  EXPECT_EQ(Row(c, "seed 8 verdict").status, Status::kRegression);
  EXPECT_EQ(Row(c, "seed 7 verdict").status, Status::kSame);
  // Fail -> pass is an improvement.
  Comparison back = Compare(testing::SampleRecord(), Passing());
  EXPECT_EQ(Row(back, "seed 8 verdict").status, Status::kBetter);
  EXPECT_FALSE(back.HasRegression());
  // A new seed that errors is a regression; a base seed that disappeared is not.
  RunRecord more = Passing();
  more.seeds.push_back(more.seeds[0]);
  more.seeds.back().seed = 99;
  more.seeds.back().verdict = Verdict::kError;
  more.seeds.erase(more.seeds.begin());
  Comparison added = Compare(Passing(), more);
  EXPECT_EQ(Row(added, "seed 99 verdict").status, Status::kRegression);
  EXPECT_EQ(Row(added, "seed 7 verdict").status, Status::kOnlyInBase);
}

TEST(ReportCompare, MetricsAreJudgedInTheirWorseDirectionAgainstTheThreshold) {
  RunRecord base = Passing(), now = Passing();
  // Means over the two seeds: p99 latency (4.0 + 6.5) / 2 = 5.25 s in base.
  for (SeedRun& run : now.seeds) {
    run.metrics["pod startup latency p99"].value *= 1.2;  // +20%: lower is better
    run.metrics["pod startup latency p50"].value *= 1.05;  // +5%: within 10%
    run.metrics["ready pods at end"].value = 4;            // -20%: higher is better
    run.metrics["messages"].value *= 3;                    // neither: reported only
    run.metrics["elections"].value = 1;                    // -50%: better
  }
  Comparison c = Compare(base, now);
  EXPECT_EQ(Row(c, "pod startup latency p99").status, Status::kRegression);
  EXPECT_NEAR(*Row(c, "pod startup latency p99").change_pct, 20, 1e-9);
  EXPECT_EQ(Row(c, "pod startup latency p50").status, Status::kWorseWithinThreshold);
  EXPECT_EQ(Row(c, "ready pods at end").status, Status::kRegression);
  EXPECT_EQ(Row(c, "messages").status, Status::kInfo);
  EXPECT_EQ(Row(c, "elections").status, Status::kBetter);
  EXPECT_NE(FormatComparison(c).find("2 regressions\n"), std::string::npos) << FormatComparison(c);
  // A threshold per metric lifts the bound.
  CompareOptions options;
  ASSERT_EQ(AddThreshold("pod startup latency p99=25", &options), "");
  ASSERT_EQ(AddThreshold("ready pods at end=20", &options), "");
  Comparison relaxed = Compare(base, now, options);
  EXPECT_EQ(Row(relaxed, "pod startup latency p99").status, Status::kWorseWithinThreshold);
  EXPECT_EQ(Row(relaxed, "ready pods at end").status, Status::kWorseWithinThreshold);  // exactly 20%: not beyond
  EXPECT_FALSE(relaxed.HasRegression()) << FormatComparison(relaxed);
}

TEST(ReportCompare, HistogramsCompareMeanAndP99AndAZeroBaseWorsensAtAnyThreshold) {
  RunRecord base = Passing(), now = Passing();
  for (SeedRun& run : now.seeds) {
    for (int i = 0; i < 40; ++i) run.histograms["api latency"].Add(800);  // a slow tail
    run.metrics["evictions"] = {1, "count", Better::kLower};
  }
  for (SeedRun& run : base.seeds) run.metrics["evictions"] = {0, "count", Better::kLower};
  Comparison c = Compare(base, now);
  EXPECT_EQ(Row(c, "api latency histogram p99").status, Status::kRegression);
  EXPECT_EQ(Row(c, "api latency histogram mean").status, Status::kRegression);
  EXPECT_EQ(Row(c, "pod startup latency histogram p99").status, Status::kSame);
  EXPECT_EQ(Row(c, "evictions").status, Status::kRegression);
  CompareOptions options;
  ASSERT_EQ(AddThreshold("api latency=1000", &options), "");  // covers both histogram rows
  options.default_threshold_pct = 1e9;
  Comparison relaxed = Compare(base, now, options);
  EXPECT_EQ(Row(relaxed, "api latency histogram p99").status, Status::kWorseWithinThreshold);
  EXPECT_EQ(Row(relaxed, "evictions").status, Status::kRegression);  // from 0: infinitely worse
}

TEST(ReportCompare, AMetricThatBecameNaNIsARegression) {
  RunRecord base = Passing(), now = Passing();
  for (SeedRun& run : now.seeds) {
    run.metrics["pod startup latency p50"].value = std::nan("");
    run.metrics["messages"].value = std::nan("");
  }
  for (SeedRun& run : base.seeds) run.metrics["elections"].value = std::nan("");
  Comparison c = Compare(base, now);
  EXPECT_EQ(Row(c, "pod startup latency p50").status, Status::kRegression);
  EXPECT_FALSE(Row(c, "pod startup latency p50").change_pct.has_value());
  EXPECT_EQ(Row(c, "messages").status, Status::kInfo);   // never judged
  EXPECT_EQ(Row(c, "elections").status, Status::kInfo);  // NaN in base: nothing to compare with
}

TEST(ReportCompare, BadThresholdsAreErrors) {
  CompareOptions options;
  EXPECT_EQ(AddThreshold("latency", &options), "--threshold latency: expected name=percent");
  EXPECT_EQ(AddThreshold("latency=-5", &options), "--threshold latency=-5: percent '-5' is not a non-negative number");
  EXPECT_EQ(AddThreshold("latency=5x", &options), "--threshold latency=5x: percent '5x' is not a non-negative number");
  EXPECT_EQ(AddThreshold("a=b=5", &options), "");  // the name may hold '='
  EXPECT_EQ(options.thresholds_pct.at("a=b"), 5);
  std::string error;
  EXPECT_FALSE(CompareRecords(Passing(), Passing(), options, &error).has_value());
  EXPECT_EQ(error, "--threshold a=b=5: no metric or histogram of that name");
}

}  // namespace
}  // namespace ksim::reports
