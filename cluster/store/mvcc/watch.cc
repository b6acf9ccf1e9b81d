// Watchers of the MVCC store.
//
// A watcher is a position in the store's history. While it keeps up ("synced"), each
// applied write pushes its matching events into the watcher's bounded buffer. When the
// buffer is full the watcher is not cancelled and nothing is dropped: it becomes
// "unsynced", remembers the first revision it did not buffer, and TakeEvents later reads
// the rest from the retained MVCC history (which every replica keeps anyway until
// compaction) until it has caught up and is synced again. This is etcd's own scheme
// (synced / unsynced watcher groups). Only when compaction removes history a lagging
// watcher still needs does it end, with ERROR_COMPACTED and the compacted revision; the
// client then re-lists and watches again, as after any compacted watch.
//
// Live events and replayed events are built by the same function (MakeEvent) from the same
// history rows, so a watcher sees identical events whichever path delivered them.
#include <algorithm>
#include <utility>

#include "cluster/store/mvcc/store.h"

namespace ksim::store {

namespace {

std::string Str(int64_t n) { return std::to_string(n); }

}  // namespace

Event Store::MakeEvent(const HistoryEntry& entry, bool with_prev_kv) const {
  Event ev;
  ev.set_type(entry.second.tombstone ? Event::DELETE : Event::PUT);
  FillKeyValue(entry, false, ev.mutable_kv());
  if (!with_prev_kv) return ev;
  // The key's previous row. Retained: compaction keeps each key's latest row at or before
  // the compacted revision, and watchers only read rows above it.
  const KeyIndex* ki = FindKey(entry.second.key);
  if (ki == nullptr) return ev;
  const std::vector<IndexEntry>& entries = ki->entries;
  auto at = std::lower_bound(entries.begin(), entries.end(), entry.first,
                             [](const IndexEntry& e, const Rev& rev) { return e.rev < rev; });
  if (at == entries.begin()) return ev;
  const IndexEntry& prev = *std::prev(at);
  if (prev.tombstone) return ev;
  FillKeyValue(*prev.row, false, ev.mutable_prev_kv());
  return ev;
}

WatchCreated Store::Watch(const WatchOptions& options) {
  WatchCreated created;
  created.revision = state_.revision;
  auto fail = [&created](ErrorCode error, std::string message) {
    created.error = error;
    created.status = StatusOf(error, std::move(message));
    return created;
  };
  if (options.key.empty()) return fail(ERROR_INVALID_ARGUMENT, "key is not provided");
  if (options.key.size() > kMaxKeyBytes || options.range_end.size() > kMaxKeyBytes) {
    return fail(ERROR_INVALID_ARGUMENT, "key or range_end is longer than " + std::to_string(kMaxKeyBytes) + " bytes");
  }
  if (options.buffer_events < 1 || options.buffer_events > kMaxWatchBufferEvents) {
    return fail(ERROR_INVALID_ARGUMENT, "buffer_events " + std::to_string(options.buffer_events) + " is outside 1.." +
                                            std::to_string(kMaxWatchBufferEvents));
  }
  if (options.start_revision < 0) {
    return fail(ERROR_INVALID_ARGUMENT, "start_revision " + Str(options.start_revision) + " is negative");
  }
  // Stricter than etcd, which accepts start == compacted revision: compaction drops the
  // tombstones at that revision, so a watcher starting there could silently miss a delete.
  if (options.start_revision != 0 && options.start_revision <= state_.compacted_revision) {
    created.compact_revision = state_.compacted_revision;
    return fail(ERROR_COMPACTED, "mvcc: required revision " + Str(options.start_revision) +
                                     " has been compacted (compacted at " + Str(state_.compacted_revision) +
                                     "; watch from " + Str(state_.compacted_revision + 1) + " or later)");
  }
  if (watchers_.size() >= kMaxWatchers) {
    return fail(ERROR_TOO_MANY_WATCHERS, "too many watchers (the limit is " + std::to_string(kMaxWatchers) + ")");
  }
  const int64_t id = next_watch_id_++;
  Watcher& w = watchers_[id];
  w.options = options;
  if (options.start_revision != 0 && options.start_revision <= state_.revision) {
    // History first: TakeEvents reads it in bounded slices, so a watch from long ago costs
    // nothing until it is drained.
    w.synced = false;
    w.next = Rev{options.start_revision, 0};
    ready_watchers_.insert(id);
  }
  if (options.range_end.empty()) {
    key_watchers_[options.key].insert(id);
  } else {
    range_watchers_.insert(id);
  }
  created.watch_id = id;
  return created;
}

void Store::Notify(const std::vector<const HistoryEntry*>& written) {
  if (watchers_.empty()) return;
  for (const HistoryEntry* row : written) {
    const HistoryEntry& entry = *row;
    auto kw = key_watchers_.find(entry.second.key);
    if (kw != key_watchers_.end()) {
      for (int64_t id : kw->second) OfferEvent(id, &watchers_.at(id), entry);
    }
    for (int64_t id : range_watchers_) {
      Watcher& w = watchers_.at(id);
      if (InKeyRange(entry.second.key, w.options.key, w.options.range_end)) OfferEvent(id, &w, entry);
    }
  }
}

void Store::OfferEvent(int64_t watch_id, Watcher* w, const HistoryEntry& entry) {
  if (!w->synced) return;  // it will read this event from history
  if (entry.first.main < w->options.start_revision) return;  // a watch from a future revision
  ready_watchers_.insert(watch_id);
  if (w->pending.size() >= w->options.buffer_events) {
    // Overflow: stop buffering; this event and everything after it come from history.
    w->synced = false;
    w->next = entry.first;
    return;
  }
  w->pending.push_back(MakeEvent(entry, w->options.prev_kv));
}

WatchBatch Store::TakeEvents(int64_t watch_id, size_t max_events) {
  WatchBatch batch;
  batch.revision = state_.revision;
  auto found = watchers_.find(watch_id);
  if (found == watchers_.end()) {
    batch.error = ERROR_WATCH_NOT_FOUND;
    batch.status = StatusOf(batch.error, "watch " + Str(watch_id) + " not found (never created, or cancelled)");
    return batch;
  }
  Watcher& w = found->second;
  max_events = std::clamp<size_t>(max_events, 1, kMaxEventsPerTake);

  while (!w.pending.empty() && batch.events.size() < max_events) {
    batch.events.push_back(std::move(w.pending.front()));
    w.pending.pop_front();
  }
  if (!w.synced && w.pending.empty() && batch.events.size() < max_events) {
    ErrorCode end = ERROR_NONE;
    std::string why;
    if (w.next.main <= state_.compacted_revision) {
      end = ERROR_COMPACTED;
      why = "mvcc: required revision " + Str(w.next.main) + " has been compacted (compacted at " +
            Str(state_.compacted_revision) + "); the watcher fell behind and was cancelled";
    } else if (w.next.main > state_.revision + 1) {
      end = ERROR_WATCH_CANCELED;
      why = "the store was restored to revision " + Str(state_.revision) + ", before the watcher's position " +
            Str(w.next.main);
    }
    if (end != ERROR_NONE) {
      if (!batch.events.empty()) {
        batch.more = true;  // deliver what was buffered; the next call reports the end
        return batch;
      }
      batch.error = end;
      batch.status = StatusOf(end, std::move(why));
      batch.canceled = true;
      if (end == ERROR_COMPACTED) batch.compact_revision = state_.compacted_revision;
      RemoveWatcher(watch_id);
      return batch;
    }
    size_t rows = 0;
    auto it = state_.history.lower_bound(w.next);
    for (; it != state_.history.end() && batch.events.size() < max_events && rows < kMaxHistoryRowsPerTake;
         ++it, ++rows) {
      const Row& row = it->second;
      if (it->first.main < w.options.start_revision) continue;
      if (!InKeyRange(row.key, w.options.key, w.options.range_end)) continue;
      batch.events.push_back(MakeEvent(*it, w.options.prev_kv));
    }
    if (it == state_.history.end()) {
      w.synced = true;  // caught up: from now on writes push to it again
    } else {
      w.next = it->first;
    }
  }
  batch.more = !w.pending.empty() || !w.synced;
  if (!batch.more) ready_watchers_.erase(watch_id);
  return batch;
}

Status Store::CancelWatch(int64_t watch_id) {
  if (!watchers_.contains(watch_id)) return Status::NotFound("watch " + Str(watch_id) + " not found");
  RemoveWatcher(watch_id);
  return Status::Ok();
}

void Store::RemoveWatcher(int64_t watch_id) {
  auto it = watchers_.find(watch_id);
  if (it == watchers_.end()) return;
  const WatchOptions& o = it->second.options;
  if (o.range_end.empty()) {
    auto kw = key_watchers_.find(o.key);
    if (kw != key_watchers_.end()) {
      kw->second.erase(watch_id);
      if (kw->second.empty()) key_watchers_.erase(kw);
    }
  } else {
    range_watchers_.erase(watch_id);
  }
  ready_watchers_.erase(watch_id);
  watchers_.erase(it);
}

std::vector<int64_t> Store::ReadyWatchers() const {
  return std::vector<int64_t>(ready_watchers_.begin(), ready_watchers_.end());
}

}  // namespace ksim::store
