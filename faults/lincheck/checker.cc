#include "faults/lincheck/checker.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>  // tidy: lookup-only (ValueTable::appends_)

#include "cluster/env/random.h"
#include "faults/lincheck/model.h"

namespace ksim::lincheck {
namespace {

// ---------------------------------------------------------------------------------------------
// Values of one search, interned so that a model state is a single int32 and comparing states
// is comparing integers. Appends create strings nobody wrote; they are interned on demand and
// each (state, appended value) transition is computed once.
class ValueTable {
 public:
  ValueTable() { Intern(Value::Nil()); }

  int32_t Intern(const Value& v) {
    auto [it, inserted] = ids_.try_emplace(v, static_cast<int32_t>(values_.size()));
    if (inserted) {
      values_.push_back(v);
      bytes_ += sizeof(Value) + v.s.size() + 64;  // + a map node, roughly
    }
    return it->second;
  }

  // REQUIRES: id >= 0 (kUnobservable stands for many values, so it has none).
  const Value& Get(int32_t id) const { return values_[static_cast<size_t>(id)]; }

  int32_t Append(int32_t state, int32_t arg) {
    const uint64_t k = (static_cast<uint64_t>(static_cast<uint32_t>(state)) << 32) | static_cast<uint32_t>(arg);
    if (auto it = appends_.find(k); it != appends_.end()) return it->second;
    Operation op;
    op.kind = OpKind::kAppend;
    op.arg = Get(arg);
    const int32_t id = Intern(*ApplyOp(op, Get(state)));
    appends_.emplace(k, id);
    bytes_ += 32;
    return id;
  }

  uint64_t bytes() const { return bytes_; }
  size_t size() const { return values_.size(); }

 private:
  std::map<Value, int32_t> ids_;
  std::vector<Value> values_;
  std::unordered_map<uint64_t, int32_t> appends_;  // tidy: lookup-only (a memo; never iterated)
  uint64_t bytes_ = 0;
};

// One operation in the form the search steps: the model function of model.h on ids.
struct Step {
  OpKind kind = OpKind::kRead;
  int32_t a = 0;  // read/get: result; write/put/append: value; cas: expected
  int32_t b = 0;  // cas: new value
  // The state this operation leaves is one no operation of the object can observe (see
  // Search::Prune); such states are all the same state, kUnobservable.
  bool unobservable = false;
};

// The state after a write nobody reads, until the next write. No read, get or cas matches it
// (their values are real ids, never this), and appends keep it (they only extend a value).
constexpr int32_t kUnobservable = -1;

inline bool Apply(const Step& s, int32_t state, ValueTable* values, int32_t* next) {
  switch (s.kind) {
    case OpKind::kRead:
    case OpKind::kGet:
      *next = state;
      return state == s.a;
    case OpKind::kWrite:
    case OpKind::kPut:
      *next = s.unobservable ? kUnobservable : s.a;
      return true;
    case OpKind::kCas:
      *next = s.unobservable ? kUnobservable : s.b;
      return state == s.a;
    case OpKind::kAppend:
      *next = s.unobservable || state == kUnobservable ? kUnobservable : values->Append(state, s.a);
      return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// The memo of configurations already explored. A configuration is (set of linearized
// operations, state), but the set is stored compactly: every operation whose return comes
// before the frontier (the first return not yet lifted) is linearized, and none invoked after
// it is, so the set is determined by the frontier plus the linearized operations still in
// flight there. A key is [frontier, state, return entries of those operations, ascending]: a few
// words, where a bitset over all operations would make memory grow with the square of the
// history's length. Open addressing over keys packed in one arena, because a node-based set
// would spend more on allocation than the search spends on stepping.
class ConfigSet {
 public:
  ConfigSet() { slots_.resize(1024); }

  // Adds the configuration; false if it was already there. `hash` is of the set and state.
  bool Insert(const std::vector<uint32_t>& key, uint64_t hash) {
    if ((count_ + 1) * 2 > slots_.size()) Grow();
    const size_t mask = slots_.size() - 1;
    // Linear probing; the table is at most half full, so the loop ends at an empty slot.
    for (size_t k = hash & mask;; k = (k + 1) & mask) {
      Slot& slot = slots_[k];
      if (slot.offset == 0) {
        slot.hash = hash;
        arena_.push_back(static_cast<uint32_t>(key.size()));
        slot.offset = arena_.size();  // just past the length word, so never 0
        arena_.insert(arena_.end(), key.begin(), key.end());
        ++count_;
        return true;
      }
      if (slot.hash == hash && Equal(slot.offset, key)) return false;
    }
  }

  size_t size() const { return count_; }
  uint64_t bytes() const { return arena_.capacity() * sizeof(uint32_t) + slots_.size() * sizeof(Slot); }

 private:
  struct Slot {
    uint64_t hash = 0;
    uint64_t offset = 0;  // 0: empty, else where the key starts in arena_ (after its length)
  };

  bool Equal(uint64_t offset, const std::vector<uint32_t>& key) const {
    if (arena_[offset - 1] != key.size()) return false;
    return std::equal(key.begin(), key.end(), arena_.begin() + static_cast<std::ptrdiff_t>(offset));
  }

  void Grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.size() * 2, Slot{});
    const size_t mask = slots_.size() - 1;
    for (const Slot& sl : old) {
      if (sl.offset == 0) continue;
      size_t k = sl.hash & mask;
      while (slots_[k].offset != 0) k = (k + 1) & mask;
      slots_[k] = sl;
    }
  }

  size_t count_ = 0;
  std::vector<Slot> slots_;
  std::vector<uint32_t> arena_;
};

// ---------------------------------------------------------------------------------------------
// "Is t a substring of one of these strings?" in O(|t| log 257) after O(N log 257) setup, for
// N the strings' total length: a suffix automaton (Blumer et al. 1985) of the strings joined by
// a separator (257th symbol) that no query contains. Prune asks it once per write, where the
// plain scan would cost writes x reads x length.
class SubstringIndex {
 public:
  explicit SubstringIndex(const std::vector<const std::string*>& strings) {
    states_.emplace_back();
    for (const std::string* str : strings) {
      for (const char c : *str) Extend(static_cast<unsigned char>(c));
      Extend(kSeparator);
    }
  }

  bool Contains(std::string_view t) const {
    int32_t at = 0;
    for (const char c : t) {
      const auto& next = states_[static_cast<size_t>(at)].next;
      const auto it = next.find(static_cast<unsigned char>(c));
      if (it == next.end()) return false;
      at = it->second;
    }
    return true;
  }

 private:
  static constexpr int kSeparator = 256;
  struct State {
    int32_t link = -1;
    int32_t len = 0;
    std::map<int, int32_t> next;
  };

