// The disruption controller (Kubernetes' pkg/controller/disruption): keeps each
// PodDisruptionBudget's status current — expectedPods, desiredHealthy, currentHealthy,
// disruptionsAllowed, observedGeneration, disruptedPods and the DisruptionAllowed
// condition — from the pods its selector matches and the scale of their controllers. The
// apiserver's pods/eviction subresource (handler_eviction.cc) spends disruptionsAllowed.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/api/core.pb.h"
#include "cluster/api/policy.pb.h"
#include "cluster/controllers/controller.h"

namespace ksim::controllers {

inline constexpr char kDisruptionControllerName[] = "disruption";
// Kubernetes' DeletionTimeout: an eviction recorded in disruptedPods whose pod has not
// gone (or started going) this long after is counted healthy again.
inline constexpr Nanos kDisruptedPodTimeout = Seconds(120);

std::unique_ptr<Controller> NewDisruptionController(ControllerContext& ctx);

// Kubernetes' GetScaledValueFromIntOrPercent: an int as is, "N%" of `total` rounded up
// (or down). Anything else is InvalidArgument.
Status ScaledValue(const api::IntOrString& value, int32_t total, bool round_up, int32_t* out);

// The controller a pod's controllerRef leads to and its desired replicas: a ReplicaSet
// owned by a Deployment is the Deployment.
struct ControllerScale {
  std::string uid;
  int32_t replicas = 0;
};
using ScaleFinder = std::function<std::optional<ControllerScale>(const std::string& ns, const api::OwnerReference&)>;

// What the status is computed from.
struct DisruptionInputs {
  const api::PodDisruptionBudget* pdb = nullptr;
  std::vector<const api::Pod*> pods;  // every pod of the namespace the selector matches
  ScaleFinder find_scale;             // nullopt: no such controller
  int64_t now_seconds = 0;            // this host's wall clock
};
struct DisruptionResult {
  Status status;  // not OK: SyncFailed with this message
  int32_t expected = 0;
  int32_t desired_healthy = 0;
  int32_t current_healthy = 0;
  int32_t disruptions_allowed = 0;
  std::map<std::string, google::protobuf::Timestamp> disrupted_pods;  // kept entries
  std::vector<std::string> unmanaged;   // pods without a controllerRef (not counted)
  int64_t recheck_seconds = 0;          // earliest expiry of a kept entry (0: none)
};
// Kubernetes' getExpectedPodCount, buildDisruptedPodMap and countHealthyPods.
DisruptionResult ComputeDisruption(const DisruptionInputs& in);

// Kubernetes' UpdateDisruptionAllowedCondition on `status` (transition time `now` when
// the condition changes).
void SetDisruptionAllowedCondition(api::PodDisruptionBudgetStatus* status, const google::protobuf::Timestamp& now);

}  // namespace ksim::controllers
