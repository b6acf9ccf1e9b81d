// RealClock: ksim::Clock on a real host. Monotonic time is std::chrono::steady_clock
// (CLOCK_MONOTONIC: never jumps, unaffected by NTP steps); wall time is
// std::chrono::system_clock (CLOCK_REALTIME: may jump). Timers run on the EventLoop.
#pragma once

#include <functional>

#include "cluster/env/clock.h"
#include "real/event_loop.h"

namespace ksim::real {

class RealClock final : public Clock {
 public:
  // REQUIRES: `loop` outlives the clock and every timer scheduled through it.
  explicit RealClock(EventLoop* loop) : loop_(loop) {}

  // steady_clock's time since its epoch (boot, on Linux).
  Nanos MonotonicNow() const override;

  // system_clock's time since the Unix epoch.
  Nanos WallNow() const override;

  // Runs `fn` on the loop after `delay` of steady time (a negative delay counts as
  // zero); zero runs it after the current callback, never inside this call. Equal
  // deadlines fire in scheduling order.
  TimerId Schedule(Nanos delay, std::function<void()> fn) override;

  // True if the timer was pending and now never fires.
  bool Cancel(TimerId id) override;

 private:
  EventLoop* loop_;
};

}  // namespace ksim::real
