// The store's fault sweep: one seed = one simulated run of a replicated store under a
// seed-drawn (or given) fault schedule with a concurrent client workload, judged by
// checkers:
//   always:  Election Safety (one leader per term), Log Matching, Leader Completeness,
//            State Machine Safety (no two members apply different entries at an index),
//            at-most-once application of a write, linearizability of the client history
//            (per key, faults/lincheck), watch stream order (no gap, no duplicate);
//   eventually (after the faults heal): a leader exists, a write commits, and every
//            member converges to the same store.
// A linearizability verdict of "unknown" (the search's budget ran out) is a violation too.
// Violations of eventual properties start with "liveness:"; all others are safety.
// Used by the property tests (RapidCheck shrinks the fault list) and by the mutation
// check (each deliberate bug must be caught within a bounded number of seeds).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cluster/env/time.h"
#include "cluster/store/mutation.h"
#include "faults/fault.h"

namespace ksim::storeserver::testing {

struct SweepOptions {
  uint64_t seed = 1;
  int members = 3;
  int clients = 3;
  int keys = 3;
  Nanos faults_until = Seconds(15);  // the nemesis acts in [1s, faults_until)
  Nanos settle = Seconds(15);        // after the heal: liveness deadline and convergence
  bool nemesis = true;               // draw a schedule from the seed
  // Also aim faults at whoever leads: crash or power-cycle it, isolate it, power-cycle a
  // majority at once. This is what exposes bugs in elections and commitment.
  bool leader_nemesis = true;
  Nanos fsync_latency_max = Milliseconds(20);
  std::vector<faults::TimedFault> schedule;  // used when nemesis is false
  Mutation mutation = Mutation::kNone;
  uint64_t snapshot_every_entries = 50;  // small, so snapshots and installs happen
  // 0: drawn from the seed (1, 2 or 64). Small batches make followers acknowledge old
  // entries separately from a new leader's first entry, which is what Figure 8 needs.
  size_t max_entries_per_message = 0;
  // 0: drawn from the seed — 1 byte (every persisted, applied entry's data is evicted, so
  // every append to a lagging follower reads the WAL back) or the server's default.
  size_t raft_entry_cache_bytes = 0;
  // The linearizability search's state budget (0: lincheck's default). A search that runs
  // out of it gives the verdict "unknown", which fails the seed like "not linearizable":
  // a check that cannot decide has not passed.
  uint64_t lincheck_max_states = 0;
};

struct SweepResult {
  std::vector<std::string> violations;  // empty: every check passed
  std::vector<std::string> faults;      // as applied
  int64_t ops_ok = 0, ops_info = 0, ops_failed = 0;
  uint64_t elections = 0;
  uint64_t snapshots_installed = 0;
  uint64_t trace_hash = 0;
  std::string history;  // the client history, EDN lines (for lincheck)
  bool lincheck_unknown = false;  // the search ran out of budget (also a violation)
  bool ok() const { return violations.empty(); }
  // Whether a violation broke an *always* property (everything but "liveness: ..."): what
  // catching a safety bug requires, since a stalled cluster proves nothing about safety.
  bool safety_violated() const;
  std::string Summary() const;
};

SweepResult RunStoreSweep(const SweepOptions& options);

}  // namespace ksim::storeserver::testing
