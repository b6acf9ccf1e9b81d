#include "cluster/controllers/cron_time_zone.h"

#include <date/tz.h>
#include <fmt/format.h>

#include <chrono>
#include <limits>
#include <stdexcept>

namespace ksim::controllers {
namespace {

using Seconds = std::chrono::seconds;
using SysSeconds = date::sys_time<Seconds>;

}  // namespace

Status CronTimeZone::Load(std::string_view name, CronTimeZone* out) {
  CronTimeZone z;
  z.name_ = std::string(name);
  if (name == "UTC") {  // Go's LoadLocation answers "UTC" without the database too
    *out = z;
    return Status::Ok();
  }
  // Names that would leave the zoneinfo directory are not zones (Go rejects them first).
  if (name.empty() || name.front() == '/' || name.find("..") != std::string_view::npos) {
    return Status::InvalidArgument(fmt::format("unknown time zone {}", name));
  }
  try {
    z.zone_ = date::locate_zone(name);
  } catch (const std::runtime_error&) {
    return Status::InvalidArgument(fmt::format("unknown time zone {}", name));
  }
  *out = z;
  return Status::Ok();
}

CronTimeZone::Period CronTimeZone::PeriodAt(int64_t utc_s) const {
  if (zone_ == nullptr) {
    return {0, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()};
  }
  const date::sys_info info = zone_->get_info(SysSeconds{Seconds{utc_s}});
  return {info.offset.count(), info.begin.time_since_epoch().count(), info.end.time_since_epoch().count()};
}

int64_t CronTimeZone::FromLocal(int64_t local_s) const {
  // Go's Date: look the offset up at the local time read as UTC; if that offset's span
  // does not hold the resulting UTC time, use the offset in force at that UTC time.
  const Period guess = PeriodAt(local_s);
  int64_t offset = guess.offset_s;
  if (offset != 0) {
    const int64_t utc = local_s - offset;
    if (utc < guess.begin_s || utc >= guess.end_s) offset = PeriodAt(utc).offset_s;
  }
  return local_s - offset;
}

std::string CronTimeZone::Rfc3339(int64_t utc_s) const {
  const int64_t offset = PeriodAt(utc_s).offset_s;
  const auto local = date::sys_seconds{Seconds{utc_s + offset}};
  const date::sys_days day = date::floor<date::days>(local);
  const date::year_month_day ymd{day};
  const date::hh_mm_ss<Seconds> tod{local - day};
  std::string zone = "Z";
  if (offset != 0) {
    const int64_t a = offset < 0 ? -offset : offset;
    zone = fmt::format("{}{:02}:{:02}", offset < 0 ? '-' : '+', a / 3600, (a / 60) % 60);
  }
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), tod.hours().count(),
                     tod.minutes().count(), tod.seconds().count(), zone);
}

}  // namespace ksim::controllers
