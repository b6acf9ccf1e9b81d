#include "cluster/scheduler/plugins/node_name.h"

#include <string>

#include "cluster/scheduler/plugins/node_plugin_util.h"

namespace ksim::scheduler {

std::vector<ClusterEvent> NodeName::EventsToRegister() const { return {{EventResource::kNode, kEventAdd}}; }

PluginStatus NodeName::Filter(const CycleState&, const PodInfo& pod, const NodeInfo& node) const {
  if (pod.node_name.empty() || pod.node_name == node.name()) return PluginStatus::Success();
  return PluginStatus(Code::kUnschedulableAndUnresolvable, std::string(kReasonNodeName));
}

Status NewNodeName(const nlohmann::json& args, std::unique_ptr<Plugin>* out) {
  if (Status s = CheckArgsKeys(args, {}); !s.ok()) return s;
  *out = std::make_unique<NodeName>();
  return Status::Ok();
}

}  // namespace ksim::scheduler
