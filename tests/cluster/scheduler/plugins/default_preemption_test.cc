// DefaultPreemption with stand-in Filter plugins (CPU fit, pod count, a node selector that
// is unresolvable, and a PreFilter whose state preemption must update): which node and
// which victims are chosen, eligibility, the failure message in Kubernetes' words, the
// args, and a property over random small clusters.
//
// Semantics checked come from Kubernetes' "Pod Priority and Preemption" doc and
// pkg/scheduler/framework/{preemption,plugins/defaultpreemption}.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cluster/env/random.h"
#include "cluster/scheduler/framework/schedule_one.h"
#include "cluster/scheduler/plugins/default_preemption.h"
#include "tests/cluster/scheduler/scheduler_testing.h"

namespace ksim::scheduler::testing {
namespace {

// ---------------------------------------------------------------- stand-in plugins

// NodeResourcesFit's cpu check only.
class CpuFit : public FilterPlugin {
 public:
  std::string_view Name() const override { return "CpuFit"; }
  PluginStatus Filter(const CycleState&, const PodInfo& pod, const NodeInfo& node) const override {
    if (node.requested().milli_cpu + pod.requests.milli_cpu > node.node()->allocatable.milli_cpu) {
      return PluginStatus(Code::kUnschedulable, "Insufficient cpu");
    }
    return PluginStatus::Success();
  }
};

// NodeResourcesFit's pod count check only.
class PodCount : public FilterPlugin {
 public:
  std::string_view Name() const override { return "PodCount"; }
  PluginStatus Filter(const CycleState&, const PodInfo&, const NodeInfo& node) const override {
    if (static_cast<int64_t>(node.pods().size()) + 1 > node.node()->allocatable.pods) {
      return PluginStatus(Code::kUnschedulable, "Too many pods");
    }
    return PluginStatus::Success();
  }
};

// spec.nodeSelector: evicting pods cannot change a node's labels.
class Selector : public FilterPlugin {
 public:
  std::string_view Name() const override { return "Selector"; }
  PluginStatus Filter(const CycleState&, const PodInfo& pod, const NodeInfo& node) const override {
    for (const auto& [key, value] : pod.node_selector) {
      auto it = node.labels().find(key);
      if (it == node.labels().end() || it->second != value) {
        return PluginStatus(Code::kUnschedulableAndUnresolvable, "node(s) didn't match Pod's node affinity/selector");
      }
    }
    return PluginStatus::Success();
  }
};

// A pod labelled quiet=true will not share a node with pods labelled noisy=true. The count
// lives in the PreFilter state (as InterPodAffinity's does), so preemption must update it
// through RemovePod/AddPod to see a noisy victim gone.
class Quiet : public PreFilterPlugin, public FilterPlugin {
 public:
  struct State : StateData {
    std::map<std::string, int, std::less<>> noisy_per_node;
    std::unique_ptr<StateData> Clone() const override { return std::make_unique<State>(*this); }
  };
  std::string_view Name() const override { return "Quiet"; }
  static bool IsNoisy(const PodInfo& p) {
    auto it = p.labels.find("noisy");
    return it != p.labels.end() && it->second == "true";
  }
  PluginStatus PreFilter(CycleState& state, const PodInfo& pod, const Snapshot& snapshot) const override {
    auto it = pod.labels.find("quiet");
    if (it == pod.labels.end() || it->second != "true") return PluginStatus::Skip();
    auto s = std::make_unique<State>();
    for (const auto& node : snapshot.nodes()) {
      for (const auto& p : node->pods()) {
        if (IsNoisy(*p)) ++s->noisy_per_node[node->name()];
      }
    }
    state.Set(slot(), std::move(s));
    return PluginStatus::Success();
  }
  PluginStatus AddPod(CycleState& state, const PodInfo&, const PodInfo& other, const NodeInfo& node,
                      const Snapshot&) const override {
    if (IsNoisy(other)) ++state.Read<State>(slot())->noisy_per_node[node.name()];
    return PluginStatus::Success();
  }
  PluginStatus RemovePod(CycleState& state, const PodInfo&, const PodInfo& other, const NodeInfo& node,
                         const Snapshot&) const override {
    if (IsNoisy(other)) --state.Read<State>(slot())->noisy_per_node[node.name()];
    return PluginStatus::Success();
  }
  PluginStatus Filter(const CycleState& state, const PodInfo&, const NodeInfo& node) const override {
    const State* s = state.Read<State>(slot());
    auto it = s->noisy_per_node.find(node.name());
    if (it != s->noisy_per_node.end() && it->second > 0) {
      return PluginStatus(Code::kUnschedulable, "node(s) had noisy neighbours");
    }
    return PluginStatus::Success();
  }
};

// Rejects pods labelled gate=closed in PreFilter, as Unschedulable (not unresolvable).
class Gate : public PreFilterPlugin {
 public:
  std::string_view Name() const override { return "Gate"; }
  PluginStatus PreFilter(CycleState&, const PodInfo& pod, const Snapshot&) const override {
    auto it = pod.labels.find("gate");
    if (it != pod.labels.end() && it->second == "closed") return PluginStatus(Code::kUnschedulable, "gate closed");
    return PluginStatus::Success();
  }
};

PluginRegistry TestRegistry() {
  PluginRegistry r;
  auto add = [&r](std::string name, std::function<std::unique_ptr<Plugin>()> make) {
    r.Register(std::move(name), [make](const nlohmann::json&, std::unique_ptr<Plugin>* out) {
      *out = make();
      return Status::Ok();
    });
  };
  add("CpuFit", [] { return std::make_unique<CpuFit>(); });
  add("PodCount", [] { return std::make_unique<PodCount>(); });
  add("Selector", [] { return std::make_unique<Selector>(); });
  add("Quiet", [] { return std::make_unique<Quiet>(); });
  add("Gate", [] { return std::make_unique<Gate>(); });
  r.Register("DefaultPreemption", NewDefaultPreemption);
  return r;
}

std::unique_ptr<Framework> TestFramework(nlohmann::json preemption_args = nullptr) {
  ProfileConfig config;
  config.pre_filter = {"Gate", "Quiet"};
  config.filter = {"Selector", "CpuFit", "PodCount", "Quiet"};
  config.post_filter = {"DefaultPreemption"};
  if (!preemption_args.is_null()) config.plugin_args["DefaultPreemption"] = preemption_args;
  std::unique_ptr<Framework> fw;
  Status s = Framework::Create(config, TestRegistry(), &fw);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return fw;
}

// ---------------------------------------------------------------- pods

// Every field has a default so designated initializers may name only what a case needs.
struct PodSpec {
  std::string name = {};
  std::string cpu = {};   // "" = no request
  std::string node = {};  // "" = pending
  int32_t priority = 0;
  int64_t start_s = -1;  // status.startTime in seconds; -1: not started
  bool terminating = false;
  bool never = false;  // preemptionPolicy: Never
  std::string nominated = {};
  std::map<std::string, std::string> labels = {};
  std::map<std::string, std::string> node_selector = {};
};

PodInfoPtr MakePod(const PodSpec& spec) {
  auto pod = std::make_shared<api::Pod>();
  pod->mutable_metadata()->set_name(spec.name);
  pod->mutable_metadata()->set_namespace_("default");
  pod->mutable_metadata()->set_uid("uid-" + spec.name);
  for (const auto& [k, v] : spec.labels) (*pod->mutable_metadata()->mutable_labels())[k] = v;
  if (spec.terminating) pod->mutable_metadata()->mutable_deletion_timestamp()->set_seconds(1000);
  pod->mutable_spec()->set_node_name(spec.node);
  pod->mutable_spec()->set_priority(spec.priority);
  if (spec.never) pod->mutable_spec()->set_preemption_policy("Never");
  for (const auto& [k, v] : spec.node_selector) (*pod->mutable_spec()->mutable_node_selector())[k] = v;
  auto* c = pod->mutable_spec()->add_containers();
  c->set_name("c");
  c->set_image("registry.k8s.io/pause:3.9");
  if (!spec.cpu.empty()) (*c->mutable_resources()->mutable_requests())["cpu"] = spec.cpu;
  if (spec.start_s >= 0) pod->mutable_status()->mutable_start_time()->set_seconds(spec.start_s);
  pod->mutable_status()->set_nominated_node_name(spec.nominated);
  std::shared_ptr<PodInfo> info;
  Status s = PodInfo::Build(pod, &info);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return info;
}

std::vector<std::string> Names(const std::vector<PodInfoPtr>& pods) {
  std::vector<std::string> out;
  for (const auto& p : pods) out.push_back(p->name);
  return out;
}

// Schedules `pod` (expecting no fit) and runs PostFilter as the scheduler would.
struct Outcome {
  PluginStatus schedule_status;
  Diagnosis diagnosis;
  PluginStatus status;
  PostFilterResult result;
  std::string fit_error;  // the pod's full message when preemption failed
};

Outcome Preempt(const Framework& fw, const Snapshot& snapshot, const PodInfo& pod) {
  Outcome out;
  CycleState state = fw.NewCycleState();
  ScheduleCursor cursor(Random(7));
  ScheduleResult sr;
  out.schedule_status = SchedulePod(fw, snapshot, pod, state, cursor, &sr, &out.diagnosis);
  EXPECT_TRUE(out.schedule_status.IsRejection()) << "pod fit " << sr.node;
  out.status = fw.RunPostFilter(state, pod, snapshot, out.diagnosis, &out.result);
  if (!out.status.ok()) {
    Diagnosis d = out.diagnosis;
    d.post_filter_message = out.status.reasons().empty() ? "" : out.status.reasons().front();
    out.fit_error = FitErrorMessage(d);
  }
  return out;
}

// ---------------------------------------------------------------- choosing victims

// The doc: the scheduler looks for a node where removing lower-priority pods makes room,
// and pickOneNodeForPreemption prefers the node whose victims have the lowest priority.
TEST(DefaultPreemptionTest, ChoosesTheNodeWithTheLeastImportantVictims) {
  auto fw = TestFramework();
  Snapshot snapshot = Snapshot::Of(
      {SimpleNode("n1", "4"), SimpleNode("n2", "4"), SimpleNode("n3", "4")},
      {MakePod({.name = "big50", .cpu = "4", .node = "n1", .priority = 50, .start_s = 10}),
       MakePod({.name = "early", .cpu = "2", .node = "n2", .priority = 1, .start_s = 100}),
       MakePod({.name = "late", .cpu = "2", .node = "n2", .priority = 1, .start_s = 200}),
       MakePod({.name = "big20", .cpu = "4", .node = "n3", .priority = 20, .start_s = 10})});
  PodInfoPtr pod = MakePod({.name = "urgent", .cpu = "2", .priority = 100});
  Outcome o = Preempt(*fw, snapshot, *pod);
  ASSERT_TRUE(o.status.ok()) << o.status.ToString();
  EXPECT_EQ(o.status.plugin(), "DefaultPreemption");
  EXPECT_EQ(o.result.nominated_node, "n2");
  // Equal priorities are reprieved earliest-started first: the later one goes.
  EXPECT_EQ(Names(o.result.victims), std::vector<std::string>{"late"});
}

// SelectVictimsOnNode removes every lower-priority pod, then reprieves from the highest
// priority down; only pods whose return breaks the fit are victims.
TEST(DefaultPreemptionTest, ReprieveKeepsHigherPriorityPodsFirst) {
  auto fw = TestFramework();
  PodInfoPtr pod = MakePod({.name = "urgent", .cpu = "2", .priority = 100});
  struct Case {
    std::string name;
    std::vector<PodInfoPtr> pods;
    std::vector<std::string> victims;  // most important first
  };
  const std::vector<Case> cases = {
      {"lowest two go",
       {MakePod({.name = "p10", .cpu = "1", .node = "n1", .priority = 10}),
        MakePod({.name = "p20", .cpu = "1", .node = "n1", .priority = 20}),
        MakePod({.name = "p30", .cpu = "1", .node = "n1", .priority = 30}),
        MakePod({.name = "p40", .cpu = "1", .node = "n1", .priority = 40})},
       {"p20", "p10"}},
      // Reprieve goes by priority, not by size: the big important pod is tried first and
      // cannot come back; then the small unimportant one can.
      {"by priority not size",
       {MakePod({.name = "big50", .cpu = "3", .node = "n1", .priority = 50}),
        MakePod({.name = "small1", .cpu = "1", .node = "n1", .priority = 1})},
       {"big50"}},
      {"higher priority stays put",
       {MakePod({.name = "p200", .cpu = "2", .node = "n1", .priority = 200}),
        MakePod({.name = "p5", .cpu = "1", .node = "n1", .priority = 5}),
        MakePod({.name = "p6", .cpu = "1", .node = "n1", .priority = 6})},
       {"p6", "p5"}},
  };
  for (const Case& c : cases) {
    Snapshot snapshot = Snapshot::Of({SimpleNode("n1", "4")}, c.pods);
    Outcome o = Preempt(*fw, snapshot, *pod);
    ASSERT_TRUE(o.status.ok()) << c.name << ": " << o.status.ToString();
    EXPECT_EQ(o.result.nominated_node, "n1") << c.name;
    EXPECT_EQ(Names(o.result.victims), c.victims) << c.name;
  }
}

// Preemption's what-if must update PreFilter state (Kubernetes' PreFilterExtensions
// RemovePod/AddPod): the noisy neighbour is only seen gone through the state.
TEST(DefaultPreemptionTest, WhatIfUpdatesPreFilterState) {
  auto fw = TestFramework();
  Snapshot snapshot = Snapshot::Of(
      {SimpleNode("n1", "8")},
      {MakePod({.name = "noisy", .cpu = "1", .node = "n1", .priority = 1, .labels = {{"noisy", "true"}}}),
       MakePod({.name = "calm", .cpu = "1", .node = "n1", .priority = 1})});
  PodInfoPtr pod = MakePod({.name = "quiet", .cpu = "1", .priority = 10, .labels = {{"quiet", "true"}}});
  Outcome o = Preempt(*fw, snapshot, *pod);
  ASSERT_TRUE(o.status.ok()) << o.status.ToString();
  EXPECT_EQ(o.result.nominated_node, "n1");
  EXPECT_EQ(Names(o.result.victims), std::vector<std::string>{"noisy"});
}

// The doc: "Pods with preemptionPolicy: Never ... cannot preempt other pods". (Kubernetes'
// event ends in ".." here; ksim's FitErrorMessage does not double the period.)
TEST(DefaultPreemptionTest, PreemptionPolicyNeverDoesNotPreempt) {
  auto fw = TestFramework();
  Snapshot snapshot = Snapshot::Of({SimpleNode("n1", "4")},
                                   {MakePod({.name = "low", .cpu = "4", .node = "n1", .priority = 0})});
  PodInfoPtr pod = MakePod({.name = "polite", .cpu = "1", .priority = 1000, .never = true});
  Outcome o = Preempt(*fw, snapshot, *pod);
  EXPECT_EQ(o.status.code(), Code::kUnschedulable);
  EXPECT_EQ(o.result.nominated_node, "");
  EXPECT_TRUE(o.result.victims.empty());
  EXPECT_EQ(o.fit_error,
            "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.");
}

// PodEligibleToPreemptOthers: a pod nominated to a node where a lower-priority pod is
// terminating waits for it; unless the nominated node became unresolvable for the pod.
TEST(DefaultPreemptionTest, NominatedPodWaitsForTerminatingVictims) {
  auto fw = TestFramework();
  Snapshot snapshot = Snapshot::Of(
      {SimpleNode("n1", "4", "8Gi", 110, {{"pool", "a"}}), SimpleNode("n2", "4", "8Gi", 110, {{"pool", "b"}})},
      {MakePod({.name = "leaving", .cpu = "2", .node = "n1", .priority = 0, .terminating = true}),
       MakePod({.name = "busy1", .cpu = "2", .node = "n1", .priority = 500}),
       MakePod({.name = "low2", .cpu = "4", .node = "n2", .priority = 0})});

  PodInfoPtr waiting = MakePod({.name = "urgent", .cpu = "3", .priority = 100, .nominated = "n1"});
  Outcome o = Preempt(*fw, snapshot, *waiting);
  EXPECT_EQ(o.status.code(), Code::kUnschedulable);
  ASSERT_EQ(o.status.reasons().size(), 1u);
  EXPECT_EQ(o.status.reasons()[0], "preemption: not eligible due to a terminating pod on the nominated node.");
  EXPECT_EQ(o.result.nominated_node, "");

  // Not nominated: it may preempt (n2's low pod; n1 cannot fit 3 cpu beside busy1).
  PodInfoPtr fresh = MakePod({.name = "urgent", .cpu = "3", .priority = 100});
  o = Preempt(*fw, snapshot, *fresh);
  ASSERT_TRUE(o.status.ok()) << o.status.ToString();
  EXPECT_EQ(o.result.nominated_node, "n2");
  EXPECT_EQ(Names(o.result.victims), std::vector<std::string>{"low2"});

  // Nominated to n1 but now selecting pool b only: n1 is unresolvable, so it preempts on n2.
  PodInfoPtr moved =
      MakePod({.name = "urgent", .cpu = "3", .priority = 100, .nominated = "n1", .node_selector = {{"pool", "b"}}});
  o = Preempt(*fw, snapshot, *moved);
  ASSERT_TRUE(o.status.ok()) << o.status.ToString();
  EXPECT_EQ(o.result.nominated_node, "n2");
}

// Terminating pods are leaving already: they are never victims again, and the room they
// free counts, so a node where they suffice needs no new victims.
TEST(DefaultPreemptionTest, TerminatingPodsAreNotVictimsAgain) {
  auto fw = TestFramework();
  Snapshot snapshot = Snapshot::Of(
      {SimpleNode("n1", "4"), SimpleNode("n2", "4")},
      {MakePod({.name = "low1", .cpu = "4", .node = "n1", .priority = 0}),
       MakePod({.name = "leaving", .cpu = "2", .node = "n2", .priority = 0, .terminating = true}),
       MakePod({.name = "low2", .cpu = "2", .node = "n2", .priority = 0})});
  PodInfoPtr pod = MakePod({.name = "urgent", .cpu = "2", .priority = 100});
  Outcome o = Preempt(*fw, snapshot, *pod);
  ASSERT_TRUE(o.status.ok()) << o.status.ToString();
  EXPECT_EQ(o.result.nominated_node, "n2");
  EXPECT_TRUE(o.result.victims.empty());

  // Needing more than the terminating pod frees: the other pod is the only victim.
  PodInfoPtr bigger = MakePod({.name = "bigger", .cpu = "3", .priority = 100});
  std::vector<PodInfoPtr> victims;
  CycleState state = fw->NewCycleState();
  ASSERT_TRUE(fw->RunPreFilter(state, *bigger, snapshot).ok());
  PluginStatus s = SelectVictimsOnNode(*fw, state, *bigger, *snapshot.Find("n2"), snapshot, &victims);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Names(victims), std::vector<std::string>{"low2"});
}

// Kubernetes' message when no node can be helped: unresolvable nodes are "Preemption is
// not helpful for scheduling", a node with nothing of lower priority "No preemption
// victims found for incoming pod", and a node that stays too small gives its Filter reason.
TEST(DefaultPreemptionTest, NoCandidateMessageCountsEveryNode) {
  auto fw = TestFramework();
  Snapshot snapshot = Snapshot::Of(
      {SimpleNode("n1", "4", "8Gi", 110, {{"pool", "b"}}), SimpleNode("n2", "4", "8Gi", 110, {{"pool", "a"}}),
       SimpleNode("n3", "2", "8Gi", 110, {{"pool", "a"}}), SimpleNode("n4", "2", "8Gi", 110, {{"pool", "a"}})},
      {MakePod({.name = "low1", .cpu = "4", .node = "n1", .priority = 0}),
       MakePod({.name = "high", .cpu = "4", .node = "n2", .priority = 100}),
       MakePod({.name = "low3", .cpu = "2", .node = "n3", .priority = 0}),
       MakePod({.name = "low4", .cpu = "2", .node = "n4", .priority = 0})});
  PodInfoPtr pod = MakePod({.name = "urgent", .cpu = "3", .priority = 100, .node_selector = {{"pool", "a"}}});
  Outcome o = Preempt(*fw, snapshot, *pod);
  EXPECT_EQ(o.status.code(), Code::kUnschedulable);
  EXPECT_EQ(o.result.nominated_node, "");
  ASSERT_EQ(o.status.reasons().size(), 1u);
  EXPECT_EQ(o.status.reasons()[0],
            "preemption: 0/4 nodes are available: 1 No preemption victims found for incoming pod, "
            "1 Preemption is not helpful for scheduling, 2 Insufficient cpu.");
  EXPECT_EQ(o.fit_error,
            "0/4 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 3 Insufficient cpu. "
            "preemption: 0/4 nodes are available: 1 No preemption victims found for incoming pod, "
            "1 Preemption is not helpful for scheduling, 2 Insufficient cpu.");
}

// Every node unresolvable: nothing is tried and every node is "not helpful".
TEST(DefaultPreemptionTest, OnlyUnresolvableNodesAreSkipped) {
  auto fw = TestFramework();
  Snapshot snapshot = Snapshot::Of({SimpleNode("n1", "4"), SimpleNode("n2", "4")},
                                   {MakePod({.name = "low", .cpu = "4", .node = "n1", .priority = 0})});
  PodInfoPtr pod = MakePod({.name = "urgent", .cpu = "1", .priority = 100, .node_selector = {{"gpu", "yes"}}});
  Outcome o = Preempt(*fw, snapshot, *pod);
  EXPECT_EQ(o.status.code(), Code::kUnschedulable);
  ASSERT_EQ(o.status.reasons().size(), 1u);
  EXPECT_EQ(o.status.reasons()[0], "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.");
}

// After a PreFilter rejection the cycle state is incomplete (Quiet's PreFilter never ran),
// so no node is dry-run; every node counts as not helpful.
TEST(DefaultPreemptionTest, PreFilterRejectionTriesNoNode) {
  auto fw = TestFramework();
  Snapshot snapshot = Snapshot::Of({SimpleNode("n1", "4"), SimpleNode("n2", "4")},
                                   {MakePod({.name = "noisy", .cpu = "1", .node = "n1", .labels = {{"noisy", "true"}}})});
  PodInfoPtr pod =
      MakePod({.name = "urgent", .cpu = "1", .priority = 100, .labels = {{"gate", "closed"}, {"quiet", "true"}}});
  Outcome o = Preempt(*fw, snapshot, *pod);
  EXPECT_EQ(o.status.code(), Code::kUnschedulable);
  ASSERT_EQ(o.status.reasons().size(), 1u);
  EXPECT_EQ(o.status.reasons()[0], "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.");
  EXPECT_EQ(o.fit_error,
            "0/2 nodes are available: gate closed. "
            "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.");
}

// The doc: only pods of lower priority are preempted; equal priority never is, even when
// that leaves the pod without room.
TEST(DefaultPreemptionTest, EqualPriorityPodsAreNeverVictims) {
  auto fw = TestFramework();
  Snapshot snapshot = Snapshot::Of(
      {SimpleNode("n1", "4"), SimpleNode("n2", "4")},
      {MakePod({.name = "peer1", .cpu = "4", .node = "n1", .priority = 100}),
       MakePod({.name = "peer2", .cpu = "3", .node = "n2", .priority = 100}),
       MakePod({.name = "low", .cpu = "1", .node = "n2", .priority = 99})});
  PodInfoPtr pod = MakePod({.name = "urgent", .cpu = "2", .priority = 100});
  Outcome o = Preempt(*fw, snapshot, *pod);
  EXPECT_EQ(o.status.code(), Code::kUnschedulable);
  EXPECT_TRUE(o.result.victims.empty());
  ASSERT_EQ(o.status.reasons().size(), 1u);
  EXPECT_EQ(o.status.reasons()[0],
            "preemption: 0/2 nodes are available: 1 Insufficient cpu, 1 No preemption victims found for incoming pod.");
}

// A pod-count limit is helped by evicting any lower-priority pod, however small.
TEST(DefaultPreemptionTest, PodCountLimitIsHelped) {
  auto fw = TestFramework();
  Snapshot snapshot = Snapshot::Of({SimpleNode("n1", "8", "8Gi", 2)},
                                   {MakePod({.name = "a", .cpu = "1", .node = "n1", .priority = 3}),
                                    MakePod({.name = "b", .cpu = "1", .node = "n1", .priority = 2})});
  PodInfoPtr pod = MakePod({.name = "urgent", .cpu = "1", .priority = 10});
  Outcome o = Preempt(*fw, snapshot, *pod);
  ASSERT_TRUE(o.status.ok()) << o.status.ToString();
  EXPECT_EQ(Names(o.result.victims), std::vector<std::string>{"b"});
}

// ---------------------------------------------------------------- picking the node

PodInfoPtr Victim(int32_t priority, int64_t start_s = -1) {
  static int next = 0;
  return MakePod({.name = "v" + std::to_string(next++), .cpu = "1", .node = "n", .priority = priority,
                  .start_s = start_s});
}

// pickOneNodeForPreemption's rules in order (without PDBs).
TEST(DefaultPreemptionTest, NodeSelectionTieRules) {
  struct Case {
    std::string name;
    std::vector<PreemptionCandidate> candidates;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"no victims wins", {{"a", {Victim(0)}}, {"b", {}}}, "b"},
      {"lowest highest priority beats count", {{"a", {Victim(10)}}, {"b", {Victim(5), Victim(5), Victim(5)}}}, "b"},
      {"then smallest sum", {{"a", {Victim(5), Victim(5)}}, {"b", {Victim(5), Victim(1)}}}, "b"},
      // Priorities are shifted non-negative before summing: two pods of -5 weigh more
      // than one, though -10 < -5.
      {"negative sums count pods", {{"a", {Victim(-5), Victim(-5)}}, {"b", {Victim(-5)}}}, "b"},
      {"then fewest victims", {{"a", {Victim(0), Victim(0)}}, {"b", {Victim(0)}}}, "b"},
      {"then latest start of the highest-priority victims",
       {{"a", {Victim(5, 100), Victim(1, 500)}}, {"b", {Victim(5, 200), Victim(1, 10)}}},
       "b"},
      {"earliest of the highest priority is what counts",
       {{"a", {Victim(5, 100), Victim(5, 300)}}, {"b", {Victim(5, 200), Victim(5, 200)}}},
       "b"},
      {"not started counts as latest", {{"a", {Victim(5, 100)}}, {"b", {Victim(5)}}}, "b"},
      {"all tied: first in order", {{"a", {Victim(5, 100)}}, {"b", {Victim(5, 100)}}, {"c", {Victim(5, 100)}}}, "a"},
      {"single candidate", {{"only", {Victim(7)}}}, "only"},
  };
  for (const Case& c : cases) {
    size_t i = PickOneNodeForPreemption(c.candidates);
    ASSERT_LT(i, c.candidates.size()) << c.name;
    EXPECT_EQ(c.candidates[i].node, c.want) << c.name;
  }
}

