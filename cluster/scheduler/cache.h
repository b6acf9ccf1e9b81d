// SchedulerCache: the scheduler's own copy of nodes and the pods on them, fed by informers
// and by the scheduler's assumptions. A pod is "assumed" on a node from the moment the
// scheduler picks it until the informer shows it bound (or binding fails and it is
// forgotten), so the next cycle already counts its requests (Kubernetes' assume/forget;
// pkg/scheduler/backend/cache).
//
// UpdateSnapshot copies only the nodes that changed since the last call, so a cycle costs
// O(changed nodes), not O(nodes).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "cluster/env/status.h"
#include "cluster/scheduler/framework/snapshot.h"
#include "cluster/scheduler/framework/types.h"

namespace ksim::scheduler {

struct CacheStats {
  size_t nodes = 0;
  size_t pods = 0;     // bound and assumed
  size_t assumed = 0;  // of which assumed
};

class SchedulerCache {
 public:
  SchedulerCache() = default;
  SchedulerCache(const SchedulerCache&) = delete;
  SchedulerCache& operator=(const SchedulerCache&) = delete;

  // Nodes, from the node informer.
  void AddOrUpdateNode(std::shared_ptr<const NodeData> node);
  void RemoveNode(std::string_view name);

  // Namespaces' labels, for namespaceSelector in affinity terms.
  void SetNamespace(const std::string& name, Labels labels);
  void RemoveNamespace(std::string_view name);

  // A pod the scheduler chose a node for; `pod->node_name` is that node. Fails if the pod
  // is already in the cache.
  Status AssumePod(PodInfoPtr pod);
  // Binding failed: the assumption is dropped. No-op for a pod that is not assumed.
  void ForgetPod(std::string_view uid);
  bool IsAssumed(std::string_view uid) const;

  // Bound pods, from the pod informer (spec.nodeName set). An assumed pod seen bound is
  // confirmed (and moved if it landed elsewhere); terminal pods (Succeeded/Failed) are
  // removed, since they hold no resources.
  void AddOrUpdatePod(PodInfoPtr pod);
  void RemovePod(std::string_view uid);
  // The cached pod (bound or assumed), or null.
  PodInfoPtr GetPod(std::string_view uid) const;

  // Brings `snapshot` up to date: copies nodes changed since the last update into it.
  // REQUIRES: `snapshot` is only ever updated from this cache.
  void UpdateSnapshot(Snapshot* snapshot);

  CacheStats stats() const;

 private:
  struct PodEntry {
    PodInfoPtr pod;
    bool assumed = false;
  };
  NodeInfo& NodeSlot(const std::string& name);
  void AddToNode(const PodInfoPtr& pod);
  void RemoveFromNode(const PodInfoPtr& pod);
  void Touch(const std::string& name);

  std::map<std::string, std::shared_ptr<NodeInfo>, std::less<>> nodes_;
  std::map<std::string, PodEntry, std::less<>> pods_;  // by uid
  std::map<std::string, Labels, std::less<>> namespaces_;
  // Nodes changed since the last UpdateSnapshot, and whether the set of nodes (or a node's
  // NodeData, or the namespaces) changed, which needs a full rebuild.
  std::set<std::string, std::less<>> dirty_;
  bool rebuild_ = true;
  size_t assumed_ = 0;
};

}  // namespace ksim::scheduler