  // The classic online construction; states are addressed by index because the vector grows.
  void Extend(int c) {
    const auto cur = static_cast<int32_t>(states_.size());
    states_.emplace_back();
    states_.back().len = states_[static_cast<size_t>(last_)].len + 1;
    int32_t p = last_;
    while (p != -1 && !states_[static_cast<size_t>(p)].next.count(c)) {
      states_[static_cast<size_t>(p)].next[c] = cur;
      p = states_[static_cast<size_t>(p)].link;
    }
    if (p == -1) {
      states_[static_cast<size_t>(cur)].link = 0;
    } else {
      const int32_t q = states_[static_cast<size_t>(p)].next[c];
      if (states_[static_cast<size_t>(p)].len + 1 == states_[static_cast<size_t>(q)].len) {
        states_[static_cast<size_t>(cur)].link = q;
      } else {
        const auto clone = static_cast<int32_t>(states_.size());
        State copy = states_[static_cast<size_t>(q)];
        copy.len = states_[static_cast<size_t>(p)].len + 1;
        states_.push_back(std::move(copy));
        while (p != -1 && states_[static_cast<size_t>(p)].next[c] == q) {
          states_[static_cast<size_t>(p)].next[c] = clone;
          p = states_[static_cast<size_t>(p)].link;
        }
        states_[static_cast<size_t>(q)].link = clone;
        states_[static_cast<size_t>(cur)].link = clone;
      }
    }
    last_ = cur;
  }

  std::vector<State> states_;
  int32_t last_ = 0;
};

// A trie of put values' text, to find the puts whose text is a prefix of a get's value in
// O(length of the value) instead of one comparison per put.
class PrefixTrie {
 public:
  PrefixTrie() : nodes_(1) {}

  void Add(std::string_view text, int32_t id) {
    size_t at = 0;
    for (const char c : text) {
      auto [it, inserted] = nodes_[at].next.try_emplace(c, static_cast<int32_t>(nodes_.size()));
      const auto child = static_cast<size_t>(it->second);
      if (inserted) nodes_.emplace_back();
      at = child;
    }
    nodes_[at].ids.push_back(id);
  }

  // Counts of texts under each node, for the "is any remaining text an extension of this one?"
  // question: Count adds delta along `text`'s path (which Add must have created).
  void Count(std::string_view text, int32_t delta) {
    size_t at = 0;
    nodes_[at].count += delta;
    for (const char c : text) {
      at = static_cast<size_t>(nodes_[at].next.find(c)->second);
      nodes_[at].count += delta;
    }
  }
  bool HasExtension(std::string_view text) const {
    size_t at = 0;
    for (const char c : text) {
      const auto it = nodes_[at].next.find(c);
      if (it == nodes_[at].next.end()) return false;
      at = static_cast<size_t>(it->second);
    }
    return nodes_[at].count > 0;
  }

  // Calls fn(id) for every added text that is a prefix of `text` (including the empty text).
  template <typename Fn>
  void ForEachPrefix(std::string_view text, Fn fn) const {
    size_t at = 0;
    for (size_t k = 0;; ++k) {
      for (int32_t id : nodes_[at].ids) fn(id);
      if (k == text.size()) return;
      const auto it = nodes_[at].next.find(text[k]);
      if (it == nodes_[at].next.end()) return;
      at = static_cast<size_t>(it->second);
    }
  }

 private:
  struct Node {
    std::map<char, int32_t> next;
    std::vector<int32_t> ids;
    int32_t count = 0;
  };
  std::vector<Node> nodes_;
};

// ---------------------------------------------------------------------------------------------
// The WGL search with Lowe's memoization over one object's operations.
//
// The history is a doubly linked list of entries in real-time order: a call entry at each
// invoke and a return entry at each completion. An indeterminate (:info or never completed)
// operation's return is at +infinity, after every other entry. A configuration is the set of
// operations linearized so far plus the model state; linearizing an operation unlinks its call
// and return ("lifting" it, dancing-links style, so backtracking puts it back in O(1)).
//
// In a configuration the first return entry left in the list is the frontier: its operation
// must be linearized before anything invoked after it, so the candidates for the next
// linearization point are exactly the calls in front of the frontier. If the frontier is the
// end of the list, or the return of an indeterminate operation (so every definite operation
// has been linearized), the history is linearizable: indeterminate operations left over are
// the ones that never took effect. If no candidate can take effect in a configuration not seen
// before, the search backtracks.
//
// That is the whole algorithm, and with CheckOptions::search_reductions off it is all that runs
// (apart from the candidate order, which never matters to the verdict). With many operations in
// flight on one object it wanders, though: a wrong early choice (a write linearized too soon)
// is only noticed when the read it starved reaches its return, and every subset of the
// operations in between is tried first. The reductions, none of which changes a verdict:
// - Reads first. A read/get that can take effect now is linearized now and nothing else is
//   tried in that configuration: moving a read that is legal now to now keeps any linearization
//   valid (it does not change the state, and every operation that must precede it already has),
//   so if the configuration with the read fails, the configuration without it fails too.
// - Doomed configurations are cut at once: when an observation that must still happen needs a
//   value no remaining operation can produce (SetUpOrphans for registers and put/get objects,
//   SetUpChains for objects with appends).
// - States nobody can observe are merged into one (Prune, kUnobservable), and indeterminate
//   operations whose effect nobody could have seen are dropped.
// - Candidate order: earliest return first, after the operations that lead toward the value
//   the most urgent unsatisfied observation needs (Frontier). Real executions take effect
//   roughly in that order, so a linearizable history is usually found without backtracking.
class Search {
 public:
  Search(const History& history, const std::vector<size_t>& ops, const CheckOptions& options)
      : history_(history), ops_(ops), options_(options) {}

  SearchResult Run() {
    SearchResult result;
    if (ops_.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max() / 4)) {
      result.verdict = Verdict::kUnknown;
      result.unknown_reason = fmt::format("{} operations on one object is more than the checker indexes", ops_.size());
      return result;
    }
    Prune();
    const size_t n = active_.size();
    if (n == 0) return result;
    Build();
    SetUpOrphans();
    SetUpChains();
    ConfigSet seen;
    std::set<int32_t> lifted_returns;  // return entries of the linearized operations
    std::vector<uint32_t> key;
    struct Frame {
      int32_t entry;   // the call linearized
      int32_t state;   // the state before it took effect
      uint32_t index;  // its position among the parent's candidates
      bool forced;     // a read taken as the parent's only move
    };
    std::vector<Frame> stack;
    stack.reserve(n);
    std::vector<int32_t> candidates;
    int32_t state = values_.Intern(history_.initial);
    uint64_t hash = 0;  // Zobrist hash of the set of linearized operations
    bool have_best = false;
    size_t resume = 0;   // first candidate to try in this configuration
    bool fresh = true;   // first visit of this configuration (not a return from a child)

