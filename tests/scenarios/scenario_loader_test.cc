// The scenario loader: a file with every key loads to the values it says, the examples
// load, manifests by path, host names and selectors, durations, and the limits.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "scenarios/scenario_loader.h"
#include "tests/scenarios/scenario_test_files.h"

namespace ksim::scenarios {
namespace {

using testing::kFullScenario;
using FK = faults::FaultKind;

Scenario MustParse(const std::string& text, const std::string& base_dir = "") {
  Scenario s;
  Status status = ParseScenario(text, "t.yaml", base_dir, &s);
  EXPECT_TRUE(status.ok()) << status.message();
  return s;
}

std::string ParseError(const std::string& text, const ScenarioLimits& limits = {}, const std::string& base_dir = "") {
  Scenario s;
  Status status = ParseScenario(text, "t.yaml", base_dir, &s, limits);
  EXPECT_FALSE(status.ok());
  EXPECT_TRUE(status.Is(Status::Code::kInvalidArgument));
  return status.message();
}

const std::string kMinimal =
    "apiVersion: ksim.io/v1alpha1\nkind: Scenario\nname: m\nduration: 1m\ncluster:\n  workerGroups: [{name: w, count: 2}]\n";

TEST(ScenarioLoader, FullFileLoadsEveryValue) {
  const Scenario s = MustParse(kFullScenario);
  EXPECT_EQ(s.name, "full");
  EXPECT_EQ(s.description, "every key");
  EXPECT_EQ(s.duration, Seconds(600));
  EXPECT_EQ(s.phases.safety, Seconds(480));
  EXPECT_EQ(s.phases.liveness, Seconds(120));
  const ClusterSpec& c = s.cluster;
  EXPECT_EQ(c.control_plane.hosts, 3);
  EXPECT_EQ(c.control_plane.schedulers, 3);
  EXPECT_EQ(c.control_plane.controller_managers, 0);
  ASSERT_EQ(c.worker_groups.size(), 2u);
  EXPECT_EQ(c.workers(), 3);
  const WorkerGroup& web = c.worker_groups[0];
  EXPECT_EQ(web.cpu, "2500m");
  EXPECT_EQ(web.memory, "8Gi");
  EXPECT_EQ(web.pods, 50);
  EXPECT_EQ(web.labels.at("tier"), "web");
  ASSERT_EQ(web.taints.size(), 1u);
  EXPECT_EQ(web.taints[0].effect, "NoSchedule");
  EXPECT_EQ(web.zones, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(web.first_worker, 1);
  EXPECT_EQ(c.worker_groups[1].first_worker, 3);
  EXPECT_EQ(c.worker_groups[1].cpu, "4");  // defaults
  EXPECT_EQ(c.network.latency, Milliseconds(1));
  EXPECT_EQ(c.network.jitter, Microseconds(500));
  EXPECT_DOUBLE_EQ(c.network.loss, 0.01);
  EXPECT_DOUBLE_EQ(c.network.reorder, 0.05);
  ASSERT_EQ(s.workload.size(), 1u);
  EXPECT_EQ(s.workload[0].source, "t.yaml:22");
  EXPECT_EQ(s.workload[0].text, "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n");

  ASSERT_EQ(s.timeline.size(), 33u);
  // Sorted by time: the cordon at 5s (last in the file) comes first.
  EXPECT_EQ(s.timeline[0].action, ActionKind::kCordon);
  EXPECT_EQ(s.timeline[0].api.node, "worker-2");  // web-2
  EXPECT_EQ(s.timeline[0].pos.line, 64);
  EXPECT_EQ(s.timeline[1].action, ActionKind::kApply);
  EXPECT_NE(s.timeline[1].api.manifest.text.find("kind: ConfigMap"), std::string::npos);
  auto at = [&](int seconds) -> const TimelineEntry& {
    for (const TimelineEntry& e : s.timeline) {
      if (e.at == Seconds(seconds)) return e;
    }
    ADD_FAILURE() << "no entry at " << seconds;
    return s.timeline[0];
  };
  EXPECT_EQ(at(12).api.kind, "StatefulSet");
  EXPECT_EQ(at(12).api.replicas, 3);
  EXPECT_EQ(at(13).api.patch_type, "merge");
  EXPECT_EQ(at(13).api.patch_json, R"({"spec":{"paused":true}})");
  EXPECT_EQ(at(16).api.node, "worker-3");
  EXPECT_EQ(at(16).api.grace_period, Seconds(5));
  ASSERT_EQ(at(17).faults.size(), 1u);
  EXPECT_EQ(at(17).faults[0].Describe(), "crash cp-1/apiserver");
  // restart of a host: every process it runs (no controller-manager in this cluster).
  std::vector<std::string> restarted;
  for (const faults::Fault& f : at(18).faults) restarted.push_back(f.Describe());
  EXPECT_EQ(restarted, (std::vector<std::string>{"restart cp-1/store", "restart cp-1/apiserver",
                                                  "restart cp-1/scheduler", "restart cp-1/coredns"}));
  ASSERT_EQ(at(19).faults.size(), 2u);  // the group "web"
  EXPECT_EQ(at(19).faults[1].host, "worker-2");
  EXPECT_EQ(at(23).faults[0].Describe(), "partition [cp-1 worker-1] | [cp-2 cp-3]");
  EXPECT_EQ(at(25).faults[0].Describe(), "one-way [cp-1] -/-> [cp-2 cp-3]");
  EXPECT_EQ(at(26).faults[0].Describe(), "bridge [cp-1] | [cp-3] via cp-2");
  EXPECT_EQ(at(27).faults[0].kind, FK::kHeal);
  EXPECT_EQ(at(28).faults[0].amount, Seconds(-2));
  EXPECT_EQ(at(29).faults[0].amount, Seconds(60));
  EXPECT_EQ(at(30).faults.size(), 3u);
  EXPECT_EQ(at(30).faults[0].ppm, -200);
  EXPECT_EQ(at(31).faults.size(), 3u);
  EXPECT_EQ(at(31).faults[2].amount, Milliseconds(20));
  EXPECT_DOUBLE_EQ(at(32).faults[0].rate, 0.1);
  EXPECT_EQ(at(33).faults.size(), 6u);  // all = control plane + workers
  EXPECT_DOUBLE_EQ(at(34).faults[0].duplicate, 0.05);
  EXPECT_EQ(at(36).faults[0].Describe(), "container-crash worker-1 default/web-0/web exit=3");
  EXPECT_EQ(at(37).faults[0].image, "nginx:1.26");
  EXPECT_EQ(at(39).faults[0].cpu_millis, 1500);
  EXPECT_EQ(at(40).faults[0].kind, FK::kCpuLoadClear);
  EXPECT_EQ(s.timeline.back().at, Seconds(540));

  ASSERT_EQ(s.nemesis.size(), 2u);
  EXPECT_EQ(s.nemesis[0].name, "crashes");
  EXPECT_EQ(s.nemesis[0].faults, (std::vector<ActionKind>{ActionKind::kCrash, ActionKind::kPartition}));
  EXPECT_EQ(s.nemesis[0].targets, (std::vector<std::string>{"cp-1", "cp-2", "cp-3", "worker-3"}));
  EXPECT_EQ(s.nemesis[0].fault_duration, Seconds(5));
  EXPECT_TRUE(s.nemesis[0].must_fire);
  EXPECT_EQ(s.nemesis[1].name, "nemesis[1]");
  EXPECT_EQ(s.nemesis[1].mean_interval, Seconds(15));
  EXPECT_EQ(s.nemesis[1].targets.size(), 6u);

  ASSERT_EQ(s.expectations.size(), 6u);
  EXPECT_EQ(s.expectations[1].name, "rollingUpdateBounds");
  EXPECT_EQ(s.expectations[1].params.at("namespace").text, "default");  // default filled in
  EXPECT_EQ(s.expectations[2].when, Expectation::When::kEventually);
  EXPECT_EQ(s.expectations[2].within, Seconds(90));
  EXPECT_EQ(s.expectations[2].params.at("replicas").integer, 2);
  EXPECT_EQ(s.expectations[3].params.at("node").text, "worker-3");
  EXPECT_EQ(s.expectations[4].when, Expectation::When::kAtEnd);
  EXPECT_TRUE(s.expectations[4].params.empty());
  EXPECT_FALSE(s.expectations[5].params.at("ready").boolean);

  ASSERT_EQ(s.swarm.size(), 3u);
  EXPECT_EQ(s.swarm[0].field, SwarmRange::Field::kWorkerGroupCount);
  EXPECT_EQ(s.swarm[0].index, 1);
  EXPECT_EQ(s.swarm[0].max, 4);
  EXPECT_EQ(s.swarm[1].field, SwarmRange::Field::kNemesisEvery);
  EXPECT_EQ(s.swarm[1].min, 10e9);
  EXPECT_EQ(s.swarm[2].choices, (std::vector<double>{0, 0.05}));
}

TEST(ScenarioLoader, ParsingTwiceGivesTheSameScenario) {
  const Scenario a = MustParse(kFullScenario);
  const Scenario b = MustParse(kFullScenario);
  ASSERT_EQ(a.timeline.size(), b.timeline.size());
  for (size_t i = 0; i < a.timeline.size(); ++i) {
    ASSERT_EQ(a.timeline[i].faults.size(), b.timeline[i].faults.size());
    for (size_t k = 0; k < a.timeline[i].faults.size(); ++k) {
      EXPECT_EQ(a.timeline[i].faults[k].Describe(), b.timeline[i].faults[k].Describe());
    }
  }
}

TEST(ScenarioLoader, EveryExampleLoads) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(KSIM_EXAMPLES_DIR)) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 3u);
  for (const auto& file : files) {
    Scenario s;
    Status status = LoadScenarioFile(file.string(), &s);
    EXPECT_TRUE(status.ok()) << status.message();
    EXPECT_EQ(s.name + ".yaml", file.filename().string());  // the file is named for the scenario
    EXPECT_FALSE(s.expectations.empty()) << file;
  }
}

