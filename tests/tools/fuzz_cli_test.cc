// `ksim fuzz` run as users run it: worker processes, verdicts independent of --jobs and
// --shard, a crashing worker reported, failures shrunk into a file `ksim run` replays; and
// deploy/ksim-fuzz-job.yaml decoded by ksim's manifest decoder (so it cannot rot).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "cluster/api/batch.pb.h"
#include "cluster/api/codec.h"
#include "reports/run_record_json.h"
#include "tests/tools/subprocess.h"

namespace ksim::testing {
namespace {

namespace fs = std::filesystem;
const std::string kKsim = KSIM_BINARY;
const std::string kSomeFail = std::string(KSIM_TESTDATA) + "/fuzz_some_seeds_fail.yaml";
const std::string kShrink = std::string(KSIM_TESTDATA) + "/fuzz_shrink.yaml";

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// seed -> "verdict trace_hash" of DIR/record.json.
std::map<uint64_t, std::string> Verdicts(const std::string& dir) {
  std::string error;
  std::optional<reports::RunRecord> r = reports::ReadRunRecordFile(dir + "/record.json", &error);
  EXPECT_TRUE(r.has_value()) << error;
  std::map<uint64_t, std::string> out;
  if (!r) return out;
  for (const reports::SeedRun& s : r->seeds) {
    out[s.seed] = std::string(reports::VerdictName(s.verdict)) + " " + s.trace_hash + " " + s.error;
  }
  return out;
}

class FuzzCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() / ("ksim_fuzz_cli_" + std::to_string(getpid()))).string();
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Dir(const std::string& name) const { return dir_ + "/" + name; }
  std::string dir_;
};

TEST_F(FuzzCli, ReportsTheFailingSeedsAndExitsOne) {
  const RunResult fuzz = RunCommand({kKsim, "fuzz", kSomeFail, "--seeds", "12", "--jobs", "2", "--report", Dir("a"),
                                     "--no-shrink"});
  EXPECT_EQ(fuzz.exit_code, 1) << fuzz.out << fuzz.err;
  // The same seeds fail under `ksim run` in one process (the worker protocol loses nothing).
  const RunResult run = RunCommand({kKsim, "run", kSomeFail, "--seeds", "1..12"});
  int failed = 0, passed = 0;
  for (const auto& [seed, verdict] : Verdicts(Dir("a"))) {
    const bool in_run_failed = run.out.find("seed " + std::to_string(seed) + ": FAIL") != std::string::npos;
    EXPECT_EQ(verdict.rfind("fail", 0) == 0, in_run_failed) << seed << " " << verdict;
    if (verdict.rfind("fail", 0) == 0) {
      ++failed;
      EXPECT_NE(fuzz.out.find("seed " + std::to_string(seed) + ": FAIL atEnd noPendingPods"), std::string::npos);
    } else {
      EXPECT_EQ(verdict.rfind("pass", 0), 0u) << verdict;
      ++passed;
    }
  }
  EXPECT_EQ(failed + passed, 12);
  EXPECT_GT(failed, 0);  // the file fails for some seeds only: both verdicts occur
  EXPECT_GT(passed, 0);
  EXPECT_NE(fuzz.err.find("ETA"), std::string::npos);  // the progress line
}

TEST_F(FuzzCli, AllPassingSeedsExitZero) {
  // Seeds drawing two workers pass; find two such in the record above's way.
  const RunResult run = RunCommand({kKsim, "fuzz", kSomeFail, "--seeds", "12", "--report", Dir("p"), "--no-shrink"});
  std::vector<uint64_t> passing;
  for (const auto& [seed, verdict] : Verdicts(Dir("p"))) {
    if (verdict.rfind("pass", 0) == 0) passing.push_back(seed);
  }
  ASSERT_FALSE(passing.empty());
  const RunResult one =
      RunCommand({kKsim, "fuzz", kSomeFail, "--seeds", "1", "--first-seed", std::to_string(passing[0])});
  EXPECT_EQ(one.exit_code, 0) << one.out << one.err;
}

TEST_F(FuzzCli, TwoJobsGiveTheSameVerdictsAsOne) {
  RunCommand({kKsim, "fuzz", kSomeFail, "--seeds", "10", "--jobs", "1", "--report", Dir("j1"), "--no-shrink"});
  RunCommand({kKsim, "fuzz", kSomeFail, "--seeds", "10", "--jobs", "2", "--report", Dir("j2"), "--no-shrink"});
  const auto one = Verdicts(Dir("j1"));
  EXPECT_EQ(one.size(), 10u);
  EXPECT_EQ(one, Verdicts(Dir("j2")));
}

