#include "cluster/scheduler/plugins/node_unschedulable.h"

#include <cassert>
#include <string>

#include "cluster/scheduler/plugins/node_plugin_util.h"

namespace ksim::scheduler {

std::vector<ClusterEvent> NodeUnschedulable::EventsToRegister() const {
  return {{EventResource::kNode, kEventAdd | kEventUpdateNodeSchedulable | kEventUpdateNodeTaint}};
}

PluginStatus NodeUnschedulable::Filter(const CycleState&, const PodInfo& pod, const NodeInfo& node) const {
  assert(node.node() != nullptr);
  if (!node.node()->unschedulable) return PluginStatus::Success();
  static const Taint* const kUnschedulableTaint =
      new Taint{std::string(kTaintNodeUnschedulable), "", TaintEffect::kNoSchedule};
  for (const Toleration& toleration : pod.tolerations) {
    if (toleration.Tolerates(*kUnschedulableTaint)) return PluginStatus::Success();
  }
  return PluginStatus(Code::kUnschedulableAndUnresolvable, std::string(kReasonNodeUnschedulable));
}

Status NewNodeUnschedulable(const nlohmann::json& args, std::unique_ptr<Plugin>* out) {
  if (Status s = CheckArgsKeys(args, {}); !s.ok()) return s;
  *out = std::make_unique<NodeUnschedulable>();
  return Status::Ok();
}

}  // namespace ksim::scheduler
