// TaintToleration, as in Kubernetes' tainttoleration plugin: Filter keeps a pod off nodes
// with a NoSchedule or NoExecute taint it does not tolerate; Score prefers nodes with fewer
// untolerated PreferNoSchedule taints.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/env/status.h"
#include "cluster/scheduler/framework/plugin.h"

namespace ksim::scheduler {

inline constexpr std::string_view kTaintTolerationName = "TaintToleration";

// "node(s) had untolerated taint {key: value}", printed as Kubernetes prints it: with ": "
// even when the value is empty ("{node-role.kubernetes.io/control-plane: }").
std::string UntoleratedTaintReason(const Taint& taint);

class TaintToleration final : public FilterPlugin, public PreScorePlugin, public ScorePlugin {
 public:
  std::string_view Name() const override { return kTaintTolerationName; }
  // A node came, or a node's taints changed.
  std::vector<ClusterEvent> EventsToRegister() const override;
  // UnschedulableAndUnresolvable naming the first untolerated NoSchedule/NoExecute taint in
  // the node's order.
  PluginStatus Filter(const CycleState& state, const PodInfo& pod, const NodeInfo& node) const override;
  // Nothing to precompute: Toleration::Tolerates already matches effects, so a toleration
  // for another effect never counts against a PreferNoSchedule taint.
  PluginStatus PreScore(CycleState& state, const PodInfo& pod, std::span<const NodeInfo* const> nodes,
                        const Snapshot& snapshot) const override;
  // The number of PreferNoSchedule taints the pod does not tolerate.
  int64_t Score(const CycleState& state, const PodInfo& pod, const NodeInfo& node, PluginStatus* status) const override;
  // Reversed: the node with the most untolerated taints gets 0, nodes with none get 100.
  void NormalizeScore(const CycleState& state, const PodInfo& pod, std::span<const NodeInfo* const> nodes,
                      std::span<int64_t> scores) const override;
};

// Takes no args (null or an empty object).
Status NewTaintToleration(const nlohmann::json& args, std::unique_ptr<Plugin>* out);

}  // namespace ksim::scheduler
