// PodGroups, the pod-placement plugins' cache of existing pods grouped per node: groups and
// counts, rebuilding only nodes whose NodeInfo changed, freeing groups no pod is in, and
// the per-key domain tables (replaced when stale values pile up; a cycle state made
// before the replacement still gives the verdicts a fresh plugin gives).
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cluster/scheduler/plugins/inter_pod_affinity.h"
#include "cluster/scheduler/plugins/pod_groups.h"
#include "tests/cluster/scheduler/scheduler_testing.h"

namespace ksim::scheduler::testing {
namespace {

constexpr char kHost[] = "kubernetes.io/hostname";

// Groups by the "app" label, counting how often a key is computed.
struct CountingKey {
  int* calls;
  std::string operator()(const PodInfo& pod) const {
    ++*calls;
    auto it = pod.labels.find("app");
    return it == pod.labels.end() ? "" : it->second;
  }
};

std::shared_ptr<NodeInfo> With(const NodeInfoPtr& node, const PodInfoPtr& pod) {
  auto copy = std::make_shared<NodeInfo>(*node);
  copy->AddPod(pod);
  return copy;
}

TEST(PodGroups, GroupsAlikePodsAndCountsThemPerNode) {
  int calls = 0;
  PodGroups groups(CountingKey{&calls});
  Snapshot snap = Snapshot::Of({SimpleNode("n1"), SimpleNode("n2")},
                               {SimplePod("a", "", "", "n1", {{"app", "web"}}),
                                SimplePod("b", "", "", "n1", {{"app", "web"}}),
                                SimplePod("c", "", "", "n1", {{"app", "db"}}),
                                SimplePod("d", "", "", "n2", {{"app", "web"}})});
  groups.Sync(snap);
  EXPECT_EQ(groups.live_groups(), 2u);
  const auto& n1 = groups.node(0).counts;
  ASSERT_EQ(n1.size(), 2u);
  EXPECT_EQ(n1[0].second, 2u);  // web
  EXPECT_EQ(n1[1].second, 1u);  // db
  ASSERT_EQ(groups.node(1).counts.size(), 1u);
  EXPECT_EQ(groups.node(1).counts[0].first, n1[0].first);  // the same web group
  EXPECT_EQ(groups.representative(n1[1].first).name, "c");
}

TEST(PodGroups, RebuildsOnlyChangedNodesAndFreesEmptyGroups) {
  int calls = 0;
  PodGroups groups(CountingKey{&calls});
  Snapshot snap = Snapshot::Of({SimpleNode("n1"), SimpleNode("n2")},
                               {SimplePod("a", "", "", "n1", {{"app", "web"}}),
                                SimplePod("b", "", "", "n2", {{"app", "db"}})});
  groups.Sync(snap);
  EXPECT_EQ(calls, 2);
  groups.Sync(snap);
  EXPECT_EQ(calls, 2);  // nothing changed: no pod looked at again
  // n1 gains a pod (a new copy, as the scheduler cache makes): only that pod is keyed.
  snap.ReplaceNode(0, With(snap.nodes()[0], SimplePod("c", "", "", "n1", {{"app", "api"}})));
  snap.FinishReplacing();
  groups.Sync(snap);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(groups.live_groups(), 3u);
  // n2 loses its only pod: the db group goes.
  auto emptied = std::make_shared<NodeInfo>(*snap.nodes()[1]);
  ASSERT_TRUE(emptied->RemovePod("default/b"));
  snap.ReplaceNode(1, emptied);
  snap.FinishReplacing();
  groups.Sync(snap);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(groups.live_groups(), 2u);
  EXPECT_TRUE(groups.node(1).counts.empty());
}

TEST(PodGroups, DomainTablesAreReplacedWhenStaleValuesPileUp) {
  int calls = 0;
  PodGroups groups(CountingKey{&calls});
  const uint32_t key = groups.KeyId(kHost);
  const auto first = groups.Domains(key);
  // One node at a time under ever new names: each name is a new value in the table.
  for (int i = 0; i < 1100; ++i) {
    const std::string name = "node-" + std::to_string(i);
    Snapshot snap = Snapshot::Of({SimpleNode(name, "4", "8Gi", 110, {{kHost, name}})}, {});
    groups.Sync(snap);
    const uint32_t id = groups.Domain(groups.node(0), key);
    ASSERT_NE(id, PodGroups::kNoLabel);
    EXPECT_EQ(groups.Domains(key)->Find(name), id);
  }
  EXPECT_NE(groups.Domains(key), first);  // 2 * 1 node + 1024 values exceeded
  EXPECT_LT(groups.Domains(key)->size(), 100u);
  EXPECT_GT(first->size(), 1000u);  // left to whoever holds it, intact
  EXPECT_EQ(first->Find("node-5"), 5u);
}

// A cycle state made before the plugin replaced its table keeps working: PreScore after the
// replacement interns into the state's own table.
TEST(PodGroups, StateOutlivesATableReplacement) {
  auto anti = [](const std::string& name, const std::string& node) {
    return PodInfoFromYaml(R"(
metadata: {name: )" + name + R"(, labels: {app: web}}
spec:
  nodeName: ")" + node + R"("
  containers: [{name: c, image: pause}]
  affinity:
    podAffinity:
      preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 5
        podAffinityTerm: {labelSelector: {matchLabels: {app: web}}, topologyKey: kubernetes.io/hostname}
    podAntiAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
      - {labelSelector: {matchLabels: {app: web}}, topologyKey: kubernetes.io/hostname}
)");
  };
  auto node = [](const std::string& name) { return SimpleNode(name, "4", "8Gi", 110, {{kHost, name}}); };
  std::unique_ptr<Plugin> plugin;
  ASSERT_TRUE(NewInterPodAffinity(nullptr, &plugin).ok());
  plugin->set_slot(0);
  const auto* pre = dynamic_cast<const PreFilterPlugin*>(plugin.get());
  const auto* filter = dynamic_cast<const FilterPlugin*>(plugin.get());
  const auto* pre_score = dynamic_cast<const PreScorePlugin*>(plugin.get());
  const auto* score = dynamic_cast<const ScorePlugin*>(plugin.get());

  Snapshot snap = Snapshot::Of({node("a"), node("b"), node("c")}, {anti("x", "a"), anti("y", "c")});
  PodInfoPtr pod = anti("p", "");
  CycleState state(1);
  ASSERT_TRUE(pre->PreFilter(state, *pod, snap).ok());
  // Other cycles over clusters of ever new node names, until the hostname table is replaced.
  for (int i = 0; i < 1100; ++i) {
    const std::string name = "other-" + std::to_string(i);
    Snapshot other = Snapshot::Of({node(name)}, {anti("o", name)});
    CycleState other_state(1);
    ASSERT_TRUE(pre->PreFilter(other_state, *pod, other).ok());
  }
  std::vector<const NodeInfo*> nodes;
  for (const auto& n : snap.nodes()) nodes.push_back(n.get());
  ASSERT_TRUE(pre_score->PreScore(state, *pod, nodes, snap).ok());
  std::map<std::string, std::string> verdicts;
  std::map<std::string, int64_t> raw;
  for (const NodeInfo* n : nodes) {
    verdicts[n->name()] = filter->Filter(state, *pod, *n).ToString();
    PluginStatus s;
    raw[n->name()] = score->Score(state, *pod, *n, &s);
  }
  EXPECT_EQ(verdicts, (std::map<std::string, std::string>{
                          {"a", "Unschedulable: node(s) didn't match pod anti-affinity rules"},
                          {"b", "Success"},
                          {"c", "Unschedulable: node(s) didn't match pod anti-affinity rules"}}));
  // Preferred affinity 5 toward x (on a) and y (on c); x and y prefer p alike: 10 each.
  EXPECT_EQ(raw, (std::map<std::string, int64_t>{{"a", 10}, {"b", 0}, {"c", 10}}));
}

}  // namespace
}  // namespace ksim::scheduler::testing
