#include "cluster/kubelet/pod_status.h"

#include <fmt/format.h>

#include <string_view>

#include "cluster/env/wire.h"
#include "cluster/kubelet/qos.h"

namespace ksim::kubelet {
namespace {

void SetTime(Nanos t, google::protobuf::Timestamp* ts) {
  ts->set_seconds(std::chrono::duration_cast<std::chrono::seconds>(t).count());
  ts->set_nanos(0);
}

bool InitDone(const ContainerView& c) {
  // A sidecar only has to start; one stopped for good (the pod is ending) did its part.
  if (c.sidecar) return c.started || c.state == ContainerView::State::kTerminated;
  return c.state == ContainerView::State::kTerminated && c.terminated.exit_code == 0;
}

std::string JoinNames(const std::vector<std::string>& names) { return fmt::format("[{}]", fmt::join(names, " ")); }

const api::PodCondition* FindCondition(const api::PodStatus& status, std::string_view type) {
  for (const api::PodCondition& c : status.conditions()) {
    if (c.type() == type) return &c;
  }
  return nullptr;
}

// Adds a condition, keeping the previous transition time while its status holds.
void AddCondition(const api::PodStatus& previous, std::string type, bool ok, std::string reason, std::string message,
                  Nanos now, api::PodStatus* out) {
  api::PodCondition* c = out->add_conditions();
  c->set_type(type);
  c->set_status(ok ? "True" : "False");
  c->set_reason(std::move(reason));
  c->set_message(std::move(message));
  const api::PodCondition* before = FindCondition(previous, type);
  if (before != nullptr && before->status() == c->status() && before->has_last_transition_time()) {
    *c->mutable_last_transition_time() = before->last_transition_time();
  } else {
    SetTime(now, c->mutable_last_transition_time());
  }
}

void FillTerminated(const TerminatedView& t, api::ContainerStateTerminated* out) {
  out->set_exit_code(t.exit_code);
  out->set_reason(t.reason);
  out->set_message(t.message);
  if (t.started_at.count() != 0) SetTime(t.started_at, out->mutable_started_at());
  if (t.finished_at.count() != 0) SetTime(t.finished_at, out->mutable_finished_at());
  out->set_container_id(t.container_id);
}

void FillContainer(const ContainerView& v, api::ContainerStatus* out) {
  out->set_name(v.name);
  out->set_image(v.image);
  out->set_image_id(v.image_id);
  out->set_container_id(v.container_id);
  out->set_restart_count(v.restart_count);
  out->set_ready(v.ready);
  out->set_started(v.started);
  api::ContainerState* state = out->mutable_state();
  switch (v.state) {
    case ContainerView::State::kWaiting:
      state->mutable_waiting()->set_reason(v.waiting_reason);
      state->mutable_waiting()->set_message(v.waiting_message);
      break;
    case ContainerView::State::kRunning:
      SetTime(v.started_at, state->mutable_running()->mutable_started_at());
      break;
    case ContainerView::State::kTerminated:
      FillTerminated(v.terminated, state->mutable_terminated());
      break;
  }
  out->mutable_last_state();
  if (v.last_terminated) FillTerminated(*v.last_terminated, out->mutable_last_state()->mutable_terminated());
}

}  // namespace

std::string ComputePhase(const api::Pod& pod, const PodView& view) {
  const std::string& current = pod.status().phase();
  if (current == "Succeeded" || current == "Failed") return current;  // terminal phases are final
  const std::string& policy = pod.spec().restart_policy();
  bool initializing = false;
  for (const ContainerView& c : view.init_containers) {
    if (InitDone(c)) continue;
    if (!c.sidecar && policy == "Never" && c.state == ContainerView::State::kTerminated) return "Failed";
    initializing = true;
  }
  if (initializing) return "Pending";
  int waiting = 0, running = 0, stopped = 0, succeeded = 0;
  for (const ContainerView& c : view.containers) {
    switch (c.state) {
      case ContainerView::State::kRunning:
        ++running;
        break;
      case ContainerView::State::kTerminated:
        ++stopped;
        if (c.terminated.exit_code == 0) ++succeeded;
        break;
      case ContainerView::State::kWaiting:
        // Waiting to restart after an exit (CrashLoopBackOff) counts as stopped.
        if (c.last_terminated) {
          ++stopped;
        } else {
          ++waiting;
        }
        break;
    }
  }
  if (waiting > 0) return "Pending";
  if (running > 0) return "Running";
  if (stopped > 0) {
    if (policy == "Always") return view.terminal ? "Failed" : "Running";
    if (stopped == succeeded && !view.containers.empty()) return "Succeeded";
    if (policy == "Never" || view.terminal) return "Failed";
    return "Running";
  }
  return "Pending";
}

api::PodStatus ComputePodStatus(const api::Pod& pod, const PodView& view, const api::PodStatus& previous, Nanos now) {
  api::PodStatus s = previous;  // fields the kubelet does not own (nominatedNodeName...) are kept
  s.set_phase(ComputePhase(pod, view));
  if (!view.reason.empty()) s.set_reason(view.reason);
  if (!view.message.empty()) s.set_message(view.message);
  s.clear_conditions();

  const bool networked = view.sandbox_ready && (!view.pod_ip.empty() || pod.spec().host_network());
  AddCondition(previous, "PodReadyToStartContainers", networked, "", "", now, &s);

  std::vector<std::string> incomplete;
  for (const ContainerView& c : view.init_containers) {
    if (!InitDone(c)) incomplete.push_back(c.name);
  }
  const bool initialized = incomplete.empty();
  AddCondition(previous, "Initialized", initialized, initialized ? "" : "ContainersNotInitialized",
               initialized ? "" : fmt::format("containers with incomplete status: {}", JoinNames(incomplete)), now,
               &s);

  std::vector<std::string> unready;
  for (const ContainerView& c : view.init_containers) {
    if (c.sidecar && !c.ready) unready.push_back(c.name);
  }
  for (const ContainerView& c : view.containers) {
    if (!c.ready) unready.push_back(c.name);
  }
  const bool completed = s.phase() == "Succeeded" || s.phase() == "Failed";
  const bool containers_ready = unready.empty() && !completed && initialized;
  std::string reason, message;
  if (!containers_ready) {
    reason = completed ? "PodCompleted" : "ContainersNotReady";
    if (!completed) message = fmt::format("containers with unready status: {}", JoinNames(unready));
  }
  std::vector<std::string> gates;
  for (const api::PodReadinessGate& g : pod.spec().readiness_gates()) {
    const api::PodCondition* c = FindCondition(previous, g.condition_type());
    if (c == nullptr || c->status() != "True") gates.push_back(g.condition_type());
  }
  if (containers_ready && !gates.empty()) {
    AddCondition(previous, "Ready", false, "ReadinessGatesNotReady",
                 fmt::format("corresponding condition of pod readiness gate \"{}\" does not exist.", gates.front()),
                 now, &s);
  } else {
    AddCondition(previous, "Ready", containers_ready, reason, message, now, &s);
  }
  AddCondition(previous, "ContainersReady", containers_ready, reason, message, now, &s);
  if (const api::PodCondition* scheduled = FindCondition(previous, "PodScheduled")) {
    *s.add_conditions() = *scheduled;
  } else {
    AddCondition(previous, "PodScheduled", true, "", "", now, &s);
  }
  // Conditions others own (readiness gates' types, DisruptionTarget...) stay as they were.
  for (const api::PodCondition& c : previous.conditions()) {
    if (FindCondition(s, c.type()) == nullptr) *s.add_conditions() = c;
  }

  s.set_host_ip(view.host_ip);
  s.clear_host_ips();
  if (!view.host_ip.empty()) s.add_host_ips()->set_ip(view.host_ip);
  const std::string pod_ip = pod.spec().host_network() ? view.host_ip : view.pod_ip;
  if (!pod_ip.empty() || !completed) {  // a finished pod keeps the IP it had
    s.set_pod_ip(pod_ip);
    s.clear_pod_ips();
    if (!pod_ip.empty()) s.add_pod_ips()->set_ip(pod_ip);
  }
  if (!s.has_start_time() && view.start_time.count() != 0) SetTime(view.start_time, s.mutable_start_time());
  s.set_qos_class(QosClassName(GetPodQos(pod)));

  s.clear_init_container_statuses();
  for (const ContainerView& c : view.init_containers) FillContainer(c, s.add_init_container_statuses());
  s.clear_container_statuses();
  for (const ContainerView& c : view.containers) FillContainer(c, s.add_container_statuses());
  return s;
}

bool SameStatus(const api::PodStatus& a, const api::PodStatus& b) {
  return SerializeDeterministic(a) == SerializeDeterministic(b);
}

}  // namespace ksim::kubelet
