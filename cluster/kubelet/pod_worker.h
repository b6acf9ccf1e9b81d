// PodWorker: runs one pod (one uid) on the node through the ContainerRuntime. A state
// machine driven by runtime completions, container events and timers; at most one
// sandbox/container operation of the start path is in flight at a time, and every input
// ends in Sync(), which takes the next step:
//   sandbox -> init containers in order (a restartable "sidecar" init container only has
//   to be started) -> app containers -> restarts per restartPolicy with back-off
//   (CrashLoopBackOff 10 s doubling to 300 s, reset after 10 min) -> terminal.
// Killing a pod (deletion) runs preStop hooks, stops containers with the grace period,
// then the sandbox. See docs/KUBELET.md "Pod workers".
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/api/core.pb.h"
#include "cluster/env/clock.h"
#include "cluster/env/container_runtime.h"
#include "cluster/env/logger.h"
#include "cluster/kubelet/pod_status.h"
#include "cluster/kubelet/probe.h"
#include "cluster/kubelet/runtime_state.h"

namespace ksim::kubelet {

struct PodWorkerConfig {
  std::string node_name;
  std::string node_ip;
  std::vector<std::string> dns_servers = {"10.96.0.10"};
  std::string cluster_domain = "cluster.local";
  Nanos backoff_initial = Seconds(10);  // CrashLoopBackOff and ImagePullBackOff
  Nanos backoff_max = Seconds(300);
  Nanos min_grace = Seconds(2);  // Kubernetes' minimumGracePeriodInSeconds
};

// Kubernetes' flowcontrol.Backoff for one key: Next() starts at `initial` and doubles up
// to `max`; an entry not updated for 2*max is forgotten (so a container that ran ten
// minutes restarts without delay and starts over at 10 s).
class Backoff {
 public:
  Backoff(Nanos initial, Nanos max) : initial_(initial), max_(max) {}
  // In back-off for an event (an exit) at `event_time`: true until event_time + delay.
  bool InBackoffSince(Nanos event_time, Nanos now) const;
  // In back-off since the last Next(): true until last_update + delay.
  bool InBackoffSinceUpdate(Nanos now) const;
  void Next(Nanos now);
  Nanos delay() const { return delay_; }
  Nanos last_update() const { return last_update_; }

 private:
  Nanos initial_, max_;
  bool has_ = false;
  Nanos delay_{0};
  Nanos last_update_{0};
};

class PodWorker {
 public:
  struct Deps {
    Clock* clock = nullptr;
    ContainerRuntime* runtime = nullptr;
    NetProber* net = nullptr;
    Logger* log = nullptr;
    const PodWorkerConfig* config = nullptr;
    // An Event about the pod (type "Normal"/"Warning", Kubernetes' kubelet reasons:
    // Pulling, Pulled, Failed, BackOff, Created, Started, Killing, Unhealthy); may be null.
    // The kubelet rate-limits and bounds them (client::EventRecorder).
    std::function<void(const api::Pod& pod, std::string_view type, std::string_view reason,
                       std::string_view message)>
        event = nullptr;
    // Writes the pod's projected volumes (ProjectedVolumeManager::Mount); null: none are.
    // A pod with projected volumes gets no sandbox or container before it succeeded.
    std::function<void(const api::Pod& pod, std::function<void(Status)> done)> mount_volumes = nullptr;
  };
  struct Callbacks {
    std::function<void()> on_change;      // the PodView changed (status may need writing)
    std::function<void()> on_terminated;  // Kill() finished: every container and the sandbox stopped
  };

  // `recovered`: what the runtime already holds for this pod (kubelet restart), or null.
  PodWorker(Deps deps, api::Pod pod, Callbacks callbacks, const RuntimePod* recovered = nullptr);
  ~PodWorker();
  PodWorker(const PodWorker&) = delete;
  PodWorker& operator=(const PodWorker&) = delete;

  void Start();
  // A newer version of the pod from the API: metadata and status are taken (a pod's
  // containers cannot change, and images are not restarted in place); it triggers no step.
  void UpdatePod(const api::Pod& pod);
  // The node's pod CIDR became known (sandboxes wait for it, except hostNetwork pods).
  void SetPodCidr(const std::string& cidr);
  // Stops the pod: preStop hooks, containers with `grace`, then the sandbox;
  // on_terminated when done. Idempotent; a shorter grace later shortens it.
  void Kill(Nanos grace);
  // A runtime event for one of this pod's containers.
  void OnContainerEvent(const ContainerEvent& event);

