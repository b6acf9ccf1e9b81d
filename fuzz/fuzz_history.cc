// libFuzzer target: Jepsen-style history parsing (EDN subset and JSON lines) for lincheck.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "faults/lincheck/history.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (auto model : {ksim::lincheck::ModelKind::kRegister, ksim::lincheck::ModelKind::kKv}) {
    ksim::lincheck::History h;
    (void)ksim::lincheck::ParseHistory(text, "fuzz", model, ksim::lincheck::ParseLimits{}, &h);
  }
  return 0;
}
