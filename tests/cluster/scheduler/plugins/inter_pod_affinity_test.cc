// InterPodAffinity against the Kubernetes docs ("Assigning Pods to Nodes": inter-pod
// affinity and anti-affinity) and the behaviour of Kubernetes' interpodaffinity plugin:
// which nodes Filter rejects and with which code, the first-pod-of-a-group exception,
// namespaces and namespaceSelector, AddPod/RemovePod against a fresh PreFilter, scoring of
// preferred terms, args; and a property: Filter with incrementally updated state equals a
// brute-force reading of the rules.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>
#include <map>
#include <ostream>
#include <optional>
#include <string>
#include <vector>

#include "cluster/scheduler/framework/schedule_one.h"
#include "cluster/scheduler/plugins/inter_pod_affinity.h"
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
const std::string kAffinityFail = "UnschedulableAndUnresolvable: node(s) didn't match pod affinity rules";
const std::string kAntiFail = "Unschedulable: node(s) didn't match pod anti-affinity rules";
const std::string kExistingFail = "Unschedulable: node(s) didn't satisfy existing pods anti-affinity rules";

struct Ipa : PluginUnderTest {
  explicit Ipa(const json& args = nullptr) : PluginUnderTest(NewInterPodAffinity, args) {}
};

// ---------------------------------------------------------------- building pods and nodes

json Term(json match_labels, const std::string& topology_key, json extra = json::object()) {
  json term = {{"labelSelector", {{"matchLabels", std::move(match_labels)}}}, {"topologyKey", topology_key}};
  term.update(extra);
  return term;
}
json Weighted(int weight, json term) { return {{"weight", weight}, {"podAffinityTerm", std::move(term)}}; }

// spec.affinity from required / preferred affinity and anti-affinity terms.
struct Affinity {
  std::vector<json> required;
  std::vector<json> anti;
  std::vector<json> preferred;
  std::vector<json> preferred_anti;
};

json AffinityJson(const Affinity& a) {
  json out = json::object();
  auto put = [&](const char* kind, const char* when, const std::vector<json>& terms) {
    if (!terms.empty()) out[kind][when] = terms;
  };
  put("podAffinity", "requiredDuringSchedulingIgnoredDuringExecution", a.required);
  put("podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution", a.anti);
  put("podAffinity", "preferredDuringSchedulingIgnoredDuringExecution", a.preferred);
  put("podAntiAffinity", "preferredDuringSchedulingIgnoredDuringExecution", a.preferred_anti);
  return out;
}

struct P {
  std::string name;
  std::map<std::string, std::string> labels;
  std::string node;  // "" pending
  Affinity affinity;
  std::string ns = "default";
  int priority = 0;
};

PodInfoPtr Pod(const P& p) {
  json pod = {{"metadata", {{"name", p.name}, {"namespace", p.ns}, {"labels", p.labels}}},
              {"spec", {{"containers", json::array({{{"name", "c"}, {"image", "pause"}}})}, {"priority", p.priority}}}};
  if (!p.node.empty()) pod["spec"]["nodeName"] = p.node;
  json affinity = AffinityJson(p.affinity);
  if (!affinity.empty()) pod["spec"]["affinity"] = affinity;
  return PodInfoFromYaml(pod.dump());
}

// A node with its hostname label and, unless `zone` is empty, a zone label.
std::shared_ptr<const NodeData> ZoneNode(const std::string& name, const std::string& zone) {
  std::map<std::string, std::string> labels{{kHost, name}};
  if (!zone.empty()) labels[kZone] = zone;
  return SimpleNode(name, "4", "8Gi", 110, labels);
}

// n1, n2 in zone a; n3 in zone b; n4 without a zone label.
std::vector<std::shared_ptr<const NodeData>> FourNodes() {
  return {ZoneNode("n1", "a"), ZoneNode("n2", "a"), ZoneNode("n3", "b"), ZoneNode("n4", "")};
}

using NamespaceLabels = std::map<std::string, Labels, std::less<>>;


// ---------------------------------------------------------------- Filter

struct FilterCase {
  std::string name;
  std::vector<P> existing;
  P pod;
  std::map<std::string, std::string> want;  // n1..n4
  NamespaceLabels ns_labels = {};
};
void PrintTo(const FilterCase& c, std::ostream* os) { *os << c.name; }

class IpaFilter : public ::testing::TestWithParam<FilterCase> {};

TEST_P(IpaFilter, RejectsTheNodesKubernetesRejects) {
  const FilterCase& c = GetParam();
  std::vector<PodInfoPtr> pods;
  for (const P& p : c.existing) pods.push_back(Pod(p));
  Snapshot snap = Snapshot::Of(FourNodes(), pods, c.ns_labels);
  Ipa ipa;
  EXPECT_EQ(Verdicts(ipa, *Pod(c.pod), snap), c.want);
}

std::map<std::string, std::string> Want(const std::string& n1, const std::string& n2, const std::string& n3,
                                        const std::string& n4) {
  return {{"n1", n1}, {"n2", n2}, {"n3", n3}, {"n4", n4}};
}

