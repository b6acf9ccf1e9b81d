// The node plugins (cluster/scheduler/plugins): each plugin's verdicts and scores on small
// tables of pods and nodes, following Kubernetes' documented semantics ("Assigning Pods to
// Nodes", "Taints and Tolerations", "Resource Management for Pods and Containers",
// "Resource Bin Packing", "Scheduling Framework") and the behaviour of the in-tree plugins
// of the same names in pkg/scheduler/framework/plugins. Expected scores are worked out by
// hand in the comments. Then the plugins together in a Framework: the fit error in
// Kubernetes' words, and a placement decided by scores.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cluster/env/random.h"
#include "cluster/scheduler/framework/schedule_one.h"
#include "cluster/scheduler/plugins/image_locality.h"
#include "cluster/scheduler/plugins/node_affinity.h"
#include "cluster/scheduler/plugins/node_name.h"
#include "cluster/scheduler/plugins/node_ports.h"
#include "cluster/scheduler/plugins/node_resources_balanced_allocation.h"
#include "cluster/scheduler/plugins/node_resources_fit.h"
#include "cluster/scheduler/plugins/node_unschedulable.h"
#include "cluster/scheduler/plugins/taint_toleration.h"
#include "tests/cluster/scheduler/scheduler_testing.h"

namespace ksim::scheduler::testing {
namespace {

using Factory = Status (*)(const nlohmann::json&, std::unique_ptr<Plugin>*);
using Json = nlohmann::json;

// ---------------------------------------------------------------- helpers

// A plugin from its factory, in slot 0 of a one-plugin cycle state.
std::unique_ptr<Plugin> Make(Factory factory, const Json& args = Json()) {
  std::unique_ptr<Plugin> plugin;
  Status s = factory(args, &plugin);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (plugin != nullptr) plugin->set_slot(0);
  return plugin;
}

// The factory's error for `args` ("" when it accepted them).
std::string ArgsError(Factory factory, const Json& args) {
  std::unique_ptr<Plugin> plugin;
  Status s = factory(args, &plugin);
  if (s.ok()) return "";
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  return s.message();
}

// PreFilter (when the plugin has one) then Filter, as the framework runs them: a PreFilter
// Skip means the node passes; a PreFilter rejection is the verdict.
PluginStatus RunFilter(const Plugin& plugin, const PodInfo& pod, const NodeInfo& node, const Snapshot& snapshot) {
  CycleState state(1);
  if (const auto* pre = dynamic_cast<const PreFilterPlugin*>(&plugin)) {
    PluginStatus s = pre->PreFilter(state, pod, snapshot);
    if (s.IsSkip()) return PluginStatus::Success();
    if (!s.ok()) return s;
  }
  const auto* filter = dynamic_cast<const FilterPlugin*>(&plugin);
  EXPECT_NE(filter, nullptr);
  return filter->Filter(state, pod, *snapshot.Find(node.name()));
}

// Filters `pod` on the snapshot's node `node_name`.
PluginStatus FilterOn(const Plugin& plugin, const PodInfo& pod, const Snapshot& snapshot,
                      const std::string& node_name) {
  const NodeInfo* node = snapshot.Find(node_name);
  EXPECT_NE(node, nullptr) << node_name;
  return RunFilter(plugin, pod, *node, snapshot);
}

struct Scores {
  bool skipped = false;                  // PreScore said Skip (every score counts as 0)
  std::map<std::string, int64_t> raw;    // Score per node
  std::map<std::string, int64_t> final;  // after NormalizeScore
};

// PreScore (when the plugin has one), Score on every node of the snapshot, NormalizeScore.
Scores RunScore(const Plugin& plugin, const PodInfo& pod, const Snapshot& snapshot) {
  Scores out;
  std::vector<const NodeInfo*> nodes;
  for (const auto& n : snapshot.nodes()) nodes.push_back(n.get());
  CycleState state(1);
  if (const auto* pre = dynamic_cast<const PreScorePlugin*>(&plugin)) {
    PluginStatus s = pre->PreScore(state, pod, nodes, snapshot);
    if (s.IsSkip()) {
      out.skipped = true;
      return out;
    }
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  const auto* scorer = dynamic_cast<const ScorePlugin*>(&plugin);
  EXPECT_NE(scorer, nullptr);
  std::vector<int64_t> scores;
  for (const NodeInfo* node : nodes) {
    PluginStatus status;
    scores.push_back(scorer->Score(state, pod, *node, &status));
    EXPECT_TRUE(status.ok()) << status.ToString();
    out.raw[node->name()] = scores.back();
  }
  scorer->NormalizeScore(state, pod, nodes, scores);
  for (size_t i = 0; i < nodes.size(); ++i) out.final[nodes[i]->name()] = scores[i];
  return out;
}

// A node with this allocatable (resource name -> quantity), labels, and YAML for
// spec fields (taints, unschedulable) and status.images.
std::shared_ptr<const NodeData> MakeNode(const std::string& name, const std::map<std::string, std::string>& allocatable,
                                         const std::map<std::string, std::string>& labels = {},
                                         const std::string& spec_yaml = "", const std::string& images_yaml = "") {
  std::string yaml = fmt::format("metadata:\n  name: {}\n", name);
  if (!labels.empty()) {
    yaml += "  labels:\n";
    for (const auto& [k, v] : labels) yaml += fmt::format("    {}: \"{}\"\n", k, v);
  }
  if (!spec_yaml.empty()) yaml += "spec:\n" + spec_yaml;
  yaml += "status:\n  allocatable:\n";
  for (const auto& [k, v] : allocatable) yaml += fmt::format("    {}: \"{}\"\n", k, v);
  if (!images_yaml.empty()) yaml += "  images:\n" + images_yaml;
  return NodeFromYaml(yaml);
}

// A pod whose one container requests `requests` (resource name -> quantity), optionally
// bound to `node`.
PodInfoPtr PodRequesting(const std::string& name, const std::map<std::string, std::string>& requests,
                         const std::string& node = "") {
  auto pod = std::make_shared<api::Pod>();
  pod->mutable_metadata()->set_name(name);
  pod->mutable_metadata()->set_namespace_("default");
  pod->mutable_metadata()->set_uid(name);
  pod->mutable_spec()->set_node_name(node);
  auto* c = pod->mutable_spec()->add_containers();
  c->set_name("c");
  c->set_image("registry.k8s.io/pause:3.9");
  for (const auto& [k, v] : requests) (*c->mutable_resources()->mutable_requests())[k] = v;
  std::shared_ptr<PodInfo> info;
  Status s = PodInfo::Build(pod, &info);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return info;
}

// A pending pod with one container and this YAML under spec (indented two spaces).
PodInfoPtr PodWithSpec(const std::string& spec_yaml) {
  return PodInfoFromYaml("metadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: pause\n" + spec_yaml);
}

bool Registers(const Plugin& plugin, EventResource resource, uint32_t action) {
  ClusterEvent happened{resource, action};
  for (const ClusterEvent& e : plugin.EventsToRegister()) {
    if (e.Matches(happened)) return true;
  }
  return false;
}

Snapshot OneNode(std::shared_ptr<const NodeData> node, std::vector<PodInfoPtr> pods = {}) {
  return Snapshot::Of({std::move(node)}, pods);
}

// ---------------------------------------------------------------- NodeUnschedulable

// Kubernetes: a cordoned node (spec.unschedulable) takes only pods that tolerate the
// node.kubernetes.io/unschedulable:NoSchedule taint, and preemption cannot help.
TEST(NodeUnschedulable, Table) {
  struct Case {
    std::string name;
    bool unschedulable;
    std::string tolerations;  // YAML under spec
    bool fits;
  };
  const std::vector<Case> cases = {
      {"schedulable node, no tolerations", false, "", true},
      {"cordoned node, no tolerations", true, "", false},
      {"cordoned node, the unschedulable taint tolerated", true,
       "  tolerations:\n  - {key: node.kubernetes.io/unschedulable, operator: Exists, effect: NoSchedule}\n", true},
      {"cordoned node, every taint tolerated (empty key, Exists)", true, "  tolerations:\n  - {operator: Exists}\n",
       true},
      {"cordoned node, the key tolerated for another effect", true,
       "  tolerations:\n  - {key: node.kubernetes.io/unschedulable, operator: Exists, effect: NoExecute}\n", false},
      {"cordoned node, another key tolerated", true,
       "  tolerations:\n  - {key: node.kubernetes.io/not-ready, operator: Exists}\n", false},
  };
  auto plugin = Make(NewNodeUnschedulable);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto node = MakeNode("n1", {{"cpu", "4"}, {"pods", "10"}}, {}, c.unschedulable ? "  unschedulable: true\n" : "");
    Snapshot snapshot = OneNode(node);
    PluginStatus s = FilterOn(*plugin, *PodWithSpec(c.tolerations), snapshot, "n1");
    if (c.fits) {
      EXPECT_TRUE(s.ok()) << s.ToString();
    } else {
      EXPECT_EQ(s.code(), Code::kUnschedulableAndUnresolvable);
      EXPECT_EQ(s.reasons(), std::vector<std::string>{"node(s) were unschedulable"});
    }
  }
}

// ---------------------------------------------------------------- NodeName

// Kubernetes: spec.nodeName, when set, must be the node's name.
TEST(NodeName, Table) {
  struct Case {
    std::string name;
    std::string node_name;
    bool fits;
  };
  const std::vector<Case> cases = {
      {"no nodeName fits any node", "", true},
      {"nodeName names this node", "n1", true},
      {"nodeName names another node", "n2", false},
  };
  auto plugin = Make(NewNodeName);
  Snapshot snapshot = OneNode(SimpleNode("n1"));
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    PodInfoPtr pod = c.node_name.empty() ? PodWithSpec("") : PodWithSpec("  nodeName: " + c.node_name + "\n");
    PluginStatus s = FilterOn(*plugin, *pod, snapshot, "n1");
    if (c.fits) {
      EXPECT_TRUE(s.ok()) << s.ToString();
    } else {
      EXPECT_EQ(s.code(), Code::kUnschedulableAndUnresolvable);
      EXPECT_EQ(s.reasons(), std::vector<std::string>{"node(s) didn't match the requested node name"});
    }
  }
}

// ---------------------------------------------------------------- NodeResourcesFit: Filter

// Kubernetes' fit check: each requested resource must fit in allocatable minus what the
// node's pods request; the node must have room for one more pod; every short resource is
// listed; a request larger than the node's whole allocatable is unresolvable by preemption.
// Extended resources may be ignored by name or by group; other resources never are.
TEST(NodeResourcesFit, FilterTable) {
  using Requests = std::map<std::string, std::string>;
  struct Case {
    std::string name;
    std::vector<Requests> existing;  // pods already on the node
    PodInfoPtr pod;
    Json args;
    int64_t max_pods = 32;
    Code code;
    std::vector<std::string> reasons;
  };
  const Requests full = {{"cpu", "10"}, {"memory", "20Gi"}};
  const std::vector<Case> cases = {
      {"a pod requesting nothing fits a full node", {full}, PodRequesting("p", {}), {}, 32, Code::kSuccess, {}},
      {"an exact fit",
       {{{"cpu", "5"}, {"memory", "10Gi"}}},
       PodRequesting("p", {{"cpu", "5"}, {"memory", "10Gi"}}),
       {},
       32,
       Code::kSuccess,
       {}},
      {"too much cpu",
       {{{"cpu", "8"}, {"memory", "10Gi"}}},
       PodRequesting("p", {{"cpu", "3"}, {"memory", "1Gi"}}),
       {},
       32,
       Code::kUnschedulable,
       {"Insufficient cpu"}},
      {"too much memory",
       {{{"cpu", "1"}, {"memory", "15Gi"}}},
       PodRequesting("p", {{"cpu", "1"}, {"memory", "6Gi"}}),
       {},
       32,
       Code::kUnschedulable,
       {"Insufficient memory"}},
      {"cpu and memory both short: both listed",
       {{{"cpu", "8"}, {"memory", "15Gi"}}},
       PodRequesting("p", {{"cpu", "3"}, {"memory", "6Gi"}}),
       {},
       32,
       Code::kUnschedulable,
       {"Insufficient cpu", "Insufficient memory"}},
      {"more cpu than the node has at all",
       {},
       PodRequesting("p", {{"cpu", "11"}}),
       {},
       32,
       Code::kUnschedulableAndUnresolvable,
       {"Insufficient cpu"}},
      // Init containers run one at a time before the app containers: the pod needs the
      // larger of the peak init request (3) and the app sum (1); 2 cpus are free.
      {"the init container peak counts",
       {{{"cpu", "8"}}},
       PodWithSpec("  initContainers:\n  - name: init\n    image: pause\n    resources: {requests: {cpu: \"3\"}}\n"),
       {},
       32,
       Code::kUnschedulable,
       {"Insufficient cpu"}},
      {"no room for another pod",
       {{{"cpu", "1"}}},
       PodRequesting("p", {{"cpu", "1"}}),
       {},
       1,
       Code::kUnschedulable,
       {"Too many pods"}},
      {"too many pods and too much cpu",
       {{{"cpu", "8"}}},
       PodRequesting("p", {{"cpu", "3"}}),
       {},
       1,
       Code::kUnschedulable,
       {"Too many pods", "Insufficient cpu"}},
      {"an extended resource that fits",
       {{{"example.com/foo", "1"}}},
       PodRequesting("p", {{"example.com/foo", "1"}}),
       {},
       32,
       Code::kSuccess,
       {}},
      {"an extended resource in use",
       {{{"example.com/foo", "1"}}},
       PodRequesting("p", {{"example.com/foo", "2"}}),
       {},
       32,
       Code::kUnschedulable,
       {"Insufficient example.com/foo"}},
      {"more of an extended resource than the node has",
       {},
       PodRequesting("p", {{"example.com/foo", "3"}}),
       {},
       32,
       Code::kUnschedulableAndUnresolvable,
       {"Insufficient example.com/foo"}},
      {"an extended resource the node lacks",
       {},
       PodRequesting("p", {{"example.com/bar", "1"}}),
       {},
       32,
       Code::kUnschedulableAndUnresolvable,
       {"Insufficient example.com/bar"}},
      {"an ignored extended resource",
       {},
       PodRequesting("p", {{"example.com/foo", "3"}}),
       Json{{"ignoredResources", {"example.com/foo"}}},
       32,
       Code::kSuccess,
       {}},
      {"an ignored resource group",
       {},
       PodRequesting("p", {{"example.com/bar", "1"}}),
       Json{{"ignoredResourceGroups", {"example.com"}}},
       32,
       Code::kSuccess,
       {}},
      {"ignoring one extended resource leaves the others checked",
       {},
       PodRequesting("p", {{"example.com/bar", "1"}}),
       Json{{"ignoredResources", {"example.com/foo"}}},
       32,
       Code::kUnschedulableAndUnresolvable,
       {"Insufficient example.com/bar"}},
      // hugepages-* is not an extended resource, so ignoredResources does not apply.
      {"hugepages cannot be ignored",
       {},
       PodRequesting("p", {{"hugepages-2Mi", "2Mi"}}),
       Json{{"ignoredResources", {"hugepages-2Mi"}}},
       32,
       Code::kUnschedulableAndUnresolvable,
       {"Insufficient hugepages-2Mi"}},
      // Pod-level requests replace the containers' sum for every resource they name.
      {"pod-level extended resource beyond what is free",
       {{{"example.com/foo", "1"}}},
       PodWithSpec("    resources: {requests: {example.com/foo: \"1\"}}\n"
                   "  resources: {requests: {example.com/foo: \"2\"}}\n"),
       {},
       32,
       Code::kUnschedulable,
       {"Insufficient example.com/foo"}},
      {"pod-level extended resource below the containers' sum fits",
       {{{"example.com/foo", "1"}}},
       PodWithSpec("    resources: {requests: {example.com/foo: \"2\"}}\n"
                   "  resources: {requests: {example.com/foo: \"1\"}}\n"),
       {},
       32,
       Code::kSuccess,
       {}},
      {"pod-level hugepages the node lacks",
       {},
       PodWithSpec("  resources: {requests: {hugepages-2Mi: 4Mi}}\n"),
       {},
       32,
       Code::kUnschedulableAndUnresolvable,
       {"Insufficient hugepages-2Mi"}},
      {"ephemeral storage the node does not report",
       {},
       PodRequesting("p", {{"ephemeral-storage", "1Gi"}}),
       {},
       32,
       Code::kUnschedulableAndUnresolvable,
       {"Insufficient ephemeral-storage"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto node = MakeNode(
        "n1", {{"cpu", "10"}, {"memory", "20Gi"}, {"pods", std::to_string(c.max_pods)}, {"example.com/foo", "2"}});
    std::vector<PodInfoPtr> pods;
    for (size_t i = 0; i < c.existing.size(); ++i)
      pods.push_back(PodRequesting(fmt::format("e{}", i), c.existing[i], "n1"));
    Snapshot snapshot = OneNode(node, pods);
    auto plugin = Make(NewNodeResourcesFit, c.args);
    PluginStatus s = FilterOn(*plugin, *c.pod, snapshot, "n1");
    EXPECT_EQ(s.code(), c.code) << s.ToString();
    EXPECT_EQ(s.reasons(), c.reasons);
  }
}

// ---------------------------------------------------------------- NodeResourcesFit: Score

// Two nodes of different sizes; the pod requests cpu 3 and memory 5000 bytes.
//   n1: cpu 4, memory 10000 -> after placing: cpu 3000/4000 m = 75%, memory 5000/10000 = 50%
//   n2: cpu 6, memory 10000 -> cpu 3000/6000 m = 50%, memory 50%
struct FitScoreCase {
  std::string name;
  Json args;
  int64_t n1;
  int64_t n2;
};

TEST(NodeResourcesFit, ScoreStrategies) {
  const std::vector<FitScoreCase> cases = {
      // LeastAllocated: free share * 100 per resource, averaged by weight.
      // n1: cpu 25, memory 50 -> 75/2 = 37; n2: 50, 50 -> 50.
      {"LeastAllocated (default)", Json(), 37, 50},
      {"LeastAllocated spelled out", Json::parse(R"({"scoringStrategy": {"type": "LeastAllocated"}})"), 37, 50},
      // MostAllocated: used share * 100. n1: cpu 75, memory 50 -> 125/2 = 62; n2: 50.
      {"MostAllocated", Json::parse(R"({"scoringStrategy": {"type": "MostAllocated"}})"), 62, 50},
      // Weights cpu 3, memory 1: n1 (75*3 + 50*1)/4 = 275/4 = 68; n2 (150 + 50)/4 = 50.
      {"MostAllocated weighted", Json::parse(R"({"scoringStrategy": {"type": "MostAllocated", "resources": [
           {"name": "cpu", "weight": 3}, {"name": "memory", "weight": 1}]}})"),
       68, 50},
      // Only cpu scored: n1 75, n2 50.
      {"MostAllocated cpu only",
       Json::parse(R"({"scoringStrategy": {"type": "MostAllocated", "resources": [{"name": "cpu"}]}})"), 75, 50},
      // RequestedToCapacityRatio, shape (0,0)-(100,10): scores scale by 10, so the score is
      // the utilization. n1: cpu 75, memory 50 -> round(125/2 = 62.5) = 63; n2: 50.
      {"RequestedToCapacityRatio bin packing",
       Json::parse(R"({"scoringStrategy": {"type": "RequestedToCapacityRatio", "requestedToCapacityRatio":
           {"shape": [{"utilization": 0, "score": 0}, {"utilization": 100, "score": 10}]}}})"),
       63, 50},
      // Shape (0,10)-(100,0) spreads: n1 cpu 100-75 = 25, memory 50 -> round(37.5) = 38.
      {"RequestedToCapacityRatio spreading",
       Json::parse(R"({"scoringStrategy": {"type": "RequestedToCapacityRatio", "requestedToCapacityRatio":
           {"shape": [{"utilization": 0, "score": 10}, {"utilization": 100, "score": 0}]}}})"),
       38, 50},
      // Shape (0,0)-(50,2)-(100,10), i.e. (0,0)-(50,20)-(100,100) scaled:
      //   utilization 75 -> 20 + (100-20)*(75-50)/(100-50) = 60; 50 -> 0 + 20*50/50 = 20.
      // n1: round((60+20)/2) = 40; n2: 20.
      {"RequestedToCapacityRatio broken line",
       Json::parse(R"({"scoringStrategy": {"type": "RequestedToCapacityRatio", "requestedToCapacityRatio":
           {"shape": [{"utilization": 0, "score": 0}, {"utilization": 50, "score": 2},
                      {"utilization": 100, "score": 10}]}}})"),
       40, 20},
  };
  Snapshot snapshot = Snapshot::Of({MakeNode("n1", {{"cpu", "4"}, {"memory", "10000"}, {"pods", "10"}}),
                                    MakeNode("n2", {{"cpu", "6"}, {"memory", "10000"}, {"pods", "10"}})},
                                   {});
  PodInfoPtr pod = PodRequesting("p", {{"cpu", "3"}, {"memory", "5000"}});
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto plugin = Make(NewNodeResourcesFit, c.args);
    Scores scores = RunScore(*plugin, *pod, snapshot);
    EXPECT_FALSE(scores.skipped);
    EXPECT_EQ(scores.final.at("n1"), c.n1);
    EXPECT_EQ(scores.final.at("n2"), c.n2);
  }
}

