#include "sim/disk.h"

#include <gtest/gtest.h>

#include <set>

#include "sim/world.h"

namespace ksim::sim {
namespace {

// Runs one Sync/SyncDir to completion.
void SyncNow(World& w, SimDisk& d, const std::string& path, bool dir = false) {
  bool done = false;
  auto cb = [&](Status s) {
    EXPECT_TRUE(s.ok()) << s.ToString();
    done = true;
  };
  if (dir) {
    d.SyncDir(path, cb);
  } else {
    d.Sync(path, cb);
  }
  EXPECT_FALSE(done);  // completions are never synchronous
  w.RunFor(Seconds(1));
  EXPECT_TRUE(done);
}

TEST(SimDisk, ReadListRenameRemove) {
  World w(1);
  SimDisk d(&w, Random(1), DiskOptions{});
  ASSERT_TRUE(d.Append("dir/b", "hello ").ok());
  ASSERT_TRUE(d.Append("dir/b", "world").ok());
  ASSERT_TRUE(d.WriteFile("dir/a", "x").ok());
  ASSERT_TRUE(d.WriteFile("dir/sub/c", "y").ok());
  std::string out;
  ASSERT_TRUE(d.Read("dir/b", &out).ok());
  EXPECT_EQ(out, "hello world");
  std::vector<std::string> names;
  ASSERT_TRUE(d.List("dir", &names).ok());
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(d.Rename("dir/a", "dir/b").ok());
  ASSERT_TRUE(d.Read("dir/b", &out).ok());
  EXPECT_EQ(out, "x");
  EXPECT_EQ(d.Read("dir/a", &out).code(), Status::Code::kNotFound);
  ASSERT_TRUE(d.ReadAt("dir/sub/c", 0, 1, &out).ok());
  EXPECT_EQ(out, "y");
  ASSERT_TRUE(d.Append("dir/b", "yz").ok());
  ASSERT_TRUE(d.ReadAt("dir/b", 1, 2, &out).ok());
  EXPECT_EQ(out, "yz");
  ASSERT_TRUE(d.ReadAt("dir/b", 3, 0, &out).ok());
  EXPECT_EQ(out, "");
  EXPECT_EQ(d.ReadAt("dir/b", 2, 2, &out).code(), Status::Code::kInvalidArgument);  // past the end
  EXPECT_EQ(out, "");
  EXPECT_EQ(d.ReadAt("dir/b", ~uint64_t{0}, 2, &out).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(d.ReadAt("dir/a", 0, 1, &out).code(), Status::Code::kNotFound);
  ASSERT_TRUE(d.Remove("dir/b").ok());
  EXPECT_EQ(d.Remove("dir/b").code(), Status::Code::kNotFound);
  EXPECT_EQ(d.Append("../escape", "x").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(d.Append("/abs", "x").code(), Status::Code::kInvalidArgument);
}

TEST(SimDisk, SyncedDataSurvivesPowerFailure) {
  for (uint64_t seed = 0; seed < 50; ++seed) {
    World w(seed);
    DiskOptions o;
    o.torn_writes = true;
    SimDisk d(&w, Random(seed), o);
    ASSERT_TRUE(d.Append("log", "durable").ok());
    SyncNow(w, d, "log");
    SyncNow(w, d, "", true);
    ASSERT_TRUE(d.Append("log", "-maybe").ok());
    d.Crash();
    std::string out;
    ASSERT_TRUE(d.Read("log", &out).ok());
    // The synced prefix is always there; the unsynced append survives whole, in part
    // (torn) or not at all.
    ASSERT_EQ(out.substr(0, 7), "durable") << "seed " << seed;
    EXPECT_EQ(std::string("durable-maybe").substr(0, out.size()), out);
  }
}

TEST(SimDisk, UnsyncedDataMayBeLostAndTheSeedDecides) {
  std::set<std::string> outcomes;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    World w(seed);
    SimDisk d(&w, Random(seed), DiskOptions{});
    ASSERT_TRUE(d.Append("f", "a").ok());
    SyncNow(w, d, "f");
    SyncNow(w, d, "", true);
    ASSERT_TRUE(d.Append("f", "b").ok());
    ASSERT_TRUE(d.Append("f", "c").ok());
    d.Crash();
    std::string out;
    ASSERT_TRUE(d.Read("f", &out).ok());
    outcomes.insert(out);
  }
  // Without torn writes only whole appends survive, as a prefix.
  EXPECT_EQ(outcomes, (std::set<std::string>{"a", "ab", "abc"}));
}

// Files are held in 1 MiB chunks, and an append-only file keeps its durable content as a
// prefix of what processes see: appends of odd sizes across chunk boundaries, a torn
// crash in the middle of one, and a read must still give back exactly the bytes written.
TEST(SimDisk, LargeAppendOnlyFileSurvivesCrashesByteForByte) {
  for (uint64_t seed = 0; seed < 8; ++seed) {
    World w(seed);
    DiskOptions o;
    o.torn_writes = true;
    SimDisk d(&w, Random(seed), o);
    std::string written;
    for (int i = 0; i < 40; ++i) {
      std::string piece(static_cast<size_t>(70001 + 977 * i), static_cast<char>('a' + i % 26));
      piece.back() = static_cast<char>('0' + i % 10);
      ASSERT_TRUE(d.Append("wal", piece).ok());
      written += piece;
    }
    ASSERT_GT(written.size(), size_t{3} << 20);
    SyncNow(w, d, "wal");
    SyncNow(w, d, "", true);
    const size_t durable = written.size();
    for (int i = 0; i < 5; ++i) {
      std::string piece(size_t{400000}, static_cast<char>('A' + i));
      ASSERT_TRUE(d.Append("wal", piece).ok());
      written += piece;
    }
    std::string out;
    ASSERT_TRUE(d.Read("wal", &out).ok());
    ASSERT_EQ(out, written);
    d.Crash();
    ASSERT_TRUE(d.Read("wal", &out).ok());
    ASSERT_GE(out.size(), durable) << "seed " << seed;
    ASSERT_EQ(out, written.substr(0, out.size())) << "seed " << seed;
    // A ranged read across chunk boundaries returns exactly those bytes.
    std::string range;
    const size_t at = (size_t{1} << 20) - 5;
    ASSERT_TRUE(d.ReadAt("wal", at, (size_t{2} << 20) + 11, &range).ok());
    ASSERT_EQ(range, out.substr(at, (size_t{2} << 20) + 11)) << "seed " << seed;
    // The file goes on from what survived.
    ASSERT_TRUE(d.Append("wal", "tail").ok());
    std::string after;
    ASSERT_TRUE(d.Read("wal", &after).ok());
    EXPECT_EQ(after, out + "tail");
  }
}

// A WriteFile while appends are still pending: the durable content and the pending
// appends are copied out of the shared bytes first, so a crash still lands on a prefix
// of the operations: the synced content, then each pending operation whole or torn.
TEST(SimDisk, ReplaceWhileAppendsArePendingKeepsOperationOrder) {
  std::set<std::string> outcomes;
  for (uint64_t seed = 0; seed < 60; ++seed) {
    World w(seed);
    SimDisk d(&w, Random(seed), DiskOptions{});
    ASSERT_TRUE(d.Append("f", "base").ok());
    SyncNow(w, d, "f");
    SyncNow(w, d, "", true);
    ASSERT_TRUE(d.Append("f", "+a").ok());
    ASSERT_TRUE(d.WriteFile("f", "new").ok());
    ASSERT_TRUE(d.Append("f", "+b").ok());
    std::string out;
    ASSERT_TRUE(d.Read("f", &out).ok());
    ASSERT_EQ(out, "new+b");
    d.Crash();
    ASSERT_TRUE(d.Read("f", &out).ok());
    outcomes.insert(out);
  }
  EXPECT_EQ(outcomes, (std::set<std::string>{"base", "base+a", "new", "new+b"}));
}

TEST(SimDisk, ProcessLevelReadSeesUnsyncedData) {
  World w(1);
  SimDisk d(&w, Random(1), DiskOptions{});
  ASSERT_TRUE(d.Append("f", "abc").ok());
  std::string out;
  ASSERT_TRUE(d.Read("f", &out).ok());
  EXPECT_EQ(out, "abc");
  EXPECT_EQ(d.UnsyncedBytes(), 3u);
}

TEST(SimDisk, NewFileNameNeedsSyncDirToSurvive) {
  int lost = 0;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    World w(seed);
    SimDisk d(&w, Random(seed), DiskOptions{});
    ASSERT_TRUE(d.WriteFile("new", "data").ok());
    SyncNow(w, d, "new");  // content durable, name not
    d.Crash();
    std::string out;
    if (!d.Read("new", &out).ok()) ++lost;
  }
  EXPECT_GT(lost, 0);
  World w(1);
  SimDisk d(&w, Random(1), DiskOptions{});
  ASSERT_TRUE(d.WriteFile("new", "data").ok());
  SyncNow(w, d, "new");
  SyncNow(w, d, "", true);
  d.Crash();
  std::string out;
  ASSERT_TRUE(d.Read("new", &out).ok());
  EXPECT_EQ(out, "data");
}

TEST(SimDisk, AtomicReplaceByRenameLeavesOldOrNewNeverAMix) {
  for (uint64_t seed = 0; seed < 60; ++seed) {
    World w(seed);
    DiskOptions o;
    o.torn_writes = true;
    SimDisk d(&w, Random(seed), o);
    ASSERT_TRUE(d.WriteFile("state", "old").ok());
    SyncNow(w, d, "state");
    SyncNow(w, d, "", true);
    ASSERT_TRUE(d.WriteFile("state.tmp", "new").ok());
    SyncNow(w, d, "state.tmp");
    ASSERT_TRUE(d.Rename("state.tmp", "state").ok());
    d.Crash();  // before SyncDir: either name table may survive
    std::string out;
    ASSERT_TRUE(d.Read("state", &out).ok());
    EXPECT_TRUE(out == "old" || out == "new") << out;
  }
}

// Regression: files replaced by rename were kept forever (a one-hour store run grew to
// 739 MB). Once the rename is durable the old content is unreachable and must be freed.
TEST(SimDisk, ReplacedFilesAreFreedOnceTheRenameIsDurable) {
  World w(1);
  SimDisk d(&w, Random(1), DiskOptions{});
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(d.WriteFile("state.tmp", std::string(1000, 'x')).ok());
    SyncNow(w, d, "state.tmp");
    ASSERT_TRUE(d.Rename("state.tmp", "state").ok());
    SyncNow(w, d, "", true);
  }
  EXPECT_EQ(d.inode_count(), 1u);
  ASSERT_TRUE(d.Remove("state").ok());
  SyncNow(w, d, "", true);
  EXPECT_EQ(d.inode_count(), 0u);
}

TEST(SimDisk, InjectedWriteErrorsLeaveTheFileUnchanged) {
  World w(1);
  DiskOptions o;
  o.write_error_rate = 1.0;
  SimDisk d(&w, Random(1), o);
  EXPECT_EQ(d.Append("f", "x").code(), Status::Code::kIOError);
  std::string out;
  EXPECT_EQ(d.Read("f", &out).code(), Status::Code::kNotFound);
  EXPECT_EQ(d.stats().write_errors, 1u);
}

TEST(SimDisk, SlowFsyncTakesLonger) {
  World w(1);
  DiskOptions o;
  o.fsync_extra_latency = Milliseconds(300);
  SimDisk d(&w, Random(1), o);
  ASSERT_TRUE(d.Append("f", "x").ok());
  bool done = false;
  d.Sync("f", [&](Status) { done = true; });
  w.RunFor(Milliseconds(250));
  EXPECT_FALSE(done);
  w.RunFor(Milliseconds(100));
  EXPECT_TRUE(done);
}

}  // namespace
}  // namespace ksim::sim
