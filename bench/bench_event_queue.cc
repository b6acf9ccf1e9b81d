// Timer throughput of the simulator: the raw EventQueue, World timers (World::After +
// Step), and timers scheduled by a process through its Env's Clock. Every benchmark keeps
// the queue at a steady population (pop one, push one) and reports items/s = timer events
// fired per second of wall time on one core.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <functional>
#include <memory>

#include "cluster/env/env.h"
#include "cluster/env/process.h"
#include "cluster/env/random.h"
#include "sim/event_queue.h"
#include "sim/host.h"
#include "sim/world.h"

namespace ksim::sim {
namespace {

// Timers are due uniformly within the next millisecond of simulated time.
constexpr uint64_t kSpreadNs = 1'000'000;

void PopulationArgs(benchmark::internal::Benchmark* b) {
  b->ArgName("pending")->Arg(1'000)->Arg(100'000)->UseRealTime();
}

// --- the raw queue ----------------------------------------------------------------------

void BM_EventQueue_PushPop(benchmark::State& state) {
  const int64_t population = state.range(0);
  EventQueue queue;
  Random random(42);
  uint64_t fired = 0;
  for (int64_t i = 0; i < population; ++i) {
    queue.Push(static_cast<int64_t>(random.Uniform(kSpreadNs)), [&fired] { ++fired; });
  }
  int64_t now = 0;
  for (auto _ : state) {
    std::function<void()> fn = queue.Pop(&now);
    fn();
    queue.Push(now + static_cast<int64_t>(random.Uniform(kSpreadNs)), [&fired] { ++fired; });
  }
  benchmark::DoNotOptimize(fired);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_EventQueue_PushPop)->Apply(PopulationArgs);

// --- World timers -----------------------------------------------------------------------

struct TimerContext {
  World* world;
  Random random{7};
  uint64_t fired = 0;
};

// A timer that, when it fires, schedules its successor: the shape of every periodic
// timer in the orchestrator. The closure is one pointer, so std::function stores it inline.
void ScheduleSmall(TimerContext* ctx) {
  ctx->world->After(Nanos(static_cast<int64_t>(ctx->random.Uniform(kSpreadNs))), [ctx] {
    ++ctx->fired;
    ScheduleSmall(ctx);
  });
}

void BM_World_Timers(benchmark::State& state) {
  World world(42);
  TimerContext ctx{&world};
  for (int64_t i = 0; i < state.range(0); ++i) ScheduleSmall(&ctx);
  for (auto _ : state) world.Step();
  if (ctx.fired != static_cast<uint64_t>(state.iterations())) state.SkipWithError("timer count mismatch");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_World_Timers)->Apply(PopulationArgs);

// Same, with a 24-byte closure (three words, like the network's [this, id, d]): larger
// than std::function's inline buffer, so every schedule allocates.
void ScheduleLarge(TimerContext* ctx, uint64_t a, uint64_t b) {
  ctx->world->After(Nanos(static_cast<int64_t>(ctx->random.Uniform(kSpreadNs))), [ctx, a, b] {
    ++ctx->fired;
    ScheduleLarge(ctx, b, a + 1);
  });
}

void BM_World_Timers_HeapClosure(benchmark::State& state) {
  World world(42);
  TimerContext ctx{&world};
  for (int64_t i = 0; i < state.range(0); ++i) ScheduleLarge(&ctx, static_cast<uint64_t>(i), 0);
  for (auto _ : state) world.Step();
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_World_Timers_HeapClosure)->Apply(PopulationArgs);

// --- timers through a process's Env (what orchestrator components use) ------------------

class TimerProcess final : public Process {
 public:
  TimerProcess(Env& env, int64_t population) : env_(env), population_(population) {}
  void Start() override {
    started_ = true;
    for (int64_t i = 0; i < population_; ++i) Arm();
  }
  uint64_t fired() const { return fired_; }
  bool started() const { return started_; }

 private:
  void Arm() {
    env_.clock->Schedule(Nanos(static_cast<int64_t>(env_.random->Uniform(kSpreadNs))), [this] {
      ++fired_;
      Arm();
    });
  }
  Env& env_;
  int64_t population_;
  uint64_t fired_ = 0;
  bool started_ = false;
};

void BM_ProcessClock_Timers(benchmark::State& state) {
  World world(42);
  const int64_t population = state.range(0);
  Host& host = world.AddHost("h0");
  host.AddProcess("timers", [population](Env& env) { return std::make_unique<TimerProcess>(env, population); });
  auto* process = host.Find<TimerProcess>("timers");
  // Run the process's Start (an event of its own), which arms every timer.
  while (process != nullptr && !process->started() && world.Step()) {
  }
  if (process == nullptr || !process->started() || world.events_pending() != static_cast<size_t>(population)) {
    state.SkipWithError("the timer process did not arm its timers");
    return;
  }
  const uint64_t before = process->fired();
  for (auto _ : state) world.Step();
  if (process->fired() - before != static_cast<uint64_t>(state.iterations())) {
    state.SkipWithError("timer count mismatch");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ProcessClock_Timers)->Apply(PopulationArgs);

}  // namespace
}  // namespace ksim::sim