    // Tries to linearize `call` from the current configuration; true if it descended.
    auto descend = [&](int32_t call, size_t index, bool forced, bool* budget_out) {
      const int32_t op = entries_[static_cast<size_t>(call)].op;
      int32_t next_state = 0;
      if (!Apply(steps_[static_cast<size_t>(op)], state, &values_, &next_state)) return false;
      // An indeterminate operation whose effect no remaining operation could see is never needed:
      // leaving it out of any linearization that has it here keeps that linearization valid (as in
      // Prune, but judged against the operations still to come).
      const bool indefinite_write = indefinite_[static_cast<size_t>(op)] &&
                                    steps_[static_cast<size_t>(op)].kind != OpKind::kRead &&
                                    steps_[static_cast<size_t>(op)].kind != OpKind::kGet;
      if (track_orphans_) {
        Take(op);
        if (Doomed(next_state) || (indefinite_write && Unwatched(next_state))) {
          Untake(op);
          return false;
        }
      }
      if (chain_check_) {
        ChainTake(op, +1);
        next_state = Canonical(next_state);
        if (indefinite_write && next_state == kUnobservable) {
          ChainTake(op, -1);
          return false;
        }
      }
      // Lift first: the key needs the frontier of the new configuration.
      Lift(call);
      const int32_t ret = entries_[static_cast<size_t>(call)].match;
      lifted_returns.insert(ret);
      int32_t frontier = next_[kHead];
      while (frontier != tail_ && entries_[static_cast<size_t>(frontier)].call) frontier = next_[static_cast<size_t>(frontier)];
      key.clear();
      key.push_back(static_cast<uint32_t>(frontier));
      key.push_back(static_cast<uint32_t>(next_state));
      for (auto it = lifted_returns.upper_bound(frontier); it != lifted_returns.end(); ++it) {
        key.push_back(static_cast<uint32_t>(*it));
      }
      const uint64_t next_hash = hash ^ zobrist_[static_cast<size_t>(op)];
      if (!seen.Insert(key, next_hash ^ Random::Mix64(static_cast<uint64_t>(next_state)))) {
        // Explored before, and it failed (a success ends the search): undo.
        lifted_returns.erase(ret);
        Unlift(call);
        if (track_orphans_) Untake(op);
        if (chain_check_) ChainTake(op, -1);
        return false;
      }
      if (seen.size() > options_.max_states || seen.bytes() + values_.bytes() > options_.max_memory_bytes) {
        *budget_out = true;  // the search ends here; no need to undo
        return false;
      }
      stack.push_back(Frame{call, state, static_cast<uint32_t>(index), forced});
      state = next_state;
      hash = next_hash;
      return true;
    };

    while (true) {
      const int32_t frontier = Frontier(state, &candidates);
      if (frontier == tail_ || entries_[static_cast<size_t>(frontier)].indefinite) {
        result.states = seen.size();
        return result;
      }
      bool descended = false;
      bool out_of_budget = false;
      // A get whose value the object can no longer reach makes this a dead end.
      const bool doomed = chain_check_ && fresh && !AllGetsReachable(state);
      bool forced_read = false;
      if (fresh && !doomed && options_.search_reductions) {
        for (size_t k = 0; k < candidates.size(); ++k) {
          const Step& s = steps_[static_cast<size_t>(entries_[static_cast<size_t>(candidates[k])].op)];
          if ((s.kind == OpKind::kRead || s.kind == OpKind::kGet) && s.a == state) {
            forced_read = true;
            descended = descend(candidates[k], k, /*forced=*/true, &out_of_budget);
            break;
          }
        }
      }
      for (size_t k = resume; !doomed && !forced_read && !descended && !out_of_budget && k < candidates.size(); ++k) {
        descended = descend(candidates[k], k, /*forced=*/false, &out_of_budget);
      }
      if (out_of_budget) return GiveUp(&result, seen);
      if (descended) {
        fresh = true;
        resume = 0;
        continue;
      }
      // A dead end: the frontier's operation cannot be linearized from here.
      if (!have_best || stack.size() > result.explanation.order.size()) {
        have_best = true;
        result.explanation.order.clear();
        for (const Frame& f : stack) result.explanation.order.push_back(GlobalOp(f.entry));
        result.explanation.stuck = GlobalOp(frontier);
        result.explanation.state = state == kUnobservable ? Value::Nil() : values_.Get(state);
        result.explanation.state_unobservable = state == kUnobservable;
      }
      // Backtrack to the nearest configuration with an alternative left. A forced read's parent
      // has none: it fails with its child.
      Frame f{};
      do {
        if (stack.empty()) {
          result.verdict = Verdict::kNotLinearizable;
          result.states = seen.size();
          return result;
        }
        f = stack.back();
        stack.pop_back();
        const int32_t op = entries_[static_cast<size_t>(f.entry)].op;
        lifted_returns.erase(entries_[static_cast<size_t>(f.entry)].match);
        hash ^= zobrist_[static_cast<size_t>(op)];
        state = f.state;
        if (track_orphans_) Untake(op);
        if (chain_check_) ChainTake(op, -1);
        Unlift(f.entry);
      } while (f.forced);
      fresh = false;
      resume = f.index + 1;
    }
  }

 private:
  static constexpr int32_t kHead = 0;
  // Above this much distinct observed text, Prune does not index it (see Prune).
  static constexpr uint64_t kMaxIndexBytes = 16 << 20;
  static constexpr int kMaxSeedlessChecks = 1024;

  struct Entry {
    int32_t op = 0;      // local operation index (into active_)
    int32_t match = 0;   // for a call: its return entry
    bool call = false;
    bool indefinite = false;  // the return of an indeterminate operation
  };

  SearchResult& GiveUp(SearchResult* result, const ConfigSet& seen) {
    result->verdict = Verdict::kUnknown;
    result->states = seen.size();
    if (seen.size() > options_.max_states) {
      result->unknown_reason = fmt::format("gave up after {} configurations (the --max-states budget)",
                                           options_.max_states);
    } else {
      result->unknown_reason = fmt::format("gave up when the memo reached {} MiB (the memory budget) after {} "
                                           "configurations",
                                           options_.max_memory_bytes >> 20, seen.size());
    }
    result->explanation = Explanation{};
    return *result;
  }

