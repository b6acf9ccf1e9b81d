// LeaderElector: client-go's leaderelection on a coordination.k8s.io Lease, rebuilt for one
// event loop. Candidates race to write their identity into one Lease with updates guarded by
// resourceVersion; the holder renews it every retry_period.
//
// Safety ("at most one acting leader") rests on two rules that use only monotonic time:
//   - a candidate treats the lease as held until lease_duration has passed on its own
//     monotonic clock since it last saw the Lease change (any new resourceVersion);
//   - the leader acts only until renew_deadline has passed since it SENT its last successful
//     renewal (not since the answer came back).
// Wall-clock times (acquireTime, renewTime) are written for people and never read for a
// decision. docs/CLIENT.md ("Leader election") has the argument and the bound on clock drift.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "cluster/api/coordination.pb.h"
#include "cluster/api/registry.h"
#include "cluster/client/api_client.h"
#include "cluster/env/env.h"

namespace ksim::client {

struct LeaderElectionConfig {
  std::string namespace_ = "kube-system";
  std::string name;      // the Lease's name, e.g. "kube-controller-manager"
  std::string identity;  // unique per candidate process (e.g. host name + process)
  // Kubernetes' defaults. Must hold: lease_duration > renew_deadline > retry_period > 0.
  Nanos lease_duration = Seconds(15);
  Nanos renew_deadline = Seconds(10);
  Nanos retry_period = Seconds(2);
  // Called on the event loop, from inside the elector's handlers. They may call IsLeader
  // and Release; they must not destroy the elector.
  std::function<void()> on_started_leading;  // this candidate may act from now on
  std::function<void()> on_stopped_leading;  // ...and must stop acting now
  std::function<void(const std::string& identity)> on_new_leader;  // a new non-empty holder was observed (self too)
};

// OK, or InvalidArgument naming the broken rule: name and identity non-empty,
// lease_duration > renew_deadline > retry_period > 0.
Status ValidateLeaderElectionConfig(const LeaderElectionConfig& config);

struct LeaderElectorStats {
  uint64_t attempts = 0;      // acquire-or-renew rounds started
  uint64_t acquisitions = 0;  // writes that made this candidate the holder (create or takeover)
  uint64_t renewals = 0;      // successful writes while already the holder
  uint64_t conflicts = 0;     // writes refused with 409 (someone else wrote first)
  uint64_t failures = 0;      // rounds that ended without a successful write, for any reason
};

class LeaderElector {
 public:
  // The error-checked way in: nullptr and *error set when the config is invalid.
  static std::unique_ptr<LeaderElector> Create(Env& env, ApiClient* client, LeaderElectionConfig config,
                                               Status* error);
  // REQUIRES: ValidateLeaderElectionConfig(config).ok() (asserted); env and client outlive
  // the elector. Nothing happens until Start.
  LeaderElector(Env& env, ApiClient* client, LeaderElectionConfig config);
  // Cancels timers; answers still in flight are ignored. Calls no callback (a process that
  // dies does not get to say goodbye, and the lease expires on its own).
  ~LeaderElector();
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  // Starts (or, after Release, resumes) trying to acquire the lease; the first attempt runs
  // after the current callback returns. No-op while already running.
  void Start();

  // True only while this candidate may act: it holds the lease and less than renew_deadline
  // of monotonic time has passed since it sent its last successful renewal. Checked against
  // the clock, so it turns false on time even if the deadline timer has not run yet.
  bool IsLeader() const;

  // Steps down voluntarily and stops participating: stops acting at once (calling
  // on_stopped_leading if it was leading), then, if this candidate is the recorded holder,
  // clears holderIdentity so another can take over without waiting for the lease to expire.
  // `done` (optional) gets the outcome of that write (OK if no write was needed). A round in
  // flight finishes first. Start resumes.
  void Release(std::function<void(Status)> done = nullptr);

  // The holder in the last Lease this candidate saw ("" for none or not yet seen).
  std::string ObservedHolder() const { return observed_ ? observed_->spec().holder_identity() : std::string(); }
  const LeaderElectionConfig& config() const { return config_; }
  const LeaderElectorStats& stats() const { return stats_; }

 private:
  enum class Phase { kIdle, kRunning, kReleasing };

  // One acquire-or-renew round: GET (skipped while we hold a fresh copy), then create or
  // update. At most one round (or release) is in flight at a time.
  void RunRound();
  void OnGet(const ApiResult& result);
  void Write(api::Lease lease, bool create);
  void OnWritten(const ApiResult& result, Nanos sent_at);
  void EndRound(bool wrote);
  void ScheduleRound(Nanos delay);

  // Records a Lease read or written; restarts the expiry clock when its version is new.
  // Returns whether it was new.
  bool Observe(const api::Lease& lease);
  void ReportLeader();
  // Starts acting or extends the acting window after a successful write sent at `sent_at`.
  void ExtendLeadership(Nanos sent_at);
  void StopLeading();
  // Stops leading if the acting window has closed (a deadline timer may lag its deadline).
  void EnforceDeadline();
  void SendRelease(int tries_left);
  void RefreshThenRelease(int tries_left);
  void FinishRelease(const Status& status);
  void Log(LogLevel level, const std::string& message) const;

  // The record this candidate writes: `base` with holder, times and transitions set.
  api::Lease NextRecord(const api::Lease& base) const;
  Nanos ExpiryWait(const api::Lease& lease) const;

  Env& env_;
  ApiClient* client_;
  LeaderElectionConfig config_;
  const api::KindInfo& kind_;

  Phase phase_ = Phase::kIdle;
  bool round_in_flight_ = false;
  Nanos round_started_{0};
  TimerId round_timer_ = 0;

  // The last Lease seen (from a read or our own write) and when it changed (monotonic).
  std::optional<api::Lease> observed_;
  Nanos observed_time_{0};
  // True after our own successful write until anything suggests the copy is stale: the next
  // renewal then skips the GET.
  bool fresh_copy_ = false;

  bool leading_ = false;
  Nanos acting_deadline_{0};  // monotonic; leading_ is meaningful only before it
  TimerId deadline_timer_ = 0;

  std::string reported_leader_;  // last identity passed to on_new_leader
  std::function<void(Status)> release_done_;
  bool resume_after_release_ = false;  // Start was called while a release was in flight
  Random jitter_random_;
  LeaderElectorStats stats_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ksim::client
