// IANA time zones for CronJob schedules (spec.timeZone), read from the OS tz database
// (Debian's tzdata, /usr/share/zoneinfo) through Howard Hinnant's date/tz (libdate-tz).
// The database is file input like a manifest: a zone's rules never depend on the
// process's local zone or $TZ, which nothing here reads (date::current_zone is banned by
// tests/tidy). Both the apiserver's validation and the CronJob controller use this.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cluster/env/status.h"

namespace date {
class time_zone;
}

namespace ksim::controllers {

class CronTimeZone {
 public:
  CronTimeZone() = default;  // UTC

  // The zone named `name` ("UTC", "America/New_York", ...); InvalidArgument
  // "unknown time zone <name>" (Go's time.LoadLocation message) if the database lacks it.
  static Status Load(std::string_view name, CronTimeZone* out);

  // The UTC offset in force at `utc_s` and the UTC span [begin_s, end_s) it holds for.
  struct Period {
    int64_t offset_s = 0;
    int64_t begin_s = 0;
    int64_t end_s = 0;
  };
  Period PeriodAt(int64_t utc_s) const;

  int64_t ToLocal(int64_t utc_s) const { return utc_s + PeriodAt(utc_s).offset_s; }

  // The UTC second of local wall time `local_s`, resolved as Go's time.Date does (robfig/cron
  // builds its candidate times with it): the offset in force at the local time read as UTC,
  // unless the result leaves that offset's span. So a fall-back overlap resolves to its
  // first (daylight) instant and a spring-forward gap to a time just before the gap.
  int64_t FromLocal(int64_t local_s) const;

  // RFC 3339 with this zone's offset ("2026-03-08T03:30:00-04:00"; "Z" for UTC), as Go's
  // t.In(loc).Format(time.RFC3339).
  std::string Rfc3339(int64_t utc_s) const;

  const std::string& name() const { return name_; }

 private:
  const date::time_zone* zone_ = nullptr;  // nullptr: UTC without touching the database
  std::string name_ = "UTC";
};

}  // namespace ksim::controllers
