// Trace: a running 64-bit hash of everything that happened in a run (fired events,
// delivered frames, faults). Two runs of one seed must end with equal hashes; the first
// event at which they differ is where determinism broke.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

#include "cluster/env/random.h"

namespace ksim::sim {

class Trace {
 public:
  void Mix(uint64_t value) { hash_ = Random::Mix64(hash_ ^ value) + 0x9e3779b97f4a7c15ULL; }
  void MixString(std::string_view s) { Mix(Random::HashString(s)); }
  // Mixes arbitrary bytes (frames can be large; this is on the hot path). Four lanes
  // take a word each per round, so their multiplies overlap instead of waiting on one
  // another; the lanes are folded with the full finalizer once at the end.
  void MixBytes(std::string_view bytes) {
    constexpr uint64_t kMul = 0xff51afd7ed558ccdULL;
    uint64_t lane[4] = {0x9e3779b97f4a7c15ULL ^ bytes.size(), 0xc2b2ae3d27d4eb4fULL, 0x165667b19e3779f9ULL,
                        0x27d4eb2f165667c5ULL};
    auto step = [](uint64_t& h, const char* p) {
      uint64_t word;
      std::memcpy(&word, p, 8);
      h = (h ^ word) * kMul;
      h ^= h >> 29;
    };
    size_t i = 0;
    for (; i + 32 <= bytes.size(); i += 32) {
      for (int k = 0; k < 4; ++k) step(lane[k], bytes.data() + i + 8 * k);
    }
    for (; i + 8 <= bytes.size(); i += 8) step(lane[0], bytes.data() + i);
    uint64_t tail = 0;
    std::memcpy(&tail, bytes.data() + i, bytes.size() - i);
    Mix(Random::Mix64(lane[0] ^ tail) ^ Random::Mix64(lane[1] + 1) ^ Random::Mix64(lane[2] + 2) ^
        Random::Mix64(lane[3] + 3));
  }
  uint64_t hash() const { return hash_; }

 private:
  uint64_t hash_ = 0x6b73696d5f747261ULL;  // "ksim_tra"
};

// Tags distinguish the kinds of records so that, say, a timer at t=5 and a frame of
// length 5 never hash alike.
enum class TraceTag : uint64_t {
  kEvent = 1,
  kFrameDelivered = 2,
  kFrameDuplicate = 3,
  kConnectionOpened = 4,
  kConnectionClosed = 5,
  kFault = 6,
  kDiskCrash = 7,
  kContainer = 8,
};

}  // namespace ksim::sim
