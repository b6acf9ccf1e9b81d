// The API benchmark scenario: a 3-member store, A apiservers, closed-loop clients creating
// N pods spread over the apiservers, one informer watching every pod, then a full list.
// The clients are what a tenant's workload would be: a service account allowed by a Role
// to create and read pods in one namespace that has a ResourceQuota (charged on every
// create) and a LimitRange (defaulting every container's limits). `as_admin` keeps the
// earlier shape: a system:masters user in a namespace without quota or limit range.
// Phases run one at a time so `ksim bench api` can time each on the wall clock; the
// scenario itself counts only simulated work.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "cluster/env/status.h"
#include "cluster/env/time.h"

namespace ksim::scenarios {

struct ApiBenchOptions {
  uint64_t seed = 1;
  int apiservers = 3;
  int pods = 150000;
  int creators = 30;            // client processes
  int in_flight_per_creator = 10;
  bool as_admin = false;
};

struct ApiBenchResult {
  uint64_t created = 0;
  uint64_t failed = 0;
  std::string first_failure;      // "<code> <reason>: <message>" of the first failed create
  uint64_t quota_pods_used = 0;   // the ResourceQuota's status.used.pods after the creates (tenant shape)
  uint64_t informer_events = 0;   // watch events the informer received
  uint64_t informer_objects = 0;  // pods in the informer's copy at the end
  uint64_t listed = 0;            // pods in the full list
  uint64_t list_pages = 0;
  double create_sim_seconds = 0;
  // Simulated work of the create phase: events the world ran, frames and bytes delivered.
  uint64_t create_events = 0;
  uint64_t create_frames = 0;
  uint64_t create_bytes = 0;
  double list_sim_seconds = 0;
  uint64_t trace_hash = 0;
};

class ApiBench {
 public:
  explicit ApiBench(ApiBenchOptions options);
  ~ApiBench();
  // Builds the cluster, elects a store leader, writes the namespace (and, unless
  // as_admin, the service account, its token, RBAC, quota and limit range) as an admin,
  // waits until every apiserver authenticates the service account, starts the informer.
  Status Setup();
  // Creates the pods; returns when all are acknowledged and the informer has them all.
  void RunCreates();
  // Lists every pod through one apiserver in pages of 500, as kubectl would.
  void RunList();
  const ApiBenchResult& result() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace ksim::scenarios
