#include "reports/run_record.h"

#include <gtest/gtest.h>

namespace ksim::reports {
namespace {

TEST(RunRecord, NamesRoundTrip) {
  for (Verdict v : {Verdict::kPass, Verdict::kFail, Verdict::kError}) {
    EXPECT_EQ(ParseVerdict(VerdictName(v)), v);
  }
  for (When w : {When::kAlways, When::kEventually, When::kAtEnd}) EXPECT_EQ(ParseWhen(WhenName(w)), w);
  for (Better b : {Better::kLower, Better::kHigher, Better::kNeither}) {
    EXPECT_EQ(ParseBetter(BetterName(b)), b);
  }
  EXPECT_EQ(WhenName(When::kAtEnd), "atEnd");
  EXPECT_FALSE(ParseVerdict("passed").has_value());
  EXPECT_FALSE(ParseWhen("").has_value());
}

TEST(RunRecord, Exponential125Bounds) {
  Histogram h = Histogram::Exponential125("ms", 1, 100);
  EXPECT_EQ(h.upper_bounds, (std::vector<double>{1, 2, 5, 10, 20, 50, 100}));
  EXPECT_EQ(h.counts.size(), 8u);
  Histogram small = Histogram::Exponential125("s", 0.02, 0.5);
  ASSERT_EQ(small.upper_bounds.size(), 5u);  // 0.02 0.05 0.1 0.2 0.5
  EXPECT_DOUBLE_EQ(small.upper_bounds.front(), 0.02);
  EXPECT_DOUBLE_EQ(small.upper_bounds.back(), 0.5);
}

TEST(RunRecord, HistogramBucketsAndQuantiles) {
  Histogram h = Histogram::Exponential125("ms", 1, 100);
  EXPECT_EQ(h.Quantile(0.5), 0);  // empty
  for (double v : {0.5, 1.0, 1.5, 3.0, 3.0, 7.0, 15.0, 40.0, 90.0, 1000.0}) h.Add(v);
  // A value on a bound goes into that bound's bucket.
  EXPECT_EQ(h.counts, (std::vector<uint64_t>{2, 1, 2, 1, 1, 1, 1, 1}));
  EXPECT_EQ(h.count, 10u);
  EXPECT_DOUBLE_EQ(h.Mean(), 116.1);
  EXPECT_EQ(h.Quantile(0.1), 1);
  EXPECT_EQ(h.Quantile(0.5), 5);   // the 5th of 10 values, 3.0, is in (2, 5]
  EXPECT_EQ(h.Quantile(0.9), 100);
  EXPECT_EQ(h.Quantile(1.0), 100);  // the overflow reports the largest bound
}

TEST(RunRecord, OverallVerdictAndCoverage) {
  RunRecord record;
  EXPECT_EQ(record.OverallVerdict(), Verdict::kPass);
  record.seeds.resize(3);
  record.seeds[0].coverage = {{"fault.crash", 2}, {"leader changed", 1}};
  record.seeds[1].coverage = {{"fault.crash", 1}};
  EXPECT_EQ(record.OverallVerdict(), Verdict::kPass);
  record.seeds[1].verdict = Verdict::kError;
  EXPECT_EQ(record.OverallVerdict(), Verdict::kError);
  record.seeds[2].verdict = Verdict::kFail;
  EXPECT_EQ(record.OverallVerdict(), Verdict::kFail);
  auto merged = record.MergedCoverage();
  EXPECT_EQ(merged["fault.crash"], 3u);
  EXPECT_EQ(merged["leader changed"], 1u);
}

}  // namespace
}  // namespace ksim::reports