const NamespaceLabels kTeams = {{"default", {{"team", "blue"}}}, {"other", {{"team", "blue"}}},
                                {"third", {{"team", "red"}}}};

INSTANTIATE_TEST_SUITE_P(
    InterPodAffinity, IpaFilter,
    ::testing::Values(
        // Docs: podAffinity with topologyKey zone places the pod in a zone that runs a pod
        // labelled security=S1. Kubernetes also requires the node to carry the key.
        FilterCase{"AffinityAdmitsTheZoneOfAMatchingPod",
                   {{.name = "s1", .labels = {{"security", "S1"}}, .node = "n1"}},
                   {.name = "p", .affinity = {.required = {Term({{"security", "S1"}}, kZone)}}},
                   Want(kOk, kOk, kAffinityFail, kAffinityFail)},
        // Kubernetes' satisfyPodAffinity: when nothing in the cluster matches the terms and
        // the pod matches them itself, any node with the topology keys fits (the first pod
        // of a group that wants to be together).
        FilterCase{"FirstPodOfAGroupMatchingItself",
                   {{.name = "other", .labels = {{"security", "S2"}}, .node = "n1"}},
                   {.name = "p",
                    .labels = {{"security", "S1"}},
                    .affinity = {.required = {Term({{"security", "S1"}}, kZone)}}},
                   Want(kOk, kOk, kOk, kAffinityFail)},
        FilterCase{"NoMatchAndThePodDoesNotMatchItself",
                   {},
                   {.name = "p", .affinity = {.required = {Term({{"security", "S1"}}, kZone)}}},
                   Want(kAffinityFail, kAffinityFail, kAffinityFail, kAffinityFail)},
        FilterCase{"AMatchElsewhereEndsTheFirstPodException",
                   {{.name = "s1", .labels = {{"security", "S1"}}, .node = "n3"}},
                   {.name = "p",
                    .labels = {{"security", "S1"}},
                    .affinity = {.required = {Term({{"security", "S1"}}, kZone)}}},
                   Want(kAffinityFail, kAffinityFail, kOk, kAffinityFail)},
        // A matching pod on a node without the key counts in no domain, so the cluster
        // still holds "no match" and the exception applies.
        FilterCase{"AMatchOnANodeWithoutTheKeyIsNoMatch",
                   {{.name = "s1", .labels = {{"security", "S1"}}, .node = "n4"}},
                   {.name = "p",
                    .labels = {{"security", "S1"}},
                    .affinity = {.required = {Term({{"security", "S1"}}, kZone)}}},
                   Want(kOk, kOk, kOk, kAffinityFail)},
        // Several affinity terms must all match one and the same existing pod.
        FilterCase{"AllAffinityTermsMustMatchOnePod",
                   {{.name = "s1", .labels = {{"security", "S1"}}, .node = "n1"},
                    {.name = "web", .labels = {{"app", "web"}}, .node = "n1"},
                    {.name = "both", .labels = {{"security", "S1"}, {"app", "web"}}, .node = "n3"}},
                   {.name = "p",
                    .affinity = {.required = {Term({{"security", "S1"}}, kZone), Term({{"app", "web"}}, kHost)}}},
                   Want(kAffinityFail, kAffinityFail, kOk, kAffinityFail)},
        // Docs: podAntiAffinity with topologyKey hostname keeps replicas off each other's
        // nodes. Anti-affinity is Unschedulable: evicting the pod there may help.
        FilterCase{"AntiAffinityByHostname",
                   {{.name = "s1", .labels = {{"app", "store"}}, .node = "n1"},
                    {.name = "s2", .labels = {{"app", "store"}}, .node = "n2"}},
                   {.name = "p", .affinity = {.anti = {Term({{"app", "store"}}, kHost)}}},
                   Want(kAntiFail, kAntiFail, kOk, kOk)},
        // A node without the key is in no domain, so anti-affinity cannot reject it.
        FilterCase{"AntiAffinityByZone",
                   {{.name = "s1", .labels = {{"app", "store"}}, .node = "n1"}},
                   {.name = "p", .affinity = {.anti = {Term({{"app", "store"}}, kZone)}}},
                   Want(kAntiFail, kAntiFail, kOk, kOk)},
        // Symmetry: an existing pod's required anti-affinity keeps matching pods out of its
        // domain, even though the incoming pod has no terms.
        FilterCase{"ExistingPodsAntiAffinityRejectsItsDomain",
                   {{.name = "db", .node = "n3", .affinity = {.anti = {Term({{"app", "web"}}, kZone)}}}},
                   {.name = "p", .labels = {{"app", "web"}}},
                   Want(kOk, kOk, kExistingFail, kOk)},
        // Kubernetes skips the plugin when no term of the pod's and no existing pod's
        // anti-affinity term involves it.
        FilterCase{"ExistingAntiAffinityNotSelectingThePodSkips",
                   {{.name = "db", .node = "n3", .affinity = {.anti = {Term({{"app", "api"}}, kZone)}}}},
                   {.name = "p", .labels = {{"app", "web"}}},
                   Want(kSkipped, kSkipped, kSkipped, kSkipped)},
        // Docs: a term without namespaces or namespaceSelector means the pod's own namespace.
        FilterCase{"TermDefaultsToThePodsNamespace",
                   {{.name = "s1", .labels = {{"app", "store"}}, .node = "n1", .ns = "other"}},
                   {.name = "p", .affinity = {.anti = {Term({{"app", "store"}}, kHost)}}},
                   Want(kOk, kOk, kOk, kOk)},
        FilterCase{"TermNamespacesList",
                   {{.name = "s1", .labels = {{"app", "store"}}, .node = "n1", .ns = "other"}},
                   {.name = "p",
                    .affinity = {.anti = {Term({{"app", "store"}}, kHost, {{"namespaces", {"other"}}})}}},
                   Want(kAntiFail, kOk, kOk, kOk)},
        // Docs: namespaceSelector selects namespaces by their labels.
        FilterCase{"NamespaceSelector",
                   {{.name = "s1", .labels = {{"app", "store"}}, .node = "n1", .ns = "other"},
                    {.name = "s3", .labels = {{"app", "store"}}, .node = "n3", .ns = "third"}},
                   {.name = "p",
                    .affinity = {.anti = {Term({{"app", "store"}}, kHost,
                                               {{"namespaceSelector", {{"matchLabels", {{"team", "blue"}}}}}})}}},
                   Want(kAntiFail, kOk, kOk, kOk), kTeams},
        // Docs: an empty namespaceSelector ({}) selects every namespace.
        FilterCase{"EmptyNamespaceSelectorSelectsAll",
                   {{.name = "s1", .labels = {{"app", "store"}}, .node = "n1", .ns = "other"},
                    {.name = "s3", .labels = {{"app", "store"}}, .node = "n3", .ns = "third"}},
                   {.name = "p",
                    .affinity = {.anti = {Term({{"app", "store"}}, kHost, {{"namespaceSelector", json::object()}})}}},
                   Want(kAntiFail, kOk, kAntiFail, kOk), kTeams},
        // An existing pod's namespaceSelector is matched against the incoming pod's
        // namespace labels.
        FilterCase{"ExistingPodsNamespaceSelectorSeesTheIncomingNamespace",
                   {{.name = "db",
                     .node = "n1",
                     .affinity = {.anti = {Term({{"app", "web"}}, kHost,
                                                {{"namespaceSelector", {{"matchLabels", {{"team", "blue"}}}}}})}},
                     .ns = "third"}},
                   {.name = "p", .labels = {{"app", "web"}}, .ns = "other"},
                   Want(kExistingFail, kOk, kOk, kOk), kTeams},
        // Kubernetes checks affinity, then the pod's anti-affinity, then existing pods'.
        FilterCase{"AffinityIsCheckedFirst",
                   {{.name = "db", .labels = {{"app", "db"}}, .node = "n1"},
                    {.name = "store", .labels = {{"app", "store"}}, .node = "n1"},
                    {.name = "guard", .node = "n3", .affinity = {.anti = {Term({{"app", "web"}}, kZone)}}}},
                   {.name = "p",
                    .labels = {{"app", "web"}},
                    .affinity = {.required = {Term({{"app", "db"}}, kZone)},
                                 .anti = {Term({{"app", "store"}}, kHost)}}},
                   Want(kAntiFail, kOk, kAffinityFail, kAffinityFail)}),
    [](const ::testing::TestParamInfo<FilterCase>& param_info) { return param_info.param.name; });

