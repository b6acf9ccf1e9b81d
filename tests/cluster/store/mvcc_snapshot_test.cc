// Snapshot/Restore equivalence and determinism of the MVCC store: what Raft relies on to
// install snapshots on lagging followers and to keep replicas identical.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cluster/env/random.h"
#include "cluster/store/mvcc/store.h"
#include "tests/cluster/store/mvcc_test_util.h"

namespace ksim::store {
namespace {

using namespace ksim::store::testing;  // NOLINT: test builders

// Every read query of the store, rendered as text: all keys and each key/prefix/limit variant
// at every revision from 0 to current + 1 (including the Compacted / FutureRevision errors),
// every lease with its keys, and the counters.
std::string EveryQuery(const Store& s) {
  std::string out = "rev=" + std::to_string(s.revision()) + " compacted=" + std::to_string(s.compacted_revision()) +
                    " rows=" + std::to_string(s.history_rows()) + " bytes=" + std::to_string(s.history_bytes()) + "\n";
  const std::vector<std::string> keys = {"a", "a/1", "a/2", "a/3", "b", "b/1", "c", "d/x/y", "zzz"};
  for (int64_t rev = 0; rev <= s.revision() + 1; ++rev) {
    std::vector<RangeRequest> requests = {RangeReq(std::string(1, '\0'), AllEnd(), rev),
                                          RangeReq("a", PrefixEnd("a"), rev, 2), RangeReq("b", AllEnd(), rev)};
    for (const std::string& k : keys) requests.push_back(RangeReq(k, "", rev));
    for (const RangeRequest& r : requests) {
      RangeResult got = s.Range(r);
      out += got.status.ToString() + " " + std::to_string(got.compact_revision) + " " +
             got.response.SerializeAsString() + "\n";
    }
  }
  for (int64_t id = 0; id <= 5; ++id) {
    LeaseTimeToLiveRequest q;
    q.set_id(id);
    q.set_keys(true);
    LeaseTimeToLiveResult got = s.LeaseTimeToLive(q);
    out += got.status.ToString() + " " + got.response.SerializeAsString() + "\n";
  }
  out += s.Leases().SerializeAsString();
  return out;
}

// The property Raft's snapshot install relies on: a store restored from a snapshot answers
// every query exactly as the original, and evolves identically afterwards.
TEST(MvccSnapshot, RestoredStoreIsIndistinguishable) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Random rng(seed);
    Store original;
    for (int i = 0; i < 150; ++i) original.Apply(RandomCommand(&rng, original));
    Store restored;
    ASSERT_TRUE(restored.Put(PutReq("junk", "replaced by the restore")).ok());
    ASSERT_TRUE(Store::Restore(original.Snapshot(), &restored).ok());
    ASSERT_EQ(EveryQuery(restored), EveryQuery(original));
    EXPECT_EQ(restored.Snapshot(), original.Snapshot());
    // Same future: the same commands give the same results and states.
    for (int i = 0; i < 50; ++i) {
      const Command c = RandomCommand(&rng, original);
      const CommandResult a = original.Apply(c);
      const CommandResult b = restored.Apply(c);
      ASSERT_EQ(a.response.SerializeAsString(), b.response.SerializeAsString()) << i;
    }
    EXPECT_EQ(EveryQuery(restored), EveryQuery(original));
  }
}

// Determinism across replicas: the same command sequence gives byte-identical snapshots and
// identical results, and different sequences give different snapshots.
TEST(MvccSnapshot, SameCommandsGiveIdenticalBytes) {
  std::vector<std::string> finals;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    std::vector<Command> log;
    {
      Random rng(seed);
      Store s;
      for (int i = 0; i < 300; ++i) {
        log.push_back(RandomCommand(&rng, s));
        s.Apply(log.back());
      }
    }
    Store a;
    Store b;
    for (const Command& c : log) {
      const CommandResult ra = a.Apply(c);
      const CommandResult rb = b.Apply(c);
      ASSERT_EQ(ra.response.SerializeAsString(), rb.response.SerializeAsString());
      ASSERT_EQ(ra.status.ToString(), rb.status.ToString());
    }
    ASSERT_EQ(a.Snapshot(), b.Snapshot()) << "seed " << seed;
    finals.push_back(a.Snapshot());
  }
  for (size_t i = 1; i < finals.size(); ++i) EXPECT_NE(finals[i], finals[0]);
}

// A failed command changes nothing: the snapshot bytes before and after are equal.
TEST(MvccSnapshot, FailedCommandsLeaveNoTrace) {
  Random rng(99);
  Store s;
  int failures = 0;
  for (int i = 0; i < 400; ++i) {
    const Command c = RandomCommand(&rng, s);
    const std::string before = s.Snapshot();
    const CommandResult r = s.Apply(c);
    if (!r.ok()) {
      ++failures;
      ASSERT_EQ(s.Snapshot(), before) << r.status.ToString();
    }
  }
  EXPECT_GT(failures, 10);  // the generator does produce failing commands
}

// A damaged snapshot is refused and leaves the target store unchanged.
TEST(MvccSnapshot, CorruptSnapshotsAreRefused) {
  Store src;
  ASSERT_TRUE(src.LeaseGrant(1, 10).ok());
  ASSERT_TRUE(src.Put(PutReq("a", "1", 1)).ok());
  ASSERT_TRUE(src.Put(PutReq("a", "2", 1)).ok());
  ASSERT_TRUE(src.Put(PutReq("b", "1")).ok());
  const std::string good = src.Snapshot();

  StoreSnapshot parsed;
  ASSERT_TRUE(parsed.ParseFromString(good));
  struct Case {
    const char* what;
    std::string bytes;
  };
  std::vector<Case> cases = {{"garbage", "\xff\xff\xff not a snapshot"}};
  auto mutated = [&parsed](auto&& mutate) {
    StoreSnapshot m = parsed;
    mutate(&m);
    return m.SerializeAsString();
  };
  cases.push_back({"wrong format", mutated([](StoreSnapshot* m) { m->set_format_version(9); })});
  cases.push_back({"compacted above revision", mutated([](StoreSnapshot* m) { m->set_compacted_revision(99); })});
  cases.push_back({"rows out of order", mutated([](StoreSnapshot* m) { m->mutable_revisions()->SwapElements(0, 1); })});
  cases.push_back({"row above revision", mutated([](StoreSnapshot* m) { m->set_revision(3); })});
  cases.push_back({"version gap", mutated([](StoreSnapshot* m) { m->mutable_revisions(1)->mutable_kv()->set_version(5); })});
  cases.push_back({"missing lease", mutated([](StoreSnapshot* m) { m->clear_leases(); })});
  cases.push_back({"tombstone with data", mutated([](StoreSnapshot* m) { m->mutable_revisions(2)->set_tombstone(true); })});

  Store target;
  ASSERT_TRUE(target.Put(PutReq("keep", "me")).ok());
  const std::string before = target.Snapshot();
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const Status st = Store::Restore(c.bytes, &target);
    EXPECT_EQ(st.code(), Status::Code::kCorruption) << st.ToString();
    EXPECT_EQ(target.Snapshot(), before);
  }
  EXPECT_TRUE(Store::Restore(good, &target).ok());
  EXPECT_EQ(target.Snapshot(), good);
}

}  // namespace
}  // namespace ksim::store
