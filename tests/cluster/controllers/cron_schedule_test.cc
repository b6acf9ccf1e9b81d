// The cron parser (cron_schedule.h): next times for the standard syntax and descriptors,
// robfig/cron's day-of-month / day-of-week rule, and (property) any bad input is rejected
// with an error naming the field and the reason, never accepted or crashed on.
#include "cluster/controllers/cron_schedule.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

namespace ksim::controllers {
namespace {

// 2026-12-07 15:04:05 UTC (a Monday).
constexpr int64_t kT = 1796655845;

int64_t NextOf(const std::string& spec, int64_t t = kT) {
  CronSchedule s;
  const Status st = CronSchedule::Parse(spec, &s);
  EXPECT_TRUE(st.ok()) << spec << ": " << st.message();
  return s.Next(t).value_or(-1);
}

std::string ErrorOf(const std::string& spec) {
  CronSchedule s;
  const Status st = CronSchedule::Parse(spec, &s);
  return st.ok() ? "" : st.message();
}

TEST(CronSchedule, NextTimes) {
  const int64_t day = kT - kT % 86400;  // 2026-12-07 00:00
  EXPECT_EQ(NextOf("* * * * *"), kT - 5 + 60);
  EXPECT_EQ(NextOf("*/15 * * * *"), day + 15 * 3600 + 15 * 60);
  EXPECT_EQ(NextOf("0 * * * *"), day + 16 * 3600);
  EXPECT_EQ(NextOf("@hourly"), day + 16 * 3600);
  EXPECT_EQ(NextOf("@daily"), day + 86400);
  EXPECT_EQ(NextOf("30 2 * * *"), day + 86400 + 2 * 3600 + 1800);
  EXPECT_EQ(NextOf("0 0 * * sun"), day + 6 * 86400) << "Sunday 2026-12-13";
  EXPECT_EQ(NextOf("@weekly"), day + 6 * 86400);
  EXPECT_EQ(NextOf("0 0 1 jan *"), 1798761600) << "2027-01-01";
  EXPECT_EQ(NextOf("@yearly"), 1798761600);
  EXPECT_EQ(NextOf("@monthly"), 1798761600);
  EXPECT_EQ(NextOf("5/20 15 * * *"), day + 15 * 3600 + 5 * 60) << "5/20 = 5-59/20";
  EXPECT_EQ(NextOf("5/20 15 * * *", day + 15 * 3600 + 5 * 60), day + 15 * 3600 + 25 * 60);
  EXPECT_EQ(NextOf("0 0 29 2 *"), 1835395200) << "2028-02-29";
  EXPECT_EQ(NextOf("0 0 30 2 *"), -1) << "never";
  // Both day fields restricted: either matches (Tuesday 8th, before the 15th).
  EXPECT_EQ(NextOf("0 0 15 * tue"), day + 86400);
  // Day-of-week "*": only the 15th matches.
  EXPECT_EQ(NextOf("0 0 15 * *"), day + 8 * 86400);
  EXPECT_EQ(NextOf("0 0 */1 * tue"), day + 86400);
}

TEST(CronSchedule, ErrorsNameTheFieldAndTheReason) {
  EXPECT_EQ(ErrorOf("60 * * * *"), "minute (field 1): end of range (60) above maximum (59): 60");
  EXPECT_EQ(ErrorOf("* 1-24 * * *"), "hour (field 2): end of range (24) above maximum (23): 1-24");
  EXPECT_EQ(ErrorOf("* * 0 * *"), "day-of-month (field 3): beginning of range (0) below minimum (1): 0");
  EXPECT_EQ(ErrorOf("* * * foo *"), "month (field 4): failed to parse int from \"foo\"");
  EXPECT_EQ(ErrorOf("* * * * 7"), "day-of-week (field 5): end of range (7) above maximum (6): 7");
  EXPECT_EQ(ErrorOf("*/0 * * * *"), "minute (field 1): step of range should be a positive number: */0");
  EXPECT_EQ(ErrorOf("5-1 * * * *"), "minute (field 1): beginning of range (5) beyond end of range (1): 5-1");
  EXPECT_EQ(ErrorOf("* * * *"), "schedule: expected exactly 5 fields, found 4: \"* * * *\"");
  EXPECT_EQ(ErrorOf("TZ=UTC 0 * * * *"), "schedule: cannot use TZ or CRON_TZ in schedule, use timeZone field instead");
  EXPECT_EQ(ErrorOf("CRON_TZ=Europe/Paris 0 * * * *"),
            "schedule: cannot use TZ or CRON_TZ in schedule, use timeZone field instead");
  EXPECT_EQ(ErrorOf("@every 1h"), "schedule: @every is not supported");
  EXPECT_EQ(ErrorOf("@fortnightly"), "schedule: unrecognized descriptor: @fortnightly");
  EXPECT_EQ(ErrorOf(""), "schedule: empty spec string");
  EXPECT_TRUE(CronTimeZoneSupported("Etc/UTC"));
  EXPECT_FALSE(CronTimeZoneSupported("Europe/Paris"));
}

const std::vector<std::string> kFieldNames = {"minute", "hour", "day-of-month", "month", "day-of-week"};

// Fuzz: strings over cron's alphabet. Parse never crashes; an error always names a field
// (or "schedule") and says why; an accepted schedule's next time is a later whole minute
// that Parse/Next agree on twice.
RC_GTEST_PROP(CronScheduleProperty, AnyInputIsParsedOrRejectedWithAReason, ()) {
  const auto chars = rc::gen::elementOf(std::string("0123456789*?/-, @abcdefjmnorstuvwyADTZ=_"));
  const std::string text = *rc::gen::container<std::string>(chars);
  CronSchedule s;
  const Status st = CronSchedule::Parse(text, &s);
  if (!st.ok()) {
    const std::string& m = st.message();
    bool named = m.rfind("schedule: ", 0) == 0;
    for (size_t i = 0; i < kFieldNames.size(); ++i) {
      named = named || m.rfind(kFieldNames[i] + " (field " + std::to_string(i + 1) + "): ", 0) == 0;
    }
    RC_ASSERT(named);
    RC_ASSERT(m.size() > m.find(": ") + 2);  // a reason follows
    return;
  }
  const int64_t t = *rc::gen::inRange<int64_t>(0, int64_t{4'000'000'000});
  if (auto n = s.Next(t)) {
    RC_ASSERT(*n > t);
    RC_ASSERT(*n % 60 == 0);
    RC_ASSERT(*n - t <= int64_t{5} * 366 * 86400 + 60);
    RC_ASSERT(s.Next(*n - 1) == n);
  }
}

// A valid schedule with one field replaced by a bad token is rejected naming that field.
RC_GTEST_PROP(CronScheduleProperty, ABadFieldIsNamed, ()) {
  std::vector<std::string> fields = {"*/5", "1-3", "*", "jan-mar", "mon"};
  const int bad = *rc::gen::inRange(0, 5);
  fields[bad] = *rc::gen::element<std::string>("99", "x", "1-2-3", "1//2", "*/0", "9-1", "", "-", "1,", "100-200");
  std::string text;
  for (const auto& f : fields) text += (text.empty() ? "" : " ") + (f.empty() ? std::string("0-") : f);
  CronSchedule s;
  const Status st = CronSchedule::Parse(text, &s);
  RC_ASSERT(!st.ok());
  RC_ASSERT(st.message().rfind(kFieldNames[bad] + " (field " + std::to_string(bad + 1) + "): ", 0) == 0);
}

}  // namespace
}  // namespace ksim::controllers
