// The dataplane rules of a node from Services and EndpointSlices: what kube-proxy computes
// on every sync. Pure, so tests need no cluster. docs/NETWORKING.md ("Rule model").
#pragma once

#include <vector>

#include "cluster/api/core.pb.h"
#include "cluster/api/discovery.pb.h"
#include "cluster/env/dataplane.h"

namespace ksim::proxy {

// One rule per port of every Service with a ClusterIP (headless and ExternalName Services
// get none): its ClusterIP, NodePort, session affinity, and the endpoints of the slices
// labelled kubernetes.io/service-name=<service> in its namespace whose port has the same
// name and protocol. An endpoint's conditions are read as the API defines them (ready
// unset = true, serving unset = ready, terminating unset = false); an address found in two
// slices counts once. Sorted by rule name, endpoints by (ip, port), so equal inputs give
// equal rules.
std::vector<ServiceRule> BuildRules(const std::vector<const api::Service*>& services,
                                    const std::vector<const api::EndpointSlice*>& slices);

}  // namespace ksim::proxy
