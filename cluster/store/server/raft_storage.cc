#include "cluster/store/server/raft_storage.h"

#include <cassert>
#include <memory>

#include "cluster/env/wire.h"
#include "cluster/storage/record_log.h"
#include "cluster/store/server/server.pb.h"

namespace ksim::storeserver {

RaftStorage::RaftStorage(Disk* disk, std::string dir) : disk_(disk), dir_(std::move(dir)) {}

Status RaftStorage::Load(raft::Restore* out) {
  *out = raft::Restore{};
  std::string data;
  Status s = disk_->Read(Path("snap"), &data);
  if (s.ok()) {
    DecodedRecords snap = DecodeRecords(data);
    if (snap.payloads.size() != 1 || !out->snapshot.ParseFromString(snap.payloads[0])) {
      return Status::Corruption(Path("snap") + ": unreadable snapshot");
    }
  } else if (!s.Is(Status::Code::kNotFound)) {
    return s;
  }
  data.clear();
  s = disk_->Read(Path("wal"), &data);
  if (!s.ok() && !s.Is(Status::Code::kNotFound)) return s;
  DecodedRecords wal = DecodeRecords(data);
  wal_bytes_ = wal.valid_bytes;
  located_.clear();
  const uint64_t snap_index = out->snapshot.metadata().index();
  for (size_t i = 0; i < wal.payloads.size(); ++i) {
    const std::string& payload = wal.payloads[i];
    WalRecord r;
    if (!r.ParseFromString(payload)) return Status::Corruption(Path("wal") + ": unparsable record");
    if (r.has_hard_state()) {
      out->hard_state = r.hard_state();
    } else if (r.has_entry()) {
      const raft::Entry& e = r.entry();
      if (e.index() <= snap_index) continue;
      while (!out->entries.empty() && out->entries.back().index() >= e.index()) out->entries.pop_back();
      if (!out->entries.empty() && out->entries.back().index() + 1 != e.index()) {
        return Status::Corruption(Path("wal") + ": gap before entry " + std::to_string(e.index()));
      }
      if (out->entries.empty() && e.index() != snap_index + 1) {
        return Status::Corruption(Path("wal") + ": first entry " + std::to_string(e.index()) +
                                  " does not follow snapshot " + std::to_string(snap_index));
      }
      out->entries.push_back(e);
      Locate(e.index(), Located{wal.offsets[i], RecordBytes(payload.size())});
    }
  }
  if (wal.torn_tail) {
    // Appends must continue after a whole record, so the valid part is written anew. Never
    // in place: truncating and rewriting the live WAL could, at a power failure before its
    // fsync, lose records that were durable (found by the fault sweep). Instead, as a job
    // ahead of any Save: write wal.tmp, fsync, rename over wal, fsync the directory.
    Enqueue(
        [this, hs = out->hard_state, entries = out->entries](std::function<void(Status)> finish) {
          RewriteWalThen(hs, entries, finish);
        },
        [this](Status repaired) {
          if (!repaired.ok()) failed_ = repaired;
        });
  }
  if (out->hard_state.commit() < snap_index) out->hard_state.set_commit(snap_index);
  return Status::Ok();
}

void RaftStorage::Locate(uint64_t index, Located where) {
  if (located_.empty() || index < located_first_ || index > located_first_ + located_.size()) {
    // The first entry, or one that does not continue what is noted (a WAL restarted
    // after a snapshot): the earlier notes cannot be read together with it.
    located_.clear();
    located_first_ = index;
  }
  located_.resize(index - located_first_);
  located_.push_back(where);
}

Status RaftStorage::ReadEntries(uint64_t lo, uint64_t hi, std::vector<raft::Entry>* out) const {
  if (lo >= hi) return Status::Ok();
  if (lo < located_first_ || hi > located_first_ + located_.size()) {
    return Status::NotFound(Path("wal") + ": entries [" + std::to_string(lo) + ", " + std::to_string(hi) +
                            ") are not all in it");
  }
  const Located& first = located_[lo - located_first_];
  const Located& last = located_[hi - 1 - located_first_];
  std::string span;
  if (Status s = disk_->ReadAt(Path("wal"), first.offset, last.offset + last.bytes - first.offset, &span); !s.ok()) {
    return s;
  }
  for (uint64_t index = lo; index < hi; ++index) {
    // Records between the wanted ones (hard states, entries a conflict replaced) are
    // skipped by offset.
    std::string_view payload;
    WalRecord r;
    if (!DecodeRecordAt(span, located_[index - located_first_].offset - first.offset, &payload) ||
        !r.ParseFromArray(payload.data(), static_cast<int>(payload.size())) || !r.has_entry() ||
        r.entry().index() != index) {
      return Status::Corruption(Path("wal") + ": entry " + std::to_string(index) + " does not read back");
    }
    out->push_back(std::move(*r.mutable_entry()));
  }
  return Status::Ok();
}

void RaftStorage::Enqueue(Job job, std::function<void(Status)> done) {
  if (jobs_.size() >= kMaxQueuedJobs) {
    done(Status::Unavailable("raft storage queue full"));
    return;
  }
  jobs_.emplace_back(std::move(job), std::move(done));
  if (!running_) RunNext();
}

void RaftStorage::RunNext() {
  if (jobs_.empty()) {
    running_ = false;
    return;
  }
  running_ = true;
  auto [job, done] = std::move(jobs_.front());
  jobs_.pop_front();
  job([this, done = std::move(done)](Status s) {
    done(s);
    RunNext();
  });
}

void RaftStorage::Save(const raft::Ready& ready, const raft::HardState& current, std::function<void(Status)> done) {
  if (!failed_.ok()) return done(failed_);
  std::string records;
  if (ready.hard_state) {
    WalRecord r;
    *r.mutable_hard_state() = *ready.hard_state;
    AppendRecord(SerializeDeterministic(r), &records);
  }
  Locations located;
  located.reserve(ready.entries.size());
  for (const raft::EntryRef& e : ready.entries) AppendEntryRecord(*e, &records, &located);
  std::optional<raft::Snapshot> snapshot = ready.snapshot;
  // Shared, not copied, by the callbacks below: a Ready's records can be megabytes.
  auto shared_records = std::make_shared<const std::string>(std::move(records));
  Enqueue(
      [this, records = std::move(shared_records), located = std::move(located), snapshot,
       current](std::function<void(Status)> finish) {
        auto append = [this, records, located, finish](Status s) {
          if (!s.ok()) return finish(s);
          if (records->empty()) return finish(Status::Ok());
          const bool created = wal_bytes_ == 0;
          if (Status a = disk_->Append(Path("wal"), *records); !a.ok()) return finish(a);
          for (const auto& [index, where] : located) Locate(index, Located{wal_bytes_ + where.offset, where.bytes});
          wal_bytes_ += records->size();
          disk_->Sync(Path("wal"), [this, created, finish](Status st) {
            if (!st.ok() || !created) return finish(st);
            disk_->SyncDir(dir_, finish);  // a new file's name must be durable too
          });
        };
        if (snapshot) {
          // A snapshot from the leader replaces our log: write it, then start a new WAL.
          WriteSnapshotThen(*snapshot, [this, append, current](Status s) {
            if (!s.ok()) return append(s);
            RewriteWalThen(current, {}, append);
          });
        } else {
          append(Status::Ok());
        }
      },
      std::move(done));
}

void RaftStorage::AppendEntryRecord(const raft::Entry& e, std::string* records, Locations* located) {
  // WalRecord{entry: e} as wire bytes around the entry's own encoding, serialized in
  // place: copying a batch's entry into a WalRecord, or its record into the WAL's
  // buffer, cost as much again as writing it.
  const size_t begin = BeginRecord(records);
  (void)AppendMessageField(WalRecord::kEntryFieldNumber, e, records);
  FinishRecord(begin, records);
  located->emplace_back(e.index(), Located{begin, records->size() - begin});
}

void RaftStorage::Compact(const raft::Snapshot& snapshot, const raft::HardState& hard_state,
                          const std::vector<raft::Entry>& entries, std::function<void(Status)> done) {
  Enqueue(
      [this, snapshot, hard_state, entries](std::function<void(Status)> finish) {
        WriteSnapshotThen(snapshot, [this, hard_state, entries, finish](Status s) {
          if (!s.ok()) return finish(s);
          RewriteWalThen(hard_state, entries, finish);
        });
      },
      std::move(done));
}

void RaftStorage::WriteSnapshotThen(const raft::Snapshot& snapshot, std::function<void(Status)> next) {
  std::string framed;
  AppendRecord(SerializeDeterministic(snapshot), &framed);
  if (Status s = disk_->WriteFile(Path("snap.tmp"), framed); !s.ok()) return next(s);
  // tmp, fsync, rename, fsync dir: a crash leaves the old snapshot or the new one.
  disk_->Sync(Path("snap.tmp"), [this, next](Status s) {
    if (!s.ok()) return next(s);
    if (Status r = disk_->Rename(Path("snap.tmp"), Path("snap")); !r.ok()) return next(r);
    disk_->SyncDir(dir_, next);
  });
}

void RaftStorage::RewriteWalThen(const raft::HardState& hs, const std::vector<raft::Entry>& entries,
                                 std::function<void(Status)> next) {
  std::string records;
  WalRecord h;
  *h.mutable_hard_state() = hs;
  AppendRecord(SerializeDeterministic(h), &records);
  Locations located;
  located.reserve(entries.size());
  for (const raft::Entry& e : entries) AppendEntryRecord(e, &records, &located);
  if (Status s = disk_->WriteFile(Path("wal.tmp"), records); !s.ok()) return next(s);
  disk_->Sync(Path("wal.tmp"), [this, next, size = records.size(), located = std::move(located)](Status s) {
    if (!s.ok()) return next(s);
    if (Status r = disk_->Rename(Path("wal.tmp"), Path("wal")); !r.ok()) return next(r);
    wal_bytes_ = size;
    // Reads go to the new file from now on.
    located_.clear();
    for (const auto& [index, where] : located) Locate(index, where);
    disk_->SyncDir(dir_, next);
  });
}

}  // namespace ksim::storeserver
