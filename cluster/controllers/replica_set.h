// The ReplicaSet and ReplicationController controllers: one ReplicaController, told by a
// ReplicaKind how to read and write its kind's objects (selector shape, status type).
// Kubernetes' replicaset controller semantics: pods created from the template up to
// spec.replicas in slow-start batches, orphans adopted and non-matching pods released by
// ownerReferences, surplus deleted in Kubernetes' order, expectations, status, Events.
#pragma once

#include <memory>
#include <string>

#include "cluster/api/core.pb.h"
#include "cluster/api/machinery/labels.h"
#include "cluster/controllers/controller.h"

namespace ksim::controllers {

inline constexpr char kReplicaSetControllerName[] = "replicaset";
inline constexpr char kReplicationControllerName[] = "replicationcontroller";

// The status fields both kinds share, and the ReplicaFailure condition.
struct ReplicaStatus {
  int32_t replicas = 0;
  int32_t fully_labeled_replicas = 0;
  int32_t ready_replicas = 0;
  int32_t available_replicas = 0;
  int64_t observed_generation = 0;
  // Owned pods being deleted that have not ended (ReplicaSets only, as Kubernetes 1.33+).
  int32_t terminating_replicas = 0;
  bool failure = false;  // ReplicaFailure True
  std::string failure_reason;
  std::string failure_message;
  friend bool operator==(const ReplicaStatus&, const ReplicaStatus&) = default;
};

// What differs between the kinds.
class ReplicaKind {
 public:
  virtual ~ReplicaKind() = default;
  virtual const api::KindInfo& kind() const = 0;
  virtual std::string controller_name() const = 0;  // queue and options
  virtual std::string component() const = 0;       // Events' source
  virtual std::string api_version() const = 0;     // for ownerReferences
  virtual std::string kind_name() const = 0;
  virtual int workers(const ControllerManagerOptions& o) const = 0;
  // The selector; an invalid one is an error (nothing is done for the object).
  virtual Status Selector(const google::protobuf::Message& obj, api::LabelMatcher* out) const = 0;
  virtual int32_t Replicas(const google::protobuf::Message& obj) const = 0;  // unset = 1
  virtual int32_t MinReadySeconds(const google::protobuf::Message& obj) const = 0;
  virtual const api::PodTemplateSpec& Template(const google::protobuf::Message& obj) const = 0;
  virtual ReplicaStatus GetStatus(const google::protobuf::Message& obj) const = 0;
  // A copy of `obj` with `status` (the ReplicaFailure condition's transition time set to
  // `now` when it changes).
  virtual std::unique_ptr<google::protobuf::Message> WithStatus(const google::protobuf::Message& obj,
                                                                const ReplicaStatus& status,
                                                                const google::protobuf::Timestamp& now) const = 0;
};

std::unique_ptr<ReplicaKind> NewReplicaSetKind();
std::unique_ptr<ReplicaKind> NewReplicationControllerKind();

// For the ControllerManager (built-in "replicaset" and "replicationcontroller").
std::unique_ptr<Controller> NewReplicaController(ControllerContext& ctx, std::unique_ptr<ReplicaKind> kind);

// Helpers shared with tests.
inline constexpr char kPodDeletionCostAnnotation[] = "controller.kubernetes.io/pod-deletion-cost";
// The pod's deletion cost annotation (an int32; absent or invalid = 0).
int32_t PodDeletionCost(const api::Pod& pod);
// Kubernetes' deletion order (ActivePodsWithRanks): true when `a` should be deleted before
// `b`: unscheduled, Pending < Unknown < Running, not ready, lower deletion cost, more of
// the owner's pods on its node (`co_located_*`), ready more recently, more restarts,
// newer; then by name. Ready and creation times compare exactly (Kubernetes'
// LogarithmicScaleDown buckets them by powers of two and breaks ties randomly).
bool DeleteBefore(const api::Pod& a, const api::Pod& b, int co_located_a = 0, int co_located_b = 0);
bool PodReady(const api::Pod& pod);
// Ready for at least min_ready seconds at wall time `now_seconds`.
bool PodAvailable(const api::Pod& pod, int32_t min_ready, int64_t now_seconds);
// Active: not Succeeded or Failed, and not being deleted.
bool PodActive(const api::Pod& pod);
const api::OwnerReference* ControllerRef(const api::ObjectMeta& meta);

}  // namespace ksim::controllers
