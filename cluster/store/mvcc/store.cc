// Writes, reads and leases of the MVCC store. Watches are in watch.cc, snapshots in
// snapshot.cc. Every write validates completely before it changes anything, so a failed
// command leaves the state untouched on every replica.
#include "cluster/store/mvcc/store.h"

#include <absl/container/inlined_vector.h>

#include <algorithm>
#include <cassert>
#include <utility>

namespace ksim::store {

Status::Code StatusCodeOf(ErrorCode error) {
  switch (error) {
    case ERROR_NONE: return Status::Code::kOk;
    case ERROR_INVALID_ARGUMENT: return Status::Code::kInvalidArgument;
    case ERROR_COMPACTED: return Status::Code::kNotFound;  // the history asked for is gone
    case ERROR_FUTURE_REVISION: return Status::Code::kInvalidArgument;
    case ERROR_KEY_NOT_FOUND: return Status::Code::kNotFound;
    case ERROR_LEASE_NOT_FOUND: return Status::Code::kNotFound;
    case ERROR_LEASE_EXISTS: return Status::Code::kAlreadyExists;
    case ERROR_NO_SPACE: return Status::Code::kUnavailable;  // compaction may free space
    case ERROR_WATCH_NOT_FOUND: return Status::Code::kNotFound;
    case ERROR_WATCH_CANCELED: return Status::Code::kClosed;
    case ERROR_TOO_MANY_WATCHERS: return Status::Code::kUnavailable;
    default: break;  // proto3 enums are open: a newer peer may send a code we do not know
  }
  return Status::Code::kInvalidArgument;
}

Status StatusOf(ErrorCode error, std::string message) {
  switch (StatusCodeOf(error)) {
    case Status::Code::kOk: return Status::Ok();
    case Status::Code::kNotFound: return Status::NotFound(std::move(message));
    case Status::Code::kAlreadyExists: return Status::AlreadyExists(std::move(message));
    case Status::Code::kUnavailable: return Status::Unavailable(std::move(message));
    case Status::Code::kClosed: return Status::Closed(std::move(message));
    default: break;
  }
  return Status::InvalidArgument(std::move(message));
}

Status StatusOf(const CommandResponse& response) { return StatusOf(response.error(), response.error_message()); }

namespace {

// Revisions in messages read "compacted at 7", so people can tell them from counts.
std::string Str(int64_t n) { return std::to_string(n); }

}  // namespace

// --- Writer: the events of one revision -----------------------------------------------

// Collects the writes of one command. Every write of a command shares its main revision
// and gets the next sub-revision; Finish() moves the store's revision once, and only if
// something was written (etcd: a txn that changes nothing does not bump the revision).
class Store::Writer {
 public:
  explicit Writer(Store* store) : store_(store), revision_(store->state_.revision + 1) {}

  // `prev` is the key's latest row (nullptr if the key is not live); `index_entry` is the
  // key's index entry if it has one. Callers have both from their own lookup.
  void Put(std::string_view key, std::string value, int64_t lease, const HistoryEntry* prev, KeyIndex* index_entry) {
    State& st = store_->state_;
    if (index_entry == nullptr) {
      auto& node = *st.index.emplace(std::string(key), KeyIndex{}).first;
      index_entry = &node.second;
      index_entry->key = node.first;
      st.by_key.emplace(HashedKey(node.first), index_entry);
      st.memo_key.assign(key);
      st.memo_entry = index_entry;
      st.memo_valid = true;
    }
    const Rev rev{revision_, static_cast<int64_t>(written_.size())};
    Row row;
    row.key = index_entry->key;
    row.value = std::move(value);
    row.lease = lease;
    if (prev != nullptr) {
      row.create_revision = prev->second.create_revision;
      row.version = prev->second.version + 1;
      if (prev->second.lease != lease) Detach(prev->second.lease, key);
    } else {
      row.create_revision = revision_;
      row.version = 1;
    }
    if (lease != 0) st.leases.at(lease).keys.emplace(key);  // CheckPutState proved it exists
    Append(index_entry, rev, std::move(row));
  }

  // REQUIRES: `key` is live.
  void Delete(std::string_view key) {
    KeyIndex& ki = *store_->FindKey(key);
    const Rev rev{revision_, static_cast<int64_t>(written_.size())};
    Detach(ki.live->second.lease, key);
    Row row;
    row.key = ki.key;
    row.tombstone = true;
    Append(&ki, rev, std::move(row));
  }

