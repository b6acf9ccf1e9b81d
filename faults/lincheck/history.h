// Histories for the linearizability checker: Jepsen-style events, one per line, turned into
// operations (an invoke paired with its completion) for a model.
//
//   {:process 0, :type :invoke, :f :cas, :value [1 2]}
//   {:process 0, :type :ok, :f :cas, :value [1 2]}
//   {"process":3,"type":"invoke","f":"put","key":"k","value":"x"}      (JSON lines work too)
//
// Semantics (docs/LINCHECK.md has the whole story):
// - An operation's arguments come from its invoke; a read's/get's result from its :ok.
// - :fail means the operation did not happen: it is dropped.
// - :info means unknown: it may have happened at any instant after its invoke, or never. Its
//   return is at +infinity. The process id may not be used again (Jepsen gives a new one).
// - An invoke still open at the end of the history is treated like :info.
// - A read/get that did not complete :ok observed nothing and is dropped.
// - Events of `:process :nemesis` are skipped; unknown fields (:time, :index, :error ...) are
//   ignored.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/env/status.h"

namespace ksim::lincheck {

enum class ModelKind : uint8_t {
  kRegister,  // one register: :read, :write v, :cas [expected new]; initially History::initial
  kKv,        // a map of registers by :key: :get, :put v, :append v (string append); each key
              // initially History::initial
};
std::string_view ModelName(ModelKind m);
// "register" or "kv"; InvalidArgument otherwise.
Status ParseModelName(std::string_view name, ModelKind* out);

// A register value or kv key/value: nil, a 64-bit integer or a string. Values of different
// kinds are never equal (1 is not "1").
struct Value {
  enum class Kind : uint8_t { kNil, kInt, kString };
  Kind kind = Kind::kNil;
  int64_t i = 0;
  std::string s;

  static Value Nil() { return Value{}; }
  static Value Int(int64_t v) { return Value{Kind::kInt, v, {}}; }
  static Value Str(std::string v) { return Value{Kind::kString, 0, std::move(v)}; }
  bool is_nil() const { return kind == Kind::kNil; }
  friend auto operator<=>(const Value&, const Value&) = default;
};
// EDN rendering: nil, 12, "text".
std::string FormatValue(const Value& v);

enum class OpKind : uint8_t { kRead, kWrite, kCas, kGet, kPut, kAppend };
std::string_view OpKindName(OpKind k);  // "read", "write", ...

struct Operation {
  int64_t process = 0;
  OpKind kind = OpKind::kRead;
  Value key;     // kv only
  Value arg;     // write/put/append: the value; cas: the expected value
  Value arg2;    // cas: the new value
  Value result;  // read/get: the value its :ok returned
  // True when the completion was :info or never came: the operation may or may not have
  // taken effect, at any instant after its invoke.
  bool indefinite = false;
  // Lines of the invoke and of the completion (0: none). Lines are also the history's clock:
  // an operation precedes another in real time iff its completion line < the other's invoke.
  int64_t invoke_line = 0;
  int64_t complete_line = 0;
  // The input lines themselves, so a sub-history prints in the input's own format.
  std::string invoke_text;
  std::string complete_text;
};

struct HistoryStats {
  int64_t events = 0;            // event lines read (not comments, not blank)
  int64_t ok = 0;                // operations that completed :ok
  int64_t info = 0;              // operations that completed :info
  int64_t failed = 0;            // :fail, dropped
  int64_t pending = 0;           // invoked, never completed (treated as :info)
  int64_t dropped_reads = 0;     // reads/gets without an :ok result, dropped
  int64_t nemesis = 0;           // :process :nemesis events, skipped
};

struct History {
  ModelKind model = ModelKind::kRegister;
  std::vector<Operation> ops;  // in invoke order; what the checker sees
  HistoryStats stats;
  // What the register, or every kv key, holds before its first write: nil (Jepsen's
  // convention) unless the caller says otherwise; other tools' kv histories start keys at "".
  Value initial;
};

// Reads a --initial-value: an EDN scalar, `nil`, an integer or a string ("" included).
// InvalidArgument naming the problem otherwise.
Status ParseInitialValue(std::string_view text, Value* out);

struct ParseLimits {
  int64_t max_events = 1'000'000;
  size_t max_line_bytes = 64 * 1024;
};

// Parses a whole history. Errors are InvalidArgument with a message such as
//   history.edn:12: field :type: expected :invoke, :ok, :fail or :info, got :done
// (`file_name` is only used in messages).
Status ParseHistory(std::string_view text, std::string_view file_name, ModelKind model, const ParseLimits& limits,
                    History* out);

// The two event lines of an operation in the input's format: its own lines when it was parsed
// from text, otherwise EDN. `complete` is empty for an operation that never completed.
struct OpLines {
  std::string invoke;
  std::string complete;
};
OpLines OpEventLines(ModelKind model, const Operation& op);

// One-line human description: "p3 put \"k\" \"x\" (lines 7-9)", "p0 read -> 1 (lines 2-5)",
// "p4 write 3 (line 6, :info)".
std::string DescribeOp(ModelKind model, const Operation& op);

}  // namespace ksim::lincheck
