// A linearizability checker for register and kv histories (docs/LINCHECK.md).
//
// The search is Wing & Gong's ("Testing and verifying concurrent objects", JPDC 17(1), 1993)
// with Lowe's memoization of configurations ("Testing for linearizability", Concurrency and
// Computation: Practice and Experience 29(4), 2017): a depth-first search over the history's
// call/return entries that linearizes one call at a time and never explores a (set of
// linearized operations, model state) pair twice. A kv history is first split by key and each
// key checked on its own (Horn & Kroening, "Faster linearizability checking via
// P-compositionality", FORTE 2015): a history is linearizable iff every key's sub-history is.
//
// Every search is bounded (CheckOptions); exhausting a bound gives Verdict::kUnknown, never an
// unbounded run.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "faults/lincheck/history.h"

namespace ksim::lincheck {

enum class Verdict : uint8_t { kLinearizable, kNotLinearizable, kUnknown };
// "linearizable", "not linearizable", "unknown": the CLI's last line.
std::string_view VerdictName(Verdict v);

struct CheckOptions {
  // Distinct configurations one search may memoize before it gives up with kUnknown.
  uint64_t max_states = 5'000'000;
  // Bytes the memo table of one search may use before it gives up with kUnknown.
  uint64_t max_memory_bytes = uint64_t{1} << 30;
  // The search's reductions (checker.cc): reads first, cutting branches that starve an
  // observation of a value no remaining operation can produce, merging states no operation can
  // observe, and ordering candidates toward the most urgent observation. They never change a
  // verdict (the property tests compare both settings with a brute-force search); Check turns
  // them off for the small search whose longest linearizable prefix it reports.
  bool search_reductions = true;
  // Shrink the first failing key's history to a minimal non-linearizable sub-history.
  bool shrink = true;
  // Searches the shrinker may run, and configurations all of them together may explore (each
  // search also stays under the bounds above); when either runs out, the sub-history printed is
  // still not linearizable but may not be minimal.
  uint64_t max_shrink_searches = 20'000;
  uint64_t max_shrink_states = 20'000'000;
};

// Why a (sub-)history is not linearizable, from the search that got furthest.
struct Explanation {
  std::vector<size_t> order;    // the longest linearization found: indices into History::ops
  std::optional<size_t> stuck;  // the operation that completed before it could take effect
  Value state;                  // the object's state after `order`
  // True when the search had merged that state with every other state no later operation
  // observes (the search's reductions), so `state` is not meaningful.
  bool state_unobservable = false;
};

struct SearchResult {
  Verdict verdict = Verdict::kLinearizable;
  uint64_t states = 0;          // configurations memoized
  Explanation explanation;      // filled when verdict is kNotLinearizable
  std::string unknown_reason;   // filled when verdict is kUnknown
};

// Checks the operations `ops` (indices into history.ops, all of one key for kv) as one object.
SearchResult CheckObject(const History& history, const std::vector<size_t>& ops, const CheckOptions& options);

struct KeyResult {
  std::optional<Value> key;  // kv: the key; register: none
  size_t ops = 0;
  Verdict verdict = Verdict::kLinearizable;
  uint64_t states = 0;
};

struct CheckResult {
  Verdict verdict = Verdict::kLinearizable;
  std::vector<KeyResult> keys;  // one per key in key order (one entry for a register)
  uint64_t states = 0;          // summed over keys
  // When not linearizable: the first failing key's operations, shrunk (indices into
  // History::ops, in invoke order), and why that sub-history fails.
  std::optional<Value> failing_key;
  std::vector<size_t> minimal;
  size_t failing_key_ops = 0;
  // No single operation (with its dependents) can be removed (see Shrink); false when a shrink
  // budget ran out.
  bool minimal_is_one_minimal = false;
  Explanation explanation;
  std::string unknown_reason;  // when unknown: which key ran out of which budget
};

CheckResult Check(const History& history, const CheckOptions& options = {});

// Greedy shrinking (delta-debugging chunks, then single operations until a fixpoint): removes
// operations from `ops` while the rest stays not linearizable. `ops` must not be linearizable.
// One rule keeps the result readable: an operation that depends on a value (a read/get on its
// result, including each put or appended string its result contains; a cas on its expected
// value) is removed together with the last writer of that value, so a stale read never shrinks
// into "a read of a value nobody wrote". Sets *one_minimal when no single removal (with its
// dependents) keeps it failing (false if a budget ran out).
std::vector<size_t> Shrink(const History& history, std::vector<size_t> ops, const CheckOptions& options,
                           bool* one_minimal);

// The event lines of `ops` in history order, each followed by '\n'.
std::string FormatSubHistory(const History& history, const std::vector<size_t>& ops);

// The CLI's report: a summary, and for a violation the minimal sub-history and the
// explanation; its last line is VerdictName(result.verdict), followed by '\n'.
std::string FormatReport(const History& history, const CheckResult& result);

}  // namespace ksim::lincheck
