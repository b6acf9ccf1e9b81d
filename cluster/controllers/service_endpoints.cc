#include "cluster/controllers/service_endpoints.h"

#include <map>

namespace ksim::controllers {

bool ServiceWantsEndpoints(const api::Service& svc) {
  return !svc.spec().selector().empty() && svc.spec().type() != "ExternalName";
}

bool ServiceSelectsPod(const api::Service& svc, const api::Pod& pod) {
  if (svc.spec().selector().empty() || pod.metadata().namespace_() != svc.metadata().namespace_()) return false;
  // A protobuf map's order is unspecified: walk a sorted copy (the answer is the same).
  const std::map<std::string, std::string> selector(svc.spec().selector().begin(), svc.spec().selector().end());
  for (const auto& [k, v] : selector) {
    auto it = pod.metadata().labels().find(k);
    if (it == pod.metadata().labels().end() || it->second != v) return false;
  }
  return true;
}

bool PodIsReady(const api::Pod& pod) {
  for (const api::PodCondition& c : pod.status().conditions()) {
    if (c.type() == "Ready") return c.status() == "True";
  }
  return false;
}

bool ShouldPodBeInEndpoints(const api::Pod& pod, bool include_terminating) {
  if (pod.status().phase() == "Succeeded" || pod.status().phase() == "Failed") return false;
  if (pod.status().pod_ip().empty() && pod.status().pod_ips().empty()) return false;
  return include_terminating || !pod.metadata().has_deletion_timestamp();
}

std::optional<int32_t> FindPort(const api::Pod& pod, const api::ServicePort& port) {
  const std::string protocol = port.protocol().empty() ? "TCP" : port.protocol();
  if (port.target_port().value_case() == api::IntOrString::kStrVal) {
    for (const api::Container& c : pod.spec().containers()) {
      for (const api::ContainerPort& p : c.ports()) {
        if (p.name() == port.target_port().str_val() && (p.protocol().empty() ? "TCP" : p.protocol()) == protocol) {
          return p.container_port();
        }
      }
    }
    return std::nullopt;
  }
  // The apiserver defaults targetPort to port; an unset one here means the same.
  if (port.target_port().value_case() == api::IntOrString::kIntVal && port.target_port().int_val() != 0) {
    return port.target_port().int_val();
  }
  return port.port();
}

bool IsServiceIpSet(const api::Service& svc) {
  return !svc.spec().cluster_ip().empty() && svc.spec().cluster_ip() != "None";
}

bool ShouldSetHostname(const api::Pod& pod, const api::Service& svc) {
  return !pod.spec().hostname().empty() && pod.spec().subdomain() == svc.metadata().name() &&
         pod.metadata().namespace_() == svc.metadata().namespace_();
}

bool IsIpv6(const std::string& ip) { return ip.find(':') != std::string::npos; }

std::vector<std::string> ServiceAddressTypes(const api::Service& svc) {
  bool v4 = false;
  bool v6 = false;
  for (const std::string& family : svc.spec().ip_families()) {
    v4 = v4 || family == "IPv4";
    v6 = v6 || family == "IPv6";
  }
  if (!v4 && !v6) {
    if (IsServiceIpSet(svc)) {
      (IsIpv6(svc.spec().cluster_ip()) ? v6 : v4) = true;
    } else {
      v4 = v6 = true;  // a headless Service without families: both (Kubernetes' upgrade case)
    }
  }
  std::vector<std::string> out;
  if (v4) out.emplace_back(kAddressTypeIpv4);
  if (v6) out.emplace_back(kAddressTypeIpv6);
  return out;
}

std::string PodAddressOfType(const api::Pod& pod, const std::string& address_type) {
  const bool want_v6 = address_type == kAddressTypeIpv6;
  for (const api::PodIP& ip : pod.status().pod_ips()) {
    if (!ip.ip().empty() && IsIpv6(ip.ip()) == want_v6) return ip.ip();
  }
  if (pod.status().pod_ips().empty() && !pod.status().pod_ip().empty() && IsIpv6(pod.status().pod_ip()) == want_v6) {
    return pod.status().pod_ip();
  }
  return "";
}

}  // namespace ksim::controllers
