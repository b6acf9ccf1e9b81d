// PlanDeployment: one sync of a Deployment, as Kubernetes' syncDeployment (rolling.go,
// recreate.go, sync.go, progress.go), over a working copy of its ReplicaSets. Every write
// is also applied to the copy, so later steps of the same sync see it.
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "cluster/controllers/deployment.h"
#include "cluster/controllers/replica_set.h"
#include "cluster/env/wire.h"

namespace ksim::controllers {
namespace {

using namespace deployment_internal;

class Planner {
 public:
  Planner(const api::Deployment& d, std::vector<api::ReplicaSet> owned, const std::vector<api::Pod>& pods,
          int64_t now_s)
      : in_(d), d_(d), rss_(std::move(owned)), pods_(pods), now_(now_s) {
    std::sort(rss_.begin(), rss_.end(), CreatedBefore);
    // The new RS is the oldest whose template matches (FindNewReplicaSet).
    for (size_t i = 0; i < rss_.size(); ++i) {
      if (TemplatesEqualIgnoringHash(rss_[i].spec().template_(), d.spec().template_())) {
        new_ = static_cast<int>(i);
        break;
      }
    }
  }

  DeploymentPlan Run() {
    if (d_.metadata().has_deletion_timestamp()) {
      GetNewRs(false);
      SyncStatus();
    } else {
      CheckPausedConditions();
      if (d_.spec().paused()) {
        SyncScaling();
      } else if (IsScalingEvent()) {
        SyncScaling();
      } else if (d_.spec().strategy().type() == "Recreate") {
        RolloutRecreate();
      } else {
        RolloutRolling();
      }
    }
    plan_.deployment = d_;
    plan_.metadata_changed = SerializeDeterministic(d_.metadata()) != SerializeDeterministic(in_.metadata());
    plan_.status_changed = SerializeDeterministic(d_.status()) != SerializeDeterministic(in_.status());
    return std::move(plan_);
  }

 private:
  int32_t R() const { return Replicas(d_); }
  std::vector<int> Old() const {
    std::vector<int> out;
    for (int i = 0; i < static_cast<int>(rss_.size()); ++i) {
      if (i != new_) out.push_back(i);
    }
    return out;
  }
  std::vector<int> Active(const std::vector<int>& idx) const {
    std::vector<int> out;
    for (int i : idx) {
      if (Replicas(rss_[i]) > 0) out.push_back(i);
    }
    return out;
  }
  std::vector<int> All() const {
    std::vector<int> out = Old();
    if (new_ >= 0) out.push_back(new_);
    return out;
  }
  int32_t SpecSum(const std::vector<int>& idx) const {
    int32_t n = 0;
    for (int i : idx) n += Replicas(rss_[i]);
    return n;
  }
  // Available pods an RS is sure to keep: a scale-down its controller has not shown in
  // status yet is not counted twice (Kubernetes reads status.availableReplicas alone).
  int32_t SureAvailable(int i) const { return std::min(rss_[i].status().available_replicas(), Replicas(rss_[i])); }

  // Adds a write of rss_[i] (merged into an earlier write of the same RS in this sync).
  void Record(DeploymentWrite::Kind kind, int i, std::string event = {}) {
    const std::string& name = rss_[i].metadata().name();
    auto it = write_index_.find(name);
    if (it == write_index_.end()) {
      write_index_[name] = plan_.writes.size();
      plan_.writes.push_back({kind, rss_[i], {}});
      it = write_index_.find(name);
    } else if (plan_.writes[it->second].kind != DeploymentWrite::kCreateRs) {
      plan_.writes[it->second].kind = kind;
    }
    plan_.writes[it->second].rs = rss_[i];
    if (!event.empty()) plan_.writes[it->second].events.emplace_back("ScalingReplicaSet", std::move(event));
  }

  // scaleReplicaSet: size and the replicas annotations; true if the size changed.
  bool ScaleRs(int i, int32_t size) {
    api::ReplicaSet& rs = rss_[i];
    const int32_t old = Replicas(rs);
    const int32_t max = R() + MaxSurge(d_);
    if (old == size && !ReplicasAnnotationsNeedUpdate(rs, R(), max)) return false;
    rs.mutable_spec()->set_replicas(size);
    SetReplicasAnnotations(rs, R(), max);
    std::string event;
    if (old != size) {
      event = fmt::format("Scaled {} replica set {} from {} to {}", old < size ? "up" : "down", rs.metadata().name(),
                          old, size);
    }
    Record(DeploymentWrite::kUpdateRs, i, std::move(event));
    return old != size;
  }
  bool ScaleRsIfNeeded(int i, int32_t size) { return Replicas(rss_[i]) != size && ScaleRs(i, size); }

