// Admission plugins as pure functions over objects, so they are tested without a store:
// LimitRanger (defaults, then min/max/ratio), ResourceQuota (what an object charges, and
// whether a quota can take it) and DefaultTolerationSeconds (ServiceAccount is in
// admission_service_account.h). The handler
// calls them on create with the namespace's LimitRanges and ResourceQuotas from its
// caches, and charges quotas in the same store transaction as the create.
#pragma once

#include <google/protobuf/message.h>

#include <map>
#include <string>
#include <vector>

#include "cluster/api/core.pb.h"
#include "cluster/api/machinery/quantity.h"
#include "cluster/api/registry.h"

namespace ksim::apiserver {

// LimitRanger, mutating half: containers without a limit or request for a resource get
// the namespace's Container defaults (`default` for limits, `defaultRequest` for
// requests; a missing request then defaults to the limit, as Kubernetes does).
void ApplyLimitRangeDefaults(const std::vector<api::LimitRange>& ranges, api::PodSpec* spec);

// LimitRanger, validating half: "" if the pod fits every Container and Pod item (min,
// max, maxLimitRequestRatio), else Kubernetes' message, e.g.
//   maximum cpu usage per Container is 500m, but limit is 1
std::string CheckLimitRanges(const std::vector<api::LimitRange>& ranges, const api::PodSpec& spec);

// ResourceQuota: what creating `object` charges against a quota: "count/<resource>" for
// every kind, plus "pods", "requests.cpu"/"cpu", "requests.memory"/"memory",
// "limits.cpu", "limits.memory" for pods, and "services", "secrets", "configmaps",
// "persistentvolumeclaims", "replicationcontrollers", "resourcequotas" object counts.
std::map<std::string, api::Quantity> QuotaUsage(const api::KindInfo& info, const google::protobuf::Message& object);

// Adds `usage` to the quota's status.used for the resources it limits. Returns "" and
// the charged quota if every limited resource stays within spec.hard, else Kubernetes'
// message: exceeded quota: <name>, requested: pods=1, used: pods=2, limited: pods=2
std::string Charge(const api::ResourceQuota& quota, const std::map<std::string, api::Quantity>& usage,
                   api::ResourceQuota* charged);
// Subtracts `usage` (a deleted object's) from status.used, never below zero.
void Release(const api::ResourceQuota& quota, const std::map<std::string, api::Quantity>& usage,
             api::ResourceQuota* released);

// DefaultTolerationSeconds: a pod that tolerates neither node.kubernetes.io/not-ready nor
// node.kubernetes.io/unreachable (NoExecute) gets a toleration of each, operator Exists,
// for `seconds` (Kubernetes' --default-not-ready-toleration-seconds and
// --default-unreachable-toleration-seconds, both 300): the node lifecycle controller's
// taints then evict it after 5 minutes rather than at once.
inline constexpr int64_t kDefaultTolerationSeconds = 300;
void ApplyDefaultTolerationSeconds(api::PodSpec* spec, int64_t not_ready_seconds = kDefaultTolerationSeconds,
                                   int64_t unreachable_seconds = kDefaultTolerationSeconds);

}  // namespace ksim::apiserver
