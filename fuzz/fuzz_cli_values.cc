// libFuzzer target: command-line value parsers (durations, addresses).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "cluster/env/transport.h"
#include "tools/ksim/duration.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  ksim::Nanos d{0};
  if (ksim::tools::ParseDuration("--fuzz", text, &d).ok()) {
    ksim::Nanos again{0};
    if (!ksim::tools::ParseDuration("--fuzz", ksim::tools::FormatDuration(d), &again).ok() || again != d) std::abort();
  }
  std::string host;
  uint16_t port = 0;
  if (ksim::ParseAddress(text, &host, &port).ok() && host.empty()) std::abort();
  return 0;
}
