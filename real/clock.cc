#include "real/clock.h"

#include <chrono>
#include <utility>

namespace ksim::real {

Nanos RealClock::MonotonicNow() const {
  return std::chrono::duration_cast<Nanos>(std::chrono::steady_clock::now().time_since_epoch());
}

Nanos RealClock::WallNow() const {
  return std::chrono::duration_cast<Nanos>(std::chrono::system_clock::now().time_since_epoch());
}

TimerId RealClock::Schedule(Nanos delay, std::function<void()> fn) {
  return loop_->RunAfter(delay, std::move(fn));
}

bool RealClock::Cancel(TimerId id) { return loop_->CancelTimer(id); }

}  // namespace ksim::real
