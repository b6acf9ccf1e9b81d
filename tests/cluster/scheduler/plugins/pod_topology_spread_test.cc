// PodTopologySpread against the Kubernetes docs ("Pod Topology Spread Constraints") and the
// behaviour of Kubernetes' podtopologyspread plugin: the docs' zone examples, several
// constraints, the missing-label verdict, minDomains, nodeAffinityPolicy and
// nodeTaintsPolicy, what is counted, AddPod/RemovePod against a fresh PreFilter, the
// ScheduleAnyway score, args; and a property: Filter with incrementally updated state
// equals a brute-force reading of the skew rule.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <ostream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cluster/scheduler/plugins/pod_topology_spread.h"
#include "tests/cluster/scheduler/scheduler_testing.h"

// Cases are aggregates written with designated initializers that leave defaulted members
// out on purpose; GCC flags those when the aggregate sits inside another.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace ksim::scheduler::testing {
namespace {

using nlohmann::json;

constexpr char kZone[] = "topology.kubernetes.io/zone";
constexpr char kHost[] = "kubernetes.io/hostname";

const std::string kOk = "Success";
const std::string kSkewFail = "Unschedulable: node(s) didn't match pod topology spread constraints";
const std::string kLabelFail =
    "UnschedulableAndUnresolvable: node(s) didn't match pod topology spread constraints (missing required label)";

struct Pts : PluginUnderTest {
  explicit Pts(const json& args = nullptr) : PluginUnderTest(NewPodTopologySpread, args) {}
};

// ---------------------------------------------------------------- building pods and nodes

// One topologySpreadConstraints entry; a null `match_labels` is an empty selector ({}).
json Constraint(const std::string& key, int max_skew, json match_labels = {{"foo", "bar"}},
                const std::string& when = "DoNotSchedule", json extra = json::object()) {
  json c = {{"maxSkew", max_skew},
            {"topologyKey", key},
            {"whenUnsatisfiable", when},
            {"labelSelector", match_labels.is_null() ? json::object() : json{{"matchLabels", match_labels}}}};
  c.update(extra);
  return c;
}

struct P {
  std::string name;
  std::map<std::string, std::string> labels = {{"foo", "bar"}};
  std::string node;  // "" pending
  std::vector<json> constraints;
  std::string ns = "default";
  std::map<std::string, std::string> node_selector;
  std::vector<json> tolerations;
  bool terminating = false;
};

PodInfoPtr Pod(const P& p) {
  json pod = {{"metadata", {{"name", p.name}, {"namespace", p.ns}, {"labels", p.labels}}},
              {"spec", {{"containers", json::array({{{"name", "c"}, {"image", "pause"}}})}}}};
  if (!p.node.empty()) pod["spec"]["nodeName"] = p.node;
  if (!p.constraints.empty()) pod["spec"]["topologySpreadConstraints"] = p.constraints;
  if (!p.node_selector.empty()) pod["spec"]["nodeSelector"] = p.node_selector;
  if (!p.tolerations.empty()) pod["spec"]["tolerations"] = p.tolerations;
  auto api_pod = PodFromYaml(pod.dump());
  if (p.terminating) api_pod->mutable_metadata()->mutable_deletion_timestamp()->set_seconds(1);
  std::shared_ptr<PodInfo> info;
  Status s = PodInfo::Build(api_pod, &info);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return info;
}

// A node with its hostname label, a zone label unless `zone` is empty, and optionally a
// NoSchedule taint dedicated=infra.
std::shared_ptr<const NodeData> ZoneNode(const std::string& name, const std::string& zone, bool tainted = false,
                                         const std::map<std::string, std::string>& extra_labels = {}) {
  json labels = extra_labels;
  labels[kHost] = name;
  if (!zone.empty()) labels[kZone] = zone;
  json node = {{"metadata", {{"name", name}, {"labels", labels}}},
               {"status", {{"allocatable", {{"cpu", "4"}, {"memory", "8Gi"}, {"pods", "110"}}}}}};
  if (tainted) {
    node["spec"]["taints"] = json::array({{{"key", "dedicated"}, {"value", "infra"}, {"effect", "NoSchedule"}}});
  }
  return NodeFromYaml(node.dump());
}

// The docs' cluster: zone A holds node1 and node2, zone B node3 and node4.
std::vector<std::shared_ptr<const NodeData>> DocsNodes() {
  return {ZoneNode("node1", "zoneA"), ZoneNode("node2", "zoneA"), ZoneNode("node3", "zoneB"),
          ZoneNode("node4", "zoneB")};
}


// ---------------------------------------------------------------- Filter

struct FilterCase {
  std::string name;
  std::vector<std::shared_ptr<const NodeData>> nodes;
  std::vector<P> existing;
  P pod;
  std::map<std::string, std::string> want;
};
void PrintTo(const FilterCase& c, std::ostream* os) { *os << c.name; }

class PtsFilter : public ::testing::TestWithParam<FilterCase> {};

TEST_P(PtsFilter, RejectsTheNodesKubernetesRejects) {
  const FilterCase& c = GetParam();
  std::vector<PodInfoPtr> pods;
  for (const P& p : c.existing) pods.push_back(Pod(p));
  Snapshot snap = Snapshot::Of(c.nodes, pods);
  Pts pts;
  EXPECT_EQ(Verdicts(pts, *Pod(c.pod), snap), c.want);
}

std::vector<P> OnePodOn(const std::vector<std::string>& nodes) {
  std::vector<P> out;
  for (size_t i = 0; i < nodes.size(); ++i) out.push_back({.name = "e" + std::to_string(i), .node = nodes[i]});
  return out;
}

std::map<std::string, std::string> Want4(const std::string& n1, const std::string& n2, const std::string& n3,
                                         const std::string& n4) {
  return {{"node1", n1}, {"node2", n2}, {"node3", n3}, {"node4", n4}};
}

// Zones A, B, C with one node each; nodeA and nodeB are in pool "main"; nodeC is tainted
// where asked.
std::vector<std::shared_ptr<const NodeData>> ThreeZones(bool taint_c = false) {
  return {ZoneNode("nodeA", "A", false, {{"pool", "main"}}), ZoneNode("nodeB", "B", false, {{"pool", "main"}}),
          ZoneNode("nodeC", "C", taint_c)};
}

INSTANTIATE_TEST_SUITE_P(
    PodTopologySpread, PtsFilter,
    ::testing::Values(
        // Docs, one constraint: pods on node1, node2, node3; zone A has 2, zone B 1. With
        // maxSkew 1 the pod must go to zone B (2+1-1 = 2 > 1 in zone A).
        FilterCase{"DocsOneConstraint", DocsNodes(), OnePodOn({"node1", "node2", "node3"}),
                   {.name = "p", .constraints = {Constraint(kZone, 1)}}, Want4(kSkewFail, kSkewFail, kOk, kOk)},
        FilterCase{"DocsMaxSkewTwoAllowsEither", DocsNodes(), OnePodOn({"node1", "node2", "node3"}),
                   {.name = "p", .constraints = {Constraint(kZone, 2)}}, Want4(kOk, kOk, kOk, kOk)},
        // Docs, two constraints: zone says zone B, hostname (counts 1,1,1,0) says node4.
        FilterCase{"DocsTwoConstraints", DocsNodes(), OnePodOn({"node1", "node2", "node3"}),
                   {.name = "p", .constraints = {Constraint(kZone, 1), Constraint(kHost, 1)}},
                   Want4(kSkewFail, kSkewFail, kSkewFail, kOk)},
        // A node without the key fails as unresolvable.
        FilterCase{"MissingLabel",
                   {ZoneNode("node1", "zoneA"), ZoneNode("node2", "")},
                   {},
                   {.name = "p", .constraints = {Constraint(kZone, 1)}},
                   {{"node1", kOk}, {"node2", kLabelFail}}},
        // Only DoNotSchedule constraints filter.
        FilterCase{"ScheduleAnywayDoesNotFilter", DocsNodes(), OnePodOn({"node1", "node2", "node3"}),
                   {.name = "p", .constraints = {Constraint(kZone, 1, {{"foo", "bar"}}, "ScheduleAnyway")}},
                   Want4(kSkipped, kSkipped, kSkipped, kSkipped)},
        // A pod its own selector does not match adds nothing to its domain (selfMatch 0).
        FilterCase{"PodNotMatchingItsSelector", DocsNodes(), OnePodOn({"node1", "node2", "node3"}),
                   {.name = "p", .labels = {{"foo", "baz"}}, .constraints = {Constraint(kZone, 1)}},
                   Want4(kOk, kOk, kOk, kOk)},
        // Pods of other namespaces and terminating pods are not counted (Kubernetes'
        // countPodsMatchSelector): zone A really holds 1, zone B 1.
        FilterCase{"OtherNamespacesAndTerminatingPodsDoNotCount",
                   DocsNodes(),
                   {{.name = "a", .node = "node1"},
                    {.name = "b", .node = "node2", .ns = "other"},
                    {.name = "c", .node = "node2", .terminating = true},
                    {.name = "d", .node = "node3"}},
                   {.name = "p", .constraints = {Constraint(kZone, 1)}},
                   Want4(kOk, kOk, kOk, kOk)},
        // Docs, minDomains: with fewer domains than minDomains the global minimum is 0, so
        // zones that already hold a pod reject (1+1-0 > 1).
        FilterCase{"MinDomainsMet", ThreeZones(), OnePodOn({"nodeA", "nodeB", "nodeC"}),
                   {.name = "p", .constraints = {Constraint(kZone, 1, {{"foo", "bar"}}, "DoNotSchedule",
                                                            {{"minDomains", 3}})}},
                   {{"nodeA", kOk}, {"nodeB", kOk}, {"nodeC", kOk}}},
        FilterCase{"MinDomainsNotMet", ThreeZones(), OnePodOn({"nodeA", "nodeB", "nodeC"}),
                   {.name = "p", .constraints = {Constraint(kZone, 1, {{"foo", "bar"}}, "DoNotSchedule",
                                                            {{"minDomains", 4}})}},
                   {{"nodeA", kSkewFail}, {"nodeB", kSkewFail}, {"nodeC", kSkewFail}}},
        // nodeAffinityPolicy Honor (default): zone C, outside the pod's nodeSelector, is no
        // domain, so the minimum is zone A's 1 and zone A fits.
        FilterCase{"NodeAffinityPolicyHonor", ThreeZones(), OnePodOn({"nodeA", "nodeB", "nodeB"}),
                   {.name = "p",
                    .constraints = {Constraint(kZone, 1)},
                    .node_selector = {{"pool", "main"}}},
                   {{"nodeA", kOk}, {"nodeB", kSkewFail}, {"nodeC", kOk}}},
        FilterCase{"NodeAffinityPolicyIgnore", ThreeZones(), OnePodOn({"nodeA", "nodeB", "nodeB"}),
                   {.name = "p",
                    .constraints = {Constraint(kZone, 1, {{"foo", "bar"}}, "DoNotSchedule",
                                               {{"nodeAffinityPolicy", "Ignore"}})},
                    .node_selector = {{"pool", "main"}}},
                   {{"nodeA", kSkewFail}, {"nodeB", kSkewFail}, {"nodeC", kOk}}},
        // nodeTaintsPolicy Ignore (default) counts the tainted zone C (min 0); Honor leaves
        // it out (min 1), unless the pod tolerates the taint.
        FilterCase{"NodeTaintsPolicyIgnore", ThreeZones(true), OnePodOn({"nodeA", "nodeB", "nodeB"}),
                   {.name = "p", .constraints = {Constraint(kZone, 1)}},
                   {{"nodeA", kSkewFail}, {"nodeB", kSkewFail}, {"nodeC", kOk}}},
        FilterCase{"NodeTaintsPolicyHonor", ThreeZones(true), OnePodOn({"nodeA", "nodeB", "nodeB"}),
                   {.name = "p",
                    .constraints = {Constraint(kZone, 1, {{"foo", "bar"}}, "DoNotSchedule",
                                               {{"nodeTaintsPolicy", "Honor"}})}},
                   {{"nodeA", kOk}, {"nodeB", kSkewFail}, {"nodeC", kOk}}},
        FilterCase{"NodeTaintsPolicyHonorTolerated", ThreeZones(true), OnePodOn({"nodeA", "nodeB", "nodeB"}),
                   {.name = "p",
                    .constraints = {Constraint(kZone, 1, {{"foo", "bar"}}, "DoNotSchedule",
                                               {{"nodeTaintsPolicy", "Honor"}})},
                    .tolerations = {{{"key", "dedicated"}, {"operator", "Exists"}}}},
                   {{"nodeA", kSkewFail}, {"nodeB", kSkewFail}, {"nodeC", kOk}}},
        // A node lacking any constraint's key is no domain of the others either: nodeB2
        // (zone B, no rack) does not count toward zone B.
        FilterCase{"NodesNeedEveryKey",
                   {ZoneNode("nodeA", "A", false, {{"rack", "r1"}}), ZoneNode("nodeB", "B", false, {{"rack", "r2"}}),
                    ZoneNode("nodeB2", "B")},
                   OnePodOn({"nodeA", "nodeB2", "nodeB2"}),
                   {.name = "p", .constraints = {Constraint(kZone, 1), Constraint("rack", 5)}},
                   {{"nodeA", kSkewFail}, {"nodeB", kOk}, {"nodeB2", kLabelFail}}}),
    [](const ::testing::TestParamInfo<FilterCase>& param_info) { return param_info.param.name; });

// ---------------------------------------------------------------- AddPod / RemovePod

struct UpdateCase {
  std::string name;
  std::vector<std::shared_ptr<const NodeData>> nodes;
  std::vector<P> existing;
  P pod;
  P changed;  // added on changed.node, or removed (it must be among `existing`)
  bool add = true;
  bool matters = true;  // whether the verdicts change
};
void PrintTo(const UpdateCase& c, std::ostream* os) { *os << c.name; }

class PtsUpdate : public ::testing::TestWithParam<UpdateCase> {};

TEST_P(PtsUpdate, EqualsAFreshPreFilter) {
  const UpdateCase& c = GetParam();
  std::vector<PodInfoPtr> before;
  for (const P& p : c.existing) before.push_back(Pod(p));
  PodInfoPtr changed = Pod(c.changed);
  std::vector<PodInfoPtr> after;
  for (const PodInfoPtr& p : before) {
    if (c.add || p->uid != changed->uid) after.push_back(p);
  }
  if (c.add) after.push_back(changed);
  Snapshot snap_before = Snapshot::Of(c.nodes, before);
  Snapshot snap_after = Snapshot::Of(c.nodes, after);
  PodInfoPtr pod = Pod(c.pod);
  Pts pts;

  CycleState state(1);
  ASSERT_TRUE(pts.pre->PreFilter(state, *pod, snap_before).ok());
  const auto verdicts_before = FilterAllNodes(pts, state, *pod, snap_before, PluginStatus::Success());
  CycleState updated = state.Clone();
  NodeInfo node = *snap_before.Find(changed->node_name);
  PluginStatus s;
  if (c.add) {
    node.AddPod(changed);
    s = pts.pre->AddPod(updated, *pod, *changed, node, snap_before);
  } else {
    ASSERT_TRUE(node.RemovePod(changed->uid));
    s = pts.pre->RemovePod(updated, *pod, *changed, node, snap_before);
  }
  ASSERT_TRUE(s.ok()) << s.ToString();
  const auto fresh = Verdicts(pts, *pod, snap_after);
  EXPECT_EQ(FilterAllNodes(pts, updated, *pod, snap_after, PluginStatus::Success()), fresh);
  EXPECT_EQ(fresh != verdicts_before, c.matters);
  EXPECT_EQ(FilterAllNodes(pts, state, *pod, snap_before, PluginStatus::Success()), verdicts_before);
}

INSTANTIATE_TEST_SUITE_P(
    PodTopologySpread, PtsUpdate,
    ::testing::Values(
        // Zone B (1) was the minimum; after adding there both zones hold 2.
        UpdateCase{"AddingToTheMinimumDomainRaisesTheMinimum", DocsNodes(), OnePodOn({"node1", "node2", "node3"}),
                   {.name = "p", .constraints = {Constraint(kZone, 1)}}, {.name = "x", .node = "node4"}},
        // Hostname: node4 is the only node at 0; once it holds a pod the minimum is 1.
        UpdateCase{"AddingToTheOnlyEmptyDomain", DocsNodes(), OnePodOn({"node1", "node2", "node3"}),
                   {.name = "p", .constraints = {Constraint(kHost, 1)}}, {.name = "x", .node = "node4"}},
        UpdateCase{"RemovingAVictimLowersItsDomain", DocsNodes(), OnePodOn({"node1", "node2", "node3"}),
                   {.name = "p", .constraints = {Constraint(kZone, 1)}}, {.name = "e0", .node = "node1"}, false},
        UpdateCase{"OtherNamespacesDoNotCount", DocsNodes(), OnePodOn({"node1", "node2", "node3"}),
                   {.name = "p", .constraints = {Constraint(kZone, 1)}},
                   {.name = "x", .node = "node4", .ns = "other"}, true, false},
        UpdateCase{"NonMatchingPodsDoNotCount", DocsNodes(), OnePodOn({"node1", "node2", "node3"}),
                   {.name = "p", .constraints = {Constraint(kZone, 1)}},
                   {.name = "x", .labels = {{"foo", "baz"}}, .node = "node4"}, true, false},
        UpdateCase{"ExcludedNodesDoNotCount", ThreeZones(true), OnePodOn({"nodeA", "nodeB"}),
                   {.name = "p",
                    .constraints = {Constraint(kZone, 1, {{"foo", "bar"}}, "DoNotSchedule",
                                               {{"nodeTaintsPolicy", "Honor"}})}},
                   {.name = "x", .node = "nodeC"}, true, false}),
    [](const ::testing::TestParamInfo<UpdateCase>& param_info) { return param_info.param.name; });

// ---------------------------------------------------------------- Score

struct ScoreCase {
  std::string name;
  std::vector<std::shared_ptr<const NodeData>> nodes;
  std::vector<P> existing;
  P pod;
  std::map<std::string, int64_t> want;  // normalized; empty: PreScore skips
};
void PrintTo(const ScoreCase& c, std::ostream* os) { *os << c.name; }

class PtsScore : public ::testing::TestWithParam<ScoreCase> {};


TEST_P(PtsScore, FewerMatchingPodsScoreHigher) {
  const ScoreCase& c = GetParam();
  std::vector<PodInfoPtr> pods;
  for (const P& p : c.existing) pods.push_back(Pod(p));
  Snapshot snap = Snapshot::Of(c.nodes, pods);
  Pts pts;
  auto got = ScoreAllNodes(pts, *Pod(c.pod), snap);
  if (c.want.empty()) {
    EXPECT_FALSE(got.has_value());
    return;
  }
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, c.want);
}

