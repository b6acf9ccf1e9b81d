#include "real/event_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string>
#include <utility>

namespace ksim::real {
namespace {

constexpr uint64_t kWakeRegId = 0;
constexpr int kMaxEventsPerWait = 64;

std::string Errno(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

}  // namespace

Status EventLoop::Create(std::unique_ptr<EventLoop>* loop) {
  const int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) return Status::IOError(Errno("epoll_create1"));
  const int wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd < 0) {
    Status s = Status::IOError(Errno("eventfd"));
    close(epoll_fd);
    return s;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeRegId;
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, wake_fd, &ev) != 0) {
    Status s = Status::IOError(Errno("epoll_ctl(eventfd)"));
    close(wake_fd);
    close(epoll_fd);
    return s;
  }
  loop->reset(new EventLoop(epoll_fd, wake_fd));
  return Status::Ok();
}

EventLoop::EventLoop(int epoll_fd, int wake_fd) : epoll_fd_(epoll_fd), wake_fd_(wake_fd) {}

EventLoop::~EventLoop() {
  close(wake_fd_);
  close(epoll_fd_);
}

// --- file descriptors ----------------------------------------------------------------

Status EventLoop::AddFd(int fd, uint32_t epoll_events, FdCallback on_events) {
  if (fd_to_reg_.count(fd) != 0) return Status::AlreadyExists("fd " + std::to_string(fd) + " already watched");
  const uint64_t reg_id = next_reg_id_++;
  epoll_event ev{};
  ev.events = epoll_events;
  ev.data.u64 = reg_id;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) return Status::IOError(Errno("epoll_ctl(ADD)"));
  Registration& reg = registrations_[reg_id];
  reg.fd = fd;
  reg.events = epoll_events;
  reg.callback = std::make_shared<FdCallback>(std::move(on_events));
  fd_to_reg_[fd] = reg_id;
  return Status::Ok();
}

Status EventLoop::ModifyFd(int fd, uint32_t epoll_events) {
  auto it = fd_to_reg_.find(fd);
  if (it == fd_to_reg_.end()) return Status::NotFound("fd " + std::to_string(fd) + " not watched");
  Registration& reg = registrations_[it->second];
  if (reg.events == epoll_events) return Status::Ok();
  epoll_event ev{};
  ev.events = epoll_events;
  ev.data.u64 = it->second;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) != 0) return Status::IOError(Errno("epoll_ctl(MOD)"));
  reg.events = epoll_events;
  return Status::Ok();
}

void EventLoop::RemoveFd(int fd) {
  auto it = fd_to_reg_.find(fd);
  if (it == fd_to_reg_.end()) return;
  // Failure means the fd was already closed, which removed it from epoll anyway.
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  registrations_.erase(it->second);
  fd_to_reg_.erase(it);
}

// --- tasks and timers ----------------------------------------------------------------

void EventLoop::Post(std::function<void()> fn) {
  bool was_empty;
  {
    std::lock_guard<std::mutex> lock(post_mu_);
    was_empty = posted_.empty();
    posted_.push_back(std::move(fn));
  }
  // Only the transition to non-empty needs a wake-up: the loop checks the queue under
  // the lock before it blocks, so a non-empty queue never waits for a signal.
  if (was_empty) {
    const uint64_t one = 1;
    ssize_t n;
    do {
      n = write(wake_fd_, &one, sizeof(one));
    } while (n < 0 && errno == EINTR);
    // EAGAIN means the counter is saturated, i.e. a wake-up is already pending.
  }
}

TimerId EventLoop::RunAt(SteadyTime deadline, std::function<void()> fn) {
  assert(fn);
  const TimerId id = next_timer_id_++;
  timer_heap_.push(TimerEntry{ToNs(deadline), id});
  timers_.emplace(id, std::move(fn));
  return id;
}

TimerId EventLoop::RunAfter(Nanos delay, std::function<void()> fn) {
  if (delay < Nanos(0)) delay = Nanos(0);
  return RunAt(Now() + std::chrono::duration_cast<SteadyTime::duration>(delay), std::move(fn));
}

bool EventLoop::CancelTimer(TimerId id) {
  if (timers_.erase(id) == 0) return false;
  MaybeCompactTimerHeap();
  return true;
}

void EventLoop::MaybeCompactTimerHeap() {
  // Cancelled entries stay in the heap until they reach the top. A component that
  // schedules and cancels many timers (e.g. a request timeout per RPC) would grow the
  // heap without bound, so rebuild it once dead entries outnumber live ones.
  if (timer_heap_.size() <= 2 * timers_.size() + 1024) return;
  std::vector<TimerEntry> live;
  live.reserve(timers_.size());
  while (!timer_heap_.empty()) {
    if (timers_.count(timer_heap_.top().id) != 0) live.push_back(timer_heap_.top());
    timer_heap_.pop();
  }
  timer_heap_ = decltype(timer_heap_)(std::greater<TimerEntry>(), std::move(live));
}

