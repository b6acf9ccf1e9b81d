// CidrSet: the pod CIDRs a cluster CIDR is cut into (10.244.0.0/16 into /24s), which of
// them are used, and the next one to hand out (round-robin from the last allocation, as
// Kubernetes' cidrset). IPv4 only. Pure: no clock, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cluster/env/status.h"

namespace ksim::controllers {

class CidrSet {
 public:
  // At most this many subnets per cluster CIDR (Kubernetes refuses more than 2^16).
  static constexpr int kMaxSubnetBits = 16;

  // InvalidArgument naming the flag and reason when `cluster_cidr` is not an IPv4 CIDR,
  // `mask_size` is not within (prefix, 32], or the range holds more than 2^16 subnets.
  static Status Create(const std::string& cluster_cidr, int mask_size, CidrSet* out);

  // The next free subnet ("10.244.3.0/24"), now used; nullopt when every one is used.
  std::optional<std::string> AllocateNext();
  // Marks `cidr` used. InvalidArgument if it is not one of this set's subnets.
  Status Occupy(const std::string& cidr);
  // Marks `cidr` free (no-op for CIDRs not in the set).
  void Release(const std::string& cidr);
  bool IsUsed(const std::string& cidr) const;

  size_t used() const { return used_count_; }
  size_t capacity() const { return used_.size(); }

 private:
  // The subnet index of `cidr`, or -1.
  int64_t IndexOf(const std::string& cidr) const;
  std::string Subnet(size_t index) const;

  uint32_t base_ = 0;
  int prefix_ = 0;
  int mask_size_ = 0;
  std::vector<bool> used_;
  size_t used_count_ = 0;
  size_t next_ = 0;
};

// Parses "a.b.c.d/n" (IPv4, canonical network address) into address and prefix length.
bool ParseIpv4Cidr(const std::string& cidr, uint32_t* address, int* prefix);

}  // namespace ksim::controllers