  void SetDeploymentRevision(int64_t revision) {
    (*d_.mutable_metadata()->mutable_annotations())[kRevisionAnnotation] = std::to_string(revision);
  }

  // getNewReplicaSet: syncs the new RS's revision (and its annotations, minReadySeconds),
  // or creates it when `create`.
  void GetNewRs(bool create) {
    int64_t max_old = 0;
    for (int i : Old()) max_old = std::max(max_old, Revision(rss_[i]));
    const int64_t revision = max_old + 1;
    if (new_ >= 0) {
      api::ReplicaSet& rs = rss_[new_];
      bool changed = SetNewReplicaSetAnnotations(d_, rs, revision, true);
      if (rs.spec().min_ready_seconds() != d_.spec().min_ready_seconds()) {
        rs.mutable_spec()->set_min_ready_seconds(d_.spec().min_ready_seconds());
        changed = true;
      }
      if (changed) Record(DeploymentWrite::kUpdateRs, new_);
      SetDeploymentRevision(Revision(rs));
      if (HasProgressDeadline(d_) && GetCondition(d_.status(), "Progressing") == nullptr) {
        SetCondition(*d_.mutable_status(),
                     NewCondition("Progressing", "True", "FoundNewReplicaSet",
                                  fmt::format("Found new replica set \"{}\"", rs.metadata().name()), now_));
      }
      return;
    }
    if (!create) return;
    std::optional<int32_t> collisions;
    if (d_.status().has_collision_count()) collisions = d_.status().collision_count();
    const std::string hash = TemplateHash(d_.spec().template_(), collisions);
    api::ReplicaSet rs;
    auto* meta = rs.mutable_metadata();
    meta->set_name(d_.metadata().name() + "-" + hash);
    meta->set_namespace_(d_.metadata().namespace_());
    meta->mutable_creation_timestamp()->set_seconds(now_);  // newest, for this sync's ordering
    auto* ref = meta->add_owner_references();
    ref->set_api_version("apps/v1");
    ref->set_kind("Deployment");
    ref->set_name(d_.metadata().name());
    ref->set_uid(d_.metadata().uid());
    ref->set_controller(true);
    ref->set_block_owner_deletion(true);
    *rs.mutable_spec()->mutable_template_() = d_.spec().template_();
    (*rs.mutable_spec()->mutable_template_()->mutable_metadata()->mutable_labels())[kPodTemplateHashLabel] = hash;
    *meta->mutable_labels() = rs.spec().template_().metadata().labels();
    *rs.mutable_spec()->mutable_selector() = d_.spec().selector();
    (*rs.mutable_spec()->mutable_selector()->mutable_match_labels())[kPodTemplateHashLabel] = hash;
    rs.mutable_spec()->set_min_ready_seconds(d_.spec().min_ready_seconds());
    rs.mutable_spec()->set_replicas(0);
    rss_.push_back(std::move(rs));
    new_ = static_cast<int>(rss_.size()) - 1;
    const int32_t replicas = NewRsReplicas();
    rss_[new_].mutable_spec()->set_replicas(replicas);
    SetNewReplicaSetAnnotations(d_, rss_[new_], revision, false);
    Record(DeploymentWrite::kCreateRs, new_,
           replicas > 0 ? fmt::format("Scaled up replica set {} from 0 to {}", rss_[new_].metadata().name(), replicas)
                        : std::string());
    SetDeploymentRevision(revision);
    if (HasProgressDeadline(d_)) {
      SetCondition(*d_.mutable_status(),
                   NewCondition("Progressing", "True", "NewReplicaSetCreated",
                                fmt::format("Created new replica set \"{}\"", rss_[new_].metadata().name()), now_));
    }
  }

