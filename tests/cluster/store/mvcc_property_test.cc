// RapidCheck property: the MVCC store agrees with a deliberately naive reference model —
// a full copy of the key space for every revision — under random sequences of puts,
// deletes, txns, compactions, watch creations and partial watch drains.
//
// Checked: every command's outcome and revision; Range (all keys, and by prefix) at every
// revision, including Compacted below the compaction and FutureRevision above the
// current one; txn range responses inside a branch; and every watcher's event stream,
// which must equal the model's sequence of per-revision diffs for its range from its start
// revision (etcd's guarantee: ordered, no gaps, no duplicates), or a prefix of it if
// compaction legitimately overtook the watcher.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cluster/store/mvcc/store.h"
#include "tests/cluster/store/mvcc_test_util.h"

namespace ksim::store {
namespace {

using namespace ksim::store::testing;  // NOLINT: test builders

const std::vector<std::string>& ModelKeys() {
  static const std::vector<std::string> keys = {"a", "a/1", "a/2", "b", "b/1", "c"};
  return keys;
}

// --- The reference model ------------------------------------------------------------------

struct MKv {
  std::string value;
  int64_t create = 0;
  int64_t mod = 0;
  int64_t version = 0;
};
using MState = std::map<std::string, MKv>;

struct MEvent {
  bool put = true;
  std::string key;
  MKv kv;
  std::optional<MKv> prev;
};

enum class Shape { kSingle = 0, kPrefix = 1, kFromKey = 2 };

bool ModelMatches(const std::string& k, const std::string& key, Shape shape) {
  switch (shape) {
    case Shape::kSingle: return k == key;
    case Shape::kPrefix: return k.starts_with(key);
    case Shape::kFromKey: return k >= key;
  }
  return false;
}

std::string EndFor(const std::string& key, Shape shape) {
  switch (shape) {
    case Shape::kSingle: return "";
    case Shape::kPrefix: return PrefixEnd(key);
    case Shape::kFromKey: return AllEnd();
  }
  return "";
}

struct Model {
  std::vector<MState> states{MState{}, MState{}};  // states[r]: the key space at revision r
  std::vector<std::vector<MEvent>> events{{}, {}};  // events[r]: the changes made by revision r
  int64_t compacted = 0;

  int64_t revision() const { return static_cast<int64_t>(states.size()) - 1; }
  const MState& current() const { return states.back(); }

