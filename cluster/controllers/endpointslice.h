// The EndpointSlice controller (Kubernetes' pkg/controller/endpointslice), built-in
// "endpointslice": for every Service with a selector, EndpointSlices (one set per
// address type) listing the pods it selects with their ready/serving/terminating
// conditions, node, zone and ports, at most --max-endpoints-per-slice per slice, planned
// by endpointslice_plan.h and written only when its cache has every write of its own
// (endpointslice_tracker.h). docs/CONTROLLERS.md.
#pragma once

#include <memory>

#include "cluster/controllers/controller.h"

namespace ksim::controllers {

inline constexpr char kEndpointSliceControllerName[] = "endpointslice";
inline constexpr char kEndpointsControllerName[] = "endpoints";

std::unique_ptr<Controller> NewEndpointSliceController(ControllerContext& ctx);
// The Endpoints controller (Kubernetes' pkg/controller/endpoint), built-in "endpoints":
// endpoints.h.
std::unique_ptr<Controller> NewEndpointsController(ControllerContext& ctx);

}  // namespace ksim::controllers
