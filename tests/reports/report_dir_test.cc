#include "reports/report_dir.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "reports/run_record_json.h"
#include "tests/reports/sample_record.h"

namespace ksim::reports {
namespace {

namespace fs = std::filesystem;

TEST(ReportDir, WritesTheRecordThePageAndTheJUnitFile) {
  fs::path dir = fs::temp_directory_path() / ("ksim_report_dir_" + std::to_string(getpid())) / "nested";
  RunRecord record = testing::SampleRecord();
  std::string error;
  ASSERT_TRUE(WriteReportDir(record, dir.string(), &error)) << error;
  std::optional<RunRecord> back = ReadRunRecordFile((dir / "record.json").string(), &error);
  ASSERT_TRUE(back.has_value()) << error;
  EXPECT_EQ(*back, record);
  EXPECT_GT(fs::file_size(dir / "report.html"), 1000u);
  EXPECT_GT(fs::file_size(dir / "junit.xml"), 500u);
  fs::remove_all(dir.parent_path());
  // A directory that cannot be made is an error naming it.
  EXPECT_FALSE(WriteReportDir(record, "/proc/ksim-no/such", &error));
  EXPECT_EQ(error.rfind("/proc/ksim-no/such: cannot create the report directory: ", 0), 0u) << error;
}

}  // namespace
}  // namespace ksim::reports
