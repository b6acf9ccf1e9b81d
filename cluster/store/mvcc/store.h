// ksim::store::Store — the store's state machine: a revisioned (MVCC) key/value store with
// etcd v3's semantics (revisions, versions, Range/Put/DeleteRange/Txn, Compact, Watch,
// Leases, Snapshot/Restore).
//
// It is a pure data structure: no I/O, no clock, no randomness, no threads. Raft applies
// committed Commands to it in log order on every replica through Apply(); equal command
// sequences give byte-identical Snapshot()s and identical results everywhere. Reads (Range,
// lease queries) and watchers are local to one replica and change nothing replicated.
//
// Not thread-safe: it lives on one event loop, like everything in cluster/.
//
// docs/STORE.md describes the semantics, the limits, the watch overflow policy and the
// lease-expiry boundary.
#pragma once

#include <absl/container/flat_hash_map.h>  // tidy: lookup-only (State::by_key)
#include <google/protobuf/arena.h>

#include <compare>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster/env/status.h"
#include "cluster/store/mvcc/kv.pb.h"

namespace ksim::store {

// --- Limits (all checked: ERROR_INVALID_ARGUMENT unless noted; docs/STORE.md lists them) -

// Keys are names (Kubernetes' are short paths); 4 KiB bounds memory per index entry.
inline constexpr size_t kMaxKeyBytes = 4 * 1024;
// etcd's objects are small; Kubernetes caps objects near 1.5 MiB through etcd's request limit.
inline constexpr size_t kMaxValueBytes = 1024 * 1024;
// A whole serialized Command, like etcd's default --max-request-bytes (1.5 MiB).
inline constexpr size_t kMaxCommandBytes = 1536 * 1024;
// Compares, success ops and failure ops each (etcd's default --max-txn-ops).
inline constexpr int kMaxTxnOps = 128;
// etcd's MaxLeaseTTL.
inline constexpr int64_t kMaxLeaseTtlSeconds = 9'000'000'000;
inline constexpr size_t kMaxLeases = 1 << 20;
// Watchers are per replica (a server's connections), not replicated.
inline constexpr size_t kMaxWatchers = 1 << 16;
inline constexpr size_t kDefaultWatchBufferEvents = 1024;
inline constexpr size_t kMaxWatchBufferEvents = 1 << 16;
// One TakeEvents call returns at most this many events and reads at most this many history
// rows, so a call's cost is bounded even for a watcher catching up on a long history.
inline constexpr size_t kMaxEventsPerTake = 4096;
inline constexpr size_t kMaxHistoryRowsPerTake = 1 << 16;
// Bytes charged per retained history row on top of its key and value, for the quota.
inline constexpr uint64_t kRowOverheadBytes = 64;
// etcd's default backend quota (--quota-backend-bytes).
inline constexpr uint64_t kDefaultQuotaBytes = uint64_t{2} * 1024 * 1024 * 1024;

// Options must be equal on every replica: they decide which commands fail.
struct StoreOptions {
  // Puts (and txns containing puts) fail with ERROR_NO_SPACE when the retained history
  // would exceed this many bytes (keys + values + kRowOverheadBytes per row). Deletes,
  // compactions and lease revocations still work, so space can be reclaimed.
  uint64_t quota_bytes = kDefaultQuotaBytes;
};

// The ksim::Status code an ErrorCode maps to (COMPACTED and the *_NOT_FOUND kinds are
// NotFound, FUTURE_REVISION is InvalidArgument, NO_SPACE and TOO_MANY_WATCHERS are
// Unavailable, LEASE_EXISTS is AlreadyExists, WATCH_CANCELED is Closed).
Status::Code StatusCodeOf(ErrorCode error);
// A Status of the error's code with `message`; OK for ERROR_NONE.
Status StatusOf(ErrorCode error, std::string message);
// Rebuilds the Status of a CommandResponse received over the wire.
Status StatusOf(const CommandResponse& response);

// Key ranges, as etcd defines them: an empty range_end names the single key `key`;
// range_end "\0" names every key >= key; otherwise the half-open interval [key, range_end)
// (empty if range_end <= key).
inline constexpr std::string_view kRangeEndAll{"\0", 1};
inline bool BelowRangeEnd(std::string_view k, std::string_view range_end) {
  return range_end == kRangeEndAll || k < range_end;
}
inline bool InKeyRange(std::string_view k, std::string_view key, std::string_view range_end) {
  if (range_end.empty()) return k == key;
  return k >= key && BelowRangeEnd(k, range_end);
}

// The outcome of a request (Store::ApplyInto returns only this). On failure nothing
// changed.
struct CommandOutcome {
  Status status;
  ErrorCode error = ERROR_NONE;  // the store-specific kind of a failure
  int64_t compact_revision = 0;  // with ERROR_COMPACTED: the store's compacted revision
  bool ok() const { return status.ok(); }
};

// An outcome with its response; response.header.revision is set either way.
template <typename Response>
struct Result : CommandOutcome {
  Response response;
};

// For a CommandResult, response.error/error_message/compact_revision repeat the fields above
// so the response can be sent over the wire on its own.
using CommandResult = Result<CommandResponse>;
using RangeResult = Result<RangeResponse>;
using LeaseTimeToLiveResult = Result<LeaseTimeToLiveResponse>;

struct WatchOptions {
  std::string key;        // must not be empty
  std::string range_end;  // as in RangeRequest
  // 0: events after the current revision. <= current: first the retained history from
  // this revision; must be > compacted_revision(). > current: events from that revision.
  int64_t start_revision = 0;
  bool prev_kv = false;
  // Events held for the watcher between TakeEvents calls, 1..kMaxWatchBufferEvents. A
  // watcher that falls further behind is not cancelled: it reads from history (see
  // TakeEvents).
  size_t buffer_events = kDefaultWatchBufferEvents;
};

struct WatchCreated {
  Status status;
  ErrorCode error = ERROR_NONE;
  int64_t compact_revision = 0;  // with ERROR_COMPACTED
  int64_t watch_id = 0;
  int64_t revision = 0;  // the store revision at creation
};

struct WatchBatch {
  Status status;  // OK, or why the watcher ended (then canceled is true) / was not found
  ErrorCode error = ERROR_NONE;
  int64_t compact_revision = 0;  // with ERROR_COMPACTED
  // The watcher is gone: this batch carries no events and later calls return
  // ERROR_WATCH_NOT_FOUND. After ERROR_COMPACTED a client re-lists and watches again.
  bool canceled = false;
  // Ascending by (mod_revision, position in its revision), continuing exactly after the
  // last event of the previous batch: never a gap, never a duplicate.
  std::vector<Event> events;
  // Call again now: more events (or history still to read) are ready. False: nothing
  // until the next write.
  bool more = false;
  int64_t revision = 0;  // the store revision
};

class Store {
 public:
  explicit Store(StoreOptions options = {});

