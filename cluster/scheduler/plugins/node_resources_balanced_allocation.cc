#include "cluster/scheduler/plugins/node_resources_balanced_allocation.h"

#include <cmath>

namespace ksim::scheduler {
namespace {

struct BalancedScoreState final : StateData {
  std::vector<int64_t> pod_requests;  // parallel to the plugin's resources
  std::unique_ptr<StateData> Clone() const override { return std::make_unique<BalancedScoreState>(*this); }
};

}  // namespace

PluginStatus NodeResourcesBalancedAllocation::PreScore(CycleState& state, const PodInfo& pod,
                                                       std::span<const NodeInfo* const>, const Snapshot&) const {
  auto data = std::make_unique<BalancedScoreState>();
  data->pod_requests.reserve(resources_.size());
  bool best_effort = true;
  for (const ScoredResource& r : resources_) {
    data->pod_requests.push_back(PodRequestFor(pod, r, true));
    best_effort = best_effort && data->pod_requests.back() == 0;
  }
  // Scoring best-effort pods by balance would pile them onto one node (kubernetes#129138).
  if (best_effort) return PluginStatus::Skip();
  state.Set(slot(), std::move(data));
  return PluginStatus::Success();
}

int64_t NodeResourcesBalancedAllocation::Score(const CycleState& state, const PodInfo& pod, const NodeInfo& node,
                                               PluginStatus*) const {
  const auto* data = state.Read<BalancedScoreState>(slot());
  if (data == nullptr) {
    // Without PreScore (not in the profile) requests are read here; best-effort scores 0.
    bool best_effort = true;
    for (const ScoredResource& r : resources_) best_effort = best_effort && PodRequestFor(pod, r, true) == 0;
    if (best_effort) return 0;
  }
  // The fraction of resource i, or a negative value when the node lacks it. Recomputed in
  // the second pass rather than stored, so scoring a node allocates nothing.
  auto fraction = [&](size_t i) -> double {
    const ScoredResource& r = resources_[i];
    int64_t pod_request = data != nullptr ? data->pod_requests[i] : PodRequestFor(pod, r, true);
    AllocatableRequested amounts = NodeAllocatableRequested(node, r, pod_request, true);
    if (amounts.allocatable == 0) return -1;
    double f = static_cast<double>(amounts.requested) / static_cast<double>(amounts.allocatable);
    return f > 1 ? 1 : f;
  };
  size_t count = 0;
  double total = 0;
  double first = 0;
  double second = 0;
  for (size_t i = 0; i < resources_.size(); ++i) {
    double f = fraction(i);
    if (f < 0) continue;
    if (count == 0) first = f;
    if (count == 1) second = f;
    total += f;
    ++count;
  }
  double deviation = 0;
  if (count == 2) {
    // Kubernetes' shortcut for two resources: the deviation is half their difference.
    deviation = std::fabs((first - second) / 2);
  } else if (count > 2) {
    double mean = total / static_cast<double>(count);
    double sum_squares = 0;
    for (size_t i = 0; i < resources_.size(); ++i) {
      double f = fraction(i);
      if (f >= 0) sum_squares += (f - mean) * (f - mean);
    }
    deviation = std::sqrt(sum_squares / static_cast<double>(count));
  }
  return static_cast<int64_t>((1 - deviation) * static_cast<double>(kMaxNodeScore));
}

Status NewNodeResourcesBalancedAllocation(const nlohmann::json& args, std::unique_ptr<Plugin>* out) {
  if (Status s = CheckArgsKeys(args, {"resources"}); !s.ok()) return s;
  std::vector<ScoredResource> resources;
  if (args.is_object() && args.contains("resources")) {
    Status s = ParseScoredResources(args["resources"], "args.resources", true, &resources);
    if (!s.ok()) return s;
  }
  if (resources.empty()) resources = DefaultScoredResources();
  *out = std::make_unique<NodeResourcesBalancedAllocation>(std::move(resources));
  return Status::Ok();
}

}  // namespace ksim::scheduler
