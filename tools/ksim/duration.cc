#include "tools/ksim/duration.h"

#include <fmt/format.h>

#include <cctype>
#include <cstdint>
#include <limits>

namespace ksim::tools {

Status ParseDuration(std::string_view flag, std::string_view text, Nanos* out) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(fmt::format("{}: invalid duration '{}': {}", flag, text, why));
  };
  if (text.empty()) return bad("empty (expected e.g. 60s, 500ms, 2m, 1h30m)");
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return bad("expected a number");
    int64_t value = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      const int digit = text[i] - '0';
      if (value > (std::numeric_limits<int64_t>::max() - digit) / 10) return bad("too large");
      value = value * 10 + digit;
      ++i;
    }
    size_t j = i;
    while (j < text.size() && std::isalpha(static_cast<unsigned char>(text[j]))) ++j;
    const std::string_view unit = text.substr(i, j - i);
    int64_t scale = 0;
    if (unit == "ns") scale = 1;
    else if (unit == "us") scale = 1000;
    else if (unit == "ms") scale = 1000000;
    else if (unit == "s") scale = 1000000000;
    else if (unit == "m") scale = 60LL * 1000000000;
    else if (unit == "h") scale = 3600LL * 1000000000;
    else return bad(unit.empty() ? "missing unit (ns, us, ms, s, m or h)" : "unknown unit '" + std::string(unit) + "'");
    if (value > std::numeric_limits<int64_t>::max() / scale) return bad("too large");
    const int64_t part = value * scale;
    if (total > std::numeric_limits<int64_t>::max() - part) return bad("too large");
    total += part;
    i = j;
  }
  *out = Nanos(total);
  return Status::Ok();
}

std::string FormatDuration(Nanos d) {
  const int64_t ns = d.count();
  if (ns % 1000000000 == 0) return fmt::format("{}s", ns / 1000000000);
  if (ns % 1000000 == 0) return fmt::format("{}ms", ns / 1000000);
  if (ns % 1000 == 0) return fmt::format("{}us", ns / 1000);
  return fmt::format("{}ns", ns);
}

}  // namespace ksim::tools
