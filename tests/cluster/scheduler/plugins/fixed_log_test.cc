// LnFixed32: ln(n) in integer arithmetic (PodTopologySpread's weights). Exact values pin the
// bits on every machine; std::log (here only, in a test) bounds the meaning.
#include "cluster/scheduler/plugins/fixed_log.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>

namespace ksim::scheduler {
namespace {

// Expected values: ln(n) * 2^32 rounded to nearest, computed with 80-digit decimals.
TEST(FixedLog, ExactValues) {
  EXPECT_EQ(LnFixed32(0), 0);
  EXPECT_EQ(LnFixed32(1), 0);
  EXPECT_EQ(LnFixed32(2), 2977044472);    // 2977044471.8196
  EXPECT_EQ(LnFixed32(3), 4718503851);    // 4718503850.8132
  EXPECT_EQ(LnFixed32(4), 5954088944);    // 5954088943.6391
  EXPECT_EQ(LnFixed32(5), 6912483199);    // 6912483198.8470
  EXPECT_EQ(LnFixed32(7), 8357620451);    // 8357620451.1471
  EXPECT_EQ(LnFixed32(10), 9889527671);   // 9889527670.6665
  EXPECT_EQ(LnFixed32(12), 10672592794);  // 10672592794.4524
  EXPECT_EQ(LnFixed32(102), 19864106978);
  EXPECT_EQ(LnFixed32(410), 25839198249);  // 25839198248.50068: close to a half, still right
  EXPECT_EQ(LnFixed32(1002), 29677164368);
  EXPECT_EQ(LnFixed32(5002), 36582783854);
  EXPECT_EQ(LnFixed32(100002), 49447724252);
  EXPECT_EQ(LnFixed32(4294967297), 95265423099);
  EXPECT_EQ(LnFixed32(std::numeric_limits<uint64_t>::max()), 190530846196);
}

// The same meaning as the library's log: within one unit of ln(n) * 2^32, and increasing.
TEST(FixedLog, AgreesWithTheLibraryWithinOneUnitAndIncreases) {
  int64_t last = -1;
  for (uint64_t n = 1; n < 20000; ++n) {
    const int64_t v = LnFixed32(n);
    EXPECT_LE(std::fabs(static_cast<double>(v) - std::log(static_cast<double>(n)) * 4294967296.0), 1.0) << n;
    EXPECT_GT(v, last) << n;
    last = v;
  }
}

TEST(FixedLog, RoundsHalvesUp) {
  constexpr int64_t kUnit = int64_t{1} << 32;
  EXPECT_EQ(RoundFixed32(0), 0);
  EXPECT_EQ(RoundFixed32(kUnit / 2 - 1), 0);
  EXPECT_EQ(RoundFixed32(kUnit / 2), 1);
  EXPECT_EQ(RoundFixed32(3 * kUnit + kUnit / 2 + 1), 4);
  // PodTopologySpread's raw score for 3 pods in a zone among 2 zones, maxSkew 2:
  // 3 * ln(4) + 1 = 5.1589 -> 5.
  EXPECT_EQ(RoundFixed32(3 * LnFixed32(4) + kUnit), 5);
}

}  // namespace
}  // namespace ksim::scheduler
