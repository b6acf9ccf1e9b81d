// RaftLog: a node's log in memory — a snapshot point, the entries after it, and the
// marks that say what is committed, what was handed out to persist, and what was
// handed out to apply. Entries handed out to persist are "stable" once Advance says so.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cluster/store/raft/raft.pb.h"

namespace ksim::raft {

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
  // Entries in [lo, hi), at most `max_count`. REQUIRES: first_index() <= lo <= hi <= last_index()+1.
  std::vector<Entry> Slice(uint64_t lo, uint64_t hi, size_t max_count) const;

  uint64_t committed() const { return committed_; }
  void CommitTo(uint64_t index);
  uint64_t applied() const { return applied_; }

  // Entries not yet handed out to persist, and the committed entries that are persisted
  // but not yet handed out to apply.
  std::vector<Entry> UnstableEntries() const;
  std::vector<Entry> NextCommittedEntries(size_t max_count) const;
  bool HasUnstable() const { return unstable_from_ <= last_index(); }
  bool HasNextCommitted() const;
  void StableTo(uint64_t index) { if (index >= unstable_from_ - 1) unstable_from_ = index + 1; }
  void AppliedTo(uint64_t index);

  // Forgets entries up to `index` (inclusive), which must be applied.
  void CompactTo(uint64_t index);
  // Replaces the whole log by `snapshot` (a follower installing one).
  void InstallSnapshot(const SnapshotMetadata& meta);
  uint64_t snapshot_index() const { return snapshot_index_; }
  uint64_t snapshot_term() const { return snapshot_term_; }

 private:
  uint64_t snapshot_index_ = 0;
  uint64_t snapshot_term_ = 0;
  std::vector<Entry> entries_;  // entries_[i].index() == snapshot_index_ + 1 + i
  uint64_t committed_ = 0;
  uint64_t applied_ = 0;
  uint64_t unstable_from_ = 1;  // first index not yet handed out to persist
  uint64_t applying_to_ = 0;    // last index handed out to apply (not yet Advanced)
  friend class Raft;
};

}  // namespace ksim::raft
