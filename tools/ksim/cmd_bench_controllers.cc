// ksim bench controllers | rollout: the controller-manager timed on the wall clock.
//   controllers  ReplicaSets scaled from 0: pods_created_per_second
//   rollout      a Deployment rolled to a new image: rollout_wall_seconds
// Both print CPU seconds beside wall seconds (the machine is shared) and exit 1 when the
// verification after the run found anything wrong.
#include <chrono>
#include <cstdio>
#include <memory>

#include "scenarios/controllers_bench.h"
#include "scenarios/rollout_bench.h"
#include "tools/ksim/bench_clock.h"
#include "tools/ksim/commands.h"

namespace ksim::tools {

namespace {

int RunControllersBench(const scenarios::ControllersBenchOptions& o) {
  std::printf("ksim bench controllers: seed=%llu replicasets=%d pods=%d nodes=%d\n",
              static_cast<unsigned long long>(o.seed), o.replicasets, o.pods, o.nodes);
  scenarios::ControllersBench b(o);
  const auto setup = std::chrono::steady_clock::now();
  if (Status st = b.Setup(); !st.ok()) {
    std::fprintf(stderr, "ksim bench controllers: error: %s\n", st.message().c_str());
    return 1;
  }
  std::printf("setup: %d Nodes, %d ReplicaSets at replicas 0 synced by the controller-manager in %.3f wall s\n",
              o.nodes, o.replicasets, WallSecondsSince(setup));
  const auto start = std::chrono::steady_clock::now();
  const double start_cpu = CpuSeconds();
  const bool all = b.RunScaleUp();
  const double wall_s = WallSecondsSince(start);
  const double cpu_s = CpuSeconds() - start_cpu;
  b.Verify();
  const scenarios::ControllersBenchResult& r = b.result();
  std::printf("scale-up: %llu/%llu pods created in %.3f wall s, %.3f cpu s (%.2f simulated s, %llu events)\n",
              static_cast<unsigned long long>(r.pods_seen), static_cast<unsigned long long>(r.pods_wanted), wall_s,
              cpu_s, r.scale_sim_seconds, static_cast<unsigned long long>(r.events));
  std::printf("controller writes: %llu pod creates, %llu other (ReplicaSet status)\n",
              static_cast<unsigned long long>(r.creates_sent), static_cast<unsigned long long>(r.other_writes));
  if (r.failed_create_events > 0) {
    std::printf("failed creates (Events): %llu, first: %s\n", static_cast<unsigned long long>(r.failed_create_events),
                r.first_failed_create.c_str());
  }
  std::printf("verify: %llu pods listed after %.1f simulated s of settling; violations=%llu%s%s\n",
              static_cast<unsigned long long>(r.pods_listed), r.settle_sim_seconds,
              static_cast<unsigned long long>(r.violations), r.first_violation.empty() ? "" : " first: ",
              r.first_violation.c_str());
  std::printf("memory: peak %.0f MiB resident\n", static_cast<double>(PeakResidentBytes()) / 1048576.0);
  std::printf("result_hash=%016llx trace_hash=%016llx\n", static_cast<unsigned long long>(r.result_hash),
              static_cast<unsigned long long>(r.trace_hash));
  std::printf("pods_created_per_second=%.0f\n", static_cast<double>(r.pods_seen) / wall_s);
  return all && r.violations == 0 ? 0 : 1;
}

int RunRolloutBench(const scenarios::RolloutBenchOptions& o) {
  std::printf("ksim bench rollout: seed=%llu replicas=%d nodes=%d\n", static_cast<unsigned long long>(o.seed),
              o.replicas, o.nodes);
  scenarios::RolloutBench b(o);
  const auto setup = std::chrono::steady_clock::now();
  if (Status st = b.Setup(); !st.ok()) {
    std::fprintf(stderr, "ksim bench rollout: error: %s\n", st.message().c_str());
    return 1;
  }
  const scenarios::RolloutBenchResult& r = b.result();
  std::printf("setup: %d Nodes, Deployment of %d replicas rolled out at v1 in %.3f wall s (%.2f simulated s)\n",
              o.nodes, o.replicas, WallSecondsSince(setup), r.setup_sim_seconds);
  const auto start = std::chrono::steady_clock::now();
  const double start_cpu = CpuSeconds();
  const bool done = b.RunRollout();
  const double wall_s = WallSecondsSince(start);
  const double cpu_s = CpuSeconds() - start_cpu;
  b.Verify();
  std::printf("rollout: %s in %.3f wall s, %.3f cpu s (%.2f simulated s, %llu events)\n",
              done ? "complete" : "NOT complete", wall_s, cpu_s, r.rollout_sim_seconds,
              static_cast<unsigned long long>(r.events));
  std::printf("bounds: maxSurge=%d maxUnavailable=%d; at most %d active, at least %d Ready over %llu pod states\n",
              r.max_surge, r.max_unavailable, r.most_active, r.fewest_ready,
              static_cast<unsigned long long>(r.states_checked));
  std::printf("node side: %llu binds, %llu Ready writes, %llu removals\n", static_cast<unsigned long long>(r.binds),
              static_cast<unsigned long long>(r.ready_writes), static_cast<unsigned long long>(r.removals));
  std::printf("verify: %llu pods listed; violations=%llu%s%s\n", static_cast<unsigned long long>(r.pods_listed),
              static_cast<unsigned long long>(r.violations), r.first_violation.empty() ? "" : " first: ",
              r.first_violation.c_str());
  std::printf("memory: peak %.0f MiB resident\n", static_cast<double>(PeakResidentBytes()) / 1048576.0);
  std::printf("result_hash=%016llx trace_hash=%016llx\n", static_cast<unsigned long long>(r.result_hash),
              static_cast<unsigned long long>(r.trace_hash));
  std::printf("rollout_wall_seconds=%.3f\n", wall_s);
  return done && r.violations == 0 ? 0 : 1;
}

}  // namespace

std::function<int()> AddBenchControllersCommands(CLI::App& bench) {
  auto co = std::make_shared<scenarios::ControllersBenchOptions>();
  CLI::App* c = bench.add_subcommand(
      "controllers", "ReplicaSet controller: ReplicaSets scaled from 0, pods created per wall second");
  c->add_option("--seed", co->seed, "Seed of the run")->check(CLI::NonNegativeNumber)->capture_default_str();
  c->add_option("--replicasets", co->replicasets, "ReplicaSets (the pods are shared out evenly)")->capture_default_str();
  c->add_option("--pods", co->pods, "Pods in all")->capture_default_str();
  c->add_option("--nodes", co->nodes, "Node objects in the cluster")->capture_default_str();
  auto ro = std::make_shared<scenarios::RolloutBenchOptions>();
  CLI::App* r = bench.add_subcommand(
      "rollout", "Deployment and ReplicaSet controllers: wall seconds to roll a Deployment to a new image");
  r->add_option("--seed", ro->seed, "Seed of the run")->check(CLI::NonNegativeNumber)->capture_default_str();
  r->add_option("--replicas", ro->replicas, "The Deployment's replicas")->capture_default_str();
  r->add_option("--nodes", ro->nodes, "Node objects the pods are bound to")->capture_default_str();
  return [co, c, ro, r]() -> int {
    if (c->parsed()) {
      if (Status st = scenarios::ValidateControllersBenchOptions(*co); !st.ok()) {
        std::fprintf(stderr, "ksim bench controllers: error: %s\n", st.message().c_str());
        return kExitBadInput;
      }
      return RunControllersBench(*co);
    }
    if (r->parsed()) {
      if (Status st = scenarios::ValidateRolloutBenchOptions(*ro); !st.ok()) {
        std::fprintf(stderr, "ksim bench rollout: error: %s\n", st.message().c_str());
        return kExitBadInput;
      }
      return RunRolloutBench(*ro);
    }
    return -1;
  };
}

}  // namespace ksim::tools
