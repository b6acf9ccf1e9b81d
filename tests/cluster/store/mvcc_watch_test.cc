// Watchers of the MVCC store, checked against etcd v3's documented watch behaviour
// (etcd.io/docs/v3.5/learning/api/, "Watch API"; "KV API guarantees", "Watch APIs").
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "cluster/store/mvcc/store.h"
#include "tests/cluster/store/mvcc_test_util.h"

namespace ksim::store {
namespace {

using namespace ksim::store::testing;  // NOLINT: test builders

// "<PUT|DEL> key@mod_revision[=value][ prev=value]" — compact enough to compare streams.
std::string Show(const Event& e) {
  std::string s = e.type() == Event::PUT ? "PUT " : "DEL ";
  s += e.kv().key() + "@" + std::to_string(e.kv().mod_revision());
  if (e.type() == Event::PUT) s += "=" + e.kv().value();
  if (e.has_prev_kv()) s += " prev=" + e.prev_kv().value();
  return s;
}

std::vector<std::string> Show(const std::vector<Event>& events) {
  std::vector<std::string> out;
  for (const Event& e : events) out.push_back(Show(e));
  return out;
}

WatchOptions Opts(std::string key, std::string range_end, int64_t start, bool prev_kv = false,
                  size_t buffer = kDefaultWatchBufferEvents) {
  WatchOptions o;
  o.key = std::move(key);
  o.range_end = std::move(range_end);
  o.start_revision = start;
  o.prev_kv = prev_kv;
  o.buffer_events = buffer;
  return o;
}

// Revisions 2..7 over keys a, b, c/1.
void Populate(Store* s) {
  ASSERT_TRUE(s->Put(PutReq("a", "1")).ok());              // 2
  ASSERT_TRUE(s->Put(PutReq("b", "1")).ok());              // 3
  ASSERT_TRUE(s->Put(PutReq("a", "2")).ok());              // 4
  ASSERT_TRUE(s->DeleteRange(DeleteReq("b")).ok());        // 5
  TxnRequest t;
  *t.add_success() = OpPut("c/1", "1");
  *t.add_success() = OpPut("a", "3");
  ASSERT_TRUE(s->Txn(t).ok());                             // 6: c/1 then a
  ASSERT_TRUE(s->Put(PutReq("b", "2")).ok());              // 7
}

// etcd API, "Watch API": a watch with start_revision in the past first replays the events
// since that revision from history, in revision order (sub-revision order within one), then
// continues with new events; prev_kv adds the key's previous state; a DELETE event's kv has
// only the key and the deletion's mod_revision. api_guarantees: events are ordered, never
// duplicated, never skipped.
TEST(MvccWatch, ReplaysHistoryThenLiveEventsTable) {
  struct Case {
    const char* what;
    WatchOptions opts;
    std::vector<std::string> want;
  };
  const std::vector<Case> cases = {
      {"all keys from 2 with prev_kv",
       Opts(std::string(1, '\0'), AllEnd(), 2, true),
       {"PUT a@2=1", "PUT b@3=1", "PUT a@4=2 prev=1", "DEL b@5 prev=1", "PUT c/1@6=1", "PUT a@6=3 prev=2", "PUT b@7=2",
        "PUT a@8=4 prev=3", "DEL c/1@9 prev=1"}},
      {"key a from 4", Opts("a", "", 4), {"PUT a@4=2", "PUT a@6=3", "PUT a@8=4"}},
      {"prefix c/ from 1", Opts("c/", PrefixEnd("c/"), 1), {"PUT c/1@6=1", "DEL c/1@9"}},
      {"key b from 6 (only live events after the replay)", Opts("b", "", 6), {"PUT b@7=2"}},
      {"from 0: only new events", Opts("a", "", 0), {"PUT a@8=4"}},
      {"from the next revision", Opts(std::string(1, '\0'), AllEnd(), 8), {"PUT a@8=4", "DEL c/1@9"}},
      {"from a future revision", Opts(std::string(1, '\0'), AllEnd(), 9), {"DEL c/1@9"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Store s;
    Populate(&s);
    WatchCreated w = s.Watch(c.opts);
    ASSERT_TRUE(w.status.ok()) << w.status.ToString();
    EXPECT_EQ(w.revision, 7);
    // Drain part of the history in small slices before the live writes arrive.
    const WatchBatch first = s.TakeEvents(w.watch_id, 2);
    ASSERT_TRUE(s.Put(PutReq("a", "4")).ok());        // 8
    ASSERT_TRUE(s.DeleteRange(DeleteReq("c/1")).ok());  // 9
    std::vector<Event> got = first.events;
    Drained rest = Drain(&s, w.watch_id, 3);
    ASSERT_TRUE(rest.last.status.ok());
    EXPECT_FALSE(rest.last.more);
    got.insert(got.end(), rest.events.begin(), rest.events.end());
    EXPECT_EQ(Show(got), c.want);
    // Nothing is delivered twice.
    EXPECT_TRUE(s.TakeEvents(w.watch_id).events.empty());
  }
}

// etcd API, "Watch API": watching from a revision below the compaction fails with the
// compact revision, so the client knows where history begins. ksim is strict at the
// boundary: start == compacted revision is refused too (its tombstones are gone).
TEST(MvccWatch, BelowCompactionIsCompacted) {
  Store s;
  Populate(&s);
  ASSERT_TRUE(s.Compact(5).ok());
  for (int64_t start : {1, 4, 5}) {
    SCOPED_TRACE(start);
    WatchCreated w = s.Watch(Opts("a", "", start));
    EXPECT_EQ(w.error, ERROR_COMPACTED);
    EXPECT_EQ(w.compact_revision, 5);
    EXPECT_EQ(w.status.code(), Status::Code::kNotFound);
    EXPECT_NE(w.status.message().find("compacted"), std::string::npos) << w.status.ToString();
  }
  WatchCreated ok = s.Watch(Opts(std::string(1, '\0'), AllEnd(), 6, true));
  ASSERT_TRUE(ok.status.ok());
  EXPECT_EQ(Show(Drain(&s, ok.watch_id).events),
            (std::vector<std::string>{"PUT c/1@6=1", "PUT a@6=3 prev=2", "PUT b@7=2"}));
}

// A watcher that has not drained its history when compaction overtakes it ends with
// ERROR_COMPACTED and the compact revision (etcd cancels unsynced watchers the same way).
TEST(MvccWatch, CompactionOvertakingALaggingWatcherCancelsIt) {
  Store s;
  Populate(&s);
  WatchCreated w = s.Watch(Opts(std::string(1, '\0'), AllEnd(), 2));
  ASSERT_TRUE(w.status.ok());
  WatchBatch first = s.TakeEvents(w.watch_id, 1);
  EXPECT_EQ(Show(first.events), std::vector<std::string>{"PUT a@2=1"});
  ASSERT_TRUE(s.Compact(6).ok());
  WatchBatch end = s.TakeEvents(w.watch_id);
  EXPECT_TRUE(end.canceled);
  EXPECT_EQ(end.error, ERROR_COMPACTED);
  EXPECT_EQ(end.compact_revision, 6);
  EXPECT_TRUE(end.events.empty());
  EXPECT_EQ(s.TakeEvents(w.watch_id).error, ERROR_WATCH_NOT_FOUND);
  EXPECT_EQ(s.watcher_count(), 0u);
}

// The slow-watcher policy: a watcher whose buffer is full is not cancelled and loses
// nothing; it continues from the retained history and catches up without a gap or a
// duplicate, then receives live events again.
TEST(MvccWatch, SlowWatcherOverflowFallsBackToHistory) {
  Store s;
  WatchCreated w = s.Watch(Opts("k/", PrefixEnd("k/"), 0, true, /*buffer=*/4));
  ASSERT_TRUE(w.status.ok());
  std::vector<std::string> want;
  for (int i = 0; i < 50; ++i) {
    const std::string key = "k/" + std::to_string(i % 7);
    ASSERT_TRUE(s.Put(PutReq(key, std::to_string(i))).ok());
    ASSERT_TRUE(s.Put(PutReq("other", std::to_string(i))).ok());
    const std::string prev = i >= 7 ? " prev=" + std::to_string(i - 7) : "";
    want.push_back("PUT " + key + "@" + std::to_string(s.revision() - 1) + "=" + std::to_string(i) + prev);
  }
  EXPECT_EQ(s.ReadyWatchers(), std::vector<int64_t>{w.watch_id});
  Drained d = Drain(&s, w.watch_id, 5);
  ASSERT_TRUE(d.last.status.ok());
  EXPECT_EQ(Show(d.events), want);
  EXPECT_TRUE(s.ReadyWatchers().empty());
  // Synced again: the next write is pushed.
  ASSERT_TRUE(s.Put(PutReq("k/x", "live")).ok());
  EXPECT_EQ(Show(s.TakeEvents(w.watch_id).events),
            std::vector<std::string>{"PUT k/x@" + std::to_string(s.revision()) + "=live"});
}

// One revision may carry more events than a batch or a buffer (a DeleteRange of many keys);
// batches split it at sub-revisions, still without gaps or duplicates.
TEST(MvccWatch, LargeRevisionSplitsAcrossBatches) {
  Store s;
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(s.Put(PutReq("d/" + std::to_string(100 + i), "v")).ok());
  WatchCreated w = s.Watch(Opts("d/", PrefixEnd("d/"), 0, false, 8));
  ASSERT_TRUE(s.DeleteRange(DeleteReq("d/", PrefixEnd("d/"))).ok());
  Drained d = Drain(&s, w.watch_id, 7);
  ASSERT_EQ(d.events.size(), 30u);
  for (int i = 0; i < 30; ++i) {
    EXPECT_EQ(d.events[static_cast<size_t>(i)].type(), Event::DELETE);
    EXPECT_EQ(d.events[static_cast<size_t>(i)].kv().key(), "d/" + std::to_string(100 + i));
  }
}

TEST(MvccWatch, CancelAndErrors) {
  Store s;
  EXPECT_EQ(s.Watch(Opts("", "", 0)).error, ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(s.Watch(Opts("a", "", -1)).error, ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(s.Watch(Opts("a", "", 0, false, 0)).error, ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(s.Watch(Opts("a", "", 0, false, kMaxWatchBufferEvents + 1)).error, ERROR_INVALID_ARGUMENT);
  WatchCreated w = s.Watch(Opts("a", "", 0));
  ASSERT_TRUE(w.status.ok());
  ASSERT_TRUE(s.Put(PutReq("a", "1")).ok());
  EXPECT_TRUE(s.CancelWatch(w.watch_id).ok());
  EXPECT_EQ(s.CancelWatch(w.watch_id).code(), Status::Code::kNotFound);
  EXPECT_EQ(s.TakeEvents(w.watch_id).error, ERROR_WATCH_NOT_FOUND);
  EXPECT_TRUE(s.ReadyWatchers().empty());
  ASSERT_TRUE(s.Put(PutReq("a", "2")).ok());  // no watcher left to notify
}

// Watchers are replica-local, not replicated state: restoring a snapshot keeps them, and
// they continue from the restored history (a follower catching up by snapshot install).
TEST(MvccWatch, WatchersContinueAcrossRestore) {
  Store leader;
  Store follower;
  Populate(&leader);
  Populate(&follower);
  WatchCreated w = follower.Watch(Opts(std::string(1, '\0'), AllEnd(), 0, true));
  ASSERT_TRUE(leader.Put(PutReq("a", "4")).ok());  // 8
  ASSERT_TRUE(leader.Put(PutReq("z", "1")).ok());  // 9
  ASSERT_TRUE(Store::Restore(leader.Snapshot(), &follower).ok());
  EXPECT_EQ(Show(Drain(&follower, w.watch_id).events),
            (std::vector<std::string>{"PUT a@8=4 prev=3", "PUT z@9=1"}));

  // Restored past the watcher's position into a compacted history: it ends as compacted.
  ASSERT_TRUE(leader.Put(PutReq("a", "5")).ok());  // 10
  ASSERT_TRUE(leader.Put(PutReq("a", "6")).ok());  // 11
  ASSERT_TRUE(leader.Compact(11).ok());
  ASSERT_TRUE(Store::Restore(leader.Snapshot(), &follower).ok());
  WatchBatch end = follower.TakeEvents(w.watch_id);
  EXPECT_TRUE(end.canceled);
  EXPECT_EQ(end.error, ERROR_COMPACTED);
  EXPECT_EQ(end.compact_revision, 11);

  // Restored to an older state than the watcher has seen: it ends, nothing stale leaks.
  Store old;
  WatchCreated w2 = follower.Watch(Opts("a", "", 0));
  ASSERT_TRUE(follower.Put(PutReq("a", "7")).ok());
  ASSERT_TRUE(Store::Restore(old.Snapshot(), &follower).ok());
  WatchBatch gone = follower.TakeEvents(w2.watch_id);
  EXPECT_TRUE(gone.canceled);
  EXPECT_EQ(gone.error, ERROR_WATCH_CANCELED);
  EXPECT_TRUE(gone.events.empty());
}

}  // namespace
}  // namespace ksim::store
