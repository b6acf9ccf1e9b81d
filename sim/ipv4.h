// IPv4 addresses and CIDR blocks for the simulated network's aliases and the runtime's
// pod IPs (host-local IPAM).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cluster/env/status.h"

namespace ksim::sim {

// "10.244.1.5" -> host-order value. False unless four decimal octets 0..255 without
// leading zeros.
bool ParseIpv4(std::string_view text, uint32_t* out);
std::string FormatIpv4(uint32_t ip);

struct Ipv4Cidr {
  uint32_t base = 0;  // network address (host bits zero)
  int prefix = 0;
  uint64_t size() const { return uint64_t{1} << (32 - prefix); }
};

// "10.244.1.0/24". InvalidArgument naming the text and the reason if malformed or if
// host bits are set.
Status ParseCidr(std::string_view text, Ipv4Cidr* out);

}  // namespace ksim::sim
