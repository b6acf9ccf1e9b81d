#include "cluster/client/leader_election.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <utility>

namespace ksim::client {

namespace {

// client-go's JitterFactor 1.2: a candidate waits retry_period * (1 + [0, 1.2)) between
// attempts, so candidates that started together drift apart. Integer tenths: no floating point.
constexpr int64_t kJitterTenths = 12;
// A release that loses a race to a stale copy re-reads and tries again, this many times in all.
constexpr int kReleaseTries = 3;

// MicroTime, as Kubernetes writes renewTime and acquireTime.
void SetMicroTime(google::protobuf::Timestamp* t, Nanos wall) {
  const int64_t micros = wall.count() / 1000 - (wall.count() % 1000 < 0 ? 1 : 0);
  int64_t seconds = micros / 1'000'000;
  int64_t rest = micros % 1'000'000;
  if (rest < 0) {
    rest += 1'000'000;
    seconds -= 1;
  }
  t->set_seconds(seconds);
  t->set_nanos(static_cast<int32_t>(rest * 1000));
}

bool SameTime(const google::protobuf::Timestamp& a, const google::protobuf::Timestamp& b) {
  return a.seconds() == b.seconds() && a.nanos() == b.nanos();
}

// A renewTime that differs from the stored one, so a renewal is never a no-op update (which
// the apiserver would not write, leaving the version, and so every candidate's expiry clock,
// unchanged while the leader believed it renewed). A wall clock stepped back can repeat a time.
void SetRenewTime(api::LeaseSpec* spec, const google::protobuf::Timestamp& stored, Nanos wall) {
  SetMicroTime(spec->mutable_renew_time(), wall);
  if (SameTime(spec->renew_time(), stored)) SetMicroTime(spec->mutable_renew_time(), wall + Microseconds(1));
}

int32_t WholeSecondsRoundedUp(Nanos d) {
  const int64_t s = (d.count() + 999'999'999) / 1'000'000'000;
  return static_cast<int32_t>(std::clamp<int64_t>(s, 1, INT32_MAX));
}

}  // namespace

Status ValidateLeaderElectionConfig(const LeaderElectionConfig& c) {
  if (c.name.empty()) return Status::InvalidArgument("leader election: the lease name is empty");
  if (c.identity.empty()) return Status::InvalidArgument("leader election: the identity is empty");
  if (c.retry_period <= Nanos(0)) return Status::InvalidArgument("leader election: retry_period must be > 0");
  if (c.renew_deadline <= c.retry_period) {
    return Status::InvalidArgument("leader election: renew_deadline must be greater than retry_period");
  }
  if (c.lease_duration <= c.renew_deadline) {
    return Status::InvalidArgument("leader election: lease_duration must be greater than renew_deadline");
  }
  return Status::Ok();
}

std::unique_ptr<LeaderElector> LeaderElector::Create(Env& env, ApiClient* client, LeaderElectionConfig config,
                                                     Status* error) {
  Status s = ValidateLeaderElectionConfig(config);
  if (error) *error = s;
  if (!s.ok()) return nullptr;
  return std::make_unique<LeaderElector>(env, client, std::move(config));
}

LeaderElector::LeaderElector(Env& env, ApiClient* client, LeaderElectionConfig config)
    : env_(env),
      client_(client),
      config_(std::move(config)),
      kind_(*api::Registry::Default().ByGroupResource("coordination.k8s.io", "leases")),
      jitter_random_(env.random->Child("leader-election/" + config_.namespace_ + "/" + config_.name + "/" +
                                       config_.identity)) {
  assert(ValidateLeaderElectionConfig(config_).ok());
  assert(client_ != nullptr);
}

LeaderElector::~LeaderElector() {
  *alive_ = false;
  if (round_timer_) env_.clock->Cancel(round_timer_);
  if (deadline_timer_) env_.clock->Cancel(deadline_timer_);
}

void LeaderElector::Log(LogLevel level, const std::string& message) const {
  if (env_.log) env_.log->Log(level, "leader-election", config_.identity + ": " + message);
}

// --- public ---------------------------------------------------------------------------------

void LeaderElector::Start() {
  if (phase_ == Phase::kRunning) return;
  if (phase_ == Phase::kReleasing) {
    resume_after_release_ = true;
    return;
  }
  phase_ = Phase::kRunning;
  ScheduleRound(Nanos(0));
}

bool LeaderElector::IsLeader() const { return leading_ && env_.clock->MonotonicNow() < acting_deadline_; }

void LeaderElector::Release(std::function<void(Status)> done) {
  if (done) {
    auto earlier = std::move(release_done_);
    release_done_ = [earlier = std::move(earlier), done = std::move(done)](Status s) {
      if (earlier) earlier(s);
      done(s);
    };
  }
  resume_after_release_ = false;
  if (phase_ == Phase::kReleasing) return;
  if (round_timer_) env_.clock->Cancel(round_timer_);
  round_timer_ = 0;
  if (phase_ == Phase::kIdle && !leading_) {
    // Nothing to clear unless a stopped elector still holds the record; report later, not inside this call.
    auto finish = std::move(release_done_);
    release_done_ = nullptr;
    if (finish) env_.clock->Schedule(Nanos(0), [finish] { finish(Status::Ok()); });
    return;
  }
  phase_ = Phase::kReleasing;
  if (leading_) StopLeading();  // stop acting before the write that lets others in is sent
  if (!round_in_flight_) SendRelease(kReleaseTries);
}

// --- rounds ---------------------------------------------------------------------------------

void LeaderElector::ScheduleRound(Nanos delay) {
  if (round_timer_) env_.clock->Cancel(round_timer_);
  round_timer_ = env_.clock->Schedule(std::max(delay, Nanos(0)), [this] {
    round_timer_ = 0;
    RunRound();
  });
}

void LeaderElector::RunRound() {
  if (phase_ != Phase::kRunning || round_in_flight_) return;
  EnforceDeadline();
  round_in_flight_ = true;
  round_started_ = env_.clock->MonotonicNow();
  ++stats_.attempts;
  if (fresh_copy_ && observed_ && observed_->spec().holder_identity() == config_.identity) {
    // We wrote the current version ourselves: renew straight away (a stale copy costs one 409).
    return Write(NextRecord(*observed_), /*create=*/false);
  }
  auto alive = alive_;
  client_->Get(kind_, config_.namespace_, config_.name, [this, alive](const ApiResult& r) {
    if (*alive) OnGet(r);
  });
}

void LeaderElector::OnGet(const ApiResult& r) {
  EnforceDeadline();
  if (r.status.ok() && r.code == 404) {
    api::Lease fresh;
    fresh.mutable_metadata()->set_namespace_(config_.namespace_);
    fresh.mutable_metadata()->set_name(config_.name);
    return Write(NextRecord(fresh), /*create=*/true);
  }
  api::Lease lease;
  if (!r.ok() || !lease.ParseFromString(r.body)) return EndRound(false);
  Observe(lease);
  ReportLeader();
  const std::string& holder = lease.spec().holder_identity();
  if (!holder.empty() && holder != config_.identity) {
    // Someone else is recorded: whatever window we had is over.
    if (leading_) StopLeading();
    const Nanos now = env_.clock->MonotonicNow();
    if (now < observed_time_ + ExpiryWait(lease)) return EndRound(false);  // held: unchanged for too short
    Log(LogLevel::kInfo, fmt::format("lease held by {} unchanged for {} ms: taking over", holder,
                                     (now - observed_time_).count() / 1'000'000));
  }
  Write(NextRecord(lease), /*create=*/false);
}

api::Lease LeaderElector::NextRecord(const api::Lease& base) const {
  api::Lease next = base;  // keeps metadata.resourceVersion: the update is guarded by it
  api::LeaseSpec* spec = next.mutable_spec();
  const Nanos wall = env_.clock->WallNow();
  const bool exists = !base.metadata().resource_version().empty();
  if (base.spec().holder_identity() != config_.identity || !exists) {
    spec->set_holder_identity(config_.identity);
    SetMicroTime(spec->mutable_acquire_time(), wall);
    spec->set_lease_transitions(exists ? base.spec().lease_transitions() + 1 : 0);
  }
  spec->set_lease_duration_seconds(WholeSecondsRoundedUp(config_.lease_duration));
  SetRenewTime(spec, base.spec().renew_time(), wall);
  return next;
}

void LeaderElector::Write(api::Lease lease, bool create) {
  const Nanos sent_at = env_.clock->MonotonicNow();  // the renew deadline counts from here
  auto alive = alive_;
  auto on_done = [this, alive, sent_at](const ApiResult& r) {
    if (*alive) OnWritten(r, sent_at);
  };
  if (create) {
    lease.mutable_metadata()->clear_resource_version();
    client_->Create(kind_, lease, std::move(on_done));
  } else {
    client_->Update(kind_, lease, std::move(on_done));
  }
}

void LeaderElector::OnWritten(const ApiResult& r, Nanos sent_at) {
  EnforceDeadline();
  api::Lease lease;
  if (!r.ok() || !lease.ParseFromString(r.body) || lease.metadata().resource_version().empty()) {
    if (r.status.ok() && r.code == 409) ++stats_.conflicts;
    if (!r.ok()) Log(LogLevel::kDebug, "lease write failed: " + r.Describe());
    fresh_copy_ = false;  // the outcome is unknown or someone else wrote: read before writing again
    return EndRound(false);
  }
  const bool was_holder = observed_ && observed_->spec().holder_identity() == config_.identity;
  if (!Observe(lease) || lease.spec().holder_identity() != config_.identity) {
    // Not a new version of our record: no candidate saw a change, so it renewed nothing.
    fresh_copy_ = false;
    return EndRound(false);
  }
  ++(was_holder ? stats_.renewals : stats_.acquisitions);
  fresh_copy_ = true;
  ExtendLeadership(sent_at);
  ReportLeader();
  EndRound(true);
}

void LeaderElector::EndRound(bool wrote) {
  round_in_flight_ = false;
  if (!wrote) ++stats_.failures;
  if (phase_ == Phase::kReleasing) return SendRelease(kReleaseTries);
  if (phase_ != Phase::kRunning) return;
  const Nanos now = env_.clock->MonotonicNow();
  if (observed_ && observed_->spec().holder_identity() == config_.identity) {
    // The holder renews (or retries) every retry_period, counted from the round's start.
    return ScheduleRound(round_started_ + config_.retry_period - now);
  }
  const int64_t extra = static_cast<int64_t>(
      jitter_random_.Uniform(static_cast<uint64_t>(config_.retry_period.count() * kJitterTenths / 10) + 1));
  ScheduleRound(config_.retry_period + Nanos(extra));
}

// --- observation and acting -----------------------------------------------------------------

bool LeaderElector::Observe(const api::Lease& lease) {
  const std::string& version = lease.metadata().resource_version();
  const bool changed = !observed_ || version.empty() || observed_->metadata().resource_version() != version;
  // A change restarts the expiry clock: the holder was alive when it wrote this version.
  if (changed) observed_time_ = env_.clock->MonotonicNow();
  observed_ = lease;
  return changed;
}

Nanos LeaderElector::ExpiryWait(const api::Lease& lease) const {
  // The longer of ours and the holder's advertised duration: a holder configured with a
  // longer lease keeps its safety margin.
  return std::max(config_.lease_duration, Seconds(lease.spec().lease_duration_seconds()));
}

void LeaderElector::ReportLeader() {
  if (!observed_) return;
  const std::string& holder = observed_->spec().holder_identity();
  if (holder.empty() || holder == reported_leader_) return;
  reported_leader_ = holder;
  if (config_.on_new_leader) config_.on_new_leader(holder);
}

void LeaderElector::ExtendLeadership(Nanos sent_at) {
  if (phase_ != Phase::kRunning) return;  // a round that lands during Release: the release clears it
  const Nanos deadline = sent_at + config_.renew_deadline;
  const Nanos now = env_.clock->MonotonicNow();
  if (deadline <= now) {
    // The answer came back too late to act on: we hold the record but may not act.
    if (leading_) StopLeading();
    return;
  }
  if (leading_ && deadline <= acting_deadline_) return;
  acting_deadline_ = deadline;
  if (deadline_timer_) env_.clock->Cancel(deadline_timer_);
  deadline_timer_ = env_.clock->Schedule(deadline - now, [this] {
    deadline_timer_ = 0;
    EnforceDeadline();
  });
  if (leading_) return;
  leading_ = true;
  Log(LogLevel::kInfo, "started leading");
  if (config_.on_started_leading) config_.on_started_leading();
}

void LeaderElector::EnforceDeadline() {
  if (leading_ && env_.clock->MonotonicNow() >= acting_deadline_) {
    Log(LogLevel::kInfo, "renew deadline passed");
    StopLeading();
  }
}

void LeaderElector::StopLeading() {
  if (!leading_) return;
  leading_ = false;
  if (deadline_timer_) env_.clock->Cancel(deadline_timer_);
  deadline_timer_ = 0;
  Log(LogLevel::kInfo, "stopped leading");
  if (config_.on_stopped_leading) config_.on_stopped_leading();
}

// --- release --------------------------------------------------------------------------------

void LeaderElector::SendRelease(int tries_left) {
  if (!observed_ || observed_->spec().holder_identity() != config_.identity) return FinishRelease(Status::Ok());
  api::Lease lease = *observed_;
  api::LeaseSpec* spec = lease.mutable_spec();
  spec->set_holder_identity("");
  spec->set_lease_duration_seconds(1);  // as client-go: the record is free, not held
  const Nanos wall = env_.clock->WallNow();
  SetMicroTime(spec->mutable_acquire_time(), wall);
  SetRenewTime(spec, observed_->spec().renew_time(), wall);
  round_in_flight_ = true;
  auto alive = alive_;
  client_->Update(kind_, lease, [this, alive, tries_left](const ApiResult& r) {
    if (!*alive) return;
    round_in_flight_ = false;
    api::Lease written;
    if (r.ok() && written.ParseFromString(r.body)) {
      Observe(written);
      return FinishRelease(Status::Ok());
    }
    if (r.status.ok() && r.code == 409 && tries_left > 1) return RefreshThenRelease(tries_left - 1);
    FinishRelease(r.status.ok() ? Status::Unavailable("release failed: " + r.Describe()) : r.status);
  });
}

void LeaderElector::RefreshThenRelease(int tries_left) {
  round_in_flight_ = true;
  auto alive = alive_;
  client_->Get(kind_, config_.namespace_, config_.name, [this, alive, tries_left](const ApiResult& r) {
    if (!*alive) return;
    round_in_flight_ = false;
    api::Lease lease;
    if (!r.ok() || !lease.ParseFromString(r.body)) {
      return FinishRelease(r.status.ok() ? Status::Unavailable("release: " + r.Describe()) : r.status);
    }
    Observe(lease);
    ReportLeader();
    SendRelease(tries_left);
  });
}

void LeaderElector::FinishRelease(const Status& status) {
  fresh_copy_ = false;
  phase_ = Phase::kIdle;
  Log(LogLevel::kInfo, "released: " + status.ToString());
  auto done = std::move(release_done_);
  release_done_ = nullptr;
  if (resume_after_release_) {
    resume_after_release_ = false;
    Start();
  }
  if (done) done(status);
}

}  // namespace ksim::client
