// Snapshot: the scheduler's view of the cluster for one scheduling cycle. Nodes are in name
// order (so "where to start" and tie-breaks depend only on the seed), and each NodeInfo is
// an immutable copy: plugins read it, preemption copies what it changes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/scheduler/framework/types.h"

namespace ksim::scheduler {

class Snapshot {
 public:
  Snapshot() = default;

  // A snapshot of these nodes with these pods placed on spec.nodeName (pods whose node is
  // not listed are ignored). For tests and for `ksim explain`; the scheduler's cache builds
  // its snapshots incrementally.
  static Snapshot Of(const std::vector<std::shared_ptr<const NodeData>>& nodes, const std::vector<PodInfoPtr>& pods,
                     std::map<std::string, Labels, std::less<>> namespace_labels = {});

  // Every node with a Node object, sorted by name.
  const std::vector<NodeInfoPtr>& nodes() const { return nodes_; }
  // Nodes that hold at least one pod with (anti-)affinity terms / required anti-affinity.
  const std::vector<const NodeInfo*>& have_pods_with_affinity() const { return have_pods_with_affinity_; }
  const std::vector<const NodeInfo*>& have_pods_with_required_anti_affinity() const {
    return have_pods_with_required_anti_affinity_;
  }
  const NodeInfo* Find(std::string_view node_name) const;
  // Labels of a namespace; null for an unknown namespace.
  const Labels* NamespaceLabels(std::string_view ns) const;
  // On how many nodes an image (normalized) is present, for ImageLocality's spread factor.
  int ImageNodeCount(std::string_view image) const;
  size_t NumPods() const { return num_pods_; }

  // --- for the cache, which fills snapshots incrementally.
  std::vector<NodeInfoPtr>& mutable_nodes() { return nodes_; }
  std::map<std::string, Labels, std::less<>>& mutable_namespace_labels() { return namespace_labels_; }
  // Recomputes every derived list and count after mutable_nodes() changed: O(nodes).
  void Reindex();
  // Position of a node in nodes(); nodes().size() when absent.
  size_t IndexOf(std::string_view node_name) const;
  // Replaces the node at `pos` with a newer copy of the same node (same name; its NodeData
  // may be newer), keeping the derived lists current; cost O(1) unless affinity pods
  // changed, then one pass over the nodes at the next FinishReplacing().
  void ReplaceNode(size_t pos, NodeInfoPtr info);
  void FinishReplacing();

 private:
  std::vector<NodeInfoPtr> nodes_;
  std::map<std::string_view, size_t, std::less<>> index_;  // name -> position in nodes_
  std::vector<const NodeInfo*> have_pods_with_affinity_;
  std::vector<const NodeInfo*> have_pods_with_required_anti_affinity_;
  std::map<std::string, Labels, std::less<>> namespace_labels_;
  std::map<std::string, int, std::less<>> image_node_counts_;
  size_t num_pods_ = 0;
  bool affinity_lists_stale_ = false;
};

}  // namespace ksim::scheduler