std::map<std::string, int64_t> Scores4(int64_t n1, int64_t n2, int64_t n3, int64_t n4) {
  return {{"node1", n1}, {"node2", n2}, {"node3", n3}, {"node4", n4}};
}

json Soft(const std::string& key, int max_skew) {
  return Constraint(key, max_skew, {{"foo", "bar"}}, "ScheduleAnyway");
}

INSTANTIATE_TEST_SUITE_P(
    PodTopologySpread, PtsScore,
    ::testing::Values(
        // Zone A holds 2, zone B 1; 2 zones weigh log(2+2): raw round(2*1.386) = 3 and
        // round(1.386) = 1; normalized 100*(max+min-raw)/max: 100*1/3 = 33 and 100.
        ScoreCase{"Zones", DocsNodes(), OnePodOn({"node1", "node1", "node3"}),
                  {.name = "p", .constraints = {Soft(kZone, 1)}}, Scores4(33, 33, 100, 100)},
        // Hostname counts each node's own pods; 4 nodes weigh log(6) = 1.79: raw 4, 0, 2, 0.
        ScoreCase{"Hostname", DocsNodes(), OnePodOn({"node1", "node1", "node3"}),
                  {.name = "p", .constraints = {Soft(kHost, 1)}}, Scores4(0, 100, 50, 100)},
        // maxSkew 3 adds 2 to every raw score, softening differences: raw 6, 2, 4, 2.
        ScoreCase{"MaxSkewWatersDown", DocsNodes(), OnePodOn({"node1", "node1", "node3"}),
                  {.name = "p", .constraints = {Soft(kHost, 3)}}, Scores4(33, 100, 66, 100)},
        ScoreCase{"NoMatchingPodsAllScoreMax", DocsNodes(), {},
                  {.name = "p", .constraints = {Soft(kZone, 1)}}, Scores4(100, 100, 100, 100)},
        // A feasible node without the key is ignored: 0, and out of the min/max.
        ScoreCase{"NodeWithoutTheKeyScoresZero",
                  {ZoneNode("node1", "zoneA"), ZoneNode("node2", "zoneB"), ZoneNode("node3", "")},
                  OnePodOn({"node1", "node3", "node3"}),
                  {.name = "p", .constraints = {Soft(kZone, 1)}},
                  {{"node1", 0}, {"node2", 100}, {"node3", 0}}},
        ScoreCase{"DoNotScheduleDoesNotScore", DocsNodes(), OnePodOn({"node1"}),
                  {.name = "p", .constraints = {Constraint(kZone, 1)}}, {}}),
    [](const ::testing::TestParamInfo<ScoreCase>& param_info) { return param_info.param.name; });

