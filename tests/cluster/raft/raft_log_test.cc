// RaftLog's entry cache: which entries' data may be evicted, how evicted entries are read
// back, and the byte accounting across appends, conflicts and compaction.
#include "cluster/store/raft/raft_log.h"

#include <gtest/gtest.h>

#include <map>

namespace ksim::raft {
namespace {

Entry MakeEntry(uint64_t index, uint64_t term, size_t bytes) {
  Entry e;
  e.set_index(index);
  e.set_term(term);
  e.set_data(std::string(bytes, static_cast<char>('a' + index % 26)));
  return e;
}

std::vector<Entry> Entries(uint64_t first, uint64_t last, uint64_t term, size_t bytes) {
  std::vector<Entry> out;
  for (uint64_t i = first; i <= last; ++i) out.push_back(MakeEntry(i, term, bytes));
  return out;
}

// The durable log: what was persisted, by index (a later write of an index replaces it).
class MapReader final : public LogReader {
 public:
  Status ReadEntries(uint64_t lo, uint64_t hi, std::vector<Entry>* out) const override {
    ++reads;
    for (uint64_t i = lo; i < hi; ++i) {
      auto it = durable.find(i);
      if (it == durable.end()) return Status::NotFound("entry " + std::to_string(i));
      out->push_back(it->second);
    }
    return Status::Ok();
  }
  std::map<uint64_t, Entry> durable;
  mutable int reads = 0;
};

// Appends, persists and applies [first, last] the way Raft drives the log.
void AppendStableApplied(RaftLog& log, MapReader& disk, uint64_t first, uint64_t last, uint64_t term, size_t bytes) {
  for (const Entry& e : Entries(first, last, term, bytes)) disk.durable[e.index()] = e;
  log.Append(Entries(first, last, term, bytes));
  log.StableTo(last);
  log.CommitTo(last);
  log.AppliedTo(last);
}

TEST(RaftLogCache, EvictsOnlyPersistedAppliedEntriesOldestFirst) {
  RaftLog log;
  log.Append(Entries(1, 10, 1, 100));
  EXPECT_EQ(log.cached_bytes(), 1000u);
  log.ShrinkCache(0);
  EXPECT_EQ(log.evicted_to(), 0u) << "nothing is persisted or applied yet";
  log.StableTo(10);
  log.CommitTo(6);
  log.AppliedTo(4);
  log.ShrinkCache(0);
  EXPECT_EQ(log.evicted_to(), 4u) << "entries 5..10 are not applied";
  EXPECT_EQ(log.cached_bytes(), 600u);
  log.AppliedTo(6);
  log.ShrinkCache(350);  // 5 and 6 go; 7..10 stay though over the bound: not applied
  EXPECT_EQ(log.evicted_to(), 6u);
  EXPECT_EQ(log.cached_bytes(), 400u);
  // Metadata stays in memory: terms answer without a read.
  EXPECT_EQ(log.Term(3), std::optional<uint64_t>(1));
  EXPECT_TRUE(log.MatchTerm(5, 1));
}

TEST(RaftLogCache, UnpersistedEntriesAreNeverEvicted) {
  RaftLog log;
  log.Append(Entries(1, 5, 1, 10));
  log.CommitTo(5);  // a leader may know an entry is committed before its own fsync
  log.StableTo(2);
  log.AppliedTo(2);
  log.ShrinkCache(0);
  EXPECT_EQ(log.evicted_to(), 2u);
  ASSERT_EQ(log.UnstableEntries().size(), 3u);
  EXPECT_EQ(log.UnstableEntries()[0]->data(), std::string(10, 'd'));
}

TEST(RaftLogCache, EvictedEntriesReadBackWholeAndInOrder) {
  RaftLog log;
  MapReader disk;
  AppendStableApplied(log, disk, 1, 8, 2, 50);
  log.ShrinkCache(100);  // 7 and 8 stay
  ASSERT_EQ(log.evicted_to(), 6u);
  std::vector<Entry> got;
  ASSERT_TRUE(log.Entries(3, 9, 100, &disk, &got).ok());
  ASSERT_EQ(got.size(), 6u);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].index(), 3 + i);
    EXPECT_EQ(got[i].data(), MakeEntry(3 + i, 2, 50).data());
  }
  EXPECT_EQ(disk.reads, 1);
  // Entirely in memory: no read.
  ASSERT_TRUE(log.Entries(7, 9, 100, &disk, &got).ok());
  EXPECT_EQ(got.size(), 2u);
  EXPECT_EQ(disk.reads, 1);
  // max_count bounds the read too.
  ASSERT_TRUE(log.Entries(2, 9, 3, &disk, &got).ok());
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got.back().index(), 4u);
}

TEST(RaftLogCache, ADurableLogThatDisagreesIsCorruptionNotData) {
  RaftLog log;
  MapReader disk;
  AppendStableApplied(log, disk, 1, 4, 3, 20);
  log.ShrinkCache(0);
  disk.durable[2] = MakeEntry(2, 1, 20);  // a different term than the log holds
  std::vector<Entry> got;
  Status s = log.Entries(1, 5, 100, &disk, &got);
  EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.ToString();
  EXPECT_TRUE(got.empty());
  disk.durable.erase(3);
  s = log.Entries(3, 5, 100, &disk, &got);
  EXPECT_EQ(s.code(), Status::Code::kNotFound) << s.ToString();
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(log.Entries(1, 2, 100, nullptr, &got).code(), Status::Code::kUnavailable);
}

TEST(RaftLogCache, ByteCountFollowsConflictsAndCompaction) {
  RaftLog log;
  MapReader disk;
  AppendStableApplied(log, disk, 1, 4, 1, 10);
  log.Append(Entries(5, 9, 1, 10));
  EXPECT_EQ(log.cached_bytes(), 90u);
  log.Append(Entries(7, 8, 2, 30));  // replaces 7..9
  EXPECT_EQ(log.last_index(), 8u);
  EXPECT_EQ(log.cached_bytes(), 4 * 10 + 2 * 10 + 2 * 30u);
  log.ShrinkCache(0);
  EXPECT_EQ(log.evicted_to(), 4u);
  EXPECT_EQ(log.cached_bytes(), 80u);
  log.CompactTo(2);  // below the evicted mark: nothing cached is dropped
  EXPECT_EQ(log.cached_bytes(), 80u);
  log.StableTo(8);
  log.CommitTo(6);
  log.AppliedTo(6);
  log.CompactTo(6);  // drops 5 and 6, still cached
  EXPECT_EQ(log.cached_bytes(), 60u);
  EXPECT_EQ(log.evicted_to(), 6u);
  ASSERT_EQ(log.Slice(7, 9, 10).size(), 2u);
  SnapshotMetadata meta;
  meta.set_index(20);
  meta.set_term(3);
  log.InstallSnapshot(meta);
  EXPECT_EQ(log.cached_bytes(), 0u);
  EXPECT_EQ(log.evicted_to(), 20u);
}

}  // namespace
}  // namespace ksim::raft
