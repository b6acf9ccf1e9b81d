// The cluster demo (`ksim demo`): its checks hold under its faults, and a seed replays.
#include "scenarios/cluster_demo.h"

#include <gtest/gtest.h>

#include <set>

namespace ksim::scenarios {
namespace {

ClusterDemoOptions Options(uint64_t seed) {
  ClusterDemoOptions o;
  o.seed = seed;
  o.duration = Seconds(180);
  return o;
}

TEST(ClusterDemo, ChecksHoldAndEachSeedReplays) {
  std::set<uint64_t> distinct;
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    const ClusterDemoResult a = RunClusterDemo(Options(seed));
    const ClusterDemoResult b = RunClusterDemo(Options(seed));
    EXPECT_TRUE(a.ok()) << FormatClusterDemo(a);
    EXPECT_EQ(a.trace_hash, b.trace_hash) << "seed " << seed;
    EXPECT_EQ(a.events, b.events) << "seed " << seed;
    EXPECT_EQ(a.faults, b.faults) << "seed " << seed;
    EXPECT_EQ(FormatClusterDemo(a), FormatClusterDemo(b)) << "seed " << seed;
    EXPECT_EQ(a.faults.size(), 6u) << FormatClusterDemo(a);
    EXPECT_EQ(a.pods.size(), 6u);
    EXPECT_GE(a.checks.size(), 7u);
    EXPECT_GT(a.api_probes, 150u);
    distinct.insert(a.trace_hash);
  }
  EXPECT_EQ(distinct.size(), 3u) << "two seeds produced the same trace";
}

TEST(ClusterDemo, WithoutFaultsNothingIsInjectedAndTheChecksStillHold) {
  ClusterDemoOptions o = Options(4);
  o.faults = false;
  const ClusterDemoResult r = RunClusterDemo(o);
  EXPECT_TRUE(r.ok()) << FormatClusterDemo(r);
  EXPECT_TRUE(r.faults.empty());
  EXPECT_EQ(r.api_probe_failures, 0u);
}

TEST(ClusterDemo, TheReportEndsWithTheTraceHash) {
  const ClusterDemoResult r = RunClusterDemo(Options(5));
  const std::string out = FormatClusterDemo(r);
  const size_t last = out.rfind("trace_hash=");
  ASSERT_NE(last, std::string::npos);
  EXPECT_EQ(out.size() - last, std::string("trace_hash=").size() + 16 + 1) << out;
  EXPECT_NE(out.find("web-1"), std::string::npos);
}

}  // namespace
}  // namespace ksim::scenarios