TEST(ScenarioLoader, DefaultsWithoutPhasesOrOptionalSections) {
  const Scenario s = MustParse(kMinimal);
  EXPECT_EQ(s.duration, Seconds(60));
  EXPECT_EQ(s.phases.safety, Seconds(60));
  EXPECT_EQ(s.phases.liveness, Nanos(0));
  EXPECT_EQ(s.cluster.control_plane.hosts, 3);
  EXPECT_EQ(s.cluster.control_plane.controller_managers, 3);
  EXPECT_TRUE(s.cluster.service_network);
  EXPECT_EQ(s.cluster.network.latency, Microseconds(100));
  EXPECT_TRUE(s.timeline.empty());
}

class ScenarioFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ksim_scenario_test_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "m");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name) << text; }
  std::filesystem::path dir_;
};

TEST_F(ScenarioFiles, ManifestByPathIsReadRelativeToTheFile) {
  const std::string manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n";
  Write("m/cm.yaml", manifest);
  Write("s.yaml", kMinimal + "workload:\n- path: m/cm.yaml\ntimeline:\n- {at: 5s, apply: {path: m/cm.yaml}}\n");
  Scenario s;
  Status status = LoadScenarioFile((dir_ / "s.yaml").string(), &s);
  ASSERT_TRUE(status.ok()) << status.message();
  ASSERT_EQ(s.workload.size(), 1u);
  EXPECT_EQ(s.workload[0].text, manifest);  // unchanged, both documents
  EXPECT_EQ(s.workload[0].source, (dir_ / "m/cm.yaml").string());
  EXPECT_EQ(s.timeline[0].api.manifest.text, manifest);
}

