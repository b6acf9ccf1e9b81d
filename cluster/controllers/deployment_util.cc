// Kubernetes' deployment util: template hash, fenceposts, annotations, conditions, status.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <map>
#include <set>
#include <tuple>

#include "cluster/controllers/deployment.h"
#include "cluster/env/wire.h"

namespace ksim::controllers {

using namespace deployment_internal;

std::string TemplateHash(const api::PodTemplateSpec& tmpl, std::optional<int32_t> collision_count) {
  std::string bytes = SerializeDeterministic(tmpl);
  if (collision_count) bytes += std::to_string(*collision_count);
  uint32_t h = 2166136261u;  // FNV-1a 32
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 16777619u;
  }
  // rand.SafeEncodeString: each character of the decimal form through this alphabet.
  static constexpr char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  std::string out = std::to_string(h);
  for (char& c : out) c = kAlphabet[static_cast<unsigned char>(c) % (sizeof(kAlphabet) - 1)];
  return out;
}

bool TemplatesEqualIgnoringHash(const api::PodTemplateSpec& a, const api::PodTemplateSpec& b) {
  api::PodTemplateSpec x = a, y = b;
  x.mutable_metadata()->mutable_labels()->erase(kPodTemplateHashLabel);
  y.mutable_metadata()->mutable_labels()->erase(kPodTemplateHashLabel);
  return SerializeDeterministic(x) == SerializeDeterministic(y);
}

int32_t ScaledValue(const api::IntOrString& v, int32_t total, bool round_up) {
  if (v.value_case() == api::IntOrString::kIntVal) return v.int_val();
  if (v.value_case() != api::IntOrString::kStrVal) return 0;
  std::string s = v.str_val();
  if (!s.empty() && s.back() == '%') s.pop_back();
  int64_t pct = 0;
  if (std::from_chars(s.data(), s.data() + s.size(), pct).ec != std::errc()) return 0;
  const int64_t num = pct * total;
  return static_cast<int32_t>(round_up ? (num + 99) / 100 : num / 100);
}

Fenceposts ResolveFenceposts(const api::IntOrString& max_surge, const api::IntOrString& max_unavailable,
                             int32_t desired) {
  Fenceposts f{ScaledValue(max_surge, desired, true), ScaledValue(max_unavailable, desired, false)};
  // Validation forbids both 0; rounding can still get there (25% of 1): keep moving.
  if (f.surge == 0 && f.unavailable == 0) f.unavailable = 1;
  return f;
}

namespace {
bool Rolling(const api::Deployment& d) { return d.spec().strategy().type() != "Recreate"; }
Fenceposts FencepostsOf(const api::Deployment& d) {
  const auto& ru = d.spec().strategy().rolling_update();
  return ResolveFenceposts(ru.max_surge(), ru.max_unavailable(), Replicas(d));
}
}  // namespace

int32_t MaxSurge(const api::Deployment& d) { return Rolling(d) ? FencepostsOf(d).surge : 0; }

int32_t MaxUnavailable(const api::Deployment& d) {
  if (!Rolling(d) || Replicas(d) == 0) return 0;
  return std::min(FencepostsOf(d).unavailable, Replicas(d));
}

int64_t Revision(const google::protobuf::Message& obj) {
  const auto& ann = api::GetMeta(obj)->annotations();
  auto it = ann.find(kRevisionAnnotation);
  if (it == ann.end()) return 0;
  int64_t v = 0;
  if (std::from_chars(it->second.data(), it->second.data() + it->second.size(), v).ec != std::errc()) return 0;
  return v;
}

