// The store benchmark scenario: a replicated store on simulated hosts with closed-loop
// clients writing as fast as the store acknowledges, optionally under the nemesis. The
// scenario counts simulated work only; `ksim bench store` times it on the wall clock.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cluster/env/time.h"

namespace ksim::scenarios {

struct StoreBenchOptions {
  uint64_t seed = 1;
  int members = 3;
  int clients = 100;
  Nanos duration = Seconds(10);  // simulated
  bool faults = false;
  int keys = 1000;
};

struct StoreBenchResult {
  uint64_t committed_writes = 0;  // acknowledged to clients
  uint64_t failed_writes = 0;     // timed out or refused
  uint64_t elections = 0;
  uint64_t events = 0;
  uint64_t frames = 0;
  uint64_t faults = 0;
  uint64_t trace_hash = 0;
  double p50_latency_ms = 0, p99_latency_ms = 0;  // simulated, per acknowledged write
};

StoreBenchResult RunStoreBench(const StoreBenchOptions& options);

}  // namespace ksim::scenarios
