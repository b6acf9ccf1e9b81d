#include "cluster/scheduler/plugins/node_plugin_util.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>

namespace ksim::scheduler {

Status CheckArgsKeys(const nlohmann::json& args, std::initializer_list<std::string_view> allowed) {
  if (args.is_null()) return Status::Ok();
  if (!args.is_object()) return Status::InvalidArgument("args: must be an object");
  for (const auto& [key, value] : args.items()) {
    if (key == "apiVersion" || key == "kind") continue;
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return Status::InvalidArgument(fmt::format("args.{}: unknown field", key));
    }
  }
  return Status::Ok();
}

void DefaultNormalizeScore(int64_t max_score, bool reverse, std::span<int64_t> scores) {
  int64_t highest = 0;
  for (int64_t score : scores) highest = std::max(highest, score);
  if (highest == 0) {
    if (reverse) std::fill(scores.begin(), scores.end(), max_score);
    return;
  }
  for (int64_t& score : scores) {
    score = max_score * score / highest;
    if (reverse) score = max_score - score;
  }
}

ScoredResource MakeScoredResource(std::string name, int64_t weight) {
  ScoredResource r;
  if (name == "cpu") {
    r.kind = ScoredResource::Kind::kCpu;
  } else if (name == "memory") {
    r.kind = ScoredResource::Kind::kMemory;
  } else if (name == "ephemeral-storage") {
    r.kind = ScoredResource::Kind::kEphemeralStorage;
  } else if (name == "pods") {
    r.kind = ScoredResource::Kind::kPods;
  } else {
    r.kind = ScoredResource::Kind::kScalar;
  }
  r.name = std::move(name);
  r.weight = weight;
  return r;
}

std::vector<ScoredResource> DefaultScoredResources() {
  std::vector<ScoredResource> resources;
  resources.push_back(MakeScoredResource("cpu", 1));
  resources.push_back(MakeScoredResource("memory", 1));
  return resources;
}

Status ParseScoredResources(const nlohmann::json& list, std::string_view field, bool weight_must_be_one,
                            std::vector<ScoredResource>* out) {
  out->clear();
  if (list.is_null()) return Status::Ok();
  if (!list.is_array()) return Status::InvalidArgument(fmt::format("{}: must be a list", field));
  for (size_t i = 0; i < list.size(); ++i) {
    const nlohmann::json& item = list[i];
    const std::string at = fmt::format("{}[{}]", field, i);
    if (!item.is_object()) return Status::InvalidArgument(at + ": must be an object");
    for (const auto& [key, value] : item.items()) {
      if (key != "name" && key != "weight")
        return Status::InvalidArgument(fmt::format("{}.{}: unknown field", at, key));
    }
    if (!item.contains("name") || !item["name"].is_string() || item["name"].get<std::string>().empty()) {
      return Status::InvalidArgument(at + ".name: required, a resource name");
    }
    std::string name = item["name"].get<std::string>();
    int64_t weight = 0;
    if (item.contains("weight")) {
      if (!item["weight"].is_number_integer()) return Status::InvalidArgument(at + ".weight: must be an integer");
      weight = item["weight"].get<int64_t>();
    }
    if (weight == 0) weight = 1;  // Kubernetes' defaulting: unset or 0 means 1
    if (weight_must_be_one) {
      if (weight != 1) return Status::InvalidArgument(fmt::format("{}.weight: {} must be 1", at, weight));
      for (const auto& seen : *out) {
        if (seen.name == name) return Status::InvalidArgument(fmt::format("{}.name: duplicate \"{}\"", at, name));
      }
    } else if (weight < 1 || weight > 100) {
      return Status::InvalidArgument(
          fmt::format("{}.weight: resource weight of {} not in valid range (0, 100]: {}", at, name, weight));
    }
    out->push_back(MakeScoredResource(std::move(name), weight));
  }
  return Status::Ok();
}

int64_t ScalarAmount(const std::vector<std::pair<std::string, int64_t>>& scalars, std::string_view name) {
  auto it = std::lower_bound(scalars.begin(), scalars.end(), name,
                             [](const auto& entry, std::string_view n) { return entry.first < n; });
  return it != scalars.end() && it->first == name ? it->second : 0;
}

int64_t PodRequestFor(const PodInfo& pod, const ScoredResource& r, bool use_requested) {
  switch (r.kind) {
    case ScoredResource::Kind::kCpu:
      return use_requested ? pod.requests.milli_cpu : pod.non_zero_requests.milli_cpu;
    case ScoredResource::Kind::kMemory:
      return use_requested ? pod.requests.memory_bytes : pod.non_zero_requests.memory_bytes;
    case ScoredResource::Kind::kEphemeralStorage:
      return pod.requests.ephemeral_storage_bytes;
    case ScoredResource::Kind::kPods:
      return 0;
    case ScoredResource::Kind::kScalar:
      return ScalarAmount(pod.requests.scalars, r.name);
  }
  return 0;
}

AllocatableRequested NodeAllocatableRequested(const NodeInfo& node, const ScoredResource& r, int64_t pod_request,
                                              bool use_requested) {
  assert(node.node() != nullptr);
  const Resources& allocatable = node.node()->allocatable;
  const Resources& requested = use_requested ? node.requested() : node.non_zero_requested();
  switch (r.kind) {
    case ScoredResource::Kind::kCpu:
      return {allocatable.milli_cpu, requested.milli_cpu + pod_request};
    case ScoredResource::Kind::kMemory:
      return {allocatable.memory_bytes, requested.memory_bytes + pod_request};
    case ScoredResource::Kind::kEphemeralStorage:
      // Kubernetes has no non-zero default for ephemeral storage: always the real requests.
      return {allocatable.ephemeral_storage_bytes, node.requested().ephemeral_storage_bytes + pod_request};
    case ScoredResource::Kind::kPods:
      // Kubernetes looks "pods" up among scalar resources, where it never is: not scored.
      return {};
    case ScoredResource::Kind::kScalar:
      // A scalar the pod does not request is left out, so nodes without it are not favoured.
      if (pod_request == 0) return {};
      return {ScalarAmount(allocatable.scalars, r.name), ScalarAmount(node.requested().scalars, r.name) + pod_request};
  }
  return {};
}

}  // namespace ksim::scheduler
