// IPv4 addresses and CIDR blocks as numbers: what the allocators, IPAM and the service
// proxy compute with. Strict: dotted quads of decimal octets without leading zeros.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ksim::net {

std::optional<uint32_t> ParseIPv4(std::string_view text);
std::string FormatIPv4(uint32_t ip);

struct Cidr {
  uint32_t base = 0;  // the network address (host bits zero)
  int prefix = 0;     // 0..32
  uint64_t size() const { return uint64_t{1} << (32 - prefix); }
  bool Contains(uint32_t ip) const { return ip - base < size(); }
  std::string ToString() const;
};

// "10.96.0.0/12". Host bits must be zero (as Kubernetes' ParseCIDR-based flags require of
// the service range); nullopt otherwise.
std::optional<Cidr> ParseCidr(std::string_view text);

}  // namespace ksim::net
