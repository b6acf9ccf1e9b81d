#include "cluster/scheduler/scheduler.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cassert>

#include "cluster/api/codec.h"
#include "cluster/api/core.pb.h"
#include "cluster/api/scheduling.pb.h"
#include "cluster/env/wire.h"
#include "cluster/scheduler/explain.h"

namespace ksim::scheduler {
namespace {

const api::KindInfo& Kind(const char* group, const char* resource) {
  return *api::Registry::Default().ByGroupResource(group, resource);
}

// Which node fields changed, as cluster-event action bits.
uint32_t NodeChanges(const api::Node& a, const api::Node& b) {
  uint32_t actions = 0;
  auto sorted = [](const auto& map) { return std::map<std::string, std::string>(map.begin(), map.end()); };
  if (sorted(a.metadata().labels()) != sorted(b.metadata().labels())) actions |= kEventUpdateNodeLabel;
  if (SerializeDeterministic(a.spec()) != SerializeDeterministic(b.spec())) {
    if (a.spec().unschedulable() != b.spec().unschedulable()) actions |= kEventUpdateNodeSchedulable;
    actions |= kEventUpdateNodeTaint;
  }
  if (sorted(a.status().allocatable()) != sorted(b.status().allocatable())) actions |= kEventUpdateNodeAllocatable;
  if (actions == 0) actions = kEventUpdateOther;
  return actions;
}

}  // namespace

Scheduler::Scheduler(Env& env, SchedulerOptions options) : env_(env), options_(std::move(options)) {}

Scheduler::~Scheduler() {
  *alive_ = false;
  if (backoff_timer_ != 0) env_.clock->Cancel(backoff_timer_);
  if (leftover_timer_ != 0) env_.clock->Cancel(leftover_timer_);
  elector_.reset();
  pods_.reset();
  nodes_.reset();
  namespaces_.reset();
  priority_classes_.reset();
}

void Scheduler::Start() {
  const PluginRegistry& registry = PluginRegistry::Default();
  if (options_.config_yaml.empty()) {
    config_ = DefaultSchedulerConfig();
  } else {
    config_status_ = ParseSchedulerConfig(options_.config_yaml, options_.config_source, registry, &config_);
  }
  for (const ProfileConfig& profile : config_.profiles) {
    if (!config_status_.ok()) break;
    std::unique_ptr<Framework> fw;
    config_status_ = Framework::Create(profile, registry, &fw);
    if (config_status_.ok()) frameworks_[profile.scheduler_name] = std::move(fw);
  }
  if (!config_status_.ok()) {
    env_.log->Log(LogLevel::kError, "scheduler", fmt::format("bad configuration: {}", config_status_.message()));
    return;
  }
  SchedulingQueueOptions qo;
  qo.pod_initial_backoff = config_.pod_initial_backoff;
  qo.pod_max_backoff = config_.pod_max_backoff;
  qo.max_pods = options_.max_pending_pods;
  queue_ = std::make_unique<SchedulingQueue>(qo);
  cursor_ = std::make_unique<ScheduleCursor>(env_.random->Child("scheduler"));

  client::ApiClientOptions co;
  co.endpoints = options_.apiservers;
  co.token = options_.token;
  co.user_agent = "ksim-scheduler";
  client_ = std::make_unique<client::ApiClient>(env_, co);

  namespaces_ = std::make_unique<client::Informer>(env_, client_.get(), Kind("", "namespaces"));
  namespaces_->AddHandlers({[this](const client::ObjectPtr& o) { OnNamespace(o, false); },
                            [this](const client::ObjectPtr&, const client::ObjectPtr& o) { OnNamespace(o, false); },
                            [this](const client::ObjectPtr& o) { OnNamespace(o, true); }});
  priority_classes_ = std::make_unique<client::Informer>(env_, client_.get(), Kind("scheduling.k8s.io", "priorityclasses"));
  nodes_ = std::make_unique<client::Informer>(env_, client_.get(), Kind("", "nodes"));
  nodes_->AddHandlers({[this](const client::ObjectPtr& o) { OnNodeEvent(nullptr, o); },
                       [this](const client::ObjectPtr& a, const client::ObjectPtr& b) { OnNodeEvent(a, b); },
                       [this](const client::ObjectPtr& o) { OnNodeDelete(o); }});
  pods_ = std::make_unique<client::Informer>(env_, client_.get(), Kind("", "pods"));
  pods_->AddHandlers({[this](const client::ObjectPtr& o) { OnPodAdd(o); },
                      [this](const client::ObjectPtr& a, const client::ObjectPtr& b) { OnPodUpdate(a, b); },
                      [this](const client::ObjectPtr& o) { OnPodDelete(o); }});
  namespaces_->Start();
  priority_classes_->Start();
  nodes_->Start();
  pods_->Start();

  if (options_.leader_elect) {
    client::LeaderElectionConfig lc;
    lc.name = options_.lease_name;
    lc.identity = env_.host + "_scheduler";
    lc.on_started_leading = [this] {
      leading_ = true;
      Kick();
    };
    lc.on_stopped_leading = [this] { leading_ = false; };
    Status error;
    elector_ = client::LeaderElector::Create(env_, client_.get(), lc, &error);
    assert(elector_ != nullptr);
    elector_->Start();
  } else {
    leading_ = true;
  }
  ArmLeftoverTimer();
  Kick();
}

bool Scheduler::IsLeader() const { return leading_ && (elector_ == nullptr || elector_->IsLeader()); }

bool Scheduler::HasSynced() const {
  return pods_ != nullptr && pods_->HasSynced() && nodes_->HasSynced() && namespaces_->HasSynced() &&
         priority_classes_->HasSynced();
}

size_t Scheduler::PendingPods() const { return queue_ == nullptr ? 0 : queue_->size(); }

// ---------------------------------------------------------------- informer events

PodInfoPtr Scheduler::Parse(const client::ObjectPtr& object) {
  auto pod = std::static_pointer_cast<const api::Pod>(object);
  std::shared_ptr<PodInfo> info;
  Status s = PodInfo::Build(pod, &info);
  if (!s.ok()) {
    env_.log->Log(LogLevel::kWarning, "scheduler", fmt::format("pod {}/{}: {}", pod->metadata().namespace_(),
                                                  pod->metadata().name(), s.message()));
    return nullptr;
  }
  // Admission resolves priorityClassName into spec.priority in Kubernetes; a pod that
  // reached us without it gets its class's value here.
  if (!pod->spec().has_priority() && !pod->spec().priority_class_name().empty()) {
    client::ObjectPtr pc = priority_classes_->Get(pod->spec().priority_class_name());
    if (pc != nullptr) {
      const auto& klass = static_cast<const api::PriorityClass&>(*pc);
      info->priority = klass.value();
      if (klass.has_preemption_policy()) info->preempt_never = klass.preemption_policy() == "Never";
    }
  }
  return info;
}

const Framework* Scheduler::FrameworkFor(const api::Pod& pod) const {
  // An empty schedulerName is the default (the apiserver's defaulting sets it anyway).
  const std::string& name = pod.spec().scheduler_name();
  auto it = frameworks_.find(name.empty() ? std::string_view("default-scheduler") : std::string_view(name));
  return it == frameworks_.end() ? nullptr : it->second.get();
}

bool Scheduler::Responsible(const api::Pod& pod) const { return FrameworkFor(pod) != nullptr; }

void Scheduler::MoveOnEvent(ClusterEvent event) {
  size_t moved = queue_->MoveAllToActiveOrBackoff(
      event, env_.clock->MonotonicNow(), [this, &event](const PodInfo& pod, const std::vector<std::string>& plugins) {
        const Framework* framework = FrameworkFor(*pod.pod);
        return framework != nullptr && framework->EventMayHelp(event, plugins);
      });
  if (moved > 0) Kick();
}

void Scheduler::OnPodAdd(const client::ObjectPtr& object) {
  const auto& pod = static_cast<const api::Pod&>(*object);
  const std::string& phase = pod.status().phase();
  if (!pod.spec().node_name().empty()) {
    PodInfoPtr info = Parse(object);
    if (info == nullptr) return;
    queue_->Delete(info->uid);
    cache_.AddOrUpdatePod(info);
    MoveOnEvent({EventResource::kAssignedPod, kEventAdd});
    return;
  }
  if (phase == "Succeeded" || phase == "Failed" || pod.metadata().has_deletion_timestamp() || !Responsible(pod)) {
    return;
  }
  PodInfoPtr info = Parse(object);
  if (info == nullptr) return;
  Status s = queue_->Add(info, env_.clock->MonotonicNow());
  if (!s.ok()) env_.log->Log(LogLevel::kWarning, "scheduler", fmt::format("{}", s.message()));
  Kick();
}

void Scheduler::OnPodUpdate(const client::ObjectPtr& old_object, const client::ObjectPtr& new_object) {
  const auto& old_pod = static_cast<const api::Pod&>(*old_object);
  const auto& pod = static_cast<const api::Pod&>(*new_object);
  if (!pod.spec().node_name().empty()) {
    PodInfoPtr info = Parse(new_object);
    if (info == nullptr) return;
    if (old_pod.spec().node_name().empty()) {
      // Bound: it leaves the queue (it may still be there if another replica bound it).
      queue_->Delete(info->uid);
      reported_.erase(info->uid);
    }
    cache_.AddOrUpdatePod(info);
    const std::string& phase = pod.status().phase();
    if (phase == "Succeeded" || phase == "Failed") {
      MoveOnEvent({EventResource::kAssignedPod, kEventDelete});
    } else if (old_pod.spec().node_name().empty()) {
      MoveOnEvent({EventResource::kAssignedPod, kEventAdd});
    } else {
      uint32_t actions = kEventUpdateOther;
      std::map<std::string, std::string> a(old_pod.metadata().labels().begin(), old_pod.metadata().labels().end());
      std::map<std::string, std::string> b(pod.metadata().labels().begin(), pod.metadata().labels().end());
      if (a != b) actions |= kEventUpdatePodLabel;
      MoveOnEvent({EventResource::kAssignedPod, actions});
    }
    return;
  }
  if (pod.metadata().has_deletion_timestamp() || !Responsible(pod)) {
    queue_->Delete(pod.metadata().uid());
    return;
  }
  PodInfoPtr old_info = Parse(old_object);
  PodInfoPtr info = Parse(new_object);
  if (info == nullptr) return;
  Status s = queue_->Update(old_info, info, env_.clock->MonotonicNow());
  if (!s.ok()) env_.log->Log(LogLevel::kWarning, "scheduler", s.message());
  Kick();
}

void Scheduler::OnPodDelete(const client::ObjectPtr& object) {
  const auto& pod = static_cast<const api::Pod&>(*object);
  const std::string& uid = pod.metadata().uid();
  queue_->Delete(uid);
  reported_.erase(uid);
  if (cache_.GetPod(uid) != nullptr) {
    cache_.RemovePod(uid);
    MoveOnEvent({EventResource::kAssignedPod, kEventDelete});
  }
}

void Scheduler::OnNodeEvent(const client::ObjectPtr& old_object, const client::ObjectPtr& new_object) {
  auto node = std::static_pointer_cast<const api::Node>(new_object);
  std::shared_ptr<const NodeData> data;
  Status s = NodeData::Build(node, &data);
  if (!s.ok()) {
    env_.log->Log(LogLevel::kWarning, "scheduler", fmt::format("node {}: {}", node->metadata().name(), s.message()));
    return;
  }
  cache_.AddOrUpdateNode(std::move(data));
  if (old_object == nullptr) {
    MoveOnEvent({EventResource::kNode, kEventAdd});
  } else {
    MoveOnEvent({EventResource::kNode, NodeChanges(static_cast<const api::Node&>(*old_object), *node)});
  }
}

void Scheduler::OnNodeDelete(const client::ObjectPtr& object) {
  cache_.RemoveNode(static_cast<const api::Node&>(*object).metadata().name());
}

void Scheduler::OnNamespace(const client::ObjectPtr& object, bool deleted) {
  const auto& ns = static_cast<const api::Namespace&>(*object);
  if (deleted) {
    cache_.RemoveNamespace(ns.metadata().name());
    return;
  }
  cache_.SetNamespace(ns.metadata().name(), Labels(ns.metadata().labels().begin(), ns.metadata().labels().end()));
  MoveOnEvent({EventResource::kNamespace, kEventAdd});
}

// ---------------------------------------------------------------- cycles

void Scheduler::Kick() {
  if (turn_pending_ || queue_ == nullptr) return;
  turn_pending_ = true;
  env_.clock->Schedule(Nanos(0), [this, alive = alive_] {
    if (!*alive) return;
    turn_pending_ = false;
    Turn();
  });
}

void Scheduler::Turn() {
  if (!IsLeader() || !HasSynced()) return;
  const Nanos now = env_.clock->MonotonicNow();
  queue_->FlushBackoffCompleted(now);
  size_t cycles = 0;
  for (; cycles < options_.cycles_per_turn && binds_in_flight_ < options_.max_binds_in_flight; ++cycles) {
    std::shared_ptr<const PoppedPod> next = queue_->Pop(now);
    if (next == nullptr) break;
    ScheduleOne(*next);
  }
  if (cycles == options_.cycles_per_turn) Kick();
  ArmBackoffTimer();
}

void Scheduler::ArmLeftoverTimer() {
  // Kubernetes flushes pods unschedulable for over 5 minutes every 30 s, so a pod whose
  // event was missed (or never registered) is not stuck forever.
  leftover_timer_ = env_.clock->Schedule(options_.leftover_flush_period, [this, alive = alive_] {
    if (!*alive) return;
    leftover_timer_ = 0;
    if (queue_->FlushUnschedulableLeftover(env_.clock->MonotonicNow()) > 0) Kick();
    ArmLeftoverTimer();
  });
}

void Scheduler::ArmBackoffTimer() {
  std::optional<Nanos> at = queue_->NextBackoffExpiry();
  if (!at.has_value()) return;
  if (backoff_timer_ != 0 && backoff_timer_at_ <= *at) return;
  if (backoff_timer_ != 0) env_.clock->Cancel(backoff_timer_);
  backoff_timer_at_ = *at;
  const Nanos now = env_.clock->MonotonicNow();
  backoff_timer_ = env_.clock->Schedule(*at > now ? *at - now : Nanos(0), [this, alive = alive_] {
    if (!*alive) return;
    backoff_timer_ = 0;
    Kick();
  });
}

void Scheduler::ScheduleOne(const PoppedPod& queued) {
  const PodInfoPtr& pod = queued.pod;
  if (cache_.GetPod(pod->uid) != nullptr) {  // assumed or bound meanwhile
    queue_->Done(pod->uid);
    return;
  }
  const Framework* profile = FrameworkFor(*pod->pod);
  if (profile == nullptr) {
    queue_->Done(pod->uid);
    return;
  }
  const Framework& framework = *profile;
  ++stats_.cycles;
  cache_.UpdateSnapshot(&snapshot_);
  CycleState state = framework.NewCycleState();
  ScheduleResult result;
  Diagnosis diagnosis;
  PluginStatus status =
      SchedulePod(framework, snapshot_, *pod, state, *cursor_, &result, &diagnosis, &queue_->nominated_pods());
  stats_.nodes_evaluated += result.evaluated_nodes;
  const Nanos now = env_.clock->MonotonicNow();
  if (status.ok()) {
    if (options_.verify_binds) {
      const NodeInfo* chosen = snapshot_.Find(result.node);
      CycleState fresh = framework.NewCycleState();
      if (chosen == nullptr || !framework.RunPreFilter(fresh, *pod, snapshot_).ok()) {
        ++stats_.filter_violations;
      } else {
        for (const PluginStatus& v : framework.RunFilterAll(fresh, *pod, *chosen)) {
          if (!v.ok() && !v.IsSkip()) ++stats_.filter_violations;
        }
      }
    }
    auto assumed = std::make_shared<PodInfo>(*pod);
    assumed->node_name = result.node;
    Status s = cache_.AssumePod(assumed);
    assert(s.ok());
    (void)s;
    // The pod stays in flight until the binding answers: a failure brings it back with
    // back-off, a success (or the informer showing it bound) lets the queue forget it.
    Bind(assumed, queued.scheduling_cycle);
    return;
  }
  if (status.IsRejection()) {
    ++stats_.unschedulable;
    // Kubernetes runs PostFilter on every fit error; with only unresolvable nodes it says
    // so ("Preemption is not helpful for scheduling").
    if (framework.HasPostFilter()) {
      Preempt(framework, state, *pod, &diagnosis);
    }
    ReportUnschedulable(*pod, FitErrorMessage(diagnosis));
    (void)queue_->AddUnschedulableIfNotPresent(pod, diagnosis.unschedulable_plugins, queued.scheduling_cycle, now);
    return;
  }
  ++stats_.errors;

  env_.log->Log(LogLevel::kWarning, "scheduler",
                fmt::format("pod {}: {} ({})", pod->Key(), status.ToString(), status.plugin()));
  (void)queue_->AddUnschedulableIfNotPresent(pod, {}, queued.scheduling_cycle, now);
}

void Scheduler::Bind(const PodInfoPtr& pod, int64_t scheduling_cycle) {
  const std::string& node = pod->node_name;
  api::Binding binding;
  binding.mutable_metadata()->set_name(pod->name);
  binding.mutable_metadata()->set_namespace_(pod->ns);
  binding.mutable_metadata()->set_uid(pod->uid);
  binding.mutable_target()->set_kind("Node");
  binding.mutable_target()->set_name(node);
  apiserver::Request r;
  r.set_verb("create");
  r.set_version("v1");
  r.set_resource("pods");
  r.set_subresource("binding");
  r.set_namespace_(pod->ns);
  r.set_name(pod->name);
  r.set_body(SerializeDeterministic(binding));
  if (options_.on_bind) options_.on_bind(env_.host + "_scheduler", IsLeader(), r);
  ++binds_in_flight_;
  client_->Do(std::move(r), [this, pod, scheduling_cycle, alive = alive_](const client::ApiResult& result) {
    if (!*alive) return;
    assert(binds_in_flight_ > 0);
    if (binds_in_flight_-- == options_.max_binds_in_flight) Kick();  // scheduling was paused on the limit
    if (result.ok()) {
      ++stats_.scheduled;
      queue_->Done(pod->uid);
      return;
    }
    ++stats_.bind_failures;
    env_.log->Log(LogLevel::kInfo, "scheduler", fmt::format("binding {} failed: {}", pod->Key(), result.Describe()));
    ResolveFailedBind(pod, scheduling_cycle);
  });
}

void Scheduler::ResolveFailedBind(const PodInfoPtr& pod, int64_t scheduling_cycle) {
  // A failed binding may still have bound the pod: a 409 answers a retry whose first
  // attempt had landed (or another replica's binding), and a timeout says nothing. This
  // replica's informer may not show it yet, so forgetting the assumption now would leave
  // the node looking free to the next cycles: two pods with anti-affinity landed on one
  // node that way (SchedulerProperty.WithCrashingReplicas...). The apiserver's get is a
  // quorum read: it says whether, and where, the pod is bound.
  client_->Get(Kind("", "pods"), pod->ns, pod->name,
               [this, pod, scheduling_cycle, alive = alive_](const client::ApiResult& result) {
                 if (!*alive) return;
                 auto current = std::make_shared<api::Pod>();
                 if (result.ok() && current->ParseFromString(result.body) && current->metadata().uid() == pod->uid &&
                     !current->spec().node_name().empty()) {
                   // Bound. Unless the informer got there first (confirmed or deleted it),
                   // the assumption moves to where the pod is; the informer confirms it.
                   if (cache_.IsAssumed(pod->uid)) {
                     if (PodInfoPtr bound = Parse(current); bound != nullptr) cache_.AddOrUpdatePod(bound);
                   }
                   queue_->Done(pod->uid);
                   return;
                 }
                 ForgetAndRetry(pod, scheduling_cycle);
               });
}

void Scheduler::ForgetAndRetry(const PodInfoPtr& pod, int64_t scheduling_cycle) {
  // Forgetting is a no-op if the informer already showed the pod bound.
  cache_.ForgetPod(pod->uid);
  client::ObjectPtr current = pods_->Get(pod->Key());
  if (current == nullptr || !static_cast<const api::Pod&>(*current).spec().node_name().empty()) {
    queue_->Done(pod->uid);  // gone, or bound by someone else
    return;
  }
  PodInfoPtr again = Parse(current);
  if (again == nullptr) return;
  // NotFound: deleted meanwhile; nothing to retry.
  (void)queue_->AddUnschedulableIfNotPresent(again, {}, scheduling_cycle, env_.clock->MonotonicNow());
  ArmBackoffTimer();
}

void Scheduler::Preempt(const Framework& framework, CycleState& state, const PodInfo& pod, Diagnosis* diagnosis) {
  PostFilterResult result;
  PluginStatus s = framework.RunPostFilter(state, pod, snapshot_, *diagnosis, &result);
  if (!s.ok() || result.nominated_node.empty()) {
    if (!s.ok() && !s.reasons().empty()) diagnosis->post_filter_message = s.reasons()[0];
    // Preemption found no room: an earlier nomination no longer holds (Kubernetes
    // overrides it with none).
    if (!queue_->NominatedNode(pod.uid).empty() || !pod.pod->status().nominated_node_name().empty()) {
      queue_->ClearNominatedNode(pod.uid);
      PatchNominatedNodeName(pod, "");
    }
    return;
  }
  ++stats_.preemptions;
  // Lower-priority pods nominated to that node may no longer fit there: their nominations
  // go (Kubernetes' prepareCandidate), and they look again when next scheduled.
  auto on_node = queue_->nominated_pods().find(result.nominated_node);
  if (on_node != queue_->nominated_pods().end()) {
    std::vector<PodInfoPtr> lower;
    for (const PodInfoPtr& other : on_node->second) {
      if (other->uid != pod.uid && other->priority < pod.priority) lower.push_back(other);
    }
    for (const PodInfoPtr& other : lower) {
      queue_->ClearNominatedNode(other->uid);
      PatchNominatedNodeName(*other, "");
    }
  }
  for (const PodInfoPtr& victim : result.victims) {
    if (victim->terminating) continue;
    ++stats_.victims;
    // An ordinary delete (the victim keeps its terminationGracePeriodSeconds), of this
    // victim only: a uid precondition spares a new pod that took its name meanwhile.
    api::DeleteOptions only_this;
    only_this.mutable_preconditions()->set_uid(victim->uid);
    client_->Delete(Kind("", "pods"), victim->ns, victim->name, only_this, [](const client::ApiResult&) {});
    // Until the informer reports the deletion, the cache holds the victim as terminating:
    // the preemptor then waits for it instead of preempting again (DefaultPreemption's
    // eligibility rule), and no other preemption picks it twice.
    auto leaving = std::make_shared<PodInfo>(*victim);
    leaving->terminating = true;
    cache_.AddOrUpdatePod(leaving);
    EmitPodEvent(*victim, "Preempted", "Normal",
                 fmt::format("Preempted by pod {} on node {}", pod.uid, result.nominated_node));
  }
  (void)queue_->SetNominatedNode(pod.uid, result.nominated_node);
  PatchNominatedNodeName(pod, result.nominated_node);
}

void Scheduler::EmitPodEvent(const PodInfo& pod, const std::string& reason, const std::string& type,
                             const std::string& message) {
  api::Event ev;
  ev.mutable_metadata()->set_namespace_(pod.ns);
  ev.mutable_metadata()->set_name(fmt::format("{}.{:x}", pod.name, ++event_seq_));
  ev.mutable_involved_object()->set_kind("Pod");
  ev.mutable_involved_object()->set_api_version("v1");
  ev.mutable_involved_object()->set_namespace_(pod.ns);
  ev.mutable_involved_object()->set_name(pod.name);
  ev.mutable_involved_object()->set_uid(pod.uid);
  ev.set_reason(reason);
  ev.set_message(message);
  ev.set_type(type);
  ev.mutable_source()->set_component("default-scheduler");
  ev.set_reporting_component("default-scheduler");
  ev.set_reporting_instance(env_.host);
  ev.set_count(1);
  const int64_t wall_s = env_.clock->WallNow().count() / 1'000'000'000;
  ev.mutable_first_timestamp()->set_seconds(wall_s);
  ev.mutable_last_timestamp()->set_seconds(wall_s);
  ++stats_.events_emitted;
  client_->Create(Kind("", "events"), ev, [](const client::ApiResult&) {});
}

void Scheduler::PatchNominatedNodeName(const PodInfo& pod, const std::string& node) {
  // A JSON merge patch: null removes the field.
  nlohmann::json value = node.empty() ? nlohmann::json(nullptr) : nlohmann::json(node);
  nlohmann::json patch = {{"status", {{"nominatedNodeName", value}}}};
  client_->Patch(Kind("", "pods"), pod.ns, pod.name, "application/merge-patch+json", patch.dump(),
                 [](const client::ApiResult&) {}, "status");
}

void Scheduler::ReportUnschedulable(const PodInfo& pod, const std::string& message) {
  if (!options_.report_unschedulable) return;
  auto it = reported_.find(pod.uid);
  if (it != reported_.end() && it->second == message) return;
  reported_[pod.uid] = message;
  EmitPodEvent(pod, "FailedScheduling", "Warning", message);
  const int64_t wall_s = env_.clock->WallNow().count() / 1'000'000'000;
  // The condition as a strategic merge patch (conditions merge by type).
  api::Pod patch;
  api::PodCondition* c = patch.mutable_status()->add_conditions();
  c->set_type("PodScheduled");
  c->set_status("False");
  c->set_reason("Unschedulable");
  c->set_message(message);
  c->mutable_last_transition_time()->set_seconds(wall_s);
  client_->Patch(Kind("", "pods"), pod.ns, pod.name, "application/strategic-merge-patch+json", api::EncodeJson(patch),
                 [](const client::ApiResult&) {}, "status");
}

std::string Scheduler::Explain(const std::string& key) {
  client::ObjectPtr object = pods_ == nullptr ? nullptr : pods_->Get(key);
  if (object == nullptr) return fmt::format("pod {} not found\n", key);
  PodInfoPtr pod = Parse(object);
  if (pod == nullptr) return fmt::format("pod {} cannot be parsed\n", key);
  const Framework* framework = FrameworkFor(*pod->pod);
  if (framework == nullptr) {
    return fmt::format("pod {}: no profile \"{}\"\n", key, pod->pod->spec().scheduler_name());
  }
  cache_.UpdateSnapshot(&snapshot_);
  return RenderExplanation(ExplainPod(*framework, snapshot_, *pod), *framework);
}

}  // namespace ksim::scheduler