  // Orphan tracking (CheckOptions::search_reductions). A definite read/get of v, or a definite cas
  // expecting v, needs the object to hold v when it takes effect. Once no unlinearized operation
  // can produce v (a write/put of v, a cas to v) and the object does not hold v now, it never
  // will again: the configuration is doomed however far the search could still walk. Without
  // this, a wrong early choice (a write linearized too soon) is only noticed when the read it
  // starved reaches its return, and with many operations in flight every subset of the ones in
  // between is tried first. Appends make values no one wrote, so objects with appends skip it.
  void SetUpOrphans() {
    track_orphans_ = options_.search_reductions;
    for (const Step& s : steps_) track_orphans_ = track_orphans_ && s.kind != OpKind::kAppend;
    if (!track_orphans_) return;
    const size_t n = steps_.size();
    needs_.assign(n, -1);
    makes_.assign(n, -1);
    watches_.assign(n, -1);
    for (size_t k = 0; k < n; ++k) {
      const Step& s = steps_[k];
      const bool definite = !history_.ops[active_[k]].indefinite;
      switch (s.kind) {
        case OpKind::kRead:
        case OpKind::kGet: needs_[k] = s.a; break;
        case OpKind::kCas:
          if (definite) needs_[k] = s.a;
          else watches_[k] = s.a;
          makes_[k] = s.b;
          break;
        default: makes_[k] = s.a;
      }
    }
    readers_.assign(values_.size(), 0);
    producers_.assign(values_.size(), 0);
    watchers_.assign(values_.size(), 0);
    for (size_t k = 0; k < n; ++k) {
      if (needs_[k] >= 0) ++readers_[static_cast<size_t>(needs_[k])];
      if (makes_[k] >= 0) ++producers_[static_cast<size_t>(makes_[k])];
      if (watches_[k] >= 0) ++watchers_[static_cast<size_t>(watches_[k])];
    }
    orphans_ = 0;
    for (size_t v = 0; v < readers_.size(); ++v) orphans_ += IsOrphan(static_cast<int32_t>(v)) ? 1 : 0;
  }
  bool IsOrphan(int32_t v) const {
    return v >= 0 && readers_[static_cast<size_t>(v)] > 0 && producers_[static_cast<size_t>(v)] == 0;
  }
  void Adjust(std::vector<int32_t>* counts, int32_t v, int32_t delta) {
    orphans_ -= IsOrphan(v) ? 1 : 0;
    (*counts)[static_cast<size_t>(v)] += delta;
    orphans_ += IsOrphan(v) ? 1 : 0;
  }
  void Take(int32_t op) {
    const auto k = static_cast<size_t>(op);
    if (needs_[k] >= 0) Adjust(&readers_, needs_[k], -1);
    if (makes_[k] >= 0) Adjust(&producers_, makes_[k], -1);
    if (watches_[k] >= 0) --watchers_[static_cast<size_t>(watches_[k])];
  }
  void Untake(int32_t op) {
    const auto k = static_cast<size_t>(op);
    if (watches_[k] >= 0) ++watchers_[static_cast<size_t>(watches_[k])];
    if (makes_[k] >= 0) Adjust(&producers_, makes_[k], +1);
    if (needs_[k] >= 0) Adjust(&readers_, needs_[k], +1);
  }
  // No remaining operation could see `v`: no read of it, no cas expecting it.
  bool Unwatched(int32_t v) const {
    return v < 0 || (readers_[static_cast<size_t>(v)] == 0 && watchers_[static_cast<size_t>(v)] == 0);
  }
  bool Doomed(int32_t state) const { return orphans_ > (IsOrphan(state) ? 1 : 0); }

  // The same idea for objects with appends, where values are built rather than written: a get
  // of r can still succeed only if the object holds r, or an unlinearized put's value is a
  // prefix of r (appends may extend it to r; such puts are r's seeds), or the object's value is
  // a prefix of r and appends remain. Prefixes are on the values' text (see ApplyOp). Gets with
  // seeds left are always possible, so only the seedless ones are checked; in a healthy history
  // those are the few gets of the current put's "epoch".
  void SetUpChains() {
    chain_check_ = false;
    if (!options_.search_reductions) return;
    const size_t n = steps_.size();
    std::vector<size_t> gets, puts;
    appends_left_ = 0;
    for (size_t k = 0; k < n; ++k) {
      const OpKind kind = steps_[k].kind;
      if (kind == OpKind::kAppend) ++appends_left_;
      if (kind == OpKind::kPut) puts.push_back(k);
      if (kind == OpKind::kGet) gets.push_back(k);
    }
    if (appends_left_ == 0) return;
    chain_check_ = true;
    seeds_left_.assign(n, 0);
    seeded_.assign(n, {});
    // finish_[g][i]: the rest of g's value from byte i on can be spelled by the object's
    // appended strings (each any number of times: a necessary condition, cheap to compute).
    PrefixTrie pieces;
    std::vector<size_t> piece_length;
    for (size_t k = 0; k < n; ++k) {
      if (steps_[k].kind != OpKind::kAppend) continue;
      const std::string& piece = values_.Get(steps_[k].a).s;
      pieces.Add(piece, static_cast<int32_t>(piece_length.size()));
      piece_length.push_back(piece.size());
    }
    finish_.assign(n, {});
    for (size_t g : gets) {
      const Value& r = values_.Get(steps_[g].a);
      if (r.kind != Value::Kind::kString) continue;
      std::vector<bool>& finish = finish_[g];
      finish.assign(r.s.size() + 1, false);
      finish[r.s.size()] = true;
      for (size_t i = r.s.size(); i-- > 0;) {
        pieces.ForEachPrefix(std::string_view(r.s).substr(i), [&](int32_t id) {
          const size_t len = piece_length[static_cast<size_t>(id)];
          if (len > 0 && finish[i + len]) finish[i] = true;
        });
      }
    }
    // A put of v seeds a get of r when v == r, or r is a string that is v's text followed by
    // appended strings.
    PrefixTrie trie;
    std::map<Value, std::vector<int32_t>> exact;
    for (size_t p : puts) {
      const Value& v = values_.Get(steps_[p].a);
      if (v.kind != Value::Kind::kString) exact[v].push_back(static_cast<int32_t>(p));
      trie.Add(Text(v), static_cast<int32_t>(p));
    }
    linearized_.assign(n, false);
    observers_ = PrefixTrie();
    for (size_t g : gets) {
      const Value& r = values_.Get(steps_[g].a);
      if (r.kind != Value::Kind::kString || history_.ops[active_[g]].indefinite) continue;
      observers_.Add(r.s, static_cast<int32_t>(g));
      observers_.Count(r.s, +1);
    }
    for (size_t g : gets) {
      const Value& r = values_.Get(steps_[g].a);
      auto seed = [&](int32_t p) {
        ++seeds_left_[g];
        seeded_[static_cast<size_t>(p)].push_back(static_cast<int32_t>(g));
      };
      if (r.kind == Value::Kind::kString) {
        trie.ForEachPrefix(r.s, [&](int32_t p) {
          if (finish_[g][Text(values_.Get(steps_[static_cast<size_t>(p)].a)).size()]) seed(p);
        });
      } else if (auto it = exact.find(r); it != exact.end()) {
        for (int32_t p : it->second) seed(p);
      }
      if (seeds_left_[g] == 0) seedless_.insert(static_cast<int32_t>(g));
    }
  }
  static std::string Text(const Value& v) {
    if (v.kind == Value::Kind::kString) return v.s;
    if (v.kind == Value::Kind::kInt) return std::to_string(v.i);
    return {};
  }
  // Linearizing (delta +1) or un-linearizing (-1) `op`, for the seedless set.
  void ChainTake(int32_t op, int delta) {
    const auto k = static_cast<size_t>(op);
    const Step& s = steps_[k];
    linearized_[k] = delta > 0;
    if (s.kind == OpKind::kAppend) appends_left_ -= delta;
    if (s.kind == OpKind::kGet && seeds_left_[k] == 0) {
      if (delta > 0) seedless_.erase(op);
      else seedless_.insert(op);
    }
    if (s.kind == OpKind::kGet) {
      const Value& r = values_.Get(s.a);
      if (r.kind == Value::Kind::kString && !history_.ops[active_[k]].indefinite) observers_.Count(r.s, -delta);
    }
    if (s.kind == OpKind::kPut) {
      for (int32_t g : seeded_[k]) {
        const auto gk = static_cast<size_t>(g);
        if (delta < 0 && seeds_left_[gk] == 0 && !linearized_[gk]) seedless_.erase(g);
        seeds_left_[gk] -= delta;
        if (delta > 0 && seeds_left_[gk] == 0 && !linearized_[gk]) seedless_.insert(g);
      }
    }
  }

