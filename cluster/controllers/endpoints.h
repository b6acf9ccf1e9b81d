// The Endpoints controller's plan (Kubernetes' pkg/controller/endpoint), pure: the v1
// Endpoints a Service should have. Ready pods are in addresses and not-ready ones in
// notReadyAddresses (all in addresses with publishNotReadyAddresses); terminating pods
// are left out unless the Service publishes not-ready addresses; subsets group the
// addresses that have the same ports (RepackSubsets); beyond 1000 addresses the lists are
// truncated (ready ones first, each subset in proportion) and annotated over-capacity.
#pragma once

#include <string>
#include <vector>

#include "cluster/api/core.pb.h"

namespace ksim::controllers {

inline constexpr char kOverCapacityAnnotation[] = "endpoints.kubernetes.io/over-capacity";
inline constexpr int kMaxEndpointsCapacity = 1000;

// The subsets, repacked and sorted (addresses by IP and pod UID, ports by name, number
// and protocol, subsets by their ports), before truncation.
std::vector<api::EndpointSubset> DesiredEndpointSubsets(const api::Service& svc, const std::vector<const api::Pod*>& pods);
// Kubernetes' truncateEndpoints: true if `subsets` held more than kMaxEndpointsCapacity
// addresses and were cut to it.
bool TruncateEndpointSubsets(std::vector<api::EndpointSubset>& subsets);
// The Endpoints to write for `svc`: `current` (nullptr if none) with the desired subsets,
// the Service's labels (plus the headless marker) and the over-capacity annotation set or
// cleared. Returns false when `current` already is that (no write needed).
bool DesiredEndpoints(const api::Service& svc, const std::vector<const api::Pod*>& pods, const api::Endpoints* current,
                      api::Endpoints* out);

}  // namespace ksim::controllers
