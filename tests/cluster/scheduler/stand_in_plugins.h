// Stand-in plugins for tests and fuzz targets of profile handling: plugins that do nothing
// but implement a chosen set of extension points, so configuration and framework tests
// do not depend on the real plugins.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "cluster/scheduler/framework/framework.h"

namespace ksim::scheduler::testing {

// Extension-point bits of a stand-in's mask.
inline constexpr unsigned kPreFilter = 1, kFilter = 2, kPostFilter = 4, kPreScore = 8, kScore = 16;

namespace stand_in {
class PreFilterPoint : public PreFilterPlugin {
 public:
  PluginStatus PreFilter(CycleState&, const PodInfo&, const Snapshot&) const override {
    return PluginStatus::Success();
  }
};
class FilterPoint : public FilterPlugin {
 public:
  PluginStatus Filter(const CycleState&, const PodInfo&, const NodeInfo&) const override {
    return PluginStatus::Success();
  }
};
class PostFilterPoint : public PostFilterPlugin {
 public:
  PluginStatus PostFilter(CycleState&, const PodInfo&, const Snapshot&, const Framework&, const Diagnosis&,
                          PostFilterResult*) const override {
    return PluginStatus(Code::kUnschedulable, "no");
  }
};
class PreScorePoint : public PreScorePlugin {
 public:
  PluginStatus PreScore(CycleState&, const PodInfo&, std::span<const NodeInfo* const>, const Snapshot&) const override {
    return PluginStatus::Success();
  }
};
class ScorePoint : public ScorePlugin {
 public:
  int64_t Score(const CycleState&, const PodInfo&, const NodeInfo&, PluginStatus*) const override { return 0; }
};
template <int N>
struct NoPoint {};
// A plugin implementing the points in mask M.
template <unsigned M>
class Fake final : public virtual Plugin,
                   public std::conditional_t<(M & kPreFilter) != 0, PreFilterPoint, NoPoint<0>>,
                   public std::conditional_t<(M & kFilter) != 0, FilterPoint, NoPoint<1>>,
                   public std::conditional_t<(M & kPostFilter) != 0, PostFilterPoint, NoPoint<2>>,
                   public std::conditional_t<(M & kPreScore) != 0, PreScorePoint, NoPoint<3>>,
                   public std::conditional_t<(M & kScore) != 0, ScorePoint, NoPoint<4>> {
 public:
  explicit Fake(std::string name) : name_(std::move(name)) {}
  std::string_view Name() const override { return name_; }

 private:
  std::string name_;
};
template <size_t... M>
std::unique_ptr<Plugin> Make(unsigned mask, std::string name, std::index_sequence<M...>) {
  using Maker = std::unique_ptr<Plugin> (*)(std::string);
  static constexpr Maker makers[] = {
      [](std::string n) -> std::unique_ptr<Plugin> { return std::make_unique<Fake<M>>(std::move(n)); }...};
  return makers[mask % 32](std::move(name));
}
}  // namespace stand_in

// A stand-in named `name` implementing the points in `mask` (kPreFilter | ...).
inline std::unique_ptr<Plugin> MakeStandIn(unsigned mask, std::string name) {
  return stand_in::Make(mask, std::move(name), std::make_index_sequence<32>());
}

// Registers a stand-in that ignores its args.
inline void RegisterStandIn(PluginRegistry& registry, const std::string& name, unsigned mask) {
  registry.Register(name, [name, mask](const nlohmann::json&, std::unique_ptr<Plugin>* out) {
    *out = MakeStandIn(mask, name);
    return Status::Ok();
  });
}

// Kubernetes' default plugins under their names, at the points DefaultProfile() lists them.
inline void RegisterDefaultStandIns(PluginRegistry& registry, bool with_image_locality = true) {
  const ProfileConfig d = DefaultProfile();
  std::map<std::string, unsigned> masks;
  for (const auto& name : d.pre_filter) masks[name] |= kPreFilter;
  for (const auto& name : d.filter) masks[name] |= kFilter;
  for (const auto& name : d.post_filter) masks[name] |= kPostFilter;
  for (const auto& name : d.pre_score) masks[name] |= kPreScore;
  for (const auto& ref : d.score) masks[ref.name] |= kScore;
  for (const auto& [name, mask] : masks) {
    if (name != "ImageLocality" || with_image_locality) RegisterStandIn(registry, name, mask);
  }
}

}  // namespace ksim::scheduler::testing
