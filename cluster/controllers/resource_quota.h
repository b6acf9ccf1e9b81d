// The ResourceQuota controller (Kubernetes' resourcequota controller): status.hard = spec.hard
// and status.used recomputed from the objects that exist, with the apiserver's own charge
// function (apiserver::QuotaUsage), on quota changes, on relevant object deletes and
// changes, and every --resource-quota-sync-period. See docs/CONTROLLERS.md.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "cluster/api/core.pb.h"
#include "cluster/api/machinery/quantity.h"
#include "cluster/controllers/controller.h"

namespace ksim::controllers {

inline constexpr char kResourceQuotaControllerName[] = "resourcequota";

std::unique_ptr<Controller> NewResourceQuotaController(ControllerContext& ctx);

// The resources a quota's hard names need counted: "pods", "requests.cpu", "count/pods",
// "count/deployments.apps"... map to the kind to list; names nothing charges map to null.
const api::KindInfo* QuotaResourceKind(const std::string& hard_name);
// Whether an object of `kind` counts against quota now (pods: not Succeeded or Failed).
bool CountsAgainstQuota(const api::KindInfo& kind, const google::protobuf::Message& object);

}  // namespace ksim::controllers
