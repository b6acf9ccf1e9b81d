// NodeUnschedulable: a node marked spec.unschedulable (cordoned) takes only pods that
// tolerate the node.kubernetes.io/unschedulable:NoSchedule taint, as in Kubernetes'
// nodeunschedulable plugin.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "cluster/env/status.h"
#include "cluster/scheduler/framework/plugin.h"

namespace ksim::scheduler {

inline constexpr std::string_view kNodeUnschedulableName = "NodeUnschedulable";
// The reason Kubernetes gives for a cordoned node.
inline constexpr std::string_view kReasonNodeUnschedulable = "node(s) were unschedulable";
// The taint a pod must tolerate to land on a cordoned node.
inline constexpr std::string_view kTaintNodeUnschedulable = "node.kubernetes.io/unschedulable";

class NodeUnschedulable final : public FilterPlugin {
 public:
  std::string_view Name() const override { return kNodeUnschedulableName; }
  // Node added, uncordoned, or its taints changed.
  std::vector<ClusterEvent> EventsToRegister() const override;
  // UnschedulableAndUnresolvable: preempting pods does not uncordon a node.
  PluginStatus Filter(const CycleState& state, const PodInfo& pod, const NodeInfo& node) const override;
};

// Takes no args (null or an empty object).
Status NewNodeUnschedulable(const nlohmann::json& args, std::unique_ptr<Plugin>* out);

}  // namespace ksim::scheduler
