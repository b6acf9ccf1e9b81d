#include "cluster/scheduler/framework/snapshot.h"

#include <algorithm>
#include <cassert>

namespace ksim::scheduler {

Snapshot Snapshot::Of(const std::vector<std::shared_ptr<const NodeData>>& nodes, const std::vector<PodInfoPtr>& pods,
                      std::map<std::string, Labels, std::less<>> namespace_labels) {
  std::map<std::string_view, std::shared_ptr<NodeInfo>> by_name;
  for (const auto& node : nodes) by_name[node->name] = std::make_shared<NodeInfo>(node);
  for (const auto& pod : pods) {
    auto it = by_name.find(pod->node_name);
    if (it != by_name.end()) it->second->AddPod(pod);
  }
  Snapshot s;
  for (auto& [name, info] : by_name) s.nodes_.push_back(std::move(info));
  s.namespace_labels_ = std::move(namespace_labels);
  s.Reindex();
  return s;
}

void Snapshot::Reindex() {
  index_.clear();
  have_pods_with_affinity_.clear();
  have_pods_with_required_anti_affinity_.clear();
  image_node_counts_.clear();
  num_pods_ = 0;
  affinity_lists_stale_ = false;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const NodeInfo* info = nodes_[i].get();
    index_.emplace(info->name(), i);
    if (!info->pods_with_affinity().empty()) have_pods_with_affinity_.push_back(info);
    if (!info->pods_with_required_anti_affinity().empty()) have_pods_with_required_anti_affinity_.push_back(info);
    for (const auto& [image, size] : info->node()->image_sizes) ++image_node_counts_[image];
    num_pods_ += info->pods().size();
  }
}

size_t Snapshot::IndexOf(std::string_view node_name) const {
  auto it = index_.find(node_name);
  return it == index_.end() ? nodes_.size() : it->second;
}

void Snapshot::ReplaceNode(size_t pos, NodeInfoPtr info) {
  assert(pos < nodes_.size());
  const NodeInfo& old = *nodes_[pos];
  assert(old.name() == info->name());
  if (!old.pods_with_affinity().empty() || !info->pods_with_affinity().empty()) affinity_lists_stale_ = true;
  num_pods_ = num_pods_ - old.pods().size() + info->pods().size();
  if (old.node_ptr() != info->node_ptr()) {
    // index_ keys view the name inside the NodeData: re-key before the old one may go.
    index_.erase(old.name());
    index_.emplace(info->name(), pos);
    if (old.node()->image_sizes != info->node()->image_sizes) {
      for (const auto& [image, size] : old.node()->image_sizes) {
        if (--image_node_counts_[image] == 0) image_node_counts_.erase(image);
      }
      for (const auto& [image, size] : info->node()->image_sizes) ++image_node_counts_[image];
    }
  }
  nodes_[pos] = std::move(info);
}

void Snapshot::FinishReplacing() {
  if (!affinity_lists_stale_) return;
  affinity_lists_stale_ = false;
  have_pods_with_affinity_.clear();
  have_pods_with_required_anti_affinity_.clear();
  for (const auto& info : nodes_) {
    if (!info->pods_with_affinity().empty()) have_pods_with_affinity_.push_back(info.get());
    if (!info->pods_with_required_anti_affinity().empty()) have_pods_with_required_anti_affinity_.push_back(info.get());
  }
}

const NodeInfo* Snapshot::Find(std::string_view node_name) const {
  auto it = index_.find(node_name);
  return it == index_.end() ? nullptr : nodes_[it->second].get();
}

const Labels* Snapshot::NamespaceLabels(std::string_view ns) const {
  auto it = namespace_labels_.find(ns);
  return it == namespace_labels_.end() ? nullptr : &it->second;
}

int Snapshot::ImageNodeCount(std::string_view image) const {
  auto it = image_node_counts_.find(image);
  return it == image_node_counts_.end() ? 0 : it->second;
}

}  // namespace ksim::scheduler
