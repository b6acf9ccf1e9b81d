// `ksim lincheck` run as users run it: the last line and the exit code for each outcome.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "tests/tools/subprocess.h"

namespace ksim::testing {
namespace {

const std::string kKsim = KSIM_BINARY;

std::string LastLine(const std::string& out) {
  std::string s = out;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  const size_t nl = s.rfind('\n');
  return nl == std::string::npos ? s : s.substr(nl + 1);
}

std::string WriteFile(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string path = dir + "/" + name;
  std::ofstream(path) << text;
  return path;
}

class LincheckCli : public ::testing::Test {
 protected:
  std::string dir_ = TempDir();
};

TEST_F(LincheckCli, LinearizableExitsZero) {
  const std::string path = WriteFile(dir_, "ok.edn", R"(
{:process 0, :type :invoke, :f :write, :value 1}
{:process 1, :type :invoke, :f :read, :value nil}
{:process 1, :type :ok, :f :read, :value 1}
{:process 0, :type :info, :f :write, :value 1}
)");
  const RunResult r = RunCommand({kKsim, "lincheck", "--model", "register", path});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(LastLine(r.out), "linearizable");
}

TEST_F(LincheckCli, ViolationExitsOneAndPrintsTheFailingKeysHistory) {
  const std::string path = WriteFile(dir_, "bad.jsonl", R"(
{"process":0,"type":"invoke","f":"put","key":"k1","value":"a"}
{"process":0,"type":"ok","f":"put","key":"k1","value":"a"}
{"process":1,"type":"invoke","f":"put","key":"k2","value":"b"}
{"process":1,"type":"ok","f":"put","key":"k2","value":"b"}
{"process":2,"type":"invoke","f":"get","key":"k2","value":null}
{"process":2,"type":"ok","f":"get","key":"k2","value":null}
{"process":2,"type":"invoke","f":"get","key":"k1","value":null}
{"process":2,"type":"ok","f":"get","key":"k1","value":"a"}
)");
  const RunResult r = RunCommand({kKsim, "lincheck", "--model", "kv", path});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(LastLine(r.out), "not linearizable");
  EXPECT_NE(r.out.find("key \"k2\" is not linearizable"), std::string::npos) << r.out;
  // The minimal sub-history is printed in the input's own (JSON) format, and only for k2.
  EXPECT_NE(r.out.find("{\"process\":2,\"type\":\"ok\",\"f\":\"get\",\"key\":\"k2\",\"value\":null}\n"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("\"key\":\"k1\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("could not be linearized"), std::string::npos) << r.out;
}

TEST_F(LincheckCli, InitialValueOptionChangesTheVerdict) {
  // Another tool's kv history: keys start empty, so the first get sees "".
  const std::string path = WriteFile(dir_, "empty-start.jsonl", R"(
{"process":0,"type":"invoke","f":"get","key":"k","value":null}
{"process":0,"type":"ok","f":"get","key":"k","value":""}
{"process":1,"type":"invoke","f":"append","key":"k","value":"1,"}
{"process":1,"type":"ok","f":"append","key":"k","value":"1,"}
{"process":0,"type":"invoke","f":"get","key":"k","value":null}
{"process":0,"type":"ok","f":"get","key":"k","value":"1,"}
)");
  const RunResult nil_start = RunCommand({kKsim, "lincheck", "--model", "kv", path});
  EXPECT_EQ(nil_start.exit_code, 1) << nil_start.out << nil_start.err;
  EXPECT_EQ(LastLine(nil_start.out), "not linearizable");
  const RunResult empty_start = RunCommand({kKsim, "lincheck", "--model", "kv", "--initial-value", R"("")", path});
  EXPECT_EQ(empty_start.exit_code, 0) << empty_start.out << empty_start.err;
  EXPECT_EQ(LastLine(empty_start.out), "linearizable");
  EXPECT_NE(empty_start.out.find("initial value: \"\"\n"), std::string::npos) << empty_start.out;
  // nil is the default, spelled out.
  EXPECT_EQ(RunCommand({kKsim, "lincheck", "--model", "kv", "--initial-value", "nil", path}).exit_code, 1);
  const RunResult bad = RunCommand({kKsim, "lincheck", "--model", "kv", "--initial-value", "empty", path});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.err,
            "ksim lincheck: error: --initial-value: expected nil, an integer or a string (EDN, e.g. '\"\"'), got "
            "empty\n");
}

TEST_F(LincheckCli, MalformedInputExitsTwoNamingTheLine) {
  const std::string path = WriteFile(dir_, "history.edn",
                                     "{:process 0, :type :invoke, :f :read}\n{:process 0, :type :done, :f :read}\n");
  const RunResult r = RunCommand({kKsim, "lincheck", "--model", "register", path});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "ksim lincheck: error: " + path +
                       ":2: field :type: expected :invoke, :ok, :fail or :info, got :done\n");
  EXPECT_EQ(r.out, "");
}

TEST_F(LincheckCli, BadFlagsExitTwo) {
  const std::string path = WriteFile(dir_, "empty.edn", "");
  struct Bad {
    std::vector<std::string> args;
    std::string in_stderr;
  };
  const std::vector<Bad> cases = {
      {{"lincheck", "--model", "queue", path}, "--model"},
      {{"lincheck", path}, "--model"},
      {{"lincheck", "--model", "kv"}, "file"},
      {{"lincheck", "--model", "kv", dir_ + "/missing.edn"}, "missing.edn"},
      {{"lincheck", "--model", "kv", "--max-states", "0", path}, "--max-states"},
  };
  for (const Bad& c : cases) {
    std::vector<std::string> argv = {kKsim};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    const RunResult r = RunCommand(argv);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(c.in_stderr), std::string::npos) << r.err;
  }
  const RunResult ok = RunCommand({kKsim, "lincheck", "--model", "kv", path});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(LastLine(ok.out), "linearizable");
}

TEST_F(LincheckCli, ExhaustedBudgetExitsThreeWithUnknown) {
  // Four concurrent writes of 1 and four of 2, and one client reading 1, 2, 1, ... nine times
  // meanwhile: five reads of 1 need five writes of 1. Refuting that means trying which of the
  // equal writes went where: more than 5 configurations.
  std::string text;
  for (int p = 0; p < 8; ++p) {
    text += "{:process " + std::to_string(p) + ", :type :invoke, :f :write, :value " + (p < 4 ? "1" : "2") + "}\n";
  }
  for (int k = 0; k < 9; ++k) {
    text += "{:process 99, :type :invoke, :f :read}\n{:process 99, :type :ok, :f :read, :value " +
            std::string(k % 2 == 0 ? "1" : "2") + "}\n";
  }
  for (int p = 0; p < 8; ++p) {
    text += "{:process " + std::to_string(p) + ", :type :ok, :f :write, :value " + (p < 4 ? "1" : "2") + "}\n";
  }
  const std::string path = WriteFile(dir_, "hard.edn", text);
  const RunResult r = RunCommand({kKsim, "lincheck", "--model", "register", "--max-states", "5", path});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_EQ(LastLine(r.out), "unknown");
  EXPECT_NE(r.out.find("gave up after 5 configurations"), std::string::npos) << r.out;
  const RunResult decided = RunCommand({kKsim, "lincheck", "--model", "register", path});
  EXPECT_EQ(decided.exit_code, 1) << decided.out << decided.err;
  EXPECT_EQ(LastLine(decided.out), "not linearizable");
}

}  // namespace
}  // namespace ksim::testing
