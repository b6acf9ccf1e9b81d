// PodGroups: the pods of a snapshot grouped by what a plugin reads of them, and each node's
// pods summarized as (group, count) pairs, so a cycle evaluates the incoming pod against
// each group once instead of against every pod (pods of one template fall in one group).
//
// Why it is cached across cycles: walking every existing pod's labels and terms each cycle
// costs a few cache misses per pod (they are scattered over the heap), which at thousands
// of pods is most of a cycle. Summaries are kept per snapshot position and rebuilt only for
// nodes whose NodeInfo changed. A snapshot's NodeInfo never changes once made (the
// scheduler cache swaps in a new copy), and a summary holds the NodeInfoPtr it was built
// from, so an equal pointer means the same pods; pointers are only compared for equality,
// never hashed or ordered. Results are the same as without the cache, whatever snapshots
// the plugin sees in whatever order.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cluster/scheduler/framework/snapshot.h"
#include "cluster/scheduler/framework/types.h"
#include "cluster/scheduler/plugins/topology_domains.h"

namespace ksim::scheduler {

class PodGroups {
 public:
  // Pods with equal keys must be indistinguishable to the plugin.
  using KeyFn = std::function<std::string(const PodInfo&)>;

  struct NodeGroups {
    NodeInfoPtr node;  // what this summary was built from
    std::vector<std::pair<uint32_t, uint32_t>> counts;  // (group, pods), in first-seen order
    // Each pod's group, to rebuild the summary of a newer copy of the node cheaply.
    std::vector<std::pair<const PodInfo*, uint32_t>> pod_groups;
    // Memo of node label values by key id: kNotLookedUp, null (no such label) or the value.
    mutable std::vector<const std::string*> label_values;
    // Memo of the node's domain by key id: (table generation, id or kNoLabel).
    mutable std::vector<std::pair<uint64_t, uint32_t>> domains;
  };

  // What Domain gives for a node without the label.
  static constexpr uint32_t kNoLabel = UINT32_MAX - 1;

  explicit PodGroups(KeyFn key) : key_(std::move(key)) {}
  PodGroups(const PodGroups&) = delete;
  PodGroups& operator=(const PodGroups&) = delete;

  // Brings the summaries in line with `snapshot`: O(nodes) pointer comparisons, plus
  // rebuilding the nodes that changed.
  void Sync(const Snapshot& snapshot);
  // REQUIRES: Sync(snapshot) was the last Sync, and pos < snapshot.nodes().size().
  const NodeGroups& node(size_t pos) const { return nodes_[pos]; }

  // A pod of the group (the first one seen).
  const PodInfo& representative(uint32_t group) const { return *groups_[group].representative; }
  // Group ids are below this.
  size_t group_id_limit() const { return groups_.size(); }
  size_t live_groups() const { return by_key_.size(); }

  // A small id for a label key, for LabelValue.
  uint32_t KeyId(const std::string& key);
  // The value of label `key_id` on the node of `groups` (null if absent), memoized.
  const std::string* LabelValue(const NodeGroups& groups, uint32_t key_id) const;

  // The interned values of label `key_id` on every node seen. Replaced by a fresh table
  // (and the old one left to whoever holds it) when stale values from departed or
  // relabelled nodes outnumber live ones, so it stays O(nodes).
  const std::shared_ptr<DomainTable>& Domains(uint32_t key_id);
  // The node's id in Domains(key_id) (kNoLabel if it lacks the label), memoized.
  uint32_t Domain(const NodeGroups& groups, uint32_t key_id);

 private:
  struct Group {
    PodInfoPtr representative;  // null when the id is free
    std::string key;
    uint32_t pods = 0;  // over every summary
  };

  void Rebuild(const NodeInfoPtr& info, NodeGroups* groups);
  uint32_t Ref(const PodInfoPtr& pod);
  void Unref(uint32_t group);

  KeyFn key_;
  std::vector<NodeGroups> nodes_;  // by snapshot position
  std::vector<Group> groups_;
  std::map<std::string, uint32_t, std::less<>> by_key_;
  std::vector<uint32_t> free_ids_;
  std::vector<std::string> keys_;  // label keys by id
  std::vector<std::shared_ptr<DomainTable>> tables_;  // by key id
  uint64_t table_generation_ = 0;
};

}  // namespace ksim::scheduler