TEST(DefaultPreemptionTest, MoreImportantPodOrder) {
  PodInfoPtr high = MakePod({.name = "high", .priority = 10, .start_s = 500});
  PodInfoPtr early = MakePod({.name = "early", .priority = 5, .start_s = 100});
  PodInfoPtr late = MakePod({.name = "late", .priority = 5, .start_s = 200});
  PodInfoPtr unstarted = MakePod({.name = "unstarted", .priority = 5});
  EXPECT_TRUE(MoreImportantPod(*high, *early));
  EXPECT_TRUE(MoreImportantPod(*early, *late));
  EXPECT_TRUE(MoreImportantPod(*late, *unstarted));
  EXPECT_FALSE(MoreImportantPod(*late, *early));
  EXPECT_FALSE(MoreImportantPod(*early, *early));
  // Far-off timestamps clamp instead of overflowing: year 9999 still counts as late.
  PodInfoPtr far = MakePod({.name = "far", .priority = 5, .start_s = 253402300799});
  EXPECT_TRUE(MoreImportantPod(*late, *far));
  EXPECT_GT(PodStartTimeNanos(*far), PodStartTimeNanos(*late));
}

// ---------------------------------------------------------------- candidates and args

// With room for one candidate, the dry run stops at the first potential node from the
// pod's offset (Kubernetes draws the offset at random; ksim hashes the uid).
TEST(DefaultPreemptionTest, CandidateSearchStartsAtTheUidOffset) {
  auto fw = TestFramework(nlohmann::json{{"minCandidateNodesPercentage", 0}, {"minCandidateNodesAbsolute", 1}});
  std::vector<std::shared_ptr<const NodeData>> nodes;
  std::vector<PodInfoPtr> pods;
  for (int i = 0; i < 7; ++i) {
    const std::string name = "n" + std::to_string(i);
    nodes.push_back(SimpleNode(name, "4"));
    // n0's victim would be the cheapest; the search must not reach it unless it starts there.
    pods.push_back(MakePod({.name = "low" + std::to_string(i), .cpu = "4", .node = name, .priority = i == 0 ? 0 : 50}));
  }
  Snapshot snapshot = Snapshot::Of(nodes, pods);
  for (const std::string uid_name : {"a", "b", "c", "d", "e"}) {
    PodInfoPtr pod = MakePod({.name = uid_name, .cpu = "1", .priority = 100});
    Outcome o = Preempt(*fw, snapshot, *pod);
    ASSERT_TRUE(o.status.ok()) << o.status.ToString();
    const size_t offset = Random::HashString(pod->uid) % nodes.size();
    EXPECT_EQ(o.result.nominated_node, "n" + std::to_string(offset)) << uid_name;
  }
  // With the defaults (at least 100 candidates) every node is tried and n0 wins.
  auto all = TestFramework();
  Outcome o = Preempt(*all, snapshot, *MakePod({.name = "a", .cpu = "1", .priority = 100}));
  ASSERT_TRUE(o.status.ok()) << o.status.ToString();
  EXPECT_EQ(o.result.nominated_node, "n0");
}

