// Trace: a running 64-bit hash of everything that happened in a run (fired events,
// delivered frames, faults). Two runs of one seed must end with equal hashes; the first
// event at which they differ is where determinism broke.
#pragma once

#define XXH_INLINE_ALL  // header-only: the hash inlines into the delivery loop
#include <xxhash.h>

#include <cstdint>
#include <string_view>

#include "cluster/env/random.h"

namespace ksim::sim {

class Trace {
 public:
  void Mix(uint64_t value) { hash_ = Random::Mix64(hash_ ^ value) + 0x9e3779b97f4a7c15ULL; }
  void MixString(std::string_view s) { Mix(Random::HashString(s)); }
  // Mixes arbitrary bytes (every delivered frame: this is on the hot path). XXH3 is
  // specified to give the same value on every platform and build, so seeds replay
  // everywhere.
  void MixBytes(std::string_view bytes) { Mix(XXH3_64bits(bytes.data(), bytes.size())); }
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
