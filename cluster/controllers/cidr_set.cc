#include "cluster/controllers/cidr_set.h"

#include <fmt/format.h>

#include <charconv>

namespace ksim::controllers {

bool ParseIpv4Cidr(const std::string& cidr, uint32_t* address, int* prefix) {
  const size_t slash = cidr.find('/');
  if (slash == std::string::npos) return false;
  uint32_t a = 0;
  size_t pos = 0;
  for (int octet = 0; octet < 4; ++octet) {
    if (octet > 0) {
      if (pos >= slash || cidr[pos] != '.') return false;
      ++pos;
    }
    unsigned v = 0;
    auto [end, ec] = std::from_chars(cidr.data() + pos, cidr.data() + slash, v);
    if (ec != std::errc() || end == cidr.data() + pos || v > 255) return false;
    pos = static_cast<size_t>(end - cidr.data());
    a = (a << 8) | v;
  }
  if (pos != slash) return false;
  int p = 0;
  auto [end, ec] = std::from_chars(cidr.data() + slash + 1, cidr.data() + cidr.size(), p);
  if (ec != std::errc() || end != cidr.data() + cidr.size() || p < 0 || p > 32) return false;
  const uint32_t host_mask = p == 32 ? 0u : (0xFFFFFFFFu >> p);
  if ((a & host_mask) != 0) return false;  // not the network address
  *address = a;
  *prefix = p;
  return true;
}

Status CidrSet::Create(const std::string& cluster_cidr, int mask_size, CidrSet* out) {
  uint32_t base = 0;
  int prefix = 0;
  if (!ParseIpv4Cidr(cluster_cidr, &base, &prefix)) {
    return Status::InvalidArgument(fmt::format("--cluster-cidr: \"{}\" is not an IPv4 network in CIDR notation", cluster_cidr));
  }
  if (mask_size <= prefix || mask_size > 32) {
    return Status::InvalidArgument(fmt::format("--node-cidr-mask-size: {} must be longer than the cluster CIDR's /{} and at most 32",
                                               mask_size, prefix));
  }
  if (mask_size - prefix > kMaxSubnetBits) {
    return Status::InvalidArgument(fmt::format(
        "--node-cidr-mask-size: {} cuts {} into more than 2^{} subnets", mask_size, cluster_cidr, kMaxSubnetBits));
  }
  CidrSet s;
  s.base_ = base;
  s.prefix_ = prefix;
  s.mask_size_ = mask_size;
  s.used_.assign(size_t{1} << (mask_size - prefix), false);
  *out = std::move(s);
  return Status::Ok();
}

std::string CidrSet::Subnet(size_t index) const {
  const uint32_t a = base_ + (static_cast<uint32_t>(index) << (32 - mask_size_));
  return fmt::format("{}.{}.{}.{}/{}", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255, mask_size_);
}

int64_t CidrSet::IndexOf(const std::string& cidr) const {
  uint32_t a = 0;
  int p = 0;
  if (!ParseIpv4Cidr(cidr, &a, &p) || p != mask_size_ || used_.empty()) return -1;
  const uint32_t cluster_mask = prefix_ == 0 ? 0u : (0xFFFFFFFFu << (32 - prefix_));
  if ((a & cluster_mask) != base_) return -1;
  return static_cast<int64_t>((a - base_) >> (32 - mask_size_));
}

std::optional<std::string> CidrSet::AllocateNext() {
  for (size_t i = 0; i < used_.size(); ++i) {
    const size_t index = (next_ + i) % used_.size();
    if (used_[index]) continue;
    used_[index] = true;
    ++used_count_;
    next_ = (index + 1) % used_.size();
    return Subnet(index);
  }
  return std::nullopt;
}

Status CidrSet::Occupy(const std::string& cidr) {
  const int64_t index = IndexOf(cidr);
  if (index < 0) {
    return Status::InvalidArgument(fmt::format("{} is not a /{} subnet of {}", cidr, mask_size_, Subnet(0)));
  }
  if (!used_[static_cast<size_t>(index)]) {
    used_[static_cast<size_t>(index)] = true;
    ++used_count_;
  }
  return Status::Ok();
}

void CidrSet::Release(const std::string& cidr) {
  const int64_t index = IndexOf(cidr);
  if (index < 0 || !used_[static_cast<size_t>(index)]) return;
  used_[static_cast<size_t>(index)] = false;
  --used_count_;
}

bool CidrSet::IsUsed(const std::string& cidr) const {
  const int64_t index = IndexOf(cidr);
  return index >= 0 && used_[static_cast<size_t>(index)];
}

}  // namespace ksim::controllers
