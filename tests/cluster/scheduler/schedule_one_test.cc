// The one-pod algorithm with stand-in plugins: how many nodes are searched (Kubernetes'
// numFeasibleNodesToFind), the rotating start, weighted scores, seeded tie-breaks, the fit
// error's wording, and nominated pods holding the room preemption made.
#include <gtest/gtest.h>

#include "cluster/scheduler/framework/schedule_one.h"
#include "tests/cluster/scheduler/scheduler_testing.h"

namespace ksim::scheduler::testing {
namespace {

// Rejects nodes whose name is listed, with a reason.
class RejectNamed : public FilterPlugin {
 public:
  RejectNamed(std::string name, std::map<std::string, std::string> reject, Code code = Code::kUnschedulable)
      : name_(std::move(name)), reject_(std::move(reject)), code_(code) {}
  std::string_view Name() const override { return name_; }
  PluginStatus Filter(const CycleState&, const PodInfo&, const NodeInfo& node) const override {
    auto it = reject_.find(node.name());
    if (it == reject_.end()) return PluginStatus::Success();
    return PluginStatus(code_, it->second);
  }

 private:
  std::string name_;
  std::map<std::string, std::string> reject_;
  Code code_;
};

// Rejects a node once it holds `max_pods` pods (to see nominated pods counted).
class MaxPods : public FilterPlugin {
 public:
  explicit MaxPods(size_t max_pods) : max_pods_(max_pods) {}
  std::string_view Name() const override { return "MaxPods"; }
  PluginStatus Filter(const CycleState&, const PodInfo&, const NodeInfo& node) const override {
    if (node.pods().size() >= max_pods_) return PluginStatus(Code::kUnschedulable, "Too many pods");
    return PluginStatus::Success();
  }

 private:
  size_t max_pods_;
};

// Scores each node from a table (default 0).
class TableScore : public ScorePlugin {
 public:
  TableScore(std::string name, std::map<std::string, int64_t> scores) : name_(std::move(name)), scores_(std::move(scores)) {}
  std::string_view Name() const override { return name_; }
  int64_t Score(const CycleState&, const PodInfo&, const NodeInfo& node, PluginStatus*) const override {
    auto it = scores_.find(node.name());
    return it == scores_.end() ? 0 : it->second;
  }

