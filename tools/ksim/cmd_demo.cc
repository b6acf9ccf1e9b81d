// ksim demo: runs the built-in simulated cluster demo under a seed (or, with --gossip,
// the gossip-counter mesh the foundation was proven with).
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <string>

#include "scenarios/cluster_demo.h"
#include "scenarios/demo_run.h"
#include "tools/ksim/commands.h"
#include "tools/ksim/duration.h"

namespace ksim::tools {

CommandFn AddDemoCommand(CLI::App& app) {
  struct Flags {
    uint64_t seed = 1;
    bool gossip = false;
    int hosts = 5;
    int workers = 5;
    int control_plane = 3;
    std::string duration;
    bool no_faults = false;
    bool verbose = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "demo",
      "Run the simulated demo cluster (3 control-plane hosts behind a load balancer, 5 workers, pods and a Service, "
      "node failures and a partition); the last line is trace_hash=...");
  cmd->add_option("--seed", flags->seed, "Seed of the run (0..2^64-1); the same seed replays the same run")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--workers", flags->workers, "Worker hosts of the cluster demo")
      ->check(CLI::Range(2, 1000))
      ->capture_default_str();
  cmd->add_option("--control-plane", flags->control_plane, "Control-plane hosts of the cluster demo")
      ->check(CLI::Range(1, 7))
      ->capture_default_str();
  cmd->add_flag("--gossip", flags->gossip, "Run the gossip-counter mesh demo instead (takes --hosts)");
  cmd->add_option("--hosts", flags->hosts, "Number of simulated hosts (--gossip only)")
      ->check(CLI::Range(2, 1000))
      ->capture_default_str();
  cmd->add_option("--duration", flags->duration,
                  "Simulated duration, e.g. 60s, 4m (cluster: at least 3m, default 4m; --gossip: at least 10s, "
                  "default 60s)");
  cmd->add_flag("--no-faults", flags->no_faults, "Run without injecting faults");
  cmd->add_flag("--verbose", flags->verbose, "Print the simulated processes' log to stderr");
  return [flags, cmd]() -> int {
    const bool gossip = flags->gossip;
    if (!gossip && cmd->count("--hosts") > 0) {
      std::fprintf(stderr, "ksim demo: error: --hosts: applies to --gossip; the cluster demo takes --workers\n");
      return kExitBadInput;
    }
    if (gossip && (cmd->count("--workers") > 0 || cmd->count("--control-plane") > 0)) {
      std::fprintf(stderr, "ksim demo: error: --workers/--control-plane: apply to the cluster demo, not --gossip\n");
      return kExitBadInput;
    }
    const std::string text = flags->duration.empty() ? (gossip ? "60s" : "4m") : flags->duration;
    Nanos duration;
    if (Status s = ParseDuration("--duration", text, &duration); !s.ok()) {
      std::fprintf(stderr, "ksim demo: error: %s\n", s.message().c_str());
      return kExitBadInput;
    }
    const Nanos min = gossip ? Seconds(10) : Seconds(180);
    if (duration < min || duration > Seconds(24 * 3600)) {
      std::fprintf(stderr, "ksim demo: error: --duration: %s is out of range (%s to 24h)\n", text.c_str(),
                   gossip ? "10s" : "3m");
      return kExitBadInput;
    }
    if (!gossip) {
      scenarios::ClusterDemoOptions options;
      options.seed = flags->seed;
      options.workers = flags->workers;
      options.control_plane = flags->control_plane;
      options.duration = duration;
      options.faults = !flags->no_faults;
      options.echo_log = flags->verbose;
      const scenarios::ClusterDemoResult result = scenarios::RunClusterDemo(options);
      std::fputs(scenarios::FormatClusterDemo(result).c_str(), stdout);
      return result.ok() ? 0 : 1;
    }
    scenarios::DemoOptions options;
    options.seed = flags->seed;
    options.hosts = flags->hosts;
    options.duration = duration;
    options.faults = !flags->no_faults;
    options.echo_log = flags->verbose;
    const scenarios::DemoResult result = scenarios::RunDemo(options);
    std::fputs(scenarios::FormatDemoSummary(result).c_str(), stdout);
    return result.ok() ? 0 : 1;
  };
}

}  // namespace ksim::tools
