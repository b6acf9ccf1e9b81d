// NodeName: a pod that names its node in spec.nodeName fits only that node, as in
// Kubernetes' nodename plugin.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "cluster/env/status.h"
#include "cluster/scheduler/framework/plugin.h"

namespace ksim::scheduler {

inline constexpr std::string_view kNodeNameName = "NodeName";
inline constexpr std::string_view kReasonNodeName = "node(s) didn't match the requested node name";

class NodeName final : public FilterPlugin {
 public:
  std::string_view Name() const override { return kNodeNameName; }
  // Only a new node can be the one the pod names.
  std::vector<ClusterEvent> EventsToRegister() const override;
  // UnschedulableAndUnresolvable on every node but the named one.
  PluginStatus Filter(const CycleState& state, const PodInfo& pod, const NodeInfo& node) const override;
};

// Takes no args (null or an empty object).
Status NewNodeName(const nlohmann::json& args, std::unique_ptr<Plugin>* out);

}  // namespace ksim::scheduler
