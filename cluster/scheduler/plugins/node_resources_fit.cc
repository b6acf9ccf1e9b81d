#include "cluster/scheduler/plugins/node_resources_fit.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cmath>

namespace ksim::scheduler {
namespace {

// RequestedToCapacityRatio's args score points range 0..10 (Kubernetes'
// MaxCustomPriorityScore); scores are scaled to 0..kMaxNodeScore.
constexpr int64_t kMaxCustomPriorityScore = 10;
constexpr int64_t kMaxUtilization = 100;

// The pod's request of each scored resource, computed once per pod in PreScore.
struct FitScoreState final : StateData {
  std::vector<int64_t> pod_requests;  // parallel to Config::resources
  std::unique_ptr<StateData> Clone() const override { return std::make_unique<FitScoreState>(*this); }
};

// Kubernetes' IsExtendedResourceName: a domain-prefixed name outside kubernetes.io (and not a
// quota "requests." name). Only extended resources can be ignored.
bool IsExtendedResource(std::string_view name) {
  if (name.find('/') == std::string_view::npos) return false;
  if (name.find("kubernetes.io/") != std::string_view::npos) return false;
  return !name.starts_with("requests.");
}

// Kubernetes' BuildBrokenLinearFunction: linear between the shape's points, flat outside.
int64_t BrokenLinear(const std::vector<NodeResourcesFit::ShapePoint>& shape, int64_t utilization) {
  assert(!shape.empty());
  for (size_t i = 0; i < shape.size(); ++i) {
    if (utilization > shape[i].utilization) continue;
    if (i == 0) return shape[0].score;
    const auto& lo = shape[i - 1];
    const auto& hi = shape[i];
    return lo.score + (hi.score - lo.score) * (utilization - lo.utilization) / (hi.utilization - lo.utilization);
  }
  return shape.back().score;
}

// A list of names; resource groups (`group_names`) may not contain '/'.
Status ParseStringList(const nlohmann::json& args, const char* key, bool group_names, std::vector<std::string>* out) {
  out->clear();
  if (!args.contains(key) || args[key].is_null()) return Status::Ok();
  const nlohmann::json& list = args[key];
  if (!list.is_array()) return Status::InvalidArgument(fmt::format("args.{}: must be a list of strings", key));
  for (size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_string() || list[i].get<std::string>().empty()) {
      return Status::InvalidArgument(fmt::format("args.{}[{}]: must be a non-empty string", key, i));
    }
    std::string name = list[i].get<std::string>();
    if (group_names && name.find('/') != std::string::npos) {
      return Status::InvalidArgument(fmt::format("args.{}[{}]: resource group name can't contain '/'", key, i));
    }
    out->push_back(std::move(name));
  }
  std::sort(out->begin(), out->end());
  out->erase(std::unique(out->begin(), out->end()), out->end());
  return Status::Ok();
}

Status ParseShape(const nlohmann::json& rtcr, std::vector<NodeResourcesFit::ShapePoint>* out) {
  constexpr std::string_view kField = "args.scoringStrategy.requestedToCapacityRatio";
  if (!rtcr.is_object()) return Status::InvalidArgument(fmt::format("{}: must be an object", kField));
  for (const auto& [key, value] : rtcr.items()) {
    if (key != "shape") return Status::InvalidArgument(fmt::format("{}.{}: unknown field", kField, key));
  }
  if (!rtcr.contains("shape") || !rtcr["shape"].is_array() || rtcr["shape"].empty()) {
    return Status::InvalidArgument(fmt::format("{}.shape: at least one point must be specified", kField));
  }
  const nlohmann::json& shape = rtcr["shape"];
  for (size_t i = 0; i < shape.size(); ++i) {
    const std::string at = fmt::format("{}.shape[{}]", kField, i);
    const nlohmann::json& point = shape[i];
    if (!point.is_object()) return Status::InvalidArgument(at + ": must be an object");
    for (const auto& [key, value] : point.items()) {
      if (key != "utilization" && key != "score") {
        return Status::InvalidArgument(fmt::format("{}.{}: unknown field", at, key));
      }
    }
    int64_t utilization = 0;
    int64_t score = 0;
    for (auto [key, into] : {std::pair{"utilization", &utilization}, std::pair{"score", &score}}) {
      if (!point.contains(key)) continue;  // Go's zero value
      if (!point[key].is_number_integer())
        return Status::InvalidArgument(fmt::format("{}.{}: must be an integer", at, key));
      *into = point[key].get<int64_t>();
    }
    if (utilization < 0 || utilization > kMaxUtilization) {
      return Status::InvalidArgument(fmt::format("{}.utilization: {} not in valid range [0, 100]", at, utilization));
    }
    if (score < 0 || score > kMaxCustomPriorityScore) {
      return Status::InvalidArgument(fmt::format("{}.score: {} not in valid range [0, 10]", at, score));
    }
    if (!out->empty() && out->back().utilization >= utilization) {
      return Status::InvalidArgument(
          fmt::format("{}.utilization: {} values must be sorted in increasing order", at, utilization));
    }
    out->push_back({utilization, score * (kMaxNodeScore / kMaxCustomPriorityScore)});
  }
  return Status::Ok();
}

Status ParseScoringStrategy(const nlohmann::json& strategy, NodeResourcesFit::Config* config) {
  constexpr std::string_view kField = "args.scoringStrategy";
  if (!strategy.is_object()) return Status::InvalidArgument(fmt::format("{}: must be an object", kField));
  for (const auto& [key, value] : strategy.items()) {
    if (key != "type" && key != "resources" && key != "requestedToCapacityRatio") {
      return Status::InvalidArgument(fmt::format("{}.{}: unknown field", kField, key));
    }
  }
  const std::string type =
      strategy.contains("type") && strategy["type"].is_string() ? strategy["type"].get<std::string>() : "";
  if (type == "LeastAllocated") {
    config->strategy = NodeResourcesFit::Strategy::kLeastAllocated;
  } else if (type == "MostAllocated") {
    config->strategy = NodeResourcesFit::Strategy::kMostAllocated;
  } else if (type == "RequestedToCapacityRatio") {
    config->strategy = NodeResourcesFit::Strategy::kRequestedToCapacityRatio;
  } else {
    return Status::InvalidArgument(fmt::format(
        "{}.type: unsupported value \"{}\": supported values: LeastAllocated, MostAllocated, RequestedToCapacityRatio",
        kField, type));
  }
  if (strategy.contains("resources")) {
    Status s = ParseScoredResources(strategy["resources"], "args.scoringStrategy.resources", false, &config->resources);
    if (!s.ok()) return s;
  }
  if (config->resources.empty()) config->resources = DefaultScoredResources();
  if (strategy.contains("requestedToCapacityRatio") && !strategy["requestedToCapacityRatio"].is_null()) {
    Status s = ParseShape(strategy["requestedToCapacityRatio"], &config->shape);
    if (!s.ok()) return s;
  }
  if (config->strategy == NodeResourcesFit::Strategy::kRequestedToCapacityRatio && config->shape.empty()) {
    return Status::InvalidArgument(
        fmt::format("{}.requestedToCapacityRatio: required for type RequestedToCapacityRatio", kField));
  }
  return Status::Ok();
}

}  // namespace

