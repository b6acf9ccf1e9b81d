#include "real/os_entropy.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace ksim::real {

uint64_t OsEntropy::Next64() {
  uint64_t value = 0;
  auto* out = reinterpret_cast<unsigned char*>(&value);
  size_t filled = 0;
  while (filled < sizeof(value)) {
    const ssize_t n = getrandom(out + filled, sizeof(value) - filled, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::perror("getrandom");
      std::abort();
    }
    filled += static_cast<size_t>(n);
  }
  return value;
}

}  // namespace ksim::real
