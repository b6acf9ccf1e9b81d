#include "cluster/controllers/cron_schedule.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <vector>

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

std::optional<int64_t> CronSchedule::Next(int64_t t) const {
  // Minute by minute would be slow for sparse schedules: skip whole days and hours that
  // cannot match.
  int64_t m = (t >= 0 ? t / 60 : (t - 59) / 60) + 1;  // first whole minute after t
  const int64_t limit = m + int64_t{5} * 366 * 24 * 60;
  while (m < limit) {
    const int64_t day_index = m >= 0 ? m / 1440 : (m - 1439) / 1440;
    const sys_days day{days{day_index}};
    const std::chrono::year_month_day ymd{day};
    const unsigned month = static_cast<unsigned>(ymd.month());
    const unsigned dom = static_cast<unsigned>(ymd.day());
    const unsigned dow = std::chrono::weekday{day}.c_encoding();
    const bool dom_ok = (dom_ >> dom) & 1, dow_ok = (dow_ >> dow) & 1;
    const bool day_ok = (dom_star_ || dow_star_) ? dom_ok && dow_ok : dom_ok || dow_ok;
    if (!((month_ >> month) & 1) || !day_ok) {
      m = (day_index + 1) * 1440;
      continue;
    }
    const int64_t minute_of_day = m - day_index * 1440;
    const int64_t hour = minute_of_day / 60;
    if (!((hour_ >> hour) & 1)) {
      m = day_index * 1440 + (hour + 1) * 60;
      continue;
    }
    if (!((minute_ >> (minute_of_day % 60)) & 1)) {
      ++m;
      continue;
    }
    return m * 60;
  }
  return std::nullopt;
}

bool CronTimeZoneSupported(std::string_view zone) {
  return zone == "UTC" || zone == "Etc/UTC" || zone == "Etc/UCT" || zone == "UCT" || zone == "Etc/Universal" ||
         zone == "Universal" || zone == "Etc/Zulu" || zone == "Zulu" || zone == "Etc/GMT" || zone == "GMT" ||
         zone == "Etc/GMT0" || zone == "GMT0" || zone == "Etc/Greenwich" || zone == "Greenwich";
}

}  // namespace ksim::controllers