std::vector<ClusterEvent> NodeResourcesFit::EventsToRegister() const {
  return {{EventResource::kAssignedPod, kEventDelete | kEventUpdatePodRequest},
          {EventResource::kNode, kEventAdd | kEventUpdateNodeAllocatable}};
}

PluginStatus NodeResourcesFit::PreFilter(CycleState&, const PodInfo&, const Snapshot&) const {
  return PluginStatus::Success();
}

bool NodeResourcesFit::Ignored(std::string_view scalar) const {
  if (config_.ignored_resources.empty() && config_.ignored_groups.empty()) return false;
  if (!IsExtendedResource(scalar)) return false;
  if (std::binary_search(config_.ignored_resources.begin(), config_.ignored_resources.end(), scalar)) return true;
  std::string_view group = scalar.substr(0, scalar.find('/'));
  return std::binary_search(config_.ignored_groups.begin(), config_.ignored_groups.end(), group);
}

PluginStatus NodeResourcesFit::Filter(const CycleState&, const PodInfo& pod, const NodeInfo& node) const {
  assert(node.node() != nullptr);
  const Resources& allocatable = node.node()->allocatable;
  const Resources& used = node.requested();
  const Resources& want = pod.requests;
  // The success path compares integers only; Reject() builds the reasons.
  bool fits = static_cast<int64_t>(node.pods().size()) + 1 <= allocatable.pods;
  fits = fits && (want.milli_cpu == 0 || want.milli_cpu <= allocatable.milli_cpu - used.milli_cpu);
  fits = fits && (want.memory_bytes == 0 || want.memory_bytes <= allocatable.memory_bytes - used.memory_bytes);
  fits = fits && (want.ephemeral_storage_bytes == 0 ||
                  want.ephemeral_storage_bytes <= allocatable.ephemeral_storage_bytes - used.ephemeral_storage_bytes);
  for (size_t i = 0; fits && i < want.scalars.size(); ++i) {
    const auto& [name, amount] = want.scalars[i];
    if (Ignored(name)) continue;
    fits = amount <= ScalarAmount(allocatable.scalars, name) - ScalarAmount(used.scalars, name);
  }
  if (fits) return PluginStatus::Success();
  return Reject(pod, node);
}

