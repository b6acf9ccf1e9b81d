#include "cluster/scheduler/framework/framework.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>

namespace ksim::scheduler {

// ---------------------------------------------------------------- plugin.h pieces

std::string PluginStatus::ToString() const {
  std::string_view code;
  switch (code_) {
    case Code::kSuccess:
      code = "Success";
      break;
    case Code::kUnschedulable:
      code = "Unschedulable";
      break;
    case Code::kUnschedulableAndUnresolvable:
      code = "UnschedulableAndUnresolvable";
      break;
    case Code::kSkip:
      code = "Skip";
      break;
    case Code::kError:
      code = "Error";
      break;
  }
  if (reasons_.empty()) return std::string(code);
  return fmt::format("{}: {}", code, fmt::join(reasons_, ", "));
}

CycleState CycleState::Clone() const {
  CycleState copy(slots_.size());
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i] != nullptr) copy.slots_[i] = slots_[i]->Clone();
  }
  copy.skip_filter_ = skip_filter_;
  copy.skip_score_ = skip_score_;
  return copy;
}

PluginStatus PreFilterPlugin::AddPod(CycleState&, const PodInfo&, const PodInfo&, const NodeInfo&,
                                     const Snapshot&) const {
  return PluginStatus::Success();
}

PluginStatus PreFilterPlugin::RemovePod(CycleState&, const PodInfo&, const PodInfo&, const NodeInfo&,
                                        const Snapshot&) const {
  return PluginStatus::Success();
}

void ScorePlugin::NormalizeScore(const CycleState&, const PodInfo&, std::span<const NodeInfo* const>,
                                 std::span<int64_t>) const {}

// ---------------------------------------------------------------- registry

void PluginRegistry::Register(std::string name, PluginFactory factory) {
  factories_[std::move(name)] = std::move(factory);
}

const PluginFactory* PluginRegistry::Find(std::string_view name) const {
  auto it = factories_.find(name);
  return it == factories_.end() ? nullptr : &it->second;
}

std::vector<std::string> PluginRegistry::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, factory] : factories_) names.push_back(name);
  return names;
}

// ---------------------------------------------------------------- default profile

ProfileConfig DefaultProfile() {
  ProfileConfig p;
  p.pre_filter = {"NodeAffinity", "NodePorts", "NodeResourcesFit", "PodTopologySpread", "InterPodAffinity"};
  p.filter = {"NodeUnschedulable", "NodeName",         "TaintToleration",   "NodeAffinity",
              "NodePorts",         "NodeResourcesFit", "PodTopologySpread", "InterPodAffinity"};
  p.post_filter = {"DefaultPreemption"};
  p.pre_score = {"TaintToleration",   "NodeAffinity",     "NodeResourcesFit",
                 "PodTopologySpread", "InterPodAffinity", "NodeResourcesBalancedAllocation",
                 "ImageLocality"};
  p.score = {{"TaintToleration", 3},   {"NodeAffinity", 2},     {"NodeResourcesFit", 1},
             {"PodTopologySpread", 2}, {"InterPodAffinity", 2}, {"NodeResourcesBalancedAllocation", 1},
             {"ImageLocality", 1}};
  return p;
}

// ---------------------------------------------------------------- framework