// Kubernetes scores with non-zero requests: a container without a cpu/memory request
// counts 100m and 200Mi, so empty pods still spread.
//   n1 (empty):    cpu (4000-100)*100/4000 = 97, memory (8192-200)Mi*100/8192Mi = 97 -> 97
//   n2 (one empty pod): cpu (4000-200)*100/4000 = 95, memory (8192-400)*100/8192 = 95 -> 95
TEST(NodeResourcesFit, ScoreCountsNonZeroDefaults) {
  Snapshot snapshot =
      Snapshot::Of({SimpleNode("n1", "4", "8Gi"), SimpleNode("n2", "4", "8Gi")}, {SimplePod("empty", "", "", "n2")});
  auto plugin = Make(NewNodeResourcesFit);
  Scores scores = RunScore(*plugin, *SimplePod("p"), snapshot);
  EXPECT_EQ(scores.final, (std::map<std::string, int64_t>{{"n1", 97}, {"n2", 95}}));
}

// An extended resource in the scoring list counts only on nodes that have it and only for
// pods that request it. Pod: cpu 1, example.com/foo 2; both nodes cpu 4.
//   n1 (foo 4): cpu (4000-1000)*100/4000 = 75, foo (4-2)*100/4 = 50 -> 62
//   n2 (no foo): cpu only -> 75
// A pod requesting no foo scores cpu only on both: 75.
TEST(NodeResourcesFit, ScoreExtendedResources) {
  Snapshot snapshot = Snapshot::Of({MakeNode("n1", {{"cpu", "4"}, {"memory", "8Gi"}, {"example.com/foo", "4"}}),
                                    MakeNode("n2", {{"cpu", "4"}, {"memory", "8Gi"}})},
                                   {});
  auto plugin = Make(NewNodeResourcesFit, Json::parse(R"({"scoringStrategy": {"type": "LeastAllocated",
      "resources": [{"name": "cpu", "weight": 1}, {"name": "example.com/foo", "weight": 1}]}})"));
  Scores scores = RunScore(*plugin, *PodRequesting("p", {{"cpu", "1"}, {"example.com/foo", "2"}}), snapshot);
  EXPECT_EQ(scores.final, (std::map<std::string, int64_t>{{"n1", 62}, {"n2", 75}}));
  scores = RunScore(*plugin, *PodRequesting("q", {{"cpu", "1"}}), snapshot);
  EXPECT_EQ(scores.final, (std::map<std::string, int64_t>{{"n1", 75}, {"n2", 75}}));
}

