#include "cluster/env/transport.h"

#include <charconv>

namespace ksim {

Status ParseAddress(std::string_view address, std::string* host, uint16_t* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == address.size()) {
    return Status::InvalidArgument("address '" + std::string(address) + "': expected host:port");
  }
  unsigned value = 0;
  const char* first = address.data() + colon + 1;
  const char* last = address.data() + address.size();
  auto [ptr, ec] = std::from_chars(first, last, value);
  if (ec != std::errc() || ptr != last || value > 65535) {
    return Status::InvalidArgument("address '" + std::string(address) + "': port must be 0..65535");
  }
  *host = std::string(address.substr(0, colon));
  *port = static_cast<uint16_t>(value);
  return Status::Ok();
}

Status CheckFrameSize(size_t bytes) {
  if (bytes <= kMaxFrameBytes) return Status::Ok();
  return Status::InvalidArgument("frame of " + std::to_string(bytes) + " bytes exceeds the transport's limit of " +
                                 std::to_string(kMaxFrameBytes) + " bytes (kMaxFrameBytes)");
}

}  // namespace ksim
