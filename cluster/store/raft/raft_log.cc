#include "cluster/store/raft/raft_log.h"

#include <algorithm>
#include <cassert>

namespace ksim::raft {

void RaftLog::Restore(const Snapshot& snapshot, std::vector<Entry> entries) {
  snapshot_index_ = snapshot.metadata().index();
  snapshot_term_ = snapshot.metadata().term();
  entries_.clear();
  evicted_to_ = snapshot_index_;
  cached_bytes_ = 0;
  for (Entry& e : entries) {
    if (e.index() <= snapshot_index_) continue;
    assert(e.index() == last_index() + 1);
    cached_bytes_ += e.data().size();
    entries_.push_back(std::make_shared<const Entry>(std::move(e)));
  }
  committed_ = snapshot_index_;
  applied_ = snapshot_index_;
  unstable_from_ = last_index() + 1;  // everything restored is already on disk
}

std::optional<uint64_t> RaftLog::Term(uint64_t index) const {
  if (index == snapshot_index_) return snapshot_term_;
  if (index < snapshot_index_ || index > last_index()) return std::nullopt;
  return entries_[index - snapshot_index_ - 1]->term();
}

void RaftLog::Append(const std::vector<Entry>& entries) { Append(std::vector<Entry>(entries)); }

void RaftLog::Append(std::vector<Entry>&& entries) {
  if (entries.empty()) return;
  const uint64_t first = entries.front().index();
  assert(first > committed_ && first <= last_index() + 1);
  assert(first > evicted_to_);  // evicted entries are applied, so committed
  TruncateFrom(first - snapshot_index_ - 1);  // drop the conflicting suffix, if any
  for (Entry& e : entries) {
    assert(e.index() == last_index() + 1);
    cached_bytes_ += e.data().size();
    entries_.push_back(std::make_shared<const Entry>(std::move(e)));
  }
  unstable_from_ = std::min(unstable_from_, first);
}

std::optional<uint64_t> RaftLog::MaybeAppend(uint64_t index, uint64_t log_term, uint64_t committed,
                                             std::vector<Entry> entries) {
  if (!MatchTerm(index, log_term)) return std::nullopt;
  const uint64_t last_new = index + entries.size();
  // Find the first entry that is new or conflicts (§5.3, "If an existing entry conflicts
  // with a new one ... delete the existing entry and all that follow it").
  size_t i = 0;
  for (; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    if (e.index() <= snapshot_index_) continue;  // already covered by our snapshot
    if (!MatchTerm(e.index(), e.term())) break;
  }
  if (i < entries.size()) {
    assert(entries[i].index() > committed_);  // Log Matching: a committed entry never conflicts
    entries.erase(entries.begin(), entries.begin() + static_cast<long>(i));
    Append(std::move(entries));
  }
  CommitTo(std::min(committed, last_new));
  return last_new;
}

std::vector<EntryRef> RaftLog::Refs(uint64_t lo, uint64_t hi, size_t max_count) const {
  assert(lo >= first_index() && lo > evicted_to_ && lo <= hi && hi <= last_index() + 1);
  if (hi - lo > max_count) hi = lo + max_count;  // (lo + max_count could overflow)
  return std::vector<EntryRef>(entries_.begin() + static_cast<long>(lo - first_index()),
                               entries_.begin() + static_cast<long>(hi - first_index()));
}

std::vector<Entry> RaftLog::Slice(uint64_t lo, uint64_t hi, size_t max_count) const {
  std::vector<Entry> out;
  for (const EntryRef& e : Refs(lo, hi, max_count)) out.push_back(*e);
  return out;
}

Status RaftLog::Entries(uint64_t lo, uint64_t hi, size_t max_count, const LogReader* reader, std::vector<Entry>* out,
                        size_t max_bytes) const {
  assert(lo >= first_index() && lo <= hi && hi <= last_index() + 1);
  out->clear();
  if (hi - lo > max_count) hi = lo + max_count;
  size_t bytes = 0;  // entry data so far; evicted entries are counted once read back
  if (lo <= evicted_to_) {
    const uint64_t read_hi = std::min(hi, evicted_to_ + 1);
    if (reader == nullptr) return Status::Unavailable("raft log: entries were evicted and there is no reader");
    if (Status s = reader->ReadEntries(lo, read_hi, out); !s.ok()) {
      out->clear();
      return s;
    }
    // The durable log must agree with what we hold: a mismatch is a lost or foreign WAL.
    if (out->size() != read_hi - lo) {
      out->clear();
      return Status::Corruption("raft log: read back " + std::to_string(out->size()) + " entries for [" +
                                std::to_string(lo) + ", " + std::to_string(read_hi) + ")");
    }
    for (size_t i = 0; i < out->size(); ++i) {
      const Entry& held = *entries_[lo + i - first_index()];
      if ((*out)[i].index() != held.index() || (*out)[i].term() != held.term()) {
        const uint64_t index = held.index();
        out->clear();
        return Status::Corruption("raft log: entry " + std::to_string(index) + " read back differs");
      }
    }
    for (size_t i = 0; i < out->size(); ++i) {
      bytes += (*out)[i].data().size();
      if (i > 0 && bytes > max_bytes) {
        out->resize(i);
        return Status::Ok();
      }
    }
    lo = read_hi;
  }
  for (uint64_t i = lo; i < hi; ++i) {
    const Entry& e = *entries_[i - first_index()];
    bytes += e.data().size();
    if (!out->empty() && bytes > max_bytes) break;
    out->push_back(e);
  }
  return Status::Ok();
}

void RaftLog::ShrinkCache(size_t max_bytes) {
  // Only what is durable (stable) and no longer needed to apply may go.
  const uint64_t limit = std::min(applied_, unstable_from_ - 1);
  while (cached_bytes_ > max_bytes && evicted_to_ < limit) {
    EntryRef& e = entries_[evicted_to_ + 1 - first_index()];
    cached_bytes_ -= e->data().size();
    // A new entry without the data: a Ready not yet advanced may still hold the old one.
    auto bare = std::make_shared<Entry>();
    bare->set_index(e->index());
    bare->set_term(e->term());
    bare->set_type(e->type());
    e = std::move(bare);
    ++evicted_to_;
  }
}

void RaftLog::TruncateFrom(size_t keep) {
  for (size_t i = keep; i < entries_.size(); ++i) {
    if (entries_[i]->index() > evicted_to_) cached_bytes_ -= entries_[i]->data().size();
  }
  entries_.resize(std::min(keep, entries_.size()));
}

void RaftLog::CommitTo(uint64_t index) {
  if (index <= committed_) return;  // commit never goes backwards
  assert(index <= last_index());
  committed_ = index;
}

std::vector<EntryRef> RaftLog::UnstableEntries() const {
  if (!HasUnstable()) return {};
  return Refs(unstable_from_, last_index() + 1, SIZE_MAX);
}

bool RaftLog::HasNextCommitted() const {
  const uint64_t hi = std::min(committed_, unstable_from_ - 1);
  return hi > applied_;
}

std::vector<EntryRef> RaftLog::NextCommittedEntries(size_t max_count) const {
  // Only entries this node has persisted are applied: after a restart the node replays
  // its state machine from what is on its disk.
  const uint64_t hi = std::min(committed_, unstable_from_ - 1);
  if (hi <= applied_) return {};
  return Refs(applied_ + 1, hi + 1, max_count);
}

void RaftLog::AppliedTo(uint64_t index) {
  assert(index <= committed_);
  if (index > applied_) applied_ = index;
}

void RaftLog::CompactTo(uint64_t index) {
  assert(index <= applied_ && index <= last_index());
  if (index <= snapshot_index_) return;
  const uint64_t term = *Term(index);
  for (uint64_t i = std::max(evicted_to_, snapshot_index_) + 1; i <= index; ++i) {
    cached_bytes_ -= entries_[i - first_index()]->data().size();
  }
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<long>(index - snapshot_index_));
  snapshot_index_ = index;
  snapshot_term_ = term;
  evicted_to_ = std::max(evicted_to_, index);
}

void RaftLog::InstallSnapshot(const SnapshotMetadata& meta) {
  snapshot_index_ = meta.index();
  snapshot_term_ = meta.term();
  entries_.clear();
  evicted_to_ = meta.index();
  cached_bytes_ = 0;
  committed_ = meta.index();
  applied_ = meta.index();
  unstable_from_ = meta.index() + 1;
}

}  // namespace ksim::raft
