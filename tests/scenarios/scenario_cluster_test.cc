// A scenario's cluster as SimClusterOptions: every example gives options SimCluster
// accepts, and each field lands where SimCluster reads it.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "scenarios/scenario_cluster.h"
#include "scenarios/scenario_loader.h"
#include "tests/scenarios/scenario_test_files.h"

namespace ksim::scenarios {
namespace {

TEST(ScenarioCluster, EveryExampleGivesValidSimClusterOptions) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(KSIM_EXAMPLES_DIR)) {
    if (e.path().extension() == ".yaml") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());
  for (const auto& file : files) {
    Scenario s;
    ASSERT_TRUE(LoadScenarioFile(file.string(), &s).ok()) << file;
    const SimClusterOptions o = ToSimClusterOptions(s, 7);
    const Status valid = ValidateSimClusterOptions(o);
    EXPECT_TRUE(valid.ok()) << file << ": " << valid.message();
    EXPECT_EQ(o.workers, s.cluster.workers()) << file;
    EXPECT_EQ(o.worker_specs.size(), static_cast<size_t>(o.workers)) << file;
  }
}

TEST(ScenarioCluster, FieldsLandWhereSimClusterReadsThem) {
  Scenario s;
  ASSERT_TRUE(ParseScenario(testing::kFullScenario, "t.yaml", "", &s).ok());
  const SimClusterOptions o = ToSimClusterOptions(s, 42);
  EXPECT_EQ(o.seed, 42u);
  EXPECT_EQ(o.control_plane, 3);
  EXPECT_EQ(o.workers, 3);
  EXPECT_TRUE(o.scheduler);
  EXPECT_FALSE(o.controller_manager);  // controllerManagers: 0
  EXPECT_TRUE(o.service_network);
  EXPECT_EQ(o.link.latency_min, Milliseconds(1));
  EXPECT_EQ(o.link.latency_jitter, Microseconds(500));
  EXPECT_DOUBLE_EQ(o.link.loss, 0.01);
  EXPECT_DOUBLE_EQ(o.link.duplicate, 0.002);
  EXPECT_DOUBLE_EQ(o.link.reorder, 0.05);
  ASSERT_EQ(o.worker_specs.size(), 3u);
  EXPECT_EQ(o.worker_specs[0].cpu, "2500m");
  EXPECT_EQ(o.worker_specs[0].memory, "8Gi");
  EXPECT_EQ(o.worker_specs[0].pods, 50);
  EXPECT_EQ(o.worker_specs[0].zone, "a");
  EXPECT_EQ(o.worker_specs[1].zone, "b");
  EXPECT_EQ(o.worker_specs[1].labels.at("tier"), "web");
  EXPECT_EQ(o.worker_specs[2].cpu, "4");  // the db group's defaults
  EXPECT_EQ(o.worker_specs[2].zone, "");
  const auto taints = ScenarioTaints(s);
  ASSERT_EQ(taints.size(), 2u);
  EXPECT_EQ(taints[0].first, "worker-1");
  EXPECT_EQ(taints[1].first, "worker-2");
  EXPECT_EQ(taints[1].second.key, "dedicated");
}

}  // namespace
}  // namespace ksim::scenarios