TEST(InterPodAffinity, SkipsWithoutTermsAnywhere) {
  Snapshot snap = Snapshot::Of(FourNodes(), {Pod({.name = "a", .labels = {{"app", "web"}}, .node = "n1"})});
  Ipa ipa;
  CycleState state(1);
  EXPECT_TRUE(ipa.pre->PreFilter(state, *Pod({.name = "p", .labels = {{"app", "web"}}}), snap).IsSkip());
}

// ---------------------------------------------------------------- AddPod / RemovePod

// The state after AddPod/RemovePod must give the verdicts a fresh PreFilter gives on the
// changed cluster (preemption relies on it to try victims and nominated pods).
struct UpdateCase {
  std::string name;
  std::vector<P> existing;
  P pod;
  P changed;  // added on changed.node, or removed (it must be among `existing`)
  bool add = true;
};
void PrintTo(const UpdateCase& c, std::ostream* os) { *os << c.name; }

class IpaUpdate : public ::testing::TestWithParam<UpdateCase> {};

TEST_P(IpaUpdate, EqualsAFreshPreFilter) {
  const UpdateCase& c = GetParam();
  std::vector<PodInfoPtr> before;
  for (const P& p : c.existing) before.push_back(Pod(p));
  PodInfoPtr changed = Pod(c.changed);
  std::vector<PodInfoPtr> after;
  for (const PodInfoPtr& p : before) {
    if (c.add || p->uid != changed->uid) after.push_back(p);
  }
  if (c.add) after.push_back(changed);
  Snapshot snap_before = Snapshot::Of(FourNodes(), before);
  Snapshot snap_after = Snapshot::Of(FourNodes(), after);
  PodInfoPtr pod = Pod(c.pod);
  Ipa ipa;

  CycleState state(1);
  ASSERT_TRUE(ipa.pre->PreFilter(state, *pod, snap_before).ok());
  const auto verdicts_before = FilterAllNodes(ipa, state, *pod, snap_before, PluginStatus::Success());
  CycleState updated = state.Clone();
  NodeInfo node = *snap_before.Find(changed->node_name);
  PluginStatus s;
  if (c.add) {
    node.AddPod(changed);
    s = ipa.pre->AddPod(updated, *pod, *changed, node, snap_before);
  } else {
    ASSERT_TRUE(node.RemovePod(changed->uid));
    s = ipa.pre->RemovePod(updated, *pod, *changed, node, snap_before);
  }
  ASSERT_TRUE(s.ok()) << s.ToString();
  const auto fresh = Verdicts(ipa, *pod, snap_after);
  EXPECT_EQ(FilterAllNodes(ipa, updated, *pod, snap_after, PluginStatus::Success()), fresh);
  EXPECT_NE(fresh, verdicts_before) << "the change should matter in this case";
  // The clone was updated, not the original.
  EXPECT_EQ(FilterAllNodes(ipa, state, *pod, snap_before, PluginStatus::Success()), verdicts_before);
}

