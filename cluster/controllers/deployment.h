// The Deployment controller (Kubernetes' pkg/controller/deployment semantics): a Deployment
// owns ReplicaSets named <deployment>-<pod-template-hash>; RollingUpdate and Recreate
// move replicas from the old ones to the one whose template matches, within maxSurge and
// maxUnavailable; revisions, rollback by template, pause, progress deadline, proportional
// scaling, history cleanup and the status `kubectl rollout status` reads.
//
// The decisions are pure (PlanDeployment: cached objects in, a list of writes out) so they
// are testable without a cluster; deployment.cc runs the writes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/api/apps.pb.h"
#include "cluster/api/core.pb.h"
#include "cluster/controllers/controller.h"

namespace ksim::controllers {

inline constexpr char kDeploymentControllerName[] = "deployment";
inline constexpr char kPodTemplateHashLabel[] = "pod-template-hash";
inline constexpr char kRevisionAnnotation[] = "deployment.kubernetes.io/revision";
inline constexpr char kDesiredReplicasAnnotation[] = "deployment.kubernetes.io/desired-replicas";
inline constexpr char kMaxReplicasAnnotation[] = "deployment.kubernetes.io/max-replicas";

std::unique_ptr<Controller> NewDeploymentController(ControllerContext& ctx);

// The pod-template-hash: FNV-1a (32 bit) over the template's deterministic protobuf
// encoding, then the collision count in decimal if set, written as Kubernetes'
// rand.SafeEncodeString of the decimal hash (no vowels, no 0/1/3).
std::string TemplateHash(const api::PodTemplateSpec& tmpl, std::optional<int32_t> collision_count);
// Templates equal once the pod-template-hash label is dropped from both (EqualIgnoreHash).
bool TemplatesEqualIgnoringHash(const api::PodTemplateSpec& a, const api::PodTemplateSpec& b);

// An int-or-percent against `total`: a percent rounds up when `round_up`, else down.
int32_t ScaledValue(const api::IntOrString& v, int32_t total, bool round_up);
struct Fenceposts {
  int32_t surge = 0;
  int32_t unavailable = 0;
};
// maxSurge rounds up, maxUnavailable down; if both come to 0, unavailable is 1 (progress).
Fenceposts ResolveFenceposts(const api::IntOrString& max_surge, const api::IntOrString& max_unavailable,
                             int32_t desired);
int32_t MaxSurge(const api::Deployment& d);        // 0 unless RollingUpdate
int32_t MaxUnavailable(const api::Deployment& d);  // 0 unless RollingUpdate; at most replicas
int64_t Revision(const google::protobuf::Message& obj);  // the revision annotation, 0 if none

// One write a sync sends, in order; Events follow its success.
struct DeploymentWrite {
  enum Kind { kCreateRs, kUpdateRs, kDeleteRs };
  Kind kind = kUpdateRs;
  api::ReplicaSet rs;  // updates carry the cached resourceVersion (a stale cache gets 409)
  std::vector<std::pair<std::string, std::string>> events;  // Normal (reason, message)
};

struct DeploymentPlan {
  std::vector<DeploymentWrite> writes;
  // The Deployment with its new revision annotation and status; written (metadata, then
  // the status subresource) only where it differs from the cached one.
  api::Deployment deployment;
  bool metadata_changed = false;
  bool status_changed = false;
  // Look at the Deployment again after this many seconds (the progress deadline); -1: no.
  int64_t requeue_after_s = -1;
};

// One sync of `d` over the ReplicaSets it owns (claimed already) and, for Recreate, the
// pods of those ReplicaSets, at wall time `now_s`.
DeploymentPlan PlanDeployment(const api::Deployment& d, std::vector<api::ReplicaSet> owned,
                              const std::vector<api::Pod>& pods, int64_t now_s);

// Helpers the planner files share (deployment_util.cc).
namespace deployment_internal {
int32_t Replicas(const api::ReplicaSet& rs);
int32_t Replicas(const api::Deployment& d);
bool HasProgressDeadline(const api::Deployment& d);
const api::DeploymentCondition* GetCondition(const api::DeploymentStatus& s, const std::string& type);
void SetCondition(api::DeploymentStatus& s, api::DeploymentCondition c);
void RemoveCondition(api::DeploymentStatus& s, const std::string& type);
api::DeploymentCondition NewCondition(const std::string& type, const std::string& status, const std::string& reason,
                                      const std::string& message, int64_t now_s);
// desired-replicas / max-replicas annotations; true if they changed.
bool SetReplicasAnnotations(api::ReplicaSet& rs, int32_t desired, int32_t max);
bool ReplicasAnnotationsNeedUpdate(const api::ReplicaSet& rs, int32_t desired, int32_t max);
std::optional<int32_t> IntAnnotation(const api::ReplicaSet& rs, const char* key);
// The Deployment's annotations onto a new or reused RS (not revision or replicas ones),
// and the revision if `revision` is higher; true if anything changed.
bool SetNewReplicaSetAnnotations(const api::Deployment& d, api::ReplicaSet& rs, int64_t revision, bool exists);
api::DeploymentStatus CalculateStatus(const std::vector<const api::ReplicaSet*>& all, const api::ReplicaSet* new_rs,
                                      const api::Deployment& d, int64_t now_s);
bool DeploymentComplete(const api::Deployment& d, const api::DeploymentStatus& s);
bool DeploymentProgressing(const api::Deployment& d, const api::DeploymentStatus& s);
bool DeploymentTimedOut(const api::Deployment& d, const api::DeploymentStatus& s, int64_t now_s);
bool CreatedBefore(const api::ReplicaSet& a, const api::ReplicaSet& b);  // then by name
}  // namespace deployment_internal

}  // namespace ksim::controllers