Status Framework::Create(const ProfileConfig& config, const PluginRegistry& registry, std::unique_ptr<Framework>* out) {
  std::unique_ptr<Framework> fw(new Framework());
  fw->config_ = config;
  std::map<std::string, Plugin*, std::less<>> by_name;
  auto instance = [&](const std::string& name, std::string_view point, Plugin** out_plugin) -> Status {
    auto it = by_name.find(name);
    if (it != by_name.end()) {
      *out_plugin = it->second;
      return Status::Ok();
    }
    const PluginFactory* factory = registry.Find(name);
    if (factory == nullptr) {
      return Status::InvalidArgument(
          fmt::format("profile \"{}\": {}: unknown plugin \"{}\"", config.scheduler_name, point, name));
    }
    auto args_it = config.plugin_args.find(name);
    std::unique_ptr<Plugin> plugin;
    Status s = (*factory)(args_it == config.plugin_args.end() ? nlohmann::json() : args_it->second, &plugin);
    if (!s.ok()) {
      return Status::InvalidArgument(
          fmt::format("profile \"{}\": pluginConfig[{}]: {}", config.scheduler_name, name, s.message()));
    }
    if (fw->plugins_.size() >= CycleState::kMaxSlots) {
      return Status::InvalidArgument(
          fmt::format("profile \"{}\": more than {} plugins", config.scheduler_name, CycleState::kMaxSlots));
    }
    plugin->set_slot(static_cast<int>(fw->plugins_.size()));
    *out_plugin = plugin.get();
    fw->plugins_.push_back(std::move(plugin));
    by_name.emplace(name, *out_plugin);
    return Status::Ok();
  };
  auto wrong_point = [&](std::string_view name, std::string_view point) {
    return Status::InvalidArgument(fmt::format("profile \"{}\": plugin \"{}\" does not implement {}",
                                               config.scheduler_name, name, point));
  };
  auto add = [&]<typename T>(const std::vector<std::string>& names, std::string_view point,
                             std::vector<const T*>* into) -> Status {
    for (const auto& name : names) {
      Plugin* p = nullptr;
      Status made = instance(name, point, &p);
      if (!made.ok()) return made;
      const T* typed = dynamic_cast<const T*>(p);
      if (typed == nullptr) return wrong_point(name, point);
      into->push_back(typed);
    }
    return Status::Ok();
  };
  Status s = add.template operator()<PreFilterPlugin>(config.pre_filter, "preFilter", &fw->pre_filter_);
  if (s.ok()) s = add.template operator()<FilterPlugin>(config.filter, "filter", &fw->filter_);
  if (s.ok()) s = add.template operator()<PostFilterPlugin>(config.post_filter, "postFilter", &fw->post_filter_);
  if (s.ok()) s = add.template operator()<PreScorePlugin>(config.pre_score, "preScore", &fw->pre_score_);
  if (!s.ok()) return s;
  for (const auto& ref : config.score) {
    Plugin* p = nullptr;
    Status made = instance(ref.name, "score", &p);
    if (!made.ok()) return made;
    const auto* typed = dynamic_cast<const ScorePlugin*>(p);
    if (typed == nullptr) return wrong_point(ref.name, "score");
    if (ref.weight <= 0 || ref.weight > 100) {
      return Status::InvalidArgument(fmt::format("profile \"{}\": score plugin \"{}\": weight {} is not in 1..100",
                                                 config.scheduler_name, ref.name, ref.weight));
    }
    fw->score_.emplace_back(typed, ref.weight);
  }
  for (const auto& plugin : fw->plugins_) fw->events_[std::string(plugin->Name())] = plugin->EventsToRegister();
  *out = std::move(fw);
  return Status::Ok();
}

PluginStatus Framework::RunPreFilter(CycleState& state, const PodInfo& pod, const Snapshot& snapshot) const {
  for (const PreFilterPlugin* p : pre_filter_) {
    PluginStatus s = p->PreFilter(state, pod, snapshot);
    if (s.IsSkip()) {
      state.SetSkipFilter(p->slot());
      continue;
    }
    if (!s.ok()) {
      s.set_plugin(p->Name());
      return s;
    }
  }
  return PluginStatus::Success();
}

PluginStatus Framework::RunFilter(const CycleState& state, const PodInfo& pod, const NodeInfo& node) const {
  for (const FilterPlugin* p : filter_) {
    if (state.SkipFilter(p->slot())) continue;
    PluginStatus s = p->Filter(state, pod, node);
    if (!s.ok()) {
      s.set_plugin(p->Name());
      return s;
    }
  }
  return PluginStatus::Success();
}

std::vector<PluginStatus> Framework::RunFilterAll(const CycleState& state, const PodInfo& pod,
                                                  const NodeInfo& node) const {
  std::vector<PluginStatus> out;
  for (const FilterPlugin* p : filter_) {
    PluginStatus s = state.SkipFilter(p->slot()) ? PluginStatus::Skip() : p->Filter(state, pod, node);
    s.set_plugin(p->Name());
    out.push_back(std::move(s));
  }
  return out;
}

