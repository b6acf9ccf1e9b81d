#include "cluster/controllers/endpointslice_plan.h"

#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <set>
#include <tuple>
#include <utility>

#include "cluster/controllers/service_endpoints.h"

namespace ksim::controllers {
namespace {

using google::protobuf::util::MessageDifferencer;

// Desired endpoints of one port set, by identity (popped in identity order).
struct PortGroup {
  std::vector<api::EndpointSlicePort> ports;
  std::map<std::string, api::Endpoint> endpoints;
};

std::vector<api::EndpointSlicePort> PortsOf(const api::EndpointSlice& s) { return {s.ports().begin(), s.ports().end()}; }

// The slice's labels: the Service's (without the reserved keys), the headless marker when
// it has no cluster IP, and the two the controller owns.
std::map<std::string, std::string> SliceLabels(const api::Service& svc) {
  std::map<std::string, std::string> labels(svc.metadata().labels().begin(), svc.metadata().labels().end());
  for (const char* reserved : {kServiceNameLabel, kManagedByLabel, kHeadlessServiceLabel}) labels.erase(reserved);
  if (!IsServiceIpSet(svc)) labels[kHeadlessServiceLabel] = "";
  labels[kServiceNameLabel] = svc.metadata().name();
  labels[kManagedByLabel] = kEndpointSliceManagedBy;
  return labels;
}

std::map<std::string, std::string> LabelsOf(const api::EndpointSlice& s) {
  return {s.metadata().labels().begin(), s.metadata().labels().end()};
}

void SetLabels(api::EndpointSlice& s, const std::map<std::string, std::string>& labels) {
  s.mutable_metadata()->mutable_labels()->clear();
  for (const auto& [k, v] : labels) (*s.mutable_metadata()->mutable_labels())[k] = v;
}

api::EndpointSlice NewSlice(const api::Service& svc, const std::string& address_type,
                            const std::vector<api::EndpointSlicePort>& ports) {
  api::EndpointSlice s;
  s.set_api_version("discovery.k8s.io/v1");
  s.set_kind("EndpointSlice");
  api::ObjectMeta& meta = *s.mutable_metadata();
  meta.set_namespace_(svc.metadata().namespace_());
  meta.set_generate_name(svc.metadata().name() + "-");
  api::OwnerReference& owner = *meta.add_owner_references();
  owner.set_api_version("v1");
  owner.set_kind("Service");
  owner.set_name(svc.metadata().name());
  owner.set_uid(svc.metadata().uid());
  owner.set_controller(true);
  owner.set_block_owner_deletion(true);
  SetLabels(s, SliceLabels(svc));
  s.set_address_type(address_type);
  for (const api::EndpointSlicePort& p : ports) *s.add_ports() = p;
  return s;
}

bool OwnedBy(const api::EndpointSlice& s, const api::Service& svc) {
  for (const api::OwnerReference& o : s.metadata().owner_references()) {
    if (o.uid() == svc.metadata().uid() && o.kind() == "Service" && o.api_version() == "v1") return true;
  }
  return false;
}

// Kubernetes' placeholder comparison: namespace, labels, type, ports and endpoints.
bool SamePlaceholder(const api::EndpointSlice& a, const api::EndpointSlice& b) {
  return a.metadata().namespace_() == b.metadata().namespace_() && LabelsOf(a) == LabelsOf(b) &&
         a.address_type() == b.address_type() && a.ports_size() == 0 && b.ports_size() == 0 &&
         a.endpoints_size() == 0 && b.endpoints_size() == 0;
}

// getSliceToFill: the slice that `count` more endpoints bring closest to max, or null.
api::EndpointSlice* SliceToFill(const std::vector<api::EndpointSlice*>& slices, size_t count, size_t max) {
  api::EndpointSlice* best = nullptr;
  size_t best_gap = max;
  for (api::EndpointSlice* s : slices) {
    const size_t used = static_cast<size_t>(s->endpoints_size()) + count;
    if (used > max || max - used >= best_gap) continue;
    best_gap = max - used;
    best = s;
    if (best_gap == 0) break;
  }
  return best;
}

void PopInto(std::map<std::string, api::Endpoint>& desired, api::EndpointSlice& slice, size_t max) {
  while (!desired.empty() && static_cast<size_t>(slice.endpoints_size()) < max) {
    *slice.add_endpoints() = std::move(desired.begin()->second);
    desired.erase(desired.begin());
  }
}

// reconcileByPortMapping: one port set's existing slices (by name) and desired endpoints.
void ReconcilePortGroup(const api::Service& svc, const std::string& address_type,
                        const std::vector<const api::EndpointSlice*>& existing, PortGroup desired, size_t max,
                        std::vector<api::EndpointSlice>& creates, std::vector<api::EndpointSlice>& updates,
                        std::vector<api::EndpointSlice>& deletes) {
  const std::map<std::string, std::string> labels = SliceLabels(svc);
  std::map<std::string, api::EndpointSlice> to_update;  // by name
  std::map<std::string, api::EndpointSlice> unchanged;  // by name
  // 1. Each existing slice keeps the desired endpoints it has (in their desired form).
  for (const api::EndpointSlice* have : existing) {
    api::EndpointSlice next = *have;
    next.clear_endpoints();
    bool endpoint_changed = false;
    for (const api::Endpoint& e : have->endpoints()) {
      auto it = desired.endpoints.find(EndpointIdentity(e));
      if (it == desired.endpoints.end()) continue;
      if (!MessageDifferencer::Equals(it->second, e)) endpoint_changed = true;
      *next.add_endpoints() = std::move(it->second);
      desired.endpoints.erase(it);
    }
    const bool labels_changed = LabelsOf(*have) != labels;
    if (endpoint_changed || next.endpoints_size() != have->endpoints_size()) {
      if (next.endpoints_size() == 0) {
        deletes.push_back(*have);
        continue;
      }
      SetLabels(next, labels);
      to_update.emplace(have->metadata().name(), std::move(next));
    } else if (labels_changed) {
      SetLabels(next, labels);
      to_update.emplace(have->metadata().name(), std::move(next));
    } else {
      unchanged.emplace(have->metadata().name(), std::move(next));
    }
  }
  // 2. New endpoints fill the slices already being written, fullest first.
  if (!desired.endpoints.empty() && !to_update.empty()) {
    std::vector<api::EndpointSlice*> fill;
    for (auto& [name, s] : to_update) fill.push_back(&s);
    std::stable_sort(fill.begin(), fill.end(), [](const api::EndpointSlice* a, const api::EndpointSlice* b) {
      return a->endpoints_size() > b->endpoints_size();
    });
    for (api::EndpointSlice* s : fill) PopInto(desired.endpoints, *s, max);
  }
  // 3. What is left goes into the unchanged slice it fills best (if less than a slice's
  // worth), else into new slices.
  while (!desired.endpoints.empty()) {
    api::EndpointSlice* target = nullptr;
    if (desired.endpoints.size() < max && !unchanged.empty()) {
      std::vector<api::EndpointSlice*> candidates;
      for (auto& [name, s] : unchanged) candidates.push_back(&s);
      target = SliceToFill(candidates, desired.endpoints.size(), max);
    }
    if (target == nullptr) {
      creates.push_back(NewSlice(svc, address_type, desired.ports));
      PopInto(desired.endpoints, creates.back(), max);
      continue;
    }
    const std::string name = target->metadata().name();
    PopInto(desired.endpoints, *target, max);
    to_update.emplace(name, std::move(*target));
    unchanged.erase(name);
  }
  for (auto& [name, s] : to_update) updates.push_back(std::move(s));
}

// reconcileByAddressType, then finalize's recycling of deletes into creates.
void ReconcileAddressType(const EndpointSliceInputs& in, const std::string& address_type,
                          const std::vector<const api::EndpointSlice*>& existing, EndpointSlicePlan& plan) {
  const api::Service& svc = *in.service;
  std::map<std::string, PortGroup> desired;
  std::vector<const api::Pod*> pods = in.pods;
  std::sort(pods.begin(), pods.end(),
            [](const api::Pod* a, const api::Pod* b) { return a->metadata().name() < b->metadata().name(); });
  for (const api::Pod* pod : pods) {
    if (!ServiceSelectsPod(svc, *pod) || !ShouldPodBeInEndpoints(*pod, /*include_terminating=*/true)) continue;
    const std::string& node = pod->spec().node_name();
    if (!node.empty() && in.node_zones.count(node) == 0) {
      if (address_type == ServiceAddressTypes(svc).front()) {
        plan.errors.push_back("skipping Pod " + pod->metadata().name() + ": Node " + node + " Not Found");
      }
      continue;
    }
    const std::string address = PodAddressOfType(*pod, address_type);
    if (address.empty()) continue;
    std::vector<api::EndpointSlicePort> ports = EndpointPortsFor(svc, *pod);
    PortGroup& group = desired[PortSetKey(ports)];
    group.ports = std::move(ports);
    api::Endpoint e = PodToEndpoint(svc, *pod, address, in.node_zones);
    group.endpoints.emplace(EndpointIdentity(e), std::move(e));
  }
  std::map<std::string, std::vector<const api::EndpointSlice*>> existing_by_ports;
  for (const api::EndpointSlice* s : existing) existing_by_ports[PortSetKey(PortsOf(*s))].push_back(s);

  std::vector<api::EndpointSlice> creates;
  std::vector<api::EndpointSlice> updates;
  std::vector<api::EndpointSlice> deletes;
  for (auto& [key, group] : desired) {
    auto it = existing_by_ports.find(key);
    ReconcilePortGroup(svc, address_type, it == existing_by_ports.end() ? std::vector<const api::EndpointSlice*>{} : it->second,
                       std::move(group), in.max_endpoints_per_slice, creates, updates, deletes);
  }
  for (const auto& [key, slices] : existing_by_ports) {
    if (desired.count(key) != 0) continue;
    for (const api::EndpointSlice* s : slices) deletes.push_back(*s);
  }
  if (existing.size() == deletes.size() && creates.empty()) {
    api::EndpointSlice placeholder = NewSlice(svc, address_type, {});
    if (deletes.size() == 1 && SamePlaceholder(deletes[0], placeholder)) {
      deletes.clear();
    } else {
      creates.push_back(std::move(placeholder));
    }
  }
  // A create takes over the name of a slice being deleted (one update, not two writes).
  std::vector<api::EndpointSlice> kept_creates;
  for (api::EndpointSlice& c : creates) {
    if (!deletes.empty() && deletes.back().address_type() == c.address_type() && OwnedBy(deletes.back(), svc)) {
      c.mutable_metadata()->clear_generate_name();
      c.mutable_metadata()->set_name(deletes.back().metadata().name());
      c.mutable_metadata()->set_resource_version(deletes.back().metadata().resource_version());
      c.mutable_metadata()->set_uid(deletes.back().metadata().uid());
      deletes.pop_back();
      updates.push_back(std::move(c));
      continue;
    }
    kept_creates.push_back(std::move(c));
  }
  for (auto& c : kept_creates) plan.creates.push_back(std::move(c));
  for (auto& u : updates) plan.updates.push_back(std::move(u));
  for (auto& d : deletes) plan.deletes.push_back(std::move(d));
}

}  // namespace

std::string PortSetKey(const std::vector<api::EndpointSlicePort>& ports) {
  std::vector<std::tuple<std::string, std::string, int32_t, std::string>> sorted;
  for (const api::EndpointSlicePort& p : ports) sorted.emplace_back(p.name(), p.protocol(), p.port(), p.app_protocol());
  std::sort(sorted.begin(), sorted.end());
  std::string key;
  for (const auto& [name, protocol, port, app] : sorted) {
    key += name + "/" + protocol + "/" + std::to_string(port) + "/" + app + ";";
  }
  return key;
}

std::string EndpointIdentity(const api::Endpoint& e) {
  std::vector<std::string> addresses(e.addresses().begin(), e.addresses().end());
  std::sort(addresses.begin(), addresses.end());
  std::string key;
  for (const std::string& a : addresses) key += a + ",";
  return key + "|" + e.hostname() + "|" + e.target_ref().namespace_() + "/" + e.target_ref().name();
}

std::vector<api::EndpointSlicePort> EndpointPortsFor(const api::Service& svc, const api::Pod& pod) {
  std::vector<api::EndpointSlicePort> ports;
  for (const api::ServicePort& sp : svc.spec().ports()) {
    const std::optional<int32_t> target = FindPort(pod, sp);
    if (!target) continue;
    api::EndpointSlicePort p;
    p.set_name(sp.name());
    p.set_protocol(sp.protocol().empty() ? "TCP" : sp.protocol());
    p.set_port(*target);
    if (sp.has_app_protocol()) p.set_app_protocol(sp.app_protocol());
    ports.push_back(std::move(p));
  }
  return ports;
}

api::Endpoint PodToEndpoint(const api::Service& svc, const api::Pod& pod, const std::string& address,
                            const std::map<std::string, std::string>& node_zones) {
  const bool serving = PodIsReady(pod);
  const bool terminating = pod.metadata().has_deletion_timestamp();
  api::Endpoint e;
  e.add_addresses(address);
  // A terminating pod is never ready, unless the Service publishes not-ready addresses.
  e.mutable_conditions()->set_ready(svc.spec().publish_not_ready_addresses() || (serving && !terminating));
  e.mutable_conditions()->set_serving(serving);
  e.mutable_conditions()->set_terminating(terminating);
  api::ObjectReference& ref = *e.mutable_target_ref();
  ref.set_kind("Pod");
  ref.set_namespace_(pod.metadata().namespace_());
  ref.set_name(pod.metadata().name());
  ref.set_uid(pod.metadata().uid());
  if (!pod.spec().node_name().empty()) {
    e.set_node_name(pod.spec().node_name());
    auto zone = node_zones.find(pod.spec().node_name());
    if (zone != node_zones.end() && !zone->second.empty()) e.set_zone(zone->second);
  }
  if (ShouldSetHostname(pod, svc)) e.set_hostname(pod.spec().hostname());
  return e;
}

EndpointSlicePlan PlanEndpointSlices(const EndpointSliceInputs& in) {
  EndpointSlicePlan plan;
  const std::vector<std::string> types = ServiceAddressTypes(*in.service);
  std::map<std::string, std::vector<const api::EndpointSlice*>> by_type;
  std::vector<const api::EndpointSlice*> existing = in.existing;
  std::sort(existing.begin(), existing.end(), [](const api::EndpointSlice* a, const api::EndpointSlice* b) {
    return a->metadata().name() < b->metadata().name();
  });
  std::vector<api::EndpointSlice> unsupported;
  for (const api::EndpointSlice* s : existing) {
    if (std::find(types.begin(), types.end(), s->address_type()) == types.end()) {
      unsupported.push_back(*s);
    } else {
      by_type[s->address_type()].push_back(s);
    }
  }
  for (const std::string& type : types) ReconcileAddressType(in, type, by_type[type], plan);
  for (auto& s : unsupported) plan.deletes.push_back(std::move(s));
  return plan;
}

}  // namespace ksim::controllers
