// What the EndpointSlice and Endpoints controllers share (Kubernetes'
// pkg/controller/util/endpoint and endpointslice util): which pods a Service selects,
// which of them belong in its endpoints, their readiness, the port a Service port reaches
// on a pod, the address families of a Service and a pod's address in one of them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cluster/api/core.pb.h"

namespace ksim::controllers {

inline constexpr char kServiceNameLabel[] = "kubernetes.io/service-name";
inline constexpr char kManagedByLabel[] = "endpointslice.kubernetes.io/managed-by";
inline constexpr char kEndpointSliceManagedBy[] = "endpointslice-controller.k8s.io";
inline constexpr char kHeadlessServiceLabel[] = "service.kubernetes.io/headless";
inline constexpr char kTopologyZoneLabel[] = "topology.kubernetes.io/zone";
inline constexpr char kAddressTypeIpv4[] = "IPv4";
inline constexpr char kAddressTypeIpv6[] = "IPv6";

// A Service the controllers give endpoints: it has a selector and is not ExternalName.
// (An empty selector map is "no selector": proto3 cannot tell nil from empty.)
bool ServiceWantsEndpoints(const api::Service& svc);
// The pod is in the Service's namespace and carries every selector label.
bool ServiceSelectsPod(const api::Service& svc, const api::Pod& pod);
// The pod's Ready condition is True (podutil.IsPodReady).
bool PodIsReady(const api::Pod& pod);
// Kubernetes' ShouldPodBeInEndpoints: not Succeeded/Failed, has an IP, and (unless
// `include_terminating`) no deletionTimestamp.
bool ShouldPodBeInEndpoints(const api::Pod& pod, bool include_terminating);
// podutil.FindPort: a named targetPort is looked up in the pod's container ports (same
// name and protocol); a number is used as is. nullopt when the name is not found.
std::optional<int32_t> FindPort(const api::Pod& pod, const api::ServicePort& port);
// clusterIP set and not "None".
bool IsServiceIpSet(const api::Service& svc);
// The pod's hostname goes into its endpoint when its subdomain names the Service.
bool ShouldSetHostname(const api::Pod& pod, const api::Service& svc);
bool IsIpv6(const std::string& ip);
// The address types ("IPv4", "IPv6", sorted) a Service's slices carry: from ipFamilies,
// else from clusterIP, else (headless without families) both.
std::vector<std::string> ServiceAddressTypes(const api::Service& svc);
// The pod's first IP of `address_type` (status.podIPs, else status.podIP), or "".
std::string PodAddressOfType(const api::Pod& pod, const std::string& address_type);

}  // namespace ksim::controllers
