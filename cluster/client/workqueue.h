// The controller work queue of client-go (util/workqueue: the plain queue, the delaying
// queue and the default controller rate limiter), rebuilt for one event loop. Keys are
// "namespace/name" strings. See docs/CLIENT.md.
//
// A key is queued at most once; a key Added while a worker holds it (between Get and
// Done) is queued again at Done, so one key is never processed twice at the same time
// and an update that arrives mid-processing is never lost. Order is FIFO.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "cluster/env/clock.h"
#include "cluster/env/time.h"

namespace ksim::client {

// client-go's DefaultControllerRateLimiter: per-key exponential back-off combined with an
// overall token bucket; a retry waits the later of the two.
struct RateLimiterOptions {
  Nanos base_delay = Milliseconds(5);  // first retry of a key
  Nanos max_delay = Seconds(1000);     // back-off cap
  int64_t qps = 10;                    // token bucket refill rate (tokens per second), > 0
  int64_t burst = 100;                 // token bucket capacity, > 0
};

class WorkQueue {
 public:
  // `clock` must outlive the queue. `max_keys` bounds each of: the keys queued or held
  // (dirty or processing), the keys waiting on an AddAfter timer, and the keys with
  // recorded failures; an Add beyond a bound is refused (returns false).
  WorkQueue(Clock* clock, size_t max_keys, RateLimiterOptions options = {});
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Queues `key` unless it is already queued (true: it will be handed out once). If a
  // worker holds it, it is queued again when that worker calls Done. False after
  // ShutDown or when the queue is full.
  bool Add(std::string_view key);

  // The oldest queued key, now held by the caller until Done; nullopt if none is queued
  // or the queue is shut down.
  std::optional<std::string> Get();

  // Releases a key returned by Get; re-queues it if it was Added meanwhile. Calling it
  // for a key not held does nothing.
  void Done(std::string_view key);

  // Keys queued and not held.
  size_t Len() const { return queue_.size(); }

  // Adds `key` after `delay` of monotonic time (now if delay <= 0). A key already waiting
  // keeps the earlier of its two deadlines. False after ShutDown or when too many keys wait.
  bool AddAfter(std::string_view key, Nanos delay);

  // AddAfter(key, When(key)): the later of the key's back-off (base * 2^failures, capped)
  // and the token bucket's wait; counts a failure. False if refused.
  bool AddRateLimited(std::string_view key);

  // Forgets the key's failures (call after it was processed successfully).
  void Forget(std::string_view key);

  // How many times the key was rate-limited since the last Forget.
  int NumRequeues(std::string_view key) const;

  // Get returns nullopt from now on, Adds are refused, pending timers are cancelled.
  // Keys held by workers may still be passed to Done.
  void ShutDown();
  bool shutting_down() const { return shut_down_; }

  // Called on the event loop (through a zero-delay timer, never inside Add or Done) when
  // a key becomes available. It is called again after it returns if keys are still
  // queued and it took at least one (so a worker that handles one key per call gets
  // them all, interleaved with other events); a callback that takes nothing is not
  // called again until a new key arrives.
  void SetReadyCallback(std::function<void()> on_ready);

  // The delay AddRateLimited would use now, counting a failure; exposed for tests and
  // for callers that schedule retries themselves.
  Nanos When(std::string_view key);

  size_t waiting_count() const { return waiting_.size(); }
  size_t max_keys() const { return max_keys_; }

 private:
  struct KeyState {
    bool dirty = false;       // queued, or Added while held
    bool processing = false;  // held by a worker (between Get and Done)
  };
  struct Waiting {
    TimerId timer = 0;
    Nanos ready_at{0};
  };

  void Enqueue(const std::string& key);
  void ScheduleWake();
  void OnWake();
  Nanos ExponentialDelay(std::string_view key);
  Nanos BucketDelay();

  Clock* clock_;
  size_t max_keys_;
  RateLimiterOptions options_;
  bool shut_down_ = false;

  std::deque<std::string> queue_;                       // dirty and not held, FIFO
  std::map<std::string, KeyState, std::less<>> keys_;   // dirty or held; bounded by max_keys_
  std::map<std::string, Waiting, std::less<>> waiting_;  // AddAfter timers; bounded by max_keys_
  std::map<std::string, int, std::less<>> failures_;     // back-off exponents; bounded by max_keys_

  // Token bucket in nanoseconds of refill: one token is worth 1s/qps, full is burst tokens.
  Nanos bucket_interval_{0};
  Nanos bucket_capacity_{0};
  Nanos bucket_level_{0};
  Nanos bucket_updated_at_{0};

  std::function<void()> on_ready_;
  TimerId wake_timer_ = 0;
  uint64_t gets_ = 0;  // Get calls that returned a key, to tell whether a callback made progress
};

}  // namespace ksim::client
