#include "reports/run_record_json.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "tests/reports/sample_record.h"

namespace ksim::reports {
namespace {

std::string ParseError(const std::string& text) {
  std::string error;
  EXPECT_FALSE(ParseRunRecordJson(text, "base.json", &error).has_value()) << text;
  return error;
}

// The sample record's JSON with `from` replaced by `to` (once).
std::string Edited(const std::string& from, const std::string& to) {
  std::string json = RunRecordToJson(testing::SampleRecord());
  size_t at = json.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) json.replace(at, from.size(), to);
  return json;
}

TEST(RunRecordJson, RoundTripsTheSampleRecords) {
  for (bool hostile : {false, true}) {
    RunRecord record = testing::SampleRecord(hostile);
    std::string json = RunRecordToJson(record);
    EXPECT_NE(json.find("\"format\": \"ksim-run-record/v1\""), std::string::npos);
    std::string error;
    std::optional<RunRecord> back = ParseRunRecordJson(json, "x.json", &error);
    ASSERT_TRUE(back.has_value()) << error;
    EXPECT_EQ(*back, record);
    EXPECT_EQ(RunRecordToJson(*back), json);  // the writer is deterministic
  }
}

TEST(RunRecordJson, NonFiniteNumbersRoundTrip) {
  RunRecord record;
  record.scenario_name = "s";
  record.seeds.resize(1);
  record.seeds[0].metrics["a"] = {std::numeric_limits<double>::infinity(), "s", Better::kLower};
  record.seeds[0].metrics["b"] = {-std::numeric_limits<double>::infinity(), "s", Better::kLower};
  record.seeds[0].metrics["c"] = {std::nan(""), "s", Better::kLower};
  std::string error;
  std::optional<RunRecord> back = ParseRunRecordJson(RunRecordToJson(record), "x.json", &error);
  ASSERT_TRUE(back.has_value()) << error;
  EXPECT_EQ(back->seeds[0].metrics["a"].value, std::numeric_limits<double>::infinity());
  EXPECT_EQ(back->seeds[0].metrics["b"].value, -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(back->seeds[0].metrics["c"].value));
}

TEST(RunRecordJson, RejectsBadInputNamingFileFieldAndReason) {
  EXPECT_EQ(ParseError("[]"), "base.json: (top level): expected an object");
  EXPECT_NE(ParseError("{").find("base.json: (syntax): "), std::string::npos);
  // A number beyond double's range (found by fuzz_run_record: it escaped as out_of_range).
  EXPECT_NE(ParseError("{\"fo\": 7e7767}").find("base.json: (syntax): "), std::string::npos);
  EXPECT_EQ(ParseError(Edited("ksim-run-record/v1", "ksim-run-record/v9")),
            "base.json: format: is \"ksim-run-record/v9\", this ksim reads \"ksim-run-record/v1\"");
  EXPECT_EQ(ParseError(Edited("\"verdict\": \"fail\"", "\"verdict\": \"failed\"")),
            "base.json: seeds[1].verdict: expected one of pass, fail, error");
  EXPECT_EQ(ParseError(Edited("\"when\": \"eventually\"", "\"when\": \"sometimes\"")),
            "base.json: seeds[0].expectations[1].when: expected one of always, eventually, atEnd");
  EXPECT_EQ(ParseError(Edited("\"passed\": true", "\"passed\": 1")),
            "base.json: seeds[0].expectations[0].passed: expected true or false");
  EXPECT_EQ(ParseError(Edited("\"seed\": 7", "\"seed\": -7")), "base.json: seeds[0].seed: expected a non-negative integer");
  EXPECT_EQ(ParseError(Edited("\"seed\": 7", "\"seed\": 7, \"sead\": 1")), "base.json: seeds[0].sead: unknown key");
  EXPECT_EQ(ParseError(Edited("\"scenario_name\"", "\"scenario\"")), "base.json: scenario_name: required key missing");
  EXPECT_EQ(ParseError(Edited("\"start_ns\": 20000000000", "\"start_ns\": 60000000000")),
            "base.json: seeds[0].faults[0].end_ns: before start_ns");
  EXPECT_EQ(ParseError(Edited("\"count\": 9", "\"count\": 10")),
            "base.json: seeds[0].histograms.pod startup latency.count: is not the sum of counts (9)");
  EXPECT_EQ(ParseError(Edited("\"value\": 2.0", "\"value\": \"two\"")),
            "base.json: seeds[0].metrics.elections.value: expected a number (or \"nan\", \"inf\", \"-inf\")");
  EXPECT_EQ(ParseError(Edited("\"better\": \"higher\"", "\"better\": \"more\"")),
            "base.json: seeds[0].metrics.ready pods at end.better: expected one of lower, higher, neither");
  EXPECT_EQ(ParseError(Edited("\"fault.crash\": 1", "\"fault.crash\": 1.5")),
            "base.json: seeds[0].coverage.fault.crash: expected a non-negative integer");
}

TEST(RunRecordJson, ReadFileReportsAMissingFile) {
  std::string error;
  EXPECT_FALSE(ReadRunRecordFile("/nonexistent/ksim/base.json", &error).has_value());
  EXPECT_EQ(error.rfind("/nonexistent/ksim/base.json: cannot open: ", 0), 0u) << error;
}

TEST(RunRecordJson, ReadFileRefusesAFileBeyondTheLimit) {
  // A sparse file: 1 GiB + 1 byte of size, no disk used.
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("ksim_huge_record_" + std::to_string(getpid()) + ".json");
  { std::ofstream create(path); }
  std::filesystem::resize_file(path, (uint64_t{1} << 30) + 1);
  std::string error;
  EXPECT_FALSE(ReadRunRecordFile(path.string(), &error).has_value());
  std::filesystem::remove(path);
  EXPECT_EQ(error, path.string() + ": larger than 1 GiB, the limit for a run record");
}

}  // namespace
}  // namespace ksim::reports
