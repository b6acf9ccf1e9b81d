// Builders and a random command source shared by the MVCC store's tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cluster/env/random.h"
#include "cluster/store/mvcc/store.h"

namespace ksim::store::testing {

inline PutRequest PutReq(const std::string& key, const std::string& value, int64_t lease = 0, bool prev_kv = false) {
  PutRequest r;
  r.set_key(key);
  r.set_value(value);
  r.set_lease(lease);
  r.set_prev_kv(prev_kv);
  return r;
}

inline RangeRequest RangeReq(const std::string& key, const std::string& range_end = "", int64_t revision = 0,
                             int64_t limit = 0) {
  RangeRequest r;
  r.set_key(key);
  r.set_range_end(range_end);
  r.set_revision(revision);
  r.set_limit(limit);
  return r;
}

inline DeleteRangeRequest DeleteReq(const std::string& key, const std::string& range_end = "", bool prev_kv = false) {
  DeleteRangeRequest r;
  r.set_key(key);
  r.set_range_end(range_end);
  r.set_prev_kv(prev_kv);
  return r;
}

// etcd's clientv3.GetPrefixRangeEnd: the key after every key with this prefix.
inline std::string PrefixEnd(std::string prefix) {
  for (size_t i = prefix.size(); i > 0; --i) {
    if (static_cast<unsigned char>(prefix[i - 1]) < 0xff) {
      prefix[i - 1] = static_cast<char>(prefix[i - 1] + 1);
      prefix.resize(i);
      return prefix;
    }
  }
  return std::string(kRangeEndAll);
}

inline const std::string& AllEnd() {
  static const std::string end(kRangeEndAll);
  return end;
}

inline RequestOp OpPut(const std::string& key, const std::string& value, int64_t lease = 0) {
  RequestOp op;
  *op.mutable_request_put() = PutReq(key, value, lease);
  return op;
}

inline RequestOp OpRange(const std::string& key, const std::string& range_end = "", int64_t revision = 0) {
  RequestOp op;
  *op.mutable_request_range() = RangeReq(key, range_end, revision);
  return op;
}

inline RequestOp OpDelete(const std::string& key, const std::string& range_end = "", bool prev_kv = false) {
  RequestOp op;
  *op.mutable_request_delete_range() = DeleteReq(key, range_end, prev_kv);
  return op;
}

inline Compare CmpInt(const std::string& key, Compare::CompareTarget target, Compare::CompareResult result,
                      int64_t operand) {
  Compare c;
  c.set_key(key);
  c.set_target(target);
  c.set_result(result);
  switch (target) {
    case Compare::VERSION: c.set_version(operand); break;
    case Compare::CREATE: c.set_create_revision(operand); break;
    case Compare::MOD: c.set_mod_revision(operand); break;
    case Compare::LEASE: c.set_lease(operand); break;
    default: break;
  }
  return c;
}

inline Compare CmpValue(const std::string& key, Compare::CompareResult result, const std::string& value) {
  Compare c;
  c.set_key(key);
  c.set_target(Compare::VALUE);
  c.set_result(result);
  c.set_value(value);
  return c;
}

// All keys as of `revision` (0: latest), or the error.
inline RangeResult All(const Store& s, int64_t revision = 0) { return s.Range(RangeReq(std::string(1, '\0'), AllEnd(), revision)); }

// Drains a watcher completely (bounded: at most `max_calls` TakeEvents calls).
struct Drained {
  std::vector<Event> events;
  WatchBatch last;
};
inline Drained Drain(Store* s, int64_t watch_id, size_t max_events = kMaxEventsPerTake, int max_calls = 100000) {
  Drained d;
  for (int i = 0; i < max_calls; ++i) {
    d.last = s->TakeEvents(watch_id, max_events);
    for (Event& e : d.last.events) d.events.push_back(std::move(e));
    d.last.events.clear();
    if (!d.last.status.ok() || !d.last.more) break;
  }
  return d;
}

// A random but valid-looking command over a small keyspace, so that keys collide, txns
// compare against real state, and some commands fail (missing leases, bad compactions).
inline Command RandomCommand(Random* rng, const Store& s) {
  static const std::vector<std::string> kKeys = {"a", "a/1", "a/2", "a/3", "b", "b/1", "c", "d/x/y"};
  auto key = [&] { return kKeys[rng->Uniform(kKeys.size())]; };
  auto value = [&] { return "v" + std::to_string(rng->Uniform(1000)); };
  auto lease = [&] { return rng->Bernoulli(0.7) ? int64_t{0} : rng->Range(1, 4); };
  auto range_end = [&](const std::string& k) -> std::string {
    switch (rng->Uniform(3)) {
      case 0: return "";
      case 1: return PrefixEnd(k);
      default: return AllEnd();
    }
  };
  Command c;
  const uint64_t kind = rng->Uniform(100);
  if (kind < 40) {
    PutRequest* p = c.mutable_put();
    *p = PutReq(key(), value(), lease(), rng->Bernoulli(0.5));
    if (rng->Bernoulli(0.1)) {
      p->clear_value();
      p->set_ignore_value(true);
    }
    if (rng->Bernoulli(0.1)) {
      p->set_lease(0);
      p->set_ignore_lease(true);
    }
  } else if (kind < 55) {
    const std::string k = key();
    *c.mutable_delete_range() = DeleteReq(k, range_end(k), rng->Bernoulli(0.5));
  } else if (kind < 80) {
    TxnRequest* t = c.mutable_txn();
    const uint64_t compares = rng->Uniform(3);
    for (uint64_t i = 0; i < compares; ++i) {
      const auto target = static_cast<Compare::CompareTarget>(rng->Uniform(5));
      const auto result = static_cast<Compare::CompareResult>(rng->Uniform(4));
      if (target == Compare::VALUE) {
        *t->add_compare() = CmpValue(key(), result, value());
      } else {
        *t->add_compare() = CmpInt(key(), target, result, rng->Range(0, s.revision() + 1));
      }
    }
    for (auto* ops : {t->mutable_success(), t->mutable_failure()}) {
      // Distinct keys so the branch is usually well formed; sometimes a duplicate.
      const uint64_t n = rng->Uniform(4);
      for (uint64_t i = 0; i < n; ++i) {
        const std::string k = key();
        switch (rng->Uniform(3)) {
          case 0: *ops->Add() = OpPut(k, value(), lease()); break;
          case 1: *ops->Add() = OpDelete(k, "", rng->Bernoulli(0.5)); break;
          default: *ops->Add() = OpRange(k, range_end(k), rng->Bernoulli(0.3) ? rng->Range(1, s.revision()) : 0);
        }
      }
    }
  } else if (kind < 88) {
    c.mutable_compaction()->set_revision(rng->Range(s.compacted_revision(), s.revision()));
  } else if (kind < 95) {
    c.mutable_lease_grant()->set_id(rng->Range(1, 4));
    c.mutable_lease_grant()->set_ttl_seconds(rng->Range(1, 60));
  } else {
    c.mutable_lease_revoke()->set_id(rng->Range(1, 4));
  }
  return c;
}

}  // namespace ksim::store::testing