PluginStatus NodeResourcesFit::Reject(const PodInfo& pod, const NodeInfo& node) const {
  const Resources& allocatable = node.node()->allocatable;
  const Resources& used = node.requested();
  const Resources& want = pod.requests;
  std::vector<std::string> reasons;
  // Any request larger than the node's whole allocatable cannot be helped by preemption.
  bool unresolvable = false;
  auto check = [&](int64_t request, int64_t node_allocatable, int64_t node_used, std::string_view name) {
    if (request <= 0 || request <= node_allocatable - node_used) return;
    reasons.push_back(fmt::format("Insufficient {}", name));
    unresolvable = unresolvable || request > node_allocatable;
  };
  if (static_cast<int64_t>(node.pods().size()) + 1 > allocatable.pods) reasons.emplace_back(kReasonTooManyPods);
  check(want.milli_cpu, allocatable.milli_cpu, used.milli_cpu, "cpu");
  check(want.memory_bytes, allocatable.memory_bytes, used.memory_bytes, "memory");
  check(want.ephemeral_storage_bytes, allocatable.ephemeral_storage_bytes, used.ephemeral_storage_bytes,
        "ephemeral-storage");
  for (const auto& [name, amount] : want.scalars) {
    if (Ignored(name)) continue;
    check(amount, ScalarAmount(allocatable.scalars, name), ScalarAmount(used.scalars, name), name);
  }
  assert(!reasons.empty());
  return PluginStatus(unresolvable ? Code::kUnschedulableAndUnresolvable : Code::kUnschedulable, std::move(reasons));
}

PluginStatus NodeResourcesFit::PreScore(CycleState& state, const PodInfo& pod, std::span<const NodeInfo* const>,
                                        const Snapshot&) const {
  auto data = std::make_unique<FitScoreState>();
  data->pod_requests.reserve(config_.resources.size());
  for (const ScoredResource& r : config_.resources) data->pod_requests.push_back(PodRequestFor(pod, r, false));
  state.Set(slot(), std::move(data));
  return PluginStatus::Success();
}

// Kubernetes' leastRequestedScore / mostRequestedScore / the RequestedToCapacityRatio
// function, for one resource.
int64_t NodeResourcesFit::ResourceScore(int64_t requested, int64_t allocatable) const {
  assert(allocatable > 0);
  switch (config_.strategy) {
    case Strategy::kLeastAllocated:
      if (requested > allocatable) return 0;
      return (allocatable - requested) * kMaxNodeScore / allocatable;
    case Strategy::kMostAllocated:
      // Non-zero defaults can push requested past allocatable: count it as full.
      return std::min(requested, allocatable) * kMaxNodeScore / allocatable;
    case Strategy::kRequestedToCapacityRatio:
      if (requested > allocatable) return BrokenLinear(config_.shape, kMaxUtilization);
      return BrokenLinear(config_.shape, requested * kMaxUtilization / allocatable);
  }
  return 0;
}

int64_t NodeResourcesFit::Score(const CycleState& state, const PodInfo& pod, const NodeInfo& node,
                                PluginStatus*) const {
  const auto* data = state.Read<FitScoreState>(slot());
  int64_t weighted = 0;
  int64_t weight_sum = 0;
  for (size_t i = 0; i < config_.resources.size(); ++i) {
    const ScoredResource& r = config_.resources[i];
    // Without PreScore (not in the profile), compute the request here.
    int64_t pod_request = data != nullptr ? data->pod_requests[i] : PodRequestFor(pod, r, false);
    AllocatableRequested amounts = NodeAllocatableRequested(node, r, pod_request, false);
    if (amounts.allocatable == 0) continue;
    int64_t score = ResourceScore(amounts.requested, amounts.allocatable);
    // RequestedToCapacityRatio averages only the resources that scored above 0.
    if (config_.strategy == Strategy::kRequestedToCapacityRatio && score <= 0) continue;
    weighted += score * r.weight;
    weight_sum += r.weight;
  }
  if (weight_sum == 0) return 0;
  if (config_.strategy == Strategy::kRequestedToCapacityRatio) {
    return std::llround(static_cast<double>(weighted) / static_cast<double>(weight_sum));
  }
  return weighted / weight_sum;
}

Status NewNodeResourcesFit(const nlohmann::json& args, std::unique_ptr<Plugin>* out) {
  if (Status s = CheckArgsKeys(args, {"ignoredResources", "ignoredResourceGroups", "scoringStrategy"}); !s.ok()) {
    return s;
  }
  NodeResourcesFit::Config config;
  if (args.is_object()) {
    if (Status s = ParseStringList(args, "ignoredResources", false, &config.ignored_resources); !s.ok()) return s;
    if (Status s = ParseStringList(args, "ignoredResourceGroups", true, &config.ignored_groups); !s.ok()) return s;
    if (args.contains("scoringStrategy") && !args["scoringStrategy"].is_null()) {
      if (Status s = ParseScoringStrategy(args["scoringStrategy"], &config); !s.ok()) return s;
    }
  }
  *out = std::make_unique<NodeResourcesFit>(std::move(config));
  return Status::Ok();
}

}  // namespace ksim::scheduler