  // A string state no remaining get can see, now or after more appends (no remaining get's value
  // starts with it), has the same future as kUnobservable: merge them. The remaining gets are
  // a function of the configuration's set, so this keeps the memo exact.
  int32_t Canonical(int32_t state) const {
    if (state < 0) return state;
    const Value& v = values_.Get(state);
    if (v.kind != Value::Kind::kString || observers_.HasExtension(v.s)) return state;
    return kUnobservable;
  }

  // Whether every seedless unlinearized definite get (the kMaxSeedlessChecks invoked first, to
  // bound the cost per configuration) can still find its value.
  bool AllGetsReachable(int32_t state) const {
    const std::string now_text = state == kUnobservable ? std::string() : Text(values_.Get(state));
    int checked = 0;
    for (auto it = seedless_.begin(); it != seedless_.end() && checked < kMaxSeedlessChecks; ++it, ++checked) {
      const auto k = static_cast<size_t>(*it);
      if (steps_[k].a == state || history_.ops[active_[k]].indefinite) continue;
      const Value& r = values_.Get(steps_[k].a);
      // Appends on an unobservable state stay unobservable: only a put could lead to r, and r
      // has no seeds left.
      if (state != kUnobservable && appends_left_ > 0 && r.kind == Value::Kind::kString &&
          r.s.starts_with(now_text) && finish_[k][now_text.size()]) {
        continue;
      }
      return false;
    }
    return true;
  }

  size_t GlobalOp(int32_t entry) const {
    return active_[static_cast<size_t>(entries_[static_cast<size_t>(entry)].op)];
  }

  // Fills `candidates` with the calls in front of the first return entry and returns that entry
  // (or the tail). Order: earliest return first, except that the operations that move the object
  // toward the value the most urgent unsatisfied observation needs come before the rest (see
  // Leads). The order is a function of the configuration, so a backtrack recomputes it exactly.
  int32_t Frontier(int32_t state, std::vector<int32_t>* candidates) const {
    candidates->clear();
    int32_t e = next_[kHead];
    while (e != tail_ && entries_[static_cast<size_t>(e)].call) {
      candidates->push_back(e);
      e = next_[static_cast<size_t>(e)];
    }
    std::sort(candidates->begin(), candidates->end(), [this](int32_t x, int32_t y) {
      return entries_[static_cast<size_t>(x)].match < entries_[static_cast<size_t>(y)].match;
    });
    if (!options_.search_reductions) return e;
    for (int32_t c : *candidates) {
      const Step& s = steps_[static_cast<size_t>(entries_[static_cast<size_t>(c)].op)];
      const bool observes = s.kind == OpKind::kRead || s.kind == OpKind::kGet || s.kind == OpKind::kCas;
      if (!observes || s.a == state) continue;
      const int32_t goal = s.a;
      std::stable_partition(candidates->begin(), candidates->end(),
                            [&](int32_t x) { return Leads(x, state, goal); });
      break;
    }
    return e;
  }

  // Whether linearizing `call` in `state` makes progress toward `goal`: it writes the goal (or,
  // with appends, a prefix of it), or it appends so that the value stays a prefix of the goal.
  bool Leads(int32_t call, int32_t state, int32_t goal) const {
    const Step& s = steps_[static_cast<size_t>(entries_[static_cast<size_t>(call)].op)];
    const Value& target = values_.Get(goal);
    switch (s.kind) {
      case OpKind::kWrite: return s.a == goal;
      case OpKind::kCas: return s.b == goal && s.a == state;
      case OpKind::kPut:
        return s.a == goal || (target.kind == Value::Kind::kString && target.s.starts_with(Text(values_.Get(s.a))));
      case OpKind::kAppend: {
        if (state == kUnobservable || target.kind != Value::Kind::kString) return false;
        const std::string now = Text(values_.Get(state));
        const std::string& piece = values_.Get(s.a).s;
        return target.s.size() >= now.size() + piece.size() && target.s.starts_with(now) &&
               target.s.compare(now.size(), piece.size(), piece) == 0;
      }
      default: return false;
    }
  }

  // Finds the writes whose effect no operation of the object could observe. After such a write
  // w of v takes effect the object holds v (for kv: a value containing v's text, since appends
  // only extend) until the next write or put; an operation in between would observe v: a read
  // returning v, a cas expecting v, a get whose value contains v. If no operation of the object
  // does that, every state from w up to the next write is unobservable, so:
  // - an indeterminate w is dropped: w is immediately overwritten (or last) in any
  //   linearization that contains it, so removing it leaves a valid linearization, and an
  //   indeterminate operation may be left out;
  // - a definite w leaves the single state kUnobservable (Step::unobservable): all such states
  //   have the same future, and merging them keeps the memo from telling apart, say, every
  //   order of ten appends nobody read.
  void Prune() {
    const bool reduce = options_.search_reductions;
    std::set<Value> exact;                      // values read, or expected by a cas
    std::vector<const std::string*> observed;  // string values read (kv substring checks)
    uint64_t writers = 0;
    for (size_t k : ops_) {
      const Operation& op = history_.ops[k];
      if (op.kind == OpKind::kRead || op.kind == OpKind::kGet) {
        exact.insert(op.result);
        if (op.result.kind == Value::Kind::kString) observed.push_back(&op.result.s);
      } else {
        if (op.kind == OpKind::kCas) exact.insert(op.arg);
        ++writers;
      }
    }
    // Distinct values only: gets of one value are common. Past kMaxIndexBytes of text, every
    // put and append counts as observed (the reduction is skipped, the verdict is the same).
    std::sort(observed.begin(), observed.end(), [](const std::string* a, const std::string* b) { return *a < *b; });
    observed.erase(std::unique(observed.begin(), observed.end(),
                               [](const std::string* a, const std::string* b) { return *a == *b; }),
                   observed.end());
    uint64_t observed_bytes = 0;
    for (const std::string* str : observed) observed_bytes += str->size();
    const bool substrings = writers > 0 && observed_bytes <= kMaxIndexBytes;
    std::optional<SubstringIndex> index;
    if (substrings) index.emplace(observed);
    auto seen_somewhere = [&](const std::string& text) { return text.empty() || !index || index->Contains(text); };
    active_.clear();
    unobservable_.clear();
    for (size_t k : ops_) {
      const Operation& op = history_.ops[k];
      bool unseen = false;
      switch (op.kind) {
        case OpKind::kWrite: unseen = !exact.count(op.arg); break;
        case OpKind::kCas: unseen = !exact.count(op.arg2); break;
        case OpKind::kPut: unseen = !exact.count(op.arg) && !seen_somewhere(Text(op.arg)); break;
        case OpKind::kAppend: unseen = !seen_somewhere(op.arg.s); break;
        default: break;
      }
      if (unseen && op.indefinite) continue;
      active_.push_back(k);
      unobservable_.push_back(unseen && reduce);
    }
  }

