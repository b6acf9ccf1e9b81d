// RaftStorage: a member's durable Raft state on its Disk.
//   <dir>/wal   records (cluster/storage/record_log) of WalRecord: hard states and
//               entries in the order they were written; a later entry with an index at
//               or below an earlier one replaces that suffix (a conflict).
//   <dir>/snap  the latest Raft snapshot (one record), replaced atomically.
// Every change is fsynced before its completion runs: a member acknowledges nothing that
// is not durable. Jobs run one at a time in the order given (bounded queue).
// It notes where each entry's record lies in the WAL (16 bytes per entry), so that the
// Raft node can evict entries' data from memory and read them back (raft::LogReader).
#pragma once

#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "cluster/env/disk.h"
#include "cluster/store/raft/raft.h"

namespace ksim::storeserver {

class RaftStorage final : public raft::LogReader {
 public:
  RaftStorage(Disk* disk, std::string dir);

  // Reads what is on disk. A torn WAL tail (a crash mid-append) is dropped: nothing in it
  // was acknowledged, because acknowledgements wait for fsync. The WAL is then rewritten
  // atomically (a queued job) before any Save appends to it.
  Status Load(raft::Restore* out);

  // Appends the Ready's hard state and entries (and, if it carries one, installs its
  // snapshot, starting a new WAL that keeps `current` — the node's hard state — so term
  // and vote survive), fsyncs, then runs done.
  void Save(const raft::Ready& ready, const raft::HardState& current, std::function<void(Status)> done);

  // Replaces the snapshot and rewrites the WAL to hold only `hard_state` and `entries`
  // (those after the snapshot), each step durable before the next.
  void Compact(const raft::Snapshot& snapshot, const raft::HardState& hard_state,
               const std::vector<raft::Entry>& entries, std::function<void(Status)> done);

  // Reads entries [lo, hi) back from the WAL in one ranged read, checking each record's
  // checksum and index. NotFound if the WAL does not hold them all.
  Status ReadEntries(uint64_t lo, uint64_t hi, std::vector<raft::Entry>* out) const override;

  bool busy() const { return running_; }
  uint64_t wal_bytes() const { return wal_bytes_; }
  static constexpr size_t kMaxQueuedJobs = 1024;

 private:
  using Job = std::function<void(std::function<void(Status)>)>;
  void Enqueue(Job job, std::function<void(Status)> done);
  void RunNext();
  void WriteSnapshotThen(const raft::Snapshot& snapshot, std::function<void(Status)> next);
  void RewriteWalThen(const raft::HardState& hs, const std::vector<raft::Entry>& entries,
                      std::function<void(Status)> next);
  std::string Path(const char* name) const { return dir_ + "/" + name; }
  // Where one entry's record lies in the WAL.
  struct Located {
    uint64_t offset = 0;
    uint64_t bytes = 0;
  };
  // Notes entry `index` at `where`; an index at or below the last noted one replaces
  // that suffix (a conflict), as it does in the WAL.
  void Locate(uint64_t index, Located where);
  // The entries of a WAL being written, by index, with offsets relative to its start.
  using Locations = std::vector<std::pair<uint64_t, Located>>;
  // Appends WalRecord{entry: e} to *records and notes where it lies.
  static void AppendEntryRecord(const raft::Entry& e, std::string* records, Locations* located);

  Disk* disk_;
  std::string dir_;
  std::deque<std::pair<Job, std::function<void(Status)>>> jobs_;
  bool running_ = false;
  uint64_t wal_bytes_ = 0;
  uint64_t located_first_ = 0;     // index of located_[0]
  std::vector<Located> located_;   // located_[i]: entry located_first_ + i in the WAL
  Status failed_;  // a WAL repair that failed: every later Save fails with it
};

}  // namespace ksim::storeserver
