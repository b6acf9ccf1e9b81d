#include "cluster/scheduler/cache.h"

#include <fmt/format.h>

#include <cassert>

namespace ksim::scheduler {

NodeInfo& SchedulerCache::NodeSlot(const std::string& name) {
  auto it = nodes_.find(name);
  if (it == nodes_.end()) it = nodes_.emplace(name, std::make_shared<NodeInfo>()).first;
  return *it->second;
}

void SchedulerCache::Touch(const std::string& name) { dirty_.insert(name); }

void SchedulerCache::AddOrUpdateNode(std::shared_ptr<const NodeData> node) {
  const std::string name = node->name;
  NodeInfo& slot = NodeSlot(name);
  if (slot.node() == nullptr) {
    rebuild_ = true;  // a new candidate node
  } else {
    Touch(name);
  }
  slot.SetNode(std::move(node));
}

void SchedulerCache::RemoveNode(std::string_view name) {
  auto it = nodes_.find(name);
  if (it == nodes_.end()) return;
  rebuild_ = true;
  if (it->second->pods().empty()) {
    nodes_.erase(it);
  } else {
    // Pods still bound there keep their slot until they go (Kubernetes does the same);
    // without a Node object the slot is never a candidate.
    it->second->SetNode(nullptr);
  }
}

void SchedulerCache::SetNamespace(const std::string& name, Labels labels) {
  namespaces_[name] = std::move(labels);
  rebuild_ = true;
}

void SchedulerCache::RemoveNamespace(std::string_view name) {
  auto it = namespaces_.find(name);
  if (it == namespaces_.end()) return;
  namespaces_.erase(it);
  rebuild_ = true;
}

void SchedulerCache::AddToNode(const PodInfoPtr& pod) {
  NodeSlot(pod->node_name).AddPod(pod);
  Touch(pod->node_name);
}

void SchedulerCache::RemoveFromNode(const PodInfoPtr& pod) {
  auto it = nodes_.find(pod->node_name);
  if (it == nodes_.end()) return;
  bool removed = it->second->RemovePod(pod->uid);
  assert(removed);
  (void)removed;
  if (it->second->node() == nullptr && it->second->pods().empty()) {
    nodes_.erase(it);
    return;
  }
  Touch(pod->node_name);
}

Status SchedulerCache::AssumePod(PodInfoPtr pod) {
  if (pod->node_name.empty()) return Status::InvalidArgument(fmt::format("pod {}: assumed without a node", pod->Key()));
  if (pods_.count(pod->uid) != 0) {
    return Status::AlreadyExists(fmt::format("pod {} (uid {}) is already in the cache", pod->Key(), pod->uid));
  }
  AddToNode(pod);
  const std::string uid = pod->uid;
  pods_.emplace(uid, PodEntry{std::move(pod), true});
  ++assumed_;
  return Status::Ok();
}

void SchedulerCache::ForgetPod(std::string_view uid) {
  auto it = pods_.find(uid);
  if (it == pods_.end() || !it->second.assumed) return;
  RemoveFromNode(it->second.pod);
  pods_.erase(it);
  --assumed_;
}

bool SchedulerCache::IsAssumed(std::string_view uid) const {
  auto it = pods_.find(uid);
  return it != pods_.end() && it->second.assumed;
}

void SchedulerCache::AddOrUpdatePod(PodInfoPtr pod) {
  assert(!pod->node_name.empty());
  const std::string& phase = pod->pod->status().phase();
  if (phase == "Succeeded" || phase == "Failed") {
    RemovePod(pod->uid);
    return;
  }
  auto it = pods_.find(pod->uid);
  if (it != pods_.end()) {
    RemoveFromNode(it->second.pod);
    if (it->second.assumed) --assumed_;
    it->second = PodEntry{pod, false};
  } else {
    pods_.emplace(pod->uid, PodEntry{pod, false});
  }
  AddToNode(pod);
}

void SchedulerCache::RemovePod(std::string_view uid) {
  auto it = pods_.find(uid);
  if (it == pods_.end()) return;
  RemoveFromNode(it->second.pod);
  if (it->second.assumed) --assumed_;
  pods_.erase(it);
}

PodInfoPtr SchedulerCache::GetPod(std::string_view uid) const {
  auto it = pods_.find(uid);
  return it == pods_.end() ? nullptr : it->second.pod;
}

void SchedulerCache::UpdateSnapshot(Snapshot* snapshot) {
  if (rebuild_) {
    auto& nodes = snapshot->mutable_nodes();
    nodes.clear();
    for (const auto& [name, info] : nodes_) {
      if (info->node() != nullptr) nodes.push_back(std::make_shared<const NodeInfo>(*info));
    }
    snapshot->mutable_namespace_labels() = namespaces_;
    snapshot->Reindex();
    dirty_.clear();
    rebuild_ = false;
    return;
  }
  for (const std::string& name : dirty_) {
    auto it = nodes_.find(name);
    if (it == nodes_.end() || it->second->node() == nullptr) continue;
    size_t pos = snapshot->IndexOf(name);
    assert(pos < snapshot->nodes().size());  // node set changes force a rebuild
    snapshot->ReplaceNode(pos, std::make_shared<const NodeInfo>(*it->second));
  }
  dirty_.clear();
  snapshot->FinishReplacing();
}

CacheStats SchedulerCache::stats() const {
  CacheStats s;
  for (const auto& [name, info] : nodes_) {
    if (info->node() != nullptr) ++s.nodes;
  }
  s.pods = pods_.size();
  s.assumed = assumed_;
  return s;
}

}  // namespace ksim::scheduler
