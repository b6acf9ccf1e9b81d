// RaftStorage: a member's durable Raft state on its Disk.
//   <dir>/wal   records (cluster/storage/record_log) of WalRecord: hard states and
//               entries in the order they were written; a later entry with an index at
//               or below an earlier one replaces that suffix (a conflict).
//   <dir>/snap  the latest Raft snapshot (one record), replaced atomically.
// Every change is fsynced before its completion runs: a member acknowledges nothing that
// is not durable. Jobs run one at a time in the order given (bounded queue).
#pragma once

#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "cluster/env/disk.h"
#include "cluster/store/raft/raft.h"

namespace ksim::storeserver {

class RaftStorage {
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

  Disk* disk_;
  std::string dir_;
  std::deque<std::pair<Job, std::function<void(Status)>>> jobs_;
  bool running_ = false;
  uint64_t wal_bytes_ = 0;
  Status failed_;  // a WAL repair that failed: every later Save fails with it
};

}  // namespace ksim::storeserver
