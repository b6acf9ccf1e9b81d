// Entropy: unpredictable bytes for identities that must never repeat or be guessed — object
// uids minted without a client request id, service-account tokens, a client's request-id tag.
// Random (random.h) is for behaviour that must replay from a logged seed; Entropy is for
// values that must differ across process incarnations even when the seed is the same.
// Real hosts draw it from the operating system (getrandom(2)); the simulated world derives
// it from the world's seed, the host, the process and its incarnation count, so a seed
// still replays exactly while every incarnation of a process draws a different stream.
#pragma once

#include <cstdint>

#include "cluster/env/random.h"

namespace ksim {

class Entropy {
 public:
  virtual ~Entropy() = default;
  // Uniform over all 64-bit values; never the same stream for two process incarnations.
  virtual uint64_t Next64() = 0;
};

// Entropy from a seed, for the simulated world (whose seed already names the host, process
// and incarnation) and for tests. Never used on real hosts.
class SeededEntropy final : public Entropy {
 public:
  explicit SeededEntropy(uint64_t seed) : random_(seed) {}
  uint64_t Next64() override { return random_.Next64(); }

 private:
  Random random_;
};

}  // namespace ksim
