// FormatScenario: what it writes loads back to the same values (write(load(write(x))) is
// write(x)), for the file with every key and for every example.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "scenarios/scenario_fields.h"
#include "scenarios/scenario_loader.h"
#include "scenarios/scenario_writer.h"
#include "tests/scenarios/scenario_test_files.h"

namespace ksim::scenarios {
namespace {

Scenario Reload(const Scenario& s, std::string* written) {
  *written = FormatScenario(s);
  Scenario again;
  const Status status = ParseScenario(*written, "written.yaml", "", &again);
  EXPECT_TRUE(status.ok()) << status.message() << "\n" << *written;
  return again;
}

TEST(ScenarioWriter, TheFullFileRoundTrips) {
  Scenario s;
  ASSERT_TRUE(ParseScenario(testing::kFullScenario, "t.yaml", "", &s).ok());
  std::string written;
  const Scenario again = Reload(s, &written);
  EXPECT_EQ(FormatScenario(again), written);
  // A few values directly (the fixpoint alone would pass a writer that drops a field).
  EXPECT_EQ(again.name, "full");
  EXPECT_EQ(again.phases.liveness, Seconds(120));
  EXPECT_EQ(again.cluster.control_plane.controller_managers, 0);
  EXPECT_EQ(again.cluster.worker_groups[0].taints[0].value, "web");
  EXPECT_DOUBLE_EQ(again.cluster.network.duplicate, 0.002);
  EXPECT_EQ(again.workload[0].text, s.workload[0].text);
  // One entry per fault: the restart of cp-1 (4 processes), powerOff of "web" (2), ...
  size_t faults = 0;
  size_t api = 0;
  for (const TimelineEntry& e : s.timeline) (e.is_fault ? faults += e.faults.size() : ++api);
  EXPECT_EQ(again.timeline.size(), faults + api);
  std::vector<std::string> before;
  std::vector<std::string> after;
  for (const TimelineEntry& e : s.timeline) {
    for (const faults::Fault& f : e.faults) before.push_back(FormatScenarioDuration(e.at) + " " + f.Describe());
  }
  for (const TimelineEntry& e : again.timeline) {
    for (const faults::Fault& f : e.faults) after.push_back(FormatScenarioDuration(e.at) + " " + f.Describe());
  }
  EXPECT_EQ(before, after);
  EXPECT_EQ(again.timeline[4].api.patch_json, R"({"spec":{"paused":true}})");
  EXPECT_EQ(again.nemesis[1].mean_interval, Seconds(15));
  EXPECT_EQ(again.expectations.size(), 6u);
  EXPECT_EQ(again.expectations[3].params.at("node").text, "worker-3");
  EXPECT_EQ(again.swarm[1].max, 60e9);
}

// A writer that drops a field still reaches a fixpoint; so every key the loader knows must
// be in what it writes for the file that uses them all.
TEST(ScenarioWriter, WritesEveryKey) {
  Scenario s;
  ASSERT_TRUE(ParseScenario(testing::kFullScenario, "t.yaml", "", &s).ok());
  const std::string written = FormatScenario(s);
  for (const ObjectSpec& spec : ObjectSpecs()) {
    for (const KeySpec& key : spec.keys) {
      // Manifests are written inline, and a nemesis rate as `every`.
      if (key.key == "path" && (spec.name == "manifest" || spec.name == "action.apply")) continue;
      if (key.key == "perMinute") continue;
      EXPECT_NE(written.find(std::string(key.key) + ":"), std::string::npos) << spec.name << "." << key.key;
    }
  }
  for (const ActionSpec& action : ActionSpecs()) {
    EXPECT_NE(written.find(std::string(action.key) + ":"), std::string::npos) << action.key;
  }
}

TEST(ScenarioWriter, EveryExampleRoundTrips) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(KSIM_EXAMPLES_DIR)) {
    if (e.path().extension() == ".yaml") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    Scenario s;
    ASSERT_TRUE(LoadScenarioFile(file.string(), &s).ok()) << file;
    std::string written;
    const Scenario again = Reload(s, &written);
    EXPECT_EQ(FormatScenario(again), written) << file;
    ASSERT_EQ(again.workload.size(), s.workload.size());
    for (size_t i = 0; i < s.workload.size(); ++i) EXPECT_EQ(again.workload[i].text, s.workload[i].text) << file;
  }
}

TEST(ScenarioWriter, AwkwardStringsStayStrings) {
  Scenario s;
  ASSERT_TRUE(ParseScenario(testing::kFullScenario, "t.yaml", "", &s).ok());
  s.description = "yes\n  \"quoted\" : # not a comment\ttab";
  s.cluster.worker_groups[0].labels = {{"true", "123"}, {"null", ""}, {"0o17", ".inf"}, {"zone", "0x1F"}};
  s.workload[0].text = "apiVersion: v1\nkind: ConfigMap\n\n\n";  // a literal block would lose the blank lines
  std::string written;
  const Scenario again = Reload(s, &written);
  EXPECT_EQ(again.description, s.description);
  EXPECT_EQ(again.cluster.worker_groups[0].labels, s.cluster.worker_groups[0].labels);
  EXPECT_EQ(again.workload[0].text, s.workload[0].text);
}

}  // namespace
}  // namespace ksim::scenarios