INSTANTIATE_TEST_SUITE_P(
    InterPodAffinity, IpaUpdate,
    ::testing::Values(
        UpdateCase{"AddingAMatchEndsTheFirstPodException",
                   {},
                   {.name = "p", .labels = {{"app", "web"}}, .affinity = {.required = {Term({{"app", "web"}}, kZone)}}},
                   {.name = "w", .labels = {{"app", "web"}}, .node = "n3"}},
        UpdateCase{"RemovingTheOnlyMatchRestoresIt",
                   {{.name = "w", .labels = {{"app", "web"}}, .node = "n3"}},
                   {.name = "p", .labels = {{"app", "web"}}, .affinity = {.required = {Term({{"app", "web"}}, kZone)}}},
                   {.name = "w", .labels = {{"app", "web"}}, .node = "n3"},
                   false},
        UpdateCase{"AddingAPodTheAntiAffinitySelects",
                   {},
                   {.name = "p", .affinity = {.anti = {Term({{"app", "store"}}, kZone)}}},
                   {.name = "s", .labels = {{"app", "store"}}, .node = "n2"}},
        UpdateCase{"RemovingAVictimTheAntiAffinitySelects",
                   {{.name = "s", .labels = {{"app", "store"}}, .node = "n2"}},
                   {.name = "p", .affinity = {.anti = {Term({{"app", "store"}}, kHost)}}},
                   {.name = "s", .labels = {{"app", "store"}}, .node = "n2"},
                   false},
        UpdateCase{"AddingAPodWhoseAntiAffinitySelectsThePod",
                   {{.name = "x", .labels = {{"app", "x"}}, .node = "n1"}},
                   {.name = "p", .labels = {{"app", "web"}}, .affinity = {.anti = {Term({{"app", "x"}}, kHost)}}},
                   {.name = "g", .node = "n3", .affinity = {.anti = {Term({{"app", "web"}}, kZone)}}}},
        UpdateCase{"RemovingAPodWhoseAntiAffinitySelectsThePod",
                   {{.name = "g", .node = "n3", .affinity = {.anti = {Term({{"app", "web"}}, kZone)}}},
                    {.name = "h", .node = "n1", .affinity = {.anti = {Term({{"app", "web"}}, kHost)}}}},
                   {.name = "p", .labels = {{"app", "web"}}},
                   {.name = "g", .node = "n3", .affinity = {.anti = {Term({{"app", "web"}}, kZone)}}},
                   false}),
    [](const ::testing::TestParamInfo<UpdateCase>& param_info) { return param_info.param.name; });

// Through the framework: a nominated pod of higher priority counts as if it ran on its
// node (Kubernetes' RunFilterPluginsWithNominatedPods calls AddPod), so the incoming pod's
// anti-affinity keeps it off that node.
TEST(InterPodAffinity, NominatedPodsCountThroughAddPod) {
  PluginRegistry registry;
  registry.Register(std::string(kInterPodAffinityName), NewInterPodAffinity);
  ProfileConfig config;
  config.pre_filter = {std::string(kInterPodAffinityName)};
  config.filter = {std::string(kInterPodAffinityName)};
  std::unique_ptr<Framework> fw;
  ASSERT_TRUE(Framework::Create(config, registry, &fw).ok());
  Snapshot snap = Snapshot::Of(FourNodes(), {Pod({.name = "x", .labels = {{"app", "x"}}, .node = "n4"})});
  PodInfoPtr pod = Pod({.name = "p", .affinity = {.anti = {Term({{"app", "store"}}, kHost)}}});
  NominatedPods nominated;
  nominated["n2"].push_back(Pod({.name = "s", .labels = {{"app", "store"}}, .node = "n2", .priority = 10}));
  CycleState state = fw->NewCycleState();
  ASSERT_TRUE(fw->RunPreFilter(state, *pod, snap).ok());
  EXPECT_TRUE(FilterWithNominatedPods(*fw, state, *pod, *snap.Find("n1"), snap, &nominated).ok());
  PluginStatus s = FilterWithNominatedPods(*fw, state, *pod, *snap.Find("n2"), snap, &nominated);
  EXPECT_EQ(s.ToString(), kAntiFail);
}

