// The EndpointSlice controller's reconciler (Kubernetes' pkg/controller/endpointslice
// reconciler), as a pure function: the slices one Service should have, given its pods,
// the nodes' zones and its existing slices, planned as Kubernetes does to keep writes
// few — per address type and per port set, endpoints stay in the slice that has them
// (updated in place), removed ones leave it (a slice left empty is deleted), new ones
// first fill slices already being updated (fullest first), then the unchanged slice that
// they fill closest to max, then new slices; a new slice takes over the name of one being
// deleted (an update instead of a create and a delete). A Service with no endpoints of a
// type keeps one empty placeholder slice of that type.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "cluster/api/core.pb.h"
#include "cluster/api/discovery.pb.h"

namespace ksim::controllers {

struct EndpointSliceInputs {
  const api::Service* service = nullptr;
  std::vector<const api::Pod*> pods;              // the Service's namespace's pods, any order
  std::map<std::string, std::string> node_zones;  // every known node -> its zone ("" if none)
  std::vector<const api::EndpointSlice*> existing;  // its managed slices not being deleted
  size_t max_endpoints_per_slice = 100;
};

struct EndpointSlicePlan {
  std::vector<api::EndpointSlice> creates;  // with generateName "<service>-"
  std::vector<api::EndpointSlice> updates;  // carry the resourceVersion they replace
  std::vector<api::EndpointSlice> deletes;  // as the cache has them
  // Pods left out because their node is not known (Kubernetes then retries the Service).
  std::vector<std::string> errors;
  bool empty() const { return creates.empty() && updates.empty() && deletes.empty(); }
};

EndpointSlicePlan PlanEndpointSlices(const EndpointSliceInputs& in);

// The endpoint Kubernetes derives from `pod` for `svc` with address `address`.
api::Endpoint PodToEndpoint(const api::Service& svc, const api::Pod& pod, const std::string& address,
                            const std::map<std::string, std::string>& node_zones);
// The ports `svc` reaches on `pod` (a Service port whose named targetPort the pod lacks
// is left out), in the Service's order.
std::vector<api::EndpointSlicePort> EndpointPortsFor(const api::Service& svc, const api::Pod& pod);
// Order-independent identity of a port set / of an endpoint (addresses, hostname, pod).
std::string PortSetKey(const std::vector<api::EndpointSlicePort>& ports);
std::string EndpointIdentity(const api::Endpoint& e);

}  // namespace ksim::controllers
