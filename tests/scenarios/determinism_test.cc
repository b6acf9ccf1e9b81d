// A seed is a replay: the same seed gives the same trace hash, different seeds give
// different ones. (Debug and Release agreeing on a seed's hash is checked across two
// builds by scripts/check-debug-release.sh, which the test command runs.)
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "scenarios/api_bench.h"
#include "scenarios/demo_run.h"
#include "scenarios/scheduler_bench.h"

namespace ksim::scenarios {
namespace {

DemoOptions Options(uint64_t seed) {
  DemoOptions o;
  o.seed = seed;
  o.hosts = 5;
  o.duration = Seconds(30);
  return o;
}

TEST(Determinism, FiftySeedsEachRunTwiceGiveIdenticalHashes) {
  std::map<uint64_t, uint64_t> hash_by_seed;
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    const DemoResult first = RunDemo(Options(seed));
    const DemoResult second = RunDemo(Options(seed));
    EXPECT_EQ(first.trace_hash, second.trace_hash) << "seed " << seed;
    EXPECT_EQ(first.events, second.events) << "seed " << seed;
    EXPECT_EQ(first.faults, second.faults) << "seed " << seed;
    EXPECT_EQ(first.own_values, second.own_values) << "seed " << seed;
    EXPECT_TRUE(first.ok()) << "seed " << seed << "\n" << FormatDemoSummary(first);
    hash_by_seed[seed] = first.trace_hash;
  }
  std::set<uint64_t> distinct;
  for (const auto& [seed, hash] : hash_by_seed) distinct.insert(hash);
  EXPECT_EQ(distinct.size(), hash_by_seed.size()) << "two seeds produced the same trace";
}

TEST(Determinism, FaultFreeRunsDifferOnlyBySeedDrivenJitter) {
  DemoOptions a = Options(1), b = Options(2);
  a.faults = b.faults = false;
  EXPECT_NE(RunDemo(a).trace_hash, RunDemo(b).trace_hash);
  EXPECT_EQ(RunDemo(a).trace_hash, RunDemo(a).trace_hash);
}

TEST(Determinism, TheHashSeesTheRunNotJustTheSeed) {
  // Same seed, different shape of run: the hash must differ.
  DemoOptions a = Options(5), b = Options(5);
  b.hosts = 6;
  EXPECT_NE(RunDemo(a).trace_hash, RunDemo(b).trace_hash);
  DemoOptions c = Options(5);
  c.duration = Seconds(31);
  EXPECT_NE(RunDemo(a).trace_hash, RunDemo(c).trace_hash);
}

}  // namespace
}  // namespace ksim::scenarios

namespace ksim::scenarios {
namespace {

// The API path carries protobuf maps (labels, query parameters), whose iteration order
// protobuf seeds per instance: this is the test that catches plain serialization.
ApiBenchResult RunApi(uint64_t seed) {
  ApiBenchOptions o;
  o.seed = seed;
  o.apiservers = 2;
  o.pods = 1500;
  o.creators = 5;
  ApiBench bench(o);
  EXPECT_TRUE(bench.Setup().ok());
  bench.RunCreates();
  bench.RunList();
  return bench.result();
}

TEST(Determinism, TheApiBenchReplaysItsSeed) {
  std::set<uint64_t> distinct;
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    const ApiBenchResult a = RunApi(seed);
    const ApiBenchResult b = RunApi(seed);
    EXPECT_EQ(a.trace_hash, b.trace_hash) << "seed " << seed;
    EXPECT_EQ(a.created, 1500u);
    EXPECT_EQ(a.listed, 1500u);
    EXPECT_EQ(a.informer_objects, 1500u);
    EXPECT_EQ(a.quota_pods_used, 1500u);  // the tenant's quota charged once per pod
    distinct.insert(a.trace_hash);
  }
  EXPECT_EQ(distinct.size(), 3u);
}

SchedulerBenchResult RunScheduler(const std::string& workload, uint64_t seed) {
  SchedulerBenchOptions o;
  o.seed = seed;
  o.workload = workload;
  o.nodes = 120;
  o.pods = 100;
  SchedulerBench bench(o);
  bench.Setup();
  bench.RunScheduling();
  bench.Verify();
  return bench.result();
}

TEST(Determinism, TheSchedulerBenchReplaysItsPlacements) {
  for (const std::string& workload : SchedulerBenchWorkloads()) {
    std::set<uint64_t> distinct;
    for (uint64_t seed = 1; seed <= 2; ++seed) {
      const SchedulerBenchResult a = RunScheduler(workload, seed);
      const SchedulerBenchResult b = RunScheduler(workload, seed);
      EXPECT_EQ(a.placement_hash, b.placement_hash) << workload << " seed " << seed;
      EXPECT_EQ(a.trace_hash, b.trace_hash) << workload << " seed " << seed;
      EXPECT_EQ(a.bound, 100u) << workload << " cycles=" << a.cycles << " unschedulable=" << a.unschedulable_cycles;
      EXPECT_EQ(a.violations, 0u) << workload << ": " << a.first_violation;
      distinct.insert(a.trace_hash);
    }
    EXPECT_EQ(distinct.size(), 2u) << workload;
  }
}

}  // namespace
}  // namespace ksim::scenarios
