#include "cluster/proxy/rules.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>

namespace ksim::proxy {

namespace {

constexpr char kServiceNameLabel[] = "kubernetes.io/service-name";

std::string SliceServiceKey(const api::EndpointSlice& s) {
  auto it = s.metadata().labels().find(kServiceNameLabel);
  if (it == s.metadata().labels().end()) return {};
  return s.metadata().namespace_() + "/" + it->second;
}

ServiceEndpoint FromEndpoint(const api::Endpoint& e, uint16_t port) {
  ServiceEndpoint out;
  out.ip = e.addresses(0);
  out.port = port;
  const api::EndpointConditions& c = e.conditions();
  out.ready = !c.has_ready() || c.ready();
  out.serving = c.has_serving() ? c.serving() : out.ready;
  out.terminating = c.has_terminating() && c.terminating();
  return out;
}

}  // namespace

std::vector<ServiceRule> BuildRules(const std::vector<const api::Service*>& services,
                                    const std::vector<const api::EndpointSlice*>& slices) {
  std::map<std::string, std::vector<const api::EndpointSlice*>> by_service;
  for (const api::EndpointSlice* s : slices) {
    if (s->address_type() != "IPv4") continue;
    std::string key = SliceServiceKey(*s);
    if (!key.empty()) by_service[std::move(key)].push_back(s);
  }
  std::vector<ServiceRule> rules;
  for (const api::Service* svc : services) {
    const api::ServiceSpec& spec = svc->spec();
    if (spec.type() == "ExternalName" || spec.cluster_ip().empty() || spec.cluster_ip() == "None") continue;
    const std::string key = svc->metadata().namespace_() + "/" + svc->metadata().name();
    const auto found = by_service.find(key);
    for (const api::ServicePort& port : spec.ports()) {
      if (port.port() <= 0 || port.port() > 65535) continue;
      ServiceRule r;
      r.name = key + ":" + port.name();
      r.cluster_ip = spec.cluster_ip();
      r.port = static_cast<uint16_t>(port.port());
      r.protocol = port.protocol().empty() ? "TCP" : port.protocol();
      r.node_port = port.node_port() > 0 && port.node_port() <= 65535 ? static_cast<uint16_t>(port.node_port()) : 0;
      if (spec.session_affinity() == "ClientIP") {
        r.session_affinity = "ClientIP";
        const auto& cfg = spec.session_affinity_config().client_ip();
        if (cfg.has_timeout_seconds()) r.affinity_timeout_seconds = cfg.timeout_seconds();
      }
      std::map<std::pair<std::string, uint16_t>, ServiceEndpoint> endpoints;
      if (found != by_service.end()) {
        for (const api::EndpointSlice* slice : found->second) {
          for (const api::EndpointSlicePort& sp : slice->ports()) {
            const std::string protocol = sp.has_protocol() ? sp.protocol() : "TCP";
            if (sp.name() != port.name() || protocol != r.protocol || !sp.has_port()) continue;
            if (sp.port() <= 0 || sp.port() > 65535) continue;
            for (const api::Endpoint& e : slice->endpoints()) {
              if (e.addresses_size() == 0 || e.addresses(0).empty()) continue;
              ServiceEndpoint ep = FromEndpoint(e, static_cast<uint16_t>(sp.port()));
              endpoints.emplace(std::make_pair(ep.ip, ep.port), std::move(ep));
            }
          }
        }
      }
      for (auto& [k, ep] : endpoints) r.endpoints.push_back(std::move(ep));
      rules.push_back(std::move(r));
    }
  }
  std::sort(rules.begin(), rules.end(), [](const ServiceRule& a, const ServiceRule& b) { return a.name < b.name; });
  return rules;
}

}  // namespace ksim::proxy
