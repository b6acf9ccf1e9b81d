// NodeAffinity, as in Kubernetes' nodeaffinity plugin: Filter requires spec.nodeSelector
// AND the required node affinity to match the node; Score sums the weights of the
// preferred terms the node matches, normalized so the best node gets 100. Args
// (NodeAffinityArgs) may add a scheduler-enforced affinity that every pod must also meet.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "cluster/env/status.h"
#include "cluster/scheduler/framework/plugin.h"

namespace ksim::scheduler {

inline constexpr std::string_view kNodeAffinityName = "NodeAffinity";
inline constexpr std::string_view kReasonNodeAffinity = "node(s) didn't match Pod's node affinity/selector";
inline constexpr std::string_view kReasonNodeAffinityEnforced = "node(s) didn't match scheduler-enforced node affinity";
// PreFilter's verdict when every required term names metadata.name values that no node can
// have at once (each term's name sets intersect to nothing).
inline constexpr std::string_view kReasonNodeAffinityConflict = "pod affinity terms conflict";

class NodeAffinity final : public PreFilterPlugin, public FilterPlugin, public PreScorePlugin, public ScorePlugin {
 public:
  NodeAffinity(std::optional<NodeSelector> added_required, std::vector<PreferredNodeTerm> added_preferred)
      : added_required_(std::move(added_required)), added_preferred_(std::move(added_preferred)) {}

  std::string_view Name() const override { return kNodeAffinityName; }
  // A node came or its labels changed.
  std::vector<ClusterEvent> EventsToRegister() const override;
  // Skip when the pod has neither nodeSelector nor required affinity (and args add none).
  // The selector and terms are parsed in PodInfo, so there is no state to keep.
  PluginStatus PreFilter(CycleState& state, const PodInfo& pod, const Snapshot& snapshot) const override;
  // UnschedulableAndUnresolvable when a selector does not match.
  PluginStatus Filter(const CycleState& state, const PodInfo& pod, const NodeInfo& node) const override;
  // Skip when there are no preferred terms (the pod's or the args').
  PluginStatus PreScore(CycleState& state, const PodInfo& pod, std::span<const NodeInfo* const> nodes,
                        const Snapshot& snapshot) const override;
  // The sum of the weights of the preferred terms the node matches.
  int64_t Score(const CycleState& state, const PodInfo& pod, const NodeInfo& node, PluginStatus* status) const override;
  // Kubernetes' default normalization: the highest sum becomes 100.
  void NormalizeScore(const CycleState& state, const PodInfo& pod, std::span<const NodeInfo* const> nodes,
                      std::span<int64_t> scores) const override;

 private:
  std::optional<NodeSelector> added_required_;
  std::vector<PreferredNodeTerm> added_preferred_;
};

// Args: Kubernetes' NodeAffinityArgs, {"addedAffinity": <a core/v1 NodeAffinity>}.
Status NewNodeAffinity(const nlohmann::json& args, std::unique_ptr<Plugin>* out);

}  // namespace ksim::scheduler