  PodView View() const;
  const api::Pod& pod() const { return pod_; }
  const std::string& uid() const { return pod_.metadata().uid(); }
  const std::string& sandbox_id() const { return sandbox_id_; }
  bool OwnsContainer(const std::string& container_id) const;
  bool terminal() const { return terminal_; }        // no container will run again
  bool terminated() const { return terminated_; }    // Kill() finished
  bool killing() const { return killing_; }
  // Whether this worker (or the kubelet before it) ever made a sandbox for the pod.
  bool ran() const { return !sandbox_id_.empty() || sandbox_attempt_ > 0; }
  // For tests: the back-off delay a container is waiting out now (0 if none).
  Nanos CrashBackoffDelay(const std::string& container) const;

 private:
  enum class St { kNone, kStarting, kRunning, kExited };
  struct Ctr {
    api::Container spec;
    bool init = false;
    bool sidecar = false;
    std::string id;
    int restart_count = 0;
    St st = St::kNone;
    Nanos started_at{0};  // wall
    TerminatedView term;  // the current container's exit (st == kExited)
    Nanos exited_mono{0};  // when the kubelet learned of that exit (back-off counts from it)
    std::optional<TerminatedView> last;
    std::string waiting_reason = "ContainerCreating";
    std::string waiting_message;
    std::string image_ref;
    bool pull_failed = false;
    Backoff crash;
    Backoff pull;
    std::unique_ptr<ProbeWorker> startup, liveness, readiness;
    bool started = false;
    bool ready = false;
    bool kill_requested = false;  // a liveness or startup probe failed
    bool stopping = false;
    Ctr(Nanos initial, Nanos max) : crash(initial, max), pull(initial, max) {}
  };

  // Schedules Sync on the loop (once, however often it is asked).
  void Kick();
  void KickAt(Nanos delay);
  void Sync();
  bool SyncContainer(Ctr& c);  // true if an operation began
  bool ShouldRestart(const Ctr& c) const;
  bool TryStart(Ctr& c);
  void RunSandbox();
  void MountVolumes();  // pod_worker_volumes.cc
  void AdoptRacedSandbox();
  void AdoptRacedContainer(Ctr& c);
  void EnsureImage(Ctr& c, std::function<void(bool ok)> then);
  void CreateAndStart(Ctr& c);
  void StartProbes(Ctr& c);
  void StopProbes(Ctr& c);
  void OnProbe(Ctr& c, ProbeType type, ProbeResult result, const std::string& detail);
  void KillContainer(Ctr& c, const std::string& why);
  void MarkExited(Ctr& c, int exit_code, std::string reason);
  void SetTerminal();
  void StopStep();  // stops what runs (Kill or terminal), then the sandbox
  void StopContainerGracefully(Ctr& c, Nanos grace);
  Nanos GracePeriod() const;
  void Adopt(const RuntimePod& rp);
  void Changed();
  Ctr* Find(const std::string& container_id);
  Nanos WallOf(Nanos host_monotonic) const;
  ContainerView ViewOf(const Ctr& c) const;
  void Log(const std::string& message) const;
  void Event(std::string_view type, std::string_view reason, const std::string& message) const;

  template <typename F>
  auto Guard(F fn) {
    return [alive = alive_, fn = std::move(fn)](auto&&... args) mutable {
      if (*alive) fn(std::forward<decltype(args)>(args)...);
    };
  }

  Deps deps_;
  api::Pod pod_;
  Callbacks cb_;
  std::vector<std::unique_ptr<Ctr>> init_;
  std::vector<std::unique_ptr<Ctr>> app_;
  std::string pod_cidr_;
  std::string sandbox_id_;
  bool sandbox_ready_ = false;
  std::string pod_ip_;
  uint32_t sandbox_attempt_ = 0;
  std::string sandbox_error_;
  Nanos start_time_{0};
  bool busy_ = false;
  bool initialized_ = false;  // every init container completed (sidecars started) once
  bool terminal_ = false;
  bool killing_ = false;
  bool terminated_ = false;
  bool stop_started_ = false;
  bool sandbox_stopping_ = false;
  int stops_in_flight_ = 0;
  Nanos kill_grace_{0};
  Nanos kill_deadline_{0};
  TimerId sync_timer_ = 0;
  TimerId wake_timer_ = 0;
  Nanos wake_at_{0};
  bool sandbox_stopped_ = false;
  // Projected volumes: mounted once before the sandbox; a failure retries with back-off
  // (Kubernetes' volume operations: 500 ms doubling to 122 s) and a FailedMount Event.
  bool volumes_mounted_ = false;
  bool mount_failed_ = false;
  Backoff mount_backoff_{Milliseconds(500), Seconds(122)};
  std::vector<std::string> stale_sandboxes_;  // recovered, not current: removed at Start
  std::vector<std::string> stale_containers_;  // recovered, created but never started
  // Probe workers stopped from inside their own callbacks, destroyed at the next Sync.
  std::vector<std::unique_ptr<ProbeWorker>> retired_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ksim::kubelet