TEST(DefaultPreemptionTest, NumCandidates) {
  struct Case {
    int32_t percentage;
    int32_t absolute;
    size_t nodes;
    size_t want;
  };
  const std::vector<Case> cases = {
      {10, 100, 50, 50},     // never more than the potential nodes
      {10, 100, 5000, 500},  // 10% above the absolute floor
      {10, 100, 800, 100},   // the floor
      {0, 3, 10, 3},         {50, 0, 10, 5}, {100, 0, 7, 7},
  };
  for (const Case& c : cases) {
    DefaultPreemption p({.min_candidate_nodes_percentage = c.percentage, .min_candidate_nodes_absolute = c.absolute});
    EXPECT_EQ(p.NumCandidates(c.nodes), c.want) << c.percentage << "% " << c.absolute << " of " << c.nodes;
  }
}

// ValidateDefaultPreemptionArgs: percentage in [0, 100], absolute >= 0, not both zero.
TEST(DefaultPreemptionTest, Args) {
  struct Case {
    nlohmann::json args;
    std::string error;  // "" = ok; else a substring of the message
    int32_t percentage = 10;
    int32_t absolute = 100;
  };
  const std::vector<Case> cases = {
      {nullptr, "", 10, 100},
      {nlohmann::json::object(), "", 10, 100},
      {{{"apiVersion", "kubescheduler.config.k8s.io/v1"}, {"kind", "DefaultPreemptionArgs"}}, "", 10, 100},
      {{{"minCandidateNodesPercentage", 30}}, "", 30, 100},
      {{{"minCandidateNodesPercentage", 0}, {"minCandidateNodesAbsolute", 5}}, "", 0, 5},
      {{{"minCandidateNodesPercentage", 101}}, "args.minCandidateNodesPercentage: Invalid value: 101", 0, 0},
      {{{"minCandidateNodesPercentage", -1}}, "args.minCandidateNodesPercentage: Invalid value: -1", 0, 0},
      {{{"minCandidateNodesAbsolute", -1}}, "args.minCandidateNodesAbsolute: Invalid value: -1", 0, 0},
      {{{"minCandidateNodesAbsolute", 4294967296LL}}, "args.minCandidateNodesAbsolute", 0, 0},
      {{{"minCandidateNodesAbsolute", "7"}}, "args.minCandidateNodesAbsolute", 0, 0},
      {{{"minCandidateNodesPercentage", 1.5}}, "args.minCandidateNodesPercentage", 0, 0},
      {{{"minCandidateNodesPercentage", 0}, {"minCandidateNodesAbsolute", 0}}, "cannot be zero at the same time", 0, 0},
      {{{"minCandidateNodes", 1}}, "args.minCandidateNodes: unknown field", 0, 0},
      {nlohmann::json::array(), "args", 0, 0},
  };
  for (const Case& c : cases) {
    DefaultPreemptionArgs parsed;
    Status s = ParseDefaultPreemptionArgs(c.args, &parsed);
    if (c.error.empty()) {
      ASSERT_TRUE(s.ok()) << c.args.dump() << ": " << s.ToString();
      EXPECT_EQ(parsed.min_candidate_nodes_percentage, c.percentage) << c.args.dump();
      EXPECT_EQ(parsed.min_candidate_nodes_absolute, c.absolute) << c.args.dump();
    } else {
      EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << c.args.dump();
      EXPECT_NE(s.message().find(c.error), std::string::npos) << c.args.dump() << ": " << s.message();
    }
  }

  // Through a profile, the error names the plugin.
  ProfileConfig config;
  config.post_filter = {"DefaultPreemption"};
  config.plugin_args["DefaultPreemption"] = {{"minCandidateNodesPercentage", 200}};
  std::unique_ptr<Framework> fw;
  Status s = Framework::Create(config, TestRegistry(), &fw);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("pluginConfig[DefaultPreemption]: args.minCandidateNodesPercentage"), std::string::npos)
      << s.message();
}

