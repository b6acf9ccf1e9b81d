#include "sim/host.h"

#include <gtest/gtest.h>

#include "tests/sim/test_process.h"
#include "sim/world.h"

namespace ksim::sim {
namespace {

using testing::Scripted;
using testing::ScriptedProcess;

// A process that ticks every 100ms of its host's monotonic clock, recording world times.
ProcessFactory Ticker(std::vector<int64_t>* ticks, int* destroyed = nullptr) {
  return Scripted(
      [ticks](ScriptedProcess& p) {
        auto tick = std::make_shared<std::function<void()>>();
        *tick = [&p, ticks, tick] {
          ticks->push_back(p.env().clock->MonotonicNow().count());
          p.env().clock->Schedule(Milliseconds(100), [tick] { (*tick)(); });
        };
        p.env().clock->Schedule(Milliseconds(100), [tick] { (*tick)(); });
      },
      destroyed);
}

TEST(Host, CrashDestroysTheObjectAndItsTimersNeverFire) {
  World w(1);
  Host& h = w.AddHost("a");
  std::vector<int64_t> ticks;
  int destroyed = 0;
  h.AddProcess("p", Ticker(&ticks, &destroyed));
  w.RunFor(Milliseconds(350));
  EXPECT_EQ(ticks.size(), 3u);
  h.CrashProcess("p");
  EXPECT_EQ(destroyed, 1);
  EXPECT_FALSE(h.IsRunning("p"));
  w.RunFor(Seconds(1));
  EXPECT_EQ(ticks.size(), 3u);
  h.RestartProcess("p");
  w.RunFor(Milliseconds(250));
  EXPECT_EQ(ticks.size(), 5u);  // a new incarnation ticks again
}

TEST(Host, PauseHoldsTimersAndResumeRunsThemInOrder) {
  World w(1);
  Host& h = w.AddHost("a");
  std::vector<int64_t> ticks;
  h.AddProcess("p", Ticker(&ticks));
  w.RunFor(Milliseconds(150));
  ASSERT_EQ(ticks.size(), 1u);
  h.Pause();
  w.RunFor(Seconds(1));
  EXPECT_EQ(ticks.size(), 1u);
  h.Resume();
  w.RunFor(Milliseconds(1));
  // The held tick runs at resume; the chain restarts from there.
  ASSERT_EQ(ticks.size(), 2u);
  EXPECT_EQ(ticks[1], Milliseconds(1150).count());
}

TEST(Host, PowerOffKillsProcessesAndPowerOnRestartsThem) {
  World w(1);
  Host& h = w.AddHost("a");
  std::vector<int64_t> ticks;
  int destroyed = 0;
  h.AddProcess("p", Ticker(&ticks, &destroyed));
  w.RunFor(Milliseconds(250));
  h.PowerOff();
  EXPECT_FALSE(h.is_up());
  EXPECT_EQ(destroyed, 1);
  const size_t before = ticks.size();
  w.RunFor(Seconds(2));
  EXPECT_EQ(ticks.size(), before);
  h.RestartProcess("p");  // no effect while powered off
  EXPECT_FALSE(h.IsRunning("p"));
  h.PowerOn();
  EXPECT_TRUE(h.IsRunning("p"));
  w.RunFor(Milliseconds(250));
  EXPECT_EQ(ticks.size(), before + 2);
}

TEST(Host, WallClockSkewAndJumpLeaveMonotonicAlone) {
  World w(1);
  Host& a = w.AddHost("a");
  Host& b = w.AddHost("b");
  w.RunFor(Seconds(10));
  EXPECT_EQ(a.WallNow(), b.WallNow());
  a.SetClockOffset(Seconds(-5));
  EXPECT_EQ(a.WallNow(), b.WallNow() - Seconds(5));
  a.JumpClock(Seconds(30));
  EXPECT_EQ(a.WallNow(), b.WallNow() + Seconds(25));
  EXPECT_EQ(a.MonotonicNow(), b.MonotonicNow());
  EXPECT_EQ(b.WallNow(), w.options().wall_epoch + Seconds(10));
}

TEST(Host, DriftMakesTimersFireEarlierInWorldTime) {
  World w(1);
  Host& fast = w.AddHost("fast");
  fast.SetClockDriftPpm(100000);  // 10% fast
  std::vector<int64_t> fired_world;
  fast.AddProcess("p", Scripted([&](ScriptedProcess& p) {
    p.env().clock->Schedule(Seconds(11), [&] { fired_world.push_back(w.now().count()); });
  }));
  w.RunFor(Seconds(20));
  ASSERT_EQ(fired_world.size(), 1u);
  EXPECT_EQ(fired_world[0], Seconds(10).count());  // 11 local seconds = 10 world seconds
  EXPECT_EQ(fast.MonotonicNow(), Seconds(22));
}

TEST(Host, CancelledTimerDoesNotFire) {
  World w(1);
  Host& h = w.AddHost("a");
  int fired = 0;
  bool cancel_result = false, second_cancel = true;
  h.AddProcess("p", Scripted([&](ScriptedProcess& p) {
    TimerId t = p.env().clock->Schedule(Seconds(1), [&] { ++fired; });
    cancel_result = p.env().clock->Cancel(t);
    second_cancel = p.env().clock->Cancel(t);
    p.env().clock->Schedule(Seconds(1), [&] { fired += 10; });
  }));
  w.RunFor(Seconds(2));
  EXPECT_TRUE(cancel_result);
  EXPECT_FALSE(second_cancel);
  EXPECT_EQ(fired, 10);
}

}  // namespace
}  // namespace ksim::sim