  // --- Replicated writes -------------------------------------------------------------
  // The single entry point Raft calls for each committed Command, in log order. A failed
  // command changes nothing. Deterministic: the result and the new state depend only on
  // the state and the command.
  CommandResult Apply(const Command& command);
  // As above, but a put's value is moved out of `command` into the store, not copied.
  CommandResult Apply(Command&& command);
  // As above, writing the response into `*reply`, which may live on the caller's arena
  // (the replicas apply a whole batch on one: a txn's response is seven messages).
  // REQUIRES: *reply is empty.
  CommandOutcome ApplyInto(Command&& command, CommandResponse* reply);
  // As ApplyInto, for a command still encoded (as replicas receive them), decoded on
  // `arena`. Bytes that are not a Command fail with ERROR_INVALID_ARGUMENT, changing nothing.
  CommandOutcome ApplyEncoded(const std::string& encoded, google::protobuf::Arena* arena, CommandResponse* reply);

  // Conveniences that wrap the request in a Command and Apply it.
  CommandResult Put(PutRequest request);
  CommandResult DeleteRange(DeleteRangeRequest request);
  CommandResult Txn(TxnRequest request);
  CommandResult Compact(int64_t revision);
  CommandResult LeaseGrant(int64_t id, int64_t ttl_seconds);
  CommandResult LeaseRevoke(int64_t id);

  // --- Reads (local to this replica) -------------------------------------------------
  RangeResult Range(const RangeRequest& request) const;
  LeaseTimeToLiveResult LeaseTimeToLive(const LeaseTimeToLiveRequest& request) const;
  LeaseLeasesResponse Leases() const;

  // Starts at 1 for the empty store; +1 per command that changed a key.
  int64_t revision() const { return state_.revision; }
  // 0 until the first Compact.
  int64_t compacted_revision() const { return state_.compacted_revision; }
  // Bytes charged against the quota by the retained history.
  uint64_t history_bytes() const { return state_.history_bytes; }
  size_t history_rows() const { return state_.history.size(); }