// ---------------------------------------------------------------- args

TEST(PodTopologySpread, Args) {
  std::unique_ptr<Plugin> p;
  EXPECT_TRUE(NewPodTopologySpread(nullptr, &p).ok());
  EXPECT_TRUE(NewPodTopologySpread({{"defaultingType", "List"}, {"defaultConstraints", json::array()}}, &p).ok());
  EXPECT_FALSE(NewPodTopologySpread({{"defaultingType", "Custom"}}, &p).ok());
  Status s = NewPodTopologySpread(
      {{"defaultingType", "List"}, {"defaultConstraints", json::array({Constraint(kZone, 1)})}}, &p);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("args.defaultConstraints"), std::string::npos) << s.message();
  EXPECT_FALSE(NewPodTopologySpread({{"defaultConstraint", json::array()}}, &p).ok());
}

// ---------------------------------------------------------------- property

// The skew rule read plainly over the pods placed now.
std::string BruteForceVerdict(const PodInfo& pod, const std::vector<PodInfoPtr>& placed,
                              const std::vector<std::shared_ptr<const NodeData>>& nodes, const NodeData& node) {
  std::vector<const SpreadConstraint*> hard;
  for (const SpreadConstraint& c : pod.spread_constraints) {
    if (c.do_not_schedule) hard.push_back(&c);
  }
  auto has_all_keys = [&](const NodeData& n) {
    for (const SpreadConstraint* c : hard) {
      if (!n.labels.contains(c->topology_key)) return false;
    }
    return true;
  };
  auto tolerated = [&](const NodeData& n) {
    for (const Taint& taint : n.taints) {
      if (taint.effect == TaintEffect::kPreferNoSchedule) continue;
      bool ok = false;
      for (const Toleration& t : pod.tolerations) ok = ok || t.Tolerates(taint);
      if (!ok) return false;
    }
    return true;
  };
  auto node_selector_ok = [&](const NodeData& n) {
    for (const auto& [k, v] : pod.node_selector) {
      auto it = n.labels.find(k);
      if (it == n.labels.end() || it->second != v) return false;
    }
    return true;
  };
  for (const SpreadConstraint* c : hard) {
    if (!node.labels.contains(c->topology_key)) return kLabelFail;
    auto eligible = [&](const NodeData& n) {
      return has_all_keys(n) && (!c->honor_node_affinity || node_selector_ok(n)) &&
             (!c->honor_node_taints || tolerated(n));
    };
    std::map<std::string, int64_t> count;  // domain -> matching pods
    for (const auto& n : nodes) {
      if (eligible(*n)) count[n->labels.at(c->topology_key)] += 0;
    }
    for (const PodInfoPtr& q : placed) {
      const NodeData* n = nullptr;
      for (const auto& candidate : nodes) {
        if (candidate->name == q->node_name) n = candidate.get();
      }
      if (n == nullptr || !eligible(*n) || q->ns != pod.ns || q->terminating) continue;
      if (c->selector.Empty() || !c->selector.Matches(q->labels)) continue;
      count[n->labels.at(c->topology_key)] += 1;
    }
    int64_t min = 0;
    if (count.size() >= static_cast<size_t>(c->min_domains)) {
      min = std::numeric_limits<int64_t>::max();
      for (const auto& [domain, n] : count) min = std::min(min, n);
    }
    auto it = count.find(node.labels.at(c->topology_key));
    const int64_t here = it == count.end() ? 0 : it->second;
    if (here + (c->selector.Matches(pod.labels) ? 1 : 0) - min > c->max_skew) return kSkewFail;
  }
  return kOk;
}

