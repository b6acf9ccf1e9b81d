// ApiHandler: the pods/eviction subresource (Kubernetes' EvictionREST). A policy/v1
// Eviction is a delete of the pod that its PodDisruptionBudget must allow: the budget's
// disruptionsAllowed is decremented and the pod recorded in disruptedPods in one write
// guarded by the budget's revision, then the pod is deleted. Concurrent evictions through
// any number of apiservers therefore never take more than disruptionsAllowed pods.
#include <fmt/format.h>

#include "cluster/api/label_selector.h"
#include "cluster/api/policy.pb.h"
#include "cluster/apiserver/handler_internal.h"
#include "cluster/env/wire.h"

namespace ksim::apiserver {

using namespace handler_internal;  // NOLINT: this file's own helpers

namespace {

// Kubernetes' EvictionsRetry: 20 attempts when the budget or the pod changed meanwhile.
constexpr int kMaxEvictionAttempts = 20;
// Kubernetes' MaxDisruptedPodSize: evictions the controller has not yet confirmed.
constexpr int kMaxDisruptedPods = 2000;

bool IsReady(const api::Pod& pod) {
  for (const api::PodCondition& c : pod.status().conditions()) {
    if (c.type() == "Ready") return c.status() == "True";
  }
  return false;
}

// Kubernetes' canIgnorePDB: a pod that is terminal, not yet running, or already being
// deleted disrupts nothing more by going.
bool CanIgnoreBudget(const api::Pod& pod) {
  const std::string& phase = pod.status().phase();
  return phase == "Succeeded" || phase == "Failed" || phase == "Pending" || phase.empty() ||
         pod.metadata().has_deletion_timestamp();
}

// Kubernetes' shouldEnforceResourceVersion: deleting such a pod without the budget must
// not race with it becoming Ready, so the delete is pinned to the revision decided on.
bool PinRevision(const api::Pod& pod) {
  const std::string& phase = pod.status().phase();
  return !(phase == "Succeeded" || phase == "Failed" || pod.metadata().has_deletion_timestamp());
}

api::StatusCause BudgetCause(std::string message) {
  api::StatusCause c;
  c.set_reason("DisruptionBudget");
  c.set_message(std::move(message));
  return c;
}

constexpr char kTooMany[] = "Cannot evict pod as it would violate the pod's disruption budget.";

}  // namespace

void ApiHandler::Evict(std::shared_ptr<Call> call, int attempt) {
  auto eviction = std::make_shared<api::Eviction>();
  const api::KindInfo* kind = api::Registry::Default().ByApiVersionKind("policy/v1", "Eviction");
  if (Status s = DecodeBody(call->request, *kind, eviction.get()); !s.ok()) {
    return ReplyStatus(*call, 400, "BadRequest", s.message());
  }
  if (!eviction->metadata().name().empty() && eviction->metadata().name() != call->request.name()) {
    return ReplyStatus(*call, 400, "BadRequest", "name in URL does not match name in Eviction object");
  }
  if (std::string why = InvalidDeleteOptions(eviction->delete_options()); !why.empty()) {
    return ReplyStatus(*call, 422, "Invalid", why);
  }
  store_.Get(call->key, [this, call, attempt, eviction, alive = alive_](Status s, const StoredObject* current) {
    if (!*alive) return;
    if (!s.ok()) return ReplyStoreError(*call, s);
    if (current == nullptr) return ReplyNotFound(*call);
    api::Pod pod;
    if (!pod.ParseFromString(current->value)) return ReplyStatus(*call, 500, "InternalError", "stored pod is corrupt");
    if (CanIgnoreBudget(pod)) return EvictDelete(call, attempt, eviction, *current, PinRevision(pod));
    // The namespace's budgets, read linearizably: the decrement below is guarded by the
    // revision read here, so a stale budget can only make the write fail and retry.
    const std::string prefix = ResourcePrefix("poddisruptionbudgets", call->request.namespace_());
    store_.List(prefix, PrefixEnd(prefix), 0, 0,
                [this, call, attempt, eviction, pod_object = *current, alive](ListPage page) {
                  if (!*alive) return;
                  if (!page.status.ok()) return ReplyStoreError(*call, page.status);
                  EvictWithBudgets(call, attempt, eviction, pod_object, std::move(page.items));
                });
  });
}

void ApiHandler::EvictWithBudgets(std::shared_ptr<Call> call, int attempt, std::shared_ptr<const api::Eviction> eviction,
                                  StoredObject pod_object, std::vector<StoredObject> pdbs) {
  api::Pod pod;
  pod.ParseFromString(pod_object.value);
  const std::map<std::string, std::string> labels(pod.metadata().labels().begin(), pod.metadata().labels().end());
  std::vector<std::pair<api::PodDisruptionBudget, int64_t>> matching;
  for (const StoredObject& o : pdbs) {
    api::PodDisruptionBudget pdb;
    if (!pdb.ParseFromString(o.value)) continue;
    api::LabelMatcher matcher;
    // policy/v1: a null selector matches nothing, an empty one every pod.
    if (!api::LabelMatcherFromProto(pdb.spec().has_selector(), pdb.spec().selector(), "spec.selector", &matcher).ok()) {
      continue;
    }
    if (matcher.Matches(labels)) matching.emplace_back(std::move(pdb), o.mod_revision);
  }
  if (matching.empty()) return EvictDelete(call, attempt, eviction, pod_object, false);
  if (matching.size() > 1) {
    return ReplyStatus(*call, 500, "InternalError",
                       "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.");
  }
  api::PodDisruptionBudget pdb = std::move(matching[0].first);
  const int64_t pdb_revision = matching[0].second;
  const api::PodDisruptionBudgetStatus& st = pdb.status();
  const bool ready = IsReady(pod);
  // An unready pod is not healthy: evicting it costs the budget nothing when the policy
  // says AlwaysAllow, or (IfHealthyBudget, the default) while the budget is met.
  if (!ready && pdb.spec().unhealthy_pod_eviction_policy() == "AlwaysAllow") {
    return EvictDelete(call, attempt, eviction, pod_object, true);
  }
  if (!ready && st.current_healthy() >= st.desired_healthy() && st.desired_healthy() > 0) {
    return EvictDelete(call, attempt, eviction, pod_object, true);
  }
  const std::string& name = pdb.metadata().name();
  if (st.observed_generation() < pdb.metadata().generation()) {
    return ReplyStatus(*call, 429, "TooManyRequests", kTooMany,
                       {BudgetCause(fmt::format("The disruption budget {} is still being processed by the server.", name))});
  }
  if (st.disruptions_allowed() < 0) {
    return ReplyStatus(*call, 403, "Forbidden", "pdb disruptions allowed is negative");
  }
  if (st.disrupted_pods_size() > kMaxDisruptedPods) {
    return ReplyStatus(*call, 403, "Forbidden",
                       "DisruptedPods map too big - too many evictions not confirmed by PDB controller");
  }
  if (st.disruptions_allowed() == 0) {
    return ReplyStatus(*call, 429, "TooManyRequests", kTooMany,
                       {BudgetCause(fmt::format("The disruption budget {} needs {} healthy pods and has {} currently",
                                                name, st.desired_healthy(), st.current_healthy()))});
  }
  api::PodDisruptionBudgetStatus* ms = pdb.mutable_status();
  ms->set_disruptions_allowed(st.disruptions_allowed() - 1);
  if (ms->disruptions_allowed() == 0) {
    // Kubernetes' UpdateDisruptionAllowedCondition.
    api::Condition* cond = nullptr;
    for (api::Condition& c : *ms->mutable_conditions()) {
      if (c.type() == "DisruptionAllowed") cond = &c;
    }
    if (cond == nullptr) {
      cond = ms->add_conditions();
      cond->set_type("DisruptionAllowed");
    }
    if (cond->status() != "False") SetTime(cond->mutable_last_transition_time(), env_.clock->WallNow());
    cond->set_status("False");
    cond->set_reason("InsufficientPods");
    cond->set_observed_generation(ms->observed_generation());
  }
  if (!eviction->delete_options().dry_run().empty()) return EvictDelete(call, attempt, eviction, pod_object, false);
  google::protobuf::Timestamp now;
  SetTime(&now, env_.clock->WallNow());
  (*ms->mutable_disrupted_pods())[pod.metadata().name()] = now;
  const std::string key = ObjectKey("poddisruptionbudgets", pdb.metadata().namespace_(), name);
  store_.Update(key, SerializeDeterministic(pdb), pdb_revision, {},
                [this, call, attempt, eviction, pod_object, alive = alive_](const WriteResult& w) {
                  if (!*alive) return;
                  if (!w.status.ok()) return ReplyStoreError(*call, w.status);
                  if (w.outcome != WriteOutcome::kDone) {
                    ++stats_.conflicts;
                    if (attempt + 1 >= kMaxEvictionAttempts) {
                      return ReplyStatus(*call, 409, "Conflict",
                                         "the disruption budget kept changing; the pod was not evicted");
                    }
                    return Evict(call, attempt + 1);  // another eviction or the controller wrote first
                  }
                  EvictDelete(call, attempt, eviction, pod_object, false);
                });
}

void ApiHandler::EvictDelete(std::shared_ptr<Call> call, int attempt, std::shared_ptr<const api::Eviction> eviction,
                             const StoredObject& pod_object, bool pin_revision) {
  auto options = std::make_shared<api::DeleteOptions>(eviction->delete_options());
  api::Pod pod;
  pod.ParseFromString(pod_object.value);
  // The pod decided on, not one that took its name meanwhile (ksim adds the uid; Kubernetes
  // pins only the revision, and only when it skipped the budget).
  if (!options->preconditions().has_uid()) options->mutable_preconditions()->set_uid(pod.metadata().uid());
  if (pin_revision && !options->preconditions().has_resource_version()) {
    options->mutable_preconditions()->set_resource_version(std::to_string(pod_object.mod_revision));
  }
  auto del = std::make_shared<Call>(*call);
  del->request.set_verb("delete");
  del->request.set_subresource("");
  del->request.clear_body();
  del->delete_options = std::move(options);
  const bool retry = pin_revision && !eviction->delete_options().preconditions().has_resource_version();
  del->reply = [this, call, attempt, retry, alive = alive_](Response r) {
    if (!*alive) return false;
    if (r.code() == 409 && retry && attempt + 1 < kMaxEvictionAttempts) {
      Evict(call, attempt + 1);  // the pod changed (became Ready?): decide again
      return false;
    }
    if (r.code() != 200) {
      call->reply(std::move(r));
      return false;
    }
    ReplyStatus(*call, 201, "", "");
    return false;
  };
  Delete(del);
}

}  // namespace ksim::apiserver