// ---------------------------------------------------------------- Score

struct ScoreCase {
  std::string name;
  std::vector<P> existing;
  P pod;
  std::map<std::string, int64_t> want;  // normalized; empty: PreScore skips
  json args = nullptr;
};
void PrintTo(const ScoreCase& c, std::ostream* os) { *os << c.name; }

class IpaScore : public ::testing::TestWithParam<ScoreCase> {};


TEST_P(IpaScore, NormalizesLikeKubernetes) {
  const ScoreCase& c = GetParam();
  std::vector<PodInfoPtr> pods;
  for (const P& p : c.existing) pods.push_back(Pod(p));
  Snapshot snap = Snapshot::Of(FourNodes(), pods);
  Ipa ipa(c.args);
  auto got = ScoreAllNodes(ipa, *Pod(c.pod), snap);
  if (c.want.empty()) {
    EXPECT_FALSE(got.has_value());
    return;
  }
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, c.want);
}

std::map<std::string, int64_t> Scores(int64_t n1, int64_t n2, int64_t n3, int64_t n4) {
  return {{"n1", n1}, {"n2", n2}, {"n3", n3}, {"n4", n4}};
}

INSTANTIATE_TEST_SUITE_P(
    InterPodAffinity, IpaScore,
    ::testing::Values(
        // The pod's preferred affinity: weight 10 in the zone of a db pod (which has no terms
        // of its own: with preferred terms every pod is looked at).
        ScoreCase{"PreferredAffinity",
                  {{.name = "db", .labels = {{"app", "db"}}, .node = "n1"}},
                  {.name = "p", .affinity = {.preferred = {Weighted(10, Term({{"app", "db"}}, kZone))}}},
                  Scores(100, 100, 0, 0)},
        // Preferred anti-affinity subtracts; min-max puts the avoided node at 0.
        ScoreCase{"PreferredAntiAffinity",
                  {{.name = "s", .labels = {{"app", "store"}}, .node = "n3"}},
                  {.name = "p", .affinity = {.preferred_anti = {Weighted(5, Term({{"app", "store"}}, kHost))}}},
                  Scores(100, 100, 0, 100)},
        // Existing pods' required affinity toward the pod counts hardPodAffinityWeight (1).
        ScoreCase{"ExistingRequiredAffinityCountsHardWeight",
                  {{.name = "e", .node = "n3", .affinity = {.required = {Term({{"app", "web"}}, kZone)}}}},
                  {.name = "p", .labels = {{"app", "web"}}},
                  Scores(0, 0, 100, 0)},
        ScoreCase{"HardWeightZeroIgnoresExistingRequiredAffinity",
                  {{.name = "e", .node = "n3", .affinity = {.required = {Term({{"app", "web"}}, kZone)}}}},
                  {.name = "p", .labels = {{"app", "web"}}},
                  {},
                  {{"hardPodAffinityWeight", 0}}},
        // Existing pods' preferred terms: +7 for zone a, -3 for zone b; n4 has no zone (0):
        // min -3, max 7, so n4 = 100 * 3 / 10.
        ScoreCase{"ExistingPreferredTerms",
                  {{.name = "friend",
                    .node = "n1",
                    .affinity = {.preferred = {Weighted(7, Term({{"app", "web"}}, kZone))}}},
                   {.name = "foe",
                    .node = "n3",
                    .affinity = {.preferred_anti = {Weighted(3, Term({{"app", "web"}}, kZone))}}}},
                  {.name = "p", .labels = {{"app", "web"}}},
                  Scores(100, 100, 0, 30)},
        ScoreCase{"IgnorePreferredTermsOfExistingPods",
                  {{.name = "friend",
                    .node = "n1",
                    .affinity = {.preferred = {Weighted(7, Term({{"app", "web"}}, kZone))}}}},
                  {.name = "p", .labels = {{"app", "web"}}},
                  {},
                  {{"ignorePreferredTermsOfExistingPods", true}}},
        // Weights of several terms and pods add up per domain.
        ScoreCase{"WeightsAdd",
                  {{.name = "db1", .labels = {{"app", "db"}}, .node = "n1"},
                   {.name = "db2", .labels = {{"app", "db"}}, .node = "n3"},
                   {.name = "cache", .labels = {{"app", "cache"}}, .node = "n3"}},
                  {.name = "p",
                   .affinity = {.preferred = {Weighted(10, Term({{"app", "db"}}, kZone)),
                                              Weighted(30, Term({{"app", "cache"}}, kHost))}}},
                  // zone a: 10; n3: 10 + 30 = 40; n4: 0.
                  Scores(25, 25, 100, 0)}),
    [](const ::testing::TestParamInfo<ScoreCase>& param_info) { return param_info.param.name; });