std::string Pick(const std::vector<std::string>& options) { return *rc::gen::elementOf(options); }

// A random small cluster: nodes in zones a-c (or none), some in pool main, most in a rack,
// some tainted; pods of two namespaces, some terminating, each maybe placed.
struct RandomCluster {
  std::vector<std::shared_ptr<const NodeData>> nodes;
  std::vector<PodInfoPtr> all;
  std::vector<bool> placed;

  std::vector<PodInfoPtr> Placed() const {
    std::vector<PodInfoPtr> out;
    for (size_t i = 0; i < all.size(); ++i) {
      if (placed[i]) out.push_back(all[i]);
    }
    return out;
  }
};

std::map<std::string, std::string> RandomLabels() {
  std::map<std::string, std::string> labels;
  const std::string app = Pick({"x", "y", ""});
  if (!app.empty()) labels["app"] = app;
  return labels;
}

RandomCluster GenCluster() {
  RandomCluster c;
  std::vector<std::string> node_names;
  const int num_nodes = *rc::gen::inRange(1, 7);
  for (int i = 0; i < num_nodes; ++i) {
    const std::string name = "n" + std::to_string(i);
    std::map<std::string, std::string> extra;
    if (*rc::gen::arbitrary<bool>()) extra["pool"] = Pick({"main", "spare"});
    if (*rc::gen::inRange(0, 4) != 0) extra["rack"] = Pick({"r1", "r2"});
    c.nodes.push_back(ZoneNode(name, Pick({"a", "b", "c", ""}), *rc::gen::inRange(0, 4) == 0, extra));
    node_names.push_back(name);
  }
  const int num_pods = *rc::gen::inRange(0, 12);
  for (int i = 0; i < num_pods; ++i) {
    c.all.push_back(Pod({.name = "e" + std::to_string(i),
                         .labels = RandomLabels(),
                         .node = *rc::gen::elementOf(node_names),
                         .ns = Pick({"default", "other"}),
                         .terminating = *rc::gen::inRange(0, 6) == 0}));
    c.placed.push_back(*rc::gen::arbitrary<bool>());
  }
  return c;
}