// --- running -------------------------------------------------------------------------

void EventLoop::Run() {
  while (!stop_requested_) RunOnce(Seconds(3600));
  stop_requested_ = false;
}

void EventLoop::RunFor(Nanos duration) {
  const SteadyTime deadline = Now() + std::chrono::duration_cast<SteadyTime::duration>(duration);
  while (!stop_requested_) {
    const SteadyTime now = Now();
    if (now >= deadline) break;
    RunOnce(deadline - now);
  }
  stop_requested_ = false;
}

bool EventLoop::RunUntil(const std::function<bool()>& done, Nanos timeout) {
  const SteadyTime deadline = Now() + std::chrono::duration_cast<SteadyTime::duration>(timeout);
  while (!done() && !stop_requested_) {
    const SteadyTime now = Now();
    if (now >= deadline) break;
    RunOnce(deadline - now);
  }
  stop_requested_ = false;
  return done();
}

void EventLoop::RunOnce(Nanos max_wait) {
  int64_t wait_ns = std::max<int64_t>(0, max_wait.count());
  {
    std::lock_guard<std::mutex> lock(post_mu_);
    if (!posted_.empty()) wait_ns = 0;
  }
  if (wait_ns > 0) {
    // Discard cancelled entries at the top so the wait is bounded by a live timer.
    while (!timer_heap_.empty() && timers_.count(timer_heap_.top().id) == 0) timer_heap_.pop();
    if (!timer_heap_.empty()) {
      wait_ns = std::clamp<int64_t>(timer_heap_.top().deadline_ns - ToNs(Now()), 0, wait_ns);
    }
  }
  // Round up: waking before the deadline would only spin until it arrives.
  const int64_t wait_ms = (wait_ns + 999'999) / 1'000'000;
  DispatchFdEvents(static_cast<int>(std::min<int64_t>(wait_ms, INT_MAX)));
  FireDueTimers();
  RunPostedTasks();
}

void EventLoop::DispatchFdEvents(int timeout_ms) {
  epoll_event events[kMaxEventsPerWait];
  const int n = epoll_wait(epoll_fd_, events, kMaxEventsPerWait, timeout_ms);
  if (n < 0) return;  // EINTR: the caller's loop simply iterates again
  for (int i = 0; i < n; ++i) {
    const uint64_t reg_id = events[i].data.u64;
    if (reg_id == kWakeRegId) {
      DrainWakeFd();
      continue;
    }
    auto it = registrations_.find(reg_id);
    if (it == registrations_.end()) continue;  // removed by an earlier callback
    // Hold the callback: it may remove its own registration while it runs.
    std::shared_ptr<FdCallback> callback = it->second.callback;
    (*callback)(events[i].events);
    if (stop_requested_) {
      // Later events stay pending in the kernel (level-triggered) for the next run.
      return;
    }
  }
}

void EventLoop::DrainWakeFd() {
  uint64_t value;
  ssize_t n;
  do {
    n = read(wake_fd_, &value, sizeof(value));
  } while (n < 0 && errno == EINTR);
}

void EventLoop::FireDueTimers() {
  // Only timers that existed when this phase began may fire in it, so a callback that
  // keeps rescheduling itself with zero delay cannot starve I/O.
  const TimerId id_limit = next_timer_id_;
  const int64_t now_ns = ToNs(Now());
  while (!timer_heap_.empty() && !stop_requested_) {
    const TimerEntry top = timer_heap_.top();
    auto it = timers_.find(top.id);
    if (it == timers_.end()) {
      timer_heap_.pop();  // cancelled
      continue;
    }
    if (top.deadline_ns > now_ns || top.id >= id_limit) break;
    timer_heap_.pop();
    std::function<void()> fn = std::move(it->second);
    timers_.erase(it);
    fn();
  }
}

void EventLoop::RunPostedTasks() {
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard<std::mutex> lock(post_mu_);
    tasks.swap(posted_);
  }
  // Tasks posted while these run wait for the next iteration, after I/O is polled.
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (stop_requested_) {
      // Put the rest back, ahead of anything posted since, to keep the order.
      std::lock_guard<std::mutex> lock(post_mu_);
      posted_.insert(posted_.begin(), std::make_move_iterator(tasks.begin() + static_cast<ptrdiff_t>(i)),
                     std::make_move_iterator(tasks.end()));
      return;
    }
    tasks[i]();
  }
}

}  // namespace ksim::real
