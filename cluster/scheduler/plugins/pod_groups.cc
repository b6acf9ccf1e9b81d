#include "cluster/scheduler/plugins/pod_groups.h"

#include <cassert>

namespace ksim::scheduler {
namespace {

// Marks a label value not looked up yet (distinct from null, "no such label").
const std::string* NotLookedUp() {
  static const std::string* marker = new std::string();
  return marker;
}

}  // namespace

void PodGroups::Sync(const Snapshot& snapshot) {
  const auto& nodes = snapshot.nodes();
  for (auto& table : tables_) {
    if (table->size() > 2 * nodes.size() + 1024) table = std::make_shared<DomainTable>(++table_generation_);
  }
  while (nodes_.size() > nodes.size()) {
    for (const auto& [pod, group] : nodes_.back().pod_groups) Unref(group);
    nodes_.pop_back();
  }
  nodes_.resize(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes_[i].node != nodes[i]) Rebuild(nodes[i], &nodes_[i]);
  }
}

void PodGroups::Rebuild(const NodeInfoPtr& info, NodeGroups* groups) {
  NodeGroups fresh;
  fresh.node = info;
  const std::vector<PodInfoPtr>& pods = info->pods();
  fresh.pod_groups.reserve(pods.size());
  // A newer copy of the same node keeps most of its pods, mostly in order (pods are
  // appended, and removal moves only the last one): look each up from where the last was
  // found. Another node's pods are never this node's.
  const bool same_node = groups->node != nullptr && groups->node->node() != nullptr && info->node() != nullptr &&
                         groups->node->name() == info->name();
  const auto& old = groups->pod_groups;
  size_t cursor = 0;
  for (const PodInfoPtr& pod : pods) {
    uint32_t group = UINT32_MAX;
    for (size_t n = 0; same_node && n < old.size(); ++n) {
      const size_t j = (cursor + n) % old.size();
      if (old[j].first == pod.get()) {
        group = old[j].second;
        cursor = j + 1;
        break;
      }
    }
    if (group == UINT32_MAX) {
      group = Ref(pod);
    } else {
      ++groups_[group].pods;
    }
    fresh.pod_groups.emplace_back(pod.get(), group);
    bool counted = false;
    for (auto& [g, count] : fresh.counts) {
      if (g == group) {
        ++count;
        counted = true;
        break;
      }
    }
    if (!counted) fresh.counts.emplace_back(group, 1);
  }
  for (const auto& [pod, group] : old) Unref(group);
  *groups = std::move(fresh);
}

uint32_t PodGroups::Ref(const PodInfoPtr& pod) {
  std::string key = key_(*pod);
  auto it = by_key_.find(key);
  if (it != by_key_.end()) {
    ++groups_[it->second].pods;
    return it->second;
  }
  uint32_t id;
  if (!free_ids_.empty()) {
    id = free_ids_.back();
    free_ids_.pop_back();
  } else {
    id = static_cast<uint32_t>(groups_.size());
    groups_.emplace_back();
  }
  Group& g = groups_[id];
  g.representative = pod;
  g.key = key;
  g.pods = 1;
  by_key_.emplace(std::move(key), id);
  return id;
}

void PodGroups::Unref(uint32_t group) {
  Group& g = groups_[group];
  assert(g.pods > 0);
  if (--g.pods > 0) return;
  by_key_.erase(g.key);
  g.representative.reset();
  g.key.clear();
  free_ids_.push_back(group);
}

uint32_t PodGroups::KeyId(const std::string& key) {
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i] == key) return static_cast<uint32_t>(i);
  }
  keys_.push_back(key);
  tables_.push_back(std::make_shared<DomainTable>(++table_generation_));
  return static_cast<uint32_t>(keys_.size() - 1);
}

const std::shared_ptr<DomainTable>& PodGroups::Domains(uint32_t key_id) {
  assert(key_id < tables_.size());
  return tables_[key_id];
}

uint32_t PodGroups::Domain(const NodeGroups& groups, uint32_t key_id) {
  DomainTable& table = *tables_[key_id];
  auto& memo = groups.domains;
  if (memo.size() <= key_id) memo.resize(keys_.size(), {0, 0});
  auto& [generation, id] = memo[key_id];
  if (generation != table.generation()) {
    const std::string* value = LabelValue(groups, key_id);
    generation = table.generation();
    id = value == nullptr ? kNoLabel : table.Intern(*value);
  }
  return id;
}

const std::string* PodGroups::LabelValue(const NodeGroups& groups, uint32_t key_id) const {
  assert(key_id < keys_.size());
  auto& memo = groups.label_values;
  if (memo.size() <= key_id) memo.resize(keys_.size(), NotLookedUp());
  const std::string*& value = memo[key_id];
  if (value == NotLookedUp()) {
    value = nullptr;
    if (groups.node != nullptr && groups.node->node() != nullptr) {
      const Labels& labels = groups.node->labels();
      auto it = labels.find(keys_[key_id]);
      if (it != labels.end()) value = &it->second;
    }
  }
  return value;
}

}  // namespace ksim::scheduler
