// Node lifecycle controller (Kubernetes' nodelifecycle with taint-based eviction, and the
// taint-eviction controller that deletes the pods).
//
// Every node_monitor_period (5 s) while leading:
//   - Health: a node is heard from when its Lease in kube-node-lease is renewed (a new
//     resourceVersion) or its Ready condition's lastHeartbeatTime changes, as this replica
//     observes it on its monotonic clock. Silent for node_monitor_grace_period (50 s; a node
//     that never posted Ready: node_startup_grace_period, 60 s) -> its Ready,
//     MemoryPressure, DiskPressure and PIDPressure conditions become Unknown with reason
//     NodeStatusUnknown, "Kubelet stopped posting node status." (NodeStatusNeverUpdated,
//     "Kubelet never posted node status." if it never did). A replica that starts leading
//     counts every node as heard from at that moment.
//   - A Ready node that turns not Ready: a NodeNotReady Event, and its pods' Ready condition
//     is set False (MarkPodsNotReady).
//   - Taints from the Ready condition seen at the start of the pass: False ->
//     node.kubernetes.io/not-ready, Unknown -> node.kubernetes.io/unreachable (NoExecute,
//     timeAdded set); the other is swapped out at once, a new one is added through the
//     zone's rate-limited queue; True -> both removed at once.
//   - Zones (region + zone labels): FullDisruption when no node is ready, PartialDisruption
//     when more than 2 and at least unhealthy_zone_threshold (55%) are not; a zone's
//     tainting rate is node_eviction_rate (0.1 nodes/s, burst 1), in PartialDisruption
//     secondary_node_eviction_rate (0.01) if the zone has more than
//     large_cluster_size_threshold (50) nodes, else 0. When every zone is in FullDisruption
//     nothing is tainted and existing taints are removed ("master disruption"); on leaving
//     it every node counts as heard from afresh.
// Eviction: a pod on a node with NoExecute taints it does not tolerate is deleted at once;
// one that tolerates them for tolerationSeconds (300 s by DefaultTolerationSeconds) is
// deleted that long after this replica saw the taint; a taint removed in time cancels it.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "cluster/api/core.pb.h"
#include "cluster/client/event_recorder.h"
#include "cluster/controllers/controller.h"
#include "cluster/controllers/node_health.h"

namespace ksim::controllers {

struct NodeLifecycleStats {
  uint64_t passes = 0;
  uint64_t marked_unknown = 0;    // Ready set to Unknown
  uint64_t taints_added = 0;      // not-ready/unreachable taints written (incl. swaps)
  uint64_t taints_removed = 0;
  uint64_t pods_marked_not_ready = 0;
  uint64_t evictions = 0;         // pod deletes acknowledged
  uint64_t evictions_cancelled = 0;
};

class NodeLifecycleController : public Controller {
 public:
  // nullptr and *error naming the flag when a rate or period is invalid.
  static std::unique_ptr<NodeLifecycleController> Create(ControllerContext& ctx, Status* error);
  explicit NodeLifecycleController(ControllerContext& ctx);
  ~NodeLifecycleController() override;

  void Start() override;
  void Stop() override;

  const NodeLifecycleStats& stats() const { return stats_; }
  ZoneState zone_state(const std::string& zone_key) const;
  bool all_zones_disrupted() const { return all_disrupted_; }

 private:
  struct Health {
    Nanos probe{0};                // last time the node was heard from (monotonic)
    std::string heartbeat;         // Ready's lastHeartbeatTime as last seen
    std::string lease_version;     // the Lease's resourceVersion as last seen
    bool ever_ready_condition = false;
  };
  struct ZoneQueue {
    std::deque<std::string> nodes;  // waiting to be tainted, FIFO
    std::set<std::string> queued;
    Nanos interval{0};              // one node per interval; 0 = never
    Nanos last_accept{-1};
    ZoneState state = ZoneState::kInitial;
  };
  struct Eviction {
    Nanos at{0};
    std::string uid;
    std::string node;
    bool in_flight = false;
  };

  void WaitForSync();
  void MonitorPass();
  // Updates node health and, past the grace period, writes the Unknown conditions. Returns
  // the Ready status the node has now ("" when it has none).
  std::string CheckHealth(const api::Node& node, const api::NodeCondition* observed);
  void MarkPodsNotReady(const api::Node& node);
  void ProcessTaints(const api::Node& node, const api::NodeCondition* observed);
  void HandleDisruption(const std::map<std::string, std::pair<int, int>>& counts);
  void SetZoneRate(ZoneQueue& queue, ZoneState state, int zone_size);
  void Enqueue(const std::string& zone, const std::string& node);
  void TaintPass();
  void ArmTaintTimer(Nanos at);
  // Sets the node's not-ready/unreachable taint to `add` (timeAdded now), removing the
  // other; "" removes both.
  void WriteTaints(const std::string& node, const std::string& add);
  void ReconcileEvictions(const api::Node& node);
  void ArmEvictionTimer();
  void EvictDue();
  Nanos Now() const { return ctx_.env.clock->MonotonicNow(); }
  bool Acting() const { return running_ && ctx_.acting(); }

  ControllerContext& ctx_;
  client::Informer* nodes_;
  client::Informer* leases_;
  client::Informer* pods_;
  std::unique_ptr<client::EventRecorder> recorder_;
  bool running_ = false;
  bool synced_ = false;
  TimerId monitor_timer_ = 0;
  TimerId taint_timer_ = 0;
  Nanos taint_timer_at_{0};
  TimerId eviction_timer_ = 0;
  Nanos eviction_timer_at_{0};
  std::map<std::string, Health> health_;
  std::map<std::string, ZoneQueue> zones_;
  bool all_disrupted_ = false;
  std::map<std::string, Eviction> evictions_;  // pod key -> scheduled deletion
  std::set<std::string> writes_in_flight_;      // nodes with a taint or status write pending
  NodeLifecycleStats stats_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ksim::controllers
