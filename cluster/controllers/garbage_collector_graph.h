// The garbage collector's dependency graph (Kubernetes' GraphBuilder): one node per object
// uid seen by an informer, with its ownerReferences and the uids of its dependents. An
// owner named by a reference but not (yet) observed is a "virtual" node whose identity
// comes from the reference; the collector verifies it with a live GET. Changes report
// what must be looked at (Effects) instead of acting, so the graph stays a pure structure.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "cluster/api/meta.pb.h"
#include "cluster/api/registry.h"
#include "cluster/client/informer.h"

namespace ksim::controllers::gc {

inline constexpr char kOrphanFinalizer[] = "orphan";
inline constexpr char kForegroundFinalizer[] = "foregroundDeletion";

struct Identity {
  const api::KindInfo* kind = nullptr;  // null: a reference to a kind the registry lacks
  std::string ns;
  std::string name;
  std::string uid;
};

struct Node {
  Identity id;
  bool observed = false;             // false: virtual
  bool being_deleted = false;        // deletionTimestamp set
  bool deleting_dependents = false;  // ...and the foregroundDeletion finalizer
  bool orphaning = false;            // ...and the orphan finalizer
  std::vector<api::OwnerReference> owners;
  std::set<std::string> dependents;  // uids
};

// What a change asks the collector to do.
struct Effects {
  std::set<std::string> attempt_delete;  // uids
  std::set<std::string> attempt_orphan;  // uids
  // A dependent whose namespaced owner reference cannot be in its namespace (the owner is
  // elsewhere, or the dependent is cluster-scoped): Event OwnerRefInvalidNamespace.
  std::vector<std::pair<client::ObjectPtr, api::OwnerReference>> invalid_namespace;
};

class DependencyGraph {
 public:
  // An object observed (added or updated) through an informer.
  void Observe(const client::ObjectPtr& obj, Effects* fx);
  // An object's delete observed through an informer.
  void Remove(const google::protobuf::Message& obj, Effects* fx);
  // A live GET found no object with this uid: drop the node (if still virtual, or if
  // `observed_too`) and look at its dependents again.
  void VirtualDelete(const std::string& uid, bool observed_too, Effects* fx);
  void Clear() { nodes_.clear(); objects_.clear(); }

  const Node* Find(const std::string& uid) const;
  client::ObjectPtr Object(const std::string& uid) const;
  // Dependents whose reference to `uid` has blockOwnerDeletion.
  std::vector<std::string> BlockingDependents(const std::string& uid) const;
  std::vector<std::string> VirtualNodes() const;
  size_t size() const { return nodes_.size(); }

 private:
  Node& Ensure(const std::string& uid);
  void Unlink(const std::string& uid, Effects* fx);

  std::map<std::string, Node> nodes_;
  std::map<std::string, client::ObjectPtr> objects_;  // last observed object by uid
};

bool HasFinalizer(const api::ObjectMeta& meta, const std::string& f);
// The identity of the owner `ref` names for a dependent in namespace `dependent_ns`.
Identity OwnerIdentity(const api::OwnerReference& ref, const std::string& dependent_ns);

}  // namespace ksim::controllers::gc
