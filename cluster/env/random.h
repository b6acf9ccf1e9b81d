// Random: a seeded pseudo-random generator (xoshiro256**), the only source of randomness
// a process may use. It is a concrete type because both worlds must compute identical
// sequences from identical seeds; the world decides the seed.
#pragma once

#include <cstdint>
#include <string_view>

namespace ksim {

class Random {
 public:
  explicit Random(uint64_t seed);

  uint64_t seed() const { return seed_; }

  // Uniform over all 64-bit values.
  uint64_t Next64();
  // Uniform in [0, n). REQUIRES: n > 0.
  uint64_t Uniform(uint64_t n);
  // Uniform in [lo, hi]. REQUIRES: lo <= hi.
  int64_t Range(int64_t lo, int64_t hi);
  // Uniform in [0, 1) with 53 bits of precision.
  double NextDouble();
  // True with probability p (p <= 0: never, p >= 1: always).
  bool Bernoulli(double p);
  // A new generator whose seed is derived from this generator's seed and `label`, without
  // consuming any of this generator's sequence. Equal labels give equal children, so a
  // component's randomness does not shift when an unrelated component draws more numbers.
  Random Child(std::string_view label) const;

  // Mixes a string into a 64-bit value (FNV-1a followed by a SplitMix64 finalizer).
  static uint64_t HashString(std::string_view s, uint64_t basis = 0);
  // SplitMix64's finalizer: a bijective 64-bit mix.
  static uint64_t Mix64(uint64_t x);

 private:
  uint64_t seed_;
  uint64_t s_[4];
};

}  // namespace ksim