// ---------------------------------------------------------------- args

TEST(InterPodAffinity, Args) {
  std::unique_ptr<Plugin> p;
  EXPECT_TRUE(NewInterPodAffinity(nullptr, &p).ok());
  EXPECT_TRUE(NewInterPodAffinity({{"kind", "InterPodAffinityArgs"}, {"hardPodAffinityWeight", 100}}, &p).ok());
  Status s = NewInterPodAffinity({{"hardPodAffinityWeight", 101}}, &p);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("args.hardPodAffinityWeight"), std::string::npos) << s.message();
  EXPECT_FALSE(NewInterPodAffinity({{"hardPodAffinityWeight", -1}}, &p).ok());
  EXPECT_FALSE(NewInterPodAffinity({{"hardPodAffinityWeight", "1"}}, &p).ok());
  EXPECT_FALSE(NewInterPodAffinity({{"ignorePreferredTermsOfExistingPods", 1}}, &p).ok());
  s = NewInterPodAffinity({{"hardPodAffinityWeigth", 1}}, &p);
  EXPECT_NE(s.message().find("args.hardPodAffinityWeigth: unknown field"), std::string::npos) << s.message();
}

// ---------------------------------------------------------------- property

// The rules read plainly, over the pods placed now (Kubernetes' definitions: an affinity
// count is of pods selected by all the pod's affinity terms, in nodes having the term's key).
std::string BruteForceVerdict(const PodInfo& pod, const std::vector<PodInfoPtr>& placed,
                              const std::map<std::string, std::shared_ptr<const NodeData>>& nodes,
                              const NamespaceLabels& ns_labels, const NodeData& node) {
  auto label = [](const NodeData& n, const std::string& key) -> std::optional<std::string> {
    auto it = n.labels.find(key);
    if (it == n.labels.end()) return std::nullopt;
    return it->second;
  };
  auto selects = [&](const AffinityTerm& term, const PodInfo& q) {
    auto it = ns_labels.find(q.ns);
    return term.Matches(q.ns, it == ns_labels.end() ? nullptr : &it->second, q.labels);
  };
  auto same_domain = [&](const PodInfo& q, const std::string& key) {
    auto here = label(node, key);
    auto there = label(*nodes.at(q.node_name), key);
    return here.has_value() && there.has_value() && *here == *there;
  };
  if (!pod.required_affinity.empty()) {
    auto selected_by_all = [&](const PodInfo& q) {
      for (const AffinityTerm& t : pod.required_affinity) {
        if (!selects(t, q)) return false;
      }
      return true;
    };
    for (const AffinityTerm& t : pod.required_affinity) {
      if (!label(node, t.topology_key)) return kAffinityFail;
    }
    bool every_term_has_a_match_here = true;
    bool counted_anywhere = false;
    for (const AffinityTerm& t : pod.required_affinity) {
      bool here = false;
      for (const PodInfoPtr& q : placed) {
        if (!selected_by_all(*q)) continue;
        if (label(*nodes.at(q->node_name), t.topology_key)) counted_anywhere = true;
        if (same_domain(*q, t.topology_key)) here = true;
      }
      if (!here) every_term_has_a_match_here = false;
    }
    if (!every_term_has_a_match_here && (counted_anywhere || !selected_by_all(pod))) return kAffinityFail;
  }
  for (const AffinityTerm& t : pod.required_anti_affinity) {
    for (const PodInfoPtr& q : placed) {
      if (selects(t, *q) && same_domain(*q, t.topology_key)) return kAntiFail;
    }
  }
  for (const PodInfoPtr& q : placed) {
    for (const AffinityTerm& t : q->required_anti_affinity) {
      if (selects(t, pod) && same_domain(*q, t.topology_key)) return kExistingFail;
    }
  }
  return kOk;
}

std::string Pick(const std::vector<std::string>& options) { return *rc::gen::elementOf(options); }

json RandomTerm() {
  const std::string app = Pick({"x", "y"});
  const std::string key = Pick({kZone, kHost, "rack"});
  json extra = json::object();
  switch (*rc::gen::inRange(0, 4)) {
    case 0:
      break;  // the owner's namespace
    case 1:
      extra["namespaces"] = {Pick({"default", "other", "third"})};
      break;
    case 2:
      extra["namespaceSelector"] = {{"matchLabels", {{"team", Pick({"blue", "red"})}}}};
      break;
    default:
      extra["namespaceSelector"] = json::object();
      break;
  }
  return Term({{"app", app}}, key, extra);
}

