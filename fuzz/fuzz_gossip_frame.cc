// libFuzzer target: a wire frame handed to the demo's message parser.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cluster/demo/demo.pb.h"
#include "cluster/env/wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ksim::demo::Gossip g;
  (void)ksim::ParseMessage(std::string_view(reinterpret_cast<const char*>(data), size), &g, "gossip");
  return 0;
}
