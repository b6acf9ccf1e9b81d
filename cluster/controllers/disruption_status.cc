// The disruption controller's arithmetic (Kubernetes' getExpectedPodCount,
// buildDisruptedPodMap, countHealthyPods, UpdateDisruptionAllowedCondition), apart from
// the controller's plumbing so tests can pin it.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <set>

#include "cluster/controllers/disruption.h"
#include "cluster/controllers/replica_set.h"

namespace ksim::controllers {

Status ScaledValue(const api::IntOrString& value, int32_t total, bool round_up, int32_t* out) {
  if (value.value_case() != api::IntOrString::kStrVal) {
    *out = value.int_val();
    return Status::Ok();
  }
  const std::string& s = value.str_val();
  int64_t percent = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), percent);
  if (s.size() < 2 || s.back() != '%' || ec != std::errc() || end != s.data() + s.size() - 1) {
    return Status::InvalidArgument(fmt::format("invalid value for IntOrString: invalid value \"{}\"", s));
  }
  const int64_t scaled = percent * total;
  *out = static_cast<int32_t>(round_up ? (scaled + 99) / 100 : scaled / 100);
  return Status::Ok();
}

namespace {

// Kubernetes' getExpectedScale: the sum of the desired replicas of the controllers of the
// pods, each controller once. Pods without a controllerRef are left out (and reported).
Status ExpectedScale(const DisruptionInputs& in, DisruptionResult* r, int32_t* expected) {
  std::map<std::string, int32_t> scale_by_uid;
  std::set<std::string> refs_seen;
  for (const api::Pod* pod : in.pods) {
    const api::OwnerReference* ref = ControllerRef(pod->metadata());
    if (ref == nullptr) {
      r->unmanaged.push_back(pod->metadata().name());
      continue;
    }
    if (!refs_seen.insert(ref->uid()).second) continue;
    std::optional<ControllerScale> found = in.find_scale(pod->metadata().namespace_(), *ref);
    if (!found) return Status::NotFound(fmt::format("found no controllers for pod \"{}\"", pod->metadata().name()));
    scale_by_uid[found->uid] = found->replicas;
  }
  *expected = 0;
  for (const auto& [uid, n] : scale_by_uid) *expected += n;
  return Status::Ok();
}

}  // namespace

DisruptionResult ComputeDisruption(const DisruptionInputs& in) {
  DisruptionResult r;
  const api::PodDisruptionBudgetSpec& spec = in.pdb->spec();
  // Expected pods and desired healthy (getExpectedPodCount).
  if (spec.has_max_unavailable()) {
    if (r.status = ExpectedScale(in, &r, &r.expected); !r.status.ok()) return r;
    int32_t max_unavailable = 0;
    if (r.status = ScaledValue(spec.max_unavailable(), r.expected, true, &max_unavailable); !r.status.ok()) return r;
    r.desired_healthy = std::max(0, r.expected - max_unavailable);
  } else if (spec.has_min_available()) {
    if (spec.min_available().value_case() != api::IntOrString::kStrVal) {
      r.desired_healthy = spec.min_available().int_val();
      r.expected = static_cast<int32_t>(in.pods.size());
    } else {
      if (r.status = ExpectedScale(in, &r, &r.expected); !r.status.ok()) return r;
      if (r.status = ScaledValue(spec.min_available(), r.expected, true, &r.desired_healthy); !r.status.ok()) return r;
    }
  }
  // disruptedPods: entries for pods that exist and are not yet terminating, for at most
  // kDisruptedPodTimeout after the eviction (buildDisruptedPodMap); the rest are dropped.
  const int64_t timeout = kDisruptedPodTimeout.count() / 1'000'000'000;
  for (const api::Pod* pod : in.pods) {
    if (pod->metadata().has_deletion_timestamp()) continue;
    auto it = in.pdb->status().disrupted_pods().find(pod->metadata().name());
    if (it == in.pdb->status().disrupted_pods().end()) continue;
    const int64_t expires = it->second.seconds() + timeout;
    if (expires < in.now_seconds) continue;  // Kubernetes logs "expected to be deleted"
    r.disrupted_pods[pod->metadata().name()] = it->second;
    if (r.recheck_seconds == 0 || expires < r.recheck_seconds) r.recheck_seconds = expires;
  }
  // currentHealthy: Ready, not terminating, not recently evicted (countHealthyPods).
  for (const api::Pod* pod : in.pods) {
    if (pod->metadata().has_deletion_timestamp()) continue;
    if (r.disrupted_pods.count(pod->metadata().name()) != 0) continue;
    if (PodReady(*pod)) ++r.current_healthy;
  }
  r.disruptions_allowed = r.current_healthy - r.desired_healthy;
  if (r.expected <= 0 || r.disruptions_allowed <= 0) r.disruptions_allowed = 0;
  return r;
}

void SetDisruptionAllowedCondition(api::PodDisruptionBudgetStatus* status, const google::protobuf::Timestamp& now) {
  api::Condition* cond = nullptr;
  for (api::Condition& c : *status->mutable_conditions()) {
    if (c.type() == "DisruptionAllowed") cond = &c;
  }
  if (cond == nullptr) {
    cond = status->add_conditions();
    cond->set_type("DisruptionAllowed");
  }
  const bool allowed = status->disruptions_allowed() > 0;
  const std::string want = allowed ? "True" : "False";
  if (cond->status() != want) *cond->mutable_last_transition_time() = now;
  cond->set_status(want);
  cond->set_reason(allowed ? "SufficientPods" : "InsufficientPods");
  cond->set_message("");
  cond->set_observed_generation(status->observed_generation());
}

}  // namespace ksim::controllers
