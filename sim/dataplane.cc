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
    if (r.session_affinity != "None" && r.session_affinity != "ClientIP") {
      return Status::InvalidArgument(where + ".sessionAffinity: must be None or ClientIP");
    }
    if (r.session_affinity == "ClientIP" && (r.affinity_timeout_seconds <= 0 || r.affinity_timeout_seconds > 86400)) {
      return Status::InvalidArgument(where + ".timeoutSeconds: must be 1..86400");
    }
    for (size_t j = 0; j < r.endpoints.size(); ++j) {
      if (r.endpoints[j].ip.empty() || r.endpoints[j].port == 0) {
        return Status::InvalidArgument(where + ".endpoints[" + std::to_string(j) + "]: needs ip and port");
      }
    }
  }
  rules_ = rules;
  ++generation_;
  // Affinities of rules that are gone go with them.
  std::set<std::string> names;
  for (const ServiceRule& r : rules_) {
    if (r.session_affinity == "ClientIP") names.insert(r.name);
  }
  for (auto it = affinity_.begin(); it != affinity_.end();) {
    it = names.count(it->first.first) == 0 ? affinity_.erase(it) : std::next(it);
  }
  return Status::Ok();
}

std::optional<ServiceEndpoint> SimDataplane::Route(const std::string& ip, uint16_t port, const std::string& client_ip,
                                                   Nanos now, Random& random) {
  for (const ServiceRule& r : rules_) {
    const bool match = (!r.cluster_ip.empty() && r.cluster_ip == ip && r.port == port) ||
                       (r.node_port != 0 && r.node_port == port);
    if (!match) continue;
    // Ready endpoints; only if there are none, serving terminating ones (KEP-1669).
    std::vector<const ServiceEndpoint*> eligible;
    for (const ServiceEndpoint& e : r.endpoints) {
      if (e.ready) eligible.push_back(&e);
    }
    if (eligible.empty()) {
      for (const ServiceEndpoint& e : r.endpoints) {
        if (e.serving && e.terminating) eligible.push_back(&e);
      }
    }
    if (eligible.empty()) return std::nullopt;
    const bool sticky = r.session_affinity == "ClientIP" && !client_ip.empty();
    const auto key = std::make_pair(r.name, client_ip);
    if (sticky) {
      auto it = affinity_.find(key);
      if (it != affinity_.end() && now - it->second.last_used < Seconds(r.affinity_timeout_seconds)) {
        for (const ServiceEndpoint* e : eligible) {
          if (e->ip == it->second.ip && e->port == it->second.port) {
            it->second.last_used = now;
            return *e;
          }
        }
      }
    }
    const ServiceEndpoint& chosen = *eligible[random.Uniform(eligible.size())];
    if (sticky && (affinity_.size() < kMaxAffinities || affinity_.count(key) > 0)) {
      affinity_[key] = Affinity{chosen.ip, chosen.port, now};
    }
    return chosen;
  }
  return std::nullopt;
}

}  // namespace ksim::sim
