// One test per rule of the Raft paper (Ongaro & Ousterhout 2014), named by section, in
// the manner of etcd-io/raft's raft_paper_test.go. PreVote and CheckQuorum are off here
// (PaperConfig) so that only the paper's rules act; raft_extensions_test.cc covers them.
#include <gtest/gtest.h>

#include "tests/cluster/raft/raft_harness.h"

namespace ksim::raft::testing {
namespace {

// §5.1 "If one server's current term is smaller than the other's, then it updates its
// current term to the larger value. If a candidate or leader discovers that its term is
// out of date, it immediately reverts to follower state."
TEST(RaftPaper, Section5_1_HigherTermMakesAnyRoleFollower) {
  for (Role start : {Role::kFollower, Role::kCandidate, Role::kLeader}) {
    Cluster c(3, PaperConfig);
    if (start == Role::kCandidate) {
      c.Isolate(1);
      c.node(1).Campaign();
      c.Drain();
    } else if (start == Role::kLeader) {
      ASSERT_TRUE(c.Elect(1));
    }
    ASSERT_EQ(c.node(1).role(), start);
    ASSERT_TRUE(c.node(1).Step(Msg(MSG_APP, 2, 1, 7)).ok());
    EXPECT_EQ(c.node(1).term(), 7u) << RoleName(start);
    EXPECT_EQ(c.node(1).role(), Role::kFollower) << RoleName(start);
    EXPECT_EQ(c.node(1).leader(), 2u);
  }
}

// §5.1 "If a server receives a request with a stale term number, it rejects the request."
TEST(RaftPaper, Section5_1_StaleTermMessageIsIgnored) {
  Cluster c(3, PaperConfig);
  ASSERT_TRUE(c.Elect(1));
  ASSERT_TRUE(c.Elect(2));  // term 2
  const uint64_t term = c.node(3).term();
  Message m = Msg(MSG_APP, 1, 3, 1);
  m.set_index(100);  // would be rejected loudly if considered at all
  ASSERT_TRUE(c.node(3).Step(m).ok());
  EXPECT_EQ(c.node(3).term(), term);
  EXPECT_EQ(c.node(3).leader(), 2u);
}

// §5.2 "When servers start up, they begin as followers."
TEST(RaftPaper, Section5_2_StartAsFollower) {
  Cluster c(3, PaperConfig);
  for (uint64_t id : c.ids()) EXPECT_EQ(c.node(id).role(), Role::kFollower);
}

// §5.2 "Leaders send periodic heartbeats (AppendEntries RPCs that carry no log entries)
// to all followers in order to maintain their authority."
TEST(RaftPaper, Section5_2_LeaderSendsHeartbeats) {
  Cluster c(3, PaperConfig);
  ASSERT_TRUE(c.Elect(1));
  const uint64_t before = c.sent(MSG_HEARTBEAT);
  c.Tick(5);
  EXPECT_EQ(c.sent(MSG_HEARTBEAT) - before, 10u);  // 5 ticks x 2 followers
  EXPECT_EQ(c.node(1).role(), Role::kLeader);
}

// §5.2 "If a follower receives no communication over a period of time called the
// election timeout, then it ... begins an election": it increments its term, votes for
// itself and issues RequestVote RPCs in parallel to each of the other servers.
TEST(RaftPaper, Section5_2_FollowerStartsElectionAfterTimeout) {
  Cluster c(3, PaperConfig);
  c.Isolate(1);
  for (int i = 0; i < 2 * 10 && c.node(1).role() == Role::kFollower; ++i) {
    c.node(1).Tick();
  }
  EXPECT_EQ(c.node(1).role(), Role::kCandidate);
  EXPECT_EQ(c.node(1).term(), 1u);
  EXPECT_EQ(c.node(1).vote(), 1u);
  Ready rd = c.node(1).GetReady();
  std::set<uint64_t> asked;
  for (const Message& m : rd.messages) {
    EXPECT_EQ(m.type(), MSG_VOTE);
    EXPECT_EQ(m.term(), 1u);
    asked.insert(m.to());
  }
  EXPECT_EQ(asked, (std::set<uint64_t>{2, 3}));
}

// §5.2 A candidate wins with votes from a majority, loses when a majority refuses, and
// otherwise stays a candidate.
TEST(RaftPaper, Section5_2_ElectionOutcomeByVoteCount) {
  struct Case {
    int size;
    std::map<uint64_t, bool> votes;
    Role expect;
  };
  const std::vector<Case> cases = {
      {1, {}, Role::kLeader},
      {3, {{2, true}, {3, true}}, Role::kLeader},
      {3, {{2, true}}, Role::kLeader},
      {5, {{2, true}, {3, true}, {4, true}, {5, true}}, Role::kLeader},
      {5, {{2, true}, {3, true}}, Role::kLeader},
      {3, {}, Role::kCandidate},
      {5, {{2, true}}, Role::kCandidate},
      {5, {{2, false}, {3, false}}, Role::kCandidate},
      {3, {{2, false}, {3, false}}, Role::kFollower},
      {5, {{2, false}, {3, false}, {4, false}}, Role::kFollower},
  };
  for (const Case& t : cases) {
    Cluster c(t.size, PaperConfig);
    for (uint64_t id : c.ids()) {
      if (id != 1) c.Isolate(id);
    }
    c.node(1).Campaign();
    (void)c.node(1).GetReady();
    for (const auto& [from, granted] : t.votes) {
      Message m = Msg(MSG_VOTE_RESP, from, 1, c.node(1).term());
      m.set_reject(!granted);
      ASSERT_TRUE(c.node(1).Step(m).ok());
    }
    EXPECT_EQ(c.node(1).role(), t.expect) << "size " << t.size << " votes " << t.votes.size();
  }
}

// §5.2 "Each server will vote for at most one candidate in a given term, on a
// first-come-first-served basis."
TEST(RaftPaper, Section5_2_OneVotePerTermFirstComeFirstServed) {
  Cluster c(3, PaperConfig);
  Message v2 = Msg(MSG_VOTE, 2, 1, 1);
  Message v3 = Msg(MSG_VOTE, 3, 1, 1);
  ASSERT_TRUE(c.node(1).Step(v2).ok());
  ASSERT_TRUE(c.node(1).Step(v3).ok());
  Ready rd = c.node(1).GetReady();
  ASSERT_EQ(rd.messages.size(), 2u);
  EXPECT_FALSE(rd.messages[0].reject());  // to 2
  EXPECT_TRUE(rd.messages[1].reject());   // to 3
  EXPECT_EQ(c.node(1).vote(), 2u);
  // The vote is persisted before the response may be sent.
  ASSERT_TRUE(rd.hard_state.has_value());
  EXPECT_EQ(rd.hard_state->vote(), 2u);
  // Asking again (a retransmission) is granted again to the same candidate.
  ASSERT_TRUE(c.node(1).Step(v2).ok());
  EXPECT_FALSE(c.node(1).GetReady().messages.at(0).reject());
}

// §5.2 "While waiting for votes, a candidate may receive an AppendEntries RPC from
// another server claiming to be leader. If the leader's term is at least as large as
// the candidate's current term, then the candidate ... returns to follower state."
TEST(RaftPaper, Section5_2_CandidateStepsBackForLeaderOfItsTerm) {
  Cluster c(3, PaperConfig);
  c.Isolate(1);
  c.node(1).Campaign();
  c.Drain();
  ASSERT_EQ(c.node(1).role(), Role::kCandidate);
  ASSERT_TRUE(c.node(1).Step(Msg(MSG_APP, 2, 1, c.node(1).term())).ok());
  EXPECT_EQ(c.node(1).role(), Role::kFollower);
  EXPECT_EQ(c.node(1).leader(), 2u);
}

// §5.2 "Raft uses randomized election timeouts ... chosen randomly from a fixed
// interval"; here [election_tick, 2 * election_tick).
TEST(RaftPaper, Section5_2_ElectionTimeoutIsRandomizedWithinRange) {
  std::set<int> seen;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    Random r(seed);
    Config cfg;
    cfg.id = 1;
    cfg.peers = {1, 2, 3};
    PaperConfig(cfg);
    Raft n(cfg, &r);
    int ticks = 0;
    while (n.role() == Role::kFollower && ticks < 100) {
      n.Tick();
      ++ticks;
    }
    EXPECT_GE(ticks, 10);
    EXPECT_LT(ticks, 20);
    seen.insert(ticks);
  }
  EXPECT_GT(seen.size(), 5u);  // actually random
}

// §5.3 "The leader appends the command to its log as a new entry, then issues
// AppendEntries RPCs in parallel to each of the other servers to replicate the entry."
TEST(RaftPaper, Section5_3_LeaderReplicatesProposal) {
  Cluster c(3, PaperConfig);
  ASSERT_TRUE(c.Elect(1));
  c.Drop(MSG_APP);
  ASSERT_TRUE(c.node(1).Propose("x").ok());
  Ready rd = c.node(1).GetReady();
  ASSERT_EQ(rd.entries.size(), 1u);
  EXPECT_EQ(rd.entries[0]->data(), "x");
  EXPECT_EQ(rd.entries[0]->term(), 1u);
  int apps = 0;
  for (const Message& m : rd.messages) {
    if (m.type() != MSG_APP) continue;
    ++apps;
    EXPECT_EQ(m.index(), 1u);     // the leader's empty entry of its term precedes it
    EXPECT_EQ(m.log_term(), 1u);
    ASSERT_EQ(m.entries_size(), 1);
    EXPECT_EQ(m.entries(0).data(), "x");
  }
  EXPECT_EQ(apps, 2);
}

// §5.3 "A log entry is committed once the leader that created the entry has replicated
// it on a majority of the servers ... the leader applies the entry to its state machine."
TEST(RaftPaper, Section5_3_EntryCommittedOnMajorityAndApplied) {
  Cluster c(5, PaperConfig);
  ASSERT_TRUE(c.Elect(1));
  c.Isolate(4);
  c.Isolate(5);
  ASSERT_TRUE(c.node(1).Propose("a").ok());
  c.Drain();
  EXPECT_EQ(c.applied(1), std::vector<std::string>{"a"});  // 3 of 5 stored it
  EXPECT_EQ(c.applied(2), std::vector<std::string>{"a"});  // followers learn the commit
  c.Isolate(3);
  ASSERT_TRUE(c.node(1).Propose("b").ok());
  c.Drain();
  EXPECT_EQ(c.applied(1), std::vector<std::string>{"a"});  // only 2 of 5: not committed
  c.Heal();
  c.Tick(2);  // the second heartbeat carries the new commit index to every follower
  EXPECT_EQ(c.applied(1), (std::vector<std::string>{"a", "b"}));
  for (uint64_t id : c.ids()) EXPECT_EQ(c.applied(id), (std::vector<std::string>{"a", "b"})) << id;
}

// §5.3 "If the follower does not find an entry in its log with the same index and term,
// then it refuses the new entries."
TEST(RaftPaper, Section5_3_FollowerRejectsAppendWithoutMatchingPrevious) {
  Random r(1);
  Config cfg;
  cfg.id = 2;
  cfg.peers = {1, 2};
  Restore restore;
  restore.hard_state.set_term(2);
  restore.entries = {Ent(1, 1), Ent(2, 2)};
  Raft n(cfg, &r, restore);
  struct Case {
    uint64_t index, log_term;
    bool reject;
  };
  for (const Case& t : std::vector<Case>{{0, 0, false}, {2, 2, false}, {2, 1, true}, {3, 2, true}, {1, 1, false}}) {
    Message m = Msg(MSG_APP, 1, 2, 2);
    m.set_index(t.index);
    m.set_log_term(t.log_term);
    ASSERT_TRUE(n.Step(m).ok());
    Ready rd = n.GetReady();
    ASSERT_EQ(rd.messages.size(), 1u);
    EXPECT_EQ(rd.messages[0].reject(), t.reject) << t.index << "/" << t.log_term;
    n.Advance(rd);
  }
}

// §5.3 "If an existing entry conflicts with a new one (same index but different terms),
// delete the existing entry and all that follow it; append any new entries not already
// in the log."
TEST(RaftPaper, Section5_3_FollowerReplacesConflictingSuffix) {
  Random r(1);
  Config cfg;
  cfg.id = 2;
  cfg.peers = {1, 2};
  Restore restore;
  restore.hard_state.set_term(3);
  restore.entries = {Ent(1, 1), Ent(2, 2), Ent(2, 3)};
  Raft n(cfg, &r, restore);
  Message m = Msg(MSG_APP, 1, 2, 3);
  m.set_index(1);
  m.set_log_term(1);
  *m.add_entries() = Ent(3, 2, "new");
  ASSERT_TRUE(n.Step(m).ok());
  EXPECT_EQ(n.log().last_index(), 2u);
  EXPECT_EQ(*n.log().Term(2), 3u);
  Ready rd = n.GetReady();
  ASSERT_EQ(rd.entries.size(), 1u);  // only the replaced entry needs persisting
  EXPECT_EQ(rd.entries[0]->index(), 2u);
}

// §5.3, Figure 7: whatever a follower's log looks like (missing entries, extra
// uncommitted entries, or both), the leader brings it to match its own.
TEST(RaftPaper, Section5_3_Figure7_LeaderBringsEveryFollowerLogInLine) {
  // Terms of entries 1..10 in the leader's log (term 8 after it is elected).
  const std::vector<uint64_t> leader = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6};
  const std::vector<std::vector<uint64_t>> followers = {
      {1, 1, 1, 4, 4, 5, 5, 6, 6},                 // (a)
      {1, 1, 1, 4},                                // (b)
      {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6},           // (c)
      {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7},        // (d)
      {1, 1, 1, 4, 4, 4, 4},                       // (e)
      {1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3},           // (f)
  };
  for (size_t f = 0; f < followers.size(); ++f) {
    auto entries = [](const std::vector<uint64_t>& terms) {
      std::vector<Entry> out;
      for (size_t i = 0; i < terms.size(); ++i) out.push_back(Ent(terms[i], i + 1));
      return out;
    };
    Random r1(1), r2(2);
    Config lc;
    lc.id = 1;
    lc.peers = {1, 2, 3};
    PaperConfig(lc);
    Restore lr;
    lr.hard_state.set_term(7);
    lr.entries = entries(leader);
    Raft l(lc, &r1, lr);
    Config fc = lc;
    fc.id = 2;
    Restore fr;
    fr.hard_state.set_term(7);
    fr.entries = entries(followers[f]);
    Raft fl(fc, &r2, fr);
    // Node 3 votes for the leader so it wins term 8; then only 1 and 2 talk.
    l.Campaign();
    Message vote = Msg(MSG_VOTE_RESP, 3, 1, 8);
    ASSERT_TRUE(l.Step(vote).ok());
    ASSERT_EQ(l.role(), Role::kLeader);
    for (int round = 0; round < 100; ++round) {
      Ready lrd = l.GetReady();
      l.Advance(lrd);
      Ready frd = fl.GetReady();
      fl.Advance(frd);
      bool any = false;
      for (const Message& m : lrd.messages) {
        if (m.to() == 2) {
          any = true;
          (void)fl.Step(m);
        }
      }
      for (const Message& m : frd.messages) {
        any = true;
        (void)l.Step(m);
      }
      if (!any && !l.HasReady() && !fl.HasReady()) break;
    }
    ASSERT_EQ(fl.log().last_index(), l.log().last_index()) << "follower (" << char('a' + f) << ")";
    for (uint64_t i = 1; i <= l.log().last_index(); ++i) {
      EXPECT_EQ(*fl.log().Term(i), *l.log().Term(i)) << "follower (" << char('a' + f) << ") index " << i;
    }
  }
}

