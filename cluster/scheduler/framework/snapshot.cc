#include "cluster/scheduler/framework/snapshot.h"

#include <algorithm>

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
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const NodeInfo* info = nodes_[i].get();
    index_.emplace(info->name(), i);
    if (!info->pods_with_affinity().empty()) have_pods_with_affinity_.push_back(info);
    if (!info->pods_with_required_anti_affinity().empty()) have_pods_with_required_anti_affinity_.push_back(info);
    for (const auto& [image, size] : info->node()->image_sizes) ++image_node_counts_[image];
    num_pods_ += info->pods().size();
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
