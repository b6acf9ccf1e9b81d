// The garbage collector's promise (Kubernetes' "Garbage Collection" docs): a dependent is
// collected only once none of the owners its ownerReferences name exists (an owner being
// deleted in the foreground, deletionTimestamp set, still lets its dependents go). One rule
// for the controllers' GarbageCollectorProperty and the scenario checker
// garbageCollectorKeepsLiveOwners.
#pragma once

#include <functional>
#include <string>

#include "cluster/api/meta.pb.h"

namespace ksim::controllers {

// The first owner of `dependent` that `live(uid)` says exists, or "" (its name).
inline std::string LiveOwnerOf(const api::ObjectMeta& dependent, const std::function<bool(const std::string& uid)>& live) {
  for (const api::OwnerReference& ref : dependent.owner_references()) {
    if (live(ref.uid())) return ref.kind() + "/" + ref.name();
  }
  return "";
}

}  // namespace ksim::controllers
