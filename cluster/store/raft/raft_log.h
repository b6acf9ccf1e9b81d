// RaftLog: a node's log in memory — a snapshot point, the entries after it, and the
// marks that say what is committed, what was handed out to persist, and what was
// handed out to apply. Entries handed out to persist are "stable" once Advance says so.
//
// The data of old entries may be evicted: an entry that is stable and applied keeps its
// index, term and type here, and its data is read back from the durable log (a
// LogReader) when a lagging follower needs it — as TiKV's and CockroachDB's entry caches
// do. Without this, a log between snapshots is held twice (memory and WAL).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/env/status.h"
#include "cluster/store/raft/raft.pb.h"

namespace ksim::raft {

// Where a node reads back entries whose data it evicted: its durable log.
class LogReader {
 public:
  virtual ~LogReader() = default;
  // Appends the entries [lo, hi) to *out in order, whole (with their data).
  // REQUIRES: every index in [lo, hi) was persisted (handed out in a Ready and Advanced)
  // and is after the latest snapshot the node persisted.
  virtual Status ReadEntries(uint64_t lo, uint64_t hi, std::vector<Entry>* out) const = 0;
};

// An entry as the log holds it: immutable once appended and shared, so that a Ready hands
// the same entry out to persist and to apply without copying its data (a batch of
// creates is tens of kilobytes).
using EntryRef = std::shared_ptr<const Entry>;

class RaftLog {
 public:
  // An empty log, or one restored after `snapshot` with `entries` following it.
  RaftLog() = default;
  void Restore(const Snapshot& snapshot, std::vector<Entry> entries);

  uint64_t first_index() const { return snapshot_index_ + 1; }
  uint64_t last_index() const { return snapshot_index_ + entries_.size(); }
  uint64_t last_term() const { return *Term(last_index()); }
  // Term of the entry at `index`; nullopt if compacted away or beyond the end.
  std::optional<uint64_t> Term(uint64_t index) const;
  bool MatchTerm(uint64_t index, uint64_t term) const {
    auto t = Term(index);
    return t && *t == term;
  }
  // §5.4.1: is a log ending at (last_index, last_term) at least as up to date as ours?
  bool IsUpToDate(uint64_t last_index, uint64_t last_term) const {
    return last_term > this->last_term() || (last_term == this->last_term() && last_index >= this->last_index());
  }

  // Appends entries whose indexes continue from last_index() or overwrite a suffix
  // (a conflict, §5.3). REQUIRES: entries are contiguous and entries[0].index() is in
  // (committed, last_index() + 1].
  void Append(const std::vector<Entry>& entries);
  void Append(std::vector<Entry>&& entries);  // moves the entries in
  // The follower's side of AppendEntries (§5.3): if our entry at `index` has `log_term`,
  // appends `entries`, dropping any conflicting suffix, and returns the new last index
  // covered by the message; nullopt if the previous entry does not match.
  std::optional<uint64_t> MaybeAppend(uint64_t index, uint64_t log_term, uint64_t committed,
                                      std::vector<Entry> entries);
  // Entries in [lo, hi), at most `max_count`, from memory.
  // REQUIRES: evicted_to() < lo <= hi <= last_index()+1 and first_index() <= lo.
  std::vector<Entry> Slice(uint64_t lo, uint64_t hi, size_t max_count) const;
  // As Slice, but evicted entries are read back through `reader`; its error is returned
  // (and *out left empty). Stops before the entry that would take the entries' data past
  // `max_bytes`, but returns at least one entry (as etcd-io/raft's limitSize), so a log
  // always makes progress. REQUIRES: first_index() <= lo <= hi <= last_index()+1.
  Status Entries(uint64_t lo, uint64_t hi, size_t max_count, const LogReader* reader, std::vector<Entry>* out,
                 size_t max_bytes = SIZE_MAX) const;

  uint64_t committed() const { return committed_; }
  void CommitTo(uint64_t index);
  uint64_t applied() const { return applied_; }

  // Entries not yet handed out to persist, and the committed entries that are persisted
  // but not yet handed out to apply.
  std::vector<EntryRef> UnstableEntries() const;
  std::vector<EntryRef> NextCommittedEntries(size_t max_count) const;
  bool HasUnstable() const { return unstable_from_ <= last_index(); }
  bool HasNextCommitted() const;
  void StableTo(uint64_t index) { if (index >= unstable_from_ - 1) unstable_from_ = index + 1; }
  void AppliedTo(uint64_t index);

  // Evicts the data of the oldest stable, applied entries until at most `max_bytes` of
  // entry data remain in memory (or nothing more may be evicted).
  void ShrinkCache(size_t max_bytes);
  // Entries up to this index hold no data in memory (>= snapshot_index()).
  uint64_t evicted_to() const { return evicted_to_; }
  // Bytes of entry data held in memory.
  size_t cached_bytes() const { return cached_bytes_; }

  // Forgets entries up to `index` (inclusive), which must be applied.
  void CompactTo(uint64_t index);
  // Replaces the whole log by `snapshot` (a follower installing one).
  void InstallSnapshot(const SnapshotMetadata& meta);
  uint64_t snapshot_index() const { return snapshot_index_; }
  uint64_t snapshot_term() const { return snapshot_term_; }

 private:
  uint64_t snapshot_index_ = 0;
  uint64_t snapshot_term_ = 0;
  // Drops entries_ from position `keep` on, keeping cached_bytes_ right.
  void TruncateFrom(size_t keep);

  // The shared entries in [lo, hi), at most `max_count`; same REQUIRES as Slice.
  std::vector<EntryRef> Refs(uint64_t lo, uint64_t hi, size_t max_count) const;

  std::vector<EntryRef> entries_;  // entries_[i]->index() == snapshot_index_ + 1 + i; never null
  uint64_t evicted_to_ = 0;     // entries at or below hold no data; >= snapshot_index_
  size_t cached_bytes_ = 0;     // sum of data sizes of entries above evicted_to_
  uint64_t committed_ = 0;
  uint64_t applied_ = 0;
  uint64_t unstable_from_ = 1;  // first index not yet handed out to persist
  uint64_t applying_to_ = 0;    // last index handed out to apply (not yet Advanced)
  friend class Raft;
};

}  // namespace ksim::raft
