// A RollingUpdate's promise (Kubernetes' deployment docs, "Max Unavailable" / "Max Surge"):
// while a rollout runs, never more than replicas + maxSurge active pods and never fewer
// than replicas - maxUnavailable available. One rule for the controllers' DeploymentProperty
// and the scenario checker rollingUpdateBounds.
#pragma once

#include <fmt/format.h>

#include <string>

namespace ksim::controllers {

// `active`: pods neither terminal nor terminating; `available`: active and Ready.
// `surge`/`unavailable`: the resolved fenceposts (ResolveFenceposts). "" or the bound broken.
inline std::string RolloutBoundsViolation(int active, int available, int replicas, int surge, int unavailable) {
  if (active > replicas + surge) return fmt::format("{} active pods > {} + {}", active, replicas, surge);
  if (available < replicas - unavailable) {
    return fmt::format("{} available pods < {} - {}", available, replicas, unavailable);
  }
  return "";
}

}  // namespace ksim::controllers
