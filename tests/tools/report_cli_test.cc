// `ksim report compare` and `ksim report render`, run as users run them: exit codes 0
// (no regression), 1 (a regression), 2 (bad input), and the files render writes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "reports/run_record_json.h"
#include "tests/reports/sample_record.h"
#include "tests/tools/subprocess.h"

namespace ksim::testing {
namespace {

namespace fs = std::filesystem;
const std::string kKsim = KSIM_BINARY;

class ReportCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ksim_report_cli_" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    std::string path = (dir_ / name).string();
    std::string error;
    EXPECT_TRUE(reports::WriteTextFile(path, text, &error)) << error;
    return path;
  }
  std::string WriteRecord(const std::string& name, const reports::RunRecord& record) {
    return Write(name, reports::RunRecordToJson(record));
  }
  std::string Read(const std::string& name) {
    std::ifstream in(dir_ / name);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }

  fs::path dir_;
};

reports::RunRecord Passing() {
  reports::RunRecord r = reports::testing::SampleRecord();
  for (reports::SeedRun& run : r.seeds) {
    run.verdict = reports::Verdict::kPass;
    for (reports::ExpectationResult& e : run.expectations) e.passed = true;
  }
  return r;
}

TEST_F(ReportCli, CompareExitsZeroOneOrTwo) {
  std::string base = WriteRecord("base.json", Passing());
  RunResult same = RunCommand({kKsim, "report", "compare", base, base});
  EXPECT_EQ(same.exit_code, 0) << same.out << same.err;
  EXPECT_NE(same.out.find("no regression"), std::string::npos) << same.out;

  std::string failing = WriteRecord("new.json", reports::testing::SampleRecord());
  RunResult regressed = RunCommand({kKsim, "report", "compare", base, failing});
  EXPECT_EQ(regressed.exit_code, 1) << regressed.out << regressed.err;
  EXPECT_NE(regressed.out.find("seed 8 verdict"), std::string::npos);
  EXPECT_NE(regressed.out.find("REGRESSION"), std::string::npos);

  reports::RunRecord slower = Passing();
  for (reports::SeedRun& run : slower.seeds) run.metrics["pod startup latency p99"].value *= 1.3;
  std::string slow = WriteRecord("slow.json", slower);
  EXPECT_EQ(RunCommand({kKsim, "report", "compare", base, slow}).exit_code, 1);
  RunResult allowed =
      RunCommand({kKsim, "report", "compare", base, slow, "--threshold", "pod startup latency p99=50"});
  EXPECT_EQ(allowed.exit_code, 0) << allowed.out << allowed.err;

  RunResult typo = RunCommand({kKsim, "report", "compare", base, slow, "--threshold", "pod startup latncy p99=50"});
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_EQ(typo.err, "ksim: --threshold pod startup latncy p99=50: no metric or histogram of that name\n");
  std::string bad = Write("bad.json", "{\"format\": \"ksim-run-record/v1\", \"scenario_name\": 3}");
  RunResult invalid = RunCommand({kKsim, "report", "compare", base, bad});
  EXPECT_EQ(invalid.exit_code, 2);
  EXPECT_EQ(invalid.err, "ksim: " + bad + ": scenario_name: expected a string\n");
  EXPECT_EQ(RunCommand({kKsim, "report", "compare", base, (dir_ / "missing.json").string()}).exit_code, 2);
  EXPECT_EQ(RunCommand({kKsim, "report", "compare", base}).exit_code, 2);
}

TEST_F(ReportCli, RenderWritesHtmlAndJUnit) {
  std::string record = WriteRecord("run.json", reports::testing::SampleRecord());
  std::string html = (dir_ / "run.html").string(), junit = (dir_ / "junit.xml").string();
  RunResult r = RunCommand({kKsim, "report", "render", record, "--html", html, "--junit", junit});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Read("run.html").rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(Read("run.html").find("class=\"fault-band"), std::string::npos);
  EXPECT_NE(Read("junit.xml").find("<testcase name=\"deploymentAvailable [seed 8]\""), std::string::npos);
  EXPECT_EQ(RunCommand({kKsim, "report", "render", record}).exit_code, 2);  // nothing to write
  RunResult unwritable = RunCommand({kKsim, "report", "render", record, "--html", "/nonexistent/dir/x.html"});
  EXPECT_EQ(unwritable.exit_code, 2);
  EXPECT_EQ(unwritable.err.rfind("ksim: /nonexistent/dir/x.html: cannot write: ", 0), 0u) << unwritable.err;
}

}  // namespace
}  // namespace ksim::testing
