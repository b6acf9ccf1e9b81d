// EventQueue: the simulated world's agenda. Events are ordered by (time, sequence), so two
// events due at the same instant run in the order they were scheduled: that tie-break is
// what makes a seed a replay.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace ksim::sim {

// Identifies a scheduled event; 0 is never issued. Encodes (sequence, slot).
using EventId = uint64_t;

class EventQueue {
 public:
  // Schedules fn at `time_ns`. REQUIRES: fn non-empty. Returns the event's id.
  EventId Push(int64_t time_ns, std::function<void()> fn);

  // Cancels a pending event. Returns false if it already ran or was cancelled.
  bool Cancel(EventId id);

  // True if no live event is pending.
  bool empty() { SkipCancelled(); return heap_.empty(); }

  // Time of the earliest live event. REQUIRES: !empty().
  int64_t NextTime() { SkipCancelled(); return heap_.front().time_ns; }

  // Removes the earliest live event and returns its function, time and id.
  // REQUIRES: !empty().
  std::function<void()> Pop(int64_t* time_ns, EventId* id = nullptr);

  size_t size() const { return live_; }

 private:
  // 40 bits of sequence (10^12 events) and 24 bits of slot (16M pending events).
  static constexpr int kSlotBits = 24;
  static constexpr uint64_t kSlotMask = (uint64_t{1} << kSlotBits) - 1;

  struct Entry {
    int64_t time_ns;
    uint64_t key;  // (sequence << kSlotBits) | slot; sequence makes keys unique and ordered
  };
  struct Slot {
    std::function<void()> fn;
    uint64_t key = 0;  // key of the event occupying the slot; 0 when free or cancelled
  };
  static bool Later(const Entry& a, const Entry& b) {
    return a.time_ns != b.time_ns ? a.time_ns > b.time_ns : a.key > b.key;
  }
  void SkipCancelled();
  void FreeSlot(uint32_t slot);

  std::vector<Entry> heap_;  // a binary min-heap under Later
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;
  uint64_t next_sequence_ = 1;
  size_t live_ = 0;
};

}  // namespace ksim::sim