 private:
  std::string name_;
  std::map<std::string, int64_t> scores_;
};

PluginRegistry RegistryWith(std::map<std::string, std::function<std::unique_ptr<Plugin>()>> makers) {
  PluginRegistry r;
  for (auto& [name, make] : makers) {
    r.Register(name, [make](const nlohmann::json&, std::unique_ptr<Plugin>* out) {
      *out = make();
      return Status::Ok();
    });
  }
  return r;
}

std::unique_ptr<Framework> MakeFramework(const PluginRegistry& registry, std::vector<std::string> filters,
                                         std::vector<ScorePluginRef> scores, int32_t percentage = 0) {
  ProfileConfig config;
  config.filter = std::move(filters);
  config.score = std::move(scores);
  config.percentage_of_nodes_to_score = percentage;
  std::unique_ptr<Framework> fw;
  Status s = Framework::Create(config, registry, &fw);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return fw;
}

Snapshot Nodes(int n) {
  std::vector<std::shared_ptr<const NodeData>> nodes;
  for (int i = 0; i < n; ++i) nodes.push_back(SimpleNode("node-" + std::to_string(1000 + i)));
  return Snapshot::Of(nodes, {});
}

TEST(NumFeasibleNodesToFind, FollowsKubernetesAdaptivePercentage) {
  EXPECT_EQ(NumFeasibleNodesToFind(50, 0), 50u);      // below 100: all
  EXPECT_EQ(NumFeasibleNodesToFind(100, 0), 100u);    // 50% of 100 = 50 -> at least 100
  EXPECT_EQ(NumFeasibleNodesToFind(200, 0), 100u);    // 49% of 200 = 98 -> at least 100
  EXPECT_EQ(NumFeasibleNodesToFind(1000, 0), 420u);   // 50 - 8 = 42%
  EXPECT_EQ(NumFeasibleNodesToFind(5000, 0), 500u);   // 50 - 40 = 10%
  EXPECT_EQ(NumFeasibleNodesToFind(10000, 0), 500u);  // floor of 5%
  EXPECT_EQ(NumFeasibleNodesToFind(5000, 100), 5000u);
  EXPECT_EQ(NumFeasibleNodesToFind(5000, 30), 1500u);
}

TEST(NumFeasibleNodesToFind, HundredPercentOfFewNodesStillMeansAll) {
  EXPECT_EQ(NumFeasibleNodesToFind(100, 1), 100u);
}

TEST(SchedulePod, HighestWeightedScoreWins) {
  auto registry = RegistryWith({
      {"A", [] { return std::make_unique<TableScore>("A", std::map<std::string, int64_t>{{"node-1000", 100}}); }},
      {"B", [] { return std::make_unique<TableScore>("B", std::map<std::string, int64_t>{{"node-1001", 60}}); }},
  });
  auto fw = MakeFramework(registry, {}, {{"A", 1}, {"B", 2}});  // 100*1 vs 60*2
  Snapshot snap = Nodes(3);
  auto pod = SimplePod("p");
  ScheduleCursor cursor(Random(7));
  ScheduleResult result;
  Diagnosis diag;
  CycleState state = fw->NewCycleState();
  PluginStatus s = SchedulePod(*fw, snap, *pod, state, cursor, &result, &diag);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(result.node, "node-1001");
  EXPECT_EQ(result.score, 120);
}

TEST(SchedulePod, OutOfRangeScoreIsAnError) {
  auto registry = RegistryWith(
      {{"A", [] { return std::make_unique<TableScore>("A", std::map<std::string, int64_t>{{"node-1000", 101}}); }}});
  auto fw = MakeFramework(registry, {}, {{"A", 1}});
  Snapshot snap = Nodes(2);
  ScheduleCursor cursor(Random(1));
  ScheduleResult result;
  Diagnosis diag;
  CycleState state = fw->NewCycleState();
  PluginStatus s = SchedulePod(*fw, snap, *SimplePod("p"), state, cursor, &result, &diag);
  EXPECT_EQ(s.code(), Code::kError);
  EXPECT_EQ(s.plugin(), "A");
}

TEST(SchedulePod, TiesAreBrokenBySeedAndReplay) {
  PluginRegistry registry = RegistryWith({{"Zero", [] { return std::make_unique<TableScore>("Zero", std::map<std::string, int64_t>{}); }}});
  auto fw = MakeFramework(registry, {}, {{"Zero", 1}});
  Snapshot snap = Nodes(20);
  auto placements = [&](uint64_t seed) {
    ScheduleCursor cursor{Random(seed)};
    std::vector<std::string> out;
    for (int i = 0; i < 30; ++i) {
      ScheduleResult result;
      Diagnosis diag;
      CycleState state = fw->NewCycleState();
      EXPECT_TRUE(SchedulePod(*fw, snap, *SimplePod("p"), state, cursor, &result, &diag).ok());
      out.push_back(result.node);
    }
    return out;
  };
  EXPECT_EQ(placements(42), placements(42));
  EXPECT_NE(placements(42), placements(43));
  std::set<std::string> distinct;
  for (const auto& n : placements(42)) distinct.insert(n);
  EXPECT_GT(distinct.size(), 5u);  // ties spread, not always the first node
}

TEST(SchedulePod, SearchStopsAtEnoughFeasibleNodesAndRotates) {
  PluginRegistry registry;
  auto fw = MakeFramework(registry, {}, {}, /*percentage=*/10);
  Snapshot snap = Nodes(2000);  // 10% = 200 nodes per cycle
  ScheduleCursor cursor(Random(3));
  ScheduleResult first;
  ScheduleResult second;
  Diagnosis diag;
  CycleState s1 = fw->NewCycleState();
  ASSERT_TRUE(SchedulePod(*fw, snap, *SimplePod("p"), s1, cursor, &first, &diag).ok());
  EXPECT_EQ(first.evaluated_nodes, 200u);
  EXPECT_EQ(first.feasible_nodes, 200u);
  size_t start_after_first = cursor.next_start_index;
  CycleState s2 = fw->NewCycleState();
  ASSERT_TRUE(SchedulePod(*fw, snap, *SimplePod("q"), s2, cursor, &second, &diag).ok());
  EXPECT_EQ(cursor.next_start_index, (start_after_first + 200) % 2000);
}

TEST(SchedulePod, FitErrorCountsReasonsInKubernetesWords) {
  auto registry = RegistryWith({
      {"NodeResourcesFit",
       [] {
         return std::make_unique<RejectNamed>(
             "NodeResourcesFit", std::map<std::string, std::string>{{"node-1000", "Insufficient cpu"},
                                                                    {"node-1001", "Insufficient cpu"},
                                                                    {"node-1002", "Insufficient cpu"}});
       }},
      {"TaintToleration",
       [] {
         return std::make_unique<RejectNamed>(
             "TaintToleration",
             std::map<std::string, std::string>{{"node-1003", "node(s) had untolerated taint {dedicated: infra}"},
                                                {"node-1004", "node(s) had untolerated taint {dedicated: infra}"}},
             Code::kUnschedulableAndUnresolvable);
       }},
  });
  auto fw = MakeFramework(registry, {"TaintToleration", "NodeResourcesFit"}, {});
  Snapshot snap = Nodes(5);
  ScheduleCursor cursor(Random(1));
  ScheduleResult result;
  Diagnosis diag;
  CycleState state = fw->NewCycleState();
  PluginStatus s = SchedulePod(*fw, snap, *SimplePod("p"), state, cursor, &result, &diag);
  EXPECT_EQ(s.code(), Code::kUnschedulable);  // some nodes might make room by preemption
  EXPECT_TRUE(result.node.empty());
  EXPECT_EQ(FitErrorMessage(diag),
            "0/5 nodes are available: 2 node(s) had untolerated taint {dedicated: infra}, 3 Insufficient cpu.");
  EXPECT_EQ(diag.unschedulable_plugins, (std::set<std::string>{"NodeResourcesFit", "TaintToleration"}));
  diag.post_filter_message = "preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling";
  EXPECT_EQ(FitErrorMessage(diag),
            "0/5 nodes are available: 2 node(s) had untolerated taint {dedicated: infra}, 3 Insufficient cpu. "
            "preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling.");
}

TEST(SchedulePod, NominatedPodsOfHigherPriorityHoldTheirRoom) {
  auto registry = RegistryWith({{"MaxPods", [] { return std::make_unique<MaxPods>(1); }}});
  auto fw = MakeFramework(registry, {"MaxPods"}, {});
  Snapshot snap = Nodes(1);
  NominatedPods nominated;
  auto pod = SimplePod("low");
  auto high = std::make_shared<PodInfo>(*SimplePod("high"));
  high->priority = 100;
  nominated["node-1000"].push_back(high);
  ScheduleCursor cursor(Random(1));
  ScheduleResult result;
  Diagnosis diag;
  CycleState state = fw->NewCycleState();
  EXPECT_FALSE(SchedulePod(*fw, snap, *pod, state, cursor, &result, &diag, &nominated).ok());
  // The nominated pod itself, or one of higher priority, is not held back by it.
  CycleState state2 = fw->NewCycleState();
  EXPECT_TRUE(SchedulePod(*fw, snap, *high, state2, cursor, &result, &diag, &nominated).ok());
}

TEST(Framework, UnknownPluginOrWrongPointIsAClearError) {
  auto registry = RegistryWith({{"Zero", [] { return std::make_unique<TableScore>("Zero", std::map<std::string, int64_t>{}); }}});
  ProfileConfig config;
  config.filter = {"Zero"};
  std::unique_ptr<Framework> fw;
  Status s = Framework::Create(config, registry, &fw);
  EXPECT_EQ(s.message(), "profile \"default-scheduler\": plugin \"Zero\" does not implement filter");
  config.filter = {"Nope"};
  s = Framework::Create(config, registry, &fw);
  EXPECT_EQ(s.message(), "profile \"default-scheduler\": filter: unknown plugin \"Nope\"");
  config.filter.clear();
  config.score = {{"Zero", 0}};
  s = Framework::Create(config, registry, &fw);
  EXPECT_NE(s.message().find("weight 0 is not in 1..100"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace ksim::scheduler::testing
