// The Job controller (Kubernetes' pkg/controller/job) and the TTL-after-finished
// controller. See docs/CONTROLLERS.md, "Job".
#pragma once

#include <memory>

#include "cluster/controllers/controller.h"
#include "cluster/controllers/job_util.h"

namespace ksim::controllers {

// Built-in "job": pods for Jobs (NonIndexed and Indexed), failure accounting with the
// batch.kubernetes.io/job-tracking finalizer, back-off, pod failure policy, deadlines,
// suspend, conditions and Events (source "job-controller").
std::unique_ptr<Controller> NewJobController(ControllerContext& ctx);
// Built-in "ttl-after-finished": deletes finished Jobs ttlSecondsAfterFinished after they
// finished (background propagation).
std::unique_ptr<Controller> NewTtlAfterFinishedController(ControllerContext& ctx);

}  // namespace ksim::controllers
