#include "cluster/api/machinery/quantity.h"

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace ksim::api {
namespace {

constexpr Int128 kNanoPerUnit = 1000000000;
constexpr Int128 kNanoPerMilli = 1000000;
// Decimal exponents beyond this are clamped: any nonzero value is out of range (large) or
// rounds up to 1n (small) long before.
constexpr int kExponentClamp = 1000;

struct DecimalSuffix {
  std::string_view text;
  int exponent;
};
constexpr std::array<DecimalSuffix, 10> kDecimalSuffixes = {{
    {"n", -9}, {"u", -6}, {"m", -3}, {"", 0}, {"k", 3},
    {"M", 6}, {"G", 9}, {"T", 12}, {"P", 15}, {"E", 18},
}};
// Index i is the suffix of 1024^i.
constexpr std::array<std::string_view, 7> kBinarySuffixes = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

Int128 Abs(Int128 v) { return v < 0 ? -v : v; }

// a * b if |a * b| <= kMaxNano (a, b >= 0).
std::optional<Int128> MulBounded(Int128 a, Int128 b) {
  if (a == 0 || b == 0) return Int128{0};
  if (a > Quantity::kMaxNano / b) return std::nullopt;
  return a * b;
}

std::optional<Int128> Pow10Bounded(int exponent) {
  Int128 result = 1;
  for (int i = 0; i < exponent; ++i) {
    auto next = MulBounded(result, 10);
    if (!next) return std::nullopt;
    result = *next;
  }
  return result;
}

// The value of a string of decimal digits (at most 37 of them, so it fits).
Int128 DigitsValue(std::string_view digits) {
  Int128 v = 0;
  for (char c : digits) v = v * 10 + (c - '0');
  return v;
}

// The magnitude digits * multiplier * 10^scale in nano-units, rounded up to a whole
// nano-unit; nullopt when above kMaxNano. `digits` has no leading or trailing zeros and
// is not empty; multiplier <= 2^60.
std::optional<Int128> ScaleToNano(std::string_view digits, Int128 multiplier, int scale) {
  const int n = static_cast<int>(digits.size());
  if (scale >= 0) {
    // The value is at least 10^(n-1+scale): beyond 10^36 it cannot fit.
    if (n + scale > 37) return std::nullopt;
    const auto pow = Pow10Bounded(scale);
    if (!pow) return std::nullopt;
    const auto scaled = MulBounded(DigitsValue(digits), *pow);
    if (!scaled) return std::nullopt;
    return MulBounded(*scaled, multiplier);
  }
  // Split into the part above the decimal point (after scaling) and the fraction below.
  const int fraction_digits = -scale;
  const int high_len = n > fraction_digits ? n - fraction_digits : 0;
  if (high_len > 37) return std::nullopt;
  const auto high = MulBounded(DigitsValue(digits.substr(0, static_cast<size_t>(high_len))), multiplier);
  if (!high) return std::nullopt;
  const std::string_view low = digits.substr(static_cast<size_t>(high_len));
  // low is nonzero (its last digit is digits' last, which is nonzero), so the fraction
  // always contributes: either an exact part or at least a round-up.
  Int128 fraction_whole = 0;
  bool inexact = false;
  if (fraction_digits >= static_cast<int>(low.size()) + 20) {
    inexact = true;  // low * multiplier / 10^fraction_digits < 1 since multiplier < 10^19
  } else {
    // 0.[zeros][low] * multiplier by long multiplication from the least significant digit.
    Int128 carry = 0;
    const int zeros = fraction_digits - static_cast<int>(low.size());
    for (int i = fraction_digits - 1; i >= 0; --i) {
      const int digit = i < zeros ? 0 : low[static_cast<size_t>(i - zeros)] - '0';
      const Int128 x = digit * multiplier + carry;
      if (x % 10 != 0) inexact = true;
      carry = x / 10;
    }
    fraction_whole = carry;
  }
  Int128 total = *high + fraction_whole + (inexact ? 1 : 0);
  if (total > Quantity::kMaxNano) return std::nullopt;
  return total;
}

Status Invalid(std::string_view text, std::string_view reason) {
  return Status::InvalidArgument("quantity \"" + std::string(text) + "\": " + std::string(reason));
}

// Parses a signed decimal integer exponent (the text after 'e'/'E'), clamped to
// +-kExponentClamp. False if `text` is not one.
bool ParseExponent(std::string_view text, int* exponent) {
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
  if (i == text.size()) return false;
  int value = 0;
  for (; i < text.size(); ++i) {
    if (!IsDigit(text[i])) return false;
    value = value * 10 + (text[i] - '0');
    if (value > kExponentClamp) value = kExponentClamp;
  }
  *exponent = negative ? -value : value;
  return true;
}

int64_t SaturateToInt64(Int128 v) {
  if (v > std::numeric_limits<int64_t>::max()) return std::numeric_limits<int64_t>::max();
  if (v < std::numeric_limits<int64_t>::min()) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}

// nano / divisor rounded up in magnitude.
Int128 DivideRoundingAway(Int128 nano, Int128 divisor) {
  Int128 q = nano / divisor;
  if (nano % divisor != 0) q += nano > 0 ? 1 : -1;
  return q;
}

Int128 Clamp(Int128 nano) {
  if (nano > Quantity::kMaxNano) return Quantity::kMaxNano;
  if (nano < -Quantity::kMaxNano) return -Quantity::kMaxNano;
  return nano;
}

}  // namespace

std::string Int128ToString(Int128 value) {
  if (value == 0) return "0";
  const bool negative = value < 0;
  // Work on the negative side, which holds the most negative value too.
  Int128 v = negative ? value : -value;
  std::string out;
  while (v != 0) {
    out.push_back(static_cast<char>('0' - static_cast<int>(v % 10)));
    v /= 10;
  }
  if (negative) out.push_back('-');
  return std::string(out.rbegin(), out.rend());
}

Status Quantity::Parse(std::string_view text, Quantity* out) {
  if (text.empty()) return Invalid(text, "empty");
  size_t i = 0;
  bool negative = false;
  if (text[i] == '+' || text[i] == '-') negative = text[i++] == '-';
  const size_t int_begin = i;
  while (i < text.size() && IsDigit(text[i])) ++i;
  std::string_view int_digits = text.substr(int_begin, i - int_begin);
  std::string_view frac_digits;
  if (i < text.size() && text[i] == '.') {
    ++i;
    const size_t frac_begin = i;
    while (i < text.size() && IsDigit(text[i])) ++i;
    frac_digits = text.substr(frac_begin, i - frac_begin);
  }
  if (int_digits.empty() && frac_digits.empty()) return Invalid(text, "expected a number");

  const std::string_view suffix = text.substr(i);
  Format format = Format::kDecimalSI;
  int exponent = 0;
  Int128 multiplier = 1;
  bool known = false;
  for (const DecimalSuffix& s : kDecimalSuffixes) {
    if (suffix == s.text) {
      exponent = s.exponent;
      known = true;
    }
  }
  for (size_t k = 1; !known && k < kBinarySuffixes.size(); ++k) {
    if (suffix == kBinarySuffixes[k]) {
      format = Format::kBinarySI;
      multiplier = static_cast<Int128>(1) << (10 * k);
      known = true;
    }
  }
  if (!known && suffix.size() > 1 && (suffix[0] == 'e' || suffix[0] == 'E')) {
    if (!ParseExponent(suffix.substr(1), &exponent)) {
      return Invalid(text, "exponent \"" + std::string(suffix.substr(1)) + "\" is not an integer");
    }
    format = Format::kDecimalExponent;
    known = true;
  }
  if (!known) {
    if (!suffix.empty() && (suffix[0] == '.' || IsDigit(suffix[0]))) {
      return Invalid(text, "malformed number");
    }
    return Invalid(text, "unknown suffix \"" + std::string(suffix) +
                             "\" (want n, u, m, k, M, G, T, P, E, Ki..Ei or e<exp>)");
  }

  // Significant digits without leading or trailing zeros; the scale absorbs the rest.
  std::string digits = std::string(int_digits) + std::string(frac_digits);
  int scale = exponent - static_cast<int>(frac_digits.size());
  const size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) {
    *out = Quantity(0, format);
    return Status::Ok();
  }
  digits.erase(0, first);
  while (digits.back() == '0') {
    digits.pop_back();
    ++scale;
  }
  const auto magnitude = ScaleToNano(digits, multiplier, scale + 9);
  if (!magnitude) return Invalid(text, "out of range (magnitude above 10^27)");
  *out = Quantity(negative ? -*magnitude : *magnitude, format);
  return Status::Ok();
}