TEST_F(FuzzCli, ShardsMergeIntoTheUnshardedRecord) {
  RunCommand({kKsim, "fuzz", kSomeFail, "--seeds", "10", "--report", Dir("all"), "--no-shrink"});
  RunCommand({kKsim, "fuzz", kSomeFail, "--seeds", "10", "--shard", "0/2", "--report", Dir("s0"), "--no-shrink"});
  RunCommand({kKsim, "fuzz", kSomeFail, "--seeds", "10", "--shard", "1/2", "--report", Dir("s1"), "--no-shrink"});
  EXPECT_EQ(Verdicts(Dir("s0")).size(), 5u);
  const RunResult merge =
      RunCommand({kKsim, "report", "merge", Dir("s0") + "/record.json", Dir("s1") + "/record.json", "--out", Dir("m")});
  ASSERT_EQ(merge.exit_code, 0) << merge.err;
  EXPECT_EQ(Verdicts(Dir("m")), Verdicts(Dir("all")));
  // The same shard twice overlaps: refused.
  const RunResult twice =
      RunCommand({kKsim, "report", "merge", Dir("s0") + "/record.json", Dir("s0") + "/record.json", "--out", Dir("x")});
  EXPECT_EQ(twice.exit_code, 2);
  EXPECT_NE(twice.err.find("more than one record"), std::string::npos) << twice.err;
}

TEST_F(FuzzCli, ACrashingWorkerIsReportedAndTheSweepCompletes) {
  const RunResult r = RunCommand({kKsim, "fuzz", kSomeFail, "--seeds", "8", "--jobs", "2", "--report", Dir("c"),
                                  "--no-shrink", "--test-abort-on-seed", "3"});
  EXPECT_EQ(r.exit_code, 1);
  const auto verdicts = Verdicts(Dir("c"));
  ASSERT_EQ(verdicts.size(), 8u);
  EXPECT_NE(verdicts.at(3).find("error"), std::string::npos) << verdicts.at(3);
  EXPECT_NE(verdicts.at(3).find("signal 6"), std::string::npos) << verdicts.at(3);
  for (const auto& [seed, verdict] : verdicts) {
    if (seed != 3) {
      EXPECT_EQ(verdict.find("error"), std::string::npos) << seed << " " << verdict;
    }
  }
}

TEST_F(FuzzCli, BadInputExitsTwo) {
  EXPECT_EQ(RunCommand({kKsim, "fuzz", kSomeFail, "--seeds", "4", "--shard", "2/2"}).exit_code, 2);
  EXPECT_EQ(RunCommand({kKsim, "fuzz", kSomeFail, "--seeds", "0"}).exit_code, 2);
  EXPECT_EQ(RunCommand({kKsim, "fuzz", Dir("missing.yaml"), "--seeds", "4"}).exit_code, 2);
}

TEST_F(FuzzCli, AFailureShrinksToTheFaultThatMattersAndReplays) {
  const RunResult r = RunCommand({kKsim, "fuzz", kShrink, "--seeds", "1", "--report", Dir("s")});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const std::string shrunk_path = Dir("s") + "/shrunk-seed-1.yaml";
  ASSERT_TRUE(fs::exists(shrunk_path)) << r.out;
  EXPECT_NE(r.out.find("timeline faults: 5 -> 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("confirmed: it fails the same way"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("replay: ksim run " + shrunk_path + " --seed 1"), std::string::npos) << r.out;
  const std::string text = ReadText(shrunk_path);
  EXPECT_NE(text.find("partition:"), std::string::npos) << text;  // the fault that matters
  for (const char* noise : {"crash:", "restart:", "linkFaults:", "linkClear:", "clockSkew:", "pause:", "resume:"}) {
    EXPECT_EQ(text.find(noise), std::string::npos) << noise << "\n" << text;
  }
  const RunResult replay = RunCommand({kKsim, "run", shrunk_path, "--seed", "1"});
  EXPECT_EQ(replay.exit_code, 1) << replay.out << replay.err;
  EXPECT_NE(replay.out.find("atEnd noPendingPods"), std::string::npos) << replay.out;
  // Candidate runs are bounded.
  const RunResult bounded =
      RunCommand({kKsim, "fuzz", kShrink, "--seeds", "1", "--report", Dir("b"), "--shrink-runs", "2"});
  EXPECT_NE(bounded.out.find("in 2 candidate runs (budget spent)"), std::string::npos) << bounded.out;
}

TEST(FuzzJobManifest, IsAnIndexedBatchV1Job) {
  const std::string path = std::string(KSIM_SOURCE_DIR) + "/deploy/ksim-fuzz-job.yaml";
  const std::string text = ReadText(path);
  std::vector<api::Object> objects;
  const Status s = api::DecodeYaml(text, path, &objects);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(objects.size(), 1u);
  const auto* job = dynamic_cast<const api::Job*>(objects[0].message.get());
  ASSERT_NE(job, nullptr) << objects[0].message->GetTypeName();
  EXPECT_EQ(job->api_version(), "batch/v1");
  EXPECT_EQ(job->spec().completion_mode(), "Indexed");
  EXPECT_EQ(job->spec().completions(), job->spec().parallelism());
  ASSERT_EQ(job->spec().template_().spec().containers_size(), 1);
  std::string args;
  for (const std::string& a : job->spec().template_().spec().containers(0).args()) args += a;
  EXPECT_NE(args.find("--shard \"${JOB_COMPLETION_INDEX}/" + std::to_string(job->spec().completions()) + "\""),
            std::string::npos)
      << args;
  EXPECT_TRUE(fs::exists(std::string(KSIM_SOURCE_DIR) + "/deploy/Containerfile"));
}

}  // namespace
}  // namespace ksim::testing
