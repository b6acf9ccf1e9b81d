// Determinism across processes: a seed run in two separate OS processes prints the same
// hashes. Runs inside one process (tests/scenarios/determinism_test.cc) share everything
// that is fixed per process: hash seeds and salts (Abseil's, protobuf's map seeds),
// addresses under ASLR, static initialisation order. A value drawn from any of those that
// reaches behaviour replays within a process and diverges between two; only this test
// sees it.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "tests/tools/subprocess.h"

namespace ksim::testing {
namespace {

const std::string kKsim = KSIM_BINARY;

// The lines of the output that carry a hash ("trace_hash=..", "placement_hash=.."), in
// order: the wall-clock figures on the other lines differ between any two runs.
std::string HashLines(const std::string& out) {
  std::string lines;
  size_t start = 0;
  while (start < out.size()) {
    size_t nl = out.find('\n', start);
    if (nl == std::string::npos) nl = out.size();
    const std::string line = out.substr(start, nl - start);
    if (line.find("_hash=") != std::string::npos) lines += line + "\n";
    start = nl + 1;
  }
  return lines;
}

// Runs `args` in two processes; both succeed and print the same non-empty hash lines.
// Returns those lines.
std::string RunTwice(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {kKsim};
  argv.insert(argv.end(), args.begin(), args.end());
  const RunResult a = RunCommand(argv);
  const RunResult b = RunCommand(argv);
  std::string joined;
  for (const auto& s : args) joined += s + " ";
  EXPECT_EQ(a.exit_code, 0) << joined << "\n" << a.out << a.err;
  EXPECT_EQ(b.exit_code, 0) << joined << "\n" << b.out << b.err;
  EXPECT_FALSE(HashLines(a.out).empty()) << joined << "\n" << a.out;
  EXPECT_EQ(HashLines(a.out), HashLines(b.out)) << joined << ": two processes disagree";
  return HashLines(a.out);
}

TEST(DeterminismAcrossProcesses, DemoSeeds) {
  std::set<std::string> distinct;
  for (int seed = 1; seed <= 6; ++seed) {
    distinct.insert(RunTwice({"demo", "--gossip", "--seed", std::to_string(seed), "--hosts", "5", "--duration", "20s"}));
  }
  EXPECT_EQ(distinct.size(), 6u);
}

// The cluster demo: stores, apiservers behind the load balancer, schedulers, faults.
TEST(DeterminismAcrossProcesses, ClusterDemoSeeds) {
  std::set<std::string> distinct;
  for (int seed = 1; seed <= 3; ++seed) {
    distinct.insert(RunTwice({"demo", "--seed", std::to_string(seed), "--duration", "3m"}));
  }
  EXPECT_EQ(distinct.size(), 3u);
}

// The store under the nemesis: Raft, the WAL and the fault schedule.
TEST(DeterminismAcrossProcesses, StoreBenchWithFaults) {
  std::set<std::string> distinct;
  for (int seed = 1; seed <= 2; ++seed) {
    distinct.insert(RunTwice(
        {"bench", "store", "--seed", std::to_string(seed), "--clients", "20", "--duration", "5s", "--faults"}));
  }
  EXPECT_EQ(distinct.size(), 2u);
}

// Apiservers, watch caches and an informer: protobuf maps in every object.
TEST(DeterminismAcrossProcesses, ApiBench) {
  std::set<std::string> distinct;
  for (int seed = 1; seed <= 2; ++seed) {
    distinct.insert(RunTwice({"bench", "api", "--apiservers", "2", "--pods", "400", "--seed", std::to_string(seed)}));
  }
  EXPECT_EQ(distinct.size(), 2u);
}

// Every scheduler workload: placements as well as the trace.
TEST(DeterminismAcrossProcesses, SchedulerBenchEveryWorkload) {
  for (const char* workload :
       {"basic", "node-affinity", "pod-affinity", "pod-anti-affinity", "topology-spread", "preemption"}) {
    const std::string lines =
        RunTwice({"bench", "scheduler", "--workload", workload, "--nodes", "120", "--pods", "100", "--seed", "3"});
    EXPECT_NE(lines.find("placement_hash="), std::string::npos) << workload;
  }
}

}  // namespace
}  // namespace ksim::testing
