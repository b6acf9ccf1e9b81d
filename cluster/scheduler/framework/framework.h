// Framework: one scheduling profile's plugins, instantiated from a profile configuration,
// and the runners for each extension point. PluginRegistry maps Kubernetes' plugin names to
// factories. The scheduling algorithm that drives a Framework over a Snapshot is in
// cluster/scheduler/framework/schedule_one.h.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/env/status.h"
#include "cluster/scheduler/framework/plugin.h"

namespace ksim::scheduler {

// ---------------------------------------------------------------- registry

// Builds a plugin from its pluginConfig args (null when the profile gives none). Bad args
// are an InvalidArgument naming the field ("args.scoringStrategy.type: ...").
using PluginFactory = std::function<Status(const nlohmann::json& args, std::unique_ptr<Plugin>* out)>;

class PluginRegistry {
 public:
  // Every in-tree plugin (cluster/scheduler/plugins/registry.cc).
  static const PluginRegistry& Default();

  void Register(std::string name, PluginFactory factory);
  const PluginFactory* Find(std::string_view name) const;
  std::vector<std::string> Names() const;

 private:
  std::map<std::string, PluginFactory, std::less<>> factories_;
};

// ---------------------------------------------------------------- profiles

struct ScorePluginRef {
  std::string name;
  int32_t weight = 1;
};

// A resolved profile: which plugin runs at which point, in order. Produced from a
// KubeSchedulerConfiguration profile (config.h) or by DefaultProfile().
struct ProfileConfig {
  std::string scheduler_name = "default-scheduler";
  std::vector<std::string> pre_filter;
  std::vector<std::string> filter;
  std::vector<std::string> post_filter;
  std::vector<std::string> pre_score;
  std::vector<ScorePluginRef> score;
  std::map<std::string, nlohmann::json, std::less<>> plugin_args;
  // 0: Kubernetes' adaptive default (50% minus 1% per 125 nodes, at least 5%, at least 100
  // nodes); 100: every node.
  int32_t percentage_of_nodes_to_score = 0;
};

// Kubernetes' default profile (v1 KubeSchedulerConfiguration defaults) with the plugins
// ksim implements.
ProfileConfig DefaultProfile();

// ---------------------------------------------------------------- framework

class Framework {
 public:
  // Instantiates each named plugin once (a plugin at several points is one instance) and
  // checks it implements the points it is listed at.
  static Status Create(const ProfileConfig& config, const PluginRegistry& registry, std::unique_ptr<Framework>* out);

  const ProfileConfig& config() const { return config_; }
  const std::string& scheduler_name() const { return config_.scheduler_name; }
  // A fresh CycleState sized for this profile.
  CycleState NewCycleState() const { return CycleState(plugins_.size()); }

  // Runs every PreFilter plugin; the first rejection or error is returned (with its
  // plugin). Plugins that answer kSkip have their Filter skipped for this pod.
  PluginStatus RunPreFilter(CycleState& state, const PodInfo& pod, const Snapshot& snapshot) const;
  // Runs Filter plugins in order and stops at the first that does not succeed.
  PluginStatus RunFilter(const CycleState& state, const PodInfo& pod, const NodeInfo& node) const;
  // Every Filter plugin's verdict on one node, in profile order (for explanations).
  std::vector<PluginStatus> RunFilterAll(const CycleState& state, const PodInfo& pod, const NodeInfo& node) const;
  // Preemption's what-if on every PreFilter plugin's state.
  PluginStatus RunPreFilterAddPod(CycleState& state, const PodInfo& pod, const PodInfo& other, const NodeInfo& node,
                                  const Snapshot& snapshot) const;
  PluginStatus RunPreFilterRemovePod(CycleState& state, const PodInfo& pod, const PodInfo& other,
                                     const NodeInfo& node, const Snapshot& snapshot) const;

  PluginStatus RunPreScore(CycleState& state, const PodInfo& pod, std::span<const NodeInfo* const> nodes,
                           const Snapshot& snapshot) const;
  // Scores every node with every Score plugin, normalizes, weights and sums into
  // `totals` (one per node). If `per_plugin` is set it receives each plugin's normalized,
  // unweighted scores (indexed [plugin][node], plugins in score_plugins() order).
  PluginStatus RunScore(const CycleState& state, const PodInfo& pod, std::span<const NodeInfo* const> nodes,
                        std::vector<int64_t>* totals, std::vector<std::vector<int64_t>>* per_plugin = nullptr) const;

  bool HasPostFilter() const { return !post_filter_.empty(); }
  PluginStatus RunPostFilter(CycleState& state, const PodInfo& pod, const Snapshot& snapshot,
                             const Diagnosis& diagnosis, PostFilterResult* result) const;

  const std::vector<const FilterPlugin*>& filter_plugins() const { return filter_; }
  const std::vector<std::pair<const ScorePlugin*, int32_t>>& score_plugins() const { return score_; }

  // Whether `event` may make a pod schedulable that these plugins rejected (names as in
  // PluginStatus::plugin()). An empty set (rejected by no plugin in particular) is always
  // relevant.
  bool EventMayHelp(const ClusterEvent& event, const std::vector<std::string>& rejecting_plugins) const;

 private:
  Framework() = default;

  ProfileConfig config_;
  std::vector<std::unique_ptr<Plugin>> plugins_;  // index = slot
  std::vector<const PreFilterPlugin*> pre_filter_;
  std::vector<const FilterPlugin*> filter_;
  std::vector<const PostFilterPlugin*> post_filter_;
  std::vector<const PreScorePlugin*> pre_score_;
  std::vector<std::pair<const ScorePlugin*, int32_t>> score_;
  // Each plugin's EventsToRegister(), asked once (the queue consults them per pod per event).
  std::map<std::string, std::vector<ClusterEvent>, std::less<>> events_;
};

}  // namespace ksim::scheduler
