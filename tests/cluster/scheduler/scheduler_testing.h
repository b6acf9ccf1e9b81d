// Test helpers for the scheduler: pods and nodes from YAML (the way users write them), and
// a snapshot of them. Failures to parse abort the test with the decoder's message.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/api/codec.h"
#include "cluster/scheduler/framework/plugin.h"
#include "cluster/scheduler/framework/snapshot.h"
#include "cluster/scheduler/framework/types.h"

namespace ksim::scheduler::testing {

// A Pod from a YAML manifest; apiVersion/kind may be omitted. metadata.namespace defaults
// to "default" and metadata.uid to the name, so tests need not spell them.
inline std::shared_ptr<api::Pod> PodFromYaml(std::string_view yaml) {
  auto pod = std::make_shared<api::Pod>();
  Status s = api::DecodeInto(yaml, "pod.yaml", pod.get());
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (pod->metadata().namespace_().empty()) pod->mutable_metadata()->set_namespace_("default");
  if (pod->metadata().uid().empty()) pod->mutable_metadata()->set_uid(pod->metadata().name());
  return pod;
}

inline PodInfoPtr PodInfoFromYaml(std::string_view yaml) {
  std::shared_ptr<PodInfo> info;
  Status s = PodInfo::Build(PodFromYaml(yaml), &info);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return info;
}

inline std::shared_ptr<const NodeData> NodeFromYaml(std::string_view yaml) {
  auto node = std::make_shared<api::Node>();
  Status s = api::DecodeInto(yaml, "node.yaml", node.get());
  EXPECT_TRUE(s.ok()) << s.ToString();
  std::shared_ptr<const NodeData> data;
  s = NodeData::Build(node, &data);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return data;
}

// A node named `name` with allocatable cpu/memory/pods and optional labels, e.g.
// SimpleNode("n1", "4", "8Gi", 110, {{"zone", "a"}}).
inline std::shared_ptr<const NodeData> SimpleNode(const std::string& name, const std::string& cpu = "4",
                                                  const std::string& memory = "8Gi", int pods = 110,
                                                  const std::map<std::string, std::string>& labels = {}) {
  auto node = std::make_shared<api::Node>();
  node->mutable_metadata()->set_name(name);
  for (const auto& [k, v] : labels) (*node->mutable_metadata()->mutable_labels())[k] = v;
  auto& alloc = *node->mutable_status()->mutable_allocatable();
  alloc["cpu"] = cpu;
  alloc["memory"] = memory;
  alloc["pods"] = std::to_string(pods);
  std::shared_ptr<const NodeData> data;
  Status s = NodeData::Build(node, &data);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return data;
}

// A pod `name` in `ns` with one container requesting cpu/memory ("" = no request), bound
// to `node` ("" = pending), with labels.
inline PodInfoPtr SimplePod(const std::string& name, const std::string& cpu = "", const std::string& memory = "",
                            const std::string& node = "", const std::map<std::string, std::string>& labels = {},
                            const std::string& ns = "default") {
  auto pod = std::make_shared<api::Pod>();
  pod->mutable_metadata()->set_name(name);
  pod->mutable_metadata()->set_namespace_(ns);
  pod->mutable_metadata()->set_uid(ns + "/" + name);
  for (const auto& [k, v] : labels) (*pod->mutable_metadata()->mutable_labels())[k] = v;
  pod->mutable_spec()->set_node_name(node);
  auto* c = pod->mutable_spec()->add_containers();
  c->set_name("c");
  c->set_image("registry.k8s.io/pause:3.9");
  if (!cpu.empty()) (*c->mutable_resources()->mutable_requests())["cpu"] = cpu;
  if (!memory.empty()) (*c->mutable_resources()->mutable_requests())["memory"] = memory;
  std::shared_ptr<PodInfo> info;
  Status s = PodInfo::Build(pod, &info);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return info;
}

// A copy of `pod` bound to `node` (its PodInfo's node_name and spec.nodeName set).
inline PodInfoPtr BoundTo(const PodInfoPtr& pod, const std::string& node) {
  auto copy = std::make_shared<api::Pod>(*pod->pod);
  copy->mutable_spec()->set_node_name(node);
  std::shared_ptr<PodInfo> info;
  Status s = PodInfo::Build(copy, &info);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return info;
}

}  // namespace ksim::scheduler::testing

namespace ksim::scheduler::testing {

// One plugin built by its factory, seen through each extension point it implements (null
// for the others), with its cycle-state slot 0.
struct PluginUnderTest {
  PluginUnderTest(Status (*factory)(const nlohmann::json&, std::unique_ptr<Plugin>*),
                  const nlohmann::json& args = nullptr) {
    Status s = factory(args, &plugin);
    EXPECT_TRUE(s.ok()) << s.ToString();
    plugin->set_slot(0);
    pre = dynamic_cast<const PreFilterPlugin*>(plugin.get());
    filter = dynamic_cast<const FilterPlugin*>(plugin.get());
    pre_score = dynamic_cast<const PreScorePlugin*>(plugin.get());
    score = dynamic_cast<const ScorePlugin*>(plugin.get());
  }
  std::unique_ptr<Plugin> plugin;
  const PreFilterPlugin* pre = nullptr;
  const FilterPlugin* filter = nullptr;
  const PreScorePlugin* pre_score = nullptr;
  const ScorePlugin* score = nullptr;
};

// What a node's Filter verdict reads as when PreFilter said Skip.
inline const std::string kSkipped = "Skip";

// Filter on every node with `state` from a PreFilter that returned `pre`: node -> status
// text (kSkipped for every node when PreFilter skipped).
inline std::map<std::string, std::string> FilterAllNodes(const PluginUnderTest& p, const CycleState& state,
                                                         const PodInfo& pod, const Snapshot& snap,
                                                         const PluginStatus& pre) {
  std::map<std::string, std::string> out;
  for (const auto& node : snap.nodes()) {
    out[node->name()] = pre.IsSkip() ? kSkipped : p.filter->Filter(state, pod, *node).ToString();
  }
  return out;
}

// PreFilter on a fresh state, then Filter on every node.
inline std::map<std::string, std::string> Verdicts(const PluginUnderTest& p, const PodInfo& pod,
                                                   const Snapshot& snap) {
  CycleState state(1);
  PluginStatus pre = p.pre->PreFilter(state, pod, snap);
  EXPECT_TRUE(pre.ok() || pre.IsSkip()) << pre.ToString();
  return FilterAllNodes(p, state, pod, snap, pre);
}

// PreScore with every node of the snapshot feasible, Score on each, NormalizeScore:
// node -> score; nullopt when PreScore skips.
inline std::optional<std::map<std::string, int64_t>> ScoreAllNodes(const PluginUnderTest& p, const PodInfo& pod,
                                                                   const Snapshot& snap) {
  CycleState state(1);
  std::vector<const NodeInfo*> nodes;
  for (const auto& n : snap.nodes()) nodes.push_back(n.get());
  PluginStatus pre = p.pre_score->PreScore(state, pod, nodes, snap);
  if (pre.IsSkip()) return std::nullopt;
  EXPECT_TRUE(pre.ok()) << pre.ToString();
  std::vector<int64_t> scores;
  for (const NodeInfo* n : nodes) {
    PluginStatus s;
    scores.push_back(p.score->Score(state, pod, *n, &s));
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  p.score->NormalizeScore(state, pod, nodes, scores);
  std::map<std::string, int64_t> out;
  for (size_t i = 0; i < nodes.size(); ++i) out[nodes[i]->name()] = scores[i];
  return out;
}

}  // namespace ksim::scheduler::testing
