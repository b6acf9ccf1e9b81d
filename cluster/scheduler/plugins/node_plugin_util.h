// Pieces the node plugins share: checking pluginConfig args, Kubernetes' default score
// normalization, and the resource-allocation arithmetic behind NodeResourcesFit's and
// NodeResourcesBalancedAllocation's scores (Kubernetes' noderesources/resource_allocation.go
// in meaning).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/env/status.h"
#include "cluster/scheduler/framework/types.h"

namespace ksim::scheduler {

// OK when `args` is null or an object whose keys are all in `allowed`; apiVersion and kind
// are always allowed (pluginConfig args carry them). Errors name the field
// ("args.foo: unknown field").
Status CheckArgsKeys(const nlohmann::json& args, std::initializer_list<std::string_view> allowed);

// Kubernetes' DefaultNormalizeScore: each score becomes max_score * score / highest (integer
// division), then max_score - that when `reverse`. When every score is 0 they stay 0, or
// all become max_score when `reverse`.
void DefaultNormalizeScore(int64_t max_score, bool reverse, std::span<int64_t> scores);

// A resource named in scoring args, resolved once so scoring never compares names except
// for extended resources.
struct ScoredResource {
  enum class Kind { kCpu, kMemory, kEphemeralStorage, kPods, kScalar };
  Kind kind = Kind::kCpu;
  std::string name;
  int64_t weight = 1;
};

ScoredResource MakeScoredResource(std::string name, int64_t weight);

// cpu and memory with weight 1 each: Kubernetes' default for both resource scorers.
std::vector<ScoredResource> DefaultScoredResources();

// Parses a JSON list of {"name": ..., "weight": ...} found at `field` (e.g.
// "args.scoringStrategy.resources"). A missing or 0 weight means 1 (Kubernetes'
// defaulting); weights must be in 1..100, or exactly 1 with `weight_must_be_one`, where
// names must also be unique (NodeResourcesBalancedAllocationArgs' rules).
Status ParseScoredResources(const nlohmann::json& list, std::string_view field, bool weight_must_be_one,
                            std::vector<ScoredResource>* out);

// The pod's request of `r`. Without `use_requested`, cpu and memory count Kubernetes'
// defaults for containers that request none (PodInfo::non_zero_requests).
int64_t PodRequestFor(const PodInfo& pod, const ScoredResource& r, bool use_requested);

// Kubernetes' calculateResourceAllocatableRequest: the node's allocatable amount of `r` and
// what would be requested on it with the pod. Allocatable 0 leaves the resource out of the
// score: a scalar the pod does not request, a resource the node lacks, "pods".
struct AllocatableRequested {
  int64_t allocatable = 0;
  int64_t requested = 0;
};
AllocatableRequested NodeAllocatableRequested(const NodeInfo& node, const ScoredResource& r, int64_t pod_request,
                                              bool use_requested);

// The amount of scalar resource `name` in a sorted scalar list (0 when absent).
int64_t ScalarAmount(const std::vector<std::pair<std::string, int64_t>>& scalars, std::string_view name);

}  // namespace ksim::scheduler
