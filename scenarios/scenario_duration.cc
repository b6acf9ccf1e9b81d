// Durations as Go's time.ParseDuration and Kubernetes' metav1.Duration read them.
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "scenarios/scenario_loader.h"

namespace ksim::scenarios {

namespace {

__extension__ typedef __int128 Wide;  // fraction * unit needs more than 64 bits

struct Unit {
  std::string_view name;
  int64_t nanos;
};
// Longest names first so "ms" is not read as "m".
constexpr Unit kUnits[] = {{"ns", 1},           {"us", 1000},           {"ms", 1000000},
                           {"h", 3600000000000}, {"m", 60000000000},     {"s", 1000000000}};

}  // namespace

bool ParseScenarioDuration(std::string_view text, bool allow_negative, Nanos* out) {
  bool negative = false;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    negative = text[0] == '-';
    if (negative && !allow_negative) return false;
    text.remove_prefix(1);
  }
  if (text == "0") {
    *out = Nanos(0);
    return true;
  }
  if (text.empty()) return false;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t total = 0;
  while (!text.empty()) {
    int64_t whole = 0;
    size_t i = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      if (whole > (kMax - 9) / 10) return false;
      whole = whole * 10 + (text[i] - '0');
    }
    const size_t whole_digits = i;
    int64_t fraction = 0;
    int64_t scale = 1;
    if (i < text.size() && text[i] == '.') {
      for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
        if (scale < 1000000000000000000LL / 10) {  // digits past 10^-18 cannot matter
          fraction = fraction * 10 + (text[i] - '0');
          scale *= 10;
        }
      }
      if (scale == 1 && whole_digits == 0) return false;  // "." alone
    }
    if (whole_digits == 0 && scale == 1) return false;
    text.remove_prefix(i);
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (text.substr(0, u.name.size()) == u.name) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) return false;
    text.remove_prefix(unit->name.size());
    if (whole > kMax / unit->nanos) return false;
    int64_t part = whole * unit->nanos;
    // fraction / scale of the unit, in nanoseconds (rounded down, as Go does).
    const int64_t frac_nanos = static_cast<int64_t>(static_cast<Wide>(fraction) * unit->nanos / scale);
    if (part > kMax - frac_nanos) return false;
    part += frac_nanos;
    if (total > kMax - part) return false;
    total += part;
  }
  *out = Nanos(negative ? -total : total);
  return true;
}

std::string FormatScenarioDuration(Nanos d) {
  int64_t n = d.count();
  if (n == 0) return "0s";
  std::string text;
  if (n < 0) {
    text = "-";
    n = n == std::numeric_limits<int64_t>::min() ? std::numeric_limits<int64_t>::max() : -n;
  }
  const int64_t hours = n / 3600000000000;
  const int64_t minutes = n / 60000000000 % 60;
  const int64_t rest = n % 60000000000;  // seconds and below, in ns
  if (hours > 0) text += std::to_string(hours) + "h";
  if (minutes > 0) text += std::to_string(minutes) + "m";
  if (rest == 0) return text;
  if (hours == 0 && minutes == 0 && rest < 1000000000) {
    if (rest % 1000000 == 0) return text + std::to_string(rest / 1000000) + "ms";
    if (rest % 1000 == 0) return text + std::to_string(rest / 1000) + "us";
    return text + std::to_string(rest) + "ns";
  }
  std::string fraction = std::to_string(rest % 1000000000 + 1000000000).substr(1);
  while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
  text += std::to_string(rest / 1000000000);
  if (!fraction.empty()) text += "." + fraction;
  return text + "s";
}

}  // namespace ksim::scenarios