// A pending pod with 1-2 constraints (DoNotSchedule only unless `soft`), maybe a
// nodeSelector and a toleration of the taint.
PodInfoPtr GenIncoming(const std::string& name, bool soft) {
  P incoming{.name = name, .labels = RandomLabels()};
  const int num_constraints = *rc::gen::inRange(1, 3);
  for (int i = 0; i < num_constraints; ++i) {
    const bool hard = !soft || *rc::gen::arbitrary<bool>();
    json extra = {{"nodeAffinityPolicy", Pick({"Honor", "Ignore"})}, {"nodeTaintsPolicy", Pick({"Honor", "Ignore"})}};
    if (hard) extra["minDomains"] = *rc::gen::inRange(1, 5);
    const std::string app = Pick({"x", "y", ""});
    json match = app.empty() ? json(nullptr) : json{{"app", app}};
    incoming.constraints.push_back(Constraint(Pick({kZone, kHost, "rack"}), *rc::gen::inRange(1, 4), match,
                                              hard ? "DoNotSchedule" : "ScheduleAnyway", extra));
  }
  if (*rc::gen::arbitrary<bool>()) incoming.node_selector["pool"] = "main";
  if (*rc::gen::arbitrary<bool>()) incoming.tolerations.push_back({{"key", "dedicated"}, {"operator", "Exists"}});
  return Pod(incoming);
}

