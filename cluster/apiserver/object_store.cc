#include "cluster/apiserver/object_store.h"

#include <google/protobuf/arena.h>

#include <utility>

namespace ksim::apiserver {

std::string ObjectKey(std::string_view resource, std::string_view ns, std::string_view name) {
  std::string key = "/registry/";
  key += resource;
  key += '/';
  if (!ns.empty()) {
    key += ns;
    key += '/';
  }
  key += name;
  return key;
}

std::string ResourcePrefix(std::string_view resource, std::string_view ns) {
  std::string prefix = "/registry/";
  prefix += resource;
  prefix += '/';
  if (!ns.empty()) {
    prefix += ns;
    prefix += '/';
  }
  return prefix;
}

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

namespace {

StoredObject FromKv(const store::KeyValue& kv) {
  return StoredObject{kv.key(), kv.value(), kv.mod_revision(), kv.create_revision()};
}

}  // namespace

void ObjectStore::Get(const std::string& key, GetDone done) {
  client_->Get(key, [done = std::move(done)](Status s, const store::RangeResponse& r) {
    if (!s.ok()) return done(s, nullptr);
    if (r.kvs_size() == 0) return done(Status::Ok(), nullptr);
    const StoredObject o = FromKv(r.kvs(0));
    done(Status::Ok(), &o);
  });
}

namespace {

// A command on `arena` whose transaction's first compare guards `key`: its create
// revision (0: absent) for a create, its mod revision otherwise.
store::Command* GuardedCommand(google::protobuf::Arena& arena, const std::string& key,
                               store::Compare::CompareTarget target, int64_t revision) {
  store::Command* command = google::protobuf::Arena::CreateMessage<store::Command>(&arena);
  store::Compare* guard = command->mutable_txn()->add_compare();
  guard->set_key(key);
  guard->set_target(target);
  guard->set_result(store::Compare::EQUAL);
  if (target == store::Compare::CREATE) {
    guard->set_create_revision(revision);
  } else {
    guard->set_mod_revision(revision);
  }
  return command;
}

void AddPut(store::Command* command, const std::string& key, std::string value, int64_t lease = 0) {
  store::PutRequest* put = command->mutable_txn()->add_success()->mutable_request_put();
  put->set_key(key);
  put->set_value(std::move(value));
  if (lease != 0) put->set_lease(lease);
}

// Guards `w.key` by its expected mod revision (unless kNoGuard), puts its value (or deletes
// it) if every guard holds, and reads the key in the failure branch (so a failed
// transaction says what is there).
void AddGuardedPut(store::Command* command, SideWrite& w) {
  store::TxnRequest* txn = command->mutable_txn();
  if (w.expected_mod_revision != SideWrite::kNoGuard) {
    store::Compare* c = txn->add_compare();
    c->set_key(w.key);
    c->set_target(store::Compare::MOD);
    c->set_result(store::Compare::EQUAL);
    c->set_mod_revision(w.expected_mod_revision);
  }
  txn->add_failure()->mutable_request_range()->set_key(w.key);
  if (w.remove) {
    txn->add_success()->mutable_request_delete_range()->set_key(w.key);
  } else {
    AddPut(command, w.key, std::move(w.value));
  }
}

}  // namespace

void ObjectStore::Create(const std::string& key, std::string value, std::vector<SideWrite> side, WriteDone done,
                         int64_t lease) {
  google::protobuf::Arena arena;
  store::Command* command = GuardedCommand(arena, key, store::Compare::CREATE, 0);
  AddPut(command, key, std::move(value), lease);
  Guarded(key, *command, std::move(side), std::move(done));
}

void ObjectStore::Update(const std::string& key, std::string value, int64_t expected_mod_revision,
                         std::vector<SideWrite> side, WriteDone done, int64_t lease) {
  google::protobuf::Arena arena;
  store::Command* command = GuardedCommand(arena, key, store::Compare::MOD, expected_mod_revision);
  AddPut(command, key, std::move(value), lease);
  Guarded(key, *command, std::move(side), std::move(done));
}

void ObjectStore::Delete(const std::string& key, int64_t expected_mod_revision, std::vector<SideWrite> side,
                         WriteDone done) {
  google::protobuf::Arena arena;
  store::Command* command = GuardedCommand(arena, key, store::Compare::MOD, expected_mod_revision);
  command->mutable_txn()->add_success()->mutable_request_delete_range()->set_key(key);
  Guarded(key, *command, std::move(side), std::move(done));
}

// One transaction: if the guard and every side compare hold, apply the op and the side
// puts; otherwise read the key and the side keys so the caller learns which failed.
// `command` holds the guard and the op; it is encoded by the store client, not kept, so
// callers build it on an arena and free it whole.
void ObjectStore::Guarded(const std::string& key, store::Command& command, std::vector<SideWrite> side,
                          WriteDone done) {
  store::TxnRequest* txn = command.mutable_txn();
  txn->add_failure()->mutable_request_range()->set_key(key);
  for (SideWrite& w : side) AddGuardedPut(&command, w);
  const bool is_create = txn->compare(0).target() == store::Compare::CREATE;
  const int64_t expected = is_create ? 0 : txn->compare(0).mod_revision();
  client_->Write(command, [done = std::move(done), is_create, expected](Status s,
                                                                        const store::CommandResponse& r) {
    WriteResult result;
    if (!s.ok()) {
      result.status = s;
      return done(result);
    }
    if (r.error() != store::ERROR_NONE) {
      result.status = Status::Unavailable("store: " + r.error_message());
      return done(result);
    }
    const store::TxnResponse& t = r.txn();
    result.revision = t.header().revision();
    if (t.succeeded()) return done(result);
    // Which compare failed? The failure branch read the object's key, then each side key.
    const store::RangeResponse& own = t.responses(0).response_range();
    if (own.kvs_size() > 0) result.current = FromKv(own.kvs(0));
    const bool own_holds = is_create ? own.kvs_size() == 0 : result.current.mod_revision == expected;
    if (!own_holds) {
      result.outcome = is_create ? WriteOutcome::kExists : WriteOutcome::kConflict;
    } else {
      result.outcome = WriteOutcome::kQuotaChanged;  // only a side guard can have failed
    }
    done(result);
  });
}

void ObjectStore::PutGuarded(std::vector<SideWrite> writes, GuardedPutDone done) {
  google::protobuf::Arena arena;
  store::Command* command = google::protobuf::Arena::CreateMessage<store::Command>(&arena);
  std::vector<std::string> keys;
  keys.reserve(writes.size());
  for (SideWrite& w : writes) {
    keys.push_back(w.key);
    AddGuardedPut(command, w);
  }
  client_->Write(*command, [done = std::move(done), keys = std::move(keys)](Status s, const store::CommandResponse& r) {
    GuardedPutResult result;
    if (!s.ok()) {
      result.status = s;
      return done(result);
    }
    if (r.error() != store::ERROR_NONE) {
      result.status = Status::Unavailable("store: " + r.error_message());
      return done(result);
    }
    const store::TxnResponse& t = r.txn();
    result.revision = t.header().revision();
    result.succeeded = t.succeeded();
    if (result.succeeded) return done(result);
    // The failure branch read every key, in order.
    if (static_cast<size_t>(t.responses_size()) != keys.size()) {
      result.status = Status::Corruption("store: a failed guarded put answered the wrong number of reads");
      return done(result);
    }
    for (size_t i = 0; i < keys.size(); ++i) {
      const store::RangeResponse& range = t.responses(static_cast<int>(i)).response_range();
      result.current.push_back(range.kvs_size() > 0 ? FromKv(range.kvs(0)) : StoredObject{keys[i], "", 0, 0});
    }
    done(result);
  });
}

void ObjectStore::List(const std::string& begin, const std::string& end, int64_t revision, int64_t limit,
                       ListDone done, int64_t max_bytes) {
  store::RangeRequest range;
  range.set_key(begin);
  range.set_range_end(end);
  range.set_revision(revision);
  range.set_limit(limit);
  range.set_skip_exact_count(true);  // pages need `more`, not the size of the rest
  range.set_max_bytes(max_bytes);
  client_->Read(std::move(range), false, [done = std::move(done)](Status s, const store::RangeResponse& r) {
    ListPage page;
    if (!s.ok()) {
      page.status = s;
      page.compacted = s.message().find("compacted") != std::string::npos;
      return done(std::move(page));
    }
    page.revision = r.header().revision();
    page.more = r.more();
    page.items.reserve(static_cast<size_t>(r.kvs_size()));
    for (const store::KeyValue& kv : r.kvs()) page.items.push_back(FromKv(kv));
    done(std::move(page));
  });
}

}  // namespace ksim::apiserver