  void Build() {
    const size_t n = active_.size();
    struct Timed {
      int64_t time;
      int32_t op;
      bool call;
    };
    std::vector<Timed> timed;
    timed.reserve(2 * n);
    steps_.resize(n);
    zobrist_.resize(n);
    indefinite_.resize(n);
    for (size_t k = 0; k < n; ++k) {
      const Operation& op = history_.ops[active_[k]];
      const auto local = static_cast<int32_t>(k);
      timed.push_back({op.invoke_line, local, true});
      // An indeterminate operation stays open to the end of the history.
      timed.push_back({op.indefinite ? std::numeric_limits<int64_t>::max() : op.complete_line, local, false});
      Step& s = steps_[k];
      s.kind = op.kind;
      switch (op.kind) {
        case OpKind::kRead:
        case OpKind::kGet: s.a = values_.Intern(op.result); break;
        case OpKind::kCas:
          s.a = values_.Intern(op.arg);
          s.b = values_.Intern(op.arg2);
          break;
        default: s.a = values_.Intern(op.arg);
      }
      s.unobservable = unobservable_[k];
      indefinite_[k] = op.indefinite;
      zobrist_[k] = Random::Mix64(0x6a09e667f3bcc909ULL + k);
    }
    // Lines are distinct, so only the +infinity returns tie; they go in operation order.
    std::sort(timed.begin(), timed.end(), [](const Timed& x, const Timed& y) {
      if (x.time != y.time) return x.time < y.time;
      return x.op < y.op;
    });
    const size_t count = timed.size() + 2;  // + head and tail sentinels
    entries_.assign(count, Entry{});
    next_.assign(count, 0);
    prev_.assign(count, 0);
    tail_ = static_cast<int32_t>(count - 1);
    std::vector<int32_t> call_of(n, 0);
    for (size_t k = 0; k < timed.size(); ++k) {
      const auto idx = static_cast<int32_t>(k + 1);
      Entry& e = entries_[k + 1];
      e.op = timed[k].op;
      e.call = timed[k].call;
      const Operation& op = history_.ops[active_[static_cast<size_t>(e.op)]];
      e.indefinite = !e.call && op.indefinite;
      if (e.call) {
        call_of[static_cast<size_t>(e.op)] = idx;
      } else {
        entries_[static_cast<size_t>(call_of[static_cast<size_t>(e.op)])].match = idx;
      }
    }
    for (int32_t k = 0; k < tail_; ++k) {
      next_[static_cast<size_t>(k)] = k + 1;
      prev_[static_cast<size_t>(k + 1)] = k;
    }
  }

  // Unlinks a call and its return. Unlift restores them; it must undo in reverse order,
  // which the search's stack guarantees.
  void Lift(int32_t call) {
    const int32_t ret = entries_[static_cast<size_t>(call)].match;
    Unlink(call);
    Unlink(ret);
  }
  void Unlift(int32_t call) {
    const int32_t ret = entries_[static_cast<size_t>(call)].match;
    Relink(ret);
    Relink(call);
  }
  void Unlink(int32_t e) {
    next_[static_cast<size_t>(prev_[static_cast<size_t>(e)])] = next_[static_cast<size_t>(e)];
    prev_[static_cast<size_t>(next_[static_cast<size_t>(e)])] = prev_[static_cast<size_t>(e)];
  }
  void Relink(int32_t e) {
    next_[static_cast<size_t>(prev_[static_cast<size_t>(e)])] = e;
    prev_[static_cast<size_t>(next_[static_cast<size_t>(e)])] = e;
  }

  const History& history_;
  const std::vector<size_t>& ops_;
  const CheckOptions& options_;
  std::vector<size_t> active_;       // ops_ minus the pruned ones: the search's operations
  std::vector<bool> unobservable_;   // parallel to active_: Step::unobservable
  ValueTable values_;
  std::vector<Step> steps_;
  std::vector<bool> indefinite_;  // per operation
  std::vector<uint64_t> zobrist_;
  std::vector<Entry> entries_;
  std::vector<int32_t> next_;
  std::vector<int32_t> prev_;
  int32_t tail_ = 0;
  bool track_orphans_ = false;
  std::vector<int32_t> needs_;      // per operation: the value it needs to find, or -1
  std::vector<int32_t> makes_;      // per operation: the value it writes, or -1
  std::vector<int32_t> readers_;    // per value: unlinearized operations that need it
  std::vector<int32_t> producers_;  // per value: unlinearized operations that can write it
  std::vector<int32_t> watches_;    // per operation: the value an indeterminate cas expects, or -1
  std::vector<int32_t> watchers_;   // per value: unlinearized indeterminate cas expecting it
  int64_t orphans_ = 0;             // values with readers and no producers
  bool chain_check_ = false;
  int64_t appends_left_ = 0;                  // unlinearized appends
  std::vector<int32_t> seeds_left_;           // per get: unlinearized puts whose value prefixes its result
  std::vector<std::vector<int32_t>> seeded_;  // per put: the gets it is a seed of
  std::vector<bool> linearized_;              // per operation
  std::vector<std::vector<bool>> finish_;     // per get: which suffixes appends can spell
  std::set<int32_t> seedless_;                // unlinearized gets without seeds, in invoke order
  PrefixTrie observers_;                      // values of the unlinearized definite string gets
};

// While shrinking, an operation that depends on a value goes when the last writer of that value
// goes: without that rule greedy removal turns "a stale read of 3" into "a read of 3, a value
// nobody wrote", which is minimal but hides the actual bug; and with it, removing a chunk of a
// long history takes the reads of that chunk's writes along instead of being refused. Tokens
// are the values that writes, puts and cas produce and the strings appends add. A read/get
// consumes the token of its result, and (when the object has appends) every produced string its
// result contains; a cas consumes the token of its expected value. A token nobody produced is
// not tracked: that operation is wrong whatever else is kept. The substring matching is a
// readability heuristic, skipped when it would cost more than kMaxGuardWork comparisons.
class ObservationGuard {
 public:
  static constexpr uint64_t kMaxGuardWork = 20'000'000;