// Without PreScore in the profile, Score computes the requests itself: same figures.
TEST(NodeResourcesFit, ScoreWithoutPreScore) {
  auto plugin = Make(NewNodeResourcesFit);
  Snapshot snapshot = OneNode(MakeNode("n1", {{"cpu", "4"}, {"memory", "10000"}, {"pods", "10"}}));
  CycleState state(1);
  PluginStatus status;
  int64_t score = dynamic_cast<const ScorePlugin&>(*plugin).Score(
      state, *PodRequesting("p", {{"cpu", "3"}, {"memory", "5000"}}), *snapshot.Find("n1"), &status);
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(score, 37);
}

// Kubernetes' NodeResourcesFitArgs validation; errors name the field.
TEST(NodeResourcesFit, BadArgs) {
  struct Case {
    std::string args;
    std::string field;  // expected at the start of the error
  };
  const std::vector<Case> cases = {
      {R"("LeastAllocated")", "args: "},
      {R"({"scoringStrategy": {"type": "Bogus"}})", "args.scoringStrategy.type: "},
      {R"({"scoringStrategy": {"resources": [{"name": "cpu"}]}})", "args.scoringStrategy.type: "},
      {R"({"scoringStrategy": {"type": "MostAllocated", "resources": [{"name": "cpu", "weight": 101}]}})",
       "args.scoringStrategy.resources[0].weight: "},
      {R"({"scoringStrategy": {"type": "MostAllocated", "resources": [{"name": "cpu", "weight": -1}]}})",
       "args.scoringStrategy.resources[0].weight: "},
      {R"({"scoringStrategy": {"type": "MostAllocated", "resources": [{"weight": 1}]}})",
       "args.scoringStrategy.resources[0].name: "},
      {R"({"scoringStrategy": {"type": "RequestedToCapacityRatio"}})",
       "args.scoringStrategy.requestedToCapacityRatio: "},
      {R"({"scoringStrategy": {"type": "RequestedToCapacityRatio", "requestedToCapacityRatio": {"shape": []}}})",
       "args.scoringStrategy.requestedToCapacityRatio.shape: "},
      {R"({"scoringStrategy": {"type": "RequestedToCapacityRatio", "requestedToCapacityRatio": {"shape": [
           {"utilization": 50, "score": 1}, {"utilization": 50, "score": 2}]}}})",
       "args.scoringStrategy.requestedToCapacityRatio.shape[1].utilization: "},
      {R"({"scoringStrategy": {"type": "RequestedToCapacityRatio", "requestedToCapacityRatio": {"shape": [
           {"utilization": 101, "score": 1}]}}})",
       "args.scoringStrategy.requestedToCapacityRatio.shape[0].utilization: "},
      {R"({"scoringStrategy": {"type": "RequestedToCapacityRatio", "requestedToCapacityRatio": {"shape": [
           {"utilization": 0, "score": 11}]}}})",
       "args.scoringStrategy.requestedToCapacityRatio.shape[0].score: "},
      {R"({"ignoredResourceGroups": ["example.com/foo"]})", "args.ignoredResourceGroups[0]: "},
      {R"({"ignoredResources": [3]})", "args.ignoredResources[0]: "},
      {R"({"scoringStrategyy": {}})", "args.scoringStrategyy: unknown field"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.args);
    std::string error = ArgsError(NewNodeResourcesFit, Json::parse(c.args));
    EXPECT_TRUE(error.starts_with(c.field)) << error;
  }
  // pluginConfig args carry apiVersion and kind.
  EXPECT_EQ(ArgsError(NewNodeResourcesFit, Json::parse(R"({"apiVersion": "kubescheduler.config.k8s.io/v1",
      "kind": "NodeResourcesFitArgs", "scoringStrategy": {"type": "MostAllocated"}})")),
            "");
}

