// SimDataplane: the service rules of one simulated node, and the choice a real dataplane
// would make when a connection is opened to a service address.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cluster/env/dataplane.h"
#include "cluster/env/random.h"

namespace ksim::sim {

class SimDataplane {
 public:
  // Validates and installs the whole rule set (see ksim::Dataplane::Apply).
  Status Apply(const std::vector<ServiceRule>& rules);
  const std::vector<ServiceRule>& rules() const { return rules_; }
  uint64_t generation() const { return generation_; }

  // Where a new connection to (ip, port) goes: a ready endpoint chosen uniformly by
  // `random`, or nothing if no rule matches or no endpoint is ready. `ip` may be a
  // ClusterIP, or any node address when `port` is a rule's NodePort.
  std::optional<ServiceEndpoint> Route(const std::string& ip, uint16_t port, Random& random) const;

 private:
  std::vector<ServiceRule> rules_;
  uint64_t generation_ = 0;
};

}  // namespace ksim::sim
