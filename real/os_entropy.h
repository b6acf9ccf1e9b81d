// OsEntropy: the Entropy of a real host, read from the kernel's cryptographic source with
// getrandom(2). Never seeded and never logged, so uids and tokens cannot be predicted from a
// host's --seed and do not repeat when a process restarts with the same seed.
#pragma once

#include <cstdint>

#include "cluster/env/entropy.h"

namespace ksim::real {

class OsEntropy final : public Entropy {
 public:
  // Blocks only until the kernel's pool is first initialised (early boot); aborts if the
  // kernel refuses (no getrandom: a host that cannot mint safe tokens must not run).
  uint64_t Next64() override;
};

}  // namespace ksim::real