RC_GTEST_PROP(PodTopologySpreadProperty, IncrementalFilterEqualsBruteForce, ()) {
  RandomCluster cluster = GenCluster();
  const PodInfoPtr pod = GenIncoming("p", false);
  Snapshot snap = Snapshot::Of(cluster.nodes, cluster.Placed());
  Pts pts;
  CycleState state(1);
  RC_ASSERT(pts.pre->PreFilter(state, *pod, snap).ok());
  const int steps = *rc::gen::inRange(0, 10);
  for (int step = 0; step < steps && !cluster.all.empty(); ++step) {
    const size_t i = *rc::gen::inRange<size_t>(0, cluster.all.size());
    const PodInfo& other = *cluster.all[i];
    NodeInfo node = *snap.Find(other.node_name);
    PluginStatus s = cluster.placed[i] ? pts.pre->RemovePod(state, *pod, other, node, snap)
                                       : pts.pre->AddPod(state, *pod, other, node, snap);
    RC_ASSERT(s.ok());
    cluster.placed[i] = !cluster.placed[i];
  }
  for (const auto& node : cluster.nodes) {
    const std::string got = pts.filter->Filter(state, *pod, *snap.Find(node->name)).ToString();
    RC_ASSERT(got == BruteForceVerdict(*pod, cluster.Placed(), cluster.nodes, *node));
  }
}

