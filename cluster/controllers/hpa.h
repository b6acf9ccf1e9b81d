// The HorizontalPodAutoscaler controller (autoscaling/v2), Kubernetes' podautoscaler
// semantics: every --horizontal-pod-autoscaler-sync-period each HPA's target is read
// through its /scale subresource, Resource metrics (cpu, memory; Utilization or
// AverageValue) propose replica counts (hpa_calc.h), the highest wins, the behavior's
// stabilization window and policies (or the legacy rules without a behavior) normalize it
// into [minReplicas, maxReplicas], and the result is written through /scale. Status
// (replicas, metrics, conditions AbleToScale / ScalingActive / ScalingLimited) and Events
// as Kubernetes.
#pragma once

#include <memory>

#include "cluster/controllers/controller.h"
#include "cluster/controllers/hpa_calc.h"

namespace ksim::controllers {

inline constexpr char kHpaControllerName[] = "horizontalpodautoscaling";

// Reads pod usage from options.hpa_metrics_source, else NewApiPodMetricsSource.
std::unique_ptr<Controller> NewHpaController(ControllerContext& ctx);

// The cluster's metrics source (hpa_metrics.cc): metrics.k8s.io PodMetrics through the
// controller-manager's client.
std::unique_ptr<PodMetricsSource> NewApiPodMetricsSource(ControllerContext& ctx);

// What that source makes of a PodMetrics list body (apiserver::ObjectList): each pod's
// `resource` summed over its containers, in milli-units, with the sample's timestamp and
// window. A pod with a container lacking the resource, or with a window that is not a Go
// duration, is left out; NotFound if no pod is left, Corruption if the body is no list.
Status PodMetricsFromList(const std::string& resource, const std::string& list_body, PodMetrics* out);

}  // namespace ksim::controllers
