// The ReplicaSet controller benchmark (`ksim bench controllers`): a BenchControlPlane with
// N Node objects and R ReplicaSets of replicas 0, synced once by a controller-manager that
// runs only the ReplicaSet controller (expectations on). The measured phase scales every
// ReplicaSet to its share of P pods through the scale subresource (as `kubectl scale`) and
// runs until the benchmark's pod informer holds all P pods; that informer also checks that
// no ReplicaSet ever has more pods than its replicas and no pod is deleted. No scheduler or kubelet runs:
// pods stay Pending, unbound, which is all a ReplicaSet needs to count them. Afterwards the
// world runs until every ReplicaSet reports its replicas and a further 30 simulated seconds,
// and the pods are listed from the apiserver: exactly its replicas per ReplicaSet, each
// owned by it, none orphaned (what expectations protect: no create repeated).
// Phases run one at a time so tools/ can time the measured one on the wall clock.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "cluster/env/status.h"

namespace ksim::scenarios {

struct ControllersBenchOptions {
  uint64_t seed = 1;
  int replicasets = 1500;
  int pods = 150000;
  int nodes = 5000;
};

// InvalidArgument naming the flag (--replicasets, --pods, --nodes).
Status ValidateControllersBenchOptions(const ControllersBenchOptions& options);

struct ControllersBenchResult {
  uint64_t pods_wanted = 0;
  uint64_t pods_seen = 0;        // in the benchmark's informer when the measured phase ended
  uint64_t creates_sent = 0;     // pod creates the controller-manager sent (whole run)
  uint64_t other_writes = 0;     // its other writes (ReplicaSet status)
  double scale_sim_seconds = 0;  // the measured phase, simulated
  double settle_sim_seconds = 0;
  uint64_t events = 0;           // simulated events in the measured phase
  // Verification (after the settle).
  uint64_t pods_listed = 0;
  uint64_t failed_create_events = 0;  // FailedCreate Events (after the recorder's spam filter)
  std::string first_failed_create;
  uint64_t violations = 0;
  std::string first_violation;
  uint64_t result_hash = 0;      // ReplicaSets and their pods' names: equal seeds, equal hash
  uint64_t trace_hash = 0;
};

class ControllersBench {
 public:
  // REQUIRES: ValidateControllersBenchOptions(options).ok().
  explicit ControllersBench(ControllersBenchOptions options);
  ~ControllersBench();
  // Boots the control plane, creates the Nodes and ReplicaSets, starts the controller-manager
  // and waits until it has synced every ReplicaSet once.
  Status Setup();
  // The measured phase: scale every ReplicaSet up, run until all pods exist. Whether they do.
  bool RunScaleUp();
  // Settles, lists and checks (fills the verification fields).
  void Verify();
  const ControllersBenchResult& result() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace ksim::scenarios