  void Finish() {
    if (written_.empty()) return;
    store_->state_.revision = revision_;
    store_->Notify(written_);
  }

 private:
  void Detach(int64_t lease, std::string_view key) {
    if (lease == 0) return;
    auto it = store_->state_.leases.find(lease);
    if (it != store_->state_.leases.end()) it->second.keys.erase(std::string(key));
  }

  void Append(KeyIndex* ki, const Rev& rev, Row row) {
    State& st = store_->state_;
    st.history_bytes += row.key.size() + row.value.size() + kRowOverheadBytes;
    const bool tombstone = row.tombstone;
    const auto inserted = st.history.emplace_hint(st.history.end(), rev, std::move(row));
    ki->entries.push_back(IndexEntry{rev, tombstone, &*inserted});
    ki->live = tombstone ? nullptr : &*inserted;
    written_.push_back(&*inserted);
  }

  Store* store_;
  int64_t revision_;
  std::vector<const HistoryEntry*> written_;  // this command's rows, in sub-revision order
};

// --- Construction and the Apply entry point -------------------------------------------

Store::Store(StoreOptions options) : options_(options) {}

CommandOutcome Store::Failed(const Failure& failure, CommandResponse* reply) const {
  CommandOutcome r;
  r.status = StatusOf(failure.error, failure.message);
  r.error = failure.error;
  reply->mutable_header()->set_revision(state_.revision);
  reply->set_error(failure.error);
  reply->set_error_message(failure.message);
  if (failure.error == ERROR_COMPACTED) {
    r.compact_revision = state_.compacted_revision;
    reply->set_compact_revision(state_.compacted_revision);
  }
  return r;
}

CommandResult Store::Apply(const Command& command) {
  Command copy = command;
  return Apply(std::move(copy));
}

CommandResult Store::Apply(Command&& command) {
  CommandResult result;
  static_cast<CommandOutcome&>(result) = ApplyInto(std::move(command), &result.response);
  return result;
}

CommandOutcome Store::ApplyInto(Command&& command, CommandResponse* reply) {
  assert(reply->ByteSizeLong() == 0);
  const size_t size_bytes = command.ByteSizeLong();
  if (size_bytes > kMaxCommandBytes) {
    return Failed({ERROR_INVALID_ARGUMENT, "command is " + std::to_string(size_bytes) + " bytes; the limit is " +
                                               std::to_string(kMaxCommandBytes)},
                  reply);
  }
  switch (command.request_case()) {
    case Command::kPut: return ApplyPut(*command.mutable_put(), reply);
    case Command::kDeleteRange: return ApplyDeleteRange(command.delete_range(), reply);
    case Command::kTxn: return ApplyTxn(*command.mutable_txn(), reply);
    case Command::kCompaction: return ApplyCompaction(command.compaction(), reply);
    case Command::kLeaseGrant: return ApplyLeaseGrant(command.lease_grant(), reply);
    case Command::kLeaseRevoke: return ApplyLeaseRevoke(command.lease_revoke(), reply);
    case Command::REQUEST_NOT_SET: break;
  }
  return Failed({ERROR_INVALID_ARGUMENT, "command carries no request"}, reply);
}

CommandOutcome Store::ApplyEncoded(const std::string& encoded, google::protobuf::Arena* arena,
                                   CommandResponse* reply) {
  Command& command = *google::protobuf::Arena::CreateMessage<Command>(arena);
  if (!command.ParseFromString(encoded)) {
    return Failed({ERROR_INVALID_ARGUMENT, "the command is not a valid ksim.store.Command"}, reply);
  }
  return ApplyInto(std::move(command), reply);
}

CommandResult Store::Put(PutRequest request) {
  Command c;
  c.mutable_put()->Swap(&request);
  return Apply(std::move(c));
}

CommandResult Store::DeleteRange(DeleteRangeRequest request) {
  Command c;
  c.mutable_delete_range()->Swap(&request);
  return Apply(std::move(c));
}

CommandResult Store::Txn(TxnRequest request) {
  Command c;
  c.mutable_txn()->Swap(&request);
  return Apply(std::move(c));
}

CommandResult Store::Compact(int64_t revision) {
  Command c;
  c.mutable_compaction()->set_revision(revision);
  return Apply(std::move(c));
}

CommandResult Store::LeaseGrant(int64_t id, int64_t ttl_seconds) {
  Command c;
  c.mutable_lease_grant()->set_id(id);
  c.mutable_lease_grant()->set_ttl_seconds(ttl_seconds);
  return Apply(std::move(c));
}

CommandResult Store::LeaseRevoke(int64_t id) {
  Command c;
  c.mutable_lease_revoke()->set_id(id);
  return Apply(std::move(c));
}

// --- Validation ------------------------------------------------------------------------

namespace {

// etcd's messages where it has one ("etcdserver: key is not provided").
std::string CheckKeyBytes(std::string_view key, std::string_view what) {
  if (key.empty()) return std::string(what) + " is not provided";
  if (key.size() > kMaxKeyBytes) {
    return std::string(what) + " is " + std::to_string(key.size()) + " bytes; the limit is " +
           std::to_string(kMaxKeyBytes);
  }
  return {};
}

std::string CheckRangeEndBytes(std::string_view range_end) {
  if (range_end.size() > kMaxKeyBytes) {
    return "range_end is " + std::to_string(range_end.size()) + " bytes; the limit is " + std::to_string(kMaxKeyBytes);
  }
  return {};
}

std::string CheckValueBytes(std::string_view value) {
  if (value.size() > kMaxValueBytes) {
    return "value is " + std::to_string(value.size()) + " bytes; the limit is " + std::to_string(kMaxValueBytes);
  }
  return {};
}

}  // namespace

Store::Failure Store::CheckPutShape(const PutRequest& r) const {
  std::string why = CheckKeyBytes(r.key(), "key");
  if (why.empty()) why = CheckValueBytes(r.value());
  if (why.empty() && r.ignore_value() && !r.value().empty()) why = "value is provided with ignore_value";
  if (why.empty() && r.ignore_lease() && r.lease() != 0) why = "lease is provided with ignore_lease";
  if (why.empty() && r.lease() < 0) why = "lease id " + Str(r.lease()) + " is negative";
  if (!why.empty()) return {ERROR_INVALID_ARGUMENT, why};
  return {};
}

Store::Failure Store::CheckPutState(const PutRequest& r) const {
  if (r.lease() != 0 && !state_.leases.contains(r.lease())) {
    return {ERROR_LEASE_NOT_FOUND, "lease " + Str(r.lease()) + " not found"};
  }
  if ((r.ignore_value() || r.ignore_lease()) && Latest(r.key()) == nullptr) {
    return {ERROR_KEY_NOT_FOUND, "key not found (ignore_value or ignore_lease needs an existing key)"};
  }
  return {};
}

uint64_t Store::PutCost(const PutRequest& r) const {
  uint64_t value_bytes = r.value().size();
  if (r.ignore_value()) {
    const HistoryEntry* prev = Latest(r.key());
    if (prev != nullptr) value_bytes = prev->second.value.size();
  }
  return r.key().size() + value_bytes + kRowOverheadBytes;
}

Store::Failure Store::CheckQuota(uint64_t added_bytes) const {
  if (added_bytes > 0 && state_.history_bytes + added_bytes > options_.quota_bytes) {
    return {ERROR_NO_SPACE, "database space exceeded: history holds " + std::to_string(state_.history_bytes) +
                                " bytes, the request adds " + std::to_string(added_bytes) + ", the quota is " +
                                std::to_string(options_.quota_bytes) + " (compact to free space)"};
  }
  return {};
}

Store::Failure Store::CheckRangeShape(const RangeRequest& r) const {
  std::string why = CheckKeyBytes(r.key(), "key");
  if (why.empty()) why = CheckRangeEndBytes(r.range_end());
  if (why.empty() && r.limit() < 0) why = "limit " + Str(r.limit()) + " is negative";
  if (why.empty() && r.revision() < 0) why = "revision " + Str(r.revision()) + " is negative";
  if (!why.empty()) return {ERROR_INVALID_ARGUMENT, why};
  return {};
}

Store::Failure Store::CheckDeleteShape(const DeleteRangeRequest& r) const {
  std::string why = CheckKeyBytes(r.key(), "key");
  if (why.empty()) why = CheckRangeEndBytes(r.range_end());
  if (!why.empty()) return {ERROR_INVALID_ARGUMENT, why};
  return {};
}

Store::Failure Store::CheckReadRevision(int64_t revision) const {
  // etcd allows reading at exactly the compacted revision: compaction keeps, for every
  // key, its latest state at or before that revision.
  if (revision > state_.revision) {
    return {ERROR_FUTURE_REVISION, "mvcc: required revision " + Str(revision) + " is a future revision (current " +
                                       Str(state_.revision) + ")"};
  }
  if (revision > 0 && revision < state_.compacted_revision) {
    return {ERROR_COMPACTED, "mvcc: required revision " + Str(revision) + " has been compacted (compacted at " +
                                 Str(state_.compacted_revision) + ")"};
  }
  return {};
}

Store::Failure Store::CheckCompareShape(const Compare& c) const {
  std::string why = CheckKeyBytes(c.key(), "compare key");
  if (why.empty()) why = CheckRangeEndBytes(c.range_end());
  if (why.empty() && !Compare::CompareResult_IsValid(c.result())) why = "unknown compare result " + Str(c.result());
  if (why.empty() && !Compare::CompareTarget_IsValid(c.target())) why = "unknown compare target " + Str(c.target());
  if (!why.empty()) return {ERROR_INVALID_ARGUMENT, why};
  // An unset target_union compares with zero / the empty value, as in etcd; a value of the
  // wrong kind is a client bug worth reporting.
  Compare::TargetUnionCase expected = Compare::TARGET_UNION_NOT_SET;
  switch (c.target()) {
    case Compare::VERSION: expected = Compare::kVersion; break;
    case Compare::CREATE: expected = Compare::kCreateRevision; break;
    case Compare::MOD: expected = Compare::kModRevision; break;
    case Compare::VALUE: expected = Compare::kValue; break;
    case Compare::LEASE: expected = Compare::kLease; break;
    default: break;
  }
  if (c.target_union_case() != Compare::TARGET_UNION_NOT_SET && c.target_union_case() != expected) {
    return {ERROR_INVALID_ARGUMENT, "compare target " + Compare::CompareTarget_Name(c.target()) +
                                        " does not match the value given"};
  }
  if (c.target_union_case() == Compare::kValue) {
    why = CheckValueBytes(c.value());
    if (!why.empty()) return {ERROR_INVALID_ARGUMENT, "compare " + why};
  }
  return {};
}

Store::Failure Store::CheckOpsShape(const Ops& ops) const {
  // etcd's checkIntervals: within one branch no key may be put twice, and no put may fall
  // in a deleted range, so the order of a branch's writes cannot change their meaning and
  // every key has at most one event per revision.
  // Sorted views of the put keys: a branch usually puts one to three keys, held inline.
  absl::InlinedVector<std::string_view, 4> put_keys;
  for (const RequestOp& op : ops) {
    Failure f;
    switch (op.request_case()) {
      case RequestOp::kRequestRange: f = CheckRangeShape(op.request_range()); break;
      case RequestOp::kRequestPut: {
        f = CheckPutShape(op.request_put());
        if (!f.ok()) break;
        const std::string_view key = op.request_put().key();
        auto at = std::lower_bound(put_keys.begin(), put_keys.end(), key);
        if (at != put_keys.end() && *at == key) {
          f = {ERROR_INVALID_ARGUMENT, "duplicate key given in txn request"};
        } else {
          put_keys.insert(at, key);
        }
        break;
      }
      case RequestOp::kRequestDeleteRange: f = CheckDeleteShape(op.request_delete_range()); break;
      case RequestOp::REQUEST_NOT_SET: f = {ERROR_INVALID_ARGUMENT, "txn op carries no request"}; break;
    }
    if (!f.ok()) return f;
  }
  for (const RequestOp& op : ops) {
    if (op.request_case() != RequestOp::kRequestDeleteRange) continue;
    const DeleteRangeRequest& d = op.request_delete_range();
    auto it = std::lower_bound(put_keys.begin(), put_keys.end(), std::string_view(d.key()));
    if (it != put_keys.end() && InKeyRange(*it, d.key(), d.range_end())) {
      return {ERROR_INVALID_ARGUMENT, "duplicate key given in txn request (a put falls in a deleted range)"};
    }
  }
  return {};
}

Store::Failure Store::CheckOpsState(const Ops& ops) const {
  uint64_t added_bytes = 0;
  for (const RequestOp& op : ops) {
    Failure f;
    if (op.has_request_range() && op.request_range().revision() != 0) {
      f = CheckReadRevision(op.request_range().revision());
    } else if (op.has_request_put()) {
      f = CheckPutState(op.request_put());
      added_bytes += PutCost(op.request_put());
    }
    if (!f.ok()) return f;
  }
  return CheckQuota(added_bytes);
}

// --- Reads -------------------------------------------------------------------------------

const Store::HistoryEntry* Store::Visible(const KeyIndex& ki, int64_t read_revision) const {
  if (read_revision == kLatest) return ki.live;
  auto it = std::upper_bound(ki.entries.begin(), ki.entries.end(), read_revision,
                             [](int64_t rev, const IndexEntry& e) { return rev < e.rev.main; });
  if (it == ki.entries.begin()) return nullptr;  // created after read_revision (or compacted away)
  --it;
  if (it->tombstone) return nullptr;
  return it->row;
}

const Store::HistoryEntry* Store::Latest(std::string_view key) const {
  const KeyIndex* ki = FindKey(key);
  return ki == nullptr ? nullptr : Visible(*ki, kLatest);
}

Store::KeyIndex* Store::Lookup(std::string_view key) const {
  if (state_.memo_valid && key == state_.memo_key) return state_.memo_entry;
  auto it = state_.by_key.find(key);
  state_.memo_key.assign(key);
  state_.memo_entry = it == state_.by_key.end() ? nullptr : it->second;
  state_.memo_valid = true;
  return state_.memo_entry;
}

void Store::FillKeyValue(const HistoryEntry& entry, bool keys_only, KeyValue* out) {
  const Row& row = entry.second;
  out->set_key(row.key.data(), row.key.size());
  out->set_mod_revision(entry.first.main);
  if (row.tombstone) return;
  out->set_create_revision(row.create_revision);
  out->set_version(row.version);
  if (!keys_only) out->set_value(row.value);
  out->set_lease(row.lease);
}

void Store::ReadRange(const RangeRequest& r, int64_t read_revision, RangeResponse* out) const {
  int64_t count = 0;
  size_t bytes = 0;
  bool full = false;  // the page took all it may (limit or max_bytes); later keys only count
  auto visit = [&](const KeyIndex& ki) {
    const HistoryEntry* e = Visible(ki, read_revision);
    if (e == nullptr) return;
    ++count;
    if (r.count_only() || full) return;
    if (r.limit() > 0 && out->kvs_size() >= r.limit()) {
      full = true;
      return;
    }
    KeyValue* kv = out->add_kvs();
    FillKeyValue(*e, r.keys_only(), kv);
    if (r.max_bytes() <= 0) return;
    const size_t size = kv->ByteSizeLong() + 5;  // + the field's tag and length
    if (out->kvs_size() > 1 && bytes + size > static_cast<size_t>(r.max_bytes())) {
      out->mutable_kvs()->RemoveLast();
      full = true;
      return;
    }
    bytes += size;
  };
  if (r.range_end().empty()) {
    if (const KeyIndex* ki = FindKey(r.key())) visit(*ki);
  } else {
    const bool stop_early = r.skip_exact_count() && !r.count_only();
    for (auto it = state_.index.lower_bound(r.key()); it != state_.index.end() && BelowRangeEnd(it->first, r.range_end());
         ++it) {
      visit(it->second);
      if (stop_early && full) break;  // the key past the page proves `more`
    }
  }
  out->set_count(count);
  out->set_more(!r.count_only() && count > out->kvs_size());
}

std::vector<std::string> Store::LiveKeys(std::string_view key, std::string_view range_end) const {
  std::vector<std::string> keys;
  if (range_end.empty()) {
    if (Latest(key) != nullptr) keys.emplace_back(key);
    return keys;
  }
  for (auto it = state_.index.lower_bound(key); it != state_.index.end() && BelowRangeEnd(it->first, range_end);
       ++it) {
    if (Visible(it->second, kLatest) != nullptr) keys.push_back(it->first);
  }
  return keys;
}

RangeResult Store::Range(const RangeRequest& request) const {
  RangeResult result;
  Failure f = CheckRangeShape(request);
  if (f.ok() && request.revision() != 0) f = CheckReadRevision(request.revision());
  if (!f.ok()) {
    result.status = StatusOf(f.error, f.message);
    result.error = f.error;
    if (f.error == ERROR_COMPACTED) result.compact_revision = state_.compacted_revision;
  } else {
    ReadRange(request, request.revision() == 0 ? kLatest : request.revision(), &result.response);
  }
  result.response.mutable_header()->set_revision(state_.revision);
  return result;
}

// --- Put, DeleteRange, Txn ------------------------------------------------------------------

void Store::DoPut(PutRequest& r, Writer* writer, PutResponse* response) {
  KeyIndex* index_entry = FindKey(r.key());
  const HistoryEntry* prev = index_entry == nullptr ? nullptr : Visible(*index_entry, kLatest);
  std::string value = r.ignore_value() ? prev->second.value : std::move(*r.mutable_value());
  const int64_t lease = r.ignore_lease() ? prev->second.lease : r.lease();
  if (r.prev_kv() && prev != nullptr) FillKeyValue(*prev, false, response->mutable_prev_kv());
  writer->Put(r.key(), std::move(value), lease, prev, index_entry);
}

void Store::DoDeleteRange(const DeleteRangeRequest& r, Writer* writer, DeleteRangeResponse* response) {
  // Keys first, then writes: deleting appends to the index entries being walked.
  const std::vector<std::string> keys = LiveKeys(r.key(), r.range_end());
  for (const std::string& key : keys) {
    if (r.prev_kv()) FillKeyValue(*Latest(key), false, response->add_prev_kvs());
    writer->Delete(key);
  }
  response->set_deleted(static_cast<int64_t>(keys.size()));
}

CommandOutcome Store::ApplyPut(PutRequest& request, CommandResponse* reply) {
  Failure f = CheckPutShape(request);
  if (f.ok()) f = CheckPutState(request);
  if (f.ok()) f = CheckQuota(PutCost(request));
  if (!f.ok()) return Failed(f, reply);
  Writer writer(this);
  DoPut(request, &writer, reply->mutable_put());
  writer.Finish();
  reply->mutable_header()->set_revision(state_.revision);
  reply->mutable_put()->mutable_header()->set_revision(state_.revision);
  return {};
}

CommandOutcome Store::ApplyDeleteRange(const DeleteRangeRequest& request, CommandResponse* reply) {
  const Failure f = CheckDeleteShape(request);
  if (!f.ok()) return Failed(f, reply);
  Writer writer(this);
  DoDeleteRange(request, &writer, reply->mutable_delete_range());
  writer.Finish();
  reply->mutable_header()->set_revision(state_.revision);
  reply->mutable_delete_range()->mutable_header()->set_revision(state_.revision);
  return {};
}

namespace {

int Order(int64_t a, int64_t b) { return a < b ? -1 : (a > b ? 1 : 0); }

int Order(std::string_view a, std::string_view b) {
  const int c = a.compare(b);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

// `order` compares the key's target with the compare's operand (key's first).
bool Holds(int order, Compare::CompareResult result) {
  switch (result) {
    case Compare::EQUAL: return order == 0;
    case Compare::NOT_EQUAL: return order != 0;
    case Compare::GREATER: return order > 0;
    case Compare::LESS: return order < 0;
    default: break;
  }
  return false;
}

}  // namespace

bool Store::CompareHolds(const Compare& c) const {
  // etcd's applyCompare: every key in the range must satisfy the comparison. With no key,
  // a VALUE comparison fails (an absent value cannot equal anything, not even ""), and the
  // other targets compare with zero: an absent key has version, create_revision,
  // mod_revision and lease 0.
  auto holds_for = [&c](const HistoryEntry* e) {
    switch (c.target()) {
      case Compare::VERSION: return Holds(Order(e ? e->second.version : 0, c.version()), c.result());
      case Compare::CREATE: return Holds(Order(e ? e->second.create_revision : 0, c.create_revision()), c.result());
      case Compare::MOD: return Holds(Order(e ? e->first.main : 0, c.mod_revision()), c.result());
      case Compare::LEASE: return Holds(Order(e ? e->second.lease : 0, c.lease()), c.result());
      case Compare::VALUE: return e != nullptr && Holds(Order(e->second.value, c.value()), c.result());
      default: break;
    }
    return false;
  };
  if (c.range_end().empty()) return holds_for(Latest(c.key()));
  bool any = false;
  for (auto it = state_.index.lower_bound(c.key()); it != state_.index.end() && BelowRangeEnd(it->first, c.range_end());
       ++it) {
    const HistoryEntry* e = Visible(it->second, kLatest);
    if (e == nullptr) continue;
    any = true;
    if (!holds_for(e)) return false;
  }
  return any || holds_for(nullptr);
}

CommandOutcome Store::ApplyTxn(TxnRequest& request, CommandResponse* reply) {
  const int most = std::max({request.compare_size(), request.success_size(), request.failure_size()});
  if (most > kMaxTxnOps) {
    return Failed({ERROR_INVALID_ARGUMENT, "too many operations in txn request (" + std::to_string(most) +
                                               "; the limit is " + std::to_string(kMaxTxnOps) + ")"}, reply);
  }
  for (const Compare& c : request.compare()) {
    const Failure f = CheckCompareShape(c);
    if (!f.ok()) return Failed(f, reply);
  }
  // Both branches must be well formed, whichever runs (as etcd checks them).
  Failure f = CheckOpsShape(request.success());
  if (f.ok()) f = CheckOpsShape(request.failure());
  if (!f.ok()) return Failed(f, reply);

  bool succeeded = true;
  for (const Compare& c : request.compare()) {
    if (!CompareHolds(c)) {
      succeeded = false;
      break;
    }
  }
  Ops& branch = succeeded ? *request.mutable_success() : *request.mutable_failure();
  f = CheckOpsState(branch);
  if (!f.ok()) return Failed(f, reply);

  // Nothing below can fail: the branch is applied whole, in one revision.
  TxnResponse* txn = reply->mutable_txn();
  txn->set_succeeded(succeeded);
  Writer writer(this);
  for (RequestOp& op : branch) {  // puts move their values out
    ResponseOp* out = txn->add_responses();
    switch (op.request_case()) {
      case RequestOp::kRequestRange: {
        // A range without a revision sees the txn's earlier writes, as in etcd.
        const RangeRequest& r = op.request_range();
        ReadRange(r, r.revision() == 0 ? kLatest : r.revision(), out->mutable_response_range());
        break;
      }
      case RequestOp::kRequestPut: DoPut(*op.mutable_request_put(), &writer, out->mutable_response_put()); break;
      case RequestOp::kRequestDeleteRange:
        DoDeleteRange(op.request_delete_range(), &writer, out->mutable_response_delete_range());
        break;
      case RequestOp::REQUEST_NOT_SET: break;  // rejected by CheckOpsShape
    }
  }
  writer.Finish();
  const int64_t rev = state_.revision;
  reply->mutable_header()->set_revision(rev);
  txn->mutable_header()->set_revision(rev);
  for (ResponseOp& out : *txn->mutable_responses()) {
    switch (out.response_case()) {
      case ResponseOp::kResponseRange: out.mutable_response_range()->mutable_header()->set_revision(rev); break;
      case ResponseOp::kResponsePut: out.mutable_response_put()->mutable_header()->set_revision(rev); break;
      case ResponseOp::kResponseDeleteRange:
        out.mutable_response_delete_range()->mutable_header()->set_revision(rev);
        break;
      case ResponseOp::RESPONSE_NOT_SET: break;
    }
  }
  return {};
}

// --- Compaction -----------------------------------------------------------------------------

CommandOutcome Store::ApplyCompaction(const CompactionRequest& request, CommandResponse* reply) {
  const int64_t at = request.revision();
  if (at <= 0) return Failed({ERROR_INVALID_ARGUMENT, "compaction revision " + Str(at) + " is not positive"}, reply);
  if (at <= state_.compacted_revision) {
    return Failed({ERROR_COMPACTED, "mvcc: required revision " + Str(at) + " has been compacted (compacted at " +
                                        Str(state_.compacted_revision) + ")"}, reply);
  }
  if (at > state_.revision) {
    return Failed({ERROR_FUTURE_REVISION, "mvcc: required revision " + Str(at) + " is a future revision (current " +
                                              Str(state_.revision) + ")"}, reply);
  }
  // etcd's keyIndex.compact: per key, keep the latest row at or before `at` (it is the
  // key's state as of `at`) unless it is a tombstone, and everything after `at`.
  for (auto it = state_.index.begin(); it != state_.index.end();) {
    std::vector<IndexEntry>& entries = it->second.entries;
    auto upto = std::upper_bound(entries.begin(), entries.end(), at,
                                 [](int64_t rev, const IndexEntry& e) { return rev < e.rev.main; });
    if (upto != entries.begin()) {
      auto keep = std::prev(upto);
      if (keep->tombstone) ++keep;
      for (auto e = entries.begin(); e != keep; ++e) {
        auto row = state_.history.find(e->rev);
        state_.history_bytes -= row->second.key.size() + row->second.value.size() + kRowOverheadBytes;
        state_.history.erase(row);
      }
      entries.erase(entries.begin(), keep);
    }
    if (entries.empty()) {
      state_.by_key.erase(std::string_view(it->first));
      state_.memo_valid = false;
      it = state_.index.erase(it);
    } else {
      ++it;
    }
  }
  state_.compacted_revision = at;
  reply->mutable_header()->set_revision(state_.revision);
  reply->mutable_compaction()->mutable_header()->set_revision(state_.revision);
  return {};
}

// --- Leases -----------------------------------------------------------------------------------

CommandOutcome Store::ApplyLeaseGrant(const LeaseGrantRequest& request, CommandResponse* reply) {
  if (request.id() <= 0) {
    return Failed({ERROR_INVALID_ARGUMENT, "lease id " + Str(request.id()) +
                                               " is not positive (the leader picks the id before replicating)"}, reply);
  }
  if (request.ttl_seconds() <= 0 || request.ttl_seconds() > kMaxLeaseTtlSeconds) {
    return Failed({ERROR_INVALID_ARGUMENT, "lease TTL " + Str(request.ttl_seconds()) + "s is outside 1.." +
                                               Str(kMaxLeaseTtlSeconds) + "s"}, reply);
  }
  if (state_.leases.contains(request.id())) {
    return Failed({ERROR_LEASE_EXISTS, "lease " + Str(request.id()) + " already exists"}, reply);
  }
  if (state_.leases.size() >= kMaxLeases) {
    return Failed({ERROR_INVALID_ARGUMENT, "too many leases (the limit is " + std::to_string(kMaxLeases) + ")"}, reply);
  }
  state_.leases[request.id()].ttl_seconds = request.ttl_seconds();
  // A lease alone changes no key, so the revision stays (as in etcd).
  reply->mutable_header()->set_revision(state_.revision);
  LeaseGrantResponse* out = reply->mutable_lease_grant();
  out->mutable_header()->set_revision(state_.revision);
  out->set_id(request.id());
  out->set_ttl_seconds(request.ttl_seconds());
  return {};
}

CommandOutcome Store::ApplyLeaseRevoke(const LeaseRevokeRequest& request, CommandResponse* reply) {
  auto it = state_.leases.find(request.id());
  if (it == state_.leases.end()) return Failed({ERROR_LEASE_NOT_FOUND, "lease " + Str(request.id()) + " not found"}, reply);
  // Copy: deleting a key detaches it from the set being walked.
  const std::vector<std::string> keys(it->second.keys.begin(), it->second.keys.end());
  Writer writer(this);
  for (const std::string& key : keys) writer.Delete(key);
  state_.leases.erase(request.id());
  writer.Finish();  // all of the lease's keys go in one revision, in key order
  reply->mutable_header()->set_revision(state_.revision);
  LeaseRevokeResponse* out = reply->mutable_lease_revoke();
  out->mutable_header()->set_revision(state_.revision);
  out->set_deleted(static_cast<int64_t>(keys.size()));
  return {};
}

LeaseTimeToLiveResult Store::LeaseTimeToLive(const LeaseTimeToLiveRequest& request) const {
  LeaseTimeToLiveResult result;
  result.response.mutable_header()->set_revision(state_.revision);
  auto it = state_.leases.find(request.id());
  if (it == state_.leases.end()) {
    result.error = ERROR_LEASE_NOT_FOUND;
    result.status = StatusOf(result.error, "lease " + Str(request.id()) + " not found");
    return result;
  }
  result.response.set_id(request.id());
  result.response.set_granted_ttl_seconds(it->second.ttl_seconds);
  if (request.keys()) {
    for (const std::string& key : it->second.keys) result.response.add_keys(key);
  }
  return result;
}

LeaseLeasesResponse Store::Leases() const {
  LeaseLeasesResponse out;
  out.mutable_header()->set_revision(state_.revision);
  for (const auto& [id, lease] : state_.leases) {
    LeaseStatus* s = out.add_leases();
    s->set_id(id);
    s->set_granted_ttl_seconds(lease.ttl_seconds);
  }
  return out;
}

}  // namespace ksim::store