  // --- Watches (local to this replica; not replicated, not in snapshots) -------------
  WatchCreated Watch(const WatchOptions& options);
  // Up to max_events (clamped to 1..kMaxEventsPerTake) of the watcher's next events.
  WatchBatch TakeEvents(int64_t watch_id, size_t max_events = kMaxEventsPerTake);
  Status CancelWatch(int64_t watch_id);
  // Watchers for which TakeEvents would return events or read history now, ascending.
  // A server drains these after each Apply.
  std::vector<int64_t> ReadyWatchers() const;
  size_t watcher_count() const { return watchers_.size(); }

  // --- Snapshots ------------------------------------------------------------------------
  // The whole replicated state (retained history, leases, revision, compacted revision) as
  // a canonical StoreSnapshot: equal states give equal bytes.
  std::string Snapshot() const;
  // Replaces `store`'s replicated state with the snapshot's, or returns Corruption and
  // leaves `store` unchanged. Existing watchers survive: they continue from the history
  // the snapshot retains, or end with ERROR_COMPACTED if it no longer covers them.
  static Status Restore(std::string_view snapshot, Store* store);

 private:
  // (main, sub): the revision of a command and an event's position within it.
  struct Rev {
    int64_t main = 0;
    int64_t sub = 0;
    auto operator<=>(const Rev&) const = default;
  };
  // One row of the history: a key as of one event (a put, or a delete's tombstone).
  struct Row {
    // The key's index entry holds the key: a row never outlives it (compaction erases an
    // entry only with the key's last row), and one copy per member is enough.
    std::string_view key;
    std::string value;
    int64_t create_revision = 0;
    int64_t version = 0;
    int64_t lease = 0;
    bool tombstone = false;
  };
  using HistoryEntry = std::pair<const Rev, Row>;
  struct IndexEntry {
    Rev rev;
    bool tombstone = false;
    // The row in State::history: map nodes never move, so reads skip a history lookup.
    const HistoryEntry* row = nullptr;
  };
  // A key's retained revisions, ascending. Several generations (create .. delete) may be
  // present; the last entry is the key's latest state.
  struct KeyIndex {
    std::string_view key;  // the index's own copy of the key (map nodes never move)
    std::vector<IndexEntry> entries;
    // entries.back().row unless that is a tombstone: the common read without touching the
    // vector. Compaction never removes a key's latest live row, so this stays valid.
    const HistoryEntry* live = nullptr;
  };
  struct LeaseState {
    int64_t ttl_seconds = 0;
    std::set<std::string, std::less<>> keys;  // attached live keys
  };
  struct Watcher {
    WatchOptions options;
    bool synced = true;  // new events are pushed into `pending` as they are applied
    Rev next;            // when !synced: the first revision not yet in `pending`
    std::deque<Event> pending;
  };
  // A key of State::by_key with its hash: growing the table rehashes every key, and
  // hashing a key again means reading its bytes from a cold index node. Lookups take a
  // plain string_view (the functors are transparent).
  struct HashedKey {
    std::string_view key;
    size_t hash;
    explicit HashedKey(std::string_view k) : key(k), hash(std::hash<std::string_view>()(k)) {}
    struct Hash {
      using is_transparent = void;
      size_t operator()(const HashedKey& k) const { return k.hash; }
      size_t operator()(std::string_view k) const { return std::hash<std::string_view>()(k); }
    };
    struct Eq {
      using is_transparent = void;
      static std::string_view View(const HashedKey& k) { return k.key; }
      static std::string_view View(std::string_view k) { return k; }
      template <typename A, typename B>
      bool operator()(const A& a, const B& b) const { return View(a) == View(b); }
    };
  };
  // A request's failure before anything changed.
  struct Failure {
    ErrorCode error = ERROR_NONE;
    std::string message;
    bool ok() const { return error == ERROR_NONE; }
  };
  using Ops = google::protobuf::RepeatedPtrField<RequestOp>;
  class Writer;
  friend class Writer;

  // The replicated state; Restore swaps it as a whole.
  //
  // Layout and costs (K keys with retained history, N history rows, h rows of one key,
  // m keys in a requested interval), after etcd's treeIndex + revision-keyed backend:
  //   history: rows by (main, sub) revision — watch replay reads it in order.
  //   index:   key -> its revisions — ordered, so an interval is a contiguous walk.
  //   Put / delete of one key            O(log K + log N)
  //   Range of one key                   O(log K + log h + log N)
  //   Range of an interval               O(log K + m (log h + log N)); `count` is exact, so
  //                                      the whole interval is walked even with a limit
  //   Compact                            O(K + removed rows * log N)
  //   Snapshot / Restore                 O(N) / O(N log N)
  // Move-only: the index points into history's nodes, which a copy would not carry.
  struct State {
    State() = default;
    State(State&&) = default;
    State& operator=(State&&) = default;
    State(const State&) = delete;
    State& operator=(const State&) = delete;

