// Mutations of the Raft core that a deterministic scenario catches (the fault sweep covers
// the others): the Figure 8 situation of §5.4.2, with and without the bug.
#include <gtest/gtest.h>

#include "tests/cluster/raft/raft_harness.h"

namespace ksim::raft::testing {
namespace {

// Figure 8 (c): returns the leader's commit index while only its term-2 entry (index 2)
// is on a majority and its own term-4 entry (index 3) is not.
uint64_t CommitBeforeCurrentTermEntryReplicates(Mutation mutation) {
  auto tweak = [mutation](Config& cfg) {
    PaperConfig(cfg);
    cfg.max_entries_per_message = 1;
    cfg.mutation = mutation;
  };
  Cluster c(5, tweak);
  const std::map<uint64_t, std::vector<uint64_t>> logs = {{1, {1, 2}}, {2, {1, 2}}, {3, {1}}, {4, {1}}, {5, {1, 3}}};
  for (const auto& [id, terms] : logs) {
    Restore r;
    r.hard_state.set_term(3);
    for (size_t i = 0; i < terms.size(); ++i) r.entries.push_back(Ent(terms[i], i + 1));
    c.Add(id, {1, 2, 3, 4, 5}, tweak, r);
  }
  c.Isolate(4);
  c.Isolate(5);
  c.drop_if = [&c](const Message& m) {
    if (m.type() != MSG_APP || m.to() != 3 || c.node(3).log().last_index() < 2) return false;
    for (const Entry& e : m.entries()) {
      if (e.index() >= 3) return true;
    }
    return false;
  };
  EXPECT_TRUE(c.Elect(1));
  c.Tick();
  EXPECT_EQ(c.node(1).match_of(3), 2u);
  return c.node(1).log().committed();
}

TEST(RaftMutation, Figure8ScenarioCatchesCommittingAPreviousTermEntryByCounting) {
  EXPECT_LT(CommitBeforeCurrentTermEntryReplicates(Mutation::kNone), 2u);
  EXPECT_GE(CommitBeforeCurrentTermEntryReplicates(Mutation::kCommitPreviousTermByCounting), 2u)
      << "the scenario no longer exposes the bug";
}

}  // namespace
}  // namespace ksim::raft::testing
