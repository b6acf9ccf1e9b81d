// Resource amounts as the scheduler counts them: integers in the units Kubernetes' scheduler
// uses (milli-CPU, bytes, pod count, whole units of extended resources), so that fitting a
// pod on a node is integer arithmetic and never parses a quantity on the hot path.
#pragma once

#include <google/protobuf/map.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster/env/status.h"

namespace ksim::scheduler {

// Kubernetes' defaults for a container that requests no cpu or memory, used only where the
// scheduler needs a non-zero figure to spread pods (scoring), never for fitting.
inline constexpr int64_t kDefaultMilliCpuRequest = 100;
inline constexpr int64_t kDefaultMemoryRequestBytes = 200 * 1024 * 1024;

struct Resources {
  int64_t milli_cpu = 0;
  int64_t memory_bytes = 0;
  int64_t ephemeral_storage_bytes = 0;
  // For allocatable: how many pods the node takes. For requests: not used (a pod counts 1).
  int64_t pods = 0;
  // Extended and hugepages resources ("example.com/gpu", "hugepages-2Mi"), sorted by name,
  // no duplicates, no zero amounts. Units: Quantity::Value() (hugepages in bytes).
  std::vector<std::pair<std::string, int64_t>> scalars;

  // The amount of a named resource: "cpu" in milli-units, "memory" and
  // "ephemeral-storage" in bytes, "pods", or a scalar (0 when absent).
  int64_t Get(std::string_view name) const;
  // REQUIRES: name is not "cpu"/"memory"/"ephemeral-storage"/"pods".
  void AddScalar(std::string_view name, int64_t amount);

  void Add(const Resources& other);
  void Sub(const Resources& other);
  // Component-wise maximum (init containers against the sum of app containers).
  void SetMax(const Resources& other);
  bool IsZero() const;

  // Parses a Kubernetes resource list (`requests`, `allocatable`). Names other than cpu,
  // memory, ephemeral-storage and pods are scalars. `field` names the list in errors, e.g.
  // "spec.containers[0].resources.requests".
  static Status FromResourceList(const google::protobuf::Map<std::string, std::string>& list,
                                 std::string_view field, Resources* out);

  friend bool operator==(const Resources&, const Resources&) = default;
};

// "cpu=250m memory=64Mi pods=1 example.com/gpu=1": for explanations and test failures.
std::string ResourcesString(const Resources& r);

}  // namespace ksim::scheduler
