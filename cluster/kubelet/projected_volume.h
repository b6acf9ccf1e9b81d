// ProjectedVolumeManager: the contents of a pod's projected volumes (Kubernetes'
// projected volume plugin, kubernetes.io~projected), written to the host's Disk where
// Kubernetes' kubelet keeps them:
//   pods/<pod uid>/volumes/kubernetes.io~projected/<volume name>/<path>
// (the Disk's root is the kubelet's root directory, /var/lib/kubelet on a real host; a real
// runtime bind-mounts the volume directory into the containers).
//
// Sources materialised: serviceAccountToken (a token bound to the pod, from the
// ServiceAccountTokenManager), configMap (keys or items; `optional`), downwardAPI fieldRef
// metadata.name / namespace / uid / labels / annotations. Others (secret,
// clusterTrustBundle, resourceFieldRef) are skipped with a log line.
//
// Mount() writes every projected volume of a pod, each file replaced atomically (written
// beside it, then renamed), and answers an error naming the volume when any source fails
// (nothing is written then); the pod worker starts no container before it succeeded.
// Mounted pods are mounted again every resync period (Kubernetes' remount of projected
// volumes at each pod sync), which refreshes tokens due for it. Unmount() removes the files
// and forgets the pod's tokens. See docs/KUBELET.md "Projected volumes".
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "cluster/api/core.pb.h"
#include "cluster/client/api_client.h"
#include "cluster/env/clock.h"
#include "cluster/env/disk.h"
#include "cluster/env/logger.h"
#include "cluster/kubelet/token_manager.h"

namespace ksim::kubelet {

struct ProjectedVolumeOptions {
  std::string root = "pods";
  Nanos resync_period = Seconds(60);  // Kubernetes' syncFrequency
  size_t max_files_per_pod = 1024;
  size_t max_bytes_per_pod = size_t{16} << 20;
};

// Kubernetes' default and minimum for ServiceAccountTokenProjection.expirationSeconds.
inline constexpr int64_t kDefaultProjectedTokenSeconds = 3600;
inline constexpr int64_t kMinProjectedTokenSeconds = 600;

// Whether the pod has a projected volume (the worker waits for Mount only then).
bool HasProjectedVolumes(const api::Pod& pod);

// Where a file of a projected volume lives on the Disk.
std::string ProjectedFilePath(const std::string& root, const std::string& pod_uid, const std::string& volume,
                              const std::string& path);

class ProjectedVolumeManager {
 public:
  ProjectedVolumeManager(Clock* clock, Disk* disk, client::ApiClient* client, Logger* log,
                         ServiceAccountTokenManager* tokens, ProjectedVolumeOptions options = {});
  ~ProjectedVolumeManager();
  ProjectedVolumeManager(const ProjectedVolumeManager&) = delete;
  ProjectedVolumeManager& operator=(const ProjectedVolumeManager&) = delete;

  // Starts the resync timer.
  void Start();
  // Writes the pod's projected volumes; done runs on the event loop with OK, or with
  // `MountVolume.SetUp failed for volume "<name>" : <why>`.
  void Mount(const api::Pod& pod, std::function<void(Status)> done);
  // Removes the pod's files and forgets its tokens; a mount in flight writes nothing.
  void Unmount(const std::string& pod_uid);

  size_t mounted() const { return pods_.size(); }
  uint64_t mounts() const { return mounts_; }

 private:
  struct MountedPod {
    api::Pod pod;
    uint64_t generation = 0;           // of the latest Mount, so an older one does not write
    std::set<std::string> files;       // Disk paths written
    bool ok = false;                   // mounted once: resynced
  };
  struct Op;
  void Resync();
  void Collect(const std::shared_ptr<Op>& op);
  void AddConfigMap(const std::shared_ptr<Op>& op, const std::string& volume, const api::ConfigMapProjection& source);
  void Complete(const std::shared_ptr<Op>& op);
  Status Write(MountedPod& mp, const std::map<std::string, std::string>& files);

  Clock* clock_;
  Disk* disk_;
  client::ApiClient* client_;
  Logger* log_;
  ServiceAccountTokenManager* tokens_;
  ProjectedVolumeOptions options_;
  std::map<std::string, MountedPod> pods_;  // by uid
  uint64_t next_generation_ = 0;
  uint64_t mounts_ = 0;
  TimerId resync_timer_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ksim::kubelet