P RandomPod(const std::string& name, const std::vector<std::string>& node_names) {
  P p;
  p.name = name;
  p.ns = Pick({"default", "other", "third"});
  const std::string app = Pick({"x", "y", ""});
  if (!app.empty()) p.labels["app"] = app;
  if (!node_names.empty()) p.node = *rc::gen::elementOf(node_names);
  const int affinity_terms = *rc::gen::inRange(0, 3);
  for (int i = 0; i < affinity_terms; ++i) p.affinity.required.push_back(RandomTerm());
  const int anti_terms = *rc::gen::inRange(0, 3);
  for (int i = 0; i < anti_terms; ++i) p.affinity.anti.push_back(RandomTerm());
  const int preferred = *rc::gen::inRange(0, 3);
  for (int i = 0; i < preferred; ++i) {
    const int weight = *rc::gen::inRange(1, 11);
    (*rc::gen::arbitrary<bool>() ? p.affinity.preferred : p.affinity.preferred_anti)
        .push_back(Weighted(weight, RandomTerm()));
  }
  return p;
}

RC_GTEST_PROP(InterPodAffinityProperty, IncrementalFilterEqualsBruteForce, ()) {
  const NamespaceLabels ns_labels = {{"default", {{"team", "blue"}}}, {"other", {{"team", "red"}}}};
  std::vector<std::shared_ptr<const NodeData>> node_list;
  std::map<std::string, std::shared_ptr<const NodeData>> nodes;
  std::vector<std::string> node_names;
  const int num_nodes = *rc::gen::inRange(1, 6);
  for (int i = 0; i < num_nodes; ++i) {
    const std::string name = "n" + std::to_string(i);
    std::map<std::string, std::string> labels{{kHost, name}};
    const std::string zone = Pick({"a", "b", ""});
    if (!zone.empty()) labels[kZone] = zone;
    if (*rc::gen::arbitrary<bool>()) labels["rack"] = Pick({"r1", "r2"});
    node_list.push_back(SimpleNode(name, "4", "8Gi", 110, labels));
    nodes[name] = node_list.back();
    node_names.push_back(name);
  }
  // Every pod that may ever be placed; `placed` says which are now.
  const int num_pods = *rc::gen::inRange(0, 9);
  std::vector<PodInfoPtr> all;
  std::vector<bool> placed;
  for (int i = 0; i < num_pods; ++i) {
    all.push_back(Pod(RandomPod("e" + std::to_string(i), node_names)));
    placed.push_back(*rc::gen::arbitrary<bool>());
  }
  auto placed_pods = [&] {
    std::vector<PodInfoPtr> out;
    for (size_t i = 0; i < all.size(); ++i) {
      if (placed[i]) out.push_back(all[i]);
    }
    return out;
  };
  const PodInfoPtr pod = Pod(RandomPod("p", {}));
  Snapshot snap = Snapshot::Of(node_list, placed_pods(), ns_labels);
  Ipa ipa;
  CycleState state(1);
  PluginStatus pre = ipa.pre->PreFilter(state, *pod, snap);
  RC_ASSERT(pre.ok() || pre.IsSkip());
  if (pre.IsSkip()) {
    // Skipping is right only if no node would be rejected.
    for (const auto& [name, node] : nodes) {
      RC_ASSERT(BruteForceVerdict(*pod, placed_pods(), nodes, ns_labels, *node) == kOk);
    }
    return;
  }
  // Preemption's what-if: pods come and go, the state follows incrementally.
  const int steps = *rc::gen::inRange(0, 8);
  for (int step = 0; step < steps && !all.empty(); ++step) {
    const size_t i = *rc::gen::inRange<size_t>(0, all.size());
    NodeInfo node = *snap.Find(all[i]->node_name);
    PluginStatus s;
    if (placed[i]) {
      s = ipa.pre->RemovePod(state, *pod, *all[i], node, snap);
    } else {
      s = ipa.pre->AddPod(state, *pod, *all[i], node, snap);
    }
    RC_ASSERT(s.ok());
    placed[i] = !placed[i];
  }
  for (const auto& [name, node] : nodes) {
    const std::string got = ipa.filter->Filter(state, *pod, *snap.Find(name)).ToString();
    RC_ASSERT(got == BruteForceVerdict(*pod, placed_pods(), nodes, ns_labels, *node));
  }
}

// Kubernetes' scoring read plainly: each existing pod on a labelled node adds the weights of
// the terms that hold between it and the pod (hardPodAffinityWeight 1 for its required
// affinity) to every node sharing the term's domain; then min-max to 0..100.
std::map<std::string, int64_t> BruteForceScores(const PodInfo& pod, const std::vector<PodInfoPtr>& placed,
                                                const std::map<std::string, std::shared_ptr<const NodeData>>& nodes,
                                                const NamespaceLabels& ns_labels) {
  auto selects = [&](const AffinityTerm& term, const PodInfo& q) {
    auto it = ns_labels.find(q.ns);
    return term.Matches(q.ns, it == ns_labels.end() ? nullptr : &it->second, q.labels);
  };
  std::map<std::string, int64_t> raw;
  for (const auto& [name, node] : nodes) {
    int64_t score = 0;
    for (const PodInfoPtr& q : placed) {
      const NodeData& there = *nodes.at(q->node_name);
      if (there.labels.empty()) continue;
      auto same_domain = [&](const std::string& key) {
        auto a = node->labels.find(key);
        auto b = there.labels.find(key);
        return a != node->labels.end() && b != there.labels.end() && a->second == b->second;
      };
      for (const auto& wt : pod.preferred_affinity) {
        if (selects(wt.term, *q) && same_domain(wt.term.topology_key)) score += wt.weight;
      }
      for (const auto& wt : pod.preferred_anti_affinity) {
        if (selects(wt.term, *q) && same_domain(wt.term.topology_key)) score -= wt.weight;
      }
      for (const AffinityTerm& t : q->required_affinity) {
        if (selects(t, pod) && same_domain(t.topology_key)) score += 1;
      }
      for (const auto& wt : q->preferred_affinity) {
        if (selects(wt.term, pod) && same_domain(wt.term.topology_key)) score += wt.weight;
      }
      for (const auto& wt : q->preferred_anti_affinity) {
        if (selects(wt.term, pod) && same_domain(wt.term.topology_key)) score -= wt.weight;
      }
    }
    raw[name] = score;
  }
  int64_t min = std::numeric_limits<int64_t>::max();
  int64_t max = std::numeric_limits<int64_t>::min();
  for (const auto& [name, score] : raw) {
    min = std::min(min, score);
    max = std::max(max, score);
  }
  for (auto& [name, score] : raw) {
    if (max == min) {
      score = 0;
      continue;
    }
    score = static_cast<int64_t>(100.0 * (static_cast<double>(score - min) / static_cast<double>(max - min)));
  }
  return raw;
}