// Kubernetes' ScheduleAnyway scoring read plainly, every node feasible: nodes lacking a key
// score 0; per constraint, weight log(domains + 2); a node's raw score sums count * weight +
// maxSkew - 1 (hostname counts the node's own pods; other keys the pods of every included
// node in the domain); then max * (max + min - raw) / max.
std::map<std::string, int64_t> BruteForceScores(const PodInfo& pod, const std::vector<PodInfoPtr>& placed,
                                                const std::vector<std::shared_ptr<const NodeData>>& nodes) {
  std::vector<const SpreadConstraint*> soft;
  for (const SpreadConstraint& c : pod.spread_constraints) {
    if (!c.do_not_schedule) soft.push_back(&c);
  }
  auto has_all_keys = [&](const NodeData& n) {
    for (const SpreadConstraint* c : soft) {
      if (!n.labels.contains(c->topology_key)) return false;
    }
    return true;
  };
  auto counted = [&](const SpreadConstraint& c, const NodeData& n) {
    int64_t count = 0;
    for (const PodInfoPtr& q : placed) {
      if (q->node_name != n.name || q->ns != pod.ns || q->terminating) continue;
      if (!c.selector.Empty() && c.selector.Matches(q->labels)) ++count;
    }
    return count;
  };
  auto included = [&](const SpreadConstraint& c, const NodeData& n) {
    if (c.honor_node_affinity) {
      for (const auto& [k, v] : pod.node_selector) {
        auto it = n.labels.find(k);
        if (it == n.labels.end() || it->second != v) return false;
      }
    }
    if (c.honor_node_taints) {
      for (const Taint& taint : n.taints) {
        bool ok = taint.effect == TaintEffect::kPreferNoSchedule;
        for (const Toleration& t : pod.tolerations) ok = ok || t.Tolerates(taint);
        if (!ok) return false;
      }
    }
    return true;
  };
  size_t scored = 0;
  for (const auto& n : nodes) scored += has_all_keys(*n) ? 1 : 0;
  std::map<std::string, int64_t> raw;
  for (const auto& n : nodes) {
    if (!has_all_keys(*n)) continue;
    double score = 0;
    for (const SpreadConstraint* c : soft) {
      std::set<std::string> domains;
      for (const auto& m : nodes) {
        if (has_all_keys(*m)) domains.insert(m->labels.at(c->topology_key));
      }
      const bool hostname = c->topology_key == kHost;
      const double weight = std::log(static_cast<double>((hostname ? scored : domains.size()) + 2));
      int64_t count = 0;
      if (hostname) {
        count = counted(*c, *n);
      } else {
        for (const auto& m : nodes) {
          if (has_all_keys(*m) && included(*c, *m) &&
              m->labels.at(c->topology_key) == n->labels.at(c->topology_key)) {
            count += counted(*c, *m);
          }
        }
      }
      score += static_cast<double>(count) * weight + static_cast<double>(c->max_skew - 1);
    }
    raw[n->name] = static_cast<int64_t>(std::round(score));
  }
  int64_t min = std::numeric_limits<int64_t>::max();
  int64_t max = 0;
  for (const auto& [name, score] : raw) {
    min = std::min(min, score);
    max = std::max(max, score);
  }
  std::map<std::string, int64_t> out;
  for (const auto& n : nodes) {
    auto it = raw.find(n->name);
    if (it == raw.end()) {
      out[n->name] = 0;
    } else {
      out[n->name] = max == 0 ? kMaxNodeScore : kMaxNodeScore * (max + min - it->second) / max;
    }
  }
  return out;
}