  // NewRSNewReplicas.
  int32_t NewRsReplicas() const {
    const int32_t cur = Replicas(rss_[new_]);
    if (d_.spec().strategy().type() == "Recreate") return R();
    const int32_t max_total = R() + MaxSurge(d_);
    const int32_t all = SpecSum(All());
    if (all >= max_total) return cur;
    return cur + std::min(max_total - all, R() - cur);
  }

  void CheckPausedConditions() {
    if (!HasProgressDeadline(d_)) return;
    const auto* c = GetCondition(d_.status(), "Progressing");
    if (c != nullptr && c->reason() == "ProgressDeadlineExceeded") return;
    const bool paused_cond = c != nullptr && c->reason() == "DeploymentPaused";
    if (d_.spec().paused() && !paused_cond) {
      SetCondition(*d_.mutable_status(),
                   NewCondition("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", now_));
    } else if (!d_.spec().paused() && paused_cond) {
      SetCondition(*d_.mutable_status(),
                   NewCondition("Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed", now_));
    }
  }

  bool IsScalingEvent() {
    GetNewRs(false);
    for (int i : Active(All())) {
      const auto desired = IntAnnotation(rss_[i], kDesiredReplicasAnnotation);
      if (desired && *desired != R()) return true;
    }
    return false;
  }

  // sync: scaling (and, paused, cleanup) without rollout progress.
  void SyncScaling() {
    GetNewRs(false);
    Scale();
    if (d_.spec().paused()) Cleanup();
    SyncStatus();
  }

  void SyncStatus() {
    api::DeploymentStatus s = CalculateStatus(Ptrs(), NewPtr(), d_, now_);
    *d_.mutable_status() = std::move(s);
  }

  std::vector<const api::ReplicaSet*> Ptrs() const {
    std::vector<const api::ReplicaSet*> out;
    for (int i : All()) out.push_back(&rss_[i]);
    return out;
  }
  const api::ReplicaSet* NewPtr() const { return new_ >= 0 ? &rss_[new_] : nullptr; }

  // Proportional scaling (scale()).
  void Scale() {
    const std::vector<int> old = Old();
    if (new_ < 0 && old.empty()) return;
    // FindActiveOrLatest: one active RS (or none: the new one, else the newest old one).
    std::vector<int> active = Active(All());
    if (active.size() <= 1) {
      const int target = !active.empty() ? active[0] : (new_ >= 0 ? new_ : old.back());
      ScaleRsIfNeeded(target, R());
      return;
    }
    if (new_ >= 0 && IntAnnotation(rss_[new_], kDesiredReplicasAnnotation) == R() && Replicas(rss_[new_]) == R() &&
        rss_[new_].status().available_replicas() == R()) {
      for (int i : Active(old)) ScaleRsIfNeeded(i, 0);  // saturated
      return;
    }
    if (d_.spec().strategy().type() == "Recreate") return;
    const int32_t allowed = R() > 0 ? R() + MaxSurge(d_) : 0;
    const int32_t to_add = allowed - SpecSum(active);
    // Bigger first; ties: newer first when adding, older first when removing.
    std::sort(active.begin(), active.end(), [this, to_add](int a, int b) {
      if (Replicas(rss_[a]) != Replicas(rss_[b])) return Replicas(rss_[a]) > Replicas(rss_[b]);
      return to_add > 0 ? CreatedBefore(rss_[b], rss_[a]) : CreatedBefore(rss_[a], rss_[b]);
    });
    std::map<int, int32_t> size;
    int32_t added = 0;
    for (int i : active) {
      int32_t p = 0;
      if (to_add != 0) {
        p = Proportion(i, to_add, added);
        added += p;
      }
      size[i] = Replicas(rss_[i]) + p;
    }
    if (added != to_add) size[active[0]] = std::max(0, size[active[0]] + to_add - added);  // leftovers: largest
    for (int i : active) ScaleRs(i, size[i]);
  }

  int32_t Proportion(int i, int32_t to_add, int32_t added) const {
    const int32_t spec = Replicas(rss_[i]);
    if (spec == 0 || to_add == 0 || to_add == added) return 0;
    int32_t fraction = 0;
    if (R() == 0) {
      fraction = -spec;
    } else {
      const int64_t target = R() + MaxSurge(d_);
      const int64_t annotated = IntAnnotation(rss_[i], kMaxReplicasAnnotation).value_or(d_.status().replicas());
      // round(spec * target / annotated), half away from zero (all terms non-negative).
      if (annotated > 0) fraction = static_cast<int32_t>((2 * spec * target + annotated) / (2 * annotated)) - spec;
    }
    const int32_t allowed = to_add - added;
    return to_add > 0 ? std::min(fraction, allowed) : std::max(fraction, allowed);
  }

