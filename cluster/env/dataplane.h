// Dataplane: the service-to-endpoint rules of one node (what kube-proxy programs).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cluster/env/status.h"

namespace ksim {

struct ServiceEndpoint {
  std::string ip;
  uint16_t port = 0;
  bool ready = true;
};

struct ServiceRule {
  std::string name;        // "<namespace>/<service>:<port name>"
  std::string cluster_ip;  // empty for headless services
  uint16_t port = 0;
  std::string protocol = "TCP";
  uint16_t node_port = 0;  // 0: no NodePort
  std::vector<ServiceEndpoint> endpoints;
};

class Dataplane {
 public:
  virtual ~Dataplane() = default;

  // Replaces the node's whole rule set with `rules`, atomically: traffic sees either the
  // old set or the new one. Only ready endpoints receive new connections.
  // InvalidArgument (and no change) if a rule is malformed.
  virtual Status Apply(const std::vector<ServiceRule>& rules) = 0;
};

}  // namespace ksim
