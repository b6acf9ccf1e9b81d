#include "cluster/scheduler/plugins/taint_toleration.h"

#include <fmt/format.h>

#include <cassert>

#include "cluster/scheduler/plugins/node_plugin_util.h"

namespace ksim::scheduler {
namespace {

bool Tolerated(const std::vector<Toleration>& tolerations, const Taint& taint) {
  for (const Toleration& toleration : tolerations) {
    if (toleration.Tolerates(taint)) return true;
  }
  return false;
}

}  // namespace

std::string UntoleratedTaintReason(const Taint& taint) {
  return fmt::format("node(s) had untolerated taint {{{}: {}}}", taint.key, taint.value);
}

std::vector<ClusterEvent> TaintToleration::EventsToRegister() const {
  return {{EventResource::kNode, kEventAdd | kEventUpdateNodeTaint}};
}

PluginStatus TaintToleration::Filter(const CycleState&, const PodInfo& pod, const NodeInfo& node) const {
  assert(node.node() != nullptr);
  for (const Taint& taint : node.node()->taints) {
    if (taint.effect == TaintEffect::kPreferNoSchedule) continue;
    if (!Tolerated(pod.tolerations, taint)) {
      return PluginStatus(Code::kUnschedulableAndUnresolvable, UntoleratedTaintReason(taint));
    }
  }
  return PluginStatus::Success();
}

PluginStatus TaintToleration::PreScore(CycleState&, const PodInfo&, std::span<const NodeInfo* const>,
                                       const Snapshot&) const {
  return PluginStatus::Success();
}

int64_t TaintToleration::Score(const CycleState&, const PodInfo& pod, const NodeInfo& node, PluginStatus*) const {
  assert(node.node() != nullptr);
  int64_t untolerated = 0;
  for (const Taint& taint : node.node()->taints) {
    if (taint.effect == TaintEffect::kPreferNoSchedule && !Tolerated(pod.tolerations, taint)) ++untolerated;
  }
  return untolerated;
}

void TaintToleration::NormalizeScore(const CycleState&, const PodInfo&, std::span<const NodeInfo* const>,
                                     std::span<int64_t> scores) const {
  DefaultNormalizeScore(kMaxNodeScore, /*reverse=*/true, scores);
}

Status NewTaintToleration(const nlohmann::json& args, std::unique_ptr<Plugin>* out) {
  if (Status s = CheckArgsKeys(args, {}); !s.ok()) return s;
  *out = std::make_unique<TaintToleration>();
  return Status::Ok();
}

}  // namespace ksim::scheduler
