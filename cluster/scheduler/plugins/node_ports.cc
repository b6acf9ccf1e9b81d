#include "cluster/scheduler/plugins/node_ports.h"

#include <string>

#include "cluster/scheduler/plugins/node_plugin_util.h"

namespace ksim::scheduler {

std::vector<ClusterEvent> NodePorts::EventsToRegister() const {
  return {{EventResource::kAssignedPod, kEventDelete}, {EventResource::kNode, kEventAdd}};
}

PluginStatus NodePorts::PreFilter(CycleState&, const PodInfo& pod, const Snapshot&) const {
  if (pod.host_ports.empty()) return PluginStatus::Skip();
  return PluginStatus::Success();
}

PluginStatus NodePorts::Filter(const CycleState&, const PodInfo& pod, const NodeInfo& node) const {
  for (const HostPort& port : pod.host_ports) {
    if (node.PortInUse(port)) return PluginStatus(Code::kUnschedulable, std::string(kReasonNodePorts));
  }
  return PluginStatus::Success();
}

Status NewNodePorts(const nlohmann::json& args, std::unique_ptr<Plugin>* out) {
  if (Status s = CheckArgsKeys(args, {}); !s.ok()) return s;
  *out = std::make_unique<NodePorts>();
  return Status::Ok();
}

}  // namespace ksim::scheduler
