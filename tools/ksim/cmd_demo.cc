// ksim demo: runs the built-in simulated demo cluster under a seed.
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <string>

#include "scenarios/demo_run.h"
#include "tools/ksim/commands.h"
#include "tools/ksim/duration.h"

namespace ksim::tools {

CommandFn AddDemoCommand(CLI::App& app) {
  struct Flags {
    uint64_t seed = 1;
    int hosts = 5;
    std::string duration = "60s";
    bool no_faults = false;
    bool verbose = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "demo", "Run the simulated demo: gossip-counter nodes under seed-drawn faults; the last line is trace_hash=...");
  cmd->add_option("--seed", flags->seed, "Seed of the run (0..2^64-1); the same seed replays the same run")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--hosts", flags->hosts, "Number of simulated hosts")->check(CLI::Range(2, 1000))->capture_default_str();
  cmd->add_option("--duration", flags->duration, "Simulated duration, e.g. 60s, 2m (at least 10s)")->capture_default_str();
  cmd->add_flag("--no-faults", flags->no_faults, "Run without injecting faults");
  cmd->add_flag("--verbose", flags->verbose, "Print the simulated processes' log to stderr");
  return [flags]() -> int {
    Nanos duration;
    if (Status s = ParseDuration("--duration", flags->duration, &duration); !s.ok()) {
      std::fprintf(stderr, "ksim demo: error: %s\n", s.message().c_str());
      return kExitBadInput;
    }
    if (duration < Seconds(10) || duration > Seconds(24 * 3600)) {
      std::fprintf(stderr, "ksim demo: error: --duration: %s is out of range (10s to 24h)\n", flags->duration.c_str());
      return kExitBadInput;
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
