// A stub resolver as a pod's resolv.conf makes it: nameservers, search domains and ndots
// (Kubernetes' ClusterFirst policy gives [<ns>.svc.<zone>, svc.<zone>, <zone>], ndots 5).
// For tests and the demo: it asks the first server over the Transport (one message per
// frame) and walks the candidates as glibc does.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cluster/dns/message.h"
#include "cluster/env/env.h"

namespace ksim::dns {

struct DnsConfig {
  std::vector<std::string> servers;   // "10.96.0.10" (port 53) or "host:port"
  std::vector<std::string> searches;
  int ndots = 1;
};

// What Kubernetes writes for a ClusterFirst pod of namespace `ns`.
DnsConfig ClusterFirstConfig(const std::string& ns, const std::string& zone = "cluster.local",
                             const std::string& server = "10.96.0.10");

// The absolute names tried for `name`, in order: a name ending in '.' only as it is; a name
// with at least `ndots` dots as it is first, then with each search domain; otherwise the
// search domains first, then as it is.
std::vector<std::string> Candidates(const std::string& name, const DnsConfig& config);

struct Resolution {
  uint8_t rcode = kNoError;  // of the last candidate asked (NXDOMAIN if none had the name)
  std::string name;          // the candidate that answered
  std::vector<ResourceRecord> answers;
};

class Resolver {
 public:
  // REQUIRES: config.servers non-empty; env outlives the resolver.
  Resolver(Env& env, DnsConfig config, Nanos timeout = Seconds(5));
  ~Resolver();

  // One query to the first server. Timeout or Unavailable when no answer arrives.
  void Query(const std::string& name, uint16_t type, std::function<void(Status, const Message&)> done);
  // Tries the candidates until one has records of `type` (NOERROR with answers).
  void Resolve(const std::string& name, uint16_t type, std::function<void(Status, const Resolution&)> done);

 private:
  void Next(std::shared_ptr<std::vector<std::string>> candidates, size_t i, uint16_t type, Resolution last,
            std::function<void(Status, const Resolution&)> done);

  Env& env_;
  DnsConfig config_;
  Nanos timeout_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ksim::dns
