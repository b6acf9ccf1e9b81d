#include "cluster/client/workqueue.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace ksim::client {

WorkQueue::WorkQueue(Clock* clock, size_t max_keys, RateLimiterOptions options)
    : clock_(clock), max_keys_(max_keys), options_(options) {
  const int64_t qps = std::max<int64_t>(options_.qps, 1);
  const int64_t burst = std::max<int64_t>(options_.burst, 1);
  bucket_interval_ = Nanos(Seconds(1).count() / qps);
  bucket_capacity_ = bucket_interval_ * burst;
  bucket_level_ = bucket_capacity_;  // a new bucket is full, as in golang.org/x/time/rate
  bucket_updated_at_ = clock_->MonotonicNow();
}

WorkQueue::~WorkQueue() {
  for (const auto& [key, waiting] : waiting_) clock_->Cancel(waiting.timer);
  if (wake_timer_ != 0) clock_->Cancel(wake_timer_);
}

bool WorkQueue::Add(std::string_view key) {
  if (shut_down_) return false;
  if (const auto it = keys_.find(key); it != keys_.end()) {
    // Queued already, or held: then Done queues it again.
    it->second.dirty = true;
    return true;
  }
  if (keys_.size() >= max_keys_) return false;
  const auto inserted = keys_.emplace(std::string(key), KeyState{/*dirty=*/true, /*processing=*/false}).first;
  Enqueue(inserted->first);
  return true;
}

std::optional<std::string> WorkQueue::Get() {
  if (shut_down_ || queue_.empty()) return std::nullopt;
  std::string key = std::move(queue_.front());
  queue_.pop_front();
  KeyState& state = keys_.find(key)->second;
  state.dirty = false;
  state.processing = true;
  ++gets_;
  return key;
}

void WorkQueue::Done(std::string_view key) {
  const auto it = keys_.find(key);
  if (it == keys_.end() || !it->second.processing) return;
  it->second.processing = false;
  if (it->second.dirty && !shut_down_) {
    Enqueue(it->first);
  } else {
    keys_.erase(it);
  }
}

void WorkQueue::Enqueue(const std::string& key) {
  queue_.push_back(key);
  ScheduleWake();
}

bool WorkQueue::AddAfter(std::string_view key, Nanos delay) {
  if (shut_down_) return false;
  if (delay <= Nanos(0)) return Add(key);
  const Nanos ready_at = clock_->MonotonicNow() + delay;
  auto it = waiting_.find(key);
  if (it != waiting_.end()) {
    if (ready_at >= it->second.ready_at) return true;  // the earlier deadline stands
    clock_->Cancel(it->second.timer);
  } else {
    if (waiting_.size() >= max_keys_) return false;
    it = waiting_.emplace(std::string(key), Waiting{}).first;
  }
  it->second.ready_at = ready_at;
  it->second.timer = clock_->Schedule(delay, [this, k = it->first] {
    waiting_.erase(k);
    Add(k);
  });
  return true;
}

bool WorkQueue::AddRateLimited(std::string_view key) {
  if (shut_down_) return false;
  if (!failures_.contains(key) && failures_.size() >= max_keys_) return false;
  if (!waiting_.contains(key) && waiting_.size() >= max_keys_) return false;
  return AddAfter(key, When(key));
}

Nanos WorkQueue::When(std::string_view key) {
  // Both limiters are always consulted, as client-go's MaxOfRateLimiter does: a retry
  // counts a failure and takes a token even when the other limiter decides the wait.
  const Nanos exponential = ExponentialDelay(key);
  const Nanos bucket = BucketDelay();
  return std::max(exponential, bucket);
}

Nanos WorkQueue::ExponentialDelay(std::string_view key) {
  int exponent = 0;
  if (auto it = failures_.find(key); it != failures_.end()) {
    exponent = it->second;
    if (it->second < std::numeric_limits<int>::max()) ++it->second;
  } else if (failures_.size() < max_keys_) {
    failures_.emplace(std::string(key), 1);
  }
  const int64_t base = options_.base_delay.count();
  const int64_t cap = options_.max_delay.count();
  if (base <= 0) return Nanos(0);
  // base * 2^exponent, computed without overflowing.
  if (exponent >= 63 || base > (std::numeric_limits<int64_t>::max() >> exponent)) return Nanos(cap);
  return Nanos(std::min(base << exponent, cap));
}

Nanos WorkQueue::BucketDelay() {
  // The level is kept in nanoseconds of refill, so refilling is adding elapsed time and
  // the arithmetic is exact (no floating point to differ between builds).
  const Nanos now = clock_->MonotonicNow();
  if (now > bucket_updated_at_) {
    bucket_level_ = std::min(bucket_capacity_, bucket_level_ + (now - bucket_updated_at_));
    bucket_updated_at_ = now;
  }
  bucket_level_ -= bucket_interval_;
  return bucket_level_ < Nanos(0) ? -bucket_level_ : Nanos(0);
}

void WorkQueue::Forget(std::string_view key) {
  if (const auto it = failures_.find(key); it != failures_.end()) failures_.erase(it);
}

int WorkQueue::NumRequeues(std::string_view key) const {
  const auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

void WorkQueue::ShutDown() {
  if (shut_down_) return;
  shut_down_ = true;
  for (const auto& [key, waiting] : waiting_) clock_->Cancel(waiting.timer);
  waiting_.clear();
  if (wake_timer_ != 0) clock_->Cancel(wake_timer_);
  wake_timer_ = 0;
  queue_.clear();
  failures_.clear();
  // Only held keys stay, so their Done calls remain harmless.
  std::erase_if(keys_, [](const auto& entry) { return !entry.second.processing; });
  for (auto& [key, state] : keys_) state.dirty = false;
}

void WorkQueue::SetReadyCallback(std::function<void()> on_ready) {
  on_ready_ = std::move(on_ready);
  if (!on_ready_ && wake_timer_ != 0) {
    clock_->Cancel(wake_timer_);
    wake_timer_ = 0;
  }
  if (!queue_.empty()) ScheduleWake();
}

void WorkQueue::ScheduleWake() {
  if (!on_ready_ || wake_timer_ != 0 || shut_down_) return;
  wake_timer_ = clock_->Schedule(Nanos(0), [this] { OnWake(); });
}

void WorkQueue::OnWake() {
  wake_timer_ = 0;
  if (shut_down_ || queue_.empty() || !on_ready_) return;
  const uint64_t gets_before = gets_;
  // A copy: the callback may replace itself through SetReadyCallback.
  const std::function<void()> on_ready = on_ready_;
  on_ready();
  if (!queue_.empty() && gets_ != gets_before) ScheduleWake();
}

}  // namespace ksim::client
