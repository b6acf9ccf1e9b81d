// Cron schedules as Kubernetes' CronJob controller reads them (robfig/cron's standard
// parser): five fields "minute hour day-of-month month day-of-week", each a list of "*",
// "?", "a", "a-b" with an optional "/step" (names jan..dec, sun..sat), or a descriptor
// @yearly @annually @monthly @weekly @daily @midnight @hourly. "TZ=" / "CRON_TZ=" prefixes
// are rejected (the CronJob's spec.timeZone says the zone); "@every" is not supported.
// Times are UTC seconds since the epoch; fields match wall time in a CronTimeZone (UTC by
// default), stepped as robfig/cron's SpecSchedule.Next steps them (see Next).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cluster/controllers/cron_time_zone.h"
#include "cluster/env/status.h"

namespace ksim::controllers {

class CronSchedule {
 public:
  // InvalidArgument naming the field and the reason, e.g.
  // "hour (field 2): end of range (24) above maximum (23): 1-24".
  static Status Parse(std::string_view text, CronSchedule* out);

  // The first matching minute strictly after `t` (UTC seconds) in wall time of `zone`, or
  // nullopt if none within five years (e.g. "0 0 30 2 *"). Across DST changes this is
  // robfig/cron's answer: a wall time the change skips never fires (2:30 on a spring-forward
  // day waits for the next matching day) and one it repeats fires in both offsets.
  std::optional<int64_t> Next(int64_t t, const CronTimeZone& zone) const;
  std::optional<int64_t> Next(int64_t t) const { return Next(t, CronTimeZone()); }

 private:
  uint64_t minute_ = 0, hour_ = 0, dom_ = 0, month_ = 0, dow_ = 0;  // bit i = value i
  bool dom_star_ = false, dow_star_ = false;  // "*" or "?" without a step

  bool DayMatches(unsigned day_of_month, unsigned weekday) const;
};

}  // namespace ksim::controllers
