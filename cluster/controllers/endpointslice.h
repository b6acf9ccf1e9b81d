// The EndpointSlice controller in the controller-manager: the minimal one from
// cluster/proxy (issue 16 replaces it with Kubernetes' full controller), run only while
// this replica leads, writing through the manager's client.
#pragma once

#include <memory>

#include "cluster/controllers/controller.h"

namespace ksim::controllers {

inline constexpr char kEndpointSliceControllerName[] = "endpointslice";

// For ControllerManagerOptions::extra_controllers.
std::unique_ptr<Controller> NewEndpointSliceController(ControllerContext& ctx);

}  // namespace ksim::controllers