PluginStatus Framework::RunPreFilterAddPod(CycleState& state, const PodInfo& pod, const PodInfo& other,
                                           const NodeInfo& node, const Snapshot& snapshot) const {
  for (const PreFilterPlugin* p : pre_filter_) {
    if (state.SkipFilter(p->slot())) continue;
    PluginStatus s = p->AddPod(state, pod, other, node, snapshot);
    if (!s.ok()) {
      s.set_plugin(p->Name());
      return s;
    }
  }
  return PluginStatus::Success();
}

PluginStatus Framework::RunPreFilterRemovePod(CycleState& state, const PodInfo& pod, const PodInfo& other,
                                              const NodeInfo& node, const Snapshot& snapshot) const {
  for (const PreFilterPlugin* p : pre_filter_) {
    if (state.SkipFilter(p->slot())) continue;
    PluginStatus s = p->RemovePod(state, pod, other, node, snapshot);
    if (!s.ok()) {
      s.set_plugin(p->Name());
      return s;
    }
  }
  return PluginStatus::Success();
}

PluginStatus Framework::RunPreScore(CycleState& state, const PodInfo& pod, std::span<const NodeInfo* const> nodes,
                                    const Snapshot& snapshot) const {
  for (const PreScorePlugin* p : pre_score_) {
    PluginStatus s = p->PreScore(state, pod, nodes, snapshot);
    if (s.IsSkip()) {
      state.SetSkipScore(p->slot());
      continue;
    }
    if (!s.ok()) {
      s.set_plugin(p->Name());
      return s;
    }
  }
  return PluginStatus::Success();
}

PluginStatus Framework::RunScore(const CycleState& state, const PodInfo& pod, std::span<const NodeInfo* const> nodes,
                                 std::vector<int64_t>* totals, std::vector<std::vector<int64_t>>* per_plugin) const {
  totals->assign(nodes.size(), 0);
  if (per_plugin != nullptr) per_plugin->assign(score_.size(), std::vector<int64_t>(nodes.size(), 0));
  std::vector<int64_t> scores(nodes.size());
  for (size_t k = 0; k < score_.size(); ++k) {
    const auto& [plugin, weight] = score_[k];
    if (state.SkipScore(plugin->slot())) continue;
    PluginStatus status;
    for (size_t i = 0; i < nodes.size(); ++i) {
      scores[i] = plugin->Score(state, pod, *nodes[i], &status);
      if (!status.ok()) {
        status.set_plugin(plugin->Name());
        return status;
      }
    }
    plugin->NormalizeScore(state, pod, nodes, scores);
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (scores[i] < 0 || scores[i] > kMaxNodeScore) {
        PluginStatus bad(Code::kError, fmt::format("score {} on node {} is not in [0, {}]", scores[i],
                                                   nodes[i]->name(), kMaxNodeScore));
        bad.set_plugin(plugin->Name());
        return bad;
      }
      (*totals)[i] += scores[i] * weight;
      if (per_plugin != nullptr) (*per_plugin)[k][i] = scores[i];
    }
  }
  return PluginStatus::Success();
}

PluginStatus Framework::RunPostFilter(CycleState& state, const PodInfo& pod, const Snapshot& snapshot,
                                      const Diagnosis& diagnosis, PostFilterResult* result) const {
  PluginStatus last(Code::kUnschedulable, std::vector<std::string>{});
  for (const PostFilterPlugin* p : post_filter_) {
    PluginStatus s = p->PostFilter(state, pod, snapshot, *this, diagnosis, result);
    s.set_plugin(p->Name());
    if (s.ok() || s.code() == Code::kError) return s;
    last = std::move(s);
  }
  return last;
}

bool Framework::EventMayHelp(const ClusterEvent& event, const std::vector<std::string>& rejecting_plugins) const {
  if (rejecting_plugins.empty()) return true;
  for (const std::string& name : rejecting_plugins) {
    auto it = events_.find(name);
    if (it == events_.end()) continue;
    for (const ClusterEvent& registered : it->second) {
      if (registered.Matches(event)) return true;
    }
  }
  return false;
}

}  // namespace ksim::scheduler