  ObservationGuard(const History& history, const std::vector<size_t>& ops) {
    std::map<std::string, int> ids;
    auto token = [&ids](std::string name) {
      auto [it, inserted] = ids.try_emplace(std::move(name), static_cast<int>(ids.size()));
      return it->second;
    };
    std::vector<std::pair<std::string, int>> pieces;  // produced strings and their tokens
    bool has_appends = false;
    uint64_t observations = 0;
    for (size_t k : ops) {
      const Operation& op = history.ops[k];
      int t = -1;
      switch (op.kind) {
        case OpKind::kWrite:
        case OpKind::kPut:
          t = token("v" + FormatValue(op.arg));
          if (op.arg.kind == Value::Kind::kString) pieces.emplace_back(op.arg.s, t);
          break;
        case OpKind::kCas:
          t = token("v" + FormatValue(op.arg2));
          if (op.arg2.kind == Value::Kind::kString) pieces.emplace_back(op.arg2.s, t);
          break;
        case OpKind::kAppend:
          has_appends = true;
          t = token("a" + op.arg.s);
          pieces.emplace_back(op.arg.s, t);
          break;
        default: ++observations; break;
      }
      if (t >= 0) produces_[k].push_back(t);
    }
    std::sort(pieces.begin(), pieces.end());
    pieces.erase(std::unique(pieces.begin(), pieces.end()), pieces.end());
    const bool substrings = has_appends && observations * pieces.size() <= kMaxGuardWork;
    produced_.assign(ids.size(), 0);
    for (const auto& entry : produces_) {
      for (int t : entry.second) ++produced_[static_cast<size_t>(t)];
    }
    consumers_.assign(ids.size(), {});
    kept_.insert(ops.begin(), ops.end());
    for (size_t k : ops) {
      const Operation& op = history.ops[k];
      const bool observes = op.kind == OpKind::kRead || op.kind == OpKind::kGet;
      const Value* needed = observes ? &op.result : op.kind == OpKind::kCas ? &op.arg : nullptr;
      // The value every object starts with needs no writer.
      if (!needed || *needed == history.initial) continue;
      std::vector<int> tokens;
      if (auto it = ids.find("v" + FormatValue(*needed)); it != ids.end()) tokens.push_back(it->second);
      if (substrings && observes && needed->kind == Value::Kind::kString) {
        for (const auto& [piece, t] : pieces) {
          if (!piece.empty() && needed->s.find(piece) != std::string::npos) tokens.push_back(t);
        }
      }
      std::sort(tokens.begin(), tokens.end());
      tokens.erase(std::unique(tokens.begin(), tokens.end()), tokens.end());
      for (int t : tokens) consumers_[static_cast<size_t>(t)].push_back(k);
    }
  }

  // `removed` plus every kept operation that would be left needing a value no kept operation
  // writes (and, transitively, the ones that needed what those wrote).
  std::vector<size_t> Closure(const std::vector<size_t>& removed) const {
    std::set<size_t> out(removed.begin(), removed.end());
    std::map<int, int64_t> lost;  // token -> kept producers removed
    std::vector<size_t> queue(removed.begin(), removed.end());
    // Each operation enters the queue at most once (guarded by `out`).
    while (!queue.empty()) {
      const size_t x = queue.back();
      queue.pop_back();
      const auto it = produces_.find(x);
      if (it == produces_.end()) continue;
      for (int t : it->second) {
        if (produced_[static_cast<size_t>(t)] - ++lost[t] > 0) continue;
        for (size_t c : consumers_[static_cast<size_t>(t)]) {
          if (kept_.count(c) && out.insert(c).second) queue.push_back(c);
        }
      }
    }
    return std::vector<size_t>(out.begin(), out.end());
  }

  void Remove(const std::vector<size_t>& removed) {
    for (size_t k : removed) {
      kept_.erase(k);
      if (auto it = produces_.find(k); it != produces_.end()) {
        for (int t : it->second) --produced_[static_cast<size_t>(t)];
      }
    }
  }

 private:
  std::map<size_t, std::vector<int>> produces_;   // op index -> tokens
  std::vector<std::vector<size_t>> consumers_;    // token -> ops that need it
  std::vector<int64_t> produced_;                 // token -> kept producers
  std::set<size_t> kept_;
};

std::string ObjectName(const History& history, const std::optional<Value>& key) {
  if (history.model == ModelKind::kRegister || !key) return "the register";
  return "key " + FormatValue(*key);
}

// Why the stuck operation cannot follow the longest order found.
std::string WhyStuck(const History& history, const CheckResult& result) {
  const Explanation& ex = result.explanation;
  if (!ex.stuck) return {};
  const Operation& op = history.ops[*ex.stuck];
  const std::string object = ObjectName(history, result.failing_key);
  if (ex.state_unobservable) {
    return fmt::format("after that prefix {} holds a value no later operation reads, and every order that lets it "
                       "take effect fails later",
                       object);
  }
  const std::string holds = ex.order.empty() ? fmt::format("initially {} is {}", object, FormatValue(ex.state))
                                             : fmt::format("after that prefix {} holds {}", object, FormatValue(ex.state));
  if (!ApplyOp(op, ex.state)) {
    switch (op.kind) {
      case OpKind::kRead:
      case OpKind::kGet:
        return fmt::format("it returned {}, but {}", FormatValue(op.result), holds);
      case OpKind::kCas:
        return fmt::format("it succeeded expecting {}, but {}", FormatValue(op.arg), holds);
      default: break;
    }
  }
  return fmt::format("{}, and every order that lets it take effect there fails later", holds);
}

}  // namespace

std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kLinearizable: return "linearizable";
    case Verdict::kNotLinearizable: return "not linearizable";
    case Verdict::kUnknown: return "unknown";
  }
  return "unknown";
}

SearchResult CheckObject(const History& history, const std::vector<size_t>& ops, const CheckOptions& options) {
  Search search(history, ops, options);
  SearchResult result = search.Run();
  return result;
}

