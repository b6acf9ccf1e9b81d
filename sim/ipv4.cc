#include "sim/ipv4.h"

#include <fmt/format.h>

namespace ksim::sim {

bool ParseIpv4(std::string_view text, uint32_t* out) {
  uint32_t ip = 0;
  int octets = 0;
  while (octets < 4) {
    size_t digits = 0;
    while (digits < text.size() && digits < 4 && text[digits] >= '0' && text[digits] <= '9') ++digits;
    if (digits == 0 || digits > 3 || (digits > 1 && text[0] == '0')) return false;
    const int value = std::stoi(std::string(text.substr(0, digits)));
    if (value > 255) return false;
    ip = (ip << 8) | static_cast<uint32_t>(value);
    text.remove_prefix(digits);
    ++octets;
    if (octets < 4) {
      if (text.empty() || text[0] != '.') return false;
      text.remove_prefix(1);
    }
  }
  if (!text.empty()) return false;
  *out = ip;
  return true;
}

std::string FormatIpv4(uint32_t ip) {
  return fmt::format("{}.{}.{}.{}", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

Status ParseCidr(std::string_view text, Ipv4Cidr* out) {
  const size_t slash = text.find('/');
  uint32_t ip = 0;
  if (slash == std::string_view::npos || !ParseIpv4(text.substr(0, slash), &ip)) {
    return Status::InvalidArgument(fmt::format("CIDR '{}': not an IPv4 block like 10.244.1.0/24", text.substr(0, 64)));
  }
  const std::string_view bits = text.substr(slash + 1);
  if (bits.empty() || bits.size() > 2 || bits.find_first_not_of("0123456789") != std::string_view::npos ||
      std::stoi(std::string(bits)) > 32) {
    return Status::InvalidArgument(fmt::format("CIDR '{}': prefix length must be 0..32", text.substr(0, 64)));
  }
  const int prefix = std::stoi(std::string(bits));
  const uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
  if ((ip & ~mask) != 0) {
    return Status::InvalidArgument(fmt::format("CIDR '{}': host bits set (did you mean {}/{}?)", text,
                                               FormatIpv4(ip & mask), prefix));
  }
  out->base = ip;
  out->prefix = prefix;
  return Status::Ok();
}

}  // namespace ksim::sim
