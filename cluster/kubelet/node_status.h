// NodeStatusManager: the kubelet's Node in the API. It registers the Node (create; if it
// exists, adopt it and merge our labels), posts node status (capacity, allocatable after
// reservations and the hard eviction threshold, addresses, daemonEndpoints, nodeInfo, the
// Ready/MemoryPressure/DiskPressure/PIDPressure conditions, the images the runtime holds),
// waits for spec.podCIDR (node IPAM in the controller-manager sets it) and reports it, and
// renews the node's Lease in kube-node-lease (NodeLease). docs/KUBELET.md ("Node status",
// "Node lease") lists the figures and the decisions.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cluster/api/coordination.pb.h"
#include "cluster/api/core.pb.h"
#include "cluster/client/api_client.h"
#include "cluster/env/container_runtime.h"
#include "cluster/env/env.h"

namespace ksim::kubelet {

inline constexpr char kNodeLeaseNamespace[] = "kube-node-lease";
inline constexpr uint16_t kKubeletPort = 10250;
// Kubernetes' nodeStatusMaxImages.
inline constexpr size_t kNodeStatusMaxImages = 50;

struct NodeStatusOptions {
  std::string node_name;
  std::string node_ip;  // the InternalIP address
  // Labels besides the well-known ones the kubelet sets (kubernetes.io/hostname, os, arch).
  std::map<std::string, std::string> labels;
  // Quantities: cpu, memory, pods, ephemeral-storage, extended resources.
  std::map<std::string, std::string> capacity = {
      {"cpu", "4"}, {"memory", "16Gi"}, {"pods", "110"}, {"ephemeral-storage", "100Gi"}};
  std::map<std::string, std::string> kube_reserved;
  std::map<std::string, std::string> system_reserved;
  // Hard eviction thresholds by signal ("memory.available", "nodefs.available"): a quantity
  // or a percentage of capacity. Kubernetes' defaults.
  std::map<std::string, std::string> eviction_hard = {{"memory.available", "100Mi"}, {"nodefs.available", "10%"}};
  uint16_t kubelet_port = kKubeletPort;
  std::string kubelet_version = "v1.32.0";
  std::string container_runtime_version = "containerd://1.7.24";
  std::string os_image = "ksim";
  std::string kernel_version = "6.1.0";
  std::string operating_system = "linux";
  std::string architecture = "amd64";
  // Ready stays False (KubeletNotReady: the network plugin is not ready) until the node has
  // a spec.podCIDR, as with a CNI plugin that allocates from it.
  bool ready_needs_pod_cidr = true;

  Nanos status_update_frequency = Seconds(10);  // check and post if changed
  Nanos status_report_frequency = Seconds(300);  // post even if unchanged
  Nanos pod_cidr_poll = Seconds(1);             // re-read the Node while spec.podCIDR is empty
  Nanos lease_renew_interval = Seconds(10);
  int32_t lease_duration_seconds = 40;
  Nanos retry_initial = Milliseconds(200);  // registration and lease retries double to max
  Nanos retry_max = Seconds(7);
};

struct NodeStatusStats {
  uint64_t registrations = 0;
  uint64_t status_posts = 0;
  uint64_t status_skipped = 0;  // unchanged and reported recently
  uint64_t status_conflicts = 0;
  uint64_t lease_renewals = 0;
  uint64_t lease_creates = 0;
  uint64_t failures = 0;
};

// Capacity minus kube-reserved, system-reserved and the hard eviction threshold (memory
// from memory.available, ephemeral-storage from nodefs.available), never below zero, as
// Kubernetes computes allocatable. InvalidArgument naming the map and key for a bad
// quantity or percentage.
Status ComputeAllocatable(const NodeStatusOptions& options, std::map<std::string, std::string>* out);

// The node's conditions after an observation at `now`: each condition keeps its
// lastTransitionTime while its status stays, gets `now` when it changes; every
// lastHeartbeatTime becomes `now`. Order: MemoryPressure, DiskPressure, PIDPressure, Ready.
void SetNodeConditions(bool ready, const std::string& not_ready_message, Nanos wall_now,
                       google::protobuf::RepeatedPtrField<api::NodeCondition>* conditions);

// status.images from the runtime's images: largest first, at most kNodeStatusMaxImages,
// names are the repo tags (the id when there are none).
void SetNodeImages(std::vector<ImageInfo> images, google::protobuf::RepeatedPtrField<api::ContainerImage>* out);

// Whether two statuses differ in anything but the conditions' heartbeat times.
bool NodeStatusChanged(const api::NodeStatus& a, const api::NodeStatus& b);

class NodeStatusManager {
 public:
  using PodCidrCallback = std::function<void(const std::string& cidr)>;

  // REQUIRES: env and client outlive the manager; options.node_name non-empty.
  NodeStatusManager(Env& env, client::ApiClient* client, NodeStatusOptions options);
  ~NodeStatusManager();
  NodeStatusManager(const NodeStatusManager&) = delete;
  NodeStatusManager& operator=(const NodeStatusManager&) = delete;

  // Registers the node and starts posting status and renewing the lease. `on_pod_cidr`
  // runs once, when spec.podCIDR is first seen (possibly at registration).
  // Returns InvalidArgument if the options' quantities do not parse (nothing starts).
  Status Start(PodCidrCallback on_pod_cidr);

  bool registered() const { return !node_uid_.empty(); }
  const std::string& node_uid() const { return node_uid_; }
  const std::string& pod_cidr() const { return pod_cidr_; }
  // The Node as last written or read (null before registration): what admission reads.
  std::shared_ptr<const api::Node> node() const { return node_; }
  const std::string& machine_id() const { return machine_id_; }
  const NodeStatusStats& stats() const { return stats_; }

 private:
  void Register();
  void OnRegistered(std::shared_ptr<api::Node> node);
  void AdoptExisting();
  void ScheduleStatus(Nanos delay);
  void SyncStatus();
  void PostStatus(std::vector<ImageInfo> images, int attempts_left);
  void RefreshNode(std::function<void(bool ok)> then);
  void SeeNode(std::shared_ptr<api::Node> node);
  api::Node InitialNode() const;
  void FillStatus(std::vector<ImageInfo> images, api::NodeStatus* status) const;

  void ScheduleLease(Nanos delay);
  void RenewLease();
  void OnLeaseWritten(const client::ApiResult& r, bool created);
  void LeaseFailed();
  api::Lease NewLease() const;

  Nanos Backoff(int failures) const;
  void LoadMachineId();

  Env& env_;
  client::ApiClient* client_;
  NodeStatusOptions options_;
  std::map<std::string, std::string> allocatable_;
  PodCidrCallback on_pod_cidr_;

  std::shared_ptr<api::Node> node_;
  std::string node_uid_;
  std::string pod_cidr_;
  std::string machine_id_;
  std::string boot_id_;
  Nanos last_report_{-1};
  bool status_in_flight_ = false;
  int register_failures_ = 0;
  TimerId status_timer_ = 0;

  std::shared_ptr<api::Lease> lease_;
  bool lease_in_flight_ = false;
  int lease_failures_ = 0;
  bool owner_retried_ = false;
  TimerId lease_timer_ = 0;

  NodeStatusStats stats_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ksim::kubelet
