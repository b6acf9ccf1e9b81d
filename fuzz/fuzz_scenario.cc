// libFuzzer target: scenario files through ParseScenario. A failure must be one
// InvalidArgument starting "<file>:<line>:<column>: " and leave the output untouched; a
// success must parse the same way twice. Manifest paths resolve under a directory that
// does not exist, so the fuzzer never reads the machine's files.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "scenarios/scenario_loader.h"

namespace {

bool Located(const std::string& message) {
  const std::string prefix = "fuzz.yaml:";
  if (message.compare(0, prefix.size(), prefix) != 0) return false;
  size_t i = prefix.size();
  for (int part = 0; part < 2; ++part) {
    const size_t start = i;
    while (i < message.size() && message[i] >= '0' && message[i] <= '9') ++i;
    if (i == start || i >= message.size() || message[i] != ':') return false;
    ++i;
  }
  return i < message.size() && message[i] == ' ';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::string base = "/nonexistent-ksim-fuzz";
  ksim::scenarios::Scenario out;
  out.name = "untouched";
  ksim::Status s = ksim::scenarios::ParseScenario(text, "fuzz.yaml", base, &out);
  if (!s.ok()) {
    if (!s.Is(ksim::Status::Code::kInvalidArgument) || !Located(s.message()) || out.name != "untouched") std::abort();
    return 0;
  }
  ksim::scenarios::Scenario again;
  if (!ksim::scenarios::ParseScenario(text, "fuzz.yaml", base, &again).ok() || again.name != out.name ||
      again.timeline.size() != out.timeline.size() || again.expectations.size() != out.expectations.size()) {
    std::abort();
  }
  for (const auto& e : out.timeline) {
    if (e.at > out.duration) std::abort();
  }
  return 0;
}
