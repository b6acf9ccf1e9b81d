// ImageLocality, as in Kubernetes' imagelocality plugin: prefers nodes that already hold
// the pod's container images, weighting each image by how widely it is spread (an image on
// every node says little about this one). Per node, the sum over the pod's containers (init
// and app) whose image the node has of size * (nodes with the image / all nodes) is clamped
// to [23 MiB, 1000 MiB * containers] and scaled to 0..100.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string_view>
#include <vector>

#include "cluster/env/status.h"
#include "cluster/scheduler/framework/plugin.h"

namespace ksim::scheduler {

inline constexpr std::string_view kImageLocalityName = "ImageLocality";

class ImageLocality final : public PreScorePlugin, public ScorePlugin {
 public:
  std::string_view Name() const override { return kImageLocalityName; }
  // A score plugin never rejects a pod, so no event needs to requeue one.
  std::vector<ClusterEvent> EventsToRegister() const override { return {}; }
  // Captures the pod's images with their spread over the snapshot's nodes (Score sees only
  // one node). Skip when no node holds any of them: every score would be 0.
  PluginStatus PreScore(CycleState& state, const PodInfo& pod, std::span<const NodeInfo* const> nodes,
                        const Snapshot& snapshot) const override;
  // 0..100; no normalization. An error if PreScore did not run (the profile must list
  // ImageLocality at preScore too).
  int64_t Score(const CycleState& state, const PodInfo& pod, const NodeInfo& node, PluginStatus* status) const override;
};

// Takes no args (null or an empty object).
Status NewImageLocality(const nlohmann::json& args, std::unique_ptr<Plugin>* out);

}  // namespace ksim::scheduler