Quantity Quantity::FromValue(int64_t units, Format format) {
  return Quantity(Clamp(static_cast<Int128>(units) * kNanoPerUnit), format);
}

Quantity Quantity::FromMilli(int64_t milli_units, Format format) {
  return Quantity(Clamp(static_cast<Int128>(milli_units) * kNanoPerMilli), format);
}

Quantity Quantity::FromNano(Int128 nano_units, Format format) { return Quantity(Clamp(nano_units), format); }

int64_t Quantity::Value() const { return SaturateToInt64(DivideRoundingAway(nano_, kNanoPerUnit)); }

int64_t Quantity::MilliValue() const { return SaturateToInt64(DivideRoundingAway(nano_, kNanoPerMilli)); }

Status Quantity::Add(const Quantity& other) {
  const Int128 sum = nano_ + other.nano_;  // both within 10^36: no overflow of 128 bits
  if (Abs(sum) > kMaxNano) return Status::InvalidArgument("quantity sum out of range (magnitude above 10^27)");
  if (nano_ == 0) format_ = other.format_;
  nano_ = sum;
  return Status::Ok();
}

Status Quantity::Sub(const Quantity& other) {
  Quantity negated(-other.nano_, other.format_);
  return Add(negated);
}

std::string Quantity::String() const {
  if (nano_ == 0) return "0";
  const bool negative = nano_ < 0;
  const Int128 magnitude = Abs(nano_);
  std::string sign = negative ? "-" : "";
  if (format_ == Format::kBinarySI && magnitude >= 1024 * kNanoPerUnit && magnitude % kNanoPerUnit == 0) {
    Int128 mantissa = magnitude / kNanoPerUnit;
    size_t power = 0;
    while (power + 1 < kBinarySuffixes.size() && mantissa % 1024 == 0) {
      mantissa /= 1024;
      ++power;
    }
    return sign + Int128ToString(mantissa) + std::string(kBinarySuffixes[power]);
  }
  // Decimal: the largest exponent (a multiple of 3, from -9) that leaves an integer mantissa.
  Int128 mantissa = magnitude;
  int exponent = -9;
  while (mantissa % 1000 == 0) {
    mantissa /= 1000;
    exponent += 3;
  }
  std::string suffix;
  if (format_ == Format::kDecimalExponent) {
    if (exponent != 0) suffix = "e" + std::to_string(exponent);
  } else {
    suffix = "e" + std::to_string(exponent);
    for (const DecimalSuffix& s : kDecimalSuffixes) {
      if (s.exponent == exponent) suffix = std::string(s.text);
    }
  }
  return sign + Int128ToString(mantissa) + suffix;
}

}  // namespace ksim::api
