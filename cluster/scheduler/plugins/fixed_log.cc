#include "cluster/scheduler/plugins/fixed_log.h"

#include <bit>

namespace ksim::scheduler {
namespace {

__extension__ typedef unsigned __int128 Uint128;  // GCC/Clang builtin; not ISO C++

constexpr int kMantissaBits = 62;  // the mantissa m in [1, 2) is held as m * 2^62
constexpr int kLog2FractionBits = 56;
// ln 2 * 2^64, rounded down: 0.B17217F7D1CF79AB...
constexpr uint64_t kLn2Q64 = 0xB17217F7D1CF79ABULL;

}  // namespace

int64_t LnFixed32(uint64_t n) {
  if (n <= 1) return 0;
  const int exponent = 63 - std::countl_zero(n);
  // log2(n) = exponent + log2(m), m = n / 2^exponent in [1, 2). Each squaring of m doubles
  // its log; when m reaches 2 the next bit of log2(m) is 1 and m is halved back into [1, 2).
  Uint128 m = (Uint128{n} << kMantissaBits) >> exponent;
  uint64_t fraction = 0;
  for (int bit = kLog2FractionBits - 1; bit >= 0; --bit) {
    m = (m * m) >> kMantissaBits;
    if (m >= (Uint128{2} << kMantissaBits)) {
      m >>= 1;
      fraction |= uint64_t{1} << bit;
    }
  }
  const uint64_t log2_q56 = (static_cast<uint64_t>(exponent) << kLog2FractionBits) | fraction;
  // ln(n) = log2(n) * ln 2: a Q56 (below 2^62) times a Q64 is a Q120; round it to Q32.
  const int shift = kLog2FractionBits + 64 - kFixedLogFractionBits;
  const Uint128 product = Uint128{log2_q56} * kLn2Q64;
  return static_cast<int64_t>((product + (Uint128{1} << (shift - 1))) >> shift);
}

}  // namespace ksim::scheduler