// §5.4.1 "The voter denies its vote if its own log is more up-to-date than that of the
// candidate": compare last terms, then last indexes.
TEST(RaftPaper, Section5_4_1_VoteOnlyForUpToDateLogs) {
  struct Case {
    uint64_t last_index, last_term;
    bool granted;
  };
  // The voter's log ends at index 3, term 2.
  const std::vector<Case> cases = {{3, 2, true}, {4, 2, true}, {2, 2, false}, {1, 3, true}, {5, 1, false}};
  for (const Case& t : cases) {
    Random r(1);
    Config cfg;
    cfg.id = 1;
    cfg.peers = {1, 2, 3};
    PaperConfig(cfg);
    Restore restore;
    restore.hard_state.set_term(2);
    restore.entries = {Ent(1, 1), Ent(2, 2), Ent(2, 3)};
    Raft n(cfg, &r, restore);
    Message m = Msg(MSG_VOTE, 2, 1, 3);
    m.set_index(t.last_index);
    m.set_log_term(t.last_term);
    ASSERT_TRUE(n.Step(m).ok());
    Ready rd = n.GetReady();
    ASSERT_EQ(rd.messages.size(), 1u);
    EXPECT_EQ(!rd.messages[0].reject(), t.granted) << t.last_index << "/" << t.last_term;
  }
}

