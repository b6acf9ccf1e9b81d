// The scheduler benchmark scenario, in the shape of Kubernetes' scheduler_perf workloads:
// a one-member store, one apiserver, N nodes and some initial pods created through the
// API, then P pending pods; the scheduler process then starts and binds them. Phases run
// one at a time so `ksim bench scheduler` can time the scheduling phase on the wall clock;
// the scenario itself counts only simulated work, and checks the placements at the end.
//
// Workloads (nodes: 4 cpu, 32Gi, 110 pods; pods request 100m / 500Mi unless said):
//   basic              plain pods, 1000 initial pods already bound
//   node-affinity      nodes in 4 zones; pods require zone In (zone-0, zone-1)
//   pod-affinity       nodes in 10 zones; 1000 initial "color: blue" pods; pods require
//                      affinity to blue pods by zone
//   pod-anti-affinity  pods (and up to 1000 initial pods) require anti-affinity to each
//                      other by hostname: at most one per node (needs pods + initial <= nodes)
//   topology-spread    nodes in 3 zones; pods spread by zone, maxSkew 1, DoNotSchedule
//   preemption         every node full of one low-priority pod (4 cpu); pods of priority
//                      1000 request 3 cpu, so each preempts one victim
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cluster/env/status.h"

namespace ksim::scenarios {

struct SchedulerBenchOptions {
  uint64_t seed = 1;
  std::string workload = "basic";
  int nodes = 5000;
  int pods = 10000;
};

// The workload names, in the order `--help` lists them.
const std::vector<std::string>& SchedulerBenchWorkloads();
// InvalidArgument naming the flag: unknown workload, out-of-range counts, or a
// pod-anti-affinity run with more pods than nodes.
Status ValidateSchedulerBenchOptions(const SchedulerBenchOptions& options);

struct SchedulerBenchResult {
  uint64_t measured_pods = 0;
  uint64_t initial_pods = 0;
  uint64_t bound = 0;          // measured pods bound at the end
  uint64_t cycles = 0;         // scheduling cycles (retries included)
  uint64_t unschedulable_cycles = 0;
  uint64_t preemptions = 0;
  uint64_t victims = 0;
  uint64_t bind_failures = 0;
  uint64_t nodes_evaluated = 0;
  uint64_t violations = 0;     // placements that break the workload's rules (must be 0)
  std::string first_violation;
  double schedule_sim_seconds = 0;
  uint64_t placement_hash = 0;  // of (pod, node) pairs: equal seeds give equal placements
  uint64_t trace_hash = 0;
};

class SchedulerBench {
 public:
  // REQUIRES: ValidateSchedulerBenchOptions(options).ok().
  explicit SchedulerBench(SchedulerBenchOptions options);
  ~SchedulerBench();
  // Builds the cluster and creates nodes, initial pods and the pending pods.
  void Setup();
  // Starts the scheduler; returns when every measured pod is bound (or nothing moves for
  // a simulated minute).
  void RunScheduling();
  // Lists every pod and checks the placements (resources, anti-affinity, spread).
  void Verify();
  const SchedulerBenchResult& result() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace ksim::scenarios
