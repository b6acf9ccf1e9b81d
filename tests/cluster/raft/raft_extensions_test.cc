// Raft beyond the paper's core rules: PreVote and CheckQuorum (Ongaro's thesis §9.6,
// §6.2), ReadIndex (§6.4), log compaction and InstallSnapshot (paper §7), single-server
// membership changes (thesis §4.1) and leader transfer (thesis §3.10).
#include <gtest/gtest.h>

#include "tests/cluster/raft/raft_harness.h"

namespace ksim::raft::testing {
namespace {

// Thesis §9.6: a node partitioned away keeps timing out, but with PreVote it never
// raises its term, so when it returns it does not depose a healthy leader.
TEST(RaftPreVote, PartitionedNodeDoesNotDisruptTheClusterWhenItReturns) {
  Cluster c(3);  // PreVote and CheckQuorum on (the defaults)
  ASSERT_TRUE(c.Elect(1));
  const uint64_t term = c.node(1).term();
  c.Isolate(3);
  for (int i = 0; i < 100; ++i) c.node(3).Tick();
  c.Drain();
  EXPECT_EQ(c.node(3).term(), term);  // pre-votes failed; the term never moved
  EXPECT_EQ(c.node(3).role(), Role::kPreCandidate);
  c.Heal();
  c.Tick(3);
  EXPECT_EQ(c.node(1).role(), Role::kLeader);
  EXPECT_EQ(c.node(1).term(), term);
  EXPECT_EQ(c.node(3).leader(), 1u);
}

TEST(RaftPreVote, WithoutPreVoteTheReturningNodeForcesANewTerm) {
  // The contrast that motivates PreVote: the same scenario, paper rules only.
  Cluster c(3, PaperConfig);
  ASSERT_TRUE(c.Elect(1));
  const uint64_t term = c.node(1).term();
  c.Isolate(3);
  for (int i = 0; i < 100; ++i) c.node(3).Tick();
  c.Drain();
  EXPECT_GT(c.node(3).term(), term);
  c.Heal();
  c.Tick(30);
  EXPECT_GT(c.node(c.Leader()).term(), term);
}

// Thesis §6.2: a leader that cannot reach a quorum for an election timeout steps down.
TEST(RaftCheckQuorum, IsolatedLeaderStepsDown) {
  Cluster c(3);
  ASSERT_TRUE(c.Elect(1));
  c.Isolate(1);
  for (int i = 0; i < 10; ++i) c.node(1).Tick();
  c.Drain();
  // The first check covers a window in which it still heard from followers.
  EXPECT_EQ(c.node(1).role(), Role::kLeader);
  for (int i = 0; i < 10; ++i) c.node(1).Tick();
  c.Drain();
  EXPECT_EQ(c.node(1).role(), Role::kFollower);
  // The majority side elects a new leader meanwhile.
  for (int i = 0; i < 40 && c.node(2).role() != Role::kLeader && c.node(3).role() != Role::kLeader; ++i) {
    c.node(2).Tick();
    c.node(3).Tick();
    c.Drain();
  }
  EXPECT_TRUE(c.node(2).role() == Role::kLeader || c.node(3).role() == Role::kLeader);
}

TEST(RaftCheckQuorum, FollowersInLeaseIgnoreVotesForNewTerms) {
  Cluster c(3);
  ASSERT_TRUE(c.Elect(1));
  const uint64_t term = c.node(2).term();
  Message v = Msg(MSG_VOTE, 3, 2, term + 1);
  v.set_index(100);
  v.set_log_term(100);
  ASSERT_TRUE(c.node(2).Step(v).ok());
  EXPECT_EQ(c.node(2).term(), term);  // heard from the leader recently: ignored
}

// Thesis §6.4: a read index is handed out only after the leader has committed an entry
// of its term and a quorum confirmed its leadership after the request.
TEST(RaftReadIndex, LeaderServesReadAfterQuorumConfirms) {
  Cluster c(3);
  ASSERT_TRUE(c.Elect(1));
  ASSERT_TRUE(c.node(1).Propose("x").ok());
  c.Drain();
  c.Isolate(2);
  c.Isolate(3);
  ASSERT_TRUE(c.node(1).ReadIndex("r1").ok());
  c.Drain();
  EXPECT_TRUE(c.read_states(1).empty());  // no quorum reachable: no answer
  c.Heal();
  ASSERT_TRUE(c.node(1).ReadIndex("r2").ok());
  c.Drain();
  ASSERT_FALSE(c.read_states(1).empty());
  EXPECT_EQ(c.read_states(1).back().context, "r2");
  EXPECT_EQ(c.read_states(1).back().index, c.node(1).log().committed());
}

TEST(RaftReadIndex, FollowerReadIsForwardedToTheLeader) {
  Cluster c(3);
  ASSERT_TRUE(c.Elect(1));
  ASSERT_TRUE(c.node(1).Propose("x").ok());
  c.Drain();
  ASSERT_TRUE(c.node(2).ReadIndex("f1").ok());
  c.Drain();
  ASSERT_EQ(c.read_states(2).size(), 1u);
  EXPECT_EQ(c.read_states(2)[0].context, "f1");
  EXPECT_EQ(c.read_states(2)[0].index, c.node(1).log().committed());
}

TEST(RaftReadIndex, NewLeaderWaitsForItsFirstCommitBeforeServingReads) {
  Cluster c(3);
  c.Drop(MSG_APP_RESP);  // the new leader cannot commit its empty entry
  ASSERT_TRUE(c.Elect(1));
  ASSERT_TRUE(c.node(1).ReadIndex("early").ok());
  c.Drain();
  EXPECT_TRUE(c.read_states(1).empty());
  c.Undrop(MSG_APP_RESP);
  c.Tick();
  ASSERT_EQ(c.read_states(1).size(), 1u);
  EXPECT_TRUE(c.node(1).log().MatchTerm(c.read_states(1)[0].index, c.node(1).term()));
}

// Paper §7: a follower that falls behind the leader's compacted log receives the
// snapshot and then the entries after it.
TEST(RaftSnapshot, LaggingFollowerCatchesUpFromSnapshot) {
  Cluster c(3);
  ASSERT_TRUE(c.Elect(1));
  c.Isolate(3);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(c.node(1).Propose("e" + std::to_string(i)).ok());
  c.Drain();
  const uint64_t applied = c.node(1).log().applied();
  ASSERT_TRUE(c.node(1).Compact(applied, "image@" + std::to_string(applied)).ok());
  EXPECT_EQ(c.node(1).log().first_index(), applied + 1);
  ASSERT_TRUE(c.node(1).Propose("after").ok());
  c.Heal();
  c.Tick(3);
  EXPECT_EQ(c.node(3).log().last_index(), c.node(1).log().last_index());
  EXPECT_EQ(c.disk(3).snapshot.data(), "image@" + std::to_string(applied));
  EXPECT_EQ(c.applied(3), std::vector<std::string>{"after"});  // the rest came in the image
  EXPECT_GT(c.sent(MSG_SNAP), 0u);
}

// With a bounded entry cache the leader evicts applied entries' data and reads it back
// from its durable log for a follower that fell behind (§5.3: the leader retries
// AppendEntries with earlier entries) — no snapshot is needed while the log has them.
TEST(RaftEntryCache, LaggingFollowerCatchesUpFromEntriesReadBack) {
  Cluster c(3, [](Config& cfg) {
    cfg.max_cached_entry_bytes = 1;
    cfg.max_entries_per_message = 4;
  });
  ASSERT_TRUE(c.Elect(1));
  c.Isolate(3);
  std::vector<std::string> proposed;
  for (int i = 0; i < 20; ++i) {
    proposed.push_back("e" + std::to_string(i));
    ASSERT_TRUE(c.node(1).Propose(proposed.back()).ok());
  }
  c.Drain();
  const RaftLog& log = c.node(1).log();
  EXPECT_EQ(log.evicted_to(), log.applied()) << "everything applied was evicted";
  EXPECT_EQ(log.cached_bytes(), 0u);
  EXPECT_EQ(c.reader(1).reads, 0u);
  c.Heal();
  c.Tick(3);
  EXPECT_EQ(c.applied(3), proposed);
  EXPECT_EQ(c.node(3).log().last_index(), log.last_index());
  EXPECT_GE(c.reader(1).reads, 5u) << "20 entries, 4 per append";
  EXPECT_EQ(c.sent(MSG_SNAP), 0u);
}

// A failed read-back sends nothing; the leader retries on a later heartbeat answer.
TEST(RaftEntryCache, AFailedReadBackIsRetried) {
  Cluster c(3, [](Config& cfg) { cfg.max_cached_entry_bytes = 1; });
  ASSERT_TRUE(c.Elect(1));
  c.Isolate(3);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(c.node(1).Propose("e" + std::to_string(i)).ok());
  c.Drain();
  c.reader(1).fail = true;
  c.Heal();
  c.Tick(3);
  EXPECT_GT(c.reader(1).reads, 0u);
  EXPECT_TRUE(c.applied(3).empty());
  c.reader(1).fail = false;
  c.Tick(3);
  EXPECT_EQ(c.applied(3).size(), 5u);
}

TEST(RaftSnapshot, CompactingPastAppliedIsRefused) {
  Cluster c(1);
  ASSERT_TRUE(c.Elect(1));
  EXPECT_EQ(c.node(1).Compact(c.node(1).log().applied() + 1, "").code(), Status::Code::kInvalidArgument);
}

// Thesis §4.1: one server at a time; the new server catches up and then counts toward
// the quorum.
TEST(RaftMembership, AddedNodeCatchesUpAndCounts) {
  Cluster c(3);
  ASSERT_TRUE(c.Elect(1));
  ASSERT_TRUE(c.node(1).Propose("before").ok());
  c.Drain();
  c.Add(4, {1, 2, 3, 4});  // a new, empty node that knows the target configuration
  ConfChange cc;
  cc.set_type(ConfChange::ADD_NODE);
  cc.set_node_id(4);
  ASSERT_TRUE(c.node(1).ProposeConfChange(cc).ok());
  EXPECT_EQ(c.node(1).ProposeConfChange(cc).code(), Status::Code::kUnavailable);  // one at a time
  c.Drain();
  c.Tick(2);
  EXPECT_EQ(c.node(1).voters(), (std::set<uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(c.applied(4), std::vector<std::string>{"before"});
  // With 4 voters the quorum is 3: two isolated nodes block commits.
  c.Isolate(3);
  c.Isolate(4);
  ASSERT_TRUE(c.node(1).Propose("needs-3").ok());
  c.Drain();
  EXPECT_EQ(c.applied(1).back(), "before");
  c.Heal();
  c.Tick(2);
  EXPECT_EQ(c.applied(1).back(), "needs-3");
}

TEST(RaftMembership, RemovedNodeNoLongerCounts) {
  Cluster c(3);
  ASSERT_TRUE(c.Elect(1));
  ConfChange cc;
  cc.set_type(ConfChange::REMOVE_NODE);
  cc.set_node_id(3);
  ASSERT_TRUE(c.node(1).ProposeConfChange(cc).ok());
  c.Drain();
  EXPECT_EQ(c.node(1).voters(), (std::set<uint64_t>{1, 2}));
  c.Isolate(3);
  ASSERT_TRUE(c.node(1).Propose("two-of-two").ok());
  c.Drain();
  EXPECT_EQ(c.applied(1).back(), "two-of-two");
}

// Thesis §3.10: the leader brings the target up to date, then tells it to campaign.
TEST(RaftTransfer, LeadershipMovesToTheTarget) {
  Cluster c(3);
  ASSERT_TRUE(c.Elect(1));
  c.Isolate(3);
  ASSERT_TRUE(c.node(1).Propose("x").ok());
  c.Drain();
  c.Heal();
  ASSERT_TRUE(c.node(1).TransferLeadership(3).ok());
  EXPECT_EQ(c.node(1).Propose("refused").code(), Status::Code::kUnavailable);
  c.Drain();
  EXPECT_EQ(c.node(3).role(), Role::kLeader);
  EXPECT_EQ(c.node(1).role(), Role::kFollower);
  EXPECT_EQ(c.node(3).log().last_index(), c.node(1).log().last_index());
}

// Restarting every node from its disk yields the same applied sequence (replay).
TEST(RaftRestart, WholeClusterRestartsFromDiskAndContinues) {
  Cluster c(3);
  ASSERT_TRUE(c.Elect(1));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(c.node(1).Propose(std::to_string(i)).ok());
  c.Drain();
  for (uint64_t id : c.ids()) c.Restart(id);
  c.Drain();
  c.Tick(40);
  const uint64_t leader = c.Leader();
  ASSERT_NE(leader, kNone);
  ASSERT_TRUE(c.node(leader).Propose("5").ok());
  c.Tick(2);
  for (uint64_t id : c.ids()) {
    EXPECT_EQ(c.applied(id), (std::vector<std::string>{"0", "1", "2", "3", "4", "5"})) << id;
  }
}

}  // namespace
}  // namespace ksim::raft::testing
