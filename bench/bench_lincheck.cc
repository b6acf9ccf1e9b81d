// The linearizability checker on generated histories (docs/PERFORMANCE.md, docs/LINCHECK.md).
//
// Histories are recorded from a real sequential object under a random concurrent schedule: each
// step picks one of C clients at random; an idle client invokes an operation, a busy one either
// makes it take effect atomically on the real object or, once it has, completes it. So about
// two thirds of the clients have an operation in flight at any time, and every history is
// linearizable (the checker must find the order, which is the expensive case for a search that
// stops at the first success). A small fraction of operations crash (:info) and their client
// continues under a new process id, as in Jepsen.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cluster/env/random.h"
#include "faults/lincheck/checker.h"
#include "faults/lincheck/history.h"
#include "faults/lincheck/model.h"

namespace ksim::lincheck {
namespace {

struct GenOptions {
  bool kv = true;
  int clients = 50;
  int events = 4000;
  int keys = 8;
  double crash_probability = 0.01;
  uint64_t seed = 1;
};

std::string GenerateHistory(const GenOptions& o) {
  Random rng(o.seed);
  struct Client {
    int process = 0;
    bool busy = false;
    bool applied = false;
    bool succeeded = true;
    Operation op;
  };
  std::vector<Client> clients(static_cast<size_t>(o.clients));
  for (int k = 0; k < o.clients; ++k) clients[static_cast<size_t>(k)].process = k;
  int next_process = o.clients;
  int next_value = 1;
  std::map<std::string, Value> store;
  std::string out;
  int events = 0;
  auto emit = [&](const Client& c, const char* type) {
    const Operation& op = c.op;
    const bool read = op.kind == OpKind::kRead || op.kind == OpKind::kGet;
    std::string value;
    if (op.kind == OpKind::kCas) {
      value = "[" + FormatValue(op.arg) + " " + FormatValue(op.arg2) + "]";
    } else if (read) {
      value = std::string(type) == "ok" ? FormatValue(op.result) : "nil";
    } else {
      value = FormatValue(op.arg);
    }
    out += "{:process " + std::to_string(c.process) + ", :type :" + type + ", :f :" + std::string(OpKindName(op.kind)) +
           (o.kv ? ", :key " + FormatValue(op.key) : "") + ", :value " + value + "}\n";
    ++events;
  };
  // Bounded: every iteration emits an event or applies an operation, and each invoke is followed
  // by at most two more steps of its client; the cap guards against a mistake in that reasoning.
  for (int guard = 0; events < o.events && guard < 100 * o.events; ++guard) {
    Client& c = clients[rng.Uniform(clients.size())];
    if (!c.busy) {
      c.busy = true;
      c.applied = false;
      c.succeeded = true;
      c.op = Operation{};
      const uint64_t choice = rng.Uniform(4);
      if (o.kv) {
        c.op.key = Value::Str("k" + std::to_string(rng.Uniform(static_cast<uint64_t>(o.keys))));
        c.op.kind = choice < 2 ? OpKind::kGet : choice == 2 ? OpKind::kPut : OpKind::kAppend;
        if (c.op.kind == OpKind::kPut) c.op.arg = Value::Str("v" + std::to_string(next_value++));
        if (c.op.kind == OpKind::kAppend) c.op.arg = Value::Str("+" + std::to_string(next_value++));
      } else {
        c.op.kind = choice < 2 ? OpKind::kRead : choice == 2 ? OpKind::kWrite : OpKind::kCas;
        if (c.op.kind == OpKind::kWrite) c.op.arg = Value::Int(next_value++);
        if (c.op.kind == OpKind::kCas) {
          // Expect the current value half of the time, so that cas often succeeds.
          const Value& current = store[""];
          c.op.arg = rng.Bernoulli(0.5) ? current : Value::Int(rng.Range(1, next_value));
          c.op.arg2 = Value::Int(next_value++);
        }
      }
      emit(c, "invoke");
      continue;
    }
    if (rng.Bernoulli(o.crash_probability)) {
      emit(c, "info");  // crashed before or after taking effect
      c.busy = false;
      c.process = next_process++;
      continue;
    }
    if (!c.applied) {
      Value& state = store[o.kv ? c.op.key.s : ""];
      c.op.result = state;
      if (std::optional<Value> next = ApplyOp(c.op, state)) {
        state = *next;
      } else {
        c.succeeded = false;  // a cas whose expected value was not there
      }
      c.applied = true;
      continue;
    }
    emit(c, c.succeeded ? "ok" : "fail");
    c.busy = false;
  }
  return out;
}

History ParseGenerated(const GenOptions& o) {
  History h;
  const Status s = ParseHistory(GenerateHistory(o), "generated", o.kv ? ModelKind::kKv : ModelKind::kRegister,
                                ParseLimits{}, &h);
  if (!s.ok()) std::abort();
  return h;
}

void RunCheck(benchmark::State& state, const GenOptions& o) {
  const History h = ParseGenerated(o);
  uint64_t states = 0;
  for (auto _ : state) {
    const CheckResult r = Check(h);
    if (r.verdict != Verdict::kLinearizable) {
      const std::string error = "generated history was found " + std::string(VerdictName(r.verdict)) + " " +
                                r.unknown_reason;
      state.SkipWithError(error.c_str());
      return;
    }
    states = r.states;
    benchmark::DoNotOptimize(r);
  }
  state.counters["events"] = static_cast<double>(h.stats.events);
  state.counters["ops"] = static_cast<double>(h.ops.size());
  state.counters["configurations"] = static_cast<double>(states);
  state.counters["events_per_s"] =
      benchmark::Counter(static_cast<double>(h.stats.events), benchmark::Counter::kIsIterationInvariantRate);
}

// The target: a 50-client, 4,000-event kv history in well under 1 s.
void BM_Lincheck_Kv(benchmark::State& state) {
  GenOptions o;
  o.kv = true;
  o.clients = static_cast<int>(state.range(0));
  o.events = static_cast<int>(state.range(1));
  o.keys = static_cast<int>(state.range(2));
  RunCheck(state, o);
}
BENCHMARK(BM_Lincheck_Kv)
    ->ArgNames({"clients", "events", "keys"})
    ->Args({50, 4000, 8})
    ->Args({50, 4000, 2})
    ->Args({50, 40000, 8})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// One register: every operation lands on the same object, so no splitting helps.
void BM_Lincheck_Register(benchmark::State& state) {
  GenOptions o;
  o.kv = false;
  o.clients = static_cast<int>(state.range(0));
  o.events = static_cast<int>(state.range(1));
  RunCheck(state, o);
}
BENCHMARK(BM_Lincheck_Register)
    ->ArgNames({"clients", "events"})
    ->Args({10, 4000})
    ->Args({50, 4000})
    ->Args({50, 100000})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Parsing alone (EDN lines), for the share of the CLI's time that is not search.
void BM_Lincheck_ParseKv(benchmark::State& state) {
  GenOptions o;
  o.events = static_cast<int>(state.range(0));
  const std::string text = GenerateHistory(o);
  for (auto _ : state) {
    History h;
    const Status s = ParseHistory(text, "generated", ModelKind::kKv, ParseLimits{}, &h);
    benchmark::DoNotOptimize(s);
  }
  state.counters["events_per_s"] =
      benchmark::Counter(static_cast<double>(o.events), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Lincheck_ParseKv)->Arg(4000)->Unit(benchmark::kMillisecond)->UseRealTime();

// A violation, checked and shrunk to a minimal sub-history (what `ksim lincheck` does for a
// failing history): in the generated history the last successful read/get of the first key
// returns the value an earlier read of that key returned, 500 operations before: a stale read.
void RunStaleRead(benchmark::State& state, const GenOptions& o) {
  History h = ParseGenerated(o);
  const bool kv = o.kv;
  auto observes = [&](const Operation& op) {
    return !op.indefinite && (op.kind == OpKind::kRead || op.kind == OpKind::kGet) && !op.result.is_nil() &&
           (!kv || op.key == Value::Str("k0"));
  };
  size_t last = h.ops.size();
  for (size_t k = h.ops.size(); k-- > 0;) {
    if (observes(h.ops[k])) {
      last = k;
      break;
    }
  }
  size_t earlier = last;
  for (size_t k = last >= 500 ? last - 500 : 0; k-- > 0;) {
    if (observes(h.ops[k])) {
      earlier = k;
      break;
    }
  }
  if (last == h.ops.size() || earlier == last) std::abort();
  h.ops[last].result = h.ops[earlier].result;
  size_t minimal = 0;
  uint64_t states = 0;
  for (auto _ : state) {
    const CheckResult r = Check(h);
    if (r.verdict != Verdict::kNotLinearizable) {
      state.SkipWithError("the stale read was not found");
      return;
    }
    minimal = r.minimal.size();
    states = r.states;
  }
  state.counters["minimal_ops"] = static_cast<double>(minimal);
  state.counters["configurations"] = static_cast<double>(states);
}

void BM_Lincheck_KvStaleReadWithShrink(benchmark::State& state) {
  GenOptions o;
  o.keys = static_cast<int>(state.range(0));
  RunStaleRead(state, o);
}
BENCHMARK(BM_Lincheck_KvStaleReadWithShrink)->ArgName("keys")->Arg(8)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Lincheck_RegisterStaleReadWithShrink(benchmark::State& state) {
  GenOptions o;
  o.kv = false;
  o.clients = static_cast<int>(state.range(0));
  RunStaleRead(state, o);
}
BENCHMARK(BM_Lincheck_RegisterStaleReadWithShrink)
    ->ArgName("clients")
    ->Arg(10)
    ->Arg(50)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace ksim::lincheck