// One plugin instance across cycles while the cluster changes the way the scheduler cache
// changes it (a node replaced by a copy with a pod more or less, or a snapshot built anew):
// its cached pod groups must never show.
RC_GTEST_PROP(PodTopologySpreadProperty, LongLivedPluginAgreesWithBruteForceAsTheClusterChanges, ()) {
  RandomCluster cluster = GenCluster();
  Snapshot snap = Snapshot::Of(cluster.nodes, cluster.Placed());
  Pts pts;
  const int cycles = *rc::gen::inRange(1, 8);
  for (int cycle = 0; cycle < cycles; ++cycle) {
    if (*rc::gen::inRange(0, 4) == 0 || cluster.all.empty()) {
      snap = Snapshot::Of(cluster.nodes, cluster.Placed());
    } else {
      const size_t i = *rc::gen::inRange<size_t>(0, cluster.all.size());
      const size_t pos = snap.IndexOf(cluster.all[i]->node_name);
      auto copy = std::make_shared<NodeInfo>(*snap.nodes()[pos]);
      if (cluster.placed[i]) {
        RC_ASSERT(copy->RemovePod(cluster.all[i]->uid));
      } else {
        copy->AddPod(cluster.all[i]);
      }
      cluster.placed[i] = !cluster.placed[i];
      snap.ReplaceNode(pos, copy);
      snap.FinishReplacing();
    }
    const PodInfoPtr pod = GenIncoming("p" + std::to_string(cycle), true);
    const bool any_hard = std::any_of(pod->spread_constraints.begin(), pod->spread_constraints.end(),
                                      [](const SpreadConstraint& c) { return c.do_not_schedule; });
    const bool any_soft = std::any_of(pod->spread_constraints.begin(), pod->spread_constraints.end(),
                                      [](const SpreadConstraint& c) { return !c.do_not_schedule; });
    const auto verdicts = Verdicts(pts, *pod, snap);
    for (const auto& node : cluster.nodes) {
      const std::string& got = verdicts.at(node->name);
      if (!any_hard) {
        RC_ASSERT(got == kSkipped);
      } else {
        RC_ASSERT(got == BruteForceVerdict(*pod, cluster.Placed(), cluster.nodes, *node));
      }
    }
    const auto scores = ScoreAllNodes(pts, *pod, snap);
    RC_ASSERT(scores.has_value() == any_soft);
    if (any_soft) RC_ASSERT(*scores == BruteForceScores(*pod, cluster.Placed(), cluster.nodes));
  }
}

}  // namespace
}  // namespace ksim::scheduler::testing
