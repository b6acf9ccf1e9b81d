// The controller work queue: dedup, re-queue while held, FIFO, bounds, delays, client-go's
// default rate limiter, shutdown and the ready callback.
#include "cluster/client/workqueue.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/cluster/client/fake_clock.h"

namespace ksim::client {
namespace {

using ksim::testing::FakeClock;

std::vector<std::string> Drain(WorkQueue& q) {
  std::vector<std::string> keys;
  while (auto key = q.Get()) {
    keys.push_back(*key);
    q.Done(*key);
  }
  return keys;
}

TEST(WorkQueue, QueuesAKeyOnce) {
  FakeClock clock;
  WorkQueue q(&clock, 100);
  EXPECT_TRUE(q.Add("default/a"));
  EXPECT_TRUE(q.Add("default/b"));
  EXPECT_TRUE(q.Add("default/a"));
  EXPECT_EQ(q.Len(), 2u);
  EXPECT_EQ(Drain(q), (std::vector<std::string>{"default/a", "default/b"}));
  EXPECT_EQ(q.Get(), std::nullopt);
}

TEST(WorkQueue, FifoOrder) {
  FakeClock clock;
  WorkQueue q(&clock, 100);
  for (const char* k : {"c", "a", "b"}) q.Add(k);
  const auto first = q.Get();
  ASSERT_EQ(first, "c");
  q.Add("c");  // held: goes to the back once Done
  q.Add("d");
  q.Done("c");
  EXPECT_EQ(Drain(q), (std::vector<std::string>{"a", "b", "d", "c"}));
}

TEST(WorkQueue, AKeyAddedWhileHeldIsQueuedAgainAtDone) {
  FakeClock clock;
  WorkQueue q(&clock, 100);
  q.Add("k");
  ASSERT_EQ(q.Get(), "k");
  EXPECT_TRUE(q.Add("k"));
  EXPECT_TRUE(q.Add("k"));
  EXPECT_EQ(q.Len(), 0u);           // not handed out twice at once
  EXPECT_EQ(q.Get(), std::nullopt);
  q.Done("k");
  EXPECT_EQ(q.Len(), 1u);           // and not lost, nor doubled
  ASSERT_EQ(q.Get(), "k");
  q.Done("k");
  EXPECT_EQ(q.Len(), 0u);
  EXPECT_EQ(q.Get(), std::nullopt);
  q.Done("k");      // not held: ignored
  q.Done("never");  // never seen: ignored
  EXPECT_EQ(q.Len(), 0u);
}

TEST(WorkQueue, RefusesKeysBeyondItsBound) {
  FakeClock clock;
  WorkQueue q(&clock, 2);
  EXPECT_TRUE(q.Add("a"));
  EXPECT_TRUE(q.Add("b"));
  EXPECT_FALSE(q.Add("c"));
  EXPECT_TRUE(q.Add("a"));  // already queued: accepted, still once
  ASSERT_EQ(q.Get(), "a");
  EXPECT_FALSE(q.Add("c"));  // a held key still counts
  q.Done("a");
  EXPECT_TRUE(q.Add("c"));
  EXPECT_EQ(Drain(q), (std::vector<std::string>{"b", "c"}));
}

TEST(WorkQueue, BackOffDoublesFromFiveMillisecondsUpTo1000Seconds) {
  FakeClock clock;
  WorkQueue q(&clock, 100);
  // 25 tries stay within the bucket's burst of 100, so only the back-off shows.
  for (int failures = 0; failures < 25; ++failures) {
    EXPECT_EQ(q.NumRequeues("k"), failures);
    const Nanos expected = failures < 18 ? Milliseconds(5) * (int64_t{1} << failures) : Seconds(1000);
    EXPECT_EQ(q.When("k"), expected) << failures;
  }
  EXPECT_EQ(q.NumRequeues("k"), 25);
  // 5ms * 2^17 = 655.36s is the last step under the cap.
  WorkQueue fresh(&clock, 100);
  for (int i = 0; i < 17; ++i) fresh.When("k");
  EXPECT_EQ(fresh.When("k"), Milliseconds(655'360));
  EXPECT_EQ(fresh.When("k"), Seconds(1000));
}

TEST(WorkQueue, BackOffIsPerKeyAndForgetResetsIt) {
  FakeClock clock;
  WorkQueue q(&clock, 100);
  EXPECT_EQ(q.When("a"), Milliseconds(5));
  EXPECT_EQ(q.When("a"), Milliseconds(10));
  EXPECT_EQ(q.When("a"), Milliseconds(20));
  EXPECT_EQ(q.When("b"), Milliseconds(5));
  q.Forget("a");
  EXPECT_EQ(q.NumRequeues("a"), 0);
  EXPECT_EQ(q.NumRequeues("b"), 1);
  EXPECT_EQ(q.When("a"), Milliseconds(5));
  q.Forget("never");
}

TEST(WorkQueue, TokenBucketAllowsABurstOf100ThenTenPerSecond) {
  FakeClock clock;
  WorkQueue q(&clock, 1000);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(q.When("k" + std::to_string(i)), Milliseconds(5)) << i;
  // The bucket is empty: each further retry waits another 100 ms, even for fresh keys.
  EXPECT_EQ(q.When("k100"), Milliseconds(100));
  EXPECT_EQ(q.When("k101"), Milliseconds(200));
  EXPECT_EQ(q.When("k102"), Milliseconds(300));
  // One second refills ten tokens: seven are left after paying the debt of three.
  clock.Advance(Seconds(1));
  EXPECT_EQ(q.When("k103"), Milliseconds(5));
  // A long pause refills at most the burst.
  clock.Advance(Seconds(3600));
  for (int i = 0; i < 100; ++i) EXPECT_EQ(q.When("m" + std::to_string(i)), Milliseconds(5)) << i;
  EXPECT_EQ(q.When("m100"), Milliseconds(100));
}

TEST(WorkQueue, LaterOfBackOffAndBucketWins) {
  FakeClock clock;
  WorkQueue q(&clock, 1000, RateLimiterOptions{Milliseconds(5), Seconds(1000), /*qps=*/10, /*burst=*/1});
  EXPECT_EQ(q.When("a"), Milliseconds(5));    // token available; back-off decides
  EXPECT_EQ(q.When("a"), Milliseconds(100));  // bucket empty; it decides
  clock.Advance(Seconds(10));
  for (int i = 0; i < 6; ++i) q.When("a");
  // The ninth failure: 5ms * 2^8 = 1.28 s beats the bucket's 0.6 s.
  EXPECT_EQ(q.When("a"), Milliseconds(1280));
}

TEST(WorkQueue, AddAfterWaitsThenAdds) {
  FakeClock clock;
  WorkQueue q(&clock, 100);
  EXPECT_TRUE(q.AddAfter("a", Milliseconds(50)));
  EXPECT_EQ(q.Len(), 0u);
  EXPECT_EQ(q.waiting_count(), 1u);
  clock.Advance(Milliseconds(49));
  EXPECT_EQ(q.Len(), 0u);
  clock.Advance(Milliseconds(1));
  EXPECT_EQ(q.Len(), 1u);
  EXPECT_EQ(q.waiting_count(), 0u);
  EXPECT_EQ(q.Get(), "a");
  // Zero or negative delays add at once.
  EXPECT_TRUE(q.AddAfter("b", Nanos(0)));
  EXPECT_TRUE(q.AddAfter("c", Milliseconds(-1)));
  EXPECT_EQ(q.Len(), 2u);
}

TEST(WorkQueue, AWaitingKeyKeepsItsEarlierDeadline) {
  FakeClock clock;
  WorkQueue q(&clock, 100);
  q.AddAfter("k", Milliseconds(100));
  q.AddAfter("k", Milliseconds(30));   // earlier: replaces
  q.AddAfter("k", Milliseconds(200));  // later: ignored
  EXPECT_EQ(q.waiting_count(), 1u);
  EXPECT_EQ(clock.pending(), 1u);  // the replaced timer was cancelled
  clock.Advance(Milliseconds(29));
  EXPECT_EQ(q.Len(), 0u);
  clock.Advance(Milliseconds(1));
  EXPECT_EQ(q.Len(), 1u);
  clock.Advance(Seconds(1));
  EXPECT_EQ(q.Len(), 1u);  // no second add
  // A key already queued when its timer fires is still queued once.
  q.AddAfter("k", Milliseconds(10));
  clock.Advance(Milliseconds(10));
  EXPECT_EQ(Drain(q), (std::vector<std::string>{"k"}));
}

TEST(WorkQueue, WaitingKeysAreBounded) {
  FakeClock clock;
  WorkQueue q(&clock, 2);
  EXPECT_TRUE(q.AddAfter("a", Seconds(1)));
  EXPECT_TRUE(q.AddAfter("b", Seconds(1)));
  EXPECT_FALSE(q.AddAfter("c", Seconds(1)));
  EXPECT_TRUE(q.AddAfter("a", Seconds(2)));
  EXPECT_FALSE(q.AddRateLimited("c"));
  EXPECT_EQ(q.NumRequeues("c"), 0);
}

TEST(WorkQueue, AddRateLimitedRetriesWithGrowingDelays) {
  FakeClock clock;
  WorkQueue q(&clock, 100);
  EXPECT_TRUE(q.AddRateLimited("k"));
  clock.Advance(Milliseconds(4));
  EXPECT_EQ(q.Len(), 0u);
  clock.Advance(Milliseconds(1));
  ASSERT_EQ(q.Get(), "k");
  EXPECT_TRUE(q.AddRateLimited("k"));  // failed again, while held
  q.Done("k");
  clock.Advance(Milliseconds(9));
  EXPECT_EQ(q.Len(), 0u);
  clock.Advance(Milliseconds(1));
  ASSERT_EQ(q.Get(), "k");
  EXPECT_EQ(q.NumRequeues("k"), 2);
  q.Forget("k");  // succeeded
  q.Done("k");
  EXPECT_EQ(q.NumRequeues("k"), 0);
}

TEST(WorkQueue, ShutDownStopsEverything) {
  FakeClock clock;
  WorkQueue q(&clock, 100);
  int woken = 0;
  q.SetReadyCallback([&] { ++woken; });
  q.Add("queued");
  q.Add("held");
  q.AddAfter("later", Seconds(1));
  ASSERT_EQ(q.Get(), "queued");
  q.ShutDown();
  EXPECT_TRUE(q.shutting_down());
  EXPECT_EQ(clock.pending(), 0u);  // the wait and the wake were cancelled
  EXPECT_EQ(q.Get(), std::nullopt);
  EXPECT_EQ(q.Len(), 0u);
  EXPECT_FALSE(q.Add("new"));
  EXPECT_FALSE(q.AddAfter("new", Seconds(1)));
  EXPECT_FALSE(q.AddRateLimited("new"));
  q.Done("queued");  // a held key may still be released
  clock.Advance(Seconds(2));
  EXPECT_EQ(q.Get(), std::nullopt);
  EXPECT_EQ(woken, 0);
}

TEST(WorkQueue, DestructionCancelsTimers) {
  FakeClock clock;
  {
    WorkQueue q(&clock, 100);
    q.SetReadyCallback([] {});
    q.AddAfter("a", Seconds(1));
    q.AddAfter("b", Seconds(2));
    q.Add("c");
    EXPECT_EQ(clock.pending(), 3u);
  }
  EXPECT_EQ(clock.pending(), 0u);
  clock.Advance(Seconds(3));
}

TEST(WorkQueue, ReadyCallbackRunsOnTheLoopNotInsideAdd) {
  FakeClock clock;
  WorkQueue q(&clock, 100);
  std::vector<std::string> seen;
  q.SetReadyCallback([&] {
    while (auto key = q.Get()) {
      seen.push_back(*key);
      q.Done(*key);
    }
  });
  q.Add("a");
  q.Add("b");
  EXPECT_TRUE(seen.empty());
  EXPECT_EQ(clock.pending(), 1u);  // one wake for both keys
  clock.RunDue();
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b"}));
  // A key that becomes ready through a timer wakes it too.
  q.AddAfter("c", Milliseconds(10));
  clock.Advance(Milliseconds(10));
  EXPECT_EQ(seen.back(), "c");
}

TEST(WorkQueue, ReadyCallbackTakingOneKeyPerCallIsCalledUntilEmpty) {
  FakeClock clock;
  WorkQueue q(&clock, 100);
  int calls = 0;
  q.SetReadyCallback([&] {
    ++calls;
    if (auto key = q.Get()) q.Done(*key);
  });
  for (const char* k : {"a", "b", "c"}) q.Add(k);
  clock.RunDue();
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(q.Len(), 0u);
  EXPECT_EQ(clock.pending(), 0u);
}

TEST(WorkQueue, ReadyCallbackThatTakesNothingIsNotCalledAgainUntilANewKey) {
  FakeClock clock;
  WorkQueue q(&clock, 100);
  int calls = 0;
  q.SetReadyCallback([&] { ++calls; });
  q.Add("a");
  clock.RunDue();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(clock.pending(), 0u);  // no spinning at one instant
  q.Add("a");                      // already queued: nothing new
  clock.RunDue();
  EXPECT_EQ(calls, 1);
  q.Add("b");
  clock.RunDue();
  EXPECT_EQ(calls, 2);
}

TEST(WorkQueue, ReadyCallbackWakesForARequeueAtDone) {
  FakeClock clock;
  WorkQueue q(&clock, 100);
  q.Add("k");
  ASSERT_EQ(q.Get(), "k");
  int calls = 0;
  q.SetReadyCallback([&] { ++calls; });
  clock.RunDue();
  EXPECT_EQ(calls, 0);  // nothing queued
  q.Add("k");
  clock.RunDue();
  EXPECT_EQ(calls, 0);  // held, not yet available
  q.Done("k");
  clock.RunDue();
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace ksim::client
