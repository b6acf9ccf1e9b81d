// Clock: the only source of time and timers a process sees.
#pragma once

#include <cstdint>
#include <functional>

#include "cluster/env/time.h"

namespace ksim {

// Identifies a scheduled timer. 0 is never a valid id.
using TimerId = uint64_t;

class Clock {
 public:
  virtual ~Clock() = default;

  // Monotonic time since an arbitrary, per-host epoch. Never goes backwards; it may run
  // slightly faster or slower than other hosts' clocks (drift). Use it for timeouts.
  virtual Nanos MonotonicNow() const = 0;

  // Wall-clock time since the Unix epoch. May be skewed against other hosts and may jump
  // forwards or backwards. Use it only for timestamps shown to people, never for ordering
  // or for deciding that a lease expired.
  virtual Nanos WallNow() const = 0;

  // Runs `fn` once, on this process's event loop, after `delay` of this host's monotonic
  // time has passed. A delay of zero runs `fn` after the current callback returns, never
  // inside this call. Timers with equal deadlines fire in the order they were scheduled.
  // REQUIRES: delay >= 0, fn is non-empty.
  // Returns a non-zero id for Cancel.
  virtual TimerId Schedule(Nanos delay, std::function<void()> fn) = 0;

  // Cancels a timer that has not fired yet. Returns true if it was pending (and now will
  // never fire), false if it already fired, was already cancelled or was never issued.
  virtual bool Cancel(TimerId id) = 0;
};

}  // namespace ksim
