// The rollout benchmark (`ksim bench rollout`): a BenchControlPlane with N Node objects, a
// controller-manager running the Deployment and ReplicaSet controllers, and a BenchPodRunner
// (bind, then Running and Ready after a simulated second; deleted pods gone a second after
// their deletionTimestamp). Setup creates Deployment bench/web of R replicas (image v1,
// RollingUpdate with Kubernetes' default 25% maxSurge and maxUnavailable) and runs until it
// is rolled out. The measured phase changes the image to v2 and runs until `kubectl rollout
// status` would return (observedGeneration current, updated = replicas = available = R).
// Throughout, a pod informer checks every store state it is shown: at most R + maxSurge
// active pods (not terminating) and at least R - maxUnavailable Ready ones. Afterwards the
// world runs until the old pods are gone, and the pods are listed: exactly R, every one v2,
// owned by the new ReplicaSet, Ready.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "cluster/env/status.h"

namespace ksim::scenarios {

struct RolloutBenchOptions {
  uint64_t seed = 1;
  int replicas = 5000;
  int nodes = 1000;
};

// InvalidArgument naming the flag (--replicas, --nodes).
Status ValidateRolloutBenchOptions(const RolloutBenchOptions& options);

struct RolloutBenchResult {
  int max_surge = 0;        // resolved from 25%
  int max_unavailable = 0;
  double setup_sim_seconds = 0;    // creating the Deployment until rolled out
  double rollout_sim_seconds = 0;  // the measured phase, simulated
  uint64_t events = 0;             // simulated events in the measured phase
  int most_active = 0;             // highest active pod count seen during the rollout
  int fewest_ready = 0;            // lowest Ready (active) pod count seen during the rollout
  uint64_t states_checked = 0;     // pod events the bounds were checked at
  uint64_t binds = 0;
  uint64_t ready_writes = 0;
  uint64_t removals = 0;
  // Verification.
  uint64_t pods_listed = 0;
  uint64_t violations = 0;
  std::string first_violation;
  uint64_t result_hash = 0;  // pod and ReplicaSet names: equal seeds, equal hash
  uint64_t trace_hash = 0;
};

class RolloutBench {
 public:
  // REQUIRES: ValidateRolloutBenchOptions(options).ok().
  explicit RolloutBench(RolloutBenchOptions options);
  ~RolloutBench();
  // Boots, creates Nodes and the Deployment, runs until it is rolled out at v1.
  Status Setup();
  // The measured phase. Whether the rollout completed.
  bool RunRollout();
  void Verify();
  const RolloutBenchResult& result() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace ksim::scenarios
