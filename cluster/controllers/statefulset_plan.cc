// The StatefulSet controller's decisions, as pure functions of the set, its revisions,
// its pods and the claims: identities, claims, one sync's plan, and status.
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <charconv>

#include "cluster/api/codec.h"
#include "cluster/controllers/replica_set.h"
#include "cluster/controllers/statefulset.h"

namespace ksim::controllers::sts {
namespace {

int32_t Replicas(const api::StatefulSet& set) { return set.spec().has_replicas() ? set.spec().replicas() : 1; }
int32_t Start(const api::StatefulSet& set) { return set.spec().ordinals().start(); }
bool Monotonic(const api::StatefulSet& set) { return set.spec().pod_management_policy() != "Parallel"; }
bool Rolling(const api::StatefulSet& set) { return set.spec().update_strategy().type() != "OnDelete"; }
int32_t Partition(const api::StatefulSet& set) {
  return Rolling(set) ? std::max(0, set.spec().update_strategy().rolling_update().partition()) : 0;
}

// spec.updateStrategy.rollingUpdate.maxUnavailable against the replica count, rounded
// down, at least 1 (Kubernetes' default is 1).
int32_t MaxUnavailable(const api::StatefulSet& set) {
  const auto& mu = set.spec().update_strategy().rolling_update().max_unavailable();
  const std::string text = api::ToString(mu);
  if (text.empty()) return 1;
  int32_t v = 1;
  if (text.back() == '%') {
    int pct = 0;
    std::from_chars(text.data(), text.data() + text.size() - 1, pct);
    v = static_cast<int32_t>(static_cast<int64_t>(pct) * Replicas(set) / 100);
  } else {
    std::from_chars(text.data(), text.data() + text.size(), v);
  }
  return std::max(v, 1);
}

bool Finished(const api::Pod& p) { return p.status().phase() == "Failed" || p.status().phase() == "Succeeded"; }

bool IsRef(const api::OwnerReference& r, const std::string& kind, const std::string& name, const std::string& uid) {
  return r.kind() == kind && r.name() == name && (uid.empty() || r.uid() == uid);
}

}  // namespace

std::string PodName(const std::string& set, int ordinal) { return set + "-" + std::to_string(ordinal); }
std::string ClaimName(const std::string& claim, const std::string& set, int ordinal) {
  return claim + "-" + PodName(set, ordinal);
}

std::optional<int> OrdinalOf(const std::string& set, const std::string& pod_name) {
  if (pod_name.size() <= set.size() + 1 || pod_name.compare(0, set.size(), set) != 0 || pod_name[set.size()] != '-') {
    return std::nullopt;
  }
  const std::string_view digits(pod_name.data() + set.size() + 1, pod_name.size() - set.size() - 1);
  if (digits.size() > 9 || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
  int v = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) return std::nullopt;
  return v;
}

bool Terminating(const api::Pod& pod) { return pod.metadata().has_deletion_timestamp(); }
bool Healthy(const api::Pod& pod) {
  return pod.status().phase() == "Running" && PodReady(pod) && !Terminating(pod);
}
std::string RevisionOf(const api::Pod& pod) {
  auto it = pod.metadata().labels().find(kRevisionHashLabel);
  return it == pod.metadata().labels().end() ? "" : it->second;
}

api::Pod NewPod(const api::StatefulSet& set, const Revision& rev, int ordinal) {
  const api::ObjectMeta& sm = set.metadata();
  api::Pod pod;
  auto* meta = pod.mutable_metadata();
  const std::string name = PodName(sm.name(), ordinal);
  meta->set_name(name);
  meta->set_namespace_(sm.namespace_());
  *meta->mutable_labels() = rev.tmpl.metadata().labels();
  *meta->mutable_annotations() = rev.tmpl.metadata().annotations();
  *meta->mutable_finalizers() = rev.tmpl.metadata().finalizers();
  (*meta->mutable_labels())[kStsPodNameLabel] = name;
  (*meta->mutable_labels())[kStsPodIndexLabel] = std::to_string(ordinal);
  (*meta->mutable_labels())[kRevisionHashLabel] = rev.name;
  auto* ref = meta->add_owner_references();
  ref->set_api_version("apps/v1");
  ref->set_kind("StatefulSet");
  ref->set_name(sm.name());
  ref->set_uid(sm.uid());
  ref->set_controller(true);
  ref->set_block_owner_deletion(true);
  *pod.mutable_spec() = rev.tmpl.spec();
  pod.mutable_spec()->set_hostname(name);
  pod.mutable_spec()->set_subdomain(set.spec().service_name());
  for (const auto& claim : set.spec().volume_claim_templates()) {
    auto* volumes = pod.mutable_spec()->mutable_volumes();
    api::Volume* v = nullptr;
    for (auto& existing : *volumes) {
      if (existing.name() == claim.metadata().name()) v = &existing;
    }
    if (v == nullptr) v = volumes->Add();
    v->Clear();
    v->set_name(claim.metadata().name());
    v->mutable_persistent_volume_claim()->set_claim_name(ClaimName(claim.metadata().name(), sm.name(), ordinal));
  }
  return pod;
}

api::PersistentVolumeClaim WithClaimRefs(const api::StatefulSet& set, api::PersistentVolumeClaim claim,
                                         bool condemned, const api::Pod* pod, bool* changed) {
  const auto& policy = set.spec().persistent_volume_claim_retention_policy();
  const bool scaled_delete = policy.when_scaled() == "Delete" && condemned;
  const bool want_set = policy.when_deleted() == "Delete" && !scaled_delete;
  const bool want_pod = scaled_delete && pod != nullptr;
  const api::ObjectMeta before = claim.metadata();
  auto* refs = claim.mutable_metadata()->mutable_owner_references();
  const std::string& set_uid = set.metadata().uid();
  const auto has = [&](const std::string& kind, const std::string& name, const std::string& uid) {
    return std::any_of(refs->begin(), refs->end(), [&](const api::OwnerReference& r) { return IsRef(r, kind, name, uid); });
  };
  const auto drop = [&](const std::string& kind, const std::string& name, const std::string& uid) {
    for (int i = refs->size() - 1; i >= 0; --i) {
      if (IsRef(refs->Get(i), kind, name, uid)) refs->DeleteSubrange(i, 1);
    }
  };
  if (want_set && !has("StatefulSet", set.metadata().name(), set_uid)) {
    auto* r = refs->Add();
    r->set_api_version("apps/v1");
    r->set_kind("StatefulSet");
    r->set_name(set.metadata().name());
    r->set_uid(set_uid);
  } else if (!want_set) {
    drop("StatefulSet", set.metadata().name(), set_uid);
  }
  if (pod != nullptr) {
    const std::string& pod_name = pod->metadata().name();
    if (want_pod && !has("Pod", pod_name, pod->metadata().uid())) {
      drop("Pod", pod_name, "");  // a reference to an earlier pod of this identity
      auto* r = refs->Add();
      r->set_api_version("v1");
      r->set_kind("Pod");
      r->set_name(pod_name);
      r->set_uid(pod->metadata().uid());
    } else if (!want_pod) {
      drop("Pod", pod_name, "");
    }
  }
  *changed = !google::protobuf::util::MessageDifferencer::Equals(claim.metadata(), before);
  return claim;
}

std::vector<api::PersistentVolumeClaim> NewClaims(const api::StatefulSet& set, int ordinal) {
  std::vector<api::PersistentVolumeClaim> out;
  for (const auto& tmpl : set.spec().volume_claim_templates()) {
    api::PersistentVolumeClaim claim;
    *claim.mutable_metadata()->mutable_labels() = tmpl.metadata().labels();
    *claim.mutable_metadata()->mutable_annotations() = tmpl.metadata().annotations();
    for (const auto& [k, v] : std::map<std::string, std::string>(set.spec().selector().match_labels().begin(),
                                                                 set.spec().selector().match_labels().end())) {
      (*claim.mutable_metadata()->mutable_labels())[k] = v;
    }
    claim.mutable_metadata()->set_name(ClaimName(tmpl.metadata().name(), set.metadata().name(), ordinal));
    claim.mutable_metadata()->set_namespace_(set.metadata().namespace_());
    *claim.mutable_spec() = tmpl.spec();
    bool changed = false;
    out.push_back(WithClaimRefs(set, std::move(claim), Start(set) + Replicas(set) <= ordinal, nullptr, &changed));
  }
  return out;
}

Plan PlanSync(const api::StatefulSet& set, const Revision& current, const Revision& update,
              const std::map<int, const api::Pod*>& pods,
              const std::map<std::string, const api::PersistentVolumeClaim*>& claims, int64_t now_seconds) {
  Plan plan;
  const int32_t min_ready = set.spec().min_ready_seconds();
  const int32_t replicas = Replicas(set);
  const int32_t start = Start(set);
  const bool monotonic = Monotonic(set);
  const int32_t partition = Partition(set);
  const std::string& set_name = set.metadata().name();

  // Claim references of an existing pod's claims.
  const auto fix_claims = [&](int ordinal, const api::Pod& pod, bool condemned) {
    for (const auto& tmpl : set.spec().volume_claim_templates()) {
      auto it = claims.find(ClaimName(tmpl.metadata().name(), set_name, ordinal));
      if (it == claims.end() || it->second->metadata().has_deletion_timestamp()) continue;
      bool changed = false;
      auto fixed = WithClaimRefs(set, *it->second, condemned, &pod, &changed);
      if (changed) plan.update_claims.push_back(std::move(fixed));
    }
  };

  // 1. Every ordinal in range, lowest first: create the missing (claims first), delete
  //    failed or succeeded pods, wait for terminating or unready ones (OrderedReady).
  for (int32_t i = 0; i < replicas; ++i) {
    const int ordinal = start + i;
    auto it = pods.find(ordinal);
    if (it == pods.end()) {
      bool blocked = false;
      for (auto& claim : NewClaims(set, ordinal)) {
        auto c = claims.find(claim.metadata().name());
        if (c == claims.end()) {
          plan.create_claims.push_back(std::move(claim));
        } else if (c->second->metadata().has_deletion_timestamp()) {
          plan.blocked_claims.push_back(claim.metadata().name());
          blocked = true;
        }
      }
      if (!blocked) plan.create_pods.push_back(NewPod(set, i < partition ? current : update, ordinal));
      if (monotonic) return plan;
      continue;
    }
    const api::Pod& pod = *it->second;
    if (Finished(pod) && !Terminating(pod)) {
      plan.delete_pods.push_back(pod);  // recreated once it is gone from the API
      if (monotonic) return plan;
      continue;
    }
    if (!Healthy(pod) || !PodAvailable(pod, min_ready, now_seconds)) {
      if (monotonic) return plan;  // the next ordinal waits for this one to be available
      if (!Healthy(pod)) continue;
    }
    const auto& labels = pod.metadata().labels();
    auto pn = labels.find(kStsPodNameLabel);
    auto pi = labels.find(kStsPodIndexLabel);
    if (pn == labels.end() || pn->second != pod.metadata().name() || pi == labels.end() ||
        pi->second != std::to_string(ordinal)) {
      api::Pod fixed = pod;
      (*fixed.mutable_metadata()->mutable_labels())[kStsPodNameLabel] = pod.metadata().name();
      (*fixed.mutable_metadata()->mutable_labels())[kStsPodIndexLabel] = std::to_string(ordinal);
      plan.update_pods.push_back(std::move(fixed));
    }
    fix_claims(ordinal, pod, false);
  }

  // 2. Condemned ordinals (outside the range), highest first; OrderedReady deletes one at
  //    a time and only while every other pod is healthy.
  std::vector<std::pair<int, const api::Pod*>> condemned;
  for (const auto& [ordinal, pod] : pods) {
    if (ordinal < start || ordinal >= start + replicas) condemned.emplace_back(ordinal, pod);
  }
  std::sort(condemned.begin(), condemned.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (const auto& [ordinal, pod] : condemned) {
    fix_claims(ordinal, *pod, true);
    if (Terminating(*pod)) {
      if (monotonic) return plan;
      continue;
    }
    if (monotonic) {
      const bool other_unhealthy = std::any_of(condemned.begin(), condemned.end(), [&](const auto& c) {
        return c.first != ordinal && !Healthy(*c.second);
      });
      if (other_unhealthy) return plan;
    }
    plan.delete_pods.push_back(*pod);
    if (monotonic) return plan;
  }

  // 3. RollingUpdate: ordinals at index >= partition not at the update revision are deleted,
  //    highest first, at most maxUnavailable unavailable at once; they come back (step 1)
  //    at the update revision. OnDelete: only deleted pods come back updated.
  if (!Rolling(set)) return plan;
  int32_t unavailable = 0;
  for (int32_t i = partition; i < replicas; ++i) {
    auto it = pods.find(start + i);
    if (it == pods.end() || !Healthy(*it->second)) ++unavailable;
  }
  int32_t budget = MaxUnavailable(set) - unavailable;
  for (int32_t i = replicas - 1; i >= partition; --i) {
    auto it = pods.find(start + i);
    if (it == pods.end()) continue;
    const api::Pod& pod = *it->second;
    if (RevisionOf(pod) == update.name || Terminating(pod)) continue;
    if (!Healthy(pod)) {
      plan.delete_pods.push_back(pod);  // already unavailable: costs nothing
      continue;
    }
    if (budget <= 0) break;
    plan.delete_pods.push_back(pod);
    --budget;
  }
  return plan;
}

api::StatefulSetStatus ComputeStatus(const api::StatefulSet& set, const std::string& current_revision,
                                     const std::string& update_revision, int32_t collision_count,
                                     const std::map<int, const api::Pod*>& pods, int64_t now_seconds) {
  api::StatefulSetStatus s = set.status();
  s.set_observed_generation(set.metadata().generation());
  s.set_replicas(0);
  s.set_ready_replicas(0);
  s.set_available_replicas(0);
  s.set_current_replicas(0);
  s.set_updated_replicas(0);
  for (const auto& [ordinal, pod] : pods) {
    s.set_replicas(s.replicas() + 1);
    const bool running_ready = pod->status().phase() == "Running" && PodReady(*pod);
    if (running_ready) s.set_ready_replicas(s.ready_replicas() + 1);
    if (running_ready && PodAvailable(*pod, set.spec().min_ready_seconds(), now_seconds)) {
      s.set_available_replicas(s.available_replicas() + 1);
    }
    if (Terminating(*pod)) continue;
    const std::string rev = RevisionOf(*pod);
    if (rev == current_revision) s.set_current_replicas(s.current_replicas() + 1);
    if (rev == update_revision) s.set_updated_replicas(s.updated_replicas() + 1);
  }
  s.set_current_revision(current_revision);
  s.set_update_revision(update_revision);
  s.set_collision_count(collision_count);
  // The rollout is complete: the update revision becomes current.
  if (Rolling(set) && s.updated_replicas() == s.replicas() && s.ready_replicas() == s.replicas()) {
    s.set_current_revision(update_revision);
    s.set_current_replicas(s.updated_replicas());
  }
  return s;
}

}  // namespace ksim::controllers::sts
