// PluginRegistry::Default(): every in-tree plugin under Kubernetes' name.
#include "cluster/scheduler/framework/framework.h"
#include "cluster/scheduler/plugins/default_preemption.h"
#include "cluster/scheduler/plugins/image_locality.h"
#include "cluster/scheduler/plugins/inter_pod_affinity.h"
#include "cluster/scheduler/plugins/node_affinity.h"
#include "cluster/scheduler/plugins/node_name.h"
#include "cluster/scheduler/plugins/node_ports.h"
#include "cluster/scheduler/plugins/node_resources_balanced_allocation.h"
#include "cluster/scheduler/plugins/node_resources_fit.h"
#include "cluster/scheduler/plugins/node_unschedulable.h"
#include "cluster/scheduler/plugins/pod_topology_spread.h"
#include "cluster/scheduler/plugins/taint_toleration.h"

namespace ksim::scheduler {

const PluginRegistry& PluginRegistry::Default() {
  static const PluginRegistry registry = [] {
    PluginRegistry r;
    r.Register("DefaultPreemption", NewDefaultPreemption);
    r.Register("ImageLocality", NewImageLocality);
    r.Register("InterPodAffinity", NewInterPodAffinity);
    r.Register("NodeAffinity", NewNodeAffinity);
    r.Register("NodeName", NewNodeName);
    r.Register("NodePorts", NewNodePorts);
    r.Register("NodeResourcesBalancedAllocation", NewNodeResourcesBalancedAllocation);
    r.Register("NodeResourcesFit", NewNodeResourcesFit);
    r.Register("NodeUnschedulable", NewNodeUnschedulable);
    r.Register("PodTopologySpread", NewPodTopologySpread);
    r.Register("TaintToleration", NewTaintToleration);
    return r;
  }();
  return registry;
}

}  // namespace ksim::scheduler
