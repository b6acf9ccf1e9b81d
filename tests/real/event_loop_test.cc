#include "real/event_loop.h"

#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "real/clock.h"

namespace ksim::real {
namespace {

std::unique_ptr<EventLoop> NewLoop() {
  std::unique_ptr<EventLoop> loop;
  Status s = EventLoop::Create(&loop);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return loop;
}

TEST(EventLoopTest, EqualDeadlinesFireInScheduleOrder) {
  auto loop = NewLoop();
  const auto deadline = EventLoop::Now() + std::chrono::milliseconds(5);
  std::vector<int> fired;
  for (int i = 0; i < 100; ++i) loop->RunAt(deadline, [&fired, i] { fired.push_back(i); });
  // Scheduled last but due earlier: must fire first.
  loop->RunAt(deadline - std::chrono::milliseconds(1), [&fired] { fired.push_back(-1); });
  ASSERT_TRUE(loop->RunUntil([&] { return fired.size() == 101; }, Seconds(5)));
  ASSERT_EQ(fired.front(), -1);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(fired[static_cast<size_t>(i) + 1], i);
}

TEST(EventLoopTest, CancelPreventsFiring) {
  auto loop = NewLoop();
  std::vector<int> fired;
  std::vector<TimerId> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(loop->RunAfter(Milliseconds(1), [&fired, i] { fired.push_back(i); }));
  for (int i = 0; i < 10; i += 2) EXPECT_TRUE(loop->CancelTimer(ids[static_cast<size_t>(i)]));
  EXPECT_FALSE(loop->CancelTimer(ids[0])) << "second cancel of the same timer";
  EXPECT_FALSE(loop->CancelTimer(0));
  EXPECT_FALSE(loop->CancelTimer(999999));
  // Due after all of them, so when it fires every uncancelled timer has fired too.
  bool sentinel = false;
  loop->RunAfter(Milliseconds(2), [&] { sentinel = true; });
  ASSERT_TRUE(loop->RunUntil([&] { return sentinel; }, Seconds(5)));
  EXPECT_EQ(fired, (std::vector<int>{1, 3, 5, 7, 9}));
  EXPECT_FALSE(loop->CancelTimer(ids[1])) << "cancel after firing";
  EXPECT_EQ(loop->pending_timers(), 0u);
}

TEST(EventLoopTest, TimerDoesNotFireEarly) {
  auto loop = NewLoop();
  const auto start = EventLoop::Now();
  std::chrono::steady_clock::time_point fired_at{};
  loop->RunAfter(Milliseconds(20), [&] { fired_at = EventLoop::Now(); });
  ASSERT_TRUE(loop->RunUntil([&] { return fired_at.time_since_epoch().count() != 0; }, Seconds(5)));
  EXPECT_GE(fired_at - start, std::chrono::milliseconds(20));
}

TEST(EventLoopTest, ManyCancelledTimersDoNotBreakOrdering) {
  auto loop = NewLoop();
  for (int i = 0; i < 100000; ++i) loop->CancelTimer(loop->RunAfter(Seconds(60), [] {}));
  bool fired = false;
  loop->RunAfter(Milliseconds(1), [&] { fired = true; });
  EXPECT_EQ(loop->pending_timers(), 1u);
  EXPECT_TRUE(loop->RunUntil([&] { return fired; }, Seconds(5)));
}

TEST(EventLoopTest, ClockZeroDelayRunsAfterTheCallNotInside) {
  auto loop = NewLoop();
  RealClock clock(loop.get());
  bool ran = false;
  clock.Schedule(Nanos(0), [&] { ran = true; });
  EXPECT_FALSE(ran);
  EXPECT_TRUE(loop->RunUntil([&] { return ran; }, Seconds(5)));
  const Nanos m1 = clock.MonotonicNow();
  const Nanos m2 = clock.MonotonicNow();
  EXPECT_LE(m1, m2);
  // Wall time is after 2020-01-01 on any machine that runs this.
  EXPECT_GT(clock.WallNow(), Seconds(1577836800));
  const TimerId id = clock.Schedule(Seconds(10), [] { ADD_FAILURE() << "cancelled timer fired"; });
  EXPECT_TRUE(clock.Cancel(id));
  EXPECT_FALSE(clock.Cancel(id));
}

TEST(EventLoopTest, PostRunsAfterCurrentCallbackInOrder) {
  auto loop = NewLoop();
  std::vector<std::string> log;
  loop->RunAfter(Nanos(0), [&] {
    loop->Post([&] { log.push_back("a"); });
    loop->Post([&] { log.push_back("b"); });
    log.push_back("callback end");
  });
  ASSERT_TRUE(loop->RunUntil([&] { return log.size() == 3; }, Seconds(5)));
  EXPECT_EQ(log, (std::vector<std::string>{"callback end", "a", "b"}));
}

TEST(EventLoopTest, PostFromAnotherThreadWakesTheLoop) {
  auto loop = NewLoop();
  bool ran = false;
  std::thread::id ran_on;
  std::thread poster([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    loop->Post([&] {
      ran = true;
      ran_on = std::this_thread::get_id();
    });
  });
  // No timer is pending, so the loop blocks in epoll_wait for up to the whole timeout
  // unless the eventfd wakes it.
  const auto start = EventLoop::Now();
  const bool done = loop->RunUntil([&] { return ran; }, Seconds(10));
  const auto elapsed = EventLoop::Now() - start;
  poster.join();
  EXPECT_TRUE(done);
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  EXPECT_LT(elapsed, std::chrono::seconds(2));
}

TEST(EventLoopTest, PostsFromManyThreadsAllRun) {
  auto loop = NewLoop();
  int count = 0;  // only touched on the loop thread
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) loop->Post([&] { ++count; });
    });
  }
  const bool done = loop->RunUntil([&] { return count == 4000; }, Seconds(10));
  for (auto& t : threads) t.join();
  EXPECT_TRUE(done);
  EXPECT_EQ(count, 4000);
}

