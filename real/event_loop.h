// EventLoop: the single thread on which everything of one real daemon runs.
//
// It multiplexes three kinds of input, the same three a component sees in simulation:
// readiness of file descriptors (epoll, level-triggered), timers on the steady clock, and
// tasks posted to run "soon". One iteration waits in epoll_wait, then dispatches fd
// events, then fires due timers, then runs posted tasks. Every callback runs on the
// thread that calls Run/RunFor/RunUntil; no callback ever runs inside the call that
// registered it.
//
// Thread safety: only Post may be called from other threads (it is how signal handlers'
// helper threads, resolvers or tests hand work to the loop). Everything else, including
// Stop, must be called on the loop's thread; from elsewhere, Post([&] { loop.Stop(); }).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>
#include <unordered_map>
#include <vector>

#include "cluster/env/clock.h"
#include "cluster/env/status.h"
#include "cluster/env/time.h"

namespace ksim::real {

class EventLoop {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;
  // Receives the epoll event mask (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, ...).
  using FdCallback = std::function<void(uint32_t epoll_events)>;

  // Creates the epoll instance and the eventfd that Post uses to wake the loop. Fails
  // with IOError only if the kernel refuses them (fd exhaustion), which a daemon cannot
  // recover from at startup, so it is reported rather than retried.
  static Status Create(std::unique_ptr<EventLoop>* loop);

  // Pending timers and posted tasks are destroyed without running. Registered fds are
  // not closed: they belong to whoever registered them.
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // --- file descriptors ---

  // Starts watching `fd` for `epoll_events` (level-triggered; EPOLLERR and EPOLLHUP are
  // always reported). `on_events` runs on the loop whenever the fd is ready.
  // AlreadyExists if `fd` is already watched; IOError if epoll_ctl fails.
  Status AddFd(int fd, uint32_t epoll_events, FdCallback on_events);

  // Changes the interest set of a watched fd. NotFound if it is not watched.
  Status ModifyFd(int fd, uint32_t epoll_events);

  // Stops watching `fd`. Its callback never runs again, not even for events already
  // collected in the current iteration, so the caller may close the fd right after.
  // Removing an fd that is not watched is a no-op.
  void RemoveFd(int fd);

  // --- tasks and timers ---

  // Runs `fn` on the loop after the current callback returns (never inside this call).
  // Tasks run in the order they were posted. Safe to call from any thread while the loop
  // object exists. The queue is unbounded: producers are the loop's own callbacks (each
  // posts a bounded amount of work per event) and a few helper threads.
  void Post(std::function<void()> fn);

  // Runs `fn` once at or after `deadline`. Timers with equal deadlines fire in the order
  // they were scheduled (ids are the tie-breaker). A deadline in the past fires in the
  // next iteration, never inside this call. Returns a non-zero id for CancelTimer.
  TimerId RunAt(SteadyTime deadline, std::function<void()> fn);

  // RunAt(Now() + delay). A negative delay counts as zero.
  TimerId RunAfter(Nanos delay, std::function<void()> fn);

  // Cancels a pending timer. Returns true if it was pending and now never fires, false
  // if it already fired, was cancelled or never existed. O(1): the heap entry is removed
  // lazily (and the heap is rebuilt when cancelled entries dominate, which bounds it).
  bool CancelTimer(TimerId id);

  // The loop's notion of now: std::chrono::steady_clock.
  static SteadyTime Now() { return std::chrono::steady_clock::now(); }

  // --- running ---

  // Runs iterations until Stop is called. REQUIRES: not called from inside a callback of
  // this loop (no nested runs).
  void Run();

  // Runs iterations for `duration` or until Stop, whichever is first.
  void RunFor(Nanos duration);

  // Runs iterations until `done()` is true (checked before the first iteration and after
  // each one), Stop is called, or `timeout` passes. Returns done()'s final value. Meant
  // for tests and for draining work at shutdown.
  bool RunUntil(const std::function<bool()>& done, Nanos timeout);

  // Makes the running (or next) Run/RunFor/RunUntil return as soon as the current
  // callback returns. Work that was ready but not dispatched stays pending (fds are
  // level-triggered, timers and tasks keep their order) for the next run. Loop thread only.
  void Stop() { stop_requested_ = true; }

  size_t pending_timers() const { return timers_.size(); }
  size_t watched_fds() const { return fd_to_reg_.size(); }

 private:
  struct TimerEntry {
    int64_t deadline_ns;
    TimerId id;
    bool operator>(const TimerEntry& o) const {
      return deadline_ns != o.deadline_ns ? deadline_ns > o.deadline_ns : id > o.id;
    }
  };
  struct Registration {
    int fd = -1;
    uint32_t events = 0;
    std::shared_ptr<FdCallback> callback;  // shared so a callback may remove itself
  };

  EventLoop(int epoll_fd, int wake_fd);

  // One iteration; waits at most `max_wait` (rounded up to whole milliseconds) for input.
  void RunOnce(Nanos max_wait);
  void DispatchFdEvents(int timeout_ms);
  void FireDueTimers();
  void RunPostedTasks();
  void DrainWakeFd();
  void MaybeCompactTimerHeap();
  static int64_t ToNs(SteadyTime t) { return t.time_since_epoch().count(); }

  const int epoll_fd_;
  const int wake_fd_;
  bool stop_requested_ = false;

  // Registration ids go into epoll_event.data, so an event collected for an fd that was
  // removed (and perhaps reused by a new registration) in the same iteration is ignored.
  uint64_t next_reg_id_ = 1;  // 0 is the wake eventfd
  std::unordered_map<uint64_t, Registration> registrations_;
  std::unordered_map<int, uint64_t> fd_to_reg_;

  TimerId next_timer_id_ = 1;
  std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<TimerEntry>> timer_heap_;
  std::unordered_map<TimerId, std::function<void()>> timers_;  // pending only

  std::mutex post_mu_;
  std::vector<std::function<void()>> posted_;  // guarded by post_mu_
};

}  // namespace ksim::real
