// SimDisk: a host's disk with the durability model of cluster/env/disk.h.
//
// Contents: every Append/WriteFile is a pending operation on the file's inode; Sync
// makes the operations issued before it durable. Names: creating, renaming and removing
// files append to a metadata journal; SyncDir commits the journal as it stood at the
// call (like ext4's journal, a commit covers every directory). At a power failure the
// seed decides how many pending operations of each inode survive (a prefix) and how long
// a prefix of the uncommitted journal survives; with torn writes enabled, the first
// lost content operation may survive in part.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/env/random.h"
#include "cluster/env/status.h"
#include "cluster/env/time.h"

namespace ksim::sim {

class World;

struct DiskOptions {
  Nanos fsync_latency_min = Microseconds(500);
  Nanos fsync_latency_jitter = Microseconds(500);
  bool torn_writes = false;       // a power failure may keep part of a write
  double write_error_rate = 0.0;  // probability that Append/WriteFile fails with IOError
  Nanos fsync_extra_latency{0};   // added to every fsync (the "slow disk" fault)
};

struct DiskStats {
  uint64_t writes = 0;
  uint64_t bytes_written = 0;
  uint64_t syncs = 0;
  uint64_t write_errors = 0;
  uint64_t crashes = 0;
  uint64_t ops_lost_at_crash = 0;
};

class SimDisk {
 public:
  // `random` decides fsync latencies, write errors and what a crash loses.
  SimDisk(World* world, Random random, const DiskOptions& options);

  Status Append(const std::string& path, std::string_view data);
  Status WriteFile(const std::string& path, std::string_view data);
  // `done` runs via the world's queue once the fsync completes (not inside this call).
  void Sync(const std::string& path, std::function<void(Status)> done);
  void SyncDir(const std::string& dir, std::function<void(Status)> done);
  Status Rename(const std::string& from, const std::string& to);
  Status Read(const std::string& path, std::string* out) const;
  Status ReadAt(const std::string& path, uint64_t offset, size_t length, std::string* out) const;
  Status List(const std::string& dir, std::vector<std::string>* names) const;
  Status Remove(const std::string& path);

  // Power failure: each file keeps its durable content plus a random prefix of its
  // pending operations; the name table keeps its committed state plus a random prefix of
  // the uncommitted journal. Syncs in flight never complete.
  void Crash();

  DiskOptions& options() { return options_; }
  const DiskStats& stats() const { return stats_; }
  // Bytes of not-yet-durable content operations, for tests and reports.
  size_t UnsyncedBytes() const;
  // Files held in memory, including replaced ones a crash could still bring back.
  size_t inode_count() const { return inodes_.size(); }

 private:
  // A file's bytes in chunks of at most kChunkBytes: an append never moves what is
  // already written, where one growing string copied a whole WAL at every doubling.
  class FileBytes {
   public:
    size_t size() const { return size_; }
    void Append(std::string_view data);
    void Assign(std::string_view data);
    void Truncate(size_t size);
    // Appends bytes [pos, pos + count) to *out. REQUIRES: pos + count <= size().
    void CopyTo(size_t pos, size_t count, std::string* out) const;

   private:
    static constexpr size_t kChunkBytes = size_t{1} << 20;
    std::vector<std::string> chunks_;  // all full but the last
    size_t size_ = 0;
  };
  struct ContentOp {
    bool replace;  // true: WriteFile (truncate then write); false: Append
    size_t size;   // bytes written
    std::string data;  // the bytes, unless the inode keeps them in `current` (see Inode)
  };
  // A file that is only appended to (a WAL) keeps one copy of its bytes: its durable
  // content is then a prefix of `current`, and its pending appends are the rest. The
  // first pending WriteFile copies the durable content and the pending bytes out, and
  // the file returns to one copy once everything pending is durable.
  struct Inode {
    FileBytes current;
    bool durable_is_prefix = true;
    size_t durable_size = 0;  // while durable_is_prefix: current[0, durable_size) is durable
    std::string durable;      // otherwise: the durable content
    std::deque<ContentOp> pending;  // operations not yet durable, oldest first
    uint64_t ops_issued = 0;        // operations ever issued
    uint64_t ops_durable = 0;       // operations made durable (a prefix of ops_issued)
  };
  struct MetaOp {
    enum Kind { kCreate, kRename, kRemove } kind;
    std::string path;
    std::string to;  // kRename only
    uint64_t inode = 0;  // kCreate only
  };

  static Status CheckPath(const std::string& path);
  Status MaybeFailWrite(const std::string& path);
  Inode* FindOrCreate(const std::string& path);
  static void ApplyMeta(const MetaOp& op, std::map<std::string, uint64_t>* names);
  // Makes the oldest pending operation durable; with `keep_bytes` < its size, only
  // that prefix of an append lands (a torn write).
  static void MakeDurable(Inode& inode, const ContentOp& op, size_t keep_bytes);
  // Leaves the one-copy form: `durable` and every pending operation hold their bytes.
  static void Separate(Inode& inode);
  // Returns to the one-copy form once nothing is pending (durable equals current).
  static void Rejoin(Inode& inode);
  Nanos FsyncLatency();
  // Frees inodes that no current name, durable name or uncommitted journal entry refers
  // to (a file replaced by rename or removed, once nothing can bring it back).
  void CollectGarbage();

  World* world_;
  Random random_;
  DiskOptions options_;
  DiskStats stats_;
  uint64_t next_inode_ = 1;
  uint64_t power_epoch_ = 0;  // bumps at each crash; completions of older syncs are void
  std::map<uint64_t, Inode> inodes_;
  std::map<std::string, uint64_t> names_;          // what processes see
  std::map<std::string, uint64_t> durable_names_;  // what survives a power failure
  std::deque<MetaOp> journal_;                     // uncommitted metadata operations
  uint64_t journal_issued_ = 0;
  uint64_t journal_committed_ = 0;
};

}  // namespace ksim::sim
