// RaftStorage on a simulated disk with power failures and torn writes.
#include "cluster/store/server/raft_storage.h"

#include <gtest/gtest.h>

#include "sim/host.h"
#include "sim/world.h"
#include "tests/sim/test_process.h"

namespace ksim::storeserver {
namespace {

using sim::testing::Scripted;
using sim::testing::ScriptedProcess;

std::vector<raft::Entry> EntriesOf(uint64_t term, uint64_t first, uint64_t last) {
  std::vector<raft::Entry> entries;
  for (uint64_t i = first; i <= last; ++i) {
    raft::Entry e;
    e.set_term(term);
    e.set_index(i);
    e.set_data("entry-" + std::to_string(i));
    entries.push_back(e);
  }
  return entries;
}

raft::Ready ReadyWith(uint64_t term, uint64_t first, uint64_t last) {
  raft::Ready rd;
  raft::HardState hs;
  hs.set_term(term);
  hs.set_vote(1);
  hs.set_commit(last);
  rd.hard_state = hs;
  for (raft::Entry& e : EntriesOf(term, first, last)) rd.entries.push_back(std::make_shared<const raft::Entry>(std::move(e)));
  return rd;
}

// Regression (found by the store fault sweep): after a crash left a torn WAL tail, the
// repair must not rewrite the WAL in place, or a second power failure before the repair's
// fsync can tear it and lose records that were durable.
TEST(RaftStorage, RepairingATornTailNeverLosesDurableEntries) {
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    std::vector<std::shared_ptr<RaftStorage>> keep;  // storages (and their repair jobs) stay alive
    sim::World w(seed);
    sim::HostOptions ho;
    ho.disk.torn_writes = true;
    ho.disk.fsync_latency_min = Milliseconds(5);
    sim::Host& h = w.AddHost("h", ho);
    bool saved = false;
    h.AddProcess("writer", Scripted([&saved](ScriptedProcess& p) {
      auto st = std::make_shared<RaftStorage>(p.env().disk, "raft");
      raft::Restore r;
      ASSERT_TRUE(st->Load(&r).ok());
      st->Save(ReadyWith(1, 1, 5), raft::HardState{}, [st, &saved, &p](Status s) {
        ASSERT_TRUE(s.ok());
        saved = true;
        // An append that will be torn by the power failure.
        (void)p.env().disk->Append("raft/wal", std::string(100, 'x'));
      });
    }));
    w.RunFor(Seconds(1));
    ASSERT_TRUE(saved);
    h.PowerOff();
    h.CrashProcess("writer");
    std::vector<uint64_t> seen;
    h.AddProcess("reader", Scripted([&seen, &keep](ScriptedProcess& p) {
      auto st = std::make_shared<RaftStorage>(p.env().disk, "raft");
      raft::Restore r;
      ASSERT_TRUE(st->Load(&r).ok());
      seen.push_back(r.entries.size());
      keep.push_back(st);
    }));
    // Power on (the reader loads and starts its repair), let the repair get part-way,
    // lose power again; three times.
    for (int cycle = 0; cycle < 3; ++cycle) {
      h.PowerOn();
      h.CrashProcess("writer");  // only the reader runs
      w.RunFor(Milliseconds(1 + static_cast<int>(seed % 7)));  // the repair may be mid-way
      h.PowerOff();
    }
    h.PowerOn();
    w.RunFor(Milliseconds(1));
    for (uint64_t n : seen) EXPECT_EQ(n, 5u) << "seed " << seed << ": durable entries lost";
  }
}

TEST(RaftStorage, SnapshotThenCompactedWalRestoresEverything) {
  std::shared_ptr<RaftStorage> keep;  // outlives its jobs
  sim::World w(1);
  sim::Host& h = w.AddHost("h");
  bool done = false;
  h.AddProcess("p", Scripted([&done, &keep](ScriptedProcess& p) {
    auto st = std::make_shared<RaftStorage>(p.env().disk, "raft");
    keep = st;
    raft::Restore r;
    ASSERT_TRUE(st->Load(&r).ok());
    st->Save(ReadyWith(2, 1, 10), raft::HardState{}, [st = st.get(), &done](Status s) {
      ASSERT_TRUE(s.ok());
      raft::Snapshot snap;
      snap.mutable_metadata()->set_index(6);
      snap.mutable_metadata()->set_term(2);
      snap.set_data("image");
      raft::HardState hs;
      hs.set_term(2);
      hs.set_vote(1);
      hs.set_commit(10);
      std::vector<raft::Entry> rest = EntriesOf(2, 7, 10);
      st->Compact(snap, hs, rest, [&done](Status c) {
        ASSERT_TRUE(c.ok());
        done = true;
      });
    });
  }));
  w.RunFor(Seconds(1));
  ASSERT_TRUE(done);
  h.PowerOff();
  h.PowerOn();
  raft::Restore r;
  bool loaded = false;
  h.CrashProcess("p");
  h.AddProcess("q", Scripted([&](ScriptedProcess& p) {
    RaftStorage st(p.env().disk, "raft");
    ASSERT_TRUE(st.Load(&r).ok());
    loaded = true;
  }));
  w.RunFor(Milliseconds(1));
  ASSERT_TRUE(loaded);
  EXPECT_EQ(r.snapshot.metadata().index(), 6u);
  EXPECT_EQ(r.snapshot.data(), "image");
  ASSERT_EQ(r.entries.size(), 4u);
  EXPECT_EQ(r.entries.front().index(), 7u);
  EXPECT_EQ(r.hard_state.term(), 2u);
  EXPECT_EQ(r.hard_state.vote(), 1u);
}

// Entries read back from the WAL by the offsets noted while writing it: across hard-state
// records, after a conflict rewrote a suffix, after compaction rewrote the file, and after
// a restart that noted them while loading.
TEST(RaftStorage, ReadsEntriesBackFromTheWal) {
  std::shared_ptr<RaftStorage> keep;
  sim::World w(1);
  sim::Host& h = w.AddHost("h");
  int step = 0;
  auto read = [](const RaftStorage& st, uint64_t lo, uint64_t hi, std::vector<raft::Entry>* out) {
    out->clear();
    return st.ReadEntries(lo, hi, out);
  };
  h.AddProcess("p", Scripted([&](ScriptedProcess& p) {
    auto st = std::make_shared<RaftStorage>(p.env().disk, "raft");
    keep = st;
    raft::Restore r;
    ASSERT_TRUE(st->Load(&r).ok());
    st->Save(ReadyWith(1, 1, 6), raft::HardState{}, [](Status s) { ASSERT_TRUE(s.ok()); });
    // Term 2 replaces 5..6 and goes on to 8 (a conflict, §5.3).
    st->Save(ReadyWith(2, 5, 8), raft::HardState{}, [&, st = st.get()](Status s) {
      ASSERT_TRUE(s.ok());
      std::vector<raft::Entry> got;
      ASSERT_TRUE(read(*st, 3, 9, &got).ok());
      ASSERT_EQ(got.size(), 6u);
      for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].index(), 3 + i);
        EXPECT_EQ(got[i].term(), 3 + i >= 5 ? 2u : 1u) << "index " << 3 + i;
        EXPECT_EQ(got[i].data(), "entry-" + std::to_string(3 + i));
      }
      EXPECT_EQ(read(*st, 7, 10, &got).code(), Status::Code::kNotFound);
      raft::Snapshot snap;
      snap.mutable_metadata()->set_index(4);
      snap.mutable_metadata()->set_term(1);
      raft::HardState hs;
      hs.set_term(2);
      st->Compact(snap, hs, EntriesOf(2, 5, 8), [&, st](Status c) {
        ASSERT_TRUE(c.ok());
        std::vector<raft::Entry> after;
        EXPECT_EQ(read(*st, 4, 6, &after).code(), Status::Code::kNotFound) << "4 is in the snapshot";
        ASSERT_TRUE(read(*st, 5, 9, &after).ok());
        ASSERT_EQ(after.size(), 4u);
        EXPECT_EQ(after[3].data(), "entry-8");
        step = 1;
      });
    });
  }));
  w.RunFor(Seconds(1));
  ASSERT_EQ(step, 1);
  h.CrashProcess("p");
  h.AddProcess("q", Scripted([&](ScriptedProcess& p) {
    RaftStorage st(p.env().disk, "raft");
    raft::Restore r;
    ASSERT_TRUE(st.Load(&r).ok());
    std::vector<raft::Entry> got;
    ASSERT_TRUE(read(st, 6, 9, &got).ok());
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0].index(), 6u);
    EXPECT_EQ(got[0].term(), 2u);
    step = 2;
  }));
  w.RunFor(Milliseconds(1));
  EXPECT_EQ(step, 2);
}

}  // namespace
}  // namespace ksim::storeserver