TEST(EventLoopTest, FdCallbackRemovedByAnotherCallbackDoesNotRun) {
  auto loop = NewLoop();
  int p1[2], p2[2];
  ASSERT_EQ(pipe(p1), 0);
  ASSERT_EQ(pipe(p2), 0);
  ASSERT_EQ(write(p1[1], "x", 1), 1);
  ASSERT_EQ(write(p2[1], "x", 1), 1);
  int runs = 0;
  // Both are ready in the same epoll_wait; whichever runs first removes the other.
  ASSERT_TRUE(loop->AddFd(p1[0], EPOLLIN, [&](uint32_t) {
                  ++runs;
                  loop->RemoveFd(p1[0]);
                  loop->RemoveFd(p2[0]);
                }).ok());
  ASSERT_TRUE(loop->AddFd(p2[0], EPOLLIN, [&](uint32_t) {
                  ++runs;
                  loop->RemoveFd(p1[0]);
                  loop->RemoveFd(p2[0]);
                }).ok());
  EXPECT_FALSE(loop->AddFd(p1[0], EPOLLIN, [](uint32_t) {}).ok()) << "double registration";
  ASSERT_TRUE(loop->RunUntil([&] { return runs > 0; }, Seconds(5)));
  loop->RunFor(Milliseconds(20));
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(loop->watched_fds(), 0u);
  for (int fd : {p1[0], p1[1], p2[0], p2[1]}) close(fd);
}

TEST(EventLoopTest, StopEndsRun) {
  auto loop = NewLoop();
  int ticks = 0;
  std::function<void()> tick = [&] {
    if (++ticks == 3) {
      loop->Stop();
    } else {
      loop->RunAfter(Milliseconds(1), tick);
    }
  };
  loop->RunAfter(Milliseconds(1), tick);
  loop->Run();
  EXPECT_EQ(ticks, 3);
}

}  // namespace
}  // namespace ksim::real
