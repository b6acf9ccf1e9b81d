// Kubelet: the node agent process. It runs the pods bound to its node (an informer on
// pods with field selector spec.nodeName=<node>) through the host's ContainerRuntime:
// one PodWorker per pod uid, a PodStatusManager that writes their statuses, and, after
// a pod's deletion finished stopping everything, the final delete of the API object
// (uid precondition, grace 0). A new Kubelet after a crash rebuilds its view from the
// runtime (ListPodSandboxes/ListContainers and their labels) before it takes any pod,
// adopts what still belongs to a pod, removes what belongs to none and kills pods deleted
// from the API while it was down. See docs/KUBELET.md.
//
// The node side: a NodeStatusManager registers (or adopts) the Node, posts its status,
// renews its Lease and reports spec.podCIDR; every new pod passes AdmitPod against that
// Node before it gets a worker (a rejected pod is written Failed, reason OutOfcpu etc.).
//
// Static pods (StaticPodSource: a folder on the Disk, a manifest URL, manifests posted to
// the endpoint) start once the runtime is recovered, never waiting for the API or the
// Node; they get workers like API pods but no admission. Their mirror pods
// (MirrorPodManager) are their face in the API: mirror pods seen by the informer get no
// worker, and a static pod's status is written to its mirror pod. The KubeletServer
// answers on :10250 (logs, exec, posted manifests); pod Events (Pulling, Started, Killing,
// Unhealthy, BackOff...) go through a client::EventRecorder.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/client/api_client.h"
#include "cluster/client/event_recorder.h"
#include "cluster/client/informer.h"
#include "cluster/env/env.h"
#include "cluster/env/process.h"
#include "cluster/kubelet/kubelet_server.h"
#include "cluster/kubelet/mirror_pod.h"
#include "cluster/kubelet/node_status.h"
#include "cluster/kubelet/pod_status_manager.h"
#include "cluster/kubelet/pod_worker.h"
#include "cluster/kubelet/probe.h"
#include "cluster/kubelet/projected_volume.h"
#include "cluster/kubelet/runtime_state.h"
#include "cluster/kubelet/static_pod.h"

namespace ksim::kubelet {

struct KubeletOptions {
  std::string node_name;  // default: env.host
  std::string node_ip;    // InternalIP (status.hostIP of its pods)
  std::vector<Address> apiservers;
  std::string token;
  // Capacity and reservations (the node side reports them; admission checks against them).
  int64_t capacity_cpu_millis = 4000;
  int64_t capacity_memory_bytes = int64_t{8} << 30;
  int64_t max_pods = 110;
  int64_t reserved_cpu_millis = 100;
  int64_t reserved_memory_bytes = int64_t{256} << 20;
  std::string static_pod_dir;  // "" = no static pods from disk
  std::string manifest_url;    // "" = none
  Nanos static_pod_check_frequency = Seconds(20);  // folder and URL re-read
  uint16_t kubelet_port = 10250;  // the KubeletServer; 0 = no endpoint
  // The node's pod CIDR if known up front (an override); "" = spec.podCIDR of the Node,
  // as the node status manager reports it.
  std::string pod_cidr;
  std::vector<std::string> cluster_dns = {"10.96.0.10"};
  std::string cluster_domain = "cluster.local";
  Nanos housekeeping_period = Seconds(2);
  // Bound on pods handled at once (beyond max_pods: admission normally refuses earlier).
  size_t max_workers = 1000;
  size_t max_status_writes_in_flight = 64;
  // Projected volumes (service-account tokens, configMap, downwardAPI) on the Disk.
  TokenManagerOptions token_manager;
  ProjectedVolumeOptions projected_volumes;
};

struct KubeletStats {
  uint64_t pods_started = 0;       // workers created
  uint64_t pods_adopted = 0;       // workers that took over runtime state after a restart
  uint64_t pods_deleted = 0;       // final deletes acknowledged
  uint64_t orphans_removed = 0;    // sandboxes/containers of no pod removed
  uint64_t orphan_pods_killed = 0; // pods deleted from the API while the kubelet was down
  uint64_t refused = 0;            // pods over max_workers
  uint64_t rejected = 0;           // pods admission refused (written Failed)
  uint64_t static_pods_started = 0;  // workers created for static pods (also in pods_started)
  uint64_t static_pods_stopped = 0;  // static pods whose manifest went away
  uint64_t bad_manifests = 0;
};

class Kubelet : public Process {
 public:
  Kubelet(Env& env, KubeletOptions options);
  ~Kubelet() override;
  Kubelet(const Kubelet&) = delete;
  Kubelet& operator=(const Kubelet&) = delete;

