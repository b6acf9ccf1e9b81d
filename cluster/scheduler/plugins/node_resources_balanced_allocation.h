// NodeResourcesBalancedAllocation, as in Kubernetes' noderesources BalancedAllocation
// plugin: prefers nodes whose resources would be used in equal fractions once the pod is
// placed. For each scored resource the node has (cpu and memory by default) the fraction
// requested/allocatable (capped at 1) is taken; the score is (1 - standard deviation of the
// fractions) * 100. Unlike NodeResourcesFit it counts real requests, not non-zero defaults,
// and it skips best-effort pods (no requests at all), as current Kubernetes does.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string_view>
#include <vector>

#include "cluster/env/status.h"
#include "cluster/scheduler/framework/plugin.h"
#include "cluster/scheduler/plugins/node_plugin_util.h"

namespace ksim::scheduler {

inline constexpr std::string_view kNodeResourcesBalancedAllocationName = "NodeResourcesBalancedAllocation";

class NodeResourcesBalancedAllocation final : public PreScorePlugin, public ScorePlugin {
 public:
  explicit NodeResourcesBalancedAllocation(std::vector<ScoredResource> resources) : resources_(std::move(resources)) {}

  std::string_view Name() const override { return kNodeResourcesBalancedAllocationName; }
  // A score plugin never rejects a pod, so no event needs to requeue one.
  std::vector<ClusterEvent> EventsToRegister() const override { return {}; }
  // Stores the pod's request of each resource; Skip for a pod that requests none of them.
  PluginStatus PreScore(CycleState& state, const PodInfo& pod, std::span<const NodeInfo* const> nodes,
                        const Snapshot& snapshot) const override;
  // 0..100; no normalization.
  int64_t Score(const CycleState& state, const PodInfo& pod, const NodeInfo& node, PluginStatus* status) const override;

 private:
  std::vector<ScoredResource> resources_;
};

// Args: Kubernetes' NodeResourcesBalancedAllocationArgs, {"resources": [{"name": "cpu",
// "weight": 1}, ...]}: names unique, weights 1 (they do not weigh anything here).
Status NewNodeResourcesBalancedAllocation(const nlohmann::json& args, std::unique_ptr<Plugin>* out);

}  // namespace ksim::scheduler
