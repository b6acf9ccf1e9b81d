// The StatefulSet controller (Kubernetes' pkg/controller/statefulset): pods with stable
// names `<set>-<ordinal>` and stable storage (PVCs `<claim>-<set>-<ordinal>`), created in
// order (OrderedReady) or all at once (Parallel), rolled to a new template through
// ControllerRevisions (RollingUpdate with partition, OnDelete), and never two pods of one
// identity: a replacement is created only once the old pod is gone from the API.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/api/apps.pb.h"
#include "cluster/api/core.pb.h"
#include "cluster/controllers/controller.h"

namespace ksim::controllers {

inline constexpr char kStatefulSetControllerName[] = "statefulset";

// Pod labels the controller sets.
inline constexpr char kStsPodNameLabel[] = "statefulset.kubernetes.io/pod-name";
inline constexpr char kStsPodIndexLabel[] = "apps.kubernetes.io/pod-index";
inline constexpr char kRevisionHashLabel[] = "controller-revision-hash";

// For the ControllerManager (built-in "statefulset").
std::unique_ptr<Controller> NewStatefulSetController(ControllerContext& ctx);

namespace sts {

std::string PodName(const std::string& set, int ordinal);
std::string ClaimName(const std::string& claim, const std::string& set, int ordinal);
// The ordinal of a pod named `<set>-<ordinal>`; nullopt for any other name.
std::optional<int> OrdinalOf(const std::string& set, const std::string& pod_name);
// Running and Ready, not terminating (Kubernetes' isRunningAndReady).
bool Healthy(const api::Pod& pod);
bool Terminating(const api::Pod& pod);
std::string RevisionOf(const api::Pod& pod);

// A revision as the sync uses it: name and the template it records.
struct Revision {
  std::string name;
  api::PodTemplateSpec tmpl;
};

// The pod for `ordinal` from a revision: name, labels (template + identity + revision
// hash), controller ownerReference, hostname = pod name, subdomain = serviceName, a
// persistentVolumeClaim volume per claim template.
api::Pod NewPod(const api::StatefulSet& set, const Revision& rev, int ordinal);
// The claims of `ordinal` (template labels plus the selector's matchLabels), owner
// references per the retention policy (see DesiredClaimRefs).
std::vector<api::PersistentVolumeClaim> NewClaims(const api::StatefulSet& set, int ordinal);
// Kubernetes' retention rule as ownerReferences: whenDeleted=Delete → the set owns the
// claim; whenScaled=Delete and the ordinal condemned → its pod (`pod`, if given) owns it.
// Returns the claim with its references made so; `changed` says whether they differ.
api::PersistentVolumeClaim WithClaimRefs(const api::StatefulSet& set, api::PersistentVolumeClaim claim,
                                         bool condemned, const api::Pod* pod, bool* changed);

// What one sync does to pods and claims (Kubernetes' updateStatefulSet, one pass).
struct Plan {
  std::vector<api::PersistentVolumeClaim> create_claims;
  std::vector<api::PersistentVolumeClaim> update_claims;  // ownerReferences
  std::vector<api::Pod> create_pods;  // each after its claims
  std::vector<api::Pod> delete_pods;  // uid precondition
  std::vector<api::Pod> update_pods;  // identity labels restored
  std::vector<std::string> blocked_claims;  // a claim being deleted holds its pod back
};
// `pods`: the set's member pods by ordinal; `claims`: the namespace's claims by name.
Plan PlanSync(const api::StatefulSet& set, const Revision& current, const Revision& update,
              const std::map<int, const api::Pod*>& pods,
              const std::map<std::string, const api::PersistentVolumeClaim*>& claims, int64_t now_seconds);

// status from the member pods (replicas, ready, available, current, updated, revisions,
// observedGeneration, collisionCount); the rollout completes when all are updated and ready.
api::StatefulSetStatus ComputeStatus(const api::StatefulSet& set, const std::string& current_revision,
                                     const std::string& update_revision, int32_t collision_count,
                                     const std::map<int, const api::Pod*>& pods, int64_t now_seconds);

}  // namespace sts
}  // namespace ksim::controllers
