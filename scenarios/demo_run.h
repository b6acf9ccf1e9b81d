// The built-in demo scenario: a mesh of gossip-counter nodes on simulated hosts, a
// seed-drawn schedule of faults, then heal, quiesce and check. It is what `ksim demo`
// runs and what the determinism tests replay.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cluster/env/time.h"
#include "sim/network.h"

namespace ksim::scenarios {

struct DemoOptions {
  uint64_t seed = 1;
  int hosts = 5;                  // 2..1000
  Nanos duration = Seconds(60);   // >= 10s: faults, then heal, quiesce and converge
  bool faults = true;
  bool echo_log = false;          // print the world's log to stderr as it happens
};

struct DemoResult {
  uint64_t seed = 0;
  int hosts = 0;
  Nanos duration{0};
  std::vector<std::string> faults;     // as applied, "t=... <fault>"
  std::map<std::string, uint64_t> own_values;  // node -> its own durable counter
  bool converged = false;              // every node agrees on every counter at the end
  Nanos converged_at{0};
  std::vector<std::string> violations; // durability violations: reported by nodes, or
                                       // found when a node came back below what it announced
  std::vector<std::string> recovery_violations;
  uint64_t events = 0;
  sim::NetworkStats network;
  uint64_t disk_crashes = 0;
  uint64_t unsynced_ops_lost = 0;
  uint64_t trace_hash = 0;
  bool ok() const { return converged && violations.empty(); }
};

DemoResult RunDemo(const DemoOptions& options);

// Human-readable summary; its last line is "trace_hash=<16 hex digits>".
std::string FormatDemoSummary(const DemoResult& result);

}  // namespace ksim::scenarios