// ---------------------------------------------------------------- property

// Whether `pod` fits `node` once `remove` are gone (PreFilter state updated as preemption
// does, from the state PreFilter left).
bool Fits(const Framework& fw, const CycleState& base, const PodInfo& pod, const NodeInfo& node,
          const Snapshot& snapshot, const std::vector<PodInfoPtr>& remove) {
  NodeInfo copy = node;
  CycleState state = base.Clone();
  for (const PodInfoPtr& p : remove) {
    RC_ASSERT(copy.RemovePod(p->uid));
    RC_ASSERT(fw.RunPreFilterRemovePod(state, pod, *p, copy, snapshot).ok());
  }
  return fw.RunFilter(state, pod, copy).ok();
}

// For random small clusters: a nominated node is one a Filter called Unschedulable; every
// victim is on it, of lower priority than the preemptor and not already terminating; with
// the victims (and the terminating lower-priority pods) gone the pod fits; no single victim
// could have been spared. When preemption fails, no node would fit the pod even with every
// lower-priority pod gone.
RC_GTEST_PROP(DefaultPreemptionProperty, VictimsMakeRoomAndNoneCouldBeSpared, ()) {
  auto fw = TestFramework();
  const int num_nodes = *rc::gen::inRange(1, 6);
  const std::vector<int32_t> priorities = {-5, 0, 1, 5, 10, 100};
  std::vector<std::shared_ptr<const NodeData>> nodes;
  std::vector<PodInfoPtr> pods;
  int serial = 0;
  for (int n = 0; n < num_nodes; ++n) {
    const std::string name = "n" + std::to_string(n);
    const int cpu = *rc::gen::inRange(1, 7);
    const int max_pods = *rc::gen::inRange(1, 8);
    const bool pool_a = *rc::gen::inRange(0, 4) != 0;
    nodes.push_back(SimpleNode(name, std::to_string(cpu), "8Gi", max_pods,
                               {{"pool", pool_a ? "a" : "b"}}));
    // Mostly full nodes, so that the preemptor rarely fits outright.
    const int num_pods = *rc::gen::inRange(max_pods / 2, max_pods + 1);
    int used_milli = 0;
    for (int i = 0; i < num_pods; ++i) {
      const int milli = 500 * *rc::gen::inRange(1, 5);
      if (used_milli + milli > cpu * 1000) break;
      used_milli += milli;
      std::map<std::string, std::string> labels;
      if (*rc::gen::inRange(0, 5) == 0) labels["noisy"] = "true";
      pods.push_back(MakePod({.name = "p" + std::to_string(serial++),
                              .cpu = std::to_string(milli) + "m",
                              .node = name,
                              .priority = *rc::gen::elementOf(priorities),
                              .start_s = *rc::gen::inRange(-1, 4) * 100,
                              .terminating = *rc::gen::inRange(0, 8) == 0,
                              .labels = labels}));
    }
  }
  Snapshot snapshot = Snapshot::Of(nodes, pods);
  std::map<std::string, std::string> selector;
  if (*rc::gen::inRange(0, 3) == 0) selector["pool"] = "a";
  std::map<std::string, std::string> labels;
  if (*rc::gen::inRange(0, 3) == 0) labels["quiet"] = "true";
  PodInfoPtr pod = MakePod({.name = "preemptor",
                            .cpu = std::to_string(500 * *rc::gen::inRange(2, 11)) + "m",
                            .priority = *rc::gen::elementOf(std::vector<int32_t>{0, 5, 10, 100, 100, 1000}),
                            .labels = labels,
                            .node_selector = selector});

  CycleState state = fw->NewCycleState();
  ScheduleCursor cursor(Random(1));
  ScheduleResult sr;
  Diagnosis diagnosis;
  PluginStatus scheduled = SchedulePod(*fw, snapshot, *pod, state, cursor, &sr, &diagnosis);
  if (scheduled.ok()) {
    RC_CLASSIFY(true, "fits without preemption");
    return;
  }
  RC_ASSERT(scheduled.IsRejection());
  // The state PostFilter sees is the one SchedulePod left (PreFilter's).
  CycleState base = state.Clone();
  PostFilterResult result;
  PluginStatus s = fw->RunPostFilter(state, *pod, snapshot, diagnosis, &result);
  RC_ASSERT(s.code() != Code::kError);

  auto set_aside = [&](const NodeInfo& node, const std::vector<PodInfoPtr>& victims) {
    std::vector<PodInfoPtr> out = victims;
    for (const PodInfoPtr& p : node.pods()) {
      if (p->priority < pod->priority && p->terminating) out.push_back(p);
    }
    return out;
  };

  if (s.ok()) {
    RC_CLASSIFY(true, "preempted");
    const NodeInfo* node = snapshot.Find(result.nominated_node);
    RC_ASSERT(node != nullptr);
    RC_ASSERT(diagnosis.node_to_status.at(result.nominated_node).code() == Code::kUnschedulable);
    for (const PodInfoPtr& v : result.victims) {
      RC_ASSERT(v->node_name == result.nominated_node);
      RC_ASSERT(v->priority < pod->priority);
      RC_ASSERT(!v->terminating);
    }
    RC_ASSERT(Fits(*fw, base, *pod, *node, snapshot, set_aside(*node, result.victims)));
    for (size_t i = 0; i < result.victims.size(); ++i) {
      std::vector<PodInfoPtr> others = result.victims;
      others.erase(others.begin() + static_cast<std::ptrdiff_t>(i));
      RC_ASSERT(!Fits(*fw, base, *pod, *node, snapshot, set_aside(*node, others)));
    }
    // Most important first.
    for (size_t i = 1; i < result.victims.size(); ++i) {
      RC_ASSERT(!MoreImportantPod(*result.victims[i], *result.victims[i - 1]));
    }
  } else {
    RC_CLASSIFY(true, "no preemption");
    RC_ASSERT(s.code() == Code::kUnschedulable);
    RC_ASSERT(result.nominated_node.empty());
    RC_ASSERT(s.reasons().size() == 1u);
    RC_ASSERT(s.reasons()[0].rfind("preemption: 0/" + std::to_string(num_nodes) + " nodes are available:", 0) == 0u);
    for (const auto& node : snapshot.nodes()) {
      if (diagnosis.node_to_status.at(node->name()).code() != Code::kUnschedulable) continue;
      std::vector<PodInfoPtr> lower;
      for (const PodInfoPtr& p : node->pods()) {
        if (p->priority < pod->priority) lower.push_back(p);
      }
      RC_ASSERT(lower.empty() || !Fits(*fw, base, *pod, *node, snapshot, lower));
    }
  }
}

}  // namespace
}  // namespace ksim::scheduler::testing
