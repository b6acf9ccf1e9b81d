// ksim::api::Quantity — Kubernetes' resource.Quantity ("250m", "1.5Gi", "1e3", "12E").
//
// Grammar (as Kubernetes):
//   quantity ::= [+|-] number [suffix]
//   number   ::= digits | digits "." [digits] | "." digits
//   suffix   ::= "n" | "u" | "m" | "" | "k" | "M" | "G" | "T" | "P" | "E"   (decimal SI)
//              | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei"                     (binary SI)
//              | ("e" | "E") [+|-] digits                                   (decimal exponent)
// "E" alone is exa; "E" followed by an integer is an exponent. No spaces anywhere.
//
// Precision rules (docs/API_MACHINERY.md):
// - A value is held exactly as a signed integer count of nano-units (10^-9), so every
//   quantity Kubernetes can print round-trips. Input finer than 1n is rounded up in
//   magnitude (away from zero) to the next nano-unit, as Kubernetes rounds up ("0.1n" -> 1n).
// - Magnitudes above 10^27 units are rejected ("out of range"); Kubernetes itself refuses
//   anything above 2^63-1 in most places, so this bound is never the binding one in practice.
// - Value() and MilliValue() round up in magnitude (Kubernetes' ScaledValue does: 0.1 cpu
//   -> 100m, 1.5 -> 2, -1.5 -> -2) and saturate at the int64 limits.
//
// Canonical String() (Kubernetes' CanonicalizeBytes): the quantity remembers the suffix
// family it was parsed with (decimal SI, binary SI, decimal exponent) and prints
//   - "0" for zero;
//   - binary SI: the largest power-of-1024 suffix with an integer mantissa ("1536Mi",
//     "1Gi"); values with |v| < 1024 or a fractional part fall back to decimal SI;
//   - decimal SI / exponent: the largest exponent that is a multiple of 3 with an integer
//     mantissa ("500m", "1500k", "1e3"); decimal SI exponents without a suffix (> 18) are
//     printed as "e<exp>".
// Equality and ordering compare values only, never the suffix family ("1Ki" == "1024").
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "cluster/env/status.h"

namespace ksim::api {

// 128-bit signed integer; the extension keyword keeps -pedantic quiet.
__extension__ typedef __int128 Int128;

class Quantity {
 public:
  // The suffix family a quantity prints with.
  enum class Format {
    kDecimalSI,        // n u m "" k M G T P E
    kBinarySI,         // Ki Mi Gi Ti Pi Ei
    kDecimalExponent,  // e<exp>
  };

  // Largest magnitude a quantity may hold, in nano-units (10^27 units).
  static constexpr Int128 kMaxNano = static_cast<Int128>(1000000000000000000LL) * 1000000000000000000LL;

  // Zero, decimal SI.
  Quantity() = default;

  // Parses `text` into *out. On failure *out is untouched and the error reads
  // `quantity "<text>": <reason>`.
  static Status Parse(std::string_view text, Quantity* out);

  // Exact constructors. The value must be within range (these saturate at kMaxNano).
  static Quantity FromValue(int64_t units, Format format = Format::kDecimalSI);
  static Quantity FromMilli(int64_t milli_units, Format format = Format::kDecimalSI);
  static Quantity FromNano(Int128 nano_units, Format format = Format::kDecimalSI);

  // The value in whole units, rounded up in magnitude, saturating at the int64 limits.
  int64_t Value() const;
  // The value in thousandths, rounded up in magnitude ("0.1m" -> 1), saturating.
  int64_t MilliValue() const;
  // The exact value in nano-units.
  Int128 NanoValue() const { return nano_; }

  Format format() const { return format_; }
  bool IsZero() const { return nano_ == 0; }
  // -1, 0 or +1.
  int Sign() const { return nano_ < 0 ? -1 : (nano_ > 0 ? 1 : 0); }

  // this += other / this -= other. A zero quantity adopts the other's format (as
  // Kubernetes does); otherwise the format is kept. On overflow of the range, returns an
  // error and leaves *this unchanged.
  Status Add(const Quantity& other);
  Status Sub(const Quantity& other);

  // The canonical text (see the header comment). Parse(String()) gives an equal value
  // with the same String().
  std::string String() const;

  friend bool operator==(const Quantity& a, const Quantity& b) { return a.nano_ == b.nano_; }
  friend std::strong_ordering operator<=>(const Quantity& a, const Quantity& b) {
    return a.nano_ < b.nano_ ? std::strong_ordering::less
                             : (a.nano_ > b.nano_ ? std::strong_ordering::greater : std::strong_ordering::equal);
  }

 private:
  Quantity(Int128 nano, Format format) : nano_(nano), format_(format) {}

  Int128 nano_ = 0;
  Format format_ = Format::kDecimalSI;
};

// Decimal text of a 128-bit integer (for messages and tests).
std::string Int128ToString(Int128 value);

}  // namespace ksim::api
