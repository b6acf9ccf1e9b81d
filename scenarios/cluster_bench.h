// The cluster benchmark (`ksim bench cluster`): a SimCluster of N workers and 3
// control-plane hosts; P pods (scheduler_perf's shape: pause, 100m / 500Mi) created
// directly through the API, then run until every pod is Running (bound, in a build
// without kubelets) and optionally a steady state after that. Phases run one at a time
// so tools/ can time each on the wall clock; the scenario only counts simulated work.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "cluster/env/status.h"
#include "cluster/env/time.h"

namespace ksim::scenarios {

struct ClusterBenchOptions {
  uint64_t seed = 1;
  int control_plane = 3;
  int nodes = 100;
  int pods = 3000;
};

// InvalidArgument naming the flag (--nodes, --pods, --control-plane).
Status ValidateClusterBenchOptions(const ClusterBenchOptions& options);

struct ClusterBenchResult {
  bool kubelets = false;       // whether pods can reach Running in this build
  std::string milestone;       // "Running" or "bound"
  uint64_t created = 0;
  uint64_t create_failures = 0;
  std::string first_failure;
  uint64_t reached = 0;        // pods at the milestone
  double to_milestone_sim_seconds = 0;
  double steady_sim_seconds = 0;
  uint64_t steady_events = 0;
  uint64_t steady_frames = 0;
  uint64_t still_at_milestone = 0;  // pods at the milestone after the steady state
  uint64_t trace_hash = 0;
};

class ClusterBench {
 public:
  // REQUIRES: ValidateClusterBenchOptions(options).ok().
  explicit ClusterBench(ClusterBenchOptions options);
  ~ClusterBench();
  // Boots the cluster and registers the workers.
  Status Setup();
  // Creates the pods and runs until all reached the milestone (or nothing moved for a
  // simulated minute). Whether all did.
  bool RunUntilRunning();
  // Runs `duration` of simulated time in the steady state.
  void RunSteady(Nanos duration);
  const ClusterBenchResult& result() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace ksim::scenarios
