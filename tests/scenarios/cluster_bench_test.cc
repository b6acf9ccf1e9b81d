// A tiny slice of `ksim bench cluster`: every pod reaches the milestone, stays there in
// the steady state, and the seed replays.
#include "scenarios/cluster_bench.h"

#include <gtest/gtest.h>

namespace ksim::scenarios {
namespace {

ClusterBenchResult RunSlice(uint64_t seed) {
  ClusterBenchOptions o;
  o.seed = seed;
  o.nodes = 20;
  o.pods = 300;
  ClusterBench b(o);
  EXPECT_TRUE(b.Setup().ok());
  EXPECT_TRUE(b.RunUntilRunning());
  b.RunSteady(Seconds(120));
  return b.result();
}

TEST(ClusterBench, EveryPodReachesTheMilestoneAndStaysThere) {
  const ClusterBenchResult a = RunSlice(1);
  EXPECT_EQ(a.created, 300u);
  EXPECT_EQ(a.create_failures, 0u) << a.first_failure;
  EXPECT_EQ(a.reached, 300u);
  EXPECT_EQ(a.still_at_milestone, 300u);
  EXPECT_GT(a.steady_events, 0u);
  EXPECT_EQ(a.milestone, a.kubelets ? "Running" : "bound");
  const ClusterBenchResult b = RunSlice(1);
  EXPECT_EQ(a.trace_hash, b.trace_hash);
  EXPECT_NE(a.trace_hash, RunSlice(2).trace_hash);
}

TEST(ClusterBench, PodsThatCannotFitAreRefusedByName) {
  ClusterBenchOptions o;
  o.nodes = 2;
  o.pods = 500;
  EXPECT_NE(ValidateClusterBenchOptions(o).message().find("--pods"), std::string::npos);
  o.nodes = 0;
  EXPECT_NE(ValidateClusterBenchOptions(o).message().find("--nodes"), std::string::npos);
}

}  // namespace
}  // namespace ksim::scenarios
