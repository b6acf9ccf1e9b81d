#include "sim/event_queue.h"

#include <algorithm>
#include <cassert>
#include <cstdlib>

namespace ksim::sim {

EventId EventQueue::Push(int64_t time_ns, std::function<void()> fn) {
  assert(fn);
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    if (slot > kSlotMask) std::abort();  // more than 16M pending events: a runaway loop
    slots_.emplace_back();
  }
  const uint64_t key = (next_sequence_++ << kSlotBits) | slot;
  slots_[slot].fn = std::move(fn);
  slots_[slot].key = key;
  heap_.push_back(Entry{time_ns, key});
  std::push_heap(heap_.begin(), heap_.end(), Later);
  ++live_;
  return key;
}

bool EventQueue::Cancel(EventId id) {
  const uint32_t slot = static_cast<uint32_t>(id & kSlotMask);
  if (id == 0 || slot >= slots_.size() || slots_[slot].key != id) return false;
  // The heap entry stays and is skipped when it reaches the top; the slot is freed then,
  // so a reused slot can never be confused with the cancelled entry.
  slots_[slot].key = 0;
  slots_[slot].fn = nullptr;
  --live_;
  return true;
}

void EventQueue::FreeSlot(uint32_t slot) { free_slots_.push_back(slot); }

void EventQueue::SkipCancelled() {
  while (!heap_.empty()) {
    const Entry& top = heap_.front();
    const uint32_t slot = static_cast<uint32_t>(top.key & kSlotMask);
    if (slots_[slot].key == top.key) return;
    std::pop_heap(heap_.begin(), heap_.end(), Later);
    heap_.pop_back();
    FreeSlot(slot);
  }
}

std::function<void()> EventQueue::Pop(int64_t* time_ns, EventId* id) {
  SkipCancelled();
  assert(!heap_.empty());
  const Entry top = heap_.front();
  std::pop_heap(heap_.begin(), heap_.end(), Later);
  heap_.pop_back();
  const uint32_t slot = static_cast<uint32_t>(top.key & kSlotMask);
  std::function<void()> fn = std::move(slots_[slot].fn);
  slots_[slot].fn = nullptr;
  slots_[slot].key = 0;
  FreeSlot(slot);
  --live_;
  *time_ns = top.time_ns;
  if (id) *id = top.key;
  return fn;
}

}  // namespace ksim::sim
