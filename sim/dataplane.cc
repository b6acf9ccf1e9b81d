#include "sim/dataplane.h"

#include <set>
#include <utility>

namespace ksim::sim {

Status SimDataplane::Apply(const std::vector<ServiceRule>& rules) {
  std::set<std::pair<std::string, uint16_t>> seen;
  std::set<uint16_t> node_ports;
  for (size_t i = 0; i < rules.size(); ++i) {
    const ServiceRule& r = rules[i];
    const std::string where = "rules[" + std::to_string(i) + "] (" + r.name + ")";
    if (r.port == 0) return Status::InvalidArgument(where + ".port: must be 1..65535");
    if (r.protocol != "TCP" && r.protocol != "UDP" && r.protocol != "SCTP") {
      return Status::InvalidArgument(where + ".protocol: must be TCP, UDP or SCTP");
    }
    if (!r.cluster_ip.empty() && !seen.insert({r.cluster_ip, r.port}).second) {
      return Status::InvalidArgument(where + ": duplicate " + r.cluster_ip + ":" + std::to_string(r.port));
    }
    if (r.node_port != 0 && !node_ports.insert(r.node_port).second) {
      return Status::InvalidArgument(where + ".nodePort: " + std::to_string(r.node_port) + " used twice");
    }
    for (size_t j = 0; j < r.endpoints.size(); ++j) {
      if (r.endpoints[j].ip.empty() || r.endpoints[j].port == 0) {
        return Status::InvalidArgument(where + ".endpoints[" + std::to_string(j) + "]: needs ip and port");
      }
    }
  }
  rules_ = rules;
  ++generation_;
  return Status::Ok();
}

std::optional<ServiceEndpoint> SimDataplane::Route(const std::string& ip, uint16_t port, Random& random) const {
  for (const ServiceRule& r : rules_) {
    const bool match = (!r.cluster_ip.empty() && r.cluster_ip == ip && r.port == port) ||
                       (r.node_port != 0 && r.node_port == port);
    if (!match) continue;
    std::vector<const ServiceEndpoint*> ready;
    for (const ServiceEndpoint& e : r.endpoints) {
      if (e.ready) ready.push_back(&e);
    }
    if (ready.empty()) return std::nullopt;
    return *ready[random.Uniform(ready.size())];
  }
  return std::nullopt;
}

}  // namespace ksim::sim
