// Deliberate bugs for the mutation check (tests/cluster/store_server/store_mutation_test.cc):
// each one breaks a rule the store's safety depends on, and the fault sweep must catch it.
// They exist only in test builds: the *_mutable libraries compile the store with
// KSIM_MUTATIONS defined; the production libraries have no field to switch them on.
#pragma once

#include <string_view>

namespace ksim {

enum class Mutation {
  kNone,
  kAckBeforeFsync,                // send a Ready's messages before its WAL records are durable
  kReadWithoutReadIndex,          // serve linearizable reads from local state at once
  kCommitPreviousTermByCounting,  // count replicas for entries of earlier terms (§5.4.2)
  kVoteForStaleLog,               // grant votes without the up-to-date check (§5.4.1)
  kAcceptStaleLeaderAppends,      // accept AppendEntries from a leader of an older term (§5.1)
  kSkipSnapshotRestore,           // install a snapshot in the log but not in the state machine
  kNoWriteDeduplication,          // apply a retried write again
  kForgetVoteOnRestart,           // do not persist the vote (Figure 2's persistent state)
  kWatchResumesPastGap,           // a watch resumed at revision R starts at R + 1
};

// The bugs the store's fault sweep must catch (tests/cluster/store_server/).
inline constexpr Mutation kSweepMutations[] = {
    Mutation::kAckBeforeFsync,       Mutation::kReadWithoutReadIndex, Mutation::kVoteForStaleLog,
    Mutation::kAcceptStaleLeaderAppends, Mutation::kSkipSnapshotRestore, Mutation::kNoWriteDeduplication,
    Mutation::kForgetVoteOnRestart,  Mutation::kWatchResumesPastGap,
};
// Figure 8's bug needs a leader to lose its first entry's replication and die within one
// round trip of committing an older entry; random faults hit that too rarely to rely on.
// The deterministic Figure 8 scenario catches it (tests/cluster/raft/raft_mutation_test.cc).
inline constexpr Mutation kScenarioMutations[] = {Mutation::kCommitPreviousTermByCounting};

inline std::string_view MutationName(Mutation m) {
  switch (m) {
    case Mutation::kNone: return "none";
    case Mutation::kAckBeforeFsync: return "ack-before-fsync";
    case Mutation::kReadWithoutReadIndex: return "read-without-read-index";
    case Mutation::kCommitPreviousTermByCounting: return "commit-previous-term-by-counting";
    case Mutation::kVoteForStaleLog: return "vote-for-stale-log";
    case Mutation::kAcceptStaleLeaderAppends: return "accept-stale-leader-appends";
    case Mutation::kSkipSnapshotRestore: return "skip-snapshot-restore";
    case Mutation::kNoWriteDeduplication: return "no-write-deduplication";
    case Mutation::kForgetVoteOnRestart: return "forget-vote-on-restart";
    case Mutation::kWatchResumesPastGap: return "watch-resumes-past-gap";
  }
  return "?";
}

}  // namespace ksim

#ifdef KSIM_MUTATIONS
#define KSIM_MUTATED(config, m) ((config).mutation == ::ksim::Mutation::m)
#else
#define KSIM_MUTATED(config, m) false
#endif
