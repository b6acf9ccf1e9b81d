// The HorizontalPodAutoscaler's arithmetic, pure functions of their inputs (Kubernetes'
// pkg/controller/podautoscaler replica_calculator.go and the normalization in
// horizontal.go): the replica count a Resource metric proposes, the stabilization window
// over past recommendations and the scaling policies over past scale events.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cluster/api/autoscaling.pb.h"
#include "cluster/api/core.pb.h"
#include "cluster/api/machinery/labels.h"
#include "cluster/env/env.h"

namespace ksim::controllers {

// One pod's usage of a resource, summed over its containers, in milli-units (millicores
// for cpu, milli-bytes for memory, as Kubernetes' MilliValue), sampled over `window`
// ending at the wall time `timestamp`.
struct PodMetric {
  int64_t milli_value = 0;
  Nanos timestamp{0};
  Nanos window{0};
};
using PodMetrics = std::map<std::string, PodMetric>;  // pod name -> metric

// Where the controller reads pod usage (metrics.k8s.io in Kubernetes). Asynchronous: the
// real source asks the apiserver; a test's fake answers at once.
class PodMetricsSource {
 public:
  virtual ~PodMetricsSource() = default;
  // Usage of `resource` ("cpu", "memory") of the pods of `ns` matching `selector`.
  virtual void GetResourceMetric(const std::string& resource, const std::string& ns, const api::LabelMatcher& selector,
                                 std::function<void(Status, PodMetrics)> done) = 0;
};

struct HpaTuning {
  double tolerance = 0.1;
  Nanos cpu_initialization_period = Seconds(300);
  Nanos initial_readiness_delay = Seconds(30);
};

// What one Resource metric proposes.
struct ResourceProposal {
  int32_t replicas = 0;
  int32_t utilization = 0;        // percent of request (Utilization targets)
  int64_t average_milli = 0;      // mean usage per pod with a metric, milli-units
};

// Kubernetes' GetResourceReplicas (target_utilization set) or GetRawResourceReplicas
// (target_average_milli): pods grouped into ready, unready (Pending; for cpu, not Ready
// or within the initialization period as Kubernetes' groupPods), missing (no metric) and
// ignored (deleting, Failed); missing pods count as 100% of request (the target) on a
// scale-down and 0 on a scale-up, unready pods as 0 on a scale-up; within the tolerance,
// or when those assumptions flip the direction, the current count stays. `wall_now` is
// compared with pod start and Ready transition times.
Status ComputeResourceReplicas(const std::vector<const api::Pod*>& pods, const PodMetrics& metrics,
                               const std::string& resource, int32_t current_replicas,
                               std::optional<int32_t> target_utilization, int64_t target_average_milli,
                               const HpaTuning& tuning, Nanos wall_now, ResourceProposal* out);

// The sum of a pod's containers' requests of `resource` (milli-units); an error names the
// first container without one ("missing request for cpu in container c of Pod p").
Status PodRequestMilli(const api::Pod& pod, const std::string& resource, int64_t* out);

// ------------------------------------------------------------------ normalization

struct Recommendation {
  int32_t replicas = 0;
  Nanos at{0};
};
struct ScaleEvent {
  int32_t change = 0;  // replicas added (scale-up history) or removed (scale-down)
  Nanos at{0};
  bool outdated = false;
};

struct ScalingPolicy {
  std::string type;  // "Pods" or "Percent"
  int32_t value = 0;
  int32_t period_seconds = 0;
};
struct ScalingRules {
  int32_t stabilization_window_seconds = 0;
  std::string select_policy = "Max";  // Max, Min, Disabled
  std::vector<ScalingPolicy> policies;
};
// The behavior with Kubernetes' defaults filled in (scaleUp: no window, max of 4 pods and
// 100% per 15 s; scaleDown: `downscale_window`, 100% per 15 s).
struct Behavior {
  ScalingRules up;
  ScalingRules down;
};
Behavior BehaviorWithDefaults(const api::HorizontalPodAutoscalerBehavior& b, Nanos downscale_window);

// The outcome: the replicas to set and the conditions it implies.
struct Normalized {
  int32_t replicas = 0;
  std::string able_reason, able_message;      // AbleToScale True
  bool limited = false;                       // ScalingLimited
  std::string limit_reason, limit_message;
};

// Kubernetes' normalizeDesiredReplicasWithBehaviors: stabilize over `recommendations`
// (the proposal is recorded there at `now`, replacing an obsolete sample), then limit by
// the policies over `up_events` / `down_events` and clamp to [min, max].
Normalized NormalizeWithBehavior(const Behavior& b, std::vector<Recommendation>& recommendations,
                                 const std::vector<ScaleEvent>& up_events, const std::vector<ScaleEvent>& down_events,
                                 int32_t current, int32_t proposed, int32_t min_replicas, int32_t max_replicas, Nanos now);
// Kubernetes' normalizeDesiredReplicas (no behavior set): the highest recommendation of
// `downscale_window`, then at most max(2 x current, 4), clamped to [min, max].
Normalized NormalizeLegacy(std::vector<Recommendation>& recommendations, Nanos downscale_window, int32_t current,
                           int32_t proposed, int32_t min_replicas, int32_t max_replicas, Nanos now);

// The limits the policies allow from `current` given the events of their periods.
int32_t ScaleUpLimit(int32_t current, const std::vector<ScaleEvent>& events, const ScalingRules& rules, Nanos now);
int32_t ScaleDownLimit(int32_t current, const std::vector<ScaleEvent>& events, const ScalingRules& rules, Nanos now);
// Records a scale by `change` replicas, reusing a slot older than the longest period.
void StoreScaleEvent(std::vector<ScaleEvent>& events, const ScalingRules& rules, int32_t change, Nanos now);

}  // namespace ksim::controllers
