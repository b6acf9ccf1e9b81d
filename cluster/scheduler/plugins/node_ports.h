// NodePorts: a pod's host ports must be free on the node, as in Kubernetes' nodeports
// plugin. Two ports conflict when protocol and port are equal and the addresses are equal
// or either is the wildcard (NodeInfo::PortInUse).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "cluster/env/status.h"
#include "cluster/scheduler/framework/plugin.h"

namespace ksim::scheduler {

inline constexpr std::string_view kNodePortsName = "NodePorts";
inline constexpr std::string_view kReasonNodePorts = "node(s) didn't have free ports for the requested pod ports";

class NodePorts final : public PreFilterPlugin, public FilterPlugin {
 public:
  std::string_view Name() const override { return kNodePortsName; }
  // A pod using the port went away, or a node came.
  std::vector<ClusterEvent> EventsToRegister() const override;
  // Skip for a pod without host ports. The ports are PodInfo::host_ports (parsed once), so
  // there is no state to keep.
  PluginStatus PreFilter(CycleState& state, const PodInfo& pod, const Snapshot& snapshot) const override;
  // Unschedulable: evicting the pod that holds the port frees it.
  PluginStatus Filter(const CycleState& state, const PodInfo& pod, const NodeInfo& node) const override;
};

// Takes no args (null or an empty object).
Status NewNodePorts(const nlohmann::json& args, std::unique_ptr<Plugin>* out);

}  // namespace ksim::scheduler
