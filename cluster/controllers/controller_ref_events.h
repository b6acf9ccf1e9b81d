// Kubernetes' pod event handlers for a controller whose pods name it in their controllerRef
// (the ReplicaSet/ReplicationController, DaemonSet and Job controllers' addPod, updatePod,
// deletePod), in one place. What differs per kind comes in a PodOwnerKind.
//
// - add: a pod with a controllerRef that resolves (kind, name and uid match a cached owner)
//   is an observed create for that owner, which is synced; an orphan syncs every owner that
//   may adopt it. A pod added already terminating counts as deleted.
// - update: a terminating pod counts as deleted (for its old owner too when its labels or
//   controllerRef changed); a changed controllerRef syncs the old owner as well; a pod that
//   became Ready syncs its owner again after minReadySeconds; an orphan whose labels or
//   controllerRef changed syncs every owner that may adopt it.
// - delete (the last state the informer had): an observed delete for its owner, synced.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cluster/api/core.pb.h"
#include "cluster/client/informer.h"
#include "cluster/controllers/controller.h"
#include "cluster/controllers/expectations.h"

namespace ksim::controllers {

struct PodOwnerKind {
  std::string kind_name;                // the controllerRef's kind, e.g. "ReplicaSet"
  client::Informer* owners = nullptr;   // the owners' cache, keyed "<ns>/<name>"
  // The owners in the pod's namespace whose selector matches it: they may adopt it when it
  // is an orphan. Unset: this kind does not adopt.
  std::function<std::vector<client::ObjectPtr>(const api::Pod&)> matching_owners;
  // The owner's minReadySeconds. Unset: 0.
  std::function<int32_t(const google::protobuf::Message& owner)> min_ready_seconds;
  // Called on an added or updated pod no cached owner of this kind controls.
  std::function<void(const api::Pod&)> on_unowned;
  // A pod added already terminating is also an observed create (the Job controller: its
  // first sync of a term reads pods live, so a create it counts is one it sent).
  bool terminating_add_is_create = false;
};

class ControllerRefPodEvents {
 public:
  // REQUIRES: expectations and loop outlive this.
  ControllerRefPodEvents(PodOwnerKind kind, Expectations* expectations, ReconcileLoop* loop);

  // The cached owner `ref` names, if it is of this kind and the same object (uid); else null.
  client::ObjectPtr Resolve(const std::string& ns, const api::OwnerReference* ref) const;
  // Handlers for the pods informer.
  client::EventHandlers Handlers();

  void OnAdd(const api::Pod& pod);
  void OnUpdate(const api::Pod& old, const api::Pod& cur);
  void OnDelete(const api::Pod& pod);

 private:
  void EnqueueMatching(const api::Pod& pod);

  PodOwnerKind kind_;
  Expectations* expectations_;
  ReconcileLoop* loop_;
};

}  // namespace ksim::controllers
