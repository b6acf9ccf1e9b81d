// Leader election scenarios on a simulated cluster (3 store members, apiservers, candidate
// processes on their own hosts). Times are checked in world time through ActingLog.
#include "cluster/client/leader_election.h"

#include <gtest/gtest.h>

#include "tests/cluster/client/election_cluster.h"

namespace ksim::client::testing {
namespace {

constexpr Nanos kLease = Seconds(15);
constexpr Nanos kRenew = Seconds(10);
constexpr Nanos kRetry = Seconds(2);
// A candidate's gap between attempts: retry_period plus up to 1.2 of it.
constexpr Nanos kMaxAttemptGap = kRetry + kRetry * 12 / 10;
constexpr Nanos kSlack = Milliseconds(100);  // network and store round trips

LeaderElectionConfig Defaults() { return LeaderElectionConfig{}; }

// Adds `candidates` with the defaults and waits for one to lead; its index, or -1.
int ElectOne(ElectionCluster& cluster, int candidates) {
  if (!cluster.ok) return -1;
  for (int i = 0; i < candidates; ++i) cluster.AddCandidate(Defaults());
  return cluster.AwaitLeader(Seconds(10));
}

TEST(LeaderElectionConfig, DefaultsAreKubernetes) {
  const LeaderElectionConfig c;
  EXPECT_EQ(c.namespace_, "kube-system");
  EXPECT_EQ(c.lease_duration, kLease);
  EXPECT_EQ(c.renew_deadline, kRenew);
  EXPECT_EQ(c.retry_period, kRetry);
}

TEST(LeaderElectionConfig, ValidationNamesTheBrokenRule) {
  struct Case {
    const char* what;
    Nanos lease, renew, retry;
    const char* name;
    const char* identity;
    bool ok;
  };
  const Case cases[] = {
      {"defaults", kLease, kRenew, kRetry, "lease", "me", true},
      {"lease == renew", Seconds(10), Seconds(10), kRetry, "lease", "me", false},
      {"lease < renew", Seconds(5), Seconds(10), kRetry, "lease", "me", false},
      {"renew == retry", kLease, Seconds(2), Seconds(2), "lease", "me", false},
      {"retry zero", kLease, kRenew, Nanos(0), "lease", "me", false},
      {"no name", kLease, kRenew, kRetry, "", "me", false},
      {"no identity", kLease, kRenew, kRetry, "lease", "", false},
      {"sub-second", Milliseconds(900), Milliseconds(600), Milliseconds(100), "lease", "me", true},
  };
  for (const Case& c : cases) {
    LeaderElectionConfig config;
    config.lease_duration = c.lease;
    config.renew_deadline = c.renew;
    config.retry_period = c.retry;
    config.name = c.name;
    config.identity = c.identity;
    const Status s = ValidateLeaderElectionConfig(config);
    EXPECT_EQ(s.ok(), c.ok) << c.what << ": " << s.ToString();
    if (!c.ok) {
      EXPECT_TRUE(s.Is(Status::Code::kInvalidArgument)) << c.what;
    }
  }
  LeaderElectionConfig bad;
  bad.name = "lease";
  bad.identity = "me";
  bad.renew_deadline = Seconds(20);
  Env env;  // never touched: the factory refuses before constructing
  Status error;
  EXPECT_EQ(LeaderElector::Create(env, nullptr, bad, &error), nullptr);
  EXPECT_NE(error.message().find("lease_duration must be greater than renew_deadline"), std::string::npos)
      << error.ToString();
}

TEST(LeaderElection, OneCandidateAcquiresAndRenews) {
  ElectionCluster cluster(1, 1);
  ASSERT_TRUE(cluster.ok);
  const int c = cluster.AddCandidate(Defaults());
  ASSERT_EQ(cluster.AwaitLeader(Seconds(5)), c);
  EXPECT_EQ(cluster.log.new_leaders[c], std::vector<std::string>{"c0"});
  std::optional<api::Lease> lease = cluster.ReadLease();
  ASSERT_TRUE(lease.has_value());
  EXPECT_EQ(lease->spec().holder_identity(), "c0");
  EXPECT_EQ(lease->spec().lease_transitions(), 0);
  EXPECT_EQ(lease->spec().lease_duration_seconds(), 15);
  EXPECT_TRUE(lease->spec().has_acquire_time());
  const int64_t first_renew = lease->spec().renew_time().seconds();

  cluster.world().RunFor(Seconds(60));
  EXPECT_EQ(cluster.Leaders(), std::vector<int>{c});
  ASSERT_EQ(cluster.log.intervals.size(), 1u);  // never stopped in between
  EXPECT_TRUE(cluster.log.errors.empty());
  const LeaderElectorStats& s = cluster.Elector(c)->stats();
  EXPECT_EQ(s.acquisitions, 1u);
  EXPECT_GE(s.renewals, 28u);  // every 2 s
  lease = cluster.ReadLease();
  EXPECT_GE(lease->spec().renew_time().seconds(), first_renew + 58);  // renewTime moves with the wall clock
  EXPECT_EQ(lease->spec().lease_transitions(), 0);
}

TEST(LeaderElection, ThreeCandidatesElectExactlyOneAndTheOthersLearnWho) {
  ElectionCluster cluster(2, 7);
  const int leader = ElectOne(cluster, 3);
  ASSERT_GE(leader, 0);
  const std::string name = "c" + std::to_string(leader);
  cluster.world().RunFor(Seconds(60));
  EXPECT_EQ(cluster.Leaders(), std::vector<int>{leader});  // stable: nobody takes a renewed lease
  EXPECT_EQ(cluster.log.intervals.size(), 1u);
  EXPECT_EQ(cluster.log.FirstOverlap(), "");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(cluster.log.new_leaders[i], std::vector<std::string>{name}) << "c" << i;
    EXPECT_EQ(cluster.Elector(i)->ObservedHolder(), name);
    if (i != leader) {
      EXPECT_EQ(cluster.Elector(i)->stats().acquisitions, 0u);
    }
  }
}

TEST(LeaderElection, IsolatedLeaderStopsWithinRenewDeadlineAndIsReplacedOnlyAfterLeaseDuration) {
  ElectionCluster cluster(2, 3);
  const int old_leader = ElectOne(cluster, 3);
  ASSERT_GE(old_leader, 0);
  cluster.world().RunFor(Seconds(7));  // somewhere inside a renew period

  const Nanos isolated_at = cluster.world().now();
  cluster.world().network().Isolate(cluster.Host(old_leader).id());
  cluster.world().RunUntilCondition([&] { return !cluster.log.IsOpen(old_leader); }, isolated_at + Seconds(30));
  ASSERT_FALSE(cluster.log.IsOpen(old_leader));
  const Nanos stopped_at = cluster.log.LastOf(old_leader)->end;
  // Its last successful renewal was sent within one retry period before the cut.
  EXPECT_LE(stopped_at, isolated_at + kRenew);
  EXPECT_GE(stopped_at, isolated_at + kRenew - kRetry - kSlack);
  EXPECT_FALSE(cluster.Elector(old_leader)->IsLeader());

  const int new_leader = cluster.AwaitLeader(Seconds(40));
  ASSERT_GE(new_leader, 0);
  ASSERT_NE(new_leader, old_leader);
  const Nanos took_over_at = cluster.log.LastOf(new_leader)->start;
  // The others saw the last renewal at most one retry period before the cut, and wait a
  // whole lease_duration from then; they poll, so it may take a few attempts more.
  EXPECT_GE(took_over_at, isolated_at - kRetry + kLease);
  EXPECT_LE(took_over_at, isolated_at + kLease + kMaxAttemptGap + kSlack);
  EXPECT_EQ(cluster.log.FirstOverlap(), "");
  std::optional<api::Lease> lease = cluster.ReadLease();
  ASSERT_TRUE(lease.has_value());
  EXPECT_EQ(lease->spec().holder_identity(), "c" + std::to_string(new_leader));
  EXPECT_EQ(lease->spec().lease_transitions(), 1);

  // Healed, the old leader learns who leads and stays out.
  cluster.world().network().Heal();
  cluster.world().RunFor(Seconds(30));
  EXPECT_EQ(cluster.Leaders(), std::vector<int>{new_leader});
  EXPECT_EQ(cluster.log.new_leaders[old_leader].back(), "c" + std::to_string(new_leader));
  EXPECT_EQ(cluster.log.FirstOverlap(), "");
  EXPECT_TRUE(cluster.log.errors.empty());
}

TEST(LeaderElection, ReleaseHandsOverAtOnce) {
  ElectionCluster cluster(2, 11);
  const int old_leader = ElectOne(cluster, 3);
  ASSERT_GE(old_leader, 0);
  cluster.world().RunFor(Seconds(3));

  std::optional<Status> released;
  const Nanos released_at = cluster.world().now();
  cluster.Elector(old_leader)->Release([&](Status s) { released = s; });
  EXPECT_FALSE(cluster.Elector(old_leader)->IsLeader());  // stops acting inside the call
  EXPECT_FALSE(cluster.log.IsOpen(old_leader));
  const int new_leader = cluster.AwaitLeader(Seconds(20));
  ASSERT_TRUE(released.has_value());
  EXPECT_TRUE(released->ok()) << released->ToString();
  ASSERT_GE(new_leader, 0);
  EXPECT_NE(new_leader, old_leader);
  // Without waiting for the lease to expire: the next attempt of a candidate takes it.
  EXPECT_LE(cluster.log.LastOf(new_leader)->start, released_at + kMaxAttemptGap + kSlack);
  EXPECT_EQ(cluster.ReadLease()->spec().lease_transitions(), 1);

  // A released elector stays out until started again, and then does not grab a held lease.
  cluster.world().RunFor(Seconds(20));
  EXPECT_EQ(cluster.Leaders(), std::vector<int>{new_leader});
  cluster.Elector(old_leader)->Start();
  cluster.world().RunFor(Seconds(30));
  EXPECT_EQ(cluster.Leaders(), std::vector<int>{new_leader});
  EXPECT_EQ(cluster.log.FirstOverlap(), "");
}

TEST(LeaderElection, ReleaseByANonLeaderWritesNothing) {
  ElectionCluster cluster(1, 5);
  const int leader = ElectOne(cluster, 2);
  ASSERT_GE(leader, 0);
  const int other = 1 - leader;
  std::optional<Status> released;
  cluster.Elector(other)->Release([&](Status s) { released = s; });
  cluster.world().RunFor(Seconds(5));
  ASSERT_TRUE(released.has_value());
  EXPECT_TRUE(released->ok());
  EXPECT_EQ(cluster.ReadLease()->spec().holder_identity(), "c" + std::to_string(leader));
  EXPECT_EQ(cluster.Leaders(), std::vector<int>{leader});
}

TEST(LeaderElection, RestartedLeaderReacquiresUnderItsOwnIdentity) {
  ElectionCluster cluster(2, 13);
  const int leader = ElectOne(cluster, 3);
  ASSERT_GE(leader, 0);
  cluster.world().RunFor(Seconds(5));
  const Nanos crashed_at = cluster.world().now();
  cluster.Host(leader).CrashProcess("elector");
  EXPECT_FALSE(cluster.log.IsOpen(leader));
  cluster.Host(leader).RestartProcess("elector");
  // The record names it, so the new incarnation renews at once instead of waiting.
  ASSERT_EQ(cluster.AwaitLeader(Seconds(5)), leader);
  EXPECT_LE(cluster.log.LastOf(leader)->start, crashed_at + kSlack);
  EXPECT_EQ(cluster.ReadLease()->spec().lease_transitions(), 0);
  EXPECT_EQ(cluster.log.FirstOverlap(), "");
}

TEST(LeaderElection, CrashedLeaderThatStaysDownIsReplacedAfterLeaseDuration) {
  ElectionCluster cluster(2, 17);
  const int old_leader = ElectOne(cluster, 3);
  ASSERT_GE(old_leader, 0);
  cluster.world().RunFor(Seconds(5));
  const Nanos crashed_at = cluster.world().now();
  cluster.Host(old_leader).CrashProcess("elector");
  const int new_leader = cluster.AwaitLeader(Seconds(40));
  ASSERT_GE(new_leader, 0);
  EXPECT_NE(new_leader, old_leader);
  EXPECT_GE(cluster.log.LastOf(new_leader)->start, crashed_at - kRetry + kLease);
  // Back again, it finds the lease held by another and waits.
  cluster.Host(old_leader).RestartProcess("elector");
  cluster.world().RunFor(Seconds(30));
  EXPECT_EQ(cluster.Leaders(), std::vector<int>{new_leader});
  EXPECT_EQ(cluster.log.FirstOverlap(), "");
}

TEST(LeaderElection, WallClockJumpsAndSkewDoNotMoveExpiry) {
  ElectionCluster cluster(2, 19);
  const int leader = ElectOne(cluster, 3);
  ASSERT_GE(leader, 0);
  // The leader's wall clock goes an hour back, the others' an hour forward: were renewTime
  // compared with a candidate's wall clock, the lease would look two hours stale.
  for (int i = 0; i < 3; ++i) cluster.Host(i).JumpClock(i == leader ? -Seconds(3600) : Seconds(3600));
  cluster.world().RunFor(Seconds(60));
  EXPECT_EQ(cluster.Leaders(), std::vector<int>{leader});
  EXPECT_EQ(cluster.log.intervals.size(), 1u);
}

TEST(LeaderElection, AFrozenWallClockStillRenews) {
  // renewTime must change at every renewal even when the wall clock repeats itself;
  // otherwise the apiserver skips the no-op update, no candidate sees a change, and they
  // take over while the leader thinks it renewed.
  ElectionCluster cluster(1, 23);
  const int leader = ElectOne(cluster, 2);
  ASSERT_GE(leader, 0);
  sim::Host& host = cluster.Host(leader);
  const Nanos frozen_from = cluster.world().now();
  const Nanos base_offset = host.clock_offset();
  const LeaderElectorStats before = cluster.Elector(leader)->stats();
  for (Nanos t = frozen_from; t < frozen_from + Seconds(60); t += Milliseconds(1)) {
    cluster.world().RunUntil(t);
    host.SetClockOffset(base_offset - (t - frozen_from));  // the wall clock stands still
  }
  // Every renewal wrote a new version (a no-op write would count as a failed round).
  const LeaderElectorStats& after = cluster.Elector(leader)->stats();
  EXPECT_EQ(after.failures, before.failures);
  EXPECT_GE(after.renewals, before.renewals + 29);
  EXPECT_EQ(cluster.Leaders(), std::vector<int>{leader});
  EXPECT_EQ(cluster.log.intervals.size(), 1u);
  EXPECT_EQ(cluster.log.FirstOverlap(), "");
}

TEST(LeaderElection, SlowRenewalAnswersDoNotExtendTheLeader) {
  // Renewals whose answers take longer than renew_deadline never let the leader act, since
  // the deadline counts from the request; the lease still stays with it (others see it change).
  ElectionCluster cluster(1, 29);
  ASSERT_TRUE(cluster.ok);
  LeaderElectionConfig config;
  config.lease_duration = Seconds(4);
  config.renew_deadline = Seconds(3);
  config.retry_period = Milliseconds(500);
  ApiClientOptions slow_client;
  slow_client.attempt_timeout = Seconds(10);
  const int c = cluster.AddCandidate(config, {}, slow_client);
  ASSERT_EQ(cluster.AwaitLeader(Seconds(5)), c);
  sim::LinkParams slow;
  slow.latency_min = Milliseconds(1600);  // each way: a round trip of 3.2 s > renew_deadline
  slow.latency_jitter = Nanos(0);
  cluster.world().network().SetLinkParams(cluster.Host(c).id(), cluster.world().FindHost("api1")->id(), slow);
  cluster.world().RunFor(Seconds(20));
  EXPECT_TRUE(cluster.Leaders().empty());
  EXPECT_FALSE(cluster.log.IsOpen(c));
  EXPECT_EQ(cluster.log.intervals.size(), 1u);
  EXPECT_GT(cluster.Elector(c)->stats().renewals, 3u);  // it keeps the record...
  EXPECT_EQ(cluster.ReadLease()->spec().holder_identity(), "c0");  // ...but may not act on it
}

}  // namespace
}  // namespace ksim::client::testing
