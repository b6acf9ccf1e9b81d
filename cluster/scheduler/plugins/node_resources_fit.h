// NodeResourcesFit, as in Kubernetes' noderesources Fit plugin. Filter: the pod's requests
// (PodInfo::requests: containers summed, init containers' peak, overhead) must fit in the
// node's allocatable minus what its pods request, resource by resource, and the node must
// have room for one more pod; every short resource is named ("Insufficient cpu",
// "Insufficient example.com/gpu", "Too many pods"). Score: a scoring strategy over the
// args' resources (cpu and memory by default), counting Kubernetes' non-zero defaults for
// containers that request no cpu or memory, so empty pods still spread.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/env/status.h"
#include "cluster/scheduler/framework/plugin.h"
#include "cluster/scheduler/plugins/node_plugin_util.h"

namespace ksim::scheduler {

inline constexpr std::string_view kNodeResourcesFitName = "NodeResourcesFit";
inline constexpr std::string_view kReasonTooManyPods = "Too many pods";

class NodeResourcesFit final : public PreFilterPlugin, public FilterPlugin, public PreScorePlugin, public ScorePlugin {
 public:
  enum class Strategy { kLeastAllocated, kMostAllocated, kRequestedToCapacityRatio };
  // A point of RequestedToCapacityRatio's broken-linear function; `score` is already scaled
  // from the args' 0..10 to 0..100.
  struct ShapePoint {
    int64_t utilization = 0;
    int64_t score = 0;
  };
  struct Config {
    Strategy strategy = Strategy::kLeastAllocated;
    std::vector<ScoredResource> resources = DefaultScoredResources();
    std::vector<ShapePoint> shape;               // kRequestedToCapacityRatio only
    std::vector<std::string> ignored_resources;  // sorted extended resource names
    std::vector<std::string> ignored_groups;     // sorted prefixes ("example.com")
  };

  explicit NodeResourcesFit(Config config) : config_(std::move(config)) {}

  std::string_view Name() const override { return kNodeResourcesFitName; }
  // An assigned pod went away or shrank, or a node came or its allocatable changed.
  std::vector<ClusterEvent> EventsToRegister() const override;
  // The requests are precomputed in PodInfo: nothing to store.
  PluginStatus PreFilter(CycleState& state, const PodInfo& pod, const Snapshot& snapshot) const override;
  // Unschedulable naming every short resource; UnschedulableAndUnresolvable when some
  // request exceeds the node's whole allocatable (no preemption can help).
  PluginStatus Filter(const CycleState& state, const PodInfo& pod, const NodeInfo& node) const override;
  // Stores the pod's request of each scored resource.
  PluginStatus PreScore(CycleState& state, const PodInfo& pod, std::span<const NodeInfo* const> nodes,
                        const Snapshot& snapshot) const override;
  // 0..100 by the strategy, weighted over resources the node has (see the .cc).
  int64_t Score(const CycleState& state, const PodInfo& pod, const NodeInfo& node, PluginStatus* status) const override;

  const Config& config() const { return config_; }

 private:
  bool Ignored(std::string_view scalar) const;
  PluginStatus Reject(const PodInfo& pod, const NodeInfo& node) const;
  int64_t ResourceScore(int64_t requested, int64_t allocatable) const;

  Config config_;
};

// Args: Kubernetes' NodeResourcesFitArgs, e.g.
//   {"scoringStrategy": {"type": "MostAllocated", "resources": [{"name": "cpu", "weight": 1}]},
//    "ignoredResources": ["example.com/foo"], "ignoredResourceGroups": ["example.com"]}
// RequestedToCapacityRatio needs "requestedToCapacityRatio": {"shape": [{"utilization":
// 0..100, "score": 0..10}, ...]} with utilization increasing.
Status NewNodeResourcesFit(const nlohmann::json& args, std::unique_ptr<Plugin>* out);

}  // namespace ksim::scheduler