// §5.4.2, Figure 8: "Raft never commits log entries from previous terms by counting
// replicas. Only log entries from the leader's current term are committed by counting."
// The figure's state (c): S1 leads term 4 with logs S1 [1 2], S2 [1 2], S3 [1], S4 [1],
// S5 [1 3]. S1 gets its term-2 entry onto S3, so a majority (S1 S2 S3) holds index 2,
// yet index 2 must stay uncommitted until S1's own term-4 entry is on a majority:
// otherwise S5 could still win an election and overwrite it, as in (d).
TEST(RaftPaper, Section5_4_2_Figure8_PreviousTermEntryNotCommittedByCounting) {
  auto one_entry_per_message = [](Config& cfg) {
    PaperConfig(cfg);
    cfg.max_entries_per_message = 1;
  };
  Cluster c(5, one_entry_per_message);
  const std::map<uint64_t, std::vector<uint64_t>> logs = {
      {1, {1, 2}}, {2, {1, 2}}, {3, {1}}, {4, {1}}, {5, {1, 3}}};
  for (const auto& [id, terms] : logs) {
    Restore r;
    r.hard_state.set_term(3);
    for (size_t i = 0; i < terms.size(); ++i) r.entries.push_back(Ent(terms[i], i + 1, "t" + std::to_string(terms[i])));
    c.Add(id, {1, 2, 3, 4, 5}, one_entry_per_message, r);
  }
  c.Isolate(4);
  c.Isolate(5);
  // S3 may receive index 2 but nothing newer yet (appends it would reject still pass,
  // so that the leader learns where S3's log ends).
  c.drop_if = [&c](const Message& m) {
    if (m.type() != MSG_APP || m.to() != 3 || c.node(3).log().last_index() < 2) return false;
    for (const Entry& e : m.entries()) {
      if (e.index() >= 3) return true;
    }
    return false;
  };
  ASSERT_TRUE(c.Elect(1));  // votes from S2 and S3
  ASSERT_EQ(c.node(1).term(), 4u);
  c.Tick();
  ASSERT_EQ(c.node(1).match_of(3), 2u);  // index 2 is on S1, S2, S3: a majority
  ASSERT_GE(c.node(1).match_of(2), 2u);
  EXPECT_LT(c.node(1).log().committed(), 2u) << "a term-2 entry was committed by counting";
  EXPECT_TRUE(c.applied(1).empty());
  // Once S1's term-4 entry reaches S3, it commits, and index 2 with it.
  c.drop_if = nullptr;
  c.Tick();
  EXPECT_GE(c.node(1).log().committed(), 3u);
  EXPECT_EQ(c.applied(1), (std::vector<std::string>{"t1", "t2"}));
}

// §5.4.3 Leader Completeness via restart: a node restarted from its disk keeps its term,
// vote and log, so it never votes twice in a term nor forgets acknowledged entries.
TEST(RaftPaper, Section5_4_PersistentStateSurvivesRestart) {
  Cluster c(3, PaperConfig);
  ASSERT_TRUE(c.Elect(1));
  ASSERT_TRUE(c.node(1).Propose("a").ok());
  c.Drain();
  const uint64_t term = c.node(2).term();
  const uint64_t vote = c.node(2).vote();
  const uint64_t last = c.node(2).log().last_index();
  c.Restart(2);
  EXPECT_EQ(c.node(2).term(), term);
  EXPECT_EQ(c.node(2).vote(), vote);
  EXPECT_EQ(c.node(2).log().last_index(), last);
  c.Drain();
  EXPECT_EQ(c.applied(2), std::vector<std::string>{"a"});  // replayed from its own disk
}

}  // namespace
}  // namespace ksim::raft::testing
