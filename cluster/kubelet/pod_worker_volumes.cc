// PodWorker: projected volumes before the sandbox (Kubernetes' WaitForAttachAndMount in
// SyncPod). Until they are written the pod's containers stay waiting ContainerCreating.
#include <fmt/format.h>

#include "cluster/kubelet/pod_worker.h"

namespace ksim::kubelet {

void PodWorker::MountVolumes() {
  const Nanos now = deps_.clock->MonotonicNow();
  if (mount_failed_ && mount_backoff_.InBackoffSinceUpdate(now)) {
    return KickAt(mount_backoff_.last_update() + mount_backoff_.delay() - now);
  }
  busy_ = true;
  deps_.mount_volumes(pod_, Guard([this](Status s) {
    busy_ = false;
    if (s.ok()) {
      volumes_mounted_ = true;
      mount_failed_ = false;
    } else {
      mount_failed_ = true;
      mount_backoff_.Next(deps_.clock->MonotonicNow());
      Event("Warning", "FailedMount", s.message());
      Log(fmt::format("{} (retry in {} ms)", s.message(), mount_backoff_.delay().count() / 1'000'000));
    }
    Kick();
  }));
}

}  // namespace ksim::kubelet
