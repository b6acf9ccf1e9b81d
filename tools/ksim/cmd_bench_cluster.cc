// ksim bench cluster: a whole simulated cluster timed on the wall clock. Two figures:
//   --duration D      steady state after the pods are Running: sim_seconds_per_wall_second
//   --until-running   pods created through the API until all Running: wall_seconds_to_running
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <string>

#include "scenarios/cluster_bench.h"
#include "tools/ksim/commands.h"
#include "tools/ksim/duration.h"

namespace ksim::tools {

namespace {

uint64_t PeakResidentBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

// CPU time of this process: on a shared machine the wall clock also counts other jobs.
double CpuSeconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

std::function<int()> AddBenchClusterCommand(CLI::App& bench) {
  struct Flags {
    scenarios::ClusterBenchOptions o;
    std::string duration = "10m";
    bool until_running = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* c = bench.add_subcommand(
      "cluster", "A whole simulated cluster: steady-state speed (--duration) or time to Running (--until-running)");
  c->add_option("--seed", f->o.seed, "Seed of the run")->check(CLI::NonNegativeNumber)->capture_default_str();
  c->add_option("--nodes", f->o.nodes, "Worker nodes")->capture_default_str();
  c->add_option("--pods", f->o.pods, "Pods created through the API")->capture_default_str();
  c->add_option("--control-plane", f->o.control_plane, "Control-plane hosts")->capture_default_str();
  c->add_option("--duration", f->duration, "Simulated steady state after the pods are Running, e.g. 10m")
      ->capture_default_str();
  c->add_flag("--until-running", f->until_running, "Stop once every pod is Running; report the wall time to it");
  return [f, c]() -> int {
    if (!c->parsed()) return -1;
    if (Status st = scenarios::ValidateClusterBenchOptions(f->o); !st.ok()) {
      std::fprintf(stderr, "ksim bench cluster: error: %s\n", st.message().c_str());
      return kExitBadInput;
    }
    Nanos duration;
    if (Status st = ParseDuration("--duration", f->duration, &duration); !st.ok()) {
      std::fprintf(stderr, "ksim bench cluster: error: %s\n", st.message().c_str());
      return kExitBadInput;
    }
    if (!f->until_running && (duration < Seconds(1) || duration > Seconds(7 * 24 * 3600))) {
      std::fprintf(stderr, "ksim bench cluster: error: --duration: %s is out of range (1s to 7d)\n",
                   f->duration.c_str());
      return kExitBadInput;
    }
    const scenarios::ClusterBenchOptions& o = f->o;
    std::printf("ksim bench cluster: seed=%llu control-plane=%d nodes=%d pods=%d %s\n",
                static_cast<unsigned long long>(o.seed), o.control_plane, o.nodes, o.pods,
                f->until_running ? "until-running" : ("duration=" + f->duration).c_str());
    scenarios::ClusterBench b(o);
    const auto setup = std::chrono::steady_clock::now();
    if (Status st = b.Setup(); !st.ok()) {
      std::fprintf(stderr, "ksim bench cluster: error: %s\n", st.message().c_str());
      return 1;
    }
    std::printf("setup: cluster booted and %d Nodes registered in %.3f wall s\n", o.nodes, Since(setup));
    const auto start = std::chrono::steady_clock::now();
    const double start_cpu = CpuSeconds();
    const bool all = b.RunUntilRunning();
    const double to_running_wall = Since(start);
    const double to_running_cpu = CpuSeconds() - start_cpu;
    const scenarios::ClusterBenchResult& r = b.result();
    if (!r.kubelets) {
      std::printf("note: this build runs no kubelets, so pods stop at bound (spec.nodeName set), not Running\n");
    }
    std::printf("pods: %llu created (%llu failed%s%s), %llu %s in %.3f wall s, %.3f cpu s (%.2f simulated s)\n",
                static_cast<unsigned long long>(r.created), static_cast<unsigned long long>(r.create_failures),
                r.first_failure.empty() ? "" : ", first: ", r.first_failure.c_str(),
                static_cast<unsigned long long>(r.reached), r.milestone.c_str(), to_running_wall, to_running_cpu,
                r.to_milestone_sim_seconds);
    std::printf("memory: peak %.0f MiB resident\n", static_cast<double>(PeakResidentBytes()) / 1048576.0);
    if (f->until_running) {
      std::printf("trace_hash=%016llx\n", static_cast<unsigned long long>(r.trace_hash));
      std::printf("wall_seconds_to_%s=%.3f\n", r.kubelets ? "running" : "bound", to_running_wall);
      return all ? 0 : 1;
    }
    const auto steady = std::chrono::steady_clock::now();
    const double steady_cpu_start = CpuSeconds();
    b.RunSteady(duration);
    const double steady_wall = Since(steady);
    const double steady_cpu = CpuSeconds() - steady_cpu_start;
    std::printf("steady state: %.0f simulated s in %.3f wall s, %.3f cpu s, %llu events, %llu frames; %llu pods still %s\n",
                r.steady_sim_seconds, steady_wall, steady_cpu, static_cast<unsigned long long>(r.steady_events),
                static_cast<unsigned long long>(r.steady_frames), static_cast<unsigned long long>(r.still_at_milestone),
                r.milestone.c_str());
    std::printf("memory: peak %.0f MiB resident\n", static_cast<double>(PeakResidentBytes()) / 1048576.0);
    std::printf("trace_hash=%016llx\n", static_cast<unsigned long long>(r.trace_hash));
    std::printf("sim_seconds_per_wall_second=%.0f\n", r.steady_sim_seconds / steady_wall);
    return all && r.still_at_milestone == static_cast<uint64_t>(o.pods) ? 0 : 1;
  };
}

}  // namespace ksim::tools
