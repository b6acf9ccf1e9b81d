// PluginRegistry::Default(): every in-tree plugin under Kubernetes' name.
#include "cluster/scheduler/framework/framework.h"

namespace ksim::scheduler {

const PluginRegistry& PluginRegistry::Default() {
  static const PluginRegistry* registry = [] {
    auto* r = new PluginRegistry();
    // Registrations are added as the plugins land.
    return r;
  }();
  return *registry;
}

}  // namespace ksim::scheduler
