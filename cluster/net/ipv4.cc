#include "cluster/net/ipv4.h"

#include <charconv>

namespace ksim::net {

std::optional<uint32_t> ParseIPv4(std::string_view text) {
  uint32_t ip = 0;
  for (int i = 0; i < 4; ++i) {
    if (i > 0) {
      if (text.empty() || text.front() != '.') return std::nullopt;
      text.remove_prefix(1);
    }
    size_t n = 0;
    while (n < text.size() && n < 4 && text[n] >= '0' && text[n] <= '9') ++n;
    if (n == 0 || n > 3 || (n > 1 && text[0] == '0')) return std::nullopt;
    unsigned octet = 0;
    std::from_chars(text.data(), text.data() + n, octet);
    if (octet > 255) return std::nullopt;
    ip = (ip << 8) | octet;
    text.remove_prefix(n);
  }
  if (!text.empty()) return std::nullopt;
  return ip;
}

std::string FormatIPv4(uint32_t ip) {
  return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 0xff) + "." + std::to_string((ip >> 8) & 0xff) +
         "." + std::to_string(ip & 0xff);
}

std::string Cidr::ToString() const { return FormatIPv4(base) + "/" + std::to_string(prefix); }

std::optional<Cidr> ParseCidr(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::optional<uint32_t> ip = ParseIPv4(text.substr(0, slash));
  std::string_view bits = text.substr(slash + 1);
  int prefix = -1;
  if (bits.empty() || bits.size() > 2 || (bits.size() > 1 && bits[0] == '0')) return std::nullopt;
  auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
  if (!ip || ec != std::errc() || end != bits.data() + bits.size() || prefix < 0 || prefix > 32) return std::nullopt;
  Cidr c{*ip, prefix};
  const uint32_t host_mask = prefix == 0 ? 0xffffffffu : static_cast<uint32_t>((uint64_t{1} << (32 - prefix)) - 1);
  if ((*ip & host_mask) != 0) return std::nullopt;
  return c;
}

}  // namespace ksim::net