    int64_t revision = 1;  // etcd: the empty store is at revision 1
    int64_t compacted_revision = 0;
    std::map<Rev, Row> history;
    std::map<std::string, KeyIndex, std::less<>> index;
    // Point lookups, beside the ordered index that ranges walk: a put finds its key in
    // O(1) instead of a string-compare descent. Views the index's node keys (stable). Open
    // addressing: a lookup in a large table is one cache miss where std::unordered_map's
    // chained nodes cost three or four.
    absl::flat_hash_map<HashedKey, KeyIndex*, HashedKey::Hash, HashedKey::Eq> by_key;  // tidy: lookup-only
    // The key FindKey resolved last and its entry (nullptr: absent). A command looks its
    // key up several times (compare, quota, put), and in a large table every lookup is a
    // cache miss. Every insert into and erase from by_key keeps it in step.
    mutable std::string memo_key;
    mutable KeyIndex* memo_entry = nullptr;
    mutable bool memo_valid = false;
    std::map<int64_t, LeaseState> leases;
    uint64_t history_bytes = 0;
  };

  CommandOutcome ApplyPut(PutRequest& request, CommandResponse* reply);
  CommandOutcome ApplyDeleteRange(const DeleteRangeRequest& request, CommandResponse* reply);
  CommandOutcome ApplyTxn(TxnRequest& request, CommandResponse* reply);
  CommandOutcome ApplyCompaction(const CompactionRequest& request, CommandResponse* reply);
  CommandOutcome ApplyLeaseGrant(const LeaseGrantRequest& request, CommandResponse* reply);
  CommandOutcome ApplyLeaseRevoke(const LeaseRevokeRequest& request, CommandResponse* reply);
  CommandOutcome Failed(const Failure& failure, CommandResponse* reply) const;

  // Checks that need only the request, then checks against the current state. Together
  // they guarantee that executing the request cannot fail halfway.
  Failure CheckPutShape(const PutRequest& request) const;
  Failure CheckPutState(const PutRequest& request) const;
  Failure CheckRangeShape(const RangeRequest& request) const;
  Failure CheckDeleteShape(const DeleteRangeRequest& request) const;
  Failure CheckCompareShape(const Compare& compare) const;
  Failure CheckReadRevision(int64_t revision) const;
  Failure CheckOpsShape(const Ops& ops) const;
  Failure CheckOpsState(const Ops& ops) const;
  Failure CheckQuota(uint64_t added_bytes) const;
  uint64_t PutCost(const PutRequest& request) const;
  bool CompareHolds(const Compare& compare) const;

  // Execution (validated requests only).
  // Takes the value out of `request`.
  void DoPut(PutRequest& request, Writer* writer, PutResponse* response);
  void DoDeleteRange(const DeleteRangeRequest& request, Writer* writer, DeleteRangeResponse* response);

  // Reads as of read_revision (kLatest: the latest state, including a txn's own writes).
  void ReadRange(const RangeRequest& request, int64_t read_revision, RangeResponse* out) const;
  const HistoryEntry* Visible(const KeyIndex& key_index, int64_t read_revision) const;
  const HistoryEntry* Latest(std::string_view key) const;
  const KeyIndex* FindKey(std::string_view key) const { return Lookup(key); }
  KeyIndex* FindKey(std::string_view key) { return Lookup(key); }
  KeyIndex* Lookup(std::string_view key) const;  // through State::memo_key
  std::vector<std::string> LiveKeys(std::string_view key, std::string_view range_end) const;
  static void FillKeyValue(const HistoryEntry& entry, bool keys_only, KeyValue* out);
  // The event of a history row, with the key's previous state if asked for.
  Event MakeEvent(const HistoryEntry& entry, bool with_prev_kv) const;

  // Watch plumbing.
  void Notify(const std::vector<const HistoryEntry*>& written);
  void OfferEvent(int64_t watch_id, Watcher* watcher, const HistoryEntry& entry);
  void RemoveWatcher(int64_t watch_id);

  static constexpr int64_t kLatest = std::numeric_limits<int64_t>::max();

  StoreOptions options_;
  State state_;

  // Watchers: by id; single-key watchers also by key, so an event finds its watchers
  // without visiting every watcher. O(log W + range watchers) per event.
  int64_t next_watch_id_ = 1;
  std::map<int64_t, Watcher> watchers_;
  std::map<std::string, std::set<int64_t>, std::less<>> key_watchers_;
  std::set<int64_t> range_watchers_;
  std::set<int64_t> ready_watchers_;
};

}  // namespace ksim::store
