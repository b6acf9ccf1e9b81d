#include "cluster/controllers/hpa_calc.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "cluster/api/machinery/quantity.h"

namespace ksim::controllers {
namespace {

Nanos WallOf(const google::protobuf::Timestamp& t) { return Seconds(t.seconds()) + Nanos(t.nanos()); }

const api::PodCondition* ReadyCondition(const api::Pod& pod) {
  for (const auto& c : pod.status().conditions()) {
    if (c.type() == "Ready") return &c;
  }
  return nullptr;
}

int32_t CeilRatio(double ratio, size_t pods) {
  return static_cast<int32_t>(std::ceil(ratio * static_cast<double>(pods)));
}

}  // namespace

Status PodRequestMilli(const api::Pod& pod, const std::string& resource, int64_t* out) {
  int64_t sum = 0;
  for (const auto& c : pod.spec().containers()) {
    auto it = c.resources().requests().find(resource);
    api::Quantity q;
    if (it == c.resources().requests().end() || !api::Quantity::Parse(it->second, &q).ok()) {
      return Status::InvalidArgument(
          fmt::format("missing request for {} in container {} of Pod {}", resource, c.name(), pod.metadata().name()));
    }
    sum += q.MilliValue();
  }
  *out = sum;
  return Status::Ok();
}

Status ComputeResourceReplicas(const std::vector<const api::Pod*>& pods, const PodMetrics& all_metrics,
                               const std::string& resource, int32_t current_replicas,
                               std::optional<int32_t> target_utilization, int64_t target_average_milli,
                               const HpaTuning& tuning, Nanos wall_now, ResourceProposal* out) {
  if (pods.empty()) return Status::NotFound("no pods returned by selector while calculating replica count");
  // groupPods.
  PodMetrics metrics;
  std::set<std::string> unready, missing;
  size_t ready_count = 0;
  for (const api::Pod* pod : pods) {
    const std::string& name = pod->metadata().name();
    if (pod->metadata().has_deletion_timestamp() || pod->status().phase() == "Failed") continue;  // ignored
    if (pod->status().phase() == "Pending") {
      unready.insert(name);
      continue;
    }
    auto m = all_metrics.find(name);
    if (m == all_metrics.end()) {
      missing.insert(name);
      continue;
    }
    if (resource == "cpu") {
      const api::PodCondition* ready = ReadyCondition(*pod);
      bool is_unready = false;
      if (ready == nullptr || !pod->status().has_start_time()) {
        is_unready = true;
      } else if (WallOf(pod->status().start_time()) + tuning.cpu_initialization_period > wall_now) {
        // Initializing: a sample counts once the pod is ready and a whole window has
        // passed since its last transition.
        is_unready = ready->status() == "False" ||
                     m->second.timestamp < WallOf(ready->last_transition_time()) + m->second.window;
      } else {
        // Later: ignored only if it was never ready (still in its first not-ready state).
        is_unready = ready->status() == "False" &&
                     WallOf(pod->status().start_time()) + tuning.initial_readiness_delay >
                         WallOf(ready->last_transition_time());
      }
      if (is_unready) {
        unready.insert(name);
        continue;
      }
    }
    metrics[name] = m->second;
    ++ready_count;
  }
  if (metrics.empty()) return Status::NotFound("did not receive metrics for targeted pods (pods might be unready)");

  std::map<std::string, int64_t> requests;
  if (target_utilization) {
    for (const api::Pod* pod : pods) {
      int64_t r = 0;
      if (Status s = PodRequestMilli(*pod, resource, &r); !s.ok()) return s;
      requests[pod->metadata().name()] = r;
    }
  }
  // The usage ratio (utilization / target, or average / target) over `m`.
  const auto ratio = [&](const PodMetrics& m, ResourceProposal* p) -> Status {
    int64_t total = 0, request_total = 0;
    for (const auto& [name, metric] : m) {
      if (target_utilization) {
        auto r = requests.find(name);
        if (r == requests.end()) continue;
        request_total += r->second;
      }
      total += metric.milli_value;
    }
    if (target_utilization) {
      if (request_total == 0) return Status::NotFound("no metrics returned matched known pods");
      p->utilization = static_cast<int32_t>(total * 100 / request_total);
    }
    p->average_milli = total / static_cast<int64_t>(m.size());
    return Status::Ok();
  };
  const auto usage_ratio = [&](const ResourceProposal& p) {
    return target_utilization ? static_cast<double>(p.utilization) / static_cast<double>(*target_utilization)
                              : static_cast<double>(p.average_milli) / static_cast<double>(target_average_milli);
  };
  ResourceProposal first;
  if (Status s = ratio(metrics, &first); !s.ok()) return s;
  const double r0 = usage_ratio(first);
  *out = first;
  out->replicas = current_replicas;

  const bool scale_up_with_unready = !unready.empty() && r0 > 1.0;
  if (!scale_up_with_unready && missing.empty()) {
    if (std::abs(1.0 - r0) <= tuning.tolerance) return Status::Ok();
    out->replicas = CeilRatio(r0, ready_count);
    return Status::Ok();
  }
  // Assume the worst for the direction: missing pods use their whole request (or the
  // target) on a scale-down and nothing on a scale-up; unready pods nothing.
  PodMetrics filled = metrics;
  for (const auto& name : missing) {
    int64_t v = 0;
    if (r0 < 1.0) v = target_utilization ? requests[name] : target_average_milli;
    filled[name] = PodMetric{v, Nanos(0), Nanos(0)};
  }
  if (scale_up_with_unready) {
    for (const auto& name : unready) filled[name] = PodMetric{};
  }
  ResourceProposal second;
  if (Status s = ratio(filled, &second); !s.ok()) return s;
  const double r1 = usage_ratio(second);
  if (std::abs(1.0 - r1) <= tuning.tolerance || (r0 < 1.0 && r1 > 1.0) || (r0 > 1.0 && r1 < 1.0)) {
    return Status::Ok();
  }
  const int32_t proposed = CeilRatio(r1, filled.size());
  if ((r1 < 1.0 && proposed > current_replicas) || (r1 > 1.0 && proposed < current_replicas)) return Status::Ok();
  out->replicas = proposed;
  return Status::Ok();
}

// ------------------------------------------------------------------ normalization

Behavior BehaviorWithDefaults(const api::HorizontalPodAutoscalerBehavior& b, Nanos downscale_window) {
  Behavior out;
  const auto rules = [](const api::HPAScalingRules& in, bool has, ScalingRules* r) {
    if (!has) return;
    if (in.has_stabilization_window_seconds()) r->stabilization_window_seconds = in.stabilization_window_seconds();
    if (in.has_select_policy()) r->select_policy = in.select_policy();
    if (in.policies_size() > 0) {
      r->policies.clear();
      for (const auto& p : in.policies()) r->policies.push_back({p.type(), p.value(), p.period_seconds()});
    }
  };
  out.up.stabilization_window_seconds = 0;
  out.up.policies = {{"Percent", 100, 15}, {"Pods", 4, 15}};
  rules(b.scale_up(), b.has_scale_up(), &out.up);
  // An unset scale-down window is the controller's --horizontal-pod-autoscaler-downscale-stabilization.
  out.down.stabilization_window_seconds = static_cast<int32_t>(downscale_window / Seconds(1));
  out.down.policies = {{"Percent", 100, 15}};
  rules(b.scale_down(), b.has_scale_down(), &out.down);
  return out;
}

namespace {

int32_t ChangeInPeriod(int32_t period_seconds, const std::vector<ScaleEvent>& events, Nanos now) {
  int32_t sum = 0;
  for (const auto& e : events) {
    if (!e.outdated && e.at > now - Seconds(period_seconds)) sum += e.change;
  }
  return sum;
}

void Record(std::vector<Recommendation>& recs, int32_t replicas, Nanos obsolete_before, Nanos now) {
  for (auto& r : recs) {
    if (r.at < obsolete_before) {
      r = Recommendation{replicas, now};
      return;
    }
  }
  recs.push_back(Recommendation{replicas, now});
}

}  // namespace

int32_t ScaleUpLimit(int32_t current, const std::vector<ScaleEvent>& events, const ScalingRules& rules, Nanos now) {
  if (rules.select_policy == "Disabled") return current;
  const bool min = rules.select_policy == "Min";
  int32_t result = min ? std::numeric_limits<int32_t>::max() : std::numeric_limits<int32_t>::min();
  for (const auto& p : rules.policies) {
    const int32_t start = current - ChangeInPeriod(p.period_seconds, events, now);
    const int32_t proposed = p.type == "Pods"
                                 ? start + p.value
                                 : static_cast<int32_t>(std::ceil(start * (1.0 + p.value / 100.0)));
    result = min ? std::min(result, proposed) : std::max(result, proposed);
  }
  return result;
}

int32_t ScaleDownLimit(int32_t current, const std::vector<ScaleEvent>& events, const ScalingRules& rules, Nanos now) {
  if (rules.select_policy == "Disabled") return current;
  const bool min = rules.select_policy == "Min";  // the smallest change: the highest floor
  int32_t result = min ? std::numeric_limits<int32_t>::min() : std::numeric_limits<int32_t>::max();
  for (const auto& p : rules.policies) {
    const int32_t start = current + ChangeInPeriod(p.period_seconds, events, now);
    const int32_t proposed =
        p.type == "Pods" ? start - p.value : static_cast<int32_t>(start * (1.0 - p.value / 100.0));
    result = min ? std::max(result, proposed) : std::min(result, proposed);
  }
  return result;
}

void StoreScaleEvent(std::vector<ScaleEvent>& events, const ScalingRules& rules, int32_t change, Nanos now) {
  int32_t longest = 0;
  for (const auto& p : rules.policies) longest = std::max(longest, p.period_seconds);
  for (auto& e : events) {
    if (e.at <= now - Seconds(longest)) e.outdated = true;
  }
  for (auto& e : events) {
    if (e.outdated) {
      e = ScaleEvent{change, now, false};
      return;
    }
  }
  events.push_back(ScaleEvent{change, now, false});
}

Normalized NormalizeWithBehavior(const Behavior& b, std::vector<Recommendation>& recommendations,
                                 const std::vector<ScaleEvent>& up_events, const std::vector<ScaleEvent>& down_events,
                                 int32_t current, int32_t proposed, int32_t min_replicas, int32_t max_replicas,
                                 Nanos now) {
  Normalized n;
  // Stabilize: scaling up takes the lowest recommendation of the up window, scaling down
  // the highest of the down window.
  const bool up = proposed >= current;
  const Nanos window = Seconds(up ? b.up.stabilization_window_seconds : b.down.stabilization_window_seconds);
  const Nanos longest =
      Seconds(std::max(b.up.stabilization_window_seconds, b.down.stabilization_window_seconds));
  int32_t stabilized = proposed;
  for (const auto& r : recommendations) {
    if (r.at > now - window) stabilized = up ? std::min(stabilized, r.replicas) : std::max(stabilized, r.replicas);
  }
  Record(recommendations, proposed, now - longest, now);
  if (stabilized != proposed) {
    n.able_reason = up ? "ScaleUpStabilized" : "ScaleDownStabilized";
    n.able_message = up ? "recent recommendations were lower than current one, applying the lowest recent recommendation"
                        : "recent recommendations were higher than current one, applying the highest recent recommendation";
  } else {
    n.able_reason = "ReadyForNewScale";
    n.able_message = "recommended size matches current size";
  }
  // Rate limits and bounds.
  n.replicas = stabilized;
  n.limit_reason = "DesiredWithinRange";
  n.limit_message = "the desired count is within the acceptable range";
  if (stabilized > current) {
    const int32_t limit = std::max(ScaleUpLimit(current, up_events, b.up, now), current);
    int32_t allowed = max_replicas;
    std::string reason = "TooManyReplicas", message = "the desired replica count is more than the maximum replica count";
    if (allowed > limit) {
      allowed = limit;
      reason = "ScaleUpLimit";
      message = "the desired replica count is increasing faster than the maximum scale rate";
    }
    if (stabilized > allowed) {
      n.replicas = allowed;
      n.limit_reason = reason;
      n.limit_message = message;
    }
  } else if (stabilized < current) {
    const int32_t limit = std::min(ScaleDownLimit(current, down_events, b.down, now), current);
    int32_t allowed = min_replicas;
    std::string reason = "TooFewReplicas", message = "the desired replica count is less than the minimum replica count";
    if (allowed < limit) {
      allowed = limit;
      reason = "ScaleDownLimit";
      message = "the desired replica count is decreasing faster than the maximum scale rate";
    }
    if (stabilized < allowed) {
      n.replicas = allowed;
      n.limit_reason = reason;
      n.limit_message = message;
    }
  }
  n.limited = n.replicas != stabilized;
  return n;
}

Normalized NormalizeLegacy(std::vector<Recommendation>& recommendations, Nanos downscale_window, int32_t current,
                           int32_t proposed, int32_t min_replicas, int32_t max_replicas, Nanos now) {
  Normalized n;
  int32_t stabilized = proposed;
  for (const auto& r : recommendations) {
    if (r.at >= now - downscale_window) stabilized = std::max(stabilized, r.replicas);
  }
  Record(recommendations, proposed, now - downscale_window, now);
  if (stabilized != proposed) {
    n.able_reason = "ScaleDownStabilized";
    n.able_message = "recent recommendations were higher than current one, applying the highest recent recommendation";
  } else {
    n.able_reason = "ReadyForNewScale";
    n.able_message = "recommended size matches current size";
  }
  const int32_t scale_up_limit = std::max(2 * current, 4);
  int32_t allowed_max = max_replicas;
  std::string reason = "TooManyReplicas", message = "the desired replica count is more than the maximum replica count";
  if (max_replicas > scale_up_limit) {
    allowed_max = scale_up_limit;
    reason = "ScaleUpLimit";
    message = "the desired replica count is increasing faster than the maximum scale rate";
  }
  n.replicas = stabilized;
  n.limit_reason = "DesiredWithinRange";
  n.limit_message = "the desired count is within the acceptable range";
  if (stabilized < min_replicas) {
    n.replicas = min_replicas;
    n.limit_reason = "TooFewReplicas";
    n.limit_message = "the desired replica count is less than the minimum replica count";
  } else if (stabilized > allowed_max) {
    n.replicas = allowed_max;
    n.limit_reason = reason;
    n.limit_message = message;
  }
  n.limited = n.replicas != stabilized;
  return n;
}

}  // namespace ksim::controllers
