// The allocation hooks of Services (resource_strategy.h): a ClusterIP from
// --service-cluster-ip-range and NodePorts from the node-port range, recorded per value
// by the Allocator (allocator.h). docs/APISERVER.md ("Allocations").
#pragma once

#include <google/protobuf/message.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "cluster/apiserver/allocator.h"
#include "cluster/apiserver/strategy/resource_strategy.h"
#include "cluster/net/ipv4.h"

namespace ksim::apiserver {

inline constexpr char kServiceIpRange[] = "serviceips";
inline constexpr char kNodePortRange[] = "servicenodeports";

// The Allocator ranges of a service CIDR (network and broadcast addresses excluded) and a
// node-port range [first, last], with Kubernetes' static bands (KEP-3070, KEP-3668).
AllocationRange ServiceIpRange(const net::Cidr& cidr);
AllocationRange NodePortRange(uint32_t first, uint32_t last);

void CarryServiceAllocations(const google::protobuf::Message& old, google::protobuf::Message& updated);
void AllocateService(Allocator& allocator, std::shared_ptr<google::protobuf::Message> object,
                     std::shared_ptr<const google::protobuf::Message> old, int attempt,
                     std::function<void(AllocationOutcome)> done);
std::vector<SideWrite> ReleaseServiceAllocations(const Allocator& allocator, const google::protobuf::Message& object);

}  // namespace ksim::apiserver
