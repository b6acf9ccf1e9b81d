// The CronJob controller (Kubernetes' cronjob_controllerv2). See docs/CONTROLLERS.md, "CronJob".
#pragma once

#include <memory>

#include "cluster/controllers/controller.h"

namespace ksim::controllers {

inline constexpr char kCronJobControllerName[] = "cronjob";

// Built-in "cronjob": Jobs from CronJobs on their schedule (UTC; see cron_schedule.h),
// concurrencyPolicy, startingDeadlineSeconds, suspend, history limits, status; Events
// from "cronjob-controller".
std::unique_ptr<Controller> NewCronJobController(ControllerContext& ctx);

}  // namespace ksim::controllers
