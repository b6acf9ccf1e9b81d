#include "sim/event_queue.h"

#include <gtest/gtest.h>

#include <vector>

#include "sim/world.h"

namespace ksim::sim {
namespace {

TEST(EventQueue, OrdersByTimeThenScheduleOrder) {
  EventQueue q;
  std::vector<int> order;
  q.Push(20, [&] { order.push_back(3); });
  q.Push(10, [&] { order.push_back(1); });
  q.Push(10, [&] { order.push_back(2); });  // same time: after the first one pushed at 10
  q.Push(5, [&] { order.push_back(0); });
  while (!q.empty()) {
    int64_t t;
    q.Pop(&t)();
  }
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
}

TEST(EventQueue, CancelPreventsRunAndReportsOnce) {
  EventQueue q;
  int ran = 0;
  const EventId a = q.Push(1, [&] { ran += 1; });
  const EventId b = q.Push(2, [&] { ran += 10; });
  EXPECT_TRUE(q.Cancel(a));
  EXPECT_FALSE(q.Cancel(a));
  EXPECT_EQ(q.size(), 1u);
  int64_t t;
  q.Pop(&t)();
  EXPECT_EQ(t, 2);
  EXPECT_EQ(ran, 10);
  EXPECT_FALSE(q.Cancel(b));  // already ran
  EXPECT_TRUE(q.empty());
}

TEST(EventQueue, ReusedSlotIsNotConfusedWithCancelledEvent) {
  EventQueue q;
  const EventId a = q.Push(5, [] {});
  ASSERT_TRUE(q.Cancel(a));
  int ran = 0;
  // The cancelled entry is still in the heap; a new event may reuse its slot.
  const EventId b = q.Push(5, [&] { ++ran; });
  EXPECT_NE(a, b);
  EXPECT_FALSE(q.Cancel(a));
  int64_t t;
  q.Pop(&t)();
  EXPECT_EQ(ran, 1);
}

TEST(World, RunUntilAdvancesTimeAndRunsDueEventsOnly) {
  World w(1);
  std::vector<int64_t> at;
  w.After(Milliseconds(5), [&] { at.push_back(w.now().count()); });
  w.After(Milliseconds(15), [&] { at.push_back(w.now().count()); });
  w.RunUntil(Milliseconds(10));
  EXPECT_EQ(at, (std::vector<int64_t>{5000000}));
  EXPECT_EQ(w.now(), Milliseconds(10));
  w.RunFor(Milliseconds(10));
  EXPECT_EQ(at.size(), 2u);
  EXPECT_EQ(w.now(), Milliseconds(20));
}

TEST(World, ChildRandomDependsOnSeedAndLabelOnly) {
  World a(7), b(7), c(8);
  EXPECT_EQ(a.ChildRandom("x").Next64(), b.ChildRandom("x").Next64());
  EXPECT_NE(a.ChildRandom("x").Next64(), a.ChildRandom("y").Next64());
  EXPECT_NE(a.ChildRandom("x").Next64(), c.ChildRandom("x").Next64());
}

}  // namespace
}  // namespace ksim::sim
