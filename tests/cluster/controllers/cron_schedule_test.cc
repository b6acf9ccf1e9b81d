// The cron parser (cron_schedule.h): next times for the standard syntax and descriptors,
// robfig/cron's day-of-month / day-of-week rule, time zones across DST changes, and (property) any bad input is rejected
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
}

// Next in `zone` (a name in the OS tz database).
int64_t NextIn(const std::string& zone_name, const std::string& spec, int64_t t) {
  CronTimeZone zone;
  const Status zs = CronTimeZone::Load(zone_name, &zone);
  EXPECT_TRUE(zs.ok()) << zone_name << ": " << zs.message();
  CronSchedule s;
  const Status st = CronSchedule::Parse(spec, &s);
  EXPECT_TRUE(st.ok()) << spec << ": " << st.message();
  return s.Next(t, zone).value_or(-1);
}

// DST as robfig/cron v3 computes it (Kubernetes' CronJob controller calls its
// SpecSchedule.Next): its spec_test.go TestNext expects, in America/New_York,
//   from 2012-03-11T00:00-05:00, "0 30 2 11 Mar ?" -> 2013-03-11T02:30-04:00 (the skipped
//     2:30 does not fire that day; the next matching one a year later does), and
//   from 2012-11-04T01:45-04:00, "0 30 1 04 Nov ?" -> 2012-11-04T01:30-05:00 (the repeated
//     1:30 fires again in standard time: an ambiguous time fires twice, once per offset).
// Expected UTC seconds below were computed independently with Python's zoneinfo.
TEST(CronScheduleTimeZone, RobfigDstVectors) {
  EXPECT_EQ(NextIn("America/New_York", "30 2 11 mar *", 1331442000), 1362983400);
  EXPECT_EQ(NextIn("America/New_York", "30 1 4 nov *", 1352007900), 1352010600);
}

TEST(CronScheduleTimeZone, NewYorkSpringForward) {
  // 2026-03-08 02:00 EST jumps to 03:00 EDT. 02:30 does not exist that day: skipped to the 9th.
  EXPECT_EQ(NextIn("America/New_York", "30 2 * * *", 1772902800), 1773037800) << "from 03-07 12:00 EST";
  // Hourly: 01:00 EST is followed by 03:00 EDT, one real hour later.
  EXPECT_EQ(NextIn("America/New_York", "0 * * * *", 1772949600), 1772953200);
  // Daily at 09:00 wall time: 23 real hours from the 7th to the 8th.
  EXPECT_EQ(NextIn("America/New_York", "0 9 * * *", 1772892000), 1772974800);
}

TEST(CronScheduleTimeZone, NewYorkFallBack) {
  // 2026-11-01 02:00 EDT falls back to 01:00 EST: 01:30 happens twice and fires twice.
  const int64_t midnight = 1793505600, first = 1793511000, second = 1793514600, next_day = 1793601000;
  EXPECT_EQ(NextIn("America/New_York", "30 1 * * *", midnight), first) << "01:30 EDT";
  EXPECT_EQ(NextIn("America/New_York", "30 1 * * *", first), second) << "01:30 EST";
  EXPECT_EQ(NextIn("America/New_York", "30 1 * * *", second), next_day);
  // Hourly: 01:00 EDT, 01:00 EST, 02:00 EST.
  EXPECT_EQ(NextIn("America/New_York", "0 * * * *", 1793509200), 1793512800);
  EXPECT_EQ(NextIn("America/New_York", "0 * * * *", 1793512800), 1793516400);
}

TEST(CronScheduleTimeZone, Berlin) {
  // 2026-03-29 02:00 CET -> 03:00 CEST: 02:30 is skipped to the 30th (00:30 UTC).
  EXPECT_EQ(NextIn("Europe/Berlin", "30 2 * * *", 1774699200), 1774830600);
  // 2026-10-25 03:00 CEST -> 02:00 CET: 02:30 CEST, 02:30 CET, then the 26th.
  EXPECT_EQ(NextIn("Europe/Berlin", "30 2 * * *", 1792843200), 1792888200);
  EXPECT_EQ(NextIn("Europe/Berlin", "30 2 * * *", 1792888200), 1792891800);
  EXPECT_EQ(NextIn("Europe/Berlin", "30 2 * * *", 1792891800), 1792978200);
}

TEST(CronScheduleTimeZone, KolkataHalfHourOffsetAndLocalWeekday) {
  // kT is Monday 2026-12-07 20:34:05 IST (+05:30).
  EXPECT_EQ(NextIn("Asia/Kolkata", "0 0 * * *", kT), 1796668200) << "12-08 00:00 IST = 12-07 18:30 UTC";
  EXPECT_EQ(NextIn("Asia/Kolkata", "30 5 * * *", kT), 1796688000) << "12-08 05:30 IST = 00:00 UTC";
  // Sunday is the local day: 12-13 00:00 IST is still Saturday in UTC.
  EXPECT_EQ(NextIn("Asia/Kolkata", "0 0 * * sun", kT), 1797100200);
  EXPECT_EQ(NextIn("UTC", "0 0 * * sun", kT), NextOf("0 0 * * sun")) << "a loaded UTC is the default zone";
}

TEST(CronTimeZone, UnknownNamesAreRejectedByName) {
  CronTimeZone z;
  EXPECT_EQ(CronTimeZone::Load("Mars/Olympus", &z).message(), "unknown time zone Mars/Olympus");
  EXPECT_FALSE(CronTimeZone::Load("../../etc/passwd", &z).ok());
  EXPECT_FALSE(CronTimeZone::Load("/usr/share/zoneinfo/UTC", &z).ok());
  EXPECT_FALSE(CronTimeZone::Load("", &z).ok());
  EXPECT_TRUE(CronTimeZone::Load("Etc/UTC", &z).ok());
  ASSERT_TRUE(CronTimeZone::Load("Asia/Kolkata", &z).ok());
  EXPECT_EQ(z.Rfc3339(1796688000), "2026-12-08T05:30:00+05:30");
  ASSERT_TRUE(CronTimeZone::Load("America/New_York", &z).ok());
  EXPECT_EQ(z.Rfc3339(1793514600), "2026-11-01T01:30:00-05:00");
  EXPECT_EQ(CronTimeZone().Rfc3339(1796688000), "2026-12-08T00:00:00Z");
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
