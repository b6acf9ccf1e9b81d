// The shrinker's pure logic (scenarios/scenario_shrink.h) against a made-up predicate: no
// cluster runs, so the reductions and the bound on candidate runs are checked exactly.
#include <gtest/gtest.h>

#include <algorithm>

#include "scenarios/scenario_record.h"
#include "scenarios/scenario_shrink.h"

namespace ksim::scenarios {
namespace {

TimelineEntry FaultEntry(Nanos at, ActionKind action, faults::FaultKind kind, const std::string& host,
                         const std::string& process = "") {
  TimelineEntry e;
  e.at = at;
  e.action = action;
  e.is_fault = true;
  faults::Fault f;
  f.kind = kind;
  f.host = host;
  f.process = process;
  e.faults.push_back(f);
  return e;
}

// Eight faults (four with their undo) on three workers; only worker-2's power-off matters.
Scenario Noisy() {
  using FK = faults::FaultKind;
  Scenario s;
  s.name = "noisy";
  s.phases = {Seconds(100), Seconds(60)};
  s.duration = Seconds(160);
  WorkerGroup g;
  g.name = "w";
  g.count = 6;
  s.cluster.worker_groups.push_back(g);
  s.timeline = {
      FaultEntry(Seconds(1), ActionKind::kCrash, FK::kCrashProcess, "worker-1", "kubelet"),
      FaultEntry(Seconds(2), ActionKind::kPause, FK::kPause, "worker-3"),
      FaultEntry(Seconds(3), ActionKind::kPowerOff, FK::kPowerOff, "worker-2"),
      FaultEntry(Seconds(4), ActionKind::kResume, FK::kResume, "worker-3"),
      FaultEntry(Seconds(5), ActionKind::kRestart, FK::kRestartProcess, "worker-1", "kubelet"),
      FaultEntry(Seconds(6), ActionKind::kSlowDisk, FK::kSlowDisk, "worker-1"),
      FaultEntry(Seconds(7), ActionKind::kDiskHeal, FK::kDiskHeal, "worker-1"),
      FaultEntry(Seconds(8), ActionKind::kPowerOn, FK::kPowerOn, "worker-2"),
  };
  return s;
}

bool HasPowerOff(const Scenario& s, const std::string& host) {
  return std::any_of(s.timeline.begin(), s.timeline.end(), [&](const TimelineEntry& e) {
    return e.faults.size() == 1 && e.faults[0].kind == faults::FaultKind::kPowerOff && e.faults[0].host == host;
  });
}

TEST(ScenarioShrink, KeepsOnlyTheFaultThatMattersWithItsUndoFewerWorkersShorterPhases) {
  int calls = 0;
  const FailsSameWay fails = [&](const Scenario& c) {
    ++calls;
    return HasPowerOff(c, "worker-2") && c.cluster.worker_groups[0].count >= 2 && c.phases.liveness >= Seconds(10);
  };
  const ShrinkResult r = ShrinkScenario(Noisy(), fails, ShrinkOptions{200});
  ASSERT_EQ(r.scenario.timeline.size(), 2u);  // the power-off and its power-on
  EXPECT_EQ(r.scenario.timeline[0].faults[0].kind, faults::FaultKind::kPowerOff);
  EXPECT_EQ(r.scenario.timeline[1].faults[0].kind, faults::FaultKind::kPowerOn);
  EXPECT_EQ(r.scenario.cluster.worker_groups[0].count, 2);
  EXPECT_EQ(r.scenario.phases.safety, Seconds(9));  // just past the last entry
  EXPECT_EQ(r.scenario.phases.liveness, Seconds(15));
  EXPECT_EQ(r.scenario.duration, Seconds(24));
  EXPECT_EQ(r.runs, calls);
  EXPECT_LE(r.runs, 30);
  EXPECT_FALSE(r.budget_exhausted);
  EXPECT_TRUE(fails(r.scenario));
}

TEST(ScenarioShrink, TheLivenessPhaseKeepsRoomForEveryEventuallyWithin) {
  Scenario s = Noisy();
  Expectation e;
  e.when = Expectation::When::kEventually;
  e.name = "nodeReady";
  e.within = Seconds(40);
  s.expectations.push_back(e);
  const ShrinkResult r = ShrinkScenario(s, [](const Scenario& c) { return HasPowerOff(c, "worker-2"); }, ShrinkOptions{200});
  EXPECT_EQ(r.scenario.phases.liveness, Seconds(60));  // 30s would end before `within: 40s`
}

TEST(ScenarioShrink, StopsAtTheBudget) {
  int calls = 0;
  const FailsSameWay fails = [&](const Scenario& c) {
    ++calls;
    return HasPowerOff(c, "worker-2");
  };
  const ShrinkResult r = ShrinkScenario(Noisy(), fails, ShrinkOptions{3});
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(r.runs, 3);
  EXPECT_TRUE(r.budget_exhausted);
  EXPECT_TRUE(HasPowerOff(r.scenario, "worker-2"));  // whatever it kept still fails
}

TEST(ScenarioShrink, ExplicitFaultsPutNemesisDrawsOnTheTimeline) {
  Scenario s = Noisy();
  NemesisSpec n;
  n.name = "n";
  s.nemesis.push_back(n);
  s.swarm.push_back(SwarmRange{});
  ScenarioResult failing;
  faults::Fault crash;
  crash.kind = faults::FaultKind::kCrashProcess;
  crash.host = "worker-4";
  crash.process = "kube-proxy";
  failing.faults.push_back(AppliedFault{Seconds(2) + Milliseconds(500), crash, "n"});
  failing.faults.push_back(AppliedFault{Seconds(3), s.timeline[2].faults[0], "timeline"});
  const Scenario out = ExplicitFaults(s, failing);
  EXPECT_TRUE(out.nemesis.empty());
  EXPECT_TRUE(out.swarm.empty());
  ASSERT_EQ(out.timeline.size(), 9u);  // the timeline's own fault is not added twice
  EXPECT_EQ(out.timeline[2].at, Seconds(2) + Milliseconds(500));
  EXPECT_EQ(out.timeline[2].action, ActionKind::kCrash);
  EXPECT_EQ(out.timeline[2].faults[0].host, "worker-4");
}

// The coverage marks `ksim fuzz` sums: faults by kind, nemesis entries that fired, and
// the liveness phase reached.
TEST(ScenarioRecordCoverage, CountsFaultsNemesisFiringsAndTheLivenessPhase) {
  const Scenario s = Noisy();
  ScenarioResult r;
  r.status = Status::Ok();
  r.passed = true;
  r.faults.push_back(AppliedFault{Seconds(3), s.timeline[2].faults[0], "power"});
  r.faults.push_back(AppliedFault{Seconds(8), s.timeline[7].faults[0], "power"});
  r.nemesis_fired = {{"power", 1}, {"idle", 0}};
  r.healed_all_at = Seconds(100);
  const reports::SeedRun run = ToSeedRun(s, r, "noisy.yaml");
  const std::map<std::string, uint64_t> expected = {
      {"fault.power-off", 1}, {"nemesis.power", 1}, {"state.liveness-phase", 1}};
  EXPECT_EQ(run.coverage, expected);
}

}  // namespace
}  // namespace ksim::scenarios
