// Scheduler: the process that binds pending pods to nodes. It watches pods, nodes,
// namespaces and PriorityClasses through informers, keeps a SchedulerCache and a
// SchedulingQueue, and, only while it holds the kube-scheduler Lease, runs scheduling
// cycles: snapshot, the profile's plugins (framework/schedule_one.h), assume, then bind
// through the pods/binding subresource without waiting (a failed bind forgets the
// assumption and retries the pod with back-off). A pod that fits nowhere gets preemption
// (PostFilter), a FailedScheduling Event and a PodScheduled=False condition in Kubernetes'
// words, and waits in the queue until a cluster event one of its rejecting plugins cares
// about.
//
// Cycles run from the event loop in turns of at most `cycles_per_turn` pods, so watch
// events and binding answers interleave with scheduling.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cluster/client/api_client.h"
#include "cluster/client/informer.h"
#include "cluster/client/leader_election.h"
#include "cluster/env/env.h"
#include "cluster/env/process.h"
#include "cluster/scheduler/cache.h"
#include "cluster/scheduler/config.h"
#include "cluster/scheduler/framework/framework.h"
#include "cluster/scheduler/framework/schedule_one.h"
#include "cluster/scheduler/scheduling_queue.h"

namespace ksim::scheduler {

struct SchedulerOptions {
  std::vector<Address> apiservers;
  std::string token;
  // A KubeSchedulerConfiguration; empty: one default profile.
  std::string config_yaml;
  std::string config_source = "scheduler-config.yaml";
  bool leader_elect = true;
  std::string lease_name = "kube-scheduler";
  // Scheduling cycles per event-loop turn before yielding to I/O.
  size_t cycles_per_turn = 256;
  // Bindings sent and not yet answered, at most; scheduling pauses at the limit so the
  // apiservers are not flooded faster than they answer (answers then time out and retry).
  size_t max_binds_in_flight = 512;
  size_t max_pending_pods = 2'000'000;
  // FailedScheduling Events and PodScheduled conditions (off for benchmarks that only
  // count placements).
  bool report_unschedulable = true;
  Nanos leftover_flush_period = Seconds(30);
  // Re-runs every Filter plugin on the chosen node before assuming (tests): a verdict other
  // than Success/Skip counts in stats().filter_violations.
  bool verify_binds = false;
  // Every binding this scheduler sends, with its identity (<host>_scheduler) and whether it
  // held the lease when it sent it: the scenario checker oneActingScheduler reads it.
  std::function<void(const std::string& identity, bool acting, const apiserver::Request&)> on_bind;
};

struct SchedulerStats {
  uint64_t cycles = 0;
  uint64_t scheduled = 0;       // binding acknowledged
  uint64_t bind_failures = 0;
  uint64_t unschedulable = 0;   // cycles that found no node
  uint64_t errors = 0;          // cycles that failed with an error
  uint64_t preemptions = 0;     // cycles that nominated a node by preempting
  uint64_t victims = 0;         // pods deleted by preemption
  uint64_t nodes_evaluated = 0;
  uint64_t events_emitted = 0;
  uint64_t filter_violations = 0;  // with verify_binds
};

class Scheduler : public Process {
 public:
  Scheduler(Env& env, SchedulerOptions options);
  ~Scheduler() override;
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  void Start() override;

  // Not OK when the configuration was rejected; the scheduler then does nothing.
  const Status& config_status() const { return config_status_; }
  bool IsLeader() const;
  bool HasSynced() const;
  const SchedulerStats& stats() const { return stats_; }
  size_t PendingPods() const;
  // Explains how `namespace/name` (a pending pod) would be scheduled now.
  std::string Explain(const std::string& key);

 private:
  void OnPodAdd(const client::ObjectPtr& object);
  void OnPodUpdate(const client::ObjectPtr& old_object, const client::ObjectPtr& new_object);
  void OnPodDelete(const client::ObjectPtr& object);
  void OnNodeEvent(const client::ObjectPtr& old_object, const client::ObjectPtr& new_object);
  void OnNodeDelete(const client::ObjectPtr& object);
  void OnNamespace(const client::ObjectPtr& object, bool deleted);

  PodInfoPtr Parse(const client::ObjectPtr& object);
  // The profile named by the pod's schedulerName; null if this scheduler has none.
  const Framework* FrameworkFor(const api::Pod& pod) const;
  bool Responsible(const api::Pod& pod) const;
  void MoveOnEvent(ClusterEvent event);

  void Kick();
  void Turn();
  void ArmBackoffTimer();
  void ArmLeftoverTimer();
  void ScheduleOne(const PoppedPod& queued);
  void Bind(const PodInfoPtr& pod, int64_t scheduling_cycle);
  // A binding failed: learns from the apiserver whether the pod is bound after all before
  // dropping the assumption.
  void ResolveFailedBind(const PodInfoPtr& pod, int64_t scheduling_cycle);
  // A binding failed and the pod is not bound: drops the assumption and queues the pod again.
  void ForgetAndRetry(const PodInfoPtr& pod, int64_t scheduling_cycle);
  void Preempt(const Framework& framework, CycleState& state, const PodInfo& pod, Diagnosis* diagnosis);
  void ReportUnschedulable(const PodInfo& pod, const std::string& message);
  // Writes a core/v1 Event about the pod from "default-scheduler".
  void EmitPodEvent(const PodInfo& pod, const std::string& reason, const std::string& type,
                    const std::string& message);
  // Sets (or, with "", removes) the pod's status.nominatedNodeName.
  void PatchNominatedNodeName(const PodInfo& pod, const std::string& node);

  Env& env_;
  SchedulerOptions options_;
  Status config_status_;
  SchedulerConfig config_;
  std::map<std::string, std::unique_ptr<Framework>, std::less<>> frameworks_;  // by schedulerName
  std::unique_ptr<client::ApiClient> client_;
  std::unique_ptr<client::Informer> pods_;
  std::unique_ptr<client::Informer> nodes_;
  std::unique_ptr<client::Informer> namespaces_;
  std::unique_ptr<client::Informer> priority_classes_;
  std::unique_ptr<client::LeaderElector> elector_;
  bool leading_ = false;

  SchedulerCache cache_;
  std::unique_ptr<SchedulingQueue> queue_;
  Snapshot snapshot_;
  std::unique_ptr<ScheduleCursor> cursor_;

  bool turn_pending_ = false;
  size_t binds_in_flight_ = 0;
  TimerId backoff_timer_ = 0;
  Nanos backoff_timer_at_{0};
  TimerId leftover_timer_ = 0;
  // The last unschedulable message reported per pod uid: reported again only when it changes.
  std::map<std::string, std::string, std::less<>> reported_;
  uint64_t event_seq_ = 0;
  SchedulerStats stats_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ksim::scheduler
