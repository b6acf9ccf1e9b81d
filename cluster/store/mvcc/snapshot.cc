// Snapshot and Restore of the MVCC store's replicated state.
//
// The snapshot holds the history rows (etcd's backend), the leases, the revision and the
// compacted revision. The key index and the leases' key sets are derived from the rows on
// restore, so they cannot disagree with them. Serialization is canonical (ordered containers,
// no proto maps, deterministic serialization), so equal states give equal bytes — which is
// what the determinism tests compare across replicas.
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <utility>

#include "cluster/store/mvcc/store.h"

namespace ksim::store {

namespace {

constexpr uint32_t kSnapshotFormatVersion = 1;

std::string Str(int64_t n) { return std::to_string(n); }

}  // namespace

std::string Store::Snapshot() const {
  StoreSnapshot snap;
  snap.set_format_version(kSnapshotFormatVersion);
  snap.set_revision(state_.revision);
  snap.set_compacted_revision(state_.compacted_revision);
  snap.mutable_revisions()->Reserve(static_cast<int>(state_.history.size()));
  for (const HistoryEntry& entry : state_.history) {
    StoredRevision* row = snap.add_revisions();
    row->set_main(entry.first.main);
    row->set_sub(entry.first.sub);
    row->set_tombstone(entry.second.tombstone);
    FillKeyValue(entry, false, row->mutable_kv());
  }
  for (const auto& [id, lease] : state_.leases) {
    StoredLease* l = snap.add_leases();
    l->set_id(id);
    l->set_ttl_seconds(lease.ttl_seconds);
  }
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    snap.SerializeToCodedStream(&coded);
  }
  return out;
}

Status Store::Restore(std::string_view data, Store* store) {
  StoreSnapshot snap;
  if (!snap.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
    return Status::Corruption("store snapshot does not parse (" + std::to_string(data.size()) + " bytes)");
  }
  if (snap.format_version() != kSnapshotFormatVersion) {
    return Status::Corruption("store snapshot has format version " + std::to_string(snap.format_version()) +
                              "; this build reads version " + std::to_string(kSnapshotFormatVersion));
  }
  if (snap.revision() < 1 || snap.compacted_revision() < 0 || snap.compacted_revision() > snap.revision()) {
    return Status::Corruption("store snapshot has revision " + Str(snap.revision()) + " and compacted revision " +
                              Str(snap.compacted_revision()));
  }
  State st;
  st.revision = snap.revision();
  st.compacted_revision = snap.compacted_revision();

  // Rows: strictly ascending, within the revision range, and consistent with the row
  // before them for the same key, so a damaged snapshot is refused rather than served.
  Rev last{0, -1};
  for (const StoredRevision& r : snap.revisions()) {
    const Rev rev{r.main(), r.sub()};
    const KeyValue& kv = r.kv();
    const std::string where = "store snapshot row (" + Str(rev.main) + ", " + Str(rev.sub) + ")";
    if (!(last < rev) || rev.main < 2 || rev.main > st.revision || rev.sub < 0) {
      return Status::Corruption(where + " is out of order or outside revisions 2.." + Str(st.revision));
    }
    last = rev;
    if (kv.key().empty() || kv.key().size() > kMaxKeyBytes || kv.mod_revision() != rev.main) {
      return Status::Corruption(where + " has a bad key or mod_revision");
    }
    auto node = st.index.try_emplace(kv.key()).first;
    KeyIndex& ki = node->second;
    ki.key = node->first;
    Row row;
    row.key = ki.key;
    row.tombstone = r.tombstone();
    const Row* prev = nullptr;
    if (!ki.entries.empty() && !ki.entries.back().tombstone) prev = &ki.entries.back().row->second;
    if (row.tombstone) {
      if (!kv.value().empty() || kv.version() != 0 || kv.create_revision() != 0 || kv.lease() != 0) {
        return Status::Corruption(where + " is a tombstone with data");
      }
      if (ki.entries.empty() || ki.entries.back().tombstone) {
        return Status::Corruption(where + " deletes a key that did not exist");
      }
    } else {
      row.value = kv.value();
      row.create_revision = kv.create_revision();
      row.version = kv.version();
      row.lease = kv.lease();
      if (row.value.size() > kMaxValueBytes || row.version < 1 || row.create_revision < 2 ||
          row.create_revision > rev.main || row.lease < 0) {
        return Status::Corruption(where + " has a bad value, version, create_revision or lease");
      }
      // The first retained row of a key may follow compacted history; any later row must
      // continue its generation or start a new one.
      const bool new_generation = !ki.entries.empty() && ki.entries.back().tombstone;
      if (prev != nullptr && (row.version != prev->version + 1 || row.create_revision != prev->create_revision)) {
        return Status::Corruption(where + " does not continue the key's version");
      }
      if (new_generation && (row.version != 1 || row.create_revision != rev.main)) {
        return Status::Corruption(where + " recreates a key without starting at version 1");
      }
    }
    st.history_bytes += row.key.size() + row.value.size() + kRowOverheadBytes;
    const bool tombstone = row.tombstone;
    const auto inserted = st.history.emplace_hint(st.history.end(), rev, std::move(row));
    ki.entries.push_back(IndexEntry{rev, tombstone, &*inserted});
    ki.live = tombstone ? nullptr : &*inserted;
  }

  int64_t last_lease = 0;
  for (const StoredLease& l : snap.leases()) {
    if (l.id() <= last_lease || l.ttl_seconds() <= 0 || l.ttl_seconds() > kMaxLeaseTtlSeconds) {
      return Status::Corruption("store snapshot lease " + Str(l.id()) + " is out of order or has a bad TTL");
    }
    last_lease = l.id();
    st.leases[l.id()].ttl_seconds = l.ttl_seconds();
  }
  if (st.leases.size() > kMaxLeases) return Status::Corruption("store snapshot holds too many leases");
  // Attach live keys to their leases; a live key on a missing lease would outlive it.
  for (auto& [key, ki] : st.index) st.by_key.emplace(HashedKey(key), &ki);
  for (const auto& [key, ki] : st.index) {
    const IndexEntry& latest = ki.entries.back();
    if (latest.tombstone) continue;
    const int64_t lease = latest.row->second.lease;
    if (lease == 0) continue;
    auto it = st.leases.find(lease);
    if (it == st.leases.end()) {
      return Status::Corruption("store snapshot key is attached to lease " + Str(lease) + ", which does not exist");
    }
    it->second.keys.insert(key);
  }

  // Commit. Watchers keep their positions and continue from the restored history.
  const int64_t old_revision = store->state_.revision;
  store->state_ = std::move(st);
  for (auto& [id, w] : store->watchers_) {
    if (w.synced) {
      w.synced = false;
      w.next = Rev{old_revision + 1, 0};
    }
    // A position beyond the restored revision belongs to a history that no longer exists
    // (the store went back); its buffered events must not be delivered.
    if (w.next.main > store->state_.revision + 1) w.pending.clear();
    store->ready_watchers_.insert(id);
  }
  return Status::Ok();
}

}  // namespace ksim::store