  // cleanupDeployment: old RSs at 0 beyond revisionHistoryLimit, oldest revision first.
  void Cleanup() {
    if (!d_.spec().has_revision_history_limit()) return;
    std::vector<int> cleanable;
    for (int i : Old()) {
      if (!rss_[i].metadata().has_deletion_timestamp()) cleanable.push_back(i);
    }
    const int diff = static_cast<int>(cleanable.size()) - d_.spec().revision_history_limit();
    if (diff <= 0) return;
    std::sort(cleanable.begin(), cleanable.end(), [this](int a, int b) {
      if (Revision(rss_[a]) != Revision(rss_[b])) return Revision(rss_[a]) < Revision(rss_[b]);
      return CreatedBefore(rss_[a], rss_[b]);
    });
    for (int k = 0; k < diff; ++k) {
      const api::ReplicaSet& rs = rss_[cleanable[k]];
      if (rs.status().replicas() != 0 || Replicas(rs) != 0 ||
          rs.metadata().generation() > rs.status().observed_generation() ||
          write_index_.count(rs.metadata().name()) != 0) {
        continue;
      }
      Record(DeploymentWrite::kDeleteRs, cleanable[k]);
    }
  }

  void RolloutRolling() {
    GetNewRs(true);
    if (ReconcileNewRs() || ReconcileOldRss()) return SyncRolloutStatus();
    if (DeploymentComplete(d_, d_.status())) Cleanup();
    SyncRolloutStatus();
  }

  bool ReconcileNewRs() {
    const int32_t cur = Replicas(rss_[new_]);
    if (cur == R()) return false;
    if (cur > R()) return ScaleRsIfNeeded(new_, R());
    return ScaleRsIfNeeded(new_, NewRsReplicas());
  }

  bool ReconcileOldRss() {
    std::vector<int> old = Active(Old());
    if (SpecSum(old) == 0) return false;
    const int32_t min_available = R() - MaxUnavailable(d_);
    const int32_t new_unavailable = Replicas(rss_[new_]) - rss_[new_].status().available_replicas();
    const int32_t max_scaled_down = SpecSum(All()) - min_available - new_unavailable;
    if (max_scaled_down <= 0) return false;
    // cleanupUnhealthyReplicas: unavailable old replicas go first, within max_scaled_down.
    int32_t cleaned = 0;
    for (int i : old) {
      if (cleaned >= max_scaled_down) break;
      const int32_t unhealthy = Replicas(rss_[i]) - rss_[i].status().available_replicas();
      if (Replicas(rss_[i]) == 0 || unhealthy <= 0) continue;
      const int32_t n = std::min(max_scaled_down - cleaned, unhealthy);
      ScaleRsIfNeeded(i, Replicas(rss_[i]) - n);
      cleaned += n;
    }
    // scaleDownOldReplicaSetsForRollingUpdate: only what keeps min_available available.
    int32_t available = 0;
    for (int i : All()) available += SureAvailable(i);
    int32_t scaled = 0;
    if (available > min_available) {
      const int32_t total = available - min_available;
      for (int i : old) {
        if (scaled >= total) break;
        if (Replicas(rss_[i]) == 0) continue;
        const int32_t n = std::min(Replicas(rss_[i]), total - scaled);
        ScaleRsIfNeeded(i, Replicas(rss_[i]) - n);
        scaled += n;
      }
    }
    return cleaned + scaled > 0;
  }

  void RolloutRecreate() {
    GetNewRs(false);
    bool scaled_down = false;
    for (int i : Active(Old())) scaled_down = ScaleRsIfNeeded(i, 0) || scaled_down;
    if (scaled_down || OldPodsRunning()) return SyncRolloutStatus();
    if (new_ < 0) GetNewRs(true);
    ScaleRsIfNeeded(new_, R());
    if (DeploymentComplete(d_, d_.status())) Cleanup();
    SyncRolloutStatus();
  }

