// Properties of the linearizability checker (RapidCheck):
// - a history recorded from a real sequential register (or map) under a random concurrent
//   schedule, each operation taking effect atomically at a random instant between its invoke
//   and its completion, is always linearizable; changing one read's result to a value nobody
//   wrote makes it not linearizable;
// - on small random histories the checker agrees with a brute-force search over every order;
// - the parser never crashes on arbitrary lines: it parses them or returns InvalidArgument.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "faults/lincheck/checker.h"
#include "faults/lincheck/history.h"
#include "faults/lincheck/model.h"

namespace ksim::lincheck {
namespace {

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

// One recorded event, rendered in EDN or JSON (chosen per line, so both readers are exercised
// and may be mixed in one file).
struct Rendered {
  std::string edn;
  std::string json;
};

std::string JsonScalar(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNil: return "null";
    case Value::Kind::kInt: return std::to_string(v.i);
    case Value::Kind::kString: return Quote(v.s);
  }
  return "null";
}

Rendered Render(int process, const char* type, OpKind f, const std::optional<std::string>& key, const std::string& edn_value,
                const std::string& json_value) {
  Rendered r;
  const std::string name(OpKindName(f));
  r.edn = "{:process " + std::to_string(process) + ", :type :" + type + ", :f :" + name +
          (key ? ", :key " + Quote(*key) : "") + ", :value " + edn_value + "}";
  r.json = "{\"process\":" + std::to_string(process) + ",\"type\":\"" + type + "\",\"f\":\"" + name + "\"" +
           (key ? ",\"key\":" + Quote(*key) : "") + ",\"value\":" + json_value + "}";
  return r;
}

// Runs a random concurrent client workload against a real object and records its history.
// Each step picks a client: an idle client invokes; a busy one either makes its operation take
// effect (atomically, on the real object) or, once it has, completes it. A client may also
// crash: its operation completes :info (whether or not it took effect) and the client comes
// back under a new process id, as in Jepsen. Clients still busy at the end never complete.
struct Workload {
  bool kv = false;
  std::vector<std::string> lines;
  std::vector<size_t> ok_read_lines;  // indices into `lines` of :ok reads/gets
};

Workload RecordRealHistory(bool kv) {
  Workload w;
  w.kv = kv;
  const int clients = *rc::gen::inRange(1, 7);
  const int steps = *rc::gen::inRange(0, 120);
  const std::vector<std::string> keys = {"a", "b", "c"};
  std::map<std::string, Value> store;  // the real object(s); a register is key ""
  int next_value = 1;
  int next_process = clients;
  struct Client {
    int process = 0;
    bool busy = false;
    bool applied = false;
    OpKind kind = OpKind::kRead;
    std::string key;
    Value arg, arg2, result;
    bool succeeded = true;
  };
  std::vector<Client> cs(static_cast<size_t>(clients));
  for (int k = 0; k < clients; ++k) cs[static_cast<size_t>(k)].process = k;
  auto emit = [&](const Client& c, const char* type) {
    const std::optional<std::string> key = kv ? std::optional<std::string>(c.key) : std::nullopt;
    std::string edn_value, json_value;
    const bool completion_of_read = std::string(type) != "invoke" && (c.kind == OpKind::kRead || c.kind == OpKind::kGet);
    if (c.kind == OpKind::kCas) {
      edn_value = "[" + FormatValue(c.arg) + " " + FormatValue(c.arg2) + "]";
      json_value = "[" + JsonScalar(c.arg) + "," + JsonScalar(c.arg2) + "]";
    } else if (c.kind == OpKind::kRead || c.kind == OpKind::kGet) {
      const Value v = completion_of_read && std::string(type) == "ok" ? c.result : Value::Nil();
      edn_value = FormatValue(v);
      json_value = JsonScalar(v);
    } else {
      edn_value = FormatValue(c.arg);
      json_value = JsonScalar(c.arg);
    }
    const Rendered r = Render(c.process, type, c.kind, key, edn_value, json_value);
    if (completion_of_read && std::string(type) == "ok") w.ok_read_lines.push_back(w.lines.size());
    w.lines.push_back(*rc::gen::inRange(0, 4) == 0 ? r.json : r.edn);
  };
  for (int step = 0; step < steps; ++step) {
    Client& c = cs[static_cast<size_t>(*rc::gen::inRange(0, clients))];
    if (!c.busy) {
      const int process = c.process;
      c = Client{};
      c.process = process;
      c.busy = true;
      c.key = kv ? keys[static_cast<size_t>(*rc::gen::inRange(0, 3))] : "";
      const int choice = *rc::gen::inRange(0, 3);
      if (kv) {
        c.kind = choice == 0 ? OpKind::kGet : choice == 1 ? OpKind::kPut : OpKind::kAppend;
        if (c.kind == OpKind::kPut) c.arg = Value::Str("p" + std::to_string(next_value++));
        if (c.kind == OpKind::kAppend) c.arg = Value::Str("<" + std::to_string(next_value++) + ">");
      } else {
        c.kind = choice == 0 ? OpKind::kRead : choice == 1 ? OpKind::kWrite : OpKind::kCas;
        if (c.kind == OpKind::kWrite) c.arg = Value::Int(next_value++);
        if (c.kind == OpKind::kCas) {
          const int expected = *rc::gen::inRange(0, next_value);  // 0 stands for nil
          c.arg = expected == 0 ? Value::Nil() : Value::Int(expected);
          c.arg2 = Value::Int(next_value++);
        }
      }
      emit(c, "invoke");
      continue;
    }
    const bool crash = *rc::gen::inRange(0, 10) == 0;
    if (!c.applied && !crash) {
      // The operation takes effect now, atomically.
      Value& state = store[c.key];
      Operation op;
      op.kind = c.kind;
      op.arg = c.arg;
      op.arg2 = c.arg2;
      op.result = state;
      if (std::optional<Value> next = ApplyOp(op, state)) {
        if (c.kind == OpKind::kRead || c.kind == OpKind::kGet) c.result = state;
        state = *next;
      } else {
        c.succeeded = false;  // only a cas can fail
      }
      c.applied = true;
      continue;
    }
    if (crash) {
      // Crashed before or after taking effect: either way the outcome is unknown.
      emit(c, "info");
      c = Client{};
      c.process = next_process++;
      continue;
    }
    emit(c, c.succeeded ? "ok" : "fail");
    c.busy = false;
  }
  return w;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

History ParseOrDie(ModelKind model, const std::string& text) {
  History h;
  const Status s = ParseHistory(text, "gen.edn", model, ParseLimits{}, &h);
  RC_ASSERT(s.ok());
  return h;
}

void CheckRealHistory(bool kv) {
  const Workload w = RecordRealHistory(kv);
  const ModelKind model = kv ? ModelKind::kKv : ModelKind::kRegister;
  const std::string text = Join(w.lines);
  RC_LOG() << text;
  const History h = ParseOrDie(model, text);
  RC_ASSERT(Check(h).verdict == Verdict::kLinearizable);

  // Mutation: one :ok read returns a value no operation ever wrote.
  RC_TAG(w.ok_read_lines.empty() ? "no read to mutate" : "mutated");
  if (w.ok_read_lines.empty()) return;
  const size_t target = w.ok_read_lines[static_cast<size_t>(
      *rc::gen::inRange<size_t>(0, w.ok_read_lines.size()))];
  std::vector<std::string> mutated = w.lines;
  std::string& line = mutated[target];
  const bool json = line.front() == '{' && line[1] == '"';
  const std::string never = kv ? "\"never-written\"" : "1000000";
  const std::string value_key = json ? "\"value\":" : ":value ";
  const size_t at = line.rfind(value_key);
  RC_ASSERT(at != std::string::npos);
  line = line.substr(0, at + value_key.size()) + never + "}";
  const std::string mutated_text = Join(mutated);
  RC_LOG() << "mutated line " << target + 1 << ":\n" << mutated_text;
  const History m = ParseOrDie(model, mutated_text);
  const CheckResult r = Check(m);
  RC_ASSERT(r.verdict == Verdict::kNotLinearizable);
  // The shrunk history still contains the mutated read, and still fails on its own.
  bool has_mutated = false;
  for (size_t k : r.minimal) has_mutated = has_mutated || m.ops[k].complete_line == static_cast<int64_t>(target + 1);
  RC_ASSERT(has_mutated);
  RC_ASSERT(CheckObject(m, r.minimal, CheckOptions{}).verdict == Verdict::kNotLinearizable);
}

RC_GTEST_PROP(LincheckProperties, RealRegisterHistoriesAreLinearizableAndMutationsAreNot, ()) {
  CheckRealHistory(/*kv=*/false);
}

RC_GTEST_PROP(LincheckProperties, RealKvHistoriesAreLinearizableAndMutationsAreNot, ()) {
  CheckRealHistory(/*kv=*/true);
}

// ---- brute force oracle ------------------------------------------------------------------------

// Is there an order of a subset of `ops` that contains every definite operation, respects real
// time (a definite op that completed before another was invoked comes first) and is legal for
// the sequential model, on the whole map at once (no splitting by key)? Exhaustive; for a
// handful of operations only.
bool BruteForce(const History& h) {
  const size_t n = h.ops.size();
  size_t definite = 0;
  for (const Operation& op : h.ops) definite += op.indefinite ? 0 : 1;
  std::vector<bool> placed(n, false);
  using State = std::map<Value, Value>;  // key -> value; absent means nil (a register is key nil)
  // Bounded: depth <= n, each level tries <= n operations.
  std::function<bool(const State&, size_t)> search = [&](const State& state, size_t placed_definite) -> bool {
    if (placed_definite == definite) return true;
    for (size_t k = 0; k < n; ++k) {
      if (placed[k]) continue;
      const Operation& x = h.ops[k];
      // Every definite op that completed before x was invoked must already be placed.
      bool ready = true;
      for (size_t j = 0; j < n && ready; ++j) {
        const Operation& y = h.ops[j];
        if (!placed[j] && !y.indefinite && y.complete_line < x.invoke_line) ready = false;
      }
      if (!ready) continue;
      const auto it = state.find(x.key);
      const std::optional<Value> next = ApplyOp(x, it == state.end() ? h.initial : it->second);
      if (!next) continue;
      State after = state;
      after[x.key] = *next;
      placed[k] = true;
      const bool found = search(after, placed_definite + (x.indefinite ? 0 : 1));
      placed[k] = false;
      if (found) return true;
    }
    return false;
  };
  return search(State{}, 0);
}

// Random intervals over `n` operations, one process each, rendered as history lines.
struct RandomOp {
  std::string f;
  std::string key;  // empty for a register
  std::string invoke_value;
  std::string result_value;
};
std::string RandomIntervals(const std::vector<RandomOp>& ops) {
  const size_t n = ops.size();
  std::vector<std::pair<int, std::string>> events;  // (time, line)
  const auto times = *rc::gen::unique<std::vector<int>>(2 * n, rc::gen::inRange(0, 1000));
  for (size_t k = 0; k < n; ++k) {
    const RandomOp& op = ops[k];
    const int outcome = *rc::gen::weightedElement<int>({{6, 0}, {2, 1}, {1, 2}, {1, 3}});  // ok info fail open
    const int t1 = std::min(times[2 * k], times[2 * k + 1]);
    const int t2 = std::max(times[2 * k], times[2 * k + 1]);
    const std::string head = "{:process " + std::to_string(k) + ", :type :";
    const std::string tail =
        ", :f :" + op.f + (op.key.empty() ? "" : ", :key \"" + op.key + "\"") + ", :value ";
    events.emplace_back(t1, head + "invoke" + tail + op.invoke_value + "}");
    if (outcome != 3) {
      const char* type = outcome == 0 ? "ok" : outcome == 1 ? "info" : "fail";
      events.emplace_back(t2, head + type + tail + op.result_value + "}");
    }
  }
  std::sort(events.begin(), events.end());
  std::string text;
  for (const auto& e : events) text += e.second + "\n";
  return text;
}

// The checker (with and without its search reductions) against the brute force.
void AgreesWithBruteForce(ModelKind model, const std::string& text, const Value& initial = Value::Nil()) {
  RC_LOG() << "initial value " << FormatValue(initial) << "\n" << text;
  History h = ParseOrDie(model, text);
  h.initial = initial;
  const bool expected = BruteForce(h);
  RC_TAG(expected ? "linearizable" : "not linearizable");
  CheckOptions plain;
  plain.search_reductions = false;
  for (const CheckOptions& options : {CheckOptions{}, plain}) {
    const CheckResult r = Check(h, options);
    RC_ASSERT(r.verdict != Verdict::kUnknown);
    RC_ASSERT((r.verdict == Verdict::kLinearizable) == expected);
    if (!expected) RC_ASSERT(CheckObject(h, r.minimal, options).verdict == Verdict::kNotLinearizable);
  }
}

RC_GTEST_PROP(LincheckProperties, KvAgreesWithBruteForceOnSmallRandomHistories, ()) {
  // Two keys, puts and appends of tiny strings and gets of plausible results, so that splitting
  // by key, appends, and both verdicts are all exercised.
  const int n = *rc::gen::inRange(1, 8);
  const std::vector<std::string> results = {"nil", "\"a\"", "\"ax\"", "\"axy\"", "\"ayx\"", "\"x\"",
                                            "\"xy\"", "\"yx\"", "\"y\"", "\"b\"", "\"bx\"", "\"\""};
  std::vector<RandomOp> ops;
  for (int k = 0; k < n; ++k) {
    RandomOp op;
    op.key = *rc::gen::element<std::string>("k1", "k2");
    const int kind = *rc::gen::inRange(0, 3);
    if (kind == 0) {
      op.f = "get";
      op.invoke_value = "nil";
      op.result_value = results[static_cast<size_t>(*rc::gen::inRange<size_t>(0, results.size()))];
    } else {
      op.f = kind == 1 ? "put" : "append";
      op.invoke_value = kind == 1 ? *rc::gen::element<std::string>("\"a\"", "\"b\"")
                                  : *rc::gen::element<std::string>("\"x\"", "\"y\"");
      op.result_value = op.invoke_value;
    }
    ops.push_back(op);
  }
  // Keys start nil (Jepsen), "" (other tools' kv histories) or a value some operation also writes.
  const int start = *rc::gen::inRange(0, 3);
  const Value initial = start == 0 ? Value::Nil() : Value::Str(start == 1 ? "" : "a");
  AgreesWithBruteForce(ModelKind::kKv, RandomIntervals(ops), initial);
}

RC_GTEST_PROP(LincheckProperties, RegisterAgreesWithBruteForceOnSmallRandomHistories, ()) {
  // Random intervals and values from a tiny domain, so both verdicts are common and values
  // repeat (which the search's reductions must handle).
  const int n = *rc::gen::inRange(1, 8);
  std::vector<RandomOp> ops;
  auto v = [](int x) { return x == 0 ? std::string("nil") : std::to_string(x); };
  for (int k = 0; k < n; ++k) {
    RandomOp op;
    const int kind = *rc::gen::inRange(0, 3);
    const int a = *rc::gen::inRange(0, 3);
    const int b = *rc::gen::inRange(0, 3);
    op.f = kind == 0 ? "read" : kind == 1 ? "write" : "cas";
    op.invoke_value = kind == 0 ? "nil" : kind == 1 ? v(a) : "[" + v(a) + " " + v(b) + "]";
    op.result_value = kind == 0 ? v(a) : op.invoke_value;
    ops.push_back(op);
  }
  AgreesWithBruteForce(ModelKind::kRegister, RandomIntervals(ops));
}

// ---- the parser on arbitrary input -------------------------------------------------------------

RC_GTEST_PROP(LincheckProperties, ParserNeverCrashesOnArbitraryLines, ()) {
  // Fragments of valid lines glued at random, plus arbitrary bytes.
  const std::vector<std::string> pieces = {"{", "}", "[", "]", ":process", ":type", ":invoke", ":ok", ":f", ":read",
                                           ":write", ":cas", ":value", " ", ",", "0", "-1", "\"x\"", "\"\\u00\"",
                                           "nil", ";", "\"process\":", "\"type\":\"ok\"", "\n", "99999999999999999999",
                                           "1.5", "\\", "#", ":key", ":get", "{\"", ":info", ":fail"};
  std::string text;
  const int parts = *rc::gen::inRange(0, 60);
  for (int k = 0; k < parts; ++k) {
    if (*rc::gen::inRange(0, 5) == 0) {
      text += *rc::gen::arbitrary<std::string>();
    } else {
      text += pieces[static_cast<size_t>(*rc::gen::inRange<size_t>(0, pieces.size()))];
    }
  }
  for (const ModelKind model : {ModelKind::kRegister, ModelKind::kKv}) {
    History h;
    const Status s = ParseHistory(text, "fuzz", model, ParseLimits{}, &h);
    RC_ASSERT(s.ok() || s.Is(Status::Code::kInvalidArgument));
    if (!s.ok()) RC_ASSERT(s.message().rfind("fuzz:", 0) == 0);
    if (s.ok()) RC_ASSERT(Check(h).verdict != Verdict::kUnknown);
  }
}

}  // namespace
}  // namespace ksim::lincheck