// One plugin instance across cycles while the cluster changes the way the scheduler cache
// changes it (a node replaced by a copy with a pod more or less, or a snapshot built anew):
// its cached pod groups must never show, so Filter and scores equal the plain definitions.
RC_GTEST_PROP(InterPodAffinityProperty, LongLivedPluginAgreesWithBruteForceAsTheClusterChanges, ()) {
  const NamespaceLabels ns_labels = {{"default", {{"team", "blue"}}}, {"other", {{"team", "red"}}}};
  std::vector<std::shared_ptr<const NodeData>> node_list;
  std::map<std::string, std::shared_ptr<const NodeData>> nodes;
  std::vector<std::string> node_names;
  const int num_nodes = *rc::gen::inRange(1, 6);
  for (int i = 0; i < num_nodes; ++i) {
    const std::string name = "n" + std::to_string(i);
    std::map<std::string, std::string> labels{{kHost, name}};
    const std::string zone = Pick({"a", "b", ""});
    if (!zone.empty()) labels[kZone] = zone;
    if (*rc::gen::arbitrary<bool>()) labels["rack"] = Pick({"r1", "r2"});
    node_list.push_back(SimpleNode(name, "4", "8Gi", 110, labels));
    nodes[name] = node_list.back();
    node_names.push_back(name);
  }
  std::vector<PodInfoPtr> all;
  std::vector<bool> placed;
  const int num_pods = *rc::gen::inRange(0, 10);
  for (int i = 0; i < num_pods; ++i) {
    all.push_back(Pod(RandomPod("e" + std::to_string(i), node_names)));
    placed.push_back(*rc::gen::arbitrary<bool>());
  }
  auto placed_pods = [&] {
    std::vector<PodInfoPtr> out;
    for (size_t i = 0; i < all.size(); ++i) {
      if (placed[i]) out.push_back(all[i]);
    }
    return out;
  };
  Snapshot snap = Snapshot::Of(node_list, placed_pods(), ns_labels);
  Ipa ipa;
  const int cycles = *rc::gen::inRange(1, 8);
  for (int cycle = 0; cycle < cycles; ++cycle) {
    if (*rc::gen::inRange(0, 4) == 0 || all.empty()) {
      snap = Snapshot::Of(node_list, placed_pods(), ns_labels);
    } else {
      const size_t i = *rc::gen::inRange<size_t>(0, all.size());
      const size_t pos = snap.IndexOf(all[i]->node_name);
      auto copy = std::make_shared<NodeInfo>(*snap.nodes()[pos]);
      if (placed[i]) {
        RC_ASSERT(copy->RemovePod(all[i]->uid));
      } else {
        copy->AddPod(all[i]);
      }
      placed[i] = !placed[i];
      snap.ReplaceNode(pos, copy);
      snap.FinishReplacing();
    }
    const PodInfoPtr pod = Pod(RandomPod("p" + std::to_string(cycle), {}));
    const auto verdicts = Verdicts(ipa, *pod, snap);
    for (const auto& [name, verdict] : verdicts) {
      const std::string want = BruteForceVerdict(*pod, placed_pods(), nodes, ns_labels, *nodes.at(name));
      // A skipped Filter must be one that would have rejected nothing.
      if (verdict == kSkipped) {
        RC_ASSERT(want == kOk);
      } else {
        RC_ASSERT(verdict == want);
      }
    }
    const auto want_scores = BruteForceScores(*pod, placed_pods(), nodes, ns_labels);
    const auto got_scores = ScoreAllNodes(ipa, *pod, snap);
    if (got_scores.has_value()) {
      RC_ASSERT(*got_scores == want_scores);
    } else {
      for (const auto& [name, score] : want_scores) RC_ASSERT(score == 0);
    }
  }
}

}  // namespace
}  // namespace ksim::scheduler::testing
