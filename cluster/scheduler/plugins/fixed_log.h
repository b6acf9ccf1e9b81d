// Logarithms in integer arithmetic, for scores that must come out the same on every machine.
// std::log's last bits depend on the C library (glibc, musl and libm versions differ), and a
// score that rounds differently places a pod elsewhere, so a seed would not replay across
// builds. These functions use only integer operations.
#pragma once

#include <cstdint>

namespace ksim::scheduler {

// Fractional bits of the fixed-point numbers below: a value v stands for v / 2^32.
inline constexpr int kFixedLogFractionBits = 32;

// ln(n) in units of 2^-32, rounded to nearest, for n >= 1 (0 for n == 0, which has no log).
// Computed as log2(n) (integer part from the highest set bit, 56 fractional bits by repeated
// squaring of the mantissa in 62-bit fixed point) times ln 2 (a 64-bit constant). The error
// before the final rounding is below 10^-7 of a unit (measured against 80-digit decimals for
// every n below 40,000), so the result is ln(n) * 2^32 correctly rounded unless that lies
// within 10^-7 of a half; the tests pin exact values.
int64_t LnFixed32(uint64_t n);

// round(sum) for a fixed-point sum in units of 2^-32 (non-negative; halves round up, as Go's
// math.Round does for positive numbers).
inline int64_t RoundFixed32(int64_t fixed) {
  return (fixed + (int64_t{1} << (kFixedLogFractionBits - 1))) >> kFixedLogFractionBits;
}

}  // namespace ksim::scheduler
