// The ksim command line, run as users run it.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <regex>
#include <set>

#include "tests/tools/subprocess.h"

namespace ksim::testing {
namespace {

const std::string kKsim = KSIM_BINARY;
const std::string kExplainCluster = std::string(KSIM_TESTDATA) + "/explain_cluster.yaml";

std::string LastLine(const std::string& out) {
  std::string s = out;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  const size_t nl = s.rfind('\n');
  return nl == std::string::npos ? s : s.substr(nl + 1);
}

TEST(Cli, DemoPrintsTraceHashAsLastLineAndReplays) {
  RunResult a = RunCommand({kKsim, "demo", "--gossip", "--seed", "11", "--hosts", "4", "--duration", "20s"});
  RunResult b = RunCommand({kKsim, "demo", "--gossip", "--seed", "11", "--hosts", "4", "--duration", "20s"});
  RunResult c = RunCommand({kKsim, "demo", "--gossip", "--seed", "12", "--hosts", "4", "--duration", "20s"});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_TRUE(std::regex_match(LastLine(a.out), std::regex("trace_hash=[0-9a-f]{16}"))) << LastLine(a.out);
  EXPECT_EQ(a.out, b.out);  // the whole summary replays, not just the hash
  EXPECT_NE(LastLine(a.out), LastLine(c.out));
}

struct BadInput {
  std::vector<std::string> args;
  std::string expect_in_stderr;
};

TEST(Cli, BadFlagsAndValuesExitTwoWithAClearMessage) {
  const std::vector<BadInput> cases = {
      {{"demo", "--bogus"}, "--bogus"},
      {{"demo", "--seed", "abc"}, "--seed"},
      {{"demo", "--seed", "-1"}, "--seed"},
      {{"demo", "--gossip", "--hosts", "1"}, "--hosts"},
      {{"demo", "--hosts", "5"}, "--hosts: applies to --gossip"},
      {{"demo", "--workers", "1"}, "--workers"},
      {{"demo", "--duration", "60s"}, "out of range (3m"},
      {{"demo", "--gossip", "--hosts", "100000"}, "--hosts"},
      {{"demo", "--duration", "60"}, "missing unit"},
      {{"demo", "--duration", "5parsecs"}, "unknown unit"},
      {{"demo", "--gossip", "--duration", "5s"}, "out of range"},
      {{"demo", "--duration", "99999999999999999999s"}, "too large"},
      {{"bench", "store", "--members", "9"}, "--members"},
      {{"bench", "store", "--duration", "fast"}, "--duration"},
      {{"bench", "api", "--pods", "0"}, "--pods"},
      {{"bench", "api", "--apiservers", "x"}, "--apiservers"},
      {{"bench", "api", "--bogus"}, "--bogus"},
      {{"bench", "scheduler", "--workload", "fancy"}, "--workload"},
      {{"bench", "scheduler", "--nodes", "0"}, "--nodes"},
      {{"bench", "scheduler", "--pods", "-3"}, "--pods"},
      {{"bench", "scheduler", "--workload", "pod-anti-affinity", "--nodes", "10", "--pods", "11"}, "--pods"},
      {{"bench", "cluster", "--nodes", "0"}, "--nodes"},
      {{"bench", "cluster", "--nodes", "1", "--pods", "200"}, "--pods"},
      {{"bench", "cluster", "--duration", "0s"}, "--duration"},
      {{"bench", "controllers", "--replicasets", "0"}, "--replicasets"},
      {{"bench", "controllers", "--pods", "-1"}, "--pods"},
      {{"bench", "controllers", "--nodes", "x"}, "--nodes"},
      {{"bench", "rollout", "--replicas", "0"}, "--replicas"},
      {{"bench", "rollout", "--nodes", "0"}, "--nodes"},
      {{"bench", "rollout", "--bogus"}, "--bogus"},
      {{"bench"}, "subcommand"},
      {{"explain", "--manifests", kExplainCluster, "--pod", "web-0"}, "NAMESPACE/NAME"},
      {{"explain", "--manifests", kExplainCluster, "--pod", "shop/missing"}, "no pod shop/missing"},
      {{"explain", "--manifests", "/nonexistent.yaml", "--pod", "a/b"}, "/nonexistent.yaml"},
      {{"explain", "--pod", "a/b"}, "--manifests"},
      {{"nosuchcommand"}, "nosuchcommand"},
      {{}, "subcommand"},
      {{"demo-node", "--name", "a", "--listen", "nope", "--data-dir", "/tmp/x"}, "--listen"},
      {{"demo-node", "--name", "a", "--listen", "127.0.0.1:1", "--data-dir", "/tmp/x", "--peer", "bad"}, "--peer"},
      {{"demo-node", "--listen", "127.0.0.1:1", "--data-dir", "/tmp/x"}, "--name"},
  };
  for (const BadInput& c : cases) {
    std::vector<std::string> argv = {kKsim};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    RunResult r = RunCommand(argv);
    std::string joined;
    for (const auto& a : c.args) joined += a + " ";
    EXPECT_EQ(r.exit_code, 2) << joined << "\n" << r.err;
    EXPECT_NE(r.err.find(c.expect_in_stderr), std::string::npos) << joined << "\nstderr: " << r.err;
    EXPECT_TRUE(r.out.empty()) << joined;
  }
}

TEST(Cli, BenchApiPrintsItsFigureLastAndReplays) {
  const std::vector<std::string> argv = {kKsim, "bench", "api", "--apiservers", "2", "--pods", "300", "--seed", "4"};
  RunResult a = RunCommand(argv);
  RunResult b = RunCommand(argv);
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_TRUE(std::regex_match(LastLine(a.out), std::regex("creates_per_second=[0-9]+"))) << a.out;
  auto hash = [](const std::string& out) {
    const size_t at = out.find("trace_hash=");
    return at == std::string::npos ? std::string() : out.substr(at, 27);
  };
  EXPECT_FALSE(hash(a.out).empty());
  EXPECT_EQ(hash(a.out), hash(b.out)) << "a seed replays";
  EXPECT_NE(a.out.find("created=300 failed=0"), std::string::npos) << a.out;
}

TEST(Cli, BenchSchedulerPrintsItsFigureLastAndReplays) {
  const std::vector<std::string> argv = {kKsim,      "bench", "scheduler", "--workload", "pod-anti-affinity",
                                         "--nodes", "200",   "--pods",    "150",        "--seed", "9"};
  RunResult a = RunCommand(argv);
  RunResult b = RunCommand(argv);
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_TRUE(std::regex_match(LastLine(a.out), std::regex("pods_per_second=[0-9]+"))) << a.out;
  auto hash = [](const std::string& out) {
    const size_t at = out.find("placement_hash=");
    return at == std::string::npos ? std::string() : out.substr(at, 31);
  };
  EXPECT_FALSE(hash(a.out).empty());
  EXPECT_EQ(hash(a.out), hash(b.out)) << "a seed replays its placements";
  EXPECT_NE(a.out.find("bound=150/150"), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("violations=0"), std::string::npos) << a.out;
}

std::string HashesOf(const std::string& out) {
  const size_t at = out.find("result_hash=");
  return at == std::string::npos ? std::string() : out.substr(at, 56);
}

// A tiny `ksim bench controllers`: its figure last, every pod created once and verified.
TEST(Cli, BenchControllersPrintsItsFigureLastAndReplays) {
  const std::vector<std::string> argv = {kKsim, "bench", "controllers", "--replicasets", "20", "--pods", "1010",
                                         "--nodes", "50", "--seed", "3"};
  RunResult a = RunCommand(argv);
  RunResult b = RunCommand(argv);
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_TRUE(std::regex_match(LastLine(a.out), std::regex("pods_created_per_second=[0-9]+"))) << a.out;
  EXPECT_TRUE(std::regex_search(a.out, std::regex("result_hash=[0-9a-f]{16} trace_hash=[0-9a-f]{16}\n"))) << a.out;
  EXPECT_EQ(HashesOf(a.out), HashesOf(b.out)) << "a seed replays";
  EXPECT_NE(a.out.find("scale-up: 1010/1010 pods created"), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("controller writes: 1010 pod creates"), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("verify: 1010 pods listed"), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("violations=0\n"), std::string::npos) << a.out;
}

// A tiny `ksim bench rollout`: complete, within maxSurge / maxUnavailable, all pods new.
TEST(Cli, BenchRolloutPrintsItsFigureLastAndReplays) {
  const std::vector<std::string> argv = {kKsim, "bench", "rollout", "--replicas", "40", "--nodes", "10", "--seed", "3"};
  RunResult a = RunCommand(argv);
  RunResult b = RunCommand(argv);
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_TRUE(std::regex_match(LastLine(a.out), std::regex("rollout_wall_seconds=[0-9]+\\.[0-9]{3}"))) << a.out;
  EXPECT_TRUE(std::regex_search(a.out, std::regex("result_hash=[0-9a-f]{16} trace_hash=[0-9a-f]{16}\n"))) << a.out;
  EXPECT_EQ(HashesOf(a.out), HashesOf(b.out)) << "a seed replays";
  EXPECT_NE(a.out.find("rollout: complete in"), std::string::npos) << a.out;
  // 40 replicas: maxSurge 10, maxUnavailable 10, and the rollout used both.
  EXPECT_NE(a.out.find("bounds: maxSurge=10 maxUnavailable=10; at most 50 active, at least 30 Ready"),
            std::string::npos)
      << a.out;
  EXPECT_NE(a.out.find("verify: 40 pods listed; violations=0\n"), std::string::npos) << a.out;
}

TEST(Cli, ExplainShowsEachFilterAndScorePerNode) {
  RunResult r = RunCommand({kKsim, "explain", "--manifests", kExplainCluster, "--pod", "shop/web-0"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("node infra: rejected"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("TaintToleration      UnschedulableAndUnresolvable: node(s) had untolerated taint "
                       "{dedicated: infra}"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("NodeResourcesFit     UnschedulableAndUnresolvable: Insufficient cpu"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("node large: feasible"), std::string::npos) << r.out;
  EXPECT_EQ(LastLine(r.out), "best: large");
}

// A pod with spec.nodeName keeps it: NodeName rejects every other node, and the pod does not
// count against its own node.
TEST(Cli, ExplainKeepsAPinnedPodsNodeName) {
  RunResult r = RunCommand({kKsim, "explain", "--manifests", kExplainCluster, "--pod", "shop/db-0"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("node small: rejected\n  filter NodeUnschedulable    Success\n  filter NodeName             "
                       "UnschedulableAndUnresolvable: node(s) didn't match the requested node name"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("node large: feasible"), std::string::npos) << r.out;
  EXPECT_EQ(LastLine(r.out), "best: large");
}

TEST(Cli, ExplainABadManifestNamesFileAndLine) {
  const std::string path = ::testing::TempDir() + "/bad_cluster.yaml";
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containerz: []\n", f);
  std::fclose(f);
  RunResult r = RunCommand({kKsim, "explain", "--manifests", path, "--pod", "default/p"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad_cluster.yaml:5"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("containerz"), std::string::npos) << r.err;
}

TEST(Cli, HelpExitsZero) {
  RunResult r = RunCommand({kKsim, "demo", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--seed"), std::string::npos);
}

// `ksim scenario check`: 0 for good files, 2 with file:line:column: field: reason on stderr.
TEST(Cli, ScenarioCheckExitsZeroOrTwoWithTheLocatedError) {
  const std::string example = std::string(KSIM_SOURCE_DIR) + "/scenarios/examples/rolling-update-under-partition.yaml";
  RunResult good = RunCommand({kKsim, "scenario", "check", example});
  EXPECT_EQ(good.exit_code, 0) << good.err;
  EXPECT_NE(good.out.find(": ok (rolling-update-under-partition: 3 control-plane hosts, 5 workers"), std::string::npos)
      << good.out;
  const std::string bad_file = std::string(KSIM_TESTDATA) + "/bad_scenario.yaml";
  RunResult bad = RunCommand({kKsim, "scenario", "check", example, bad_file});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.err, "ksim: " + bad_file + ":8:7: timeline[0].at: 2m is after the end of the run (1m)\n");
  RunResult missing = RunCommand({kKsim, "scenario", "check"});
  EXPECT_EQ(missing.exit_code, 2);
  RunResult schema = RunCommand({kKsim, "scenario", "schema"});
  EXPECT_EQ(schema.exit_code, 0);
  EXPECT_NE(schema.out.find("\"$ref\": \"#/$defs/scenario\""), std::string::npos);
}

// `ksim run`: 0 when every expectation holds (same output twice), 1 with the failing
// expectation and the replay command, 2 on bad input.
TEST(Cli, RunExitsZeroOneOrTwo) {
  const std::string dir = std::string(KSIM_TESTDATA) + "/";
  RunResult pass = RunCommand({kKsim, "run", dir + "run_pass.yaml", "--seed", "3"});
  EXPECT_EQ(pass.exit_code, 0) << pass.out << pass.err;
  EXPECT_NE(pass.out.find("seed 3: pass"), std::string::npos) << pass.out;
  RunResult again = RunCommand({kKsim, "run", dir + "run_pass.yaml", "--seed", "3"});
  EXPECT_EQ(pass.out, again.out);
  RunResult fail = RunCommand({kKsim, "run", dir + "run_fail.yaml", "--seeds", "4..5"});
  EXPECT_EQ(fail.exit_code, 1) << fail.out << fail.err;
  EXPECT_NE(fail.out.find("seed 4: FAIL"), std::string::npos) << fail.out;
  EXPECT_NE(fail.out.find("atEnd podCount: at the end: 2 ready pods match"), std::string::npos) << fail.out;
  EXPECT_NE(fail.out.find("replay: ksim run " + dir + "run_fail.yaml --seed 5"), std::string::npos) << fail.out;
  EXPECT_NE(fail.err.find("[2/2] 2 failed"), std::string::npos) << fail.err;  // progress line
  const std::string report = ::testing::TempDir() + "/ksim_run_report";
  RunResult reported = RunCommand({kKsim, "run", dir + "run_fail.yaml", "--seed", "4", "--report", report});
  EXPECT_EQ(reported.exit_code, 1);
  auto slurp = [](const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  const std::string json = slurp(report + "/record.json");
  EXPECT_NE(json.find("\"verdict\": \"fail\""), std::string::npos) << json.substr(0, 400);
  EXPECT_NE(json.find("2 ready pods match"), std::string::npos);
  EXPECT_NE(slurp(report + "/junit.xml").find("podCount"), std::string::npos);
  EXPECT_NE(slurp(report + "/report.html").find("<svg"), std::string::npos);
  RunResult bad_range = RunCommand({kKsim, "run", dir + "run_pass.yaml", "--seeds", "5..2"});
  EXPECT_EQ(bad_range.exit_code, 2);
  EXPECT_NE(bad_range.err.find("--seeds"), std::string::npos) << bad_range.err;
  RunResult bad_file = RunCommand({kKsim, "run", dir + "bad_scenario.yaml"});
  EXPECT_EQ(bad_file.exit_code, 2);
  EXPECT_NE(bad_file.err.find("timeline[0].at"), std::string::npos) << bad_file.err;
  RunResult both = RunCommand({kKsim, "run", dir + "run_pass.yaml", "--seed", "1", "--seeds", "1..2"});
  EXPECT_EQ(both.exit_code, 2);
}

}  // namespace
}  // namespace ksim::testing