// Kubernetes' defaulting: no scoringStrategy is LeastAllocated over cpu and memory, no
// resources means cpu and memory, and a weight of 0 means 1.
TEST(NodeResourcesFit, ArgsDefaults) {
  auto plugin = Make(NewNodeResourcesFit, Json::parse(R"({"scoringStrategy": {"type": "MostAllocated",
      "resources": [{"name": "cpu", "weight": 0}]}})"));
  const auto& config = dynamic_cast<const NodeResourcesFit&>(*plugin).config();
  EXPECT_EQ(config.strategy, NodeResourcesFit::Strategy::kMostAllocated);
  ASSERT_EQ(config.resources.size(), 1u);
  EXPECT_EQ(config.resources[0].weight, 1);
  plugin = Make(NewNodeResourcesFit, Json::parse(R"({"scoringStrategy": {"type": "MostAllocated"}})"));
  const auto& defaulted = dynamic_cast<const NodeResourcesFit&>(*plugin).config();
  ASSERT_EQ(defaulted.resources.size(), 2u);
  EXPECT_EQ(defaulted.resources[0].name, "cpu");
  EXPECT_EQ(defaulted.resources[1].name, "memory");
}

// ---------------------------------------------------------------- BalancedAllocation

// score = (1 - std(fractions)) * 100, fractions requested/allocatable after placing the pod,
// each capped at 1; for two resources std = |f1 - f2| / 2. Real requests, not non-zero ones.
TEST(NodeResourcesBalancedAllocation, Scores) {
  Snapshot snapshot = Snapshot::Of(
      {MakeNode("n1", {{"cpu", "4"}, {"memory", "10000"}}), MakeNode("n2", {{"cpu", "6"}, {"memory", "10000"}}),
       MakeNode("n3", {{"cpu", "10"}, {"memory", "20000"}})},
      {PodRequesting("cpu-only", {{"cpu", "3"}}, "n3")});
  auto plugin = Make(NewNodeResourcesBalancedAllocation);
  // Pod cpu 3, memory 5000:
  //   n1: cpu .75, memory .5 -> std .125 -> 87.5 -> 87
  //   n2: cpu .5, memory .5 -> std 0 -> 100
  //   n3: cpu (3+3)/10 = .6, memory 5000/20000 = .25 (the existing pod requests no memory
  //       and counts 0, not 200Mi) -> std .175 -> 82.5 -> 82
  Scores scores = RunScore(*plugin, *PodRequesting("p", {{"cpu", "3"}, {"memory", "5000"}}), snapshot);
  EXPECT_EQ(scores.final, (std::map<std::string, int64_t>{{"n1", 87}, {"n2", 100}, {"n3", 82}}));
  // Pod cpu 5, memory 5000 on n1: cpu 5/4 caps at 1, memory .5 -> std .25 -> 75.
  scores = RunScore(*plugin, *PodRequesting("q", {{"cpu", "5"}, {"memory", "5000"}}), snapshot);
  EXPECT_EQ(scores.final.at("n1"), 75);
}

// Three resources use the full formula. Pod cpu 3, memory 5000, example.com/foo 2 on a node
// with cpu 4, memory 10000, foo 4: fractions .75, .5, .5, mean .5833, squared deviations
// .02778 + .00694 + .00694 = .04167, /3 = .01389, sqrt = .1179 -> 88.2 -> 88.
TEST(NodeResourcesBalancedAllocation, ThreeResources) {
  Snapshot snapshot = OneNode(MakeNode("n1", {{"cpu", "4"}, {"memory", "10000"}, {"example.com/foo", "4"}}));
  auto plugin = Make(NewNodeResourcesBalancedAllocation,
                     Json::parse(R"({"resources": [{"name": "cpu", "weight": 1}, {"name": "memory", "weight": 1},
                                     {"name": "example.com/foo", "weight": 1}]})"));
  Scores scores =
      RunScore(*plugin, *PodRequesting("p", {{"cpu", "3"}, {"memory", "5000"}, {"example.com/foo", "2"}}), snapshot);
  EXPECT_EQ(scores.final.at("n1"), 88);
}

// Kubernetes skips BalancedAllocation for best-effort pods (kubernetes#129138): scoring
// them by balance would stack them on one node.
TEST(NodeResourcesBalancedAllocation, SkipsBestEffortPods) {
  Snapshot snapshot = OneNode(SimpleNode("n1"));
  auto plugin = Make(NewNodeResourcesBalancedAllocation);
  EXPECT_TRUE(RunScore(*plugin, *SimplePod("p"), snapshot).skipped);
  EXPECT_FALSE(RunScore(*plugin, *SimplePod("q", "100m"), snapshot).skipped);
}

TEST(NodeResourcesBalancedAllocation, BadArgs) {
  EXPECT_TRUE(
      ArgsError(NewNodeResourcesBalancedAllocation, Json::parse(R"({"resources": [{"name": "cpu", "weight": 2}]})"))
          .starts_with("args.resources[0].weight: "));
  EXPECT_TRUE(
      ArgsError(NewNodeResourcesBalancedAllocation, Json::parse(R"({"resources": [{"name": "cpu"}, {"name": "cpu"}]})"))
          .starts_with("args.resources[1].name: "));
  EXPECT_TRUE(ArgsError(NewNodeResourcesBalancedAllocation, Json::parse(R"({"resourcez": []})"))
                  .starts_with("args.resourcez: "));
  EXPECT_EQ(ArgsError(NewNodeResourcesBalancedAllocation, Json::parse(R"({"resources": [{"name": "cpu"}]})")), "");
}

// ---------------------------------------------------------------- NodePorts

