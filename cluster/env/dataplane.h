// Dataplane: the service-to-endpoint rules of one node (what kube-proxy programs).
// docs/NETWORKING.md describes the rule model.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cluster/env/status.h"

namespace ksim {

// One backend, with the EndpointSlice conditions that decide whether it gets traffic.
struct ServiceEndpoint {
  std::string ip;
  uint16_t port = 0;
  bool ready = true;         // gets new connections
  bool serving = true;       // would serve (ready or not, while terminating)
  bool terminating = false;  // its pod is being deleted
};

struct ServiceRule {
  std::string name;        // "<namespace>/<service>:<port name>"
  std::string cluster_ip;  // empty for headless services
  uint16_t port = 0;
  std::string protocol = "TCP";
  uint16_t node_port = 0;  // 0: no NodePort; else served on every node address
  // "None", or "ClientIP": a client keeps its endpoint while it stays eligible and the
  // client connected within the last `affinity_timeout_seconds`.
  std::string session_affinity = "None";
  int32_t affinity_timeout_seconds = 10800;
  std::vector<ServiceEndpoint> endpoints;
};

class Dataplane {
 public:
  virtual ~Dataplane() = default;

  // Replaces the node's whole rule set with `rules`, atomically: traffic sees either the
  // old set or the new one. New connections go to ready endpoints; only when a rule has
  // none, to endpoints that are serving and terminating (KEP-1669); else they are refused.
  // InvalidArgument (and no change) if a rule is malformed.
  virtual Status Apply(const std::vector<ServiceRule>& rules) = 0;
};

}  // namespace ksim
