// Property: at most one candidate acts at any instant of world time, whatever the network,
// the processes and the candidates' clocks do; and once everything heals, a leader exists
// within lease_duration and a few retry periods.
//
// World: 3 store members, 2 apiservers, 3 candidates on their own hosts. Each candidate
// host's clocks drift by a fixed rate within ±10% (the bound the configuration is safe for:
// (lease - renew) / (lease + renew) = 1/7 > 10%). For 60 simulated seconds a random schedule
// isolates candidate and apiserver hosts, heals, crashes and restarts candidate processes,
// steps and skews candidates' wall clocks and slows the links between a candidate and the
// apiservers. An observer records each candidate's acting intervals in world time from its
// callbacks (and closes one at a crash); no two intervals of different candidates may overlap.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <ostream>

#include "tests/cluster/client/election_cluster.h"

namespace ksim::client::testing {
namespace {

constexpr Nanos kLease = Seconds(4);
constexpr Nanos kRenew = Seconds(3);
constexpr Nanos kRetry = Milliseconds(500);
constexpr int kCandidates = 3;
constexpr int kMaxDriftPpm = 100000;  // ±10%
constexpr int kScheduleMs = 60000;
constexpr int kMaxLatencyMs = 2399;  // one way; a round trip stays within the client's 5 s attempt

enum ActionKind {
  kIsolateCandidate,
  kIsolateApiserver,
  kHeal,
  kRestartCandidate,  // down for |amount| % 5000 ms
  kJumpWallClock,     // by amount ms
  kSkewWallClock,     // offset set to amount ms
  kSlowLinks,         // candidate <-> apiservers latency min(|amount| / 25, kMaxLatencyMs) ms each way
  kActionKinds,
};

struct Action {
  int at_ms = 0;
  int kind = 0;
  int target = 0;
  int amount = 0;
};

// Half of the draws give the longest latency, the round trips most likely to outlast renew_deadline.
int LatencyMs(const Action& a) { return std::min(std::abs(a.amount) / 25, kMaxLatencyMs); }

// Candidate targets 0..2 name a candidate; kTheLeader means whoever acts at that moment
// (candidate 0 if none does), so faults often hit the one process whose safety matters.
constexpr int kTheLeader = kCandidates;

std::string CandidateName(int target) {
  const int t = target % (kCandidates + 1);
  return t == kTheLeader ? std::string("the leader") : "c" + std::to_string(t);
}

std::ostream& operator<<(std::ostream& os, const Action& a) {
  os << "t=" << a.at_ms << "ms ";
  const std::string candidate = CandidateName(a.target);
  switch (a.kind) {
    case kIsolateCandidate: return os << "isolate " << candidate;
    case kIsolateApiserver: return os << "isolate api" << (a.target % 2 + 1);
    case kHeal: return os << "heal";
    case kRestartCandidate: return os << "crash " << candidate << ", restart after " << std::abs(a.amount) % 5000 << "ms";
    case kJumpWallClock: return os << "step " << candidate << "'s wall clock by " << a.amount << "ms";
    case kSkewWallClock: return os << "skew " << candidate << "'s wall clock to " << a.amount << "ms";
    case kSlowLinks: return os << candidate << "<->apiservers latency " << LatencyMs(a) << "ms";
    default: return os << "unknown action " << a.kind;
  }
}

void SetCandidateLatency(ElectionCluster& cluster, int candidate, Nanos latency) {
  sim::LinkParams params = cluster.world().network().options().default_link;
  params.latency_min = latency;
  for (const char* api : {"api1", "api2"}) {
    cluster.world().network().SetLinkParams(cluster.Host(candidate).id(), cluster.world().FindHost(api)->id(), params);
  }
}

int ResolveCandidate(ElectionCluster& cluster, int target) {
  const int t = target % (kCandidates + 1);
  if (t != kTheLeader) return t;
  const std::vector<int> leaders = cluster.Leaders();
  return leaders.empty() ? 0 : leaders.front();
}

void Apply(ElectionCluster& cluster, const Action& a) {
  sim::World& world = cluster.world();
  const int candidate = ResolveCandidate(cluster, a.target);
  switch (a.kind) {
    case kIsolateCandidate: world.network().Isolate(cluster.Host(candidate).id()); break;
    case kIsolateApiserver: world.network().Isolate(world.FindHost(a.target % 2 == 0 ? "api1" : "api2")->id()); break;
    case kHeal: world.network().Heal(); break;
    case kRestartCandidate: {
      sim::Host* host = &cluster.Host(candidate);
      host->CrashProcess("elector");
      world.After(Milliseconds(std::abs(a.amount) % 5000), [host] { host->RestartProcess("elector"); });
      break;
    }
    case kJumpWallClock: cluster.Host(candidate).JumpClock(Milliseconds(a.amount)); break;
    case kSkewWallClock: cluster.Host(candidate).SetClockOffset(Milliseconds(a.amount)); break;
    case kSlowLinks: SetCandidateLatency(cluster, candidate, Milliseconds(LatencyMs(a))); break;
    default: break;
  }
}

struct Outcome {
  std::string failure;  // "" when every check held
  bool changed_hands = false;
  bool leader_at_once = false;
};

Outcome RunSchedule(const std::vector<int>& drift_ppm, std::vector<Action> schedule, uint64_t seed) {
  Outcome out;
  ElectionCluster cluster(2, seed);
  if (!cluster.ok) return {"could not create the kube-system namespace"};
  LeaderElectionConfig config;
  config.lease_duration = kLease;
  config.renew_deadline = kRenew;
  config.retry_period = kRetry;
  // The API client's defaults: an attempt may take up to 5 s, longer than renew_deadline, so
  // answers can come back late (what makes measuring from the answer unsafe).
  const ApiClientOptions client;
  for (int i = 0; i < kCandidates; ++i) {
    sim::HostOptions host;
    host.clock_drift_ppm = drift_ppm[static_cast<size_t>(i)];
    cluster.AddCandidate(config, host, client);
  }

  sim::World& world = cluster.world();
  const Nanos base = world.now();
  std::stable_sort(schedule.begin(), schedule.end(), [](const Action& a, const Action& b) { return a.at_ms < b.at_ms; });
  for (const Action& a : schedule) {
    world.RunUntil(base + Milliseconds(a.at_ms));
    Apply(cluster, a);
  }
  world.RunUntil(base + Milliseconds(kScheduleMs) + Seconds(5));  // every restart has happened
  out.changed_hands = cluster.log.intervals.size() > 1;

  // Safety, over the whole run.
  if (!cluster.log.errors.empty()) return {"callbacks out of order: " + cluster.log.errors.front()};
  if (std::string overlap = cluster.log.FirstOverlap(); !overlap.empty()) {
    return {"two candidates acted at once: " + overlap};
  }

  // Liveness: heal everything; a leader exists within lease_duration (on the slowest clock)
  // and a few retry periods, and stays.
  world.network().Heal();
  for (int i = 0; i < kCandidates; ++i) SetCandidateLatency(cluster, i, world.network().options().default_link.latency_min);
  const Nanos healed_at = world.now();
  const Nanos bound = kLease * 1000000 / (1000000 - kMaxDriftPpm) + 4 * kRetry;
  const int leader = cluster.AwaitLeader(bound);
  if (leader < 0) return {"no leader " + std::to_string(bound.count() / 1'000'000) + " ms after healing"};
  out.leader_at_once = world.now() - healed_at <= kRetry;
  world.RunFor(Seconds(10));
  if (std::string overlap = cluster.log.FirstOverlap(); !overlap.empty()) {
    return {"two candidates acted at once: " + overlap};
  }
  if (cluster.Leaders() != std::vector<int>{leader} || cluster.log.Acting() != 1) {
    return {"the leader elected after healing did not stay"};
  }
  if (!cluster.log.errors.empty()) return {"callbacks out of order: " + cluster.log.errors.front()};
  return out;
}

TEST(LeaderElectionProperty, QuietRunElectsOneLeader) { EXPECT_EQ(RunSchedule({0, 0, 0}, {}, 1).failure, ""); }

TEST(LeaderElectionProperty, ExtremeDriftWithinTheBound) {
  // The slow clock belongs to whoever leads first or later; both directions are covered.
  const Outcome o = RunSchedule({-kMaxDriftPpm, kMaxDriftPpm, 0},
                                {{5000, kIsolateCandidate, kTheLeader, 0},
                                 {15000, kHeal, 0, 0},
                                 {20000, kIsolateCandidate, kTheLeader, 0},
                                 {30000, kHeal, 0, 0},
                                 {35000, kIsolateCandidate, kTheLeader, 0}},
                                3);
  EXPECT_EQ(o.failure, "");
  EXPECT_TRUE(o.changed_hands);
}

TEST(LeaderElectionProperty, ALeaderBehindSlowLinks) {
  // Renewal round trips longer than renew_deadline, committed less often than lease_duration:
  // others take over, and the leader must not act on answers that come back that late.
  for (int latency_ms : {900, 1500, 2000, 2399}) {
    for (int drift : {0, -kMaxDriftPpm}) {
      const Outcome o = RunSchedule({drift, drift, drift}, {{10000, kSlowLinks, kTheLeader, latency_ms * 25}}, 1);
      EXPECT_EQ(o.failure, "") << latency_ms << " ms, drift " << drift << " ppm";
    }
  }
}

RC_GTEST_PROP(LeaderElectionProperty, AtMostOneActingLeaderUnderFaults, ()) {
  // Full ranges from the first run: RapidCheck scales inRange by its size, which would give
  // the early runs only the first action kind at time 0. Shrinking still goes towards the minimum.
  constexpr int kFullSize = 100;
  const auto drift = *rc::gen::resize(
      kFullSize, rc::gen::container<std::vector<int>>(kCandidates, rc::gen::inRange(-kMaxDriftPpm, kMaxDriftPpm + 1)));
  const auto schedule = *rc::gen::resize(
      kFullSize,
      rc::gen::container<std::vector<Action>>(
          *rc::gen::resize(kFullSize, rc::gen::inRange(0, 20)),
          rc::gen::build<Action>(rc::gen::set(&Action::at_ms, rc::gen::inRange(0, kScheduleMs)),
                                 rc::gen::set(&Action::kind, rc::gen::inRange(0, static_cast<int>(kActionKinds))),
                                 rc::gen::set(&Action::target, rc::gen::inRange(0, 8)),
                                 rc::gen::set(&Action::amount, rc::gen::inRange(-120000, 120001)))));
  const Outcome o = RunSchedule(drift, schedule, *rc::gen::inRange<uint64_t>(1, 1000));
  RC_CLASSIFY(o.changed_hands, "leadership changed hands or stopped");
  RC_CLASSIFY(o.leader_at_once, "a leader at once after healing");
  if (!o.failure.empty()) RC_FAIL(o.failure);
}

}  // namespace
}  // namespace ksim::client::testing