// Kubernetes: host ports conflict when protocol and port match and the host IPs match or
// either is the wildcard (empty or 0.0.0.0). An existing pod holds 8080/TCP on 10.0.0.1 and
// 9090/UDP on every address.
TEST(NodePorts, Table) {
  struct Case {
    std::string name;
    std::string ports;  // YAML list items under the container's ports
    bool skipped;
    bool fits;
  };
  const std::vector<Case> cases = {
      {"no host ports: PreFilter skips", "", true, true},
      {"a container port without hostPort", "    - {containerPort: 8080}\n", true, true},
      {"a free port", "    - {containerPort: 80, hostPort: 8081}\n", false, true},
      {"the same port, protocol and IP", "    - {containerPort: 80, hostPort: 8080, hostIP: 10.0.0.1}\n", false, false},
      {"the same port on every address", "    - {containerPort: 80, hostPort: 8080}\n", false, false},
      {"the same port on another IP", "    - {containerPort: 80, hostPort: 8080, hostIP: 10.0.0.2}\n", false, true},
      {"the same port over UDP", "    - {containerPort: 80, hostPort: 8080, protocol: UDP}\n", false, true},
      {"a specific IP against a wildcard holder",
       "    - {containerPort: 80, hostPort: 9090, hostIP: 10.0.0.3, protocol: UDP}\n", false, false},
      {"one of two ports taken",
       "    - {containerPort: 80, hostPort: 7070}\n    - {containerPort: 81, hostPort: 9090, protocol: UDP}\n", false,
       false},
  };
  PodInfoPtr holder = PodInfoFromYaml(R"(
metadata: {name: holder}
spec:
  nodeName: n1
  containers:
  - name: c
    image: pause
    ports:
    - {containerPort: 80, hostPort: 8080, hostIP: 10.0.0.1}
    - {containerPort: 90, hostPort: 9090, protocol: UDP}
)");
  Snapshot snapshot = OneNode(SimpleNode("n1"), {holder});
  auto plugin = Make(NewNodePorts);
  // Sidecars (restartable init containers) hold their host ports like app containers.
  {
    SCOPED_TRACE("a sidecar's port against an app container's");
    PodInfoPtr pod = PodWithSpec(
        "  initContainers:\n  - {name: s, image: envoy, restartPolicy: Always, "
        "ports: [{containerPort: 80, hostPort: 8080}]}\n");
    CycleState state(1);
    EXPECT_FALSE(dynamic_cast<const PreFilterPlugin&>(*plugin).PreFilter(state, *pod, snapshot).IsSkip());
    EXPECT_EQ(FilterOn(*plugin, *pod, snapshot, "n1").code(), Code::kUnschedulable);
  }
  {
    SCOPED_TRACE("an app container's port against a sidecar's on the node");
    PodInfoPtr sidecar_holder = PodInfoFromYaml(R"(
metadata: {name: mesh}
spec:
  nodeName: n1
  initContainers: [{name: s, image: envoy, restartPolicy: Always, ports: [{containerPort: 1, hostPort: 15001}]}]
  containers: [{name: c, image: pause}]
)");
    Snapshot with_sidecar = OneNode(SimpleNode("n1"), {sidecar_holder});
    EXPECT_EQ(FilterOn(*plugin, *PodWithSpec("    ports: [{containerPort: 1, hostPort: 15001}]\n"), with_sidecar, "n1")
                  .code(),
              Code::kUnschedulable);
    // A plain init container has finished before the pod runs: its port is not held.
    PodInfoPtr init_only = PodWithSpec(
        "  initContainers:\n  - {name: i, image: busybox, ports: [{containerPort: 1, hostPort: 15001}]}\n");
    EXPECT_TRUE(FilterOn(*plugin, *init_only, with_sidecar, "n1").ok());
  }
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::string yaml = "metadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: pause\n";
    if (!c.ports.empty()) yaml += "    ports:\n" + c.ports;
    PodInfoPtr pod = PodInfoFromYaml(yaml);
    CycleState state(1);
    PluginStatus pre = dynamic_cast<const PreFilterPlugin&>(*plugin).PreFilter(state, *pod, snapshot);
    EXPECT_EQ(pre.IsSkip(), c.skipped);
    PluginStatus s = FilterOn(*plugin, *pod, snapshot, "n1");
    if (c.fits) {
      EXPECT_TRUE(s.ok()) << s.ToString();
    } else {
      EXPECT_EQ(s.code(), Code::kUnschedulable);
      EXPECT_EQ(s.reasons(), std::vector<std::string>{"node(s) didn't have free ports for the requested pod ports"});
    }
  }
}

// ---------------------------------------------------------------- NodeAffinity: Filter

// Kubernetes' "Assigning Pods to Nodes": nodeSelector and required node affinity must both
// match; terms are ORed, a term's expressions ANDed; NotIn and DoesNotExist match a missing
// label; Gt/Lt compare integers; matchFields may pin metadata.name; an empty term matches
// nothing. The node is n1 with labels foo=bar, zone=a, cpus=8.
TEST(NodeAffinity, FilterTable) {
  struct Case {
    std::string name;
    std::string spec;  // YAML under the pod's spec
    Json args;
    Code code;
    std::string reason;
  };
  const std::string kPod = "node(s) didn't match Pod's node affinity/selector";
  auto required = [](const std::string& terms) {
    return "  affinity:\n    nodeAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n"
           "        nodeSelectorTerms:\n" +
           terms;
  };
  const Json added_pool = Json::parse(R"({"addedAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
      {"nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]}}})");
  const Json added_other = Json::parse(R"({"addedAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
      {"nodeSelectorTerms": [{"matchExpressions": [{"key": "pool", "operator": "Exists"}]}]}}})");
  const std::vector<Case> cases = {
      {"no selector or affinity", "", Json(), Code::kSuccess, ""},
      {"nodeSelector matches", "  nodeSelector: {foo: bar}\n", Json(), Code::kSuccess, ""},
      {"nodeSelector with two labels, one wrong", "  nodeSelector: {foo: bar, zone: b}\n", Json(),
       Code::kUnschedulableAndUnresolvable, kPod},
      {"nodeSelector on a missing label", "  nodeSelector: {disk: ssd}\n", Json(), Code::kUnschedulableAndUnresolvable,
       kPod},
      {"In matches", required("        - matchExpressions: [{key: foo, operator: In, values: [baz, bar]}]\n"), Json(),
       Code::kSuccess, ""},
      {"In does not match", required("        - matchExpressions: [{key: foo, operator: In, values: [baz]}]\n"), Json(),
       Code::kUnschedulableAndUnresolvable, kPod},
      {"NotIn on a missing label matches",
       required("        - matchExpressions: [{key: disk, operator: NotIn, values: [hdd]}]\n"), Json(), Code::kSuccess,
       ""},
      {"Exists", required("        - matchExpressions: [{key: zone, operator: Exists}]\n"), Json(), Code::kSuccess, ""},
      {"DoesNotExist on a present label",
       required("        - matchExpressions: [{key: zone, operator: DoesNotExist}]\n"), Json(),
       Code::kUnschedulableAndUnresolvable, kPod},
      {"Gt compares integers", required("        - matchExpressions: [{key: cpus, operator: Gt, values: [\"4\"]}]\n"),
       Json(), Code::kSuccess, ""},
      {"Lt compares integers", required("        - matchExpressions: [{key: cpus, operator: Lt, values: [\"8\"]}]\n"),
       Json(), Code::kUnschedulableAndUnresolvable, kPod},
      {"terms are ORed",
       required("        - matchExpressions: [{key: foo, operator: In, values: [baz]}]\n"
                "        - matchExpressions: [{key: zone, operator: In, values: [a]}]\n"),
       Json(), Code::kSuccess, ""},
      {"expressions in a term are ANDed",
       required("        - matchExpressions: [{key: foo, operator: In, values: [bar]}, "
                "{key: zone, operator: In, values: [b]}]\n"),
       Json(), Code::kUnschedulableAndUnresolvable, kPod},
      {"nodeSelector and affinity must both match",
       "  nodeSelector: {foo: bar}\n" +
           required("        - matchExpressions: [{key: zone, operator: In, values: [b]}]\n"),
       Json(), Code::kUnschedulableAndUnresolvable, kPod},
      {"matchFields pins this node",
       required("        - matchFields: [{key: metadata.name, operator: In, values: [n1]}]\n"), Json(), Code::kSuccess,
       ""},
      {"matchFields pins another node",
       required("        - matchFields: [{key: metadata.name, operator: In, values: [n2]}]\n"), Json(),
       Code::kUnschedulableAndUnresolvable, kPod},
      {"an empty term matches nothing", required("        - {}\n"), Json(), Code::kUnschedulableAndUnresolvable, kPod},
      // One term asking for metadata.name n1 and n2 at once: no node can match, and
      // PreFilter says so for the whole cluster.
      {"conflicting matchFields",
       required("        - matchFields: [{key: metadata.name, operator: In, values: [n1]}, "
                "{key: metadata.name, operator: In, values: [n2]}]\n"),
       Json(), Code::kUnschedulableAndUnresolvable, "pod affinity terms conflict"},
      // Across terms the names are a union: n1 or n2.
      {"matchFields in separate terms",
       required("        - matchFields: [{key: metadata.name, operator: In, values: [n2]}]\n"
                "        - matchFields: [{key: metadata.name, operator: In, values: [n1]}]\n"),
       Json(), Code::kSuccess, ""},
      // NodeAffinityArgs.addedAffinity applies to every pod, checked before the pod's own.
      {"added affinity matches", "", added_pool, Code::kSuccess, ""},
      {"added affinity does not match", "  nodeSelector: {foo: bar}\n", added_other,
       Code::kUnschedulableAndUnresolvable, "node(s) didn't match scheduler-enforced node affinity"},
      {"added affinity matches, the pod's does not", "  nodeSelector: {foo: baz}\n", added_pool,
       Code::kUnschedulableAndUnresolvable, kPod},
  };
  Snapshot snapshot = OneNode(SimpleNode("n1", "4", "8Gi", 110, {{"foo", "bar"}, {"zone", "a"}, {"cpus", "8"}}));
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto plugin = Make(NewNodeAffinity, c.args);
    PluginStatus s = FilterOn(*plugin, *PodWithSpec(c.spec), snapshot, "n1");
    EXPECT_EQ(s.code(), c.code) << s.ToString();
    if (!c.reason.empty()) {
      EXPECT_EQ(s.reasons(), std::vector<std::string>{c.reason});
    }
  }
}

