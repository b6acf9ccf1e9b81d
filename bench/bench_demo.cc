// The whole built-in demo scenario (scenarios::RunDemo): gossip-counter nodes on simulated
// hosts with a seed-drawn fault schedule, then heal, quiesce and the convergence check.
// Each iteration is one complete run under a new seed. Reports simulated seconds per wall
// second (sim_s_per_wall_s), plus simulator events and delivered frames per wall second.
#include <benchmark/benchmark.h>

#include <cstdint>

#include "scenarios/demo_run.h"

namespace ksim::scenarios {
namespace {

void BM_Demo(benchmark::State& state) {
  DemoOptions options;
  options.hosts = static_cast<int>(state.range(0));
  options.duration = Seconds(state.range(1));
  options.faults = true;
  uint64_t seed = 1;
  uint64_t events = 0;
  uint64_t frames = 0;
  uint64_t failed = 0;
  for (auto _ : state) {
    options.seed = seed++;
    const DemoResult result = RunDemo(options);
    events += result.events;
    frames += result.network.frames_delivered;
    if (!result.ok()) ++failed;
  }
  const double simulated_s =
      static_cast<double>(options.duration.count()) / 1e9 * static_cast<double>(state.iterations());
  state.counters["sim_s_per_wall_s"] = benchmark::Counter(simulated_s, benchmark::Counter::kIsRate);
  state.counters["events_per_s"] = benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
  state.counters["frames_per_s"] = benchmark::Counter(static_cast<double>(frames), benchmark::Counter::kIsRate);
  state.counters["events_per_run"] =
      benchmark::Counter(static_cast<double>(events), benchmark::Counter::kAvgIterations);
  // Runs whose checks failed (not converged, or a durability violation): a correctness
  // signal, not a performance one; the benchmark still times them.
  state.counters["failed_runs"] = static_cast<double>(failed);
}
// Args: hosts, simulated seconds.
BENCHMARK(BM_Demo)
    ->ArgNames({"hosts", "sim_s"})
    ->Args({5, 60})
    ->Args({50, 60})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace ksim::scenarios
