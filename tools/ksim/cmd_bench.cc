// ksim bench <target>: simulated workloads timed on the wall clock (this is tools/, the only
// layer that may read real time). Each target's last line is "<figure>=<number>".
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "scenarios/store_bench.h"
#include "tools/ksim/commands.h"
#include "tools/ksim/duration.h"

namespace ksim::tools {

CommandFn AddBenchCommand(CLI::App& app) {
  struct StoreFlags {
    uint64_t seed = 1;
    int members = 3;
    int clients = 100;
    std::string duration = "10s";
    bool faults = false;
  };
  auto store = std::make_shared<StoreFlags>();
  CLI::App* bench = app.add_subcommand("bench", "Run a simulated benchmark; the last line is <figure>=<number>");
  bench->require_subcommand(1);
  CLI::App* s = bench->add_subcommand("store", "Replicated store: committed writes per wall second");
  s->add_option("--seed", store->seed, "Seed of the run")->check(CLI::NonNegativeNumber)->capture_default_str();
  s->add_option("--members", store->members, "Store members (odd: 1, 3, 5, 7)")->check(CLI::Range(1, 7))->capture_default_str();
  s->add_option("--clients", store->clients, "Closed-loop writers")->check(CLI::Range(1, 10000))->capture_default_str();
  s->add_option("--duration", store->duration, "Simulated duration, e.g. 10s, 1h")->capture_default_str();
  s->add_flag("--faults", store->faults, "Inject the nemesis' faults during the run");
  return [store, s]() -> int {
    if (!s->parsed()) return kExitBadInput;
    Nanos duration;
    if (Status st = ParseDuration("--duration", store->duration, &duration); !st.ok()) {
      std::fprintf(stderr, "ksim bench store: error: %s\n", st.message().c_str());
      return kExitBadInput;
    }
    if (duration < Seconds(1) || duration > Seconds(24 * 3600)) {
      std::fprintf(stderr, "ksim bench store: error: --duration: %s is out of range (1s to 24h)\n",
                   store->duration.c_str());
      return kExitBadInput;
    }
    scenarios::StoreBenchOptions o;
    o.seed = store->seed;
    o.members = store->members;
    o.clients = store->clients;
    o.duration = duration;
    o.faults = store->faults;
    const auto start = std::chrono::steady_clock::now();
    const scenarios::StoreBenchResult r = scenarios::RunStoreBench(o);
    const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double sim_s = static_cast<double>(duration.count()) / 1e9;
    std::printf("ksim bench store: seed=%llu members=%d clients=%d duration=%s faults=%s\n",
                static_cast<unsigned long long>(o.seed), o.members, o.clients, store->duration.c_str(),
                o.faults ? "on" : "off");
    std::printf("committed_writes=%llu failed_writes=%llu faults=%llu highest_term=%llu\n",
                static_cast<unsigned long long>(r.committed_writes), static_cast<unsigned long long>(r.failed_writes),
                static_cast<unsigned long long>(r.faults), static_cast<unsigned long long>(r.elections));
    std::printf("simulated: %.1f s, %.0f writes/s, latency p50=%.2f ms p99=%.2f ms\n", sim_s,
                static_cast<double>(r.committed_writes) / sim_s, r.p50_latency_ms, r.p99_latency_ms);
    std::printf("wall: %.3f s (%.1f simulated s per wall s), events=%llu frames=%llu\n", wall_s, sim_s / wall_s,
                static_cast<unsigned long long>(r.events), static_cast<unsigned long long>(r.frames));
    std::printf("trace_hash=%016llx\n", static_cast<unsigned long long>(r.trace_hash));
    std::printf("writes_per_second=%.0f\n", static_cast<double>(r.committed_writes) / wall_s);
    return 0;
  };
}

}  // namespace ksim::tools