TEST_F(ScenarioFiles, ManifestPathErrors) {
  const std::string base = dir_.string();
  EXPECT_EQ(ParseError(kMinimal + "workload:\n- path: m/none.yaml\n", {}, base),
            "t.yaml:8:9: workload[0].path: no file " + base + "/m/none.yaml");
  EXPECT_EQ(ParseError(kMinimal + "workload:\n- path: /etc/hosts\n", {}, base),
            "t.yaml:8:9: workload[0].path: must be a path relative to the scenario file");
  Write("m/bad.yaml", "apiVersion: v1\nkind: [\n");
  const std::string bad = "t.yaml:8:9: workload[0].path: " + base + "/m/bad.yaml:3: invalid YAML: ";
  EXPECT_EQ(ParseError(kMinimal + "workload:\n- path: m/bad.yaml\n", {}, base).substr(0, bad.size()), bad);
  Write("m/nokind.yaml", "apiVersion: v1\n---\nmetadata: {}\n");
  EXPECT_EQ(ParseError(kMinimal + "workload:\n- path: m/nokind.yaml\n", {}, base),
            "t.yaml:8:9: workload[0].path: " + base + "/m/nokind.yaml:1: a document without apiVersion and kind");
  Write("m/big.yaml", "apiVersion: v1\nkind: ConfigMap\ndata: {a: " + std::string(200, 'x') + "}\n");
  ScenarioLimits limits;
  limits.max_manifest_bytes = 100;
  EXPECT_EQ(ParseError(kMinimal + "workload:\n- path: m/big.yaml\n", limits, base),
            "t.yaml:8:9: workload[0].path: " + base + "/m/big.yaml is larger than 100 bytes");
}