TEST(NodeAffinity, PreFilterSkipsPodsWithoutSelectors) {
  Snapshot snapshot = OneNode(SimpleNode("n1"));
  CycleState state(1);
  auto plugin = Make(NewNodeAffinity);
  const auto& pre = dynamic_cast<const PreFilterPlugin&>(*plugin);
  EXPECT_TRUE(pre.PreFilter(state, *PodWithSpec(""), snapshot).IsSkip());
  EXPECT_TRUE(pre.PreFilter(state, *PodWithSpec("  nodeSelector: {a: b}\n"), snapshot).ok());
  // With added affinity every pod is filtered.
  auto added = Make(NewNodeAffinity, Json::parse(R"({"addedAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
      {"nodeSelectorTerms": [{"matchExpressions": [{"key": "a", "operator": "Exists"}]}]}}})"));
  EXPECT_TRUE(dynamic_cast<const PreFilterPlugin&>(*added).PreFilter(state, *PodWithSpec(""), snapshot).ok());
}

// ---------------------------------------------------------------- NodeAffinity: Score

// Score is the sum of the weights of the preferred terms a node matches; NormalizeScore
// maps the highest to 100 (Kubernetes' DefaultNormalizeScore, integer division).
// Pod: weight 2 for foo=bar, weight 5 for gpu existing.
//   n1 {foo: bar, gpu: yes} -> 7 -> 100;  n2 {foo: bar} -> 2 -> 200/7 = 28;  n3 {zone: a} -> 0
// Args add weight 3 for zone=a: n3 -> 3 -> 300/7 = 42.
TEST(NodeAffinity, Score) {
  Snapshot snapshot = Snapshot::Of(
      {SimpleNode("n1", "4", "8Gi", 110, {{"foo", "bar"}, {"gpu", "yes"}}),
       SimpleNode("n2", "4", "8Gi", 110, {{"foo", "bar"}}), SimpleNode("n3", "4", "8Gi", 110, {{"zone", "a"}})},
      {});
  PodInfoPtr pod = PodWithSpec(R"(  affinity:
    nodeAffinity:
      preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 2
        preference:
          matchExpressions: [{key: foo, operator: In, values: [bar]}]
      - weight: 5
        preference:
          matchExpressions: [{key: gpu, operator: Exists}]
)");
  auto plugin = Make(NewNodeAffinity);
  Scores scores = RunScore(*plugin, *pod, snapshot);
  EXPECT_EQ(scores.raw, (std::map<std::string, int64_t>{{"n1", 7}, {"n2", 2}, {"n3", 0}}));
  EXPECT_EQ(scores.final, (std::map<std::string, int64_t>{{"n1", 100}, {"n2", 28}, {"n3", 0}}));

  auto added =
      Make(NewNodeAffinity, Json::parse(R"({"addedAffinity": {"preferredDuringSchedulingIgnoredDuringExecution":
      [{"weight": 3, "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}}]}})"));
  scores = RunScore(*added, *pod, snapshot);
  EXPECT_EQ(scores.final, (std::map<std::string, int64_t>{{"n1", 100}, {"n2", 28}, {"n3", 42}}));
  // A pod without preferences is scored by the added terms alone.
  scores = RunScore(*added, *PodWithSpec(""), snapshot);
  EXPECT_EQ(scores.final, (std::map<std::string, int64_t>{{"n1", 0}, {"n2", 0}, {"n3", 100}}));
  // And without either, PreScore skips.
  EXPECT_TRUE(RunScore(*plugin, *PodWithSpec(""), snapshot).skipped);
}

TEST(NodeAffinity, BadArgs) {
  std::string error = ArgsError(NewNodeAffinity, Json::parse(R"({"addedAffinity": {
      "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "a", "operator": "Near", "values": ["b"]}]}]}}})"));
  EXPECT_TRUE(
      error.starts_with("args.addedAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
                        ".matchExpressions[0].operator: "))
      << error;
  error = ArgsError(NewNodeAffinity, Json::parse(R"({"addedAffinity": {"requiredDuringScheduling": {}}})"));
  EXPECT_NE(error.find("requiredDuringScheduling"), std::string::npos) << error;
  EXPECT_TRUE(ArgsError(NewNodeAffinity, Json::parse(R"({"added": {}})")).starts_with("args.added: "));
}

// ---------------------------------------------------------------- TaintToleration

// Kubernetes' "Taints and Tolerations": NoSchedule and NoExecute taints must be tolerated;
// PreferNoSchedule taints only lower the score. A toleration matches on key (empty key with
// Exists matches all), value (for Equal) and effect (empty matches all). The first
// untolerated taint, in the node's order, is named.
TEST(TaintToleration, FilterTable) {
  struct Case {
    std::string name;
    std::string taints;       // YAML list items under the node's spec.taints
    std::string tolerations;  // YAML under the pod's spec
    std::string reason;       // empty: fits
  };
  const std::vector<Case> cases = {
      {"no taints", "", "", ""},
      {"an untolerated NoSchedule taint", "  - {key: dedicated, value: infra, effect: NoSchedule}\n", "",
       "node(s) had untolerated taint {dedicated: infra}"},
      {"an untolerated NoExecute taint", "  - {key: dedicated, value: infra, effect: NoExecute}\n", "",
       "node(s) had untolerated taint {dedicated: infra}"},
      {"an untolerated PreferNoSchedule taint does not filter",
       "  - {key: dedicated, value: infra, effect: PreferNoSchedule}\n", "", ""},
      {"tolerated with Equal", "  - {key: dedicated, value: infra, effect: NoSchedule}\n",
       "  tolerations:\n  - {key: dedicated, operator: Equal, value: infra, effect: NoSchedule}\n", ""},
      {"Equal with another value", "  - {key: dedicated, value: infra, effect: NoSchedule}\n",
       "  tolerations:\n  - {key: dedicated, operator: Equal, value: web, effect: NoSchedule}\n",
       "node(s) had untolerated taint {dedicated: infra}"},
      {"tolerated with Exists on the key", "  - {key: dedicated, value: infra, effect: NoSchedule}\n",
       "  tolerations:\n  - {key: dedicated, operator: Exists}\n", ""},
      {"tolerated for another effect only", "  - {key: dedicated, value: infra, effect: NoSchedule}\n",
       "  tolerations:\n  - {key: dedicated, operator: Exists, effect: NoExecute}\n",
       "node(s) had untolerated taint {dedicated: infra}"},
      {"Exists with no key tolerates everything", "  - {key: a, effect: NoSchedule}\n  - {key: b, effect: NoExecute}\n",
       "  tolerations:\n  - {operator: Exists}\n", ""},
      // Kubernetes prints "{key: }" for a taint without a value.
      {"a taint without a value", "  - {key: node-role.kubernetes.io/control-plane, effect: NoSchedule}\n", "",
       "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"},
      {"the first untolerated taint is named",
       "  - {key: a, value: \"1\", effect: NoSchedule}\n  - {key: b, value: \"2\", effect: NoSchedule}\n"
       "  - {key: c, value: \"3\", effect: NoSchedule}\n",
       "  tolerations:\n  - {key: a, operator: Exists}\n", "node(s) had untolerated taint {b: 2}"},
  };
  auto plugin = Make(NewTaintToleration);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto node = MakeNode("n1", {{"cpu", "4"}}, {}, c.taints.empty() ? "" : "  taints:\n" + c.taints);
    Snapshot snapshot = OneNode(node);
    PluginStatus s = FilterOn(*plugin, *PodWithSpec(c.tolerations), snapshot, "n1");
    if (c.reason.empty()) {
      EXPECT_TRUE(s.ok()) << s.ToString();
    } else {
      EXPECT_EQ(s.code(), Code::kUnschedulableAndUnresolvable);
      EXPECT_EQ(s.reasons(), std::vector<std::string>{c.reason});
    }
  }
}

// Score counts untolerated PreferNoSchedule taints; normalization is reversed (Kubernetes'
// DefaultNormalizeScore with reverse): 100 - count * 100 / highest.
//   n1 no taints                          -> 0 -> 100
//   n2 a:PreferNoSchedule                 -> 1 -> 100 - 100/2 = 50 (the pod tolerates a
//                                            only for NoSchedule, which does not count)
//   n3 a, b:PreferNoSchedule              -> 2 -> 0
//   n4 c:PreferNoSchedule, tolerated      -> 0 -> 100
//   n5 d:NoSchedule (Filter's business)   -> 0 -> 100
TEST(TaintToleration, Score) {
  auto prefer = [](const std::string& keys) {
    std::string yaml = "  taints:\n";
    for (char k : keys) yaml += fmt::format("  - {{key: {}, value: v, effect: PreferNoSchedule}}\n", k);
    return yaml;
  };
  Snapshot snapshot =
      Snapshot::Of({MakeNode("n1", {{"cpu", "4"}}), MakeNode("n2", {{"cpu", "4"}}, {}, prefer("a")),
                    MakeNode("n3", {{"cpu", "4"}}, {}, prefer("ab")), MakeNode("n4", {{"cpu", "4"}}, {}, prefer("c")),
                    MakeNode("n5", {{"cpu", "4"}}, {}, "  taints:\n  - {key: d, effect: NoSchedule}\n")},
                   {});
  PodInfoPtr pod = PodWithSpec(
      "  tolerations:\n  - {key: a, operator: Exists, effect: NoSchedule}\n"
      "  - {key: c, operator: Equal, value: v, effect: PreferNoSchedule}\n");
  auto plugin = Make(NewTaintToleration);
  Scores scores = RunScore(*plugin, *pod, snapshot);
  EXPECT_EQ(scores.raw, (std::map<std::string, int64_t>{{"n1", 0}, {"n2", 1}, {"n3", 2}, {"n4", 0}, {"n5", 0}}));
  EXPECT_EQ(scores.final,
            (std::map<std::string, int64_t>{{"n1", 100}, {"n2", 50}, {"n3", 0}, {"n4", 100}, {"n5", 100}}));
  // When no node has an untolerated PreferNoSchedule taint, every node gets 100.
  Snapshot clean = Snapshot::Of({MakeNode("n1", {{"cpu", "4"}}), MakeNode("n4", {{"cpu", "4"}}, {}, prefer("c"))}, {});
  EXPECT_EQ(RunScore(*plugin, *pod, clean).final, (std::map<std::string, int64_t>{{"n1", 100}, {"n4", 100}}));
}

// ---------------------------------------------------------------- ImageLocality

// Kubernetes' ImageLocality: per node, sum over the pod's containers (init and app) whose
// image the node holds of size * (nodes holding it / all nodes), clamped to
// [23Mi, 1000Mi * containers], then 100 * (sum - 23Mi) / (max - 23Mi), integer division.
// Two nodes: n1 holds small (40Mi) and big (300Mi); n2 holds medium (250Mi). Each image is
// on one node of two, so spread = 1/2.
TEST(ImageLocality, Scores) {
  auto image = [](const std::string& name, int64_t mib) {
    return fmt::format("  - names: [\"{}\"]\n    sizeBytes: {}\n", name, mib * 1024 * 1024);
  };
  Snapshot snapshot = Snapshot::Of(
      {MakeNode("n1", {{"cpu", "4"}}, {}, "", image("example.com/small:v1", 40) + image("example.com/big:v1", 300)),
       MakeNode("n2", {{"cpu", "4"}}, {}, "", image("example.com/medium:v1", 250))},
      {});
  auto plugin = Make(NewImageLocality);
  auto containers = [](std::vector<std::string> images, std::string init = "") {
    std::string yaml = "metadata: {name: p}\nspec:\n";
    if (!init.empty()) yaml += "  initContainers:\n  - {name: init, image: \"" + init + "\"}\n";
    yaml += "  containers:\n";
    for (size_t i = 0; i < images.size(); ++i) yaml += fmt::format("  - {{name: c{}, image: \"{}\"}}\n", i, images[i]);
    return PodInfoFromYaml(yaml);
  };
  // [small, medium], 2 containers, max 2000Mi:
  //   n1: 40Mi/2 = 20Mi < 23Mi -> 0
  //   n2: 250Mi/2 = 125Mi -> 100 * 102 / 1977 = 5
  Scores scores = RunScore(*plugin, *containers({"example.com/small:v1", "example.com/medium:v1"}), snapshot);
  EXPECT_EQ(scores.final, (std::map<std::string, int64_t>{{"n1", 0}, {"n2", 5}}));
  // [big], 1 container, max 1000Mi: n1: 150Mi -> 100 * 127 / 977 = 12; n2: 0.
  scores = RunScore(*plugin, *containers({"example.com/big:v1"}), snapshot);
  EXPECT_EQ(scores.final, (std::map<std::string, int64_t>{{"n1", 12}, {"n2", 0}}));
  // Init container big plus container small: 2 containers; n1: 150Mi + 20Mi = 170Mi ->
  // 100 * 147 / 1977 = 7.
  scores = RunScore(*plugin, *containers({"example.com/small:v1"}, "example.com/big:v1"), snapshot);
  EXPECT_EQ(scores.final, (std::map<std::string, int64_t>{{"n1", 7}, {"n2", 0}}));
  // Images on no node: nothing to score.
  EXPECT_TRUE(RunScore(*plugin, *containers({"example.com/absent:v1"}), snapshot).skipped);
}

// An image on every node has spread 1; 3000Mi clamps to the 1000Mi ceiling -> 100. Names
// are compared normalized: the pod's "nginx" is the node's "nginx:latest".
//   nginx 100Mi on n1 only: 50Mi -> 100 * 27 / 977 = 2.
TEST(ImageLocality, SpreadAndNormalizedNames) {
  auto image = [](const std::string& name, int64_t mib) {
    return fmt::format("  - names: [\"{}\"]\n    sizeBytes: {}\n", name, mib * 1024 * 1024);
  };
  Snapshot snapshot = Snapshot::Of(
      {MakeNode("n1", {{"cpu", "4"}}, {}, "", image("example.com/huge:v1", 3000) + image("nginx:latest", 100)),
       MakeNode("n2", {{"cpu", "4"}}, {}, "", image("example.com/huge:v1", 3000))},
      {});
  auto plugin = Make(NewImageLocality);
  Scores scores = RunScore(*plugin,
                           *PodInfoFromYaml("metadata: {name: p}\nspec:\n  containers:\n"
                                            "  - {name: c, image: \"example.com/huge:v1\"}\n"),
                           snapshot);
  EXPECT_EQ(scores.final, (std::map<std::string, int64_t>{{"n1", 100}, {"n2", 100}}));
  scores = RunScore(
      *plugin, *PodInfoFromYaml("metadata: {name: p}\nspec:\n  containers:\n  - {name: c, image: nginx}\n"), snapshot);
  EXPECT_EQ(scores.final, (std::map<std::string, int64_t>{{"n1", 2}, {"n2", 0}}));
}

// Score needs PreScore's state (the spread over all nodes); without it, an error rather
// than a silent 0.
TEST(ImageLocality, ScoreWithoutPreScoreIsAnError) {
  auto plugin = Make(NewImageLocality);
  Snapshot snapshot = OneNode(SimpleNode("n1"));
  CycleState state(1);
  PluginStatus status;
  dynamic_cast<const ScorePlugin&>(*plugin).Score(state, *SimplePod("p"), *snapshot.Find("n1"), &status);
  EXPECT_EQ(status.code(), Code::kError);
}

// ---------------------------------------------------------------- args and events

TEST(NodePlugins, ArgslessPluginsRejectFields) {
  for (Factory factory : {NewNodeUnschedulable, NewNodeName, NewNodePorts, NewTaintToleration, NewImageLocality}) {
    EXPECT_EQ(ArgsError(factory, Json()), "");
    EXPECT_EQ(ArgsError(factory, Json::object()), "");
    EXPECT_EQ(ArgsError(factory, Json::parse(R"({"foo": 1})")), "args.foo: unknown field");
    EXPECT_EQ(ArgsError(factory, Json::parse("[1]")), "args: must be an object");
  }
}

// After which cluster events a pod each plugin rejected is worth retrying (Kubernetes'
// EventsToRegister for the same plugins).
TEST(NodePlugins, EventsToRegister) {
  auto fit = Make(NewNodeResourcesFit);
  EXPECT_TRUE(Registers(*fit, EventResource::kAssignedPod, kEventDelete));
  EXPECT_TRUE(Registers(*fit, EventResource::kAssignedPod, kEventUpdatePodRequest));
  EXPECT_TRUE(Registers(*fit, EventResource::kNode, kEventAdd));
  EXPECT_TRUE(Registers(*fit, EventResource::kNode, kEventUpdateNodeAllocatable));
  EXPECT_FALSE(Registers(*fit, EventResource::kNode, kEventUpdateNodeLabel));
  EXPECT_FALSE(Registers(*fit, EventResource::kPod, kEventAdd));

  auto taints = Make(NewTaintToleration);
  EXPECT_TRUE(Registers(*taints, EventResource::kNode, kEventAdd));
  EXPECT_TRUE(Registers(*taints, EventResource::kNode, kEventUpdateNodeTaint));
  EXPECT_FALSE(Registers(*taints, EventResource::kNode, kEventUpdateNodeLabel));
  EXPECT_FALSE(Registers(*taints, EventResource::kAssignedPod, kEventDelete));

  auto affinity = Make(NewNodeAffinity);
  EXPECT_TRUE(Registers(*affinity, EventResource::kNode, kEventAdd));
  EXPECT_TRUE(Registers(*affinity, EventResource::kNode, kEventUpdateNodeLabel));
  EXPECT_FALSE(Registers(*affinity, EventResource::kNode, kEventUpdateNodeTaint));

  auto unschedulable = Make(NewNodeUnschedulable);
  EXPECT_TRUE(Registers(*unschedulable, EventResource::kNode, kEventUpdateNodeSchedulable));
  EXPECT_TRUE(Registers(*unschedulable, EventResource::kNode, kEventAdd));
  EXPECT_FALSE(Registers(*unschedulable, EventResource::kAssignedPod, kEventDelete));

  auto ports = Make(NewNodePorts);
  EXPECT_TRUE(Registers(*ports, EventResource::kAssignedPod, kEventDelete));
  EXPECT_TRUE(Registers(*ports, EventResource::kNode, kEventAdd));
  EXPECT_FALSE(Registers(*ports, EventResource::kNode, kEventUpdateNodeAllocatable));

  auto name = Make(NewNodeName);
  EXPECT_TRUE(Registers(*name, EventResource::kNode, kEventAdd));
  EXPECT_FALSE(Registers(*name, EventResource::kNode, kEventUpdateNodeLabel));
}

// ---------------------------------------------------------------- in a framework

PluginRegistry NodeRegistry() {
  PluginRegistry r;
  r.Register("NodeUnschedulable", NewNodeUnschedulable);
  r.Register("NodeName", NewNodeName);
  r.Register("NodeResourcesFit", NewNodeResourcesFit);
  r.Register("NodeResourcesBalancedAllocation", NewNodeResourcesBalancedAllocation);
  r.Register("NodePorts", NewNodePorts);
  r.Register("NodeAffinity", NewNodeAffinity);
  r.Register("TaintToleration", NewTaintToleration);
  r.Register("ImageLocality", NewImageLocality);
  return r;
}

// Kubernetes' default profile restricted to the node plugins (ImageLocality also at
// preScore, where it captures the image spread).
ProfileConfig NodeProfile() {
  ProfileConfig p;
  p.pre_filter = {"NodeAffinity", "NodePorts", "NodeResourcesFit"};
  p.filter = {"NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity", "NodePorts", "NodeResourcesFit"};
  p.pre_score = {"TaintToleration", "NodeAffinity", "NodeResourcesFit", "NodeResourcesBalancedAllocation",
                 "ImageLocality"};
  p.score = {{"TaintToleration", 3},
             {"NodeAffinity", 2},
             {"NodeResourcesFit", 1},
             {"NodeResourcesBalancedAllocation", 1},
             {"ImageLocality", 1}};
  return p;
}

// Each node fails for its own reason; the message counts them as kube-scheduler does.
TEST(NodePlugins, FitErrorInKubernetesWords) {
  std::unique_ptr<Framework> fw;
  ASSERT_TRUE(Framework::Create(NodeProfile(), NodeRegistry(), &fw).ok());
  const std::map<std::string, std::string> ssd = {{"disk", "ssd"}};
  Snapshot snapshot =
      Snapshot::Of({MakeNode("a", {{"cpu", "4"}, {"memory", "8Gi"}, {"pods", "10"}}, ssd, "  unschedulable: true\n"),
                    MakeNode("b", {{"cpu", "4"}, {"memory", "8Gi"}, {"pods", "10"}}, ssd,
                             "  taints:\n  - {key: dedicated, value: infra, effect: NoSchedule}\n"),
                    MakeNode("c", {{"cpu", "1"}, {"memory", "8Gi"}, {"pods", "10"}}, ssd),
                    MakeNode("d", {{"cpu", "4"}, {"memory", "8Gi"}, {"pods", "10"}}, {{"disk", "hdd"}})},
                   {});
  PodInfoPtr pod = PodInfoFromYaml(R"(
metadata: {name: p}
spec:
  nodeSelector: {disk: ssd}
  containers:
  - name: c
    image: pause
    resources: {requests: {cpu: "2"}}
)");
  CycleState state = fw->NewCycleState();
  ScheduleCursor cursor(Random(1));
  ScheduleResult result;
  Diagnosis diagnosis;
  PluginStatus s = SchedulePod(*fw, snapshot, *pod, state, cursor, &result, &diagnosis);
  EXPECT_TRUE(s.IsRejection()) << s.ToString();
  EXPECT_EQ(FitErrorMessage(diagnosis),
            "0/4 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match Pod's node affinity/selector, "
            "1 node(s) had untolerated taint {dedicated: infra}, 1 node(s) were unschedulable.");
  EXPECT_EQ(diagnosis.unschedulable_plugins,
            (std::set<std::string>{"NodeAffinity", "NodeResourcesFit", "NodeUnschedulable", "TaintToleration"}));
}

// Scores decide among feasible nodes: identical nodes except that y matches the pod's
// preferred affinity (NodeAffinity 100 * weight 2) and z carries an untolerated
// PreferNoSchedule taint (TaintToleration 0 instead of 100, weight 3). y wins whatever the
// seed.
TEST(NodePlugins, ScoresPickTheNode) {
  std::unique_ptr<Framework> fw;
  ASSERT_TRUE(Framework::Create(NodeProfile(), NodeRegistry(), &fw).ok());
  const std::map<std::string, std::string> alloc = {{"cpu", "4"}, {"memory", "8Gi"}, {"pods", "10"}};
  Snapshot snapshot = Snapshot::Of(
      {MakeNode("x", alloc), MakeNode("y", alloc, {{"tier", "gold"}}),
       MakeNode("z", alloc, {{"tier", "gold"}}, "  taints:\n  - {key: noisy, effect: PreferNoSchedule}\n")},
      {});
  PodInfoPtr pod = PodWithSpec(R"(  affinity:
    nodeAffinity:
      preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 10
        preference:
          matchExpressions: [{key: tier, operator: In, values: [gold]}]
)");
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    CycleState state = fw->NewCycleState();
    ScheduleCursor cursor{Random(seed)};
    ScheduleResult result;
    Diagnosis diagnosis;
    PluginStatus s = SchedulePod(*fw, snapshot, *pod, state, cursor, &result, &diagnosis);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(result.node, "y");
  }
}

}  // namespace
}  // namespace ksim::scheduler::testing
