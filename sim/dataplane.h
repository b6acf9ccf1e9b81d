// SimDataplane: the service rules of one simulated node, and the choice a real dataplane
// would make when a connection is opened to a service address.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cluster/env/dataplane.h"
#include "cluster/env/random.h"
#include "cluster/env/time.h"

namespace ksim::sim {

class SimDataplane {
 public:
  // Validates and installs the whole rule set (see ksim::Dataplane::Apply).
  Status Apply(const std::vector<ServiceRule>& rules);
  const std::vector<ServiceRule>& rules() const { return rules_; }
  uint64_t generation() const { return generation_; }

  // Where a new connection from `client_ip` to (ip, port) goes, at monotonic time `now`:
  // a ready endpoint (else a serving, terminating one) chosen uniformly by `random`, or
  // the client's previous endpoint under ClientIP affinity; nothing if no rule matches or
  // no endpoint is eligible. `ip` is a ClusterIP, or a node address when `port` is a
  // rule's NodePort (the caller asks only for node addresses).
  std::optional<ServiceEndpoint> Route(const std::string& ip, uint16_t port, const std::string& client_ip, Nanos now,
                                       Random& random);
  // Without a client (no affinity).
  std::optional<ServiceEndpoint> Route(const std::string& ip, uint16_t port, Random& random) {
    return Route(ip, port, "", Nanos(0), random);
  }

 private:
  struct Affinity {
    std::string ip;
    uint16_t port = 0;
    Nanos last_used{0};
  };
  static constexpr size_t kMaxAffinities = 100000;  // entries kept; the oldest rule's go first

  std::vector<ServiceRule> rules_;
  uint64_t generation_ = 0;
  std::map<std::pair<std::string, std::string>, Affinity> affinity_;  // (rule, client ip)
};

}  // namespace ksim::sim
