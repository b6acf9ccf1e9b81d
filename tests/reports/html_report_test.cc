#include "reports/html_report.h"

#include <gtest/gtest.h>

#include "tests/reports/html_test_support.h"
#include "tests/reports/sample_record.h"

namespace ksim::reports {
namespace {

using testing::XmlPage;

std::string Count(const std::string& element, const std::string& css_class = "") {
  std::string test = "local-name()='" + element + "'";
  if (!css_class.empty()) test += " and contains(concat(' ', @class, ' '), ' " + css_class + " ')";
  return "count(//*[" + test + "])";
}

TEST(HtmlReport, DrawsBandsSeriesLeadersAndHistogramsPerSeed) {
  RunRecord record = testing::SampleRecord();
  XmlPage page(RunRecordToHtml(record));
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page.Eval("//*[local-name()='title']"), "ksim: rolling-update-under-partition");
  EXPECT_EQ(page.Eval(Count("section", "seed")), "2");
  // The failed seed is drawn first.
  EXPECT_EQ(page.Eval("(//*[local-name()='section'])[1]/@id"), "seed-8");
  EXPECT_EQ(page.Eval(Count("rect", "fault-band")), "6");  // 3 faults x 2 seeds
  EXPECT_EQ(page.Eval(Count("rect", "open")), "2");        // the clock skew never ended
  EXPECT_EQ(page.Eval(Count("polyline", "series-line")), "4");
  EXPECT_EQ(page.Eval(Count("circle", "leader-change")), "6");
  EXPECT_EQ(page.Eval(Count("line", "event-mark")), "4");
  EXPECT_EQ(page.Eval(Count("rect", "hist-bar")), std::to_string(2 * (9 + 11)));  // 8 and 10 bounds, each with an overflow bar
  // A partition from 20 s to 50 s of a 120 s run spans a quarter of the plot's 710 px.
  EXPECT_EQ(page.Eval("(//*[local-name()='rect' and @class='fault-band'])[1]/@width"), "177.5");
  // The ready-pods line steps: a point per sample and one before each later sample.
  std::string points = page.Eval("(//*[local-name()='polyline'])[2]/@points");
  EXPECT_EQ(std::count(points.begin(), points.end(), ','), 25 + 24);
  EXPECT_EQ(points.substr(0, 30), "170.0,170.0 199.6,170.0 199.6,");  // 0 pods, held until 5 s
  EXPECT_EQ(page.Eval(Count("td", "verdict-fail")), "2");  // seed 8's row and its expectation
  EXPECT_EQ(page.Eval(Count("script")), "0");
  EXPECT_EQ(page.Eval("count(//@src | //@href[not(starts-with(., '#'))])"), "0");  // no external asset
}

TEST(HtmlReport, HostileTextIsEscapedEverywhere) {
  RunRecord record = testing::SampleRecord(/*hostile=*/true);
  std::string html = RunRecordToHtml(record);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("</textarea"), std::string::npos);
  EXPECT_EQ(html.find("]]>"), std::string::npos);
  XmlPage page(html);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page.Eval(Count("script")), "0");
  EXPECT_EQ(page.Eval(Count("textarea")), "0");
  // The same shapes as with plain text, and the text comes back whole.
  EXPECT_EQ(page.Eval(Count("rect", "fault-band")), "6");
  EXPECT_EQ(page.Eval(Count("polyline", "series-line")), "4");
  std::string h1 = page.Eval("//*[local-name()='h1']");
  EXPECT_NE(h1.find("<script>alert('x')</script> & \"q\" ]]> <!-- --> &amp;"), std::string::npos) << h1;
  EXPECT_NE(h1.find("caf\xc3\xa9 \xe2\x9c\x93 </svg></textarea>"), std::string::npos) << h1;
}

TEST(HtmlReport, DrawsAtMostTheDetailedSeedsFailuresFirst) {
  RunRecord record = testing::SampleRecord();
  record.seeds.resize(1);  // seed 7, passed
  for (uint64_t s = 100; s < 130; ++s) {
    SeedRun run = record.seeds[0];
    run.seed = s;
    if (s == 125) run.verdict = Verdict::kError;
    record.seeds.push_back(run);
  }
  HtmlOptions options;
  options.max_detailed_seeds = 5;
  XmlPage page(RunRecordToHtml(record, options));
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page.Eval(Count("section", "seed")), "5");
  EXPECT_EQ(page.Eval("(//*[local-name()='section'])[1]/@id"), "seed-125");
  EXPECT_EQ(page.Eval("count(//*[local-name()='table' and @class='verdicts']//*[local-name()='tr'])"), "32");
}

}  // namespace
}  // namespace ksim::reports
