// ksim bench <target>: simulated workloads timed on the wall clock (this is tools/, the only
// layer that may read real time). Each target's last line is "<figure>=<number>".
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "scenarios/api_bench.h"
#include "scenarios/scheduler_bench.h"
#include "scenarios/store_bench.h"
#include "tools/ksim/commands.h"
#include "tools/ksim/duration.h"

namespace ksim::tools {

namespace {

// Resident set size of this process, from /proc/self/statm (pages).
uint64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size_pages = 0;
  uint64_t resident_pages = 0;
  statm >> size_pages >> resident_pages;
  return resident_pages * 4096;
}

double WallSecondsSince(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

int RunApiBench(const scenarios::ApiBenchOptions& o) {
  const uint64_t seed = o.seed;
  const int apiservers = o.apiservers;
  const int pods = o.pods;
  scenarios::ApiBench bench(o);
  if (Status st = bench.Setup(); !st.ok()) {
    std::fprintf(stderr, "ksim bench api: error: %s\n", st.message().c_str());
    return 1;
  }
  const uint64_t rss_before = ResidentBytes();
  const auto create_start = std::chrono::steady_clock::now();
  bench.RunCreates();
  const double create_wall_s = WallSecondsSince(create_start);
  const uint64_t rss_after = ResidentBytes();
  const auto list_start = std::chrono::steady_clock::now();
  bench.RunList();
  const double list_wall_s = WallSecondsSince(list_start);
  const scenarios::ApiBenchResult& r = bench.result();
  std::printf("ksim bench api: seed=%llu apiservers=%d pods=%d client=%s\n", static_cast<unsigned long long>(seed),
              apiservers, pods,
              o.as_admin ? "system:masters, no quota or limit range"
                         : "service account bench/loader through RBAC; ResourceQuota and LimitRange in its namespace");
  std::printf("created=%llu failed=%llu in %.3f wall s (%.2f simulated s)\n",
              static_cast<unsigned long long>(r.created), static_cast<unsigned long long>(r.failed), create_wall_s,
              r.create_sim_seconds);
  std::printf("simulated work per create: %.1f events, %.1f frames, %.0f bytes delivered\n",
              static_cast<double>(r.create_events) / pods, static_cast<double>(r.create_frames) / pods,
              static_cast<double>(r.create_bytes) / pods);
  if (r.failed > 0) std::printf("first failure: %s\n", r.first_failure.c_str());
  if (!o.as_admin) {
    std::printf("quota: status.used.pods=%llu\n", static_cast<unsigned long long>(r.quota_pods_used));
  }
  std::printf("informer: %llu watch events, %llu pods; watch_events_per_second=%.0f\n",
              static_cast<unsigned long long>(r.informer_events), static_cast<unsigned long long>(r.informer_objects),
              static_cast<double>(r.informer_events) / create_wall_s);
  std::printf("list: %llu pods in %llu pages, %.3f wall s (%.2f simulated s)\n",
              static_cast<unsigned long long>(r.listed), static_cast<unsigned long long>(r.list_pages), list_wall_s,
              r.list_sim_seconds);
  std::printf("memory: %.0f MiB resident after creates, %.0f bytes per pod (store x3, %d watch caches, informer)\n",
              static_cast<double>(rss_after) / 1048576.0,
              static_cast<double>(rss_after > rss_before ? rss_after - rss_before : 0) / pods, apiservers);
  std::printf("trace_hash=%016llx\n", static_cast<unsigned long long>(r.trace_hash));
  std::printf("creates_per_second=%.0f\n", static_cast<double>(r.created) / create_wall_s);
  const bool quota_right = o.as_admin || r.quota_pods_used == r.created;
  return r.created == static_cast<uint64_t>(pods) && r.listed == r.created && quota_right ? 0 : 1;
}

int RunSchedulerBench(const scenarios::SchedulerBenchOptions& o) {
  scenarios::SchedulerBench bench(o);
  const auto setup_start = std::chrono::steady_clock::now();
  bench.Setup();
  const double setup_wall_s = WallSecondsSince(setup_start);
  const auto start = std::chrono::steady_clock::now();
  bench.RunScheduling();
  const double wall_s = WallSecondsSince(start);
  bench.Verify();
  const scenarios::SchedulerBenchResult& r = bench.result();
  std::printf("ksim bench scheduler: seed=%llu workload=%s nodes=%d pods=%d\n",
              static_cast<unsigned long long>(o.seed), o.workload.c_str(), o.nodes, o.pods);
  std::printf("setup: %llu initial pods and %d pending pods created in %.3f wall s\n",
              static_cast<unsigned long long>(r.initial_pods), o.pods, setup_wall_s);
  std::printf("bound=%llu/%llu in %.3f wall s (%.2f simulated s)\n", static_cast<unsigned long long>(r.bound),
              static_cast<unsigned long long>(r.measured_pods), wall_s, r.schedule_sim_seconds);
  std::printf("cycles=%llu unschedulable_cycles=%llu preemptions=%llu victims=%llu bind_failures=%llu "
              "nodes_evaluated_per_cycle=%.0f\n",
              static_cast<unsigned long long>(r.cycles), static_cast<unsigned long long>(r.unschedulable_cycles),
              static_cast<unsigned long long>(r.preemptions), static_cast<unsigned long long>(r.victims),
              static_cast<unsigned long long>(r.bind_failures),
              r.cycles == 0 ? 0.0 : static_cast<double>(r.nodes_evaluated) / static_cast<double>(r.cycles));
  std::printf("violations=%llu%s%s\n", static_cast<unsigned long long>(r.violations),
              r.first_violation.empty() ? "" : " first: ", r.first_violation.c_str());
  std::printf("placement_hash=%016llx trace_hash=%016llx\n", static_cast<unsigned long long>(r.placement_hash),
              static_cast<unsigned long long>(r.trace_hash));
  std::printf("pods_per_second=%.0f\n", static_cast<double>(r.bound) / wall_s);
  return r.bound == r.measured_pods && r.violations == 0 ? 0 : 1;
}

}  // namespace

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
  auto api = std::make_shared<scenarios::ApiBenchOptions>();
  CLI::App* a = bench->add_subcommand("api", "Apiservers: pod creates per wall second, watch events, list, memory");
  a->add_option("--seed", api->seed, "Seed of the run")->check(CLI::NonNegativeNumber)->capture_default_str();
  a->add_option("--apiservers", api->apiservers, "Apiservers (active-active)")->check(CLI::Range(1, 16))->capture_default_str();
  a->add_option("--pods", api->pods, "Pods to create")->check(CLI::Range(1, 2000000))->capture_default_str();
  a->add_flag("--as-admin", api->as_admin,
              "Create as system:masters in a namespace without ResourceQuota or LimitRange (the shape before the "
              "tenant's service account, RBAC, quota and limit range)");
  auto sched = std::make_shared<scenarios::SchedulerBenchOptions>();
  CLI::App* sc = bench->add_subcommand(
      "scheduler", "Scheduler: pods bound per wall second on scheduler_perf-shaped workloads");
  sc->add_option("--seed", sched->seed, "Seed of the run")->check(CLI::NonNegativeNumber)->capture_default_str();
  sc->add_option("--workload", sched->workload,
                 "basic, node-affinity, pod-affinity, pod-anti-affinity, topology-spread or preemption")
      ->capture_default_str();
  sc->add_option("--nodes", sched->nodes, "Nodes")->capture_default_str();
  sc->add_option("--pods", sched->pods, "Pending pods to schedule (measured)")->capture_default_str();
  CommandFn cluster = AddBenchClusterCommand(*bench);
  CommandFn controllers = AddBenchControllersCommands(*bench);
  return [store, s, api, a, sched, sc, cluster, controllers]() -> int {
    if (const int code = cluster(); code >= 0) return code;
    if (const int code = controllers(); code >= 0) return code;
    if (a->parsed()) return RunApiBench(*api);
    if (sc->parsed()) {
      if (Status st = scenarios::ValidateSchedulerBenchOptions(*sched); !st.ok()) {
        std::fprintf(stderr, "ksim bench scheduler: error: %s\n", st.message().c_str());
        return kExitBadInput;
      }
      return RunSchedulerBench(*sched);
    }
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
