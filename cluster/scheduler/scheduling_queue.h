// The scheduling queue: pending pods waiting for a scheduling attempt, in the shape of
// Kubernetes' PriorityQueue (pkg/scheduler/internal/queue/scheduling_queue.go).
//
// Every pod the queue knows is in exactly one place:
//   activeQ        ready to be tried, ordered by PrioritySort (higher spec priority first,
//                  then earlier enqueue time, then pod key, then uid);
//   backoffQ       failed recently, waiting out its back-off (initial 1 s doubling per
//                  attempt up to 10 s), ordered by when the back-off ends;
//   unschedulable  rejected by plugins; waits for a cluster event one of those plugins
//                  registered for (MoveAllToActiveOrBackoff), or 5 minutes;
//   in flight      popped and being scheduled (Kubernetes 1.28's inFlightPods); it comes
//                  back through AddUnschedulableIfNotPresent, or leaves through Done/Delete.
//
// No clock inside: every call that depends on time takes `now`, and Pop never blocks (the
// scheduler process drives it from its own timers, arming one at NextBackoffExpiry()).
//
// The nominator lives here too, as in Kubernetes: the node preemption nominated for a pod,
// held until the pod binds or goes away, so filtering counts the room it made.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/env/status.h"
#include "cluster/env/time.h"
#include "cluster/scheduler/framework/plugin.h"
#include "cluster/scheduler/framework/schedule_one.h"
#include "cluster/scheduler/framework/types.h"

namespace ksim::scheduler {

struct SchedulingQueueOptions {
  // KubeSchedulerConfiguration podInitialBackoffSeconds / podMaxBackoffSeconds.
  Nanos pod_initial_backoff = Seconds(1);
  Nanos pod_max_backoff = Seconds(10);
  // Kubernetes' podMaxInUnschedulablePodsDuration: after this long an unschedulable pod is
  // retried even if no event said it may fit.
  Nanos pod_max_in_unschedulable = std::chrono::minutes(5);
  // Pods the queue holds at most (queued and in flight); Add beyond it is an error.
  size_t max_pods = 1'000'000;
};

enum class QueueName { kActive, kBackoff, kUnschedulable, kInFlight };
// "active", "backoff", "unschedulable", "in-flight" (Kubernetes' pending_pods labels).
std::string_view QueueNameString(QueueName queue);

// A pod handed out by Pop for one scheduling attempt.
struct PoppedPod {
  PodInfoPtr pod;
  int32_t attempts = 0;           // attempts so far, counting this one (the first is 1)
  int64_t scheduling_cycle = 0;   // pass it back to AddUnschedulableIfNotPresent
  Nanos first_enqueued_time{0};   // when the pod first entered the queue
  Nanos initial_attempt_time{0};  // when it was first popped
};

// One pod as `ksim explain` and metrics see it.
struct PendingPod {
  PodInfoPtr pod;
  QueueName queue = QueueName::kActive;
  int32_t attempts = 0;
  Nanos timestamp{0};                              // when it last entered the queue (PrioritySort's tie-break)
  Nanos backoff_expiry{0};                         // when its back-off ends (meaningful once attempted)
  std::vector<std::string> unschedulable_plugins;  // from its last failed attempt
  std::string nominated_node;
  // The cluster event that last moved it out of unschedulable (none: never moved, or by
  // the 5-minute leftover flush).
  std::optional<ClusterEvent> moved_by;
};

// Whether a cluster event may make a pod schedulable, given the plugins that rejected it.
// The scheduler passes its profile's Framework::EventMayHelp bound to the event.
using EventMayHelpFn = std::function<bool(const PodInfo& pod, const std::vector<std::string>& rejecting_plugins)>;

class SchedulingQueue {
 public:
  // REQUIRES: 0 < pod_initial_backoff <= pod_max_backoff, max_pods > 0.
  explicit SchedulingQueue(SchedulingQueueOptions options);

  SchedulingQueue(const SchedulingQueue&) = delete;
  SchedulingQueue& operator=(const SchedulingQueue&) = delete;

  // A new pending pod goes to activeQ. A pod with status.nominatedNodeName keeps that
  // nomination (a restarted scheduler honours it). Errors: AlreadyExists for a known uid,
  // InvalidArgument for a pod already assigned to a node, Unavailable when full.
  Status Add(PodInfoPtr pod, Nanos now);

  // An update of a pending pod (`old_pod` may be null). In activeQ or backoffQ the pod is
  // replaced in place; in unschedulable, an update that may change its schedulability
  // (anything but metadata.resourceVersion/generation/managedFields/finalizers and status)
  // moves it to backoffQ if still backing off, else to activeQ; in flight, such an update
  // sends the pod to backoffQ when its attempt fails. An unknown pod is added (Kubernetes
  // does the same), and a pod now assigned to a node leaves the queue.
  Status Update(const PodInfoPtr& old_pod, PodInfoPtr new_pod, Nanos now);

  // Forgets the pod wherever it is, with its nomination. Unknown uids are ignored.
  void Delete(std::string_view uid);

  // The head of activeQ, now in flight; nullptr when activeQ is empty. Each pop starts a
  // new scheduling cycle.
  std::shared_ptr<const PoppedPod> Pop(Nanos now);

  // An in-flight pod whose attempt failed. `rejecting_plugins` are the Diagnosis'
  // unschedulable_plugins; empty means it failed with an error, and it goes to backoffQ.
  // If a move request (MoveAllToActiveOrBackoff, a leftover flush) happened since
  // `pod_scheduling_cycle` began, the event may have been missed, so it goes to backoffQ
  // too (Kubernetes' moveRequestCycle rule); otherwise to unschedulable. Errors:
  // NotFound if the pod is not in flight (deleted meanwhile: nothing to do),
  // AlreadyExists if it is queued.
  Status AddUnschedulableIfNotPresent(PodInfoPtr pod, const std::set<std::string>& rejecting_plugins,
                                      int64_t pod_scheduling_cycle, Nanos now);

