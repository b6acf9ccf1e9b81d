#include "cluster/controllers/cron_schedule.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <vector>

#include "cluster/controllers/cron_time_zone.h"

namespace ksim::controllers {
namespace {

struct Field {
  const char* name;
  int min;
  int max;
  std::vector<std::string_view> names;  // names[i] = min + i
};

const std::array<Field, 5>& Fields() {
  static const std::array<Field, 5> kFields = {{
      {"minute", 0, 59, {}},
      {"hour", 0, 23, {}},
      {"day-of-month", 1, 31, {}},
      {"month", 1, 12, {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
      {"day-of-week", 0, 6, {"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
  }};
  return kFields;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

// A number or (for months and days) a name.
bool Value(std::string_view s, const Field& f, int* out, std::string* err) {
  std::string lower(s);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (size_t i = 0; i < f.names.size(); ++i) {
    if (lower == f.names[i]) {
      *out = f.min + static_cast<int>(i);
      return true;
    }
  }
  if (s.empty() || s.size() > 9 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    *err = fmt::format("failed to parse int from \"{}\"", s);
    return false;
  }
  *out = std::stoi(std::string(s));
  return true;
}

// One field into bits; `star` is set for "*" or "?" without a step > 1 (robfig's starBit).
Status ParseField(std::string_view text, const Field& f, int pos, uint64_t* bits, bool* star) {
  const auto fail = [&](const std::string& why) {
    return Status::InvalidArgument(fmt::format("{} (field {}): {}", f.name, pos, why));
  };
  if (text.empty()) return fail("empty");
  for (std::string_view part : Split(text, ',')) {
    const auto step_parts = Split(part, '/');
    if (step_parts.size() > 2) return fail(fmt::format("too many slashes: {}", part));
    const auto range = Split(step_parts[0], '-');
    if (range.size() > 2) return fail(fmt::format("too many hyphens: {}", part));
    int lo = f.min, hi = f.max, step = 1;
    bool is_star = false;
    std::string err;
    if (range.size() == 1 && (range[0] == "*" || range[0] == "?")) {
      is_star = true;
    } else {
      if (!Value(range[0], f, &lo, &err)) return fail(err);
      hi = lo;
      if (range.size() == 2 && !Value(range[1], f, &hi, &err)) return fail(err);
    }
    if (step_parts.size() == 2) {
      if (!Value(step_parts[1], Field{f.name, 0, 0, {}}, &step, &err)) return fail(err);
      if (step == 0) return fail(fmt::format("step of range should be a positive number: {}", part));
      if (!is_star && range.size() == 1) hi = f.max;  // "N/step" means "N-max/step"
      if (step > 1) is_star = false;
    }
    if (lo < f.min) return fail(fmt::format("beginning of range ({}) below minimum ({}): {}", lo, f.min, part));
    if (hi > f.max) return fail(fmt::format("end of range ({}) above maximum ({}): {}", hi, f.max, part));
    if (lo > hi) return fail(fmt::format("beginning of range ({}) beyond end of range ({}): {}", lo, hi, part));
    for (int v = lo; v <= hi; v += step) *bits |= uint64_t{1} << v;
    *star = *star || is_star;
  }
  return Status::Ok();
}

using std::chrono::days;
using std::chrono::sys_days;

}  // namespace

Status CronSchedule::Parse(std::string_view text, CronSchedule* out) {
  std::string_view s = text;
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  if (s.empty()) return Status::InvalidArgument("schedule: empty spec string");
  if (s.rfind("TZ=", 0) == 0 || s.rfind("CRON_TZ=", 0) == 0 || s.find("TZ") != std::string_view::npos) {
    return Status::InvalidArgument("schedule: cannot use TZ or CRON_TZ in schedule, use timeZone field instead");
  }
  if (s[0] == '@') {
    static const std::vector<std::pair<std::string_view, std::string_view>> kDescriptors = {
        {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
        {"@daily", "0 0 * * *"},  {"@midnight", "0 0 * * *"}, {"@hourly", "0 * * * *"}};
    for (const auto& [name, spec] : kDescriptors) {
      if (s == name) return Parse(spec, out);
    }
    if (s.rfind("@every", 0) == 0) return Status::InvalidArgument("schedule: @every is not supported");
    return Status::InvalidArgument(fmt::format("schedule: unrecognized descriptor: {}", s));
  }
  std::vector<std::string_view> fields;
  for (std::string_view f : Split(s, ' ')) {
    if (!f.empty()) fields.push_back(f);
  }
  if (fields.size() != 5) {
    return Status::InvalidArgument(fmt::format("schedule: expected exactly 5 fields, found {}: \"{}\"", fields.size(), s));
  }
  CronSchedule c;
  uint64_t* bits[5] = {&c.minute_, &c.hour_, &c.dom_, &c.month_, &c.dow_};
  bool ignored = false;
  bool* stars[5] = {&ignored, &ignored, &c.dom_star_, &ignored, &c.dow_star_};
  for (int i = 0; i < 5; ++i) {
    if (Status st = ParseField(fields[i], Fields()[i], i + 1, bits[i], stars[i]); !st.ok()) return st;
  }
  *out = c;
  return Status::Ok();
}

bool CronSchedule::DayMatches(unsigned day_of_month, unsigned weekday) const {
  const bool dom_ok = (dom_ >> day_of_month) & 1, dow_ok = (dow_ >> weekday) & 1;
  return (dom_star_ || dow_star_) ? dom_ok && dow_ok : dom_ok || dow_ok;
}

std::optional<int64_t> CronSchedule::Next(int64_t t, const CronTimeZone& zone) const {
  // A port of robfig/cron v3's SpecSchedule.Next (what Kubernetes' CronJob controller
  // calls), step for step, so DST changes come out as they do there: candidates move by
  // whole months and days in wall time (Go's AddDate) but by absolute hours and minutes, so
  // an hour the clock skips is never seen and an hour it repeats is seen twice.
  const auto date = [&zone](int64_t year, int64_t month, int64_t day, int64_t hour, int64_t minute, int64_t second) {
    const int64_t m0 = month - 1;  // Go's Date normalizes month 13 to January of next year
    const int64_t y = year + (m0 >= 0 ? m0 / 12 : (m0 - 11) / 12);
    const int64_t m = m0 - (y - year) * 12 + 1;
    const sys_days first = std::chrono::year{static_cast<int>(y)} / std::chrono::month{static_cast<unsigned>(m)} / 1;
    const int64_t local_days = first.time_since_epoch().count() + day - 1;
    return zone.FromLocal(local_days * 86400 + hour * 3600 + minute * 60 + second);
  };
  struct Wall {
    int64_t year, month, day, weekday, hour, minute, second;
  };
  const auto wall = [&zone](int64_t utc) {
    const int64_t local = zone.ToLocal(utc);
    const int64_t day_index = local >= 0 ? local / 86400 : (local - 86399) / 86400;
    const sys_days day{days{day_index}};
    const std::chrono::year_month_day ymd{day};
    const int64_t sec = local - day_index * 86400;
    return Wall{static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                std::chrono::weekday{day}.c_encoding(), sec / 3600, (sec / 60) % 60, sec % 60};
  };
  t += 1;  // the upcoming second
  bool added = false;  // whether t was truncated to a field boundary yet
  Wall w = wall(t);
  const int64_t year_limit = w.year + 5;
wrap:
  w = wall(t);
  if (w.year > year_limit) return std::nullopt;
  while (!((month_ >> w.month) & 1)) {
    if (!added) {
      added = true;
      t = date(w.year, w.month, 1, 0, 0, 0);
      w = wall(t);
    }
    t = date(w.year, w.month + 1, w.day, w.hour, w.minute, w.second);
    w = wall(t);
    if (w.month == 1) goto wrap;
  }
  while (!DayMatches(static_cast<unsigned>(w.day), static_cast<unsigned>(w.weekday))) {
    if (!added) {
      added = true;
      t = date(w.year, w.month, w.day, 0, 0, 0);
      w = wall(t);
    }
    t = date(w.year, w.month, w.day + 1, w.hour, w.minute, w.second);
    w = wall(t);
    // Back to midnight if a DST change moved it (robfig: add or subtract the hours).
    if (w.hour != 0) {
      t += w.hour > 12 ? (24 - w.hour) * 3600 : -w.hour * 3600;
      w = wall(t);
    }
    if (w.day == 1) goto wrap;
  }
  while (!((hour_ >> w.hour) & 1)) {
    if (!added) {
      added = true;
      t = date(w.year, w.month, w.day, w.hour, 0, 0);
    }
    t += 3600;
    w = wall(t);
    if (w.hour == 0) goto wrap;
  }
  while (!((minute_ >> w.minute) & 1)) {
    if (!added) {
      added = true;
      t -= (t % 60 + 60) % 60;  // Go's Truncate(time.Minute): on absolute time
    }
    t += 60;
    w = wall(t);
    if (w.minute == 0) goto wrap;
  }
  if (w.second != 0) {  // the seconds field is always "0": on to the next minute
    added = true;
    t += 60 - w.second;
    goto wrap;
  }
  return t;
}

}  // namespace ksim::controllers
