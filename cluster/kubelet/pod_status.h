// The pod status the kubelet reports, computed from what its pod worker knows (a
// PodView). Pure: the same view and previous status give the same status, so the status
// manager can tell a change from a repeat and write only changes.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cluster/api/core.pb.h"
#include "cluster/env/time.h"

namespace ksim::kubelet {

// A container's terminated state (times are wall-clock, for people).
struct TerminatedView {
  int exit_code = 0;
  std::string reason;  // "Completed", "Error", "OOMKilled", ...
  std::string message;
  Nanos started_at{0};
  Nanos finished_at{0};
  std::string container_id;  // "<runtime>://<id>"
};

struct ContainerView {
  std::string name;
  std::string image;
  std::string image_id;
  std::string container_id;  // "" if none was created yet
  enum class State { kWaiting, kRunning, kTerminated } state = State::kWaiting;
  std::string waiting_reason = "ContainerCreating";  // kWaiting
  std::string waiting_message;
  Nanos started_at{0};  // kRunning
  TerminatedView terminated;  // kTerminated
  std::optional<TerminatedView> last_terminated;
  int restart_count = 0;
  bool ready = false;
  bool started = false;
  bool sidecar = false;  // an init container with restartPolicy Always
};

struct PodView {
  bool sandbox_ready = false;
  std::string pod_ip;
  std::string host_ip;
  Nanos start_time{0};  // wall time the kubelet first took the pod; 0 = not yet
  std::vector<ContainerView> init_containers;  // in spec order
  std::vector<ContainerView> containers;       // in spec order
  // The worker decided the pod is finished (restartPolicy said no more restarts).
  bool terminal = false;
  std::string reason;  // status.reason/message, e.g. a rejected pod
  std::string message;
};

// Kubernetes' phase: Pending until initialized and every app container has started
// once, Running while any runs or will be restarted, Succeeded when all exited 0 and
// none will restart, Failed when all exited, some not 0, and none will restart.
std::string ComputePhase(const api::Pod& pod, const PodView& view);

// The full status: phase, the five conditions (PodScheduled kept as the scheduler wrote
// it, lastTransitionTime kept from `previous` while a condition's status holds),
// container statuses, IPs, startTime, qosClass. `now` (wall) stamps transitions.
api::PodStatus ComputePodStatus(const api::Pod& pod, const PodView& view, const api::PodStatus& previous, Nanos now);

// The status with probe times dropped, for comparing two statuses: equal means nothing
// worth writing changed.
bool SameStatus(const api::PodStatus& a, const api::PodStatus& b);

}  // namespace ksim::kubelet
