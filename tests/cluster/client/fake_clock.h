// A manual clock for unit tests of timer-driven code: time moves only when a test says so,
// and due timers fire in (deadline, scheduling order), as cluster/env/clock.h requires.
#pragma once

#include <functional>
#include <map>
#include <utility>

#include "cluster/env/clock.h"

namespace ksim::testing {

class FakeClock final : public Clock {
 public:
  Nanos MonotonicNow() const override { return now_; }
  Nanos WallNow() const override { return now_ + Seconds(1'700'000'000); }

  TimerId Schedule(Nanos delay, std::function<void()> fn) override {
    const TimerId id = ++last_id_;
    const Nanos deadline = now_ + (delay < Nanos(0) ? Nanos(0) : delay);
    timers_.emplace(std::pair{deadline, id}, std::move(fn));
    deadlines_.emplace(id, deadline);
    return id;
  }

  bool Cancel(TimerId id) override {
    const auto it = deadlines_.find(id);
    if (it == deadlines_.end()) return false;
    timers_.erase({it->second, id});
    deadlines_.erase(it);
    return true;
  }

  // Moves time forward by `d`, firing every timer that comes due (including timers those
  // timers schedule) at its own deadline.
  void Advance(Nanos d) {
    const Nanos target = now_ + d;
    while (!timers_.empty() && timers_.begin()->first.first <= target) {
      auto node = timers_.extract(timers_.begin());
      deadlines_.erase(node.key().second);
      now_ = node.key().first;
      node.mapped()();
    }
    now_ = target;
  }

  // Fires what is due now (zero-delay timers).
  void RunDue() { Advance(Nanos(0)); }

  size_t pending() const { return timers_.size(); }

 private:
  Nanos now_{0};
  TimerId last_id_ = 0;
  std::map<std::pair<Nanos, TimerId>, std::function<void()>> timers_;
  std::map<TimerId, Nanos> deadlines_;
};

}  // namespace ksim::testing
