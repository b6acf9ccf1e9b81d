// The garbage collector, namespace controller and pod garbage collector of the
// controller-manager (built-ins "garbagecollector", "namespace", "podgc"), with
// Kubernetes' semantics; docs/CONTROLLERS.md describes each.
#pragma once

#include <cstdint>
#include <memory>

#include "cluster/controllers/controller.h"

namespace ksim::controllers {

inline constexpr char kGarbageCollectorName[] = "garbagecollector";
inline constexpr char kNamespaceControllerName[] = "namespace";
inline constexpr char kPodGcName[] = "podgc";

struct GarbageCollectorStats {
  uint64_t deletes = 0;          // dependents deleted (uid precondition)
  uint64_t ref_removals = 0;     // ownerReferences taken off (orphaning, dangling refs)
  uint64_t finalizers_removed = 0;
  uint64_t owner_lookups = 0;    // live GETs of owners
  uint64_t graph_rebuilds = 0;
};

class GarbageCollector : public Controller {
 public:
  virtual const GarbageCollectorStats& stats() const = 0;
  virtual size_t graph_size() const = 0;
};

std::unique_ptr<Controller> NewGarbageCollector(ControllerContext& ctx);
std::unique_ptr<Controller> NewNamespaceController(ControllerContext& ctx);
std::unique_ptr<Controller> NewPodGcController(ControllerContext& ctx);

}  // namespace ksim::controllers