  static void Put(MState* w, int64_t rev, const std::string& key, const std::string& value, std::vector<MEvent>* evs) {
    std::optional<MKv> prev;
    if (auto it = w->find(key); it != w->end()) prev = it->second;
    MKv kv{value, prev ? prev->create : rev, rev, prev ? prev->version + 1 : 1};
    evs->push_back({true, key, kv, prev});
    (*w)[key] = kv;
  }
  static void Delete(MState* w, int64_t rev, const std::string& key, std::vector<MEvent>* evs) {
    auto it = w->find(key);
    if (it == w->end()) return;
    evs->push_back({false, key, MKv{"", 0, rev, 0}, it->second});
    w->erase(it);
  }
  void Commit(MState next, std::vector<MEvent> evs) {
    if (evs.empty()) return;  // nothing changed: no new revision
    states.push_back(std::move(next));
    events.push_back(std::move(evs));
  }
};

std::string Render(const std::string& key, const MKv& kv) {
  return key + "=" + kv.value + " c" + std::to_string(kv.create) + " m" + std::to_string(kv.mod) + " v" +
         std::to_string(kv.version);
}

std::string Render(const KeyValue& kv) {
  return Render(kv.key(), MKv{kv.value(), kv.create_revision(), kv.mod_revision(), kv.version()});
}

std::string Render(const MEvent& e, bool with_prev) {
  std::string s = e.put ? "PUT " + Render(e.key, e.kv) : "DEL " + e.key + " m" + std::to_string(e.kv.mod);
  if (with_prev && e.prev) s += " prev{" + Render(e.key, *e.prev) + "}";
  return s;
}

std::string Render(const Event& e) {
  std::string s = e.type() == Event::PUT ? "PUT " + Render(e.kv())
                                         : "DEL " + e.kv().key() + " m" + std::to_string(e.kv().mod_revision());
  if (e.has_prev_kv()) s += " prev{" + Render(e.prev_kv()) + "}";
  return s;
}

std::vector<std::string> ModelRange(const MState& state, const std::string& key, Shape shape) {
  std::vector<std::string> out;
  for (const auto& [k, kv] : state) {
    if (ModelMatches(k, key, shape)) out.push_back(Render(k, kv));
  }
  return out;
}

std::vector<std::string> Rendered(const RangeResponse& r) {
  std::vector<std::string> out;
  for (const KeyValue& kv : r.kvs()) out.push_back(Render(kv));
  return out;
}

// --- Steps ----------------------------------------------------------------------------------

enum class Kind { kPut, kDelete, kTxn, kCompact, kWatch, kDrain };

struct TxnOp {
  int key = 0;
  int what = 0;  // 0 put, 1 delete, 2 range (single), 3 range (prefix)
};

struct Step {
  Kind kind = Kind::kPut;
  int key = 0;
  Shape shape = Shape::kSingle;
  int value = 0;
  int number = 0;  // compaction / watch start / drain size / compare operand, scaled at use
  int target = 0;  // compare target; watcher to drain
  int result = 0;  // compare result
  bool prev_kv = false;
  std::vector<TxnOp> success;
  std::vector<TxnOp> failure;
};

void showValue(const Step& s, std::ostream& os) {
  static const char* kKinds[] = {"put", "delete", "txn", "compact", "watch", "drain"};
  os << kKinds[static_cast<int>(s.kind)] << " key=" << ModelKeys()[static_cast<size_t>(s.key)]
     << " shape=" << static_cast<int>(s.shape) << " value=" << s.value << " n=" << s.number << " target=" << s.target
     << " result=" << s.result << " prev_kv=" << s.prev_kv;
  for (const auto* ops : {&s.success, &s.failure}) {
    os << (ops == &s.success ? " success[" : " failure[");
    for (const TxnOp& op : *ops) os << " " << op.what << ":" << ModelKeys()[static_cast<size_t>(op.key)];
    os << " ]";
  }
}

rc::Gen<TxnOp> GenTxnOp() {
  return rc::gen::exec([] {
    TxnOp op;
    op.key = *rc::gen::inRange(0, static_cast<int>(ModelKeys().size()));
    op.what = *rc::gen::inRange(0, 4);
    return op;
  });
}

rc::Gen<Step> GenStep() {
  return rc::gen::exec([] {
    Step s;
    s.kind = *rc::gen::weightedElement<Kind>(
        {{30, Kind::kPut}, {10, Kind::kDelete}, {20, Kind::kTxn}, {7, Kind::kCompact}, {5, Kind::kWatch},
         {20, Kind::kDrain}});
    s.key = *rc::gen::inRange(0, static_cast<int>(ModelKeys().size()));
    s.shape = static_cast<Shape>(*rc::gen::inRange(0, 3));
    s.value = *rc::gen::inRange(0, 5);
    s.number = *rc::gen::inRange(0, 1000);
    s.target = *rc::gen::inRange(0, 5);
    s.result = *rc::gen::inRange(0, 4);
    s.prev_kv = *rc::gen::arbitrary<bool>();
    if (s.kind == Kind::kTxn) {
      s.success = *rc::gen::resize(4, rc::gen::container<std::vector<TxnOp>>(GenTxnOp()));
      s.failure = *rc::gen::resize(4, rc::gen::container<std::vector<TxnOp>>(GenTxnOp()));
    }
    return s;
  });
}

struct TrackedWatch {
  int64_t id = 0;
  std::string key;
  Shape shape = Shape::kSingle;
  int64_t start = 0;
  bool prev_kv = false;
  bool protect = false;  // drained before every compaction, so it must never be cancelled
  std::vector<std::string> got;
  bool canceled = false;
};

std::vector<std::string> ExpectedStream(const Model& m, const TrackedWatch& w) {
  std::vector<std::string> out;
  for (int64_t r = std::max<int64_t>(w.start, 1); r <= m.revision(); ++r) {
    for (const MEvent& e : m.events[static_cast<size_t>(r)]) {
      if (ModelMatches(e.key, w.key, w.shape)) out.push_back(Render(e, w.prev_kv));
    }
  }
  return out;
}

// One TakeEvents call; returns whether the watcher has more to deliver now. A watcher may
// only end by a compaction that overtook it, and a protected one never.
bool TakeOnce(Store* s, const Model& m, TrackedWatch* w, size_t max_events) {
  if (w->canceled) return false;
  WatchBatch b = s->TakeEvents(w->id, max_events);
  for (const Event& e : b.events) w->got.push_back(Render(e));
  if (b.canceled) {
    RC_ASSERT(b.error == ERROR_COMPACTED);
    RC_ASSERT(b.compact_revision == m.compacted);
    RC_ASSERT(!w->protect);
    w->canceled = true;
    return false;
  }
  RC_ASSERT(b.status.ok());
  return b.more;
}

void DrainAll(Store* s, const Model& m, TrackedWatch* w) {
  for (int i = 0; i < 100000; ++i) {
    if (!TakeOnce(s, m, w, 3)) return;
  }
  RC_FAIL("watcher never finished draining");
}

TrackedWatch NewWatch(Store* s, const std::string& key, Shape shape, int64_t start, bool prev_kv, size_t buffer,
                      bool protect) {
  TrackedWatch w;
  w.key = key;
  w.shape = shape;
  w.start = start;
  w.prev_kv = prev_kv;
  w.protect = protect;
  WatchOptions o;
  o.key = key;
  o.range_end = EndFor(key, shape);
  o.start_revision = start;
  o.prev_kv = prev_kv;
  o.buffer_events = buffer;
  WatchCreated c = s->Watch(o);
  RC_ASSERT(c.status.ok());
  w.id = c.watch_id;
  if (start == 0) w.start = s->revision() + 1;
  return w;
}

Compare MakeCompare(const Step& step, const Model& m) {
  const std::string& key = ModelKeys()[static_cast<size_t>(step.key)];
  const auto result = static_cast<Compare::CompareResult>(step.result);
  const auto target = static_cast<Compare::CompareTarget>(step.target);
  if (target == Compare::VALUE) return CmpValue(key, result, "v" + std::to_string(step.number % 5));
  return CmpInt(key, target, result, step.number % (m.revision() + 2));
}

bool ModelCompare(const Step& step, const Model& m) {
  const std::string& key = ModelKeys()[static_cast<size_t>(step.key)];
  auto it = m.current().find(key);
  const MKv* kv = it == m.current().end() ? nullptr : &it->second;
  const auto target = static_cast<Compare::CompareTarget>(step.target);
  int order = 0;
  if (target == Compare::VALUE) {
    if (kv == nullptr) return false;
    const std::string operand = "v" + std::to_string(step.number % 5);
    order = kv->value < operand ? -1 : (kv->value > operand ? 1 : 0);
  } else {
    const int64_t operand = step.number % (m.revision() + 2);
    int64_t mine = 0;
    if (kv != nullptr) {
      mine = target == Compare::VERSION ? kv->version : target == Compare::CREATE ? kv->create
                                                      : target == Compare::MOD    ? kv->mod
                                                                                  : 0;  // LEASE
    }
    order = mine < operand ? -1 : (mine > operand ? 1 : 0);
  }
  switch (static_cast<Compare::CompareResult>(step.result)) {
    case Compare::EQUAL: return order == 0;
    case Compare::NOT_EQUAL: return order != 0;
    case Compare::GREATER: return order > 0;
    case Compare::LESS: return order < 0;
    default: return false;
  }
}

RC_GTEST_PROP(MvccModel, AgreesWithAReferenceModel, ()) {
  const auto steps = *rc::gen::container<std::vector<Step>>(GenStep());
  Store s;
  Model m;
  std::vector<TrackedWatch> watches;
  watches.push_back(NewWatch(&s, std::string(1, '\0'), Shape::kFromKey, 1, true, 4, true));
  watches.push_back(NewWatch(&s, "a", Shape::kPrefix, 0, false, 2, true));
  watches.push_back(NewWatch(&s, "b", Shape::kSingle, 1, true, 1, true));

  for (const Step& step : steps) {
    const std::string& key = ModelKeys()[static_cast<size_t>(step.key)];
    const std::string value = "v" + std::to_string(step.value);
    const int64_t next = m.revision() + 1;
    switch (step.kind) {
      case Kind::kPut: {
        CommandResult r = s.Put(PutReq(key, value, 0, step.prev_kv));
        RC_ASSERT(r.ok());
        MState w = m.current();
        std::vector<MEvent> evs;
        Model::Put(&w, next, key, value, &evs);
        if (step.prev_kv && evs[0].prev) {
          RC_ASSERT(r.response.put().has_prev_kv());
          RC_ASSERT(Render(r.response.put().prev_kv()) == Render(key, *evs[0].prev));
        } else {
          RC_ASSERT(!r.response.put().has_prev_kv());
        }
        m.Commit(std::move(w), std::move(evs));
        break;
      }
      case Kind::kDelete: {
        CommandResult r = s.DeleteRange(DeleteReq(key, EndFor(key, step.shape), step.prev_kv));
        RC_ASSERT(r.ok());
        MState w = m.current();
        std::vector<MEvent> evs;
        for (const auto& [k, kv] : m.current()) {
          if (ModelMatches(k, key, step.shape)) Model::Delete(&w, next, k, &evs);
        }
        RC_ASSERT(r.response.delete_range().deleted() == static_cast<int64_t>(evs.size()));
        RC_ASSERT(r.response.delete_range().prev_kvs_size() == (step.prev_kv ? static_cast<int>(evs.size()) : 0));
        m.Commit(std::move(w), std::move(evs));
        break;
      }
      case Kind::kTxn: {
        TxnRequest t;
        *t.add_compare() = MakeCompare(step, m);
        const bool succeeded = ModelCompare(step, m);
        // Writes go to distinct keys (etcd refuses duplicates); a repeated key becomes a read.
        auto build = [](const std::vector<TxnOp>& ops, google::protobuf::RepeatedPtrField<RequestOp>* out) {
          std::vector<TxnOp> kept;
          std::vector<bool> written(ModelKeys().size(), false);
          for (TxnOp op : ops) {
            const std::string& k = ModelKeys()[static_cast<size_t>(op.key)];
            if (op.what <= 1 && written[static_cast<size_t>(op.key)]) op.what = 2;
            if (op.what <= 1) written[static_cast<size_t>(op.key)] = true;
            kept.push_back(op);
            switch (op.what) {
              case 0: *out->Add() = OpPut(k, "t" + std::to_string(op.key)); break;
              case 1: *out->Add() = OpDelete(k); break;
              case 2: *out->Add() = OpRange(k); break;
              default: *out->Add() = OpRange(k, PrefixEnd(k)); break;
            }
          }
          return kept;
        };
        const std::vector<TxnOp> success = build(step.success, t.mutable_success());
        const std::vector<TxnOp> failure = build(step.failure, t.mutable_failure());
        CommandResult r = s.Txn(t);
        RC_ASSERT(r.ok());
        RC_ASSERT(r.response.txn().succeeded() == succeeded);
        const std::vector<TxnOp>& ops = succeeded ? success : failure;
        RC_ASSERT(r.response.txn().responses_size() == static_cast<int>(ops.size()));
        MState w = m.current();
        std::vector<MEvent> evs;
        for (size_t i = 0; i < ops.size(); ++i) {
          const std::string& k = ModelKeys()[static_cast<size_t>(ops[i].key)];
          const ResponseOp& resp = r.response.txn().responses(static_cast<int>(i));
          switch (ops[i].what) {
            case 0: Model::Put(&w, next, k, "t" + std::to_string(ops[i].key), &evs); break;
            case 1: Model::Delete(&w, next, k, &evs); break;
            default: {
              // Reads inside the branch see the branch's earlier writes.
              const Shape shape = ops[i].what == 2 ? Shape::kSingle : Shape::kPrefix;
              RC_ASSERT(Rendered(resp.response_range()) == ModelRange(w, k, shape));
            }
          }
        }
        m.Commit(std::move(w), std::move(evs));
        break;
      }
      case Kind::kCompact: {
        if (m.revision() <= m.compacted) {
          RC_ASSERT(s.Compact(m.revision()).error == (m.compacted == 0 ? ERROR_INVALID_ARGUMENT : ERROR_COMPACTED));
          break;
        }
        for (TrackedWatch& w : watches) {
          if (w.protect) DrainAll(&s, m, &w);
        }
        const int64_t at = m.compacted + 1 + step.number % (m.revision() - m.compacted);
        RC_ASSERT(s.Compact(at).ok());
        m.compacted = at;
        break;
      }
      case Kind::kWatch: {
        const int64_t start = m.compacted + 1 + step.number % (m.revision() + 1 - m.compacted);
        watches.push_back(NewWatch(&s, key, step.shape, start, step.prev_kv,
                                   static_cast<size_t>(1 + step.value), false));
        break;
      }
      case Kind::kDrain: {
        TrackedWatch& w = watches[static_cast<size_t>(step.target) % watches.size()];
        TakeOnce(&s, m, &w, static_cast<size_t>(1 + step.number % 4));
        break;
      }
    }
    RC_ASSERT(s.revision() == m.revision());
    RC_ASSERT(s.compacted_revision() == m.compacted);
    RC_ASSERT(Rendered(All(s).response) == ModelRange(m.current(), std::string(1, '\0'), Shape::kFromKey));
  }

  // Range at every revision: the model's copy, or the right error outside the window.
  for (int64_t rev = 1; rev <= m.revision() + 1; ++rev) {
    RangeResult all = All(s, rev);
    if (rev > m.revision()) {
      RC_ASSERT(all.error == ERROR_FUTURE_REVISION);
    } else if (rev < m.compacted) {
      RC_ASSERT(all.error == ERROR_COMPACTED);
      RC_ASSERT(all.compact_revision == m.compacted);
    } else {
      const MState& state = m.states[static_cast<size_t>(rev)];
      RC_ASSERT(Rendered(all.response) == ModelRange(state, std::string(1, '\0'), Shape::kFromKey));
      for (const std::string& k : ModelKeys()) {
        RC_ASSERT(Rendered(s.Range(RangeReq(k, PrefixEnd(k), rev)).response) == ModelRange(state, k, Shape::kPrefix));
        RC_ASSERT(Rendered(s.Range(RangeReq(k, "", rev)).response) == ModelRange(state, k, Shape::kSingle));
      }
    }
  }

  // Every watcher's stream is the model's diff sequence for its range (a prefix of it if a
  // compaction ended the watcher).
  bool any_canceled = false;
  for (TrackedWatch& w : watches) {
    DrainAll(&s, m, &w);
    const std::vector<std::string> want = ExpectedStream(m, w);
    if (w.canceled) {
      any_canceled = true;
      RC_ASSERT(w.got.size() <= want.size());
      RC_ASSERT(std::vector<std::string>(want.begin(), want.begin() + static_cast<std::ptrdiff_t>(w.got.size())) ==
                w.got);
    } else {
      RC_ASSERT(w.got == want);
    }
  }
  // The distribution RapidCheck prints: the interesting paths must actually be reached.
  RC_CLASSIFY(m.compacted > 0, "compacted");
  RC_CLASSIFY(watches.size() > 3, "watch from a past revision");
  RC_CLASSIFY(any_canceled, "a lagging watcher overtaken by compaction");
}

}  // namespace
}  // namespace ksim::store
