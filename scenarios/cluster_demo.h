// The cluster demo (`ksim demo`, scripts/demo.sh): a SimCluster of 3 control-plane hosts
// and 5 workers; applies a set of manifests (bare pods with labels and a Service), then
// injects a control-plane process crash, a node failure (power off) and a partition of a
// control-plane host with a worker, heals, and reports where pods ran, their phases and
// restarts, who answered through the Service, and which checks held. The fault targets
// are drawn from the seed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cluster/env/time.h"

namespace ksim::scenarios {

struct ClusterDemoOptions {
  uint64_t seed = 1;
  int control_plane = 3;        // 1..7
  int workers = 5;              // 2..1000
  Nanos duration = Seconds(240);  // >= 180s: the fault timeline takes 150s after bootstrap
  bool faults = true;
  bool echo_log = false;
};

struct ClusterDemoPod {
  std::string name;
  std::string node;
  std::string phase;
  int restarts = 0;
  std::string pod_ip;
};

struct ClusterDemoCheck {
  std::string name;
  bool held = false;
  std::string detail;
};

struct ClusterDemoResult {
  uint64_t seed = 0;
  int control_plane = 0;
  int workers = 0;
  Nanos duration{0};
  std::string setup_error;                  // non-empty: the cluster never came up
  std::vector<std::string> faults;          // as applied
  std::vector<ClusterDemoPod> pods;         // at the end, by name
  std::vector<std::string> answers;         // "pod" per Service request ("" when none)
  std::string service_note;                 // why no request went through the Service
  uint64_t api_probes = 0;                  // API calls through the load balancer
  uint64_t api_probe_failures = 0;
  Nanos api_probe_worst{0};                 // the slowest answer
  std::vector<ClusterDemoCheck> checks;
  uint64_t events = 0;
  uint64_t trace_hash = 0;
  bool ok() const;
};

ClusterDemoResult RunClusterDemo(const ClusterDemoOptions& options);

// Human-readable report; its last line is "trace_hash=<16 hex digits>".
std::string FormatClusterDemo(const ClusterDemoResult& result);

}  // namespace ksim::scenarios