  // oldPodsRunning: old RSs still report pods, or any pod of theirs is not terminal
  // (terminating ones count: they may still run).
  bool OldPodsRunning() const {
    int32_t actual = 0;
    for (int i : Old()) actual += rss_[i].status().replicas();
    if (actual > 0) return true;
    const std::string new_uid = new_ >= 0 ? rss_[new_].metadata().uid() : std::string();
    for (const auto& p : pods_) {
      const auto* ref = ControllerRef(p.metadata());
      if (ref == nullptr || (!new_uid.empty() && ref->uid() == new_uid)) continue;
      if (p.status().phase() != "Succeeded" && p.status().phase() != "Failed") return true;
    }
    return false;
  }

  void SyncRolloutStatus() {
    api::DeploymentStatus s = CalculateStatus(Ptrs(), NewPtr(), d_, now_);
    if (!HasProgressDeadline(d_)) RemoveCondition(s, "Progressing");
    const auto* cur = GetCondition(d_.status(), "Progressing");
    const bool complete = s.replicas() == s.updated_replicas() && cur != nullptr &&
                          cur->reason() == "NewReplicaSetAvailable";
    const std::string subject = new_ >= 0 ? fmt::format("ReplicaSet \"{}\"", rss_[new_].metadata().name())
                                          : fmt::format("Deployment \"{}\"", d_.metadata().name());
    if (HasProgressDeadline(d_) && !complete) {
      if (DeploymentComplete(d_, s)) {
        SetCondition(s, NewCondition("Progressing", "True", "NewReplicaSetAvailable",
                                     subject + " has successfully progressed.", now_));
      } else if (DeploymentProgressing(d_, s)) {
        auto c = NewCondition("Progressing", "True", "ReplicaSetUpdated", subject + " is progressing.", now_);
        if (cur != nullptr && cur->status() == "True") *c.mutable_last_transition_time() = cur->last_transition_time();
        RemoveCondition(s, "Progressing");  // a fresh lastUpdateTime: progress restarts the deadline
        SetCondition(s, std::move(c));
      } else if (DeploymentTimedOut(d_, s, now_)) {
        SetCondition(s, NewCondition("Progressing", "False", "ProgressDeadlineExceeded",
                                     subject + " has timed out progressing.", now_));
      }
    }
    // ReplicaFailure: copied from the new RS, else from any RS.
    const api::ReplicaSetCondition* failure = nullptr;
    std::vector<int> order = new_ >= 0 ? std::vector<int>{new_} : std::vector<int>{};
    for (int i : Old()) order.push_back(i);
    for (int i : order) {
      for (const auto& c : rss_[i].status().conditions()) {
        if (failure == nullptr && c.type() == "ReplicaFailure") failure = &c;
      }
    }
    if (failure != nullptr) {
      api::DeploymentCondition c;
      c.set_type("ReplicaFailure");
      c.set_status(failure->status());
      c.set_reason(failure->reason());
      c.set_message(failure->message());
      *c.mutable_last_update_time() = failure->last_transition_time();
      *c.mutable_last_transition_time() = failure->last_transition_time();
      SetCondition(s, std::move(c));
    } else {
      RemoveCondition(s, "ReplicaFailure");
    }
    // requeueStuckDeployment: look again when the deadline would pass.
    const auto* pc = GetCondition(s, "Progressing");
    if (HasProgressDeadline(d_) && pc != nullptr && !DeploymentComplete(d_, s) &&
        pc->reason() != "ProgressDeadlineExceeded") {
      const int64_t after = pc->last_update_time().seconds() + d_.spec().progress_deadline_seconds() - now_;
      plan_.requeue_after_s = after < 1 ? 1 : after + 1;
    }
    *d_.mutable_status() = std::move(s);
  }

  const api::Deployment& in_;
  api::Deployment d_;  // working copy: annotations and status
  std::vector<api::ReplicaSet> rss_;
  const std::vector<api::Pod>& pods_;
  int64_t now_;
  int new_ = -1;
  DeploymentPlan plan_;
  std::map<std::string, size_t> write_index_;
};

}  // namespace

DeploymentPlan PlanDeployment(const api::Deployment& d, std::vector<api::ReplicaSet> owned,
                              const std::vector<api::Pod>& pods, int64_t now_s) {
  return Planner(d, std::move(owned), pods, now_s).Run();
}

}  // namespace ksim::controllers
