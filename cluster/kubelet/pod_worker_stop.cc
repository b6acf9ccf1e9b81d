// PodWorker, second half: container events, probes, killing containers and pods,
// recovery from the runtime, and the view the status is computed from.
#include <fmt/format.h>

#include <algorithm>

#include "cluster/kubelet/pod_worker.h"

namespace ksim::kubelet {
namespace {

std::string RuntimeId(const std::string& id) { return id.empty() ? "" : "containerd://" + id; }

}  // namespace

void PodWorker::MarkExited(Ctr& c, int exit_code, std::string reason) {
  if (reason.empty()) reason = exit_code == 0 ? "Completed" : "Error";
  c.st = St::kExited;
  c.term = TerminatedView{.exit_code = exit_code, .reason = std::move(reason), .message = "",
                          .started_at = c.started_at, .finished_at = deps_.clock->WallNow(),
                          .container_id = RuntimeId(c.id)};
  c.exited_mono = deps_.clock->MonotonicNow();
  c.ready = false;
  c.started = false;
  c.kill_requested = false;
  c.waiting_reason.clear();
  c.waiting_message.clear();
  StopProbes(c);
  Changed();
  Kick();
}

void PodWorker::OnContainerEvent(const ContainerEvent& event) {
  Ctr* c = Find(event.container_id);
  if (c != nullptr && event.type == ContainerEventType::kStarted) {
    // The runtime's start time, the one a restarted kubelet reads back from ContainerStatus.
    c->started_at = WallOf(event.at);
    return;
  }
  if (event.type != ContainerEventType::kExited) return;
  if (c == nullptr || c->st == St::kExited || c->st == St::kNone) return;
  Log(fmt::format("container {} exited with code {} ({})", c->spec.name(), event.exit_code, event.reason));
  MarkExited(*c, event.exit_code, event.reason);
}

void PodWorker::StartProbes(Ctr& c) {
  ProbeWorker::Target target{deps_.runtime, deps_.net, c.spec, c.id, pod_ip_};
  auto make = [&](ProbeType type, const api::Probe& probe) {
    auto w = std::make_unique<ProbeWorker>(deps_.clock, type, probe, target,
                                           [this, &c, type](ProbeResult r, const std::string& detail) {
                                             OnProbe(c, type, r, detail);
                                           });
    w->Start();
    return w;
  };
  if (c.spec.has_startup_probe() && !c.started) {
    c.startup = make(ProbeType::kStartup, c.spec.startup_probe());
    return;
  }
  c.started = true;
  if (c.spec.has_liveness_probe()) c.liveness = make(ProbeType::kLiveness, c.spec.liveness_probe());
  if (c.spec.has_readiness_probe()) {
    c.readiness = make(ProbeType::kReadiness, c.spec.readiness_probe());
  } else {
    c.ready = !c.init || c.sidecar;
  }
}

void PodWorker::StopProbes(Ctr& c) {
  for (auto* w : {&c.startup, &c.liveness, &c.readiness}) {
    if (*w) {
      (*w)->Stop();
      retired_.push_back(std::move(*w));
    }
  }
}

void PodWorker::OnProbe(Ctr& c, ProbeType type, ProbeResult result, const std::string& detail) {
  if (c.st != St::kRunning) return;
  switch (type) {
    case ProbeType::kStartup:
      if (result == ProbeResult::kSuccess) {
        c.startup->Stop();
        retired_.push_back(std::move(c.startup));
        c.started = true;
        StartProbes(c);
        Changed();
        Kick();
      } else if (result == ProbeResult::kFailure) {
        c.kill_requested = true;
        c.waiting_message = "Startup probe failed: " + detail;
        Event("Warning", "Unhealthy", c.waiting_message);
        Kick();
      }
      return;
    case ProbeType::kLiveness:
      if (result == ProbeResult::kFailure) {
        c.kill_requested = true;
        c.waiting_message = "Liveness probe failed: " + detail;
        Event("Warning", "Unhealthy", c.waiting_message);
        Kick();
      }
      return;
    case ProbeType::kReadiness:
      if (result == ProbeResult::kFailure) Event("Warning", "Unhealthy", "Readiness probe failed: " + detail);
      c.ready = result == ProbeResult::kSuccess;
      Changed();
      return;
  }
}

Nanos PodWorker::GracePeriod() const {
  if (pod_.metadata().has_deletion_grace_period_seconds()) {
    return Seconds(pod_.metadata().deletion_grace_period_seconds());
  }
  if (pod_.spec().has_termination_grace_period_seconds()) {
    return Seconds(pod_.spec().termination_grace_period_seconds());
  }
  return Seconds(30);
}

// A failed liveness or startup probe: the container is stopped (and then restarted or
// not by its restart policy, like any exit), with the probe's own grace if it sets one.
void PodWorker::KillContainer(Ctr& c, const std::string& why) {
  Log(fmt::format("container {} failed its probe ({}), will be restarted", c.spec.name(), why));
  Event("Normal", "Killing",
        fmt::format("Container {} failed {} probe, will be restarted", c.spec.name(),
                    c.spec.has_startup_probe() && !c.started ? "startup" : "liveness"));
  c.kill_requested = false;
  c.stopping = true;
  const api::Probe& probe = c.spec.has_startup_probe() && !c.started ? c.spec.startup_probe() : c.spec.liveness_probe();
  Nanos grace = probe.has_termination_grace_period_seconds() ? Seconds(probe.termination_grace_period_seconds())
                                                             : GracePeriod();
  StopProbes(c);
  const std::string id = c.id;
  deps_.runtime->StopContainer(id, grace, Guard([this, &c, id](Status) {
    c.stopping = false;
    if (c.id == id && c.st == St::kRunning) {
      deps_.runtime->ContainerStatus(id, Guard([this, &c, id](Status s, ContainerStatus cs) {
        if (c.id == id && c.st == St::kRunning) MarkExited(c, s.ok() ? cs.exit_code : 137, s.ok() ? cs.reason : "");
      }));
    }
    Kick();
  }));
}

void PodWorker::SetTerminal() {
  if (terminal_) return;
  Log("all containers finished; the pod is terminal");
  terminal_ = true;
  Changed();
  Kick();
}

void PodWorker::Kill(Nanos grace) {
  const Nanos deadline = deps_.clock->MonotonicNow() + grace;
  if (!killing_ || deadline < kill_deadline_) {
    kill_grace_ = grace;
    kill_deadline_ = deadline;
  }
  killing_ = true;
  Kick();
}

void PodWorker::StopContainerGracefully(Ctr& c, Nanos grace) {
  if (killing_) Event("Normal", "Killing", "Stopping container " + c.spec.name());
  c.stopping = true;
  ++stops_in_flight_;
  const std::string id = c.id;
  auto stop = [this, &c, id](Nanos g) {
    deps_.runtime->StopContainer(id, g, Guard([this, &c, id](Status) {
      deps_.runtime->ContainerStatus(id, Guard([this, &c, id](Status s, ContainerStatus cs) {
        --stops_in_flight_;
        c.stopping = false;
        if (c.id == id && c.st == St::kRunning) MarkExited(c, s.ok() ? cs.exit_code : 137, s.ok() ? cs.reason : "");
        Kick();
      }));
    }));
  };
  if (killing_ && c.spec.lifecycle().has_pre_stop()) {
    const api::LifecycleHandler& h = c.spec.lifecycle().pre_stop();
    const Nanos began = deps_.clock->MonotonicNow();
    RunAction(deps_.runtime, deps_.net, h.has_exec() ? &h.exec() : nullptr, h.has_http_get() ? &h.http_get() : nullptr,
              h.has_tcp_socket() ? &h.tcp_socket() : nullptr, c.spec, id, pod_ip_, grace,
              Guard([this, &c, stop, grace, began](bool ok, const std::string& detail) {
                if (!ok) Log(fmt::format("PreStopHook of {} failed: {}", c.spec.name(), detail));
                const Nanos left = grace - (deps_.clock->MonotonicNow() - began);
                stop(std::max(left, deps_.config->min_grace));
              }));
    return;
  }
  stop(grace);
}

void PodWorker::StopStep() {
  retired_.clear();
  if (terminated_) return;
  if (!stop_started_) {
    stop_started_ = true;
    for (auto* list : {&init_, &app_}) {
      for (auto& c : *list) StopProbes(*c);
    }
  }
  const Nanos grace = killing_ ? std::max(kill_deadline_ - deps_.clock->MonotonicNow(), deps_.config->min_grace)
                               : GracePeriod();
  // App containers (and a running init container) first, all at once; sidecars after
  // them, in reverse order, as Kubernetes stops them.
  bool running = false;
  for (auto* list : {&app_, &init_}) {
    for (auto& c : *list) {
      if (c->sidecar || c->st != St::kRunning) continue;
      running = true;
      if (!c->stopping) StopContainerGracefully(*c, grace);
    }
  }
  if (running) return;
  for (auto it = init_.rbegin(); it != init_.rend(); ++it) {
    Ctr& c = **it;
    if (!c.sidecar || c.st != St::kRunning) continue;
    running = true;
    if (!c.stopping) StopContainerGracefully(c, grace);
  }
  if (running || stops_in_flight_ > 0) return;
  if (!sandbox_id_.empty() && !sandbox_stopped_) {
    if (sandbox_stopping_) return;
    sandbox_stopping_ = true;
    deps_.runtime->StopPodSandbox(sandbox_id_, Guard([this](Status s) {
      sandbox_stopping_ = false;
      sandbox_stopped_ = true;
      sandbox_ready_ = false;
      if (!s.ok()) Log("StopPodSandbox: " + s.ToString());
      Changed();
      Kick();
    }));
    return;
  }
  if (killing_) {
    terminated_ = true;
    Changed();
    if (cb_.on_terminated) cb_.on_terminated();
  }
}

void PodWorker::Adopt(const RuntimePod& rp) {
  const PodSandboxStatus* current = nullptr;
  for (const PodSandboxStatus& sb : rp.sandboxes) {
    sandbox_attempt_ = std::max(sandbox_attempt_, sb.metadata.attempt + 1);
    if (sb.state == SandboxState::kReady) current = &sb;
  }
  for (const PodSandboxStatus& sb : rp.sandboxes) {
    if (&sb != current) stale_sandboxes_.push_back(sb.id);
  }
  if (current != nullptr) {
    sandbox_id_ = current->id;
    sandbox_ready_ = true;
    pod_ip_ = current->ip;
  }
  auto to_term = [this](const ContainerStatus& cs) {
    return TerminatedView{.exit_code = cs.exit_code, .reason = cs.reason, .message = cs.message,
                          .started_at = cs.started_at.count() != 0 ? WallOf(cs.started_at) : Nanos(0),
                          .finished_at = cs.finished_at.count() != 0 ? WallOf(cs.finished_at) : Nanos(0),
                          .container_id = RuntimeId(cs.id)};
  };
  for (auto* list : {&init_, &app_}) {
    for (auto& c : *list) {
      const auto it = rp.containers.find(c->spec.name());
      if (it == rp.containers.end() || it->second.empty()) continue;
      const std::vector<ContainerStatus>& attempts = it->second;
      const ContainerStatus& cs = attempts.back();
      c->id = cs.id;
      c->restart_count = static_cast<int>(cs.attempt);
      c->image_ref = cs.image_ref;
      if (attempts.size() >= 2) c->last = to_term(attempts[attempts.size() - 2]);
      if (cs.state == ContainerState::kRunning && current != nullptr && cs.sandbox_id == current->id) {
        c->st = St::kRunning;
        c->started_at = WallOf(cs.started_at);
        c->waiting_reason.clear();
      } else if (cs.state == ContainerState::kExited || cs.state == ContainerState::kRunning) {
        c->st = St::kExited;
        c->term = to_term(cs);
        if (cs.state == ContainerState::kRunning) c->term.exit_code = 137;  // its sandbox is gone
        c->exited_mono = deps_.clock->MonotonicNow();
        c->waiting_reason.clear();
      }
      if (cs.state == ContainerState::kCreated || cs.state == ContainerState::kUnknown) {
        stale_containers_.push_back(cs.id);  // removed at Start, then created again
        c->id.clear();
      }
    }
  }
}

ContainerView PodWorker::ViewOf(const Ctr& c) const {
  ContainerView v;
  v.name = c.spec.name();
  v.image = c.spec.image();
  v.image_id = c.image_ref;
  v.container_id = RuntimeId(c.id);
  v.restart_count = c.restart_count;
  v.ready = c.ready;
  v.started = c.started;
  v.sidecar = c.sidecar;
  v.last_terminated = c.last;
  switch (c.st) {
    case St::kNone:
    case St::kStarting:
      v.state = ContainerView::State::kWaiting;
      v.waiting_reason = c.waiting_reason.empty() ? "ContainerCreating" : c.waiting_reason;
      v.waiting_message = c.waiting_message;
      if (c.st == St::kNone && c.id.empty()) v.container_id.clear();
      break;
    case St::kRunning:
      v.state = ContainerView::State::kRunning;
      v.started_at = c.started_at;
      break;
    case St::kExited: {
      const bool done = c.init && !c.sidecar && c.term.exit_code == 0;
      if (!terminal_ && !killing_ && !done && ShouldRestart(c)) {
        v.state = ContainerView::State::kWaiting;
        v.waiting_reason = c.waiting_reason.empty() ? "CrashLoopBackOff" : c.waiting_reason;
        v.waiting_message = c.waiting_message;
        v.last_terminated = c.term;
      } else {
        v.state = ContainerView::State::kTerminated;
        v.terminated = c.term;
      }
      break;
    }
  }
  return v;
}

PodView PodWorker::View() const {
  PodView v;
  v.sandbox_ready = sandbox_ready_;
  v.pod_ip = pod_ip_;
  v.host_ip = deps_.config->node_ip;
  v.start_time = start_time_;
  for (const auto& c : init_) v.init_containers.push_back(ViewOf(*c));
  for (const auto& c : app_) v.containers.push_back(ViewOf(*c));
  v.terminal = terminal_;
  return v;
}

}  // namespace ksim::kubelet