TEST_F(ScenarioFiles, LoadScenarioFileErrorsNameTheFile) {
  Scenario s;
  const std::string missing = (dir_ / "none.yaml").string();
  EXPECT_EQ(LoadScenarioFile(missing, &s).message(), missing + ":1:1: no such file");
}

TEST(ScenarioLoader, Limits) {
  ScenarioLimits limits;
  limits.max_file_bytes = 64;
  EXPECT_EQ(ParseError(kMinimal, limits), "t.yaml:1:1: file is larger than 64 bytes");
  limits = {};
  limits.max_timeline_entries = 2;
  EXPECT_EQ(ParseError(kMinimal + "timeline: [{at: 1s, heal: }, {at: 2s, heal: }, {at: 3s, heal: }]\n", limits),
            "t.yaml:7:11: timeline: more than 2 entries");
  limits = {};
  limits.max_workers = 5;
  EXPECT_EQ(ParseError("apiVersion: ksim.io/v1alpha1\nkind: Scenario\nname: m\nduration: 1m\ncluster:\n"
                       "  workerGroups: [{name: a, count: 4}, {name: b, count: 2}]\n",
                       limits),
            "t.yaml:6:39: cluster.workerGroups[1].count: more than 5 workers in the cluster");
  limits = {};
  limits.max_nemesis = 1;
  EXPECT_EQ(ParseError(kMinimal + "nemesis: [{faults: [crash]}, {faults: [pause]}]\n", limits),
            "t.yaml:7:10: nemesis: more than 1 entries");
  limits = {};
  limits.max_total_manifest_bytes = 100;
  const std::string cm = "    apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: abcdefghijklmnop}\n";
  EXPECT_EQ(ParseError(kMinimal + "workload:\n- inline: |\n" + cm + "- inline: |\n" + cm, limits),
            "t.yaml:12:11: workload[1].inline: manifests total more than 100 bytes");
  limits = {};
  limits.max_manifests = 1;
  EXPECT_EQ(ParseError(kMinimal + "workload:\n- inline: |\n" + cm + "timeline:\n- at: 1s\n  apply:\n    inline: |\n" +
                           "  " + cm.substr(0, 22) + "\n",
                       limits),
            "t.yaml:15:5: timeline[0].apply: more than 1 manifests in the file");
  limits = {};
  limits.max_string_bytes = 20;
  EXPECT_EQ(ParseError(kMinimal + "expectations: {always: [rollingUpdateBounds: {deployment: abcdefghijklmnopqrstu}]}\n",
                       limits),
            "t.yaml:7:59: expectations.always[0].rollingUpdateBounds.deployment: longer than 20 bytes");
}

TEST(ScenarioDuration, ParsesAndFormatsLikeGo) {
  struct Case {
    std::string text;
    int64_t nanos;
    std::string formatted;
  };
  for (const Case& c : std::vector<Case>{{"30s", 30000000000, "30s"},
                                         {"1m30s", 90000000000, "1m30s"},
                                         {"250ms", 250000000, "250ms"},
                                         {"1.5h", 5400000000000, "1h30m"},
                                         {"2h3m4.5s", 7384500000000, "2h3m4.5s"},
                                         {"0", 0, "0s"},
                                         {"15us", 15000, "15us"},
                                         {"7ns", 7, "7ns"},
                                         {".5s", 500000000, "500ms"}}) {
    Nanos d{-1};
    ASSERT_TRUE(ParseScenarioDuration(c.text, false, &d)) << c.text;
    EXPECT_EQ(d.count(), c.nanos) << c.text;
    EXPECT_EQ(FormatScenarioDuration(d), c.formatted);
    Nanos again{-1};
    ASSERT_TRUE(ParseScenarioDuration(FormatScenarioDuration(d), false, &again));
    EXPECT_EQ(again, d);
  }
  Nanos d{0};
  EXPECT_TRUE(ParseScenarioDuration("-2s", true, &d));
  EXPECT_EQ(d, Seconds(-2));
  EXPECT_EQ(FormatScenarioDuration(d), "-2s");
  for (std::string bad : {"", "30", "s", "1.s5", "-2s", "3 s", "1d", "99999999999h", "1e3s", "."}) {
    EXPECT_FALSE(ParseScenarioDuration(bad, false, &d)) << bad;
  }
}

}  // namespace
}  // namespace ksim::scenarios