  void Start() override;

  // The node's spec.podCIDR became known (from the node status manager).
  void SetPodCidr(const std::string& cidr);

  const KubeletStats& stats() const { return stats_; }
  const PodStatusManagerStats& status_stats() const { return status_->stats(); }
  size_t pod_count() const { return workers_.size(); }
  // The worker of a pod ("namespace/name"), or null.
  const PodWorker* worker(const std::string& key) const;
  bool recovered() const { return recovered_; }
  // Null until Start().
  const NodeStatusManager* node_status() const { return node_status_.get(); }
  // Null until Start().
  const MirrorPodManager* mirrors() const { return mirrors_.get(); }
  StaticPodSource* static_pods() { return statics_.get(); }
  const client::EventRecorder* events() const { return events_.get(); }
  // Null until Start().
  const ServiceAccountTokenManager* tokens() const { return tokens_.get(); }

 private:
  struct Handle {
    std::unique_ptr<PodWorker> worker;
    std::string key;             // namespace/name
    std::shared_ptr<const api::Pod> pod;  // as admitted (its requests)
    bool gone_from_api = false;  // the informer reported the delete; static: the manifest went away
    bool delete_sent = false;
    bool is_static = false;
    std::string mirror_uid;  // static pods: the mirror pod their status is written to
  };

  void Recover();
  void StartInformer();
  void OnPod(const api::Pod& pod);
  void OnPodGone(const api::Pod& pod);
  void OnRuntimeEvent(const ContainerEvent& event);
  void OnIdle(const std::string& uid);
  void MaybeDelete(const std::string& uid);
  void Housekeeping();
  void KillOrphanPod(const RuntimePod& pod);
  bool Admit(const api::Pod& pod);
  void DeleteRejected(const api::Pod& pod);
  std::optional<api::PodStatus> ComputeStatus(const api::Pod& base) const;
  void Log(LogLevel level, const std::string& message) const;
  // kubelet_static.cc: static pods and their mirror pods.
  void StartStaticPods();
  void OnStaticChange(PodChange change, const std::shared_ptr<const api::Pod>& pod);
  void RunStatic(const std::shared_ptr<const api::Pod>& pod);
  void StopStatic(const std::string& uid);
  void OnMirrorPod(const api::Pod& mirror);
  void OnMirrorPodGone(const api::Pod& mirror);
  Handle* StaticByMirror(const std::string& mirror_uid);
  const Handle* StaticByMirror(const std::string& mirror_uid) const;
  void MarkStatusDirty(const std::string& uid);
  // A new worker for `pod` (adopting what the runtime holds of it).
  PodWorker* AddWorker(const api::Pod& pod, bool is_static);
  void Mount(const api::Pod& pod, std::function<void(Status)> done);
  void RecordEvent(const api::Pod& pod, std::string_view type, std::string_view reason, std::string_view message);

  Env& env_;
  KubeletOptions options_;
  PodWorkerConfig worker_config_;
  std::unique_ptr<NetProber> net_;
  std::unique_ptr<client::ApiClient> client_;
  std::unique_ptr<client::Informer> pods_;
  std::unique_ptr<PodStatusManager> status_;
  std::unique_ptr<NodeStatusManager> node_status_;
  std::unique_ptr<MirrorPodManager> mirrors_;
  std::unique_ptr<StaticPodSource> statics_;
  std::unique_ptr<KubeletServer> server_;
  std::unique_ptr<client::EventRecorder> events_;
  std::unique_ptr<ServiceAccountTokenManager> tokens_;
  std::unique_ptr<ProjectedVolumeManager> volumes_;
  struct Rejected {
    api::PodStatus status;
    bool delete_sent = false;
  };
  std::map<std::string, Rejected> rejected_;  // by uid
  std::set<std::string> pending_admission_;   // uids waiting for the Node's allocatable
  std::map<std::string, Handle> workers_;  // by uid
  std::map<std::string, std::string> sandbox_owner_;  // sandbox id -> uid
  RuntimeSnapshot snapshot_;  // what the runtime held at start, not yet adopted
  bool recovered_ = false;
  std::string pod_cidr_;
  TimerId housekeeping_timer_ = 0;
  KubeletStats stats_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ksim::kubelet