  // An in-flight pod was scheduled (assumed or bound): the queue forgets it and its
  // nomination. No-op for pods that are not in flight.
  void Done(std::string_view uid);

  // A cluster event happened: every unschedulable pod for which `may_help` says yes (or
  // that no plugin in particular rejected) moves to backoffQ if still backing off, else
  // to activeQ. Records the move request for the moveRequestCycle rule, and the event on
  // each pod it moved (for explanations). Returns how many pods moved.
  size_t MoveAllToActiveOrBackoff(const ClusterEvent& event, Nanos now, const EventMayHelpFn& may_help);

  // Moves every pod whose back-off ended by `now` to activeQ. Returns how many.
  size_t FlushBackoffCompleted(Nanos now);
  // Moves pods unschedulable for longer than pod_max_in_unschedulable to activeQ (or
  // backoffQ). Kubernetes runs this every 30 s. Returns how many.
  size_t FlushUnschedulableLeftover(Nanos now);

  // When the earliest back-off ends; nullopt when backoffQ is empty.
  std::optional<Nanos> NextBackoffExpiry() const;

  // How long a pod waits after its `attempts`-th failed attempt: initial doubled per
  // attempt after the first, at most max (attempts 1..6: 1, 2, 4, 8, 10, 10 s).
  Nanos BackoffDuration(int32_t attempts) const;

  // ---------------------------------------------------------------- nominator

  // Records that preemption nominated `node` for the pod (empty clears). NotFound if
  // the queue does not know the pod.
  Status SetNominatedNode(std::string_view uid, std::string_view node);
  void ClearNominatedNode(std::string_view uid);
  // "" when the pod has no nomination.
  std::string_view NominatedNode(std::string_view uid) const;
  // Node -> nominated pods, in nomination order (for SchedulePod and preemption).
  const NominatedPods& nominated_pods() const { return nominated_pods_; }

  // ---------------------------------------------------------------- introspection

  size_t active_size() const { return active_.size(); }
  size_t backoff_size() const { return backoff_.size(); }
  size_t unschedulable_size() const { return unschedulable_.size(); }
  size_t in_flight_size() const { return in_flight_count_; }
  // Every pod the queue knows (queued and in flight).
  size_t size() const { return entries_.size(); }
  int64_t scheduling_cycle() const { return scheduling_cycle_; }
  const SchedulingQueueOptions& options() const { return options_; }

  // Every known pod, sorted by namespace/name then uid.
  std::vector<PendingPod> PendingPods() const;
  std::optional<PendingPod> Lookup(std::string_view uid) const;

  // Checks every invariant (each pod in exactly one place, the ordered sets agree with
  // the pods, nominations only for known pods, the bound). O(pods); for tests.
  Status CheckInvariants() const;

 private:
  // activeQ order: PrioritySort, then pod key and uid so the order is total.
  struct ActiveKey {
    int32_t priority = 0;
    Nanos timestamp{0};
    std::string pod_key;
    std::string uid;
    bool operator<(const ActiveKey& other) const;
  };
  struct BackoffKey {
    Nanos expiry{0};
    std::string uid;
    bool operator<(const BackoffKey& other) const;
  };

  struct Entry {
    PodInfoPtr pod;
    QueueName queue = QueueName::kActive;
    int32_t attempts = 0;
    Nanos timestamp{0};
    Nanos first_enqueued_time{0};
    std::optional<Nanos> initial_attempt_time;
    std::vector<std::string> unschedulable_plugins;
    int64_t popped_cycle = 0;        // in flight: the cycle it was popped in
    bool updated_in_flight = false;  // in flight: an update may have changed the verdict
    std::optional<ClusterEvent> moved_by;
    std::set<ActiveKey>::iterator active_it;    // valid in activeQ
    std::set<BackoffKey>::iterator backoff_it;  // valid in backoffQ
  };

  Nanos BackoffExpiry(const Entry& entry) const { return entry.timestamp + BackoffDuration(entry.attempts); }
  // Takes the entry out of whichever ordered set holds it (not the entry map).
  void Unlink(Entry& entry);
  void InsertActive(Entry& entry);
  void InsertBackoff(Entry& entry);
  void InsertUnschedulable(Entry& entry);
  // An unschedulable pod that may now fit: backoffQ if still backing off, else activeQ.
  void Requeue(Entry& entry, Nanos now);
  PendingPod Describe(const Entry& entry) const;

  void Nominate(const PodInfoPtr& pod, std::string_view node);
  void RemoveNomination(std::string_view uid);
  // Keeps the nominator in step with a pod update, as Kubernetes' updateNominatedPod.
  void UpdateNomination(const PodInfoPtr& old_pod, const PodInfoPtr& new_pod);

  SchedulingQueueOptions options_;
  std::map<std::string, Entry, std::less<>> entries_;  // uid -> pod
  std::set<ActiveKey> active_;
  std::set<BackoffKey> backoff_;
  std::set<std::string, std::less<>> unschedulable_;  // uids; the plugins are in the entry
  size_t in_flight_count_ = 0;
  int64_t scheduling_cycle_ = 0;
  int64_t move_request_cycle_ = -1;

  NominatedPods nominated_pods_;
  std::map<std::string, std::string, std::less<>> nominated_node_by_uid_;
};

}  // namespace ksim::scheduler
