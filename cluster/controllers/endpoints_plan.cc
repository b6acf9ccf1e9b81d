#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <map>
#include <tuple>
#include <utility>

#include "cluster/controllers/endpoints.h"
#include "cluster/controllers/service_endpoints.h"

namespace ksim::controllers {
namespace {

using PortKey = std::tuple<std::string, int32_t, std::string, std::string>;  // name, port, protocol, appProtocol
using AddressKey = std::pair<std::string, std::string>;                       // IP, pod UID

PortKey KeyOf(const api::EndpointPort& p) { return {p.name(), p.port(), p.protocol(), p.app_protocol()}; }

// The IP the Endpoints list for `pod`: of the Service's first family (or, for a headless
// Service without families, of the pod's primary IP's family).
std::string EndpointIp(const api::Service& svc, const api::Pod& pod) {
  bool v6 = false;
  if (!svc.spec().ip_families().empty()) {
    v6 = svc.spec().ip_families(0) == "IPv6";
  } else if (IsServiceIpSet(svc)) {
    v6 = IsIpv6(svc.spec().cluster_ip());
  } else {
    v6 = IsIpv6(pod.status().pod_ip());
  }
  return PodAddressOfType(pod, v6 ? kAddressTypeIpv6 : kAddressTypeIpv4);
}

}  // namespace

std::vector<api::EndpointSubset> DesiredEndpointSubsets(const api::Service& svc, const std::vector<const api::Pod*>& pods) {
  const bool publish = svc.spec().publish_not_ready_addresses();
  const bool headless_without_ports = svc.spec().ports().empty() && svc.spec().cluster_ip() == "None";
  std::map<AddressKey, api::EndpointAddress> addresses;
  // Port (or none, for a headless Service without ports) -> address -> ready.
  std::map<std::optional<PortKey>, std::map<AddressKey, bool>> by_port;
  std::map<PortKey, api::EndpointPort> ports;
  for (const api::Pod* pod : pods) {
    if (!ServiceSelectsPod(svc, *pod) || !ShouldPodBeInEndpoints(*pod, publish)) continue;
    const std::string ip = EndpointIp(svc, *pod);
    if (ip.empty()) continue;
    api::EndpointAddress a;
    a.set_ip(ip);
    a.set_node_name(pod->spec().node_name());
    api::ObjectReference& ref = *a.mutable_target_ref();
    ref.set_kind("Pod");
    ref.set_namespace_(pod->metadata().namespace_());
    ref.set_name(pod->metadata().name());
    ref.set_uid(pod->metadata().uid());
    if (ShouldSetHostname(*pod, svc)) a.set_hostname(pod->spec().hostname());
    const AddressKey key{ip, pod->metadata().uid()};
    const bool ready = publish || PodIsReady(*pod);
    auto mark = [&](const std::optional<PortKey>& port) {
      addresses.emplace(key, a);
      bool& r = by_port[port][key];
      r = r || ready;
    };
    if (svc.spec().ports().empty()) {
      if (headless_without_ports) mark(std::nullopt);
      continue;
    }
    for (const api::ServicePort& sp : svc.spec().ports()) {
      const std::optional<int32_t> target = FindPort(*pod, sp);
      if (!target) continue;
      api::EndpointPort p;
      p.set_name(sp.name());
      p.set_port(*target);
      p.set_protocol(sp.protocol().empty() ? "TCP" : sp.protocol());
      if (sp.has_app_protocol()) p.set_app_protocol(sp.app_protocol());
      ports.emplace(KeyOf(p), p);
      mark(KeyOf(p));
    }
  }
  // Ports offered by exactly the same addresses (with the same readiness) share a subset.
  std::map<std::map<AddressKey, bool>, std::vector<std::optional<PortKey>>> by_addresses;
  for (auto& [port, set] : by_port) by_addresses[set].push_back(port);
  std::vector<api::EndpointSubset> subsets;
  for (const auto& [set, port_keys] : by_addresses) {
    api::EndpointSubset& s = subsets.emplace_back();
    for (const auto& [key, ready] : set) {
      *(ready ? s.add_addresses() : s.add_not_ready_addresses()) = addresses.at(key);
    }
    for (const auto& port : port_keys) {
      if (port) *s.add_ports() = ports.at(*port);
    }
  }
  std::sort(subsets.begin(), subsets.end(), [](const api::EndpointSubset& a, const api::EndpointSubset& b) {
    std::vector<PortKey> ka;
    std::vector<PortKey> kb;
    for (const auto& p : a.ports()) ka.push_back(KeyOf(p));
    for (const auto& p : b.ports()) kb.push_back(KeyOf(p));
    if (ka != kb) return ka < kb;
    const auto first = [](const api::EndpointSubset& s) {
      return s.addresses().empty() ? (s.not_ready_addresses().empty() ? std::string() : s.not_ready_addresses(0).ip())
                                   : s.addresses(0).ip();
    };
    return first(a) < first(b);
  });
  return subsets;
}

bool TruncateEndpointSubsets(std::vector<api::EndpointSubset>& subsets) {
  int64_t ready = 0;
  int64_t not_ready = 0;
  for (const auto& s : subsets) {
    ready += s.addresses_size();
    not_ready += s.not_ready_addresses_size();
  }
  if (ready + not_ready <= kMaxEndpointsCapacity) return false;
  const bool truncate_ready = ready > kMaxEndpointsCapacity;
  const int64_t max = truncate_ready ? kMaxEndpointsCapacity : kMaxEndpointsCapacity - ready;
  const int64_t total = truncate_ready ? ready : not_ready;
  int64_t can_add = max;
  for (auto& s : subsets) {
    const int64_t in_subset = truncate_ready ? s.addresses_size() : s.not_ready_addresses_size();
    // Each subset keeps its share, rounded up (so the last may get less).
    const int64_t share = std::min((in_subset * max + total - 1) / total, can_add);
    if (truncate_ready) {
      while (s.addresses_size() > share) s.mutable_addresses()->RemoveLast();
      s.clear_not_ready_addresses();
      can_add -= s.addresses_size();
    } else {
      while (s.not_ready_addresses_size() > share) s.mutable_not_ready_addresses()->RemoveLast();
      can_add -= s.not_ready_addresses_size();
    }
  }
  return true;
}

bool DesiredEndpoints(const api::Service& svc, const std::vector<const api::Pod*>& pods, const api::Endpoints* current,
                      api::Endpoints* out) {
  std::vector<api::EndpointSubset> subsets = DesiredEndpointSubsets(svc, pods);
  const bool truncated = TruncateEndpointSubsets(subsets);
  std::map<std::string, std::string> labels(svc.metadata().labels().begin(), svc.metadata().labels().end());
  if (IsServiceIpSet(svc)) {
    labels.erase(kHeadlessServiceLabel);
  } else {
    labels[kHeadlessServiceLabel] = "";
  }
  if (current != nullptr) {
    const std::map<std::string, std::string> have_labels(current->metadata().labels().begin(),
                                                         current->metadata().labels().end());
    bool same = have_labels == labels && current->subsets_size() == static_cast<int>(subsets.size()) &&
                current->metadata().annotations().count(kOverCapacityAnnotation) == (truncated ? 1u : 0u);
    for (size_t i = 0; same && i < subsets.size(); ++i) {
      same = google::protobuf::util::MessageDifferencer::Equals(current->subsets(static_cast<int>(i)), subsets[i]);
    }
    if (same) return false;
    *out = *current;
  } else {
    out->Clear();
    out->set_api_version("v1");
    out->set_kind("Endpoints");
    out->mutable_metadata()->set_namespace_(svc.metadata().namespace_());
    out->mutable_metadata()->set_name(svc.metadata().name());
  }
  out->clear_subsets();
  for (auto& s : subsets) *out->add_subsets() = std::move(s);
  out->mutable_metadata()->mutable_labels()->clear();
  for (const auto& [k, v] : labels) (*out->mutable_metadata()->mutable_labels())[k] = v;
  if (truncated) {
    (*out->mutable_metadata()->mutable_annotations())[kOverCapacityAnnotation] = "truncated";
  } else {
    out->mutable_metadata()->mutable_annotations()->erase(kOverCapacityAnnotation);
  }
  return true;
}

}  // namespace ksim::controllers