namespace deployment_internal {

int32_t Replicas(const api::ReplicaSet& rs) { return rs.spec().has_replicas() ? rs.spec().replicas() : 1; }
int32_t Replicas(const api::Deployment& d) { return d.spec().has_replicas() ? d.spec().replicas() : 1; }

bool HasProgressDeadline(const api::Deployment& d) {
  return d.spec().has_progress_deadline_seconds() &&
         d.spec().progress_deadline_seconds() != std::numeric_limits<int32_t>::max();
}

const api::DeploymentCondition* GetCondition(const api::DeploymentStatus& s, const std::string& type) {
  for (const auto& c : s.conditions()) {
    if (c.type() == type) return &c;
  }
  return nullptr;
}

void RemoveCondition(api::DeploymentStatus& s, const std::string& type) {
  auto* conds = s.mutable_conditions();
  for (int i = conds->size() - 1; i >= 0; --i) {
    if (conds->Get(i).type() == type) conds->DeleteSubrange(i, 1);
  }
}

// Same status and reason: nothing changes (not even the message), as Kubernetes.
void SetCondition(api::DeploymentStatus& s, api::DeploymentCondition c) {
  if (const auto* cur = GetCondition(s, c.type())) {
    if (cur->status() == c.status() && cur->reason() == c.reason()) return;
    if (cur->status() == c.status()) *c.mutable_last_transition_time() = cur->last_transition_time();
  }
  RemoveCondition(s, c.type());
  *s.add_conditions() = std::move(c);
}

api::DeploymentCondition NewCondition(const std::string& type, const std::string& status, const std::string& reason,
                                      const std::string& message, int64_t now_s) {
  api::DeploymentCondition c;
  c.set_type(type);
  c.set_status(status);
  c.set_reason(reason);
  c.set_message(message);
  c.mutable_last_update_time()->set_seconds(now_s);
  c.mutable_last_transition_time()->set_seconds(now_s);
  return c;
}

std::optional<int32_t> IntAnnotation(const api::ReplicaSet& rs, const char* key) {
  const auto& ann = rs.metadata().annotations();
  auto it = ann.find(key);
  if (it == ann.end()) return std::nullopt;
  int32_t v = 0;
  if (std::from_chars(it->second.data(), it->second.data() + it->second.size(), v).ec != std::errc()) {
    return std::nullopt;
  }
  return v;
}

bool ReplicasAnnotationsNeedUpdate(const api::ReplicaSet& rs, int32_t desired, int32_t max) {
  return IntAnnotation(rs, kDesiredReplicasAnnotation) != desired || IntAnnotation(rs, kMaxReplicasAnnotation) != max;
}

bool SetReplicasAnnotations(api::ReplicaSet& rs, int32_t desired, int32_t max) {
  if (!ReplicasAnnotationsNeedUpdate(rs, desired, max)) return false;
  auto& ann = *rs.mutable_metadata()->mutable_annotations();
  ann[kDesiredReplicasAnnotation] = std::to_string(desired);
  ann[kMaxReplicasAnnotation] = std::to_string(max);
  return true;
}

bool SetNewReplicaSetAnnotations(const api::Deployment& d, api::ReplicaSet& rs, int64_t revision, bool exists) {
  static const std::set<std::string> kSkip = {kRevisionAnnotation, kDesiredReplicasAnnotation, kMaxReplicasAnnotation,
                                              "deployment.kubernetes.io/revision-history",
                                              "kubectl.kubernetes.io/last-applied-configuration",
                                              "deprecated.deployment.rollback.to"};
  bool changed = false;
  auto& ann = *rs.mutable_metadata()->mutable_annotations();
  const std::map<std::string, std::string> from(d.metadata().annotations().begin(), d.metadata().annotations().end());
  for (const auto& [k, v] : from) {
    if (kSkip.count(k) != 0) continue;
    auto it = ann.find(k);
    if (it == ann.end() || it->second != v) {
      ann[k] = v;
      changed = true;
    }
  }
  if (Revision(rs) < revision) {
    ann[kRevisionAnnotation] = std::to_string(revision);
    changed = true;
  }
  if (!exists && SetReplicasAnnotations(rs, Replicas(d), Replicas(d) + MaxSurge(d))) changed = true;
  return changed;
}

api::DeploymentStatus CalculateStatus(const std::vector<const api::ReplicaSet*>& all, const api::ReplicaSet* new_rs,
                                      const api::Deployment& d, int64_t now_s) {
  int32_t available = 0, total_spec = 0, actual = 0, ready = 0;
  for (const auto* rs : all) {
    available += rs->status().available_replicas();
    total_spec += Replicas(*rs);
    actual += rs->status().replicas();
    ready += rs->status().ready_replicas();
  }
  api::DeploymentStatus s;
  s.set_observed_generation(d.metadata().generation());
  s.set_replicas(actual);
  s.set_updated_replicas(new_rs != nullptr ? new_rs->status().replicas() : 0);
  s.set_ready_replicas(ready);
  s.set_available_replicas(available);
  s.set_unavailable_replicas(std::max(0, total_spec - available));
  if (d.status().has_collision_count()) s.set_collision_count(d.status().collision_count());
  *s.mutable_conditions() = d.status().conditions();
  if (available >= Replicas(d) - MaxUnavailable(d)) {
    SetCondition(s, NewCondition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.",
                                 now_s));
  } else {
    SetCondition(s, NewCondition("Available", "False", "MinimumReplicasUnavailable",
                                 "Deployment does not have minimum availability.", now_s));
  }
  return s;
}

bool DeploymentComplete(const api::Deployment& d, const api::DeploymentStatus& s) {
  const int32_t want = Replicas(d);
  return s.updated_replicas() == want && s.replicas() == want && s.available_replicas() == want &&
         s.observed_generation() >= d.metadata().generation();
}

bool DeploymentProgressing(const api::Deployment& d, const api::DeploymentStatus& s) {
  const auto& old = d.status();
  return s.updated_replicas() > old.updated_replicas() ||
         s.replicas() - s.updated_replicas() < old.replicas() - old.updated_replicas() ||
         s.ready_replicas() > old.ready_replicas() || s.available_replicas() > old.available_replicas();
}

bool DeploymentTimedOut(const api::Deployment& d, const api::DeploymentStatus& s, int64_t now_s) {
  if (!HasProgressDeadline(d)) return false;
  const auto* c = GetCondition(s, "Progressing");
  if (c == nullptr || c->reason() == "NewReplicaSetAvailable") return false;
  if (c->reason() == "ProgressDeadlineExceeded") return true;
  return c->last_update_time().seconds() + d.spec().progress_deadline_seconds() < now_s;
}

bool CreatedBefore(const api::ReplicaSet& a, const api::ReplicaSet& b) {
  const auto& x = a.metadata().creation_timestamp();
  const auto& y = b.metadata().creation_timestamp();
  return std::make_tuple(x.seconds(), x.nanos(), a.metadata().name()) <
         std::make_tuple(y.seconds(), y.nanos(), b.metadata().name());
}

}  // namespace deployment_internal
}  // namespace ksim::controllers