std::vector<size_t> Shrink(const History& history, std::vector<size_t> ops, const CheckOptions& options,
                           bool* one_minimal) {
  ObservationGuard guard(history, ops);
  uint64_t budget = options.max_shrink_searches;
  uint64_t states_left = options.max_shrink_states;
  bool exhausted = false;
  // Tries removing ops[start, start + len) and what depends on them; commits and returns true if
  // the rest still fails.
  auto try_remove = [&](size_t start, size_t len) {
    if (len >= ops.size()) return false;
    const std::vector<size_t> removed = guard.Closure(std::vector<size_t>(
        ops.begin() + static_cast<std::ptrdiff_t>(start), ops.begin() + static_cast<std::ptrdiff_t>(start + len)));
    if (removed.size() >= ops.size()) return false;
    if (budget == 0 || states_left == 0) {
      exhausted = true;
      return false;
    }
    --budget;
    CheckOptions bounded = options;
    bounded.max_states = std::min(options.max_states, states_left);
    std::vector<size_t> candidate;
    candidate.reserve(ops.size() - removed.size());
    for (size_t op : ops) {
      if (!std::binary_search(removed.begin(), removed.end(), op)) candidate.push_back(op);
    }
    // An unknown verdict does not count as failing: the shrunk history must be a proven violation.
    const SearchResult r = CheckObject(history, candidate, bounded);
    states_left -= std::min(states_left, r.states);
    if (r.verdict != Verdict::kNotLinearizable) return false;
    guard.Remove(removed);
    ops = std::move(candidate);
    return true;
  };
  // Large chunks first (delta debugging), so a long history loses its irrelevant bulk in a
  // logarithmic number of searches rather than one search per operation.
  for (size_t chunk = ops.size() / 2; chunk >= 2 && !exhausted; chunk /= 2) {
    for (size_t start = 0; start + chunk <= ops.size() && !exhausted;) {
      if (!try_remove(start, chunk)) start += chunk;  // on success the next chunk moved to `start`
    }
  }
  // Then one operation at a time, latest first, until a whole pass removes nothing. Each pass
  // removes at least one operation or ends the loop, so there are at most ops.size() + 1 passes.
  bool changed = true;
  while (changed && !exhausted) {
    changed = false;
    for (size_t k = ops.size(); k-- > 0 && !exhausted;) {
      if (try_remove(k, 1)) changed = true;
    }
  }
  *one_minimal = !exhausted && !changed;
  return ops;
}

CheckResult Check(const History& history, const CheckOptions& options) {
  CheckResult result;
  // P-compositionality: one object per key (the register is a single object).
  std::map<std::optional<Value>, std::vector<size_t>> objects;
  for (size_t k = 0; k < history.ops.size(); ++k) {
    std::optional<Value> key;
    if (history.model == ModelKind::kKv) key = history.ops[k].key;
    objects[key].push_back(k);
  }
  if (objects.empty()) objects[std::nullopt] = {};
  const std::vector<size_t>* failing = nullptr;
  bool any_unknown = false;
  for (const auto& [key, ops] : objects) {
    SearchResult r = CheckObject(history, ops, options);
    result.keys.push_back(KeyResult{key, ops.size(), r.verdict, r.states});
    result.states += r.states;
    if (r.verdict == Verdict::kNotLinearizable && !failing) {
      failing = &ops;
      result.failing_key = key;
      result.failing_key_ops = ops.size();
      result.explanation = r.explanation;
    }
    if (r.verdict == Verdict::kUnknown && !any_unknown) {
      any_unknown = true;
      result.unknown_reason = key ? fmt::format("key {}: {}", FormatValue(*key), r.unknown_reason) : r.unknown_reason;
    }
  }
  if (failing) {
    // A definite violation on one key decides the whole history, whatever the others say.
    result.verdict = Verdict::kNotLinearizable;
    result.minimal = *failing;
    if (options.shrink) result.minimal = Shrink(history, *failing, options, &result.minimal_is_one_minimal);
    // Explain the (small) failing history with the plain search: doomed-branch pruning stops
    // branches early, so its deepest configuration is not the longest linearizable prefix.
    CheckOptions plain = options;
    plain.search_reductions = false;
    SearchResult again = CheckObject(history, result.minimal, plain);
    if (again.verdict == Verdict::kNotLinearizable) result.explanation = again.explanation;
  } else if (any_unknown) {
    result.verdict = Verdict::kUnknown;
  }
  return result;
}

std::string FormatSubHistory(const History& history, const std::vector<size_t>& ops) {
  std::vector<std::pair<int64_t, std::string>> lines;
  for (size_t k : ops) {
    const Operation& op = history.ops[k];
    OpLines l = OpEventLines(history.model, op);
    lines.emplace_back(op.invoke_line, std::move(l.invoke));
    if (!l.complete.empty()) lines.emplace_back(op.complete_line, std::move(l.complete));
  }
  std::stable_sort(lines.begin(), lines.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  for (const auto& [line, text] : lines) out += text + "\n";
  return out;
}

std::string FormatReport(const History& history, const CheckResult& result) {
  const HistoryStats& st = history.stats;
  std::string out;
  out += fmt::format("model: {}\n", ModelName(history.model));
  if (!history.initial.is_nil()) {
    out += fmt::format("initial value: {}\n", FormatValue(history.initial));
  }
  out += fmt::format(
      "history: {} events, {} operations checked ({} ok, {} info, {} never completed); dropped: {} failed, {} "
      "reads without a result; {} nemesis events skipped\n",
      st.events, history.ops.size(), st.ok, st.info, st.pending, st.failed, st.dropped_reads, st.nemesis);
  if (history.model == ModelKind::kKv) {
    size_t counts[3] = {0, 0, 0};
    for (const KeyResult& k : result.keys) {
      if (k.key) ++counts[static_cast<size_t>(k.verdict)];
    }
    out += fmt::format("keys: {} ({} linearizable, {} not linearizable, {} unknown)\n", counts[0] + counts[1] + counts[2],
                       counts[0], counts[1], counts[2]);
  }
  out += fmt::format("search: {} configurations explored\n", result.states);
  if (result.verdict == Verdict::kUnknown) out += "unknown: " + result.unknown_reason + "\n";
  if (result.verdict == Verdict::kNotLinearizable) {
    const std::string object = ObjectName(history, result.failing_key);
    if (history.model == ModelKind::kKv) {
      std::string others;
      for (const KeyResult& k : result.keys) {
        if (k.verdict == Verdict::kNotLinearizable && k.key != result.failing_key) {
          others += (others.empty() ? "" : ", ") + FormatValue(*k.key);
        }
      }
      out += fmt::format("{} is not linearizable{}\n", object,
                         others.empty() ? "" : " (other keys that are not: " + others + ")");
    }
    out += fmt::format("minimal non-linearizable sub-history ({} of the {} operations on {}{}):\n",
                       result.minimal.size(), result.failing_key_ops, object,
                       result.minimal_is_one_minimal
                           ? "; removing any one of them, with the reads of what it wrote, makes it linearizable"
                                                     : "; shrinking stopped early, it may not be minimal");
    out += FormatSubHistory(history, result.minimal);
    const Explanation& ex = result.explanation;
    if (ex.stuck) {
      if (ex.order.empty()) {
        out += "explanation: ";
      } else {
        out += fmt::format("explanation: the longest linearizable prefix found has {} operation{}:\n", ex.order.size(),
                           ex.order.size() == 1 ? "" : "s");
        for (size_t k = 0; k < ex.order.size(); ++k) {
          out += fmt::format("  {}. {}\n", k + 1, DescribeOp(history.model, history.ops[ex.order[k]]));
        }
        out += "then ";
      }
      out += fmt::format("{} could not be linearized before it completed: {}\n",
                         DescribeOp(history.model, history.ops[*ex.stuck]), WhyStuck(history, result));
    }
  }
  out += std::string(VerdictName(result.verdict)) + "\n";
  return out;
}

}  // namespace ksim::lincheck
