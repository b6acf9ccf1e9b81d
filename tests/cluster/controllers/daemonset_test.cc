// The DaemonSet controller against the API in the simulated world: fake kubelets register
// the nodes, the pod runner binds each daemon pod to the node its metadata.name affinity
// names (as the scheduler would) and makes it Running and Ready.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "cluster/api/apps.pb.h"
#include "cluster/api/codec.h"
#include "cluster/controllers/daemonset.h"
#include "cluster/controllers/history.h"
#include "cluster/controllers/replica_set.h"
#include "tests/cluster/controllers/cm_cluster.h"

namespace ksim::controllers::testing {
namespace {

const api::KindInfo& DsKind() { return Kind("apps", "daemonsets"); }

api::DaemonSet MakeDs(const std::string& name, const std::string& image = "agent:1") {
  api::DaemonSet ds;
  ds.mutable_metadata()->set_name(name);
  ds.mutable_metadata()->set_namespace_("default");
  (*ds.mutable_spec()->mutable_selector()->mutable_match_labels())["app"] = name;
  auto* t = ds.mutable_spec()->mutable_template_();
  (*t->mutable_metadata()->mutable_labels())["app"] = name;
  auto* c = t->mutable_spec()->add_containers();
  c->set_name("c");
  c->set_image(image);
  return ds;
}

api::Taint MakeTaint(const std::string& key, const std::string& effect) {
  api::Taint t;
  t.set_key(key);
  t.set_value("x");
  t.set_effect(effect);
  return t;
}

// The scheduler's part: bind to the node the daemon pod's affinity names.
PodPlanner DaemonPlanner(std::function<void(const api::Pod&, PodPlan&)> tweak = nullptr) {
  return [tweak](const api::Pod& pod) {
    PodPlan p = PodPlan::On(TargetNodeName(pod));
    if (tweak) tweak(pod, p);
    return p;
  };
}

class DaemonSetTest : public ::testing::Test {
 public:
  void Start(const std::map<std::string, std::map<std::string, std::string>>& nodes, PodPlanner planner = DaemonPlanner(),
             std::function<void(ControllerManagerOptions&)> tweak = nullptr) {
    c.AddPodRunner(std::move(planner));
    for (const auto& [name, labels] : nodes) c.AddKubelet(name, labels);
    c.AddManager(1, [tweak](ControllerManagerOptions& o) {
      o.controllers = {kDaemonSetControllerName};
      if (tweak) tweak(o);
    });
    c.Run(Seconds(20));
  }
  std::map<std::string, api::Pod> Pods() { return c.List<api::Pod>("pods", "default"); }
  api::DaemonSet GetDs(const std::string& name) {
    auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Get(DsKind(), "default", name, std::move(d)); });
    api::DaemonSet ds;
    EXPECT_TRUE(r.ok() && ds.ParseFromString(r.body)) << r.Describe();
    return ds;
  }
  void UpdateDs(const std::string& name, const std::function<void(api::DaemonSet&)>& change) {
    for (int attempt = 0; attempt < 5; ++attempt) {
      api::DaemonSet ds = GetDs(name);
      change(ds);
      auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Update(DsKind(), ds, std::move(d)); });
      if (r.ok()) return;
      ASSERT_EQ(r.code, 409) << r.Describe();
    }
    FAIL() << "update kept conflicting";
  }
  void UpdateNode(const std::string& name, const std::function<void(api::Node&)>& change) {
    for (int attempt = 0; attempt < 5; ++attempt) {
      api::Node n = c.Nodes().at(name);
      change(n);
      auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Update(Kind("", "nodes"), n, std::move(d)); });
      if (r.ok()) return;
      ASSERT_EQ(r.code, 409) << r.Describe();
    }
    FAIL() << "node update kept conflicting";
  }
  // The daemon pods of `ds` (not terminating unless `all`) by node.
  std::map<std::string, std::vector<api::Pod>> ByNode(const std::string& ds, bool all = false) {
    std::map<std::string, std::vector<api::Pod>> out;
    for (const auto& [name, p] : Pods()) {
      const auto* ref = ControllerRef(p.metadata());
      if (ref == nullptr || ref->name() != ds) continue;
      if (!all && p.metadata().has_deletion_timestamp()) continue;
      out[TargetNodeName(p)].push_back(p);
    }
    return out;
  }
  std::set<std::string> NodesWith(const std::string& ds) {
    std::set<std::string> out;
    for (const auto& [node, pods] : ByNode(ds)) out.insert(node);
    return out;
  }
  std::map<std::string, api::ControllerRevision> Revisions() {
    std::map<std::string, api::ControllerRevision> out;
    auto r = c.api.Await([&](client::ApiClient::Done d) {
      c.kubectl->List(Kind("apps", "controllerrevisions"), "default", {}, std::move(d));
    });
    apiserver::ObjectList l;
    if (!r.ok() || !l.ParseFromString(r.body)) return out;
    for (const auto& item : l.items()) {
      api::ControllerRevision rev;
      if (rev.ParseFromString(item)) out[rev.metadata().name()] = rev;
    }
    return out;
  }
  int CountReason(const std::string& reason) {
    int n = 0;
    for (const auto& e : c.Events()) n += e.reason() == reason ? std::max(1, e.count()) : 0;
    return n;
  }
  std::string UpdateHash(const std::string& ds) {
    // The newest revision's hash.
    auto revs = Revisions();
    int64_t best = -1;
    std::string hash;
    for (const auto& [name, r] : revs) {
      if (r.revision() > best && name.rfind(ds + "-", 0) == 0) {
        best = r.revision();
        hash = r.metadata().labels().at(history::kHashLabel);
      }
    }
    return hash;
  }
  CmCluster c;
};

const std::map<std::string, std::string> kNone;

TEST_F(DaemonSetTest, OnePodPerNodeAndANodeThatJoinsGetsOne) {
  Start({{"n1", kNone}, {"n2", kNone}, {"n3", kNone}});
  ASSERT_TRUE(c.Create(MakeDs("agent")).ok());
  c.Run(Seconds(30));
  auto by_node = ByNode("agent");
  ASSERT_EQ(by_node.size(), 3u);
  const std::string hash = UpdateHash("agent");
  ASSERT_FALSE(hash.empty());
  for (const auto& [node, pods] : by_node) {
    ASSERT_EQ(pods.size(), 1u) << node;
    const api::Pod& p = pods[0];
    EXPECT_EQ(p.spec().node_name(), node) << "bound by the runner from the affinity";
    EXPECT_EQ(p.metadata().labels().at(kPodRevisionHashLabel), hash);
    EXPECT_EQ(p.metadata().owner_references(0).kind(), "DaemonSet");
    EXPECT_EQ(p.metadata().name().rfind("agent-", 0), 0u);
    const auto& term = p.spec().affinity().node_affinity().required_during_scheduling_ignored_during_execution();
    ASSERT_EQ(term.node_selector_terms_size(), 1);
    EXPECT_EQ(term.node_selector_terms(0).match_fields(0).key(), "metadata.name");
    std::set<std::string> tolerated;
    for (const auto& t : p.spec().tolerations()) tolerated.insert(t.key() + ":" + t.effect());
    EXPECT_EQ(tolerated.count("node.kubernetes.io/unreachable:NoExecute"), 1u);
    EXPECT_EQ(tolerated.count("node.kubernetes.io/unschedulable:NoSchedule"), 1u);
    EXPECT_EQ(tolerated.count("node.kubernetes.io/network-unavailable:NoSchedule"), 0u) << "not hostNetwork";
    for (const auto& t : p.spec().tolerations()) EXPECT_FALSE(t.has_toleration_seconds()) << t.key();
  }
  api::DaemonSet ds = GetDs("agent");
  EXPECT_EQ(ds.status().desired_number_scheduled(), 3);
  EXPECT_EQ(ds.status().current_number_scheduled(), 3);
  EXPECT_EQ(ds.status().number_ready(), 3);
  EXPECT_EQ(ds.status().number_available(), 3);
  EXPECT_EQ(ds.status().updated_number_scheduled(), 3);
  EXPECT_EQ(ds.status().number_unavailable(), 0);
  EXPECT_EQ(ds.status().number_misscheduled(), 0);
  EXPECT_EQ(ds.status().observed_generation(), ds.metadata().generation());
  EXPECT_EQ(CountReason("SuccessfulCreate"), 3);

  c.AddKubelet("n4");
  c.Run(Seconds(30));
  by_node = ByNode("agent");
  ASSERT_EQ(by_node.size(), 4u);
  EXPECT_EQ(by_node.at("n4").size(), 1u);
  EXPECT_EQ(GetDs("agent").status().number_available(), 4);
  EXPECT_TRUE(c.violations.empty());
}

TEST_F(DaemonSetTest, NodeSelectorTaintsAndANodeThatStopsMatching) {
  Start({{"n1", {{"disk", "ssd"}}}, {"n2", {{"disk", "hdd"}}}, {"n3", {{"disk", "ssd"}}}});
  UpdateNode("n3", [](api::Node& n) { *n.mutable_spec()->add_taints() = MakeTaint("dedicated", "NoSchedule"); });
  api::DaemonSet ssd = MakeDs("ssd");
  (*ssd.mutable_spec()->mutable_template_()->mutable_spec()->mutable_node_selector())["disk"] = "ssd";
  ASSERT_TRUE(c.Create(ssd).ok());
  api::DaemonSet tolerant = MakeDs("tolerant");
  auto* tol = tolerant.mutable_spec()->mutable_template_()->mutable_spec()->add_tolerations();
  tol->set_key("dedicated");
  tol->set_operator_("Exists");
  ASSERT_TRUE(c.Create(tolerant).ok());
  c.Run(Seconds(30));
  EXPECT_EQ(NodesWith("ssd"), (std::set<std::string>{"n1"})) << "n2 unlabelled, n3 tainted";
  EXPECT_EQ(NodesWith("tolerant"), (std::set<std::string>{"n1", "n2", "n3"}));
  EXPECT_EQ(GetDs("ssd").status().desired_number_scheduled(), 1);

  // A NoSchedule taint keeps a running daemon pod; an untolerated NoExecute one evicts it.
  UpdateNode("n2", [](api::Node& n) { *n.mutable_spec()->add_taints() = MakeTaint("maint", "NoSchedule"); });
  c.Run(Seconds(20));
  EXPECT_EQ(NodesWith("tolerant").count("n2"), 1u);
  EXPECT_EQ(GetDs("tolerant").status().number_misscheduled(), 1) << "there, though it would not be placed now";
  UpdateNode("n1", [](api::Node& n) { *n.mutable_spec()->add_taints() = MakeTaint("evict", "NoExecute"); });
  c.Run(Seconds(20));
  EXPECT_EQ(NodesWith("tolerant"), (std::set<std::string>{"n2", "n3"}));
  EXPECT_EQ(NodesWith("ssd"), (std::set<std::string>{})) << "untolerated NoExecute";
  UpdateNode("n1", [](api::Node& n) { n.mutable_spec()->clear_taints(); });
  c.Run(Seconds(20));
  EXPECT_EQ(NodesWith("ssd"), (std::set<std::string>{"n1"}));

  // Relabelled to stop matching: its pod goes.
  UpdateNode("n1", [](api::Node& n) { (*n.mutable_metadata()->mutable_labels())["disk"] = "hdd"; });
  c.Run(Seconds(20));
  EXPECT_TRUE(ByNode("ssd", /*all=*/true).empty());
  api::DaemonSet ds = GetDs("ssd");
  EXPECT_EQ(ds.status().desired_number_scheduled(), 0);
  EXPECT_EQ(ds.status().number_misscheduled(), 0);
  EXPECT_GE(CountReason("SuccessfulDelete"), 3);
  EXPECT_TRUE(c.violations.empty());
}

// Samples the cluster every 500 ms for `d`: the most eligible nodes at once without an
// available (Ready, not terminating) daemon pod, and the most pods at once on one node.
struct RollFigures {
  int max_unavailable_nodes = 0;
  size_t max_pods_on_a_node = 0;
};
RollFigures Watch(DaemonSetTest& t, const std::string& ds, const std::set<std::string>& nodes, Nanos d) {
  RollFigures f;
  for (Nanos at{0}; at < d; at += Milliseconds(500)) {
    t.c.Run(Milliseconds(500));
    auto all = t.ByNode(ds, /*all=*/true);
    int unavailable = 0;
    for (const auto& n : nodes) {
      bool ok = false;
      for (const auto& p : all[n]) ok = ok || (!p.metadata().has_deletion_timestamp() && PodReady(p));
      unavailable += ok ? 0 : 1;
      f.max_pods_on_a_node = std::max(f.max_pods_on_a_node, all[n].size());
    }
    f.max_unavailable_nodes = std::max(f.max_unavailable_nodes, unavailable);
  }
  return f;
}

bool AllAt(DaemonSetTest& t, const std::string& ds, const std::set<std::string>& nodes, const std::string& hash) {
  auto by = t.ByNode(ds, /*all=*/true);
  for (const auto& n : nodes) {
    if (by[n].size() != 1 || by[n][0].metadata().labels().at(kPodRevisionHashLabel) != hash) return false;
  }
  return by.size() == nodes.size();
}

TEST_F(DaemonSetTest, RollingUpdateKeepsAtMostMaxUnavailableNodesWithoutAPod) {
  const std::set<std::string> nodes = {"n1", "n2", "n3", "n4", "n5"};
  Start({{"n1", kNone}, {"n2", kNone}, {"n3", kNone}, {"n4", kNone}, {"n5", kNone}},
        DaemonPlanner([](const api::Pod&, PodPlan& p) { p.ready_after = Seconds(2); }));
  ASSERT_TRUE(c.Create(MakeDs("agent")).ok());
  c.Run(Seconds(30));
  const std::string old_hash = UpdateHash("agent");
  ASSERT_TRUE(AllAt(*this, "agent", nodes, old_hash));
  UpdateDs("agent", [](api::DaemonSet& ds) {
    ds.mutable_spec()->mutable_template_()->mutable_spec()->mutable_containers(0)->set_image("agent:2");
  });
  const RollFigures f = Watch(*this, "agent", nodes, Seconds(90));
  EXPECT_EQ(f.max_unavailable_nodes, 1) << "maxUnavailable 1: one node at a time";
  EXPECT_EQ(f.max_pods_on_a_node, 1u) << "no surge";
  const std::string hash = UpdateHash("agent");
  EXPECT_NE(hash, old_hash);
  EXPECT_TRUE(AllAt(*this, "agent", nodes, hash)) << "the update completes within 90 s";
  api::DaemonSet ds = GetDs("agent");
  EXPECT_EQ(ds.status().updated_number_scheduled(), 5);
  EXPECT_EQ(ds.status().number_available(), 5);
  EXPECT_EQ(Revisions().size(), 2u);
  EXPECT_TRUE(c.violations.empty());
}

TEST_F(DaemonSetTest, MaxSurgeOneRollsWithoutUnavailabilityAndAtMostTwoPodsOnANode) {
  const std::set<std::string> nodes = {"n1", "n2", "n3", "n4"};
  Start({{"n1", kNone}, {"n2", kNone}, {"n3", kNone}, {"n4", kNone}},
        DaemonPlanner([](const api::Pod&, PodPlan& p) { p.ready_after = Seconds(2); }));
  api::DaemonSet ds = MakeDs("agent");
  auto* ru = ds.mutable_spec()->mutable_update_strategy()->mutable_rolling_update();
  ds.mutable_spec()->mutable_update_strategy()->set_type("RollingUpdate");
  *ru->mutable_max_unavailable() = api::MakeIntOrString(0);
  *ru->mutable_max_surge() = api::MakeIntOrString(1);
  ds.mutable_spec()->set_min_ready_seconds(3);
  ASSERT_TRUE(c.Create(ds).ok());
  c.Run(Seconds(30));
  UpdateDs("agent", [](api::DaemonSet& d) {
    d.mutable_spec()->mutable_template_()->mutable_spec()->mutable_containers(0)->set_image("agent:2");
  });
  const RollFigures f = Watch(*this, "agent", nodes, Seconds(120));
  EXPECT_EQ(f.max_pods_on_a_node, 2u) << "surge: the new pod beside the old";
  EXPECT_EQ(f.max_unavailable_nodes, 0) << "the old pod goes only once the new one is available";
  EXPECT_TRUE(AllAt(*this, "agent", nodes, UpdateHash("agent")));
  EXPECT_TRUE(c.violations.empty());
}

TEST_F(DaemonSetTest, OnDeleteReplacesOnlyDeletedPods) {
  Start({{"n1", kNone}, {"n2", kNone}, {"n3", kNone}});
  api::DaemonSet ds = MakeDs("agent");
  ds.mutable_spec()->mutable_update_strategy()->set_type("OnDelete");
  ds.mutable_spec()->mutable_update_strategy()->clear_rolling_update();
  ASSERT_TRUE(c.Create(ds).ok());
  c.Run(Seconds(30));
  const std::string old_hash = UpdateHash("agent");
  UpdateDs("agent", [](api::DaemonSet& d) {
    d.mutable_spec()->mutable_template_()->mutable_spec()->mutable_containers(0)->set_image("agent:2");
  });
  c.Run(Seconds(30));
  const std::string hash = UpdateHash("agent");
  ASSERT_NE(hash, old_hash);
  auto by = ByNode("agent");
  for (const auto& [node, pods] : by) EXPECT_EQ(pods.at(0).metadata().labels().at(kPodRevisionHashLabel), old_hash) << node;
  const std::string victim = by.at("n2").at(0).metadata().name();
  auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Delete(Kind("", "pods"), "default", victim, std::move(d)); });
  ASSERT_TRUE(r.ok()) << r.Describe();
  c.Run(Seconds(30));
  by = ByNode("agent");
  EXPECT_EQ(by.at("n2").at(0).metadata().labels().at(kPodRevisionHashLabel), hash);
  EXPECT_EQ(by.at("n1").at(0).metadata().labels().at(kPodRevisionHashLabel), old_hash);
  EXPECT_EQ(by.at("n3").at(0).metadata().labels().at(kPodRevisionHashLabel), old_hash);
  EXPECT_EQ(GetDs("agent").status().updated_number_scheduled(), 1);
}

// Extra daemon pods on a node (two matching orphans pinned there): the oldest is kept.
TEST_F(DaemonSetTest, ExtraPodsOnANodeAreDeletedKeepingTheOldest) {
  Start({{"n1", kNone}, {"n2", kNone}});
  for (const char* name : {"old", "new"}) {
    api::Pod p;
    p.mutable_metadata()->set_name(name);
    p.mutable_metadata()->set_namespace_("default");
    (*p.mutable_metadata()->mutable_labels())["app"] = "agent";
    *p.mutable_spec() = MakeDs("agent").spec().template_().spec();
    SetNodeNameAffinity(p.mutable_spec(), "n1");
    ASSERT_TRUE(c.Create(p).ok());
    c.Run(Seconds(3));
  }
  api::DaemonSet ds = MakeDs("agent");
  ds.mutable_spec()->mutable_update_strategy()->set_type("OnDelete");  // keep the adopted pod
  ds.mutable_spec()->mutable_update_strategy()->clear_rolling_update();
  ASSERT_TRUE(c.Create(ds).ok());
  c.Run(Seconds(30));
  auto by = ByNode("agent", /*all=*/true);
  ASSERT_EQ(by.at("n1").size(), 1u);
  EXPECT_EQ(by.at("n1")[0].metadata().name(), "old");
  EXPECT_EQ(by.at("n2").size(), 1u);
}

// A pod that fails is deleted (FailedDaemonPod) and re-created, with back-off: over 60 s
// a pod failing 1 s after starting is replaced a few times, not every second.
TEST_F(DaemonSetTest, FailedPodsAreReplacedWithBackoff) {
  Start({{"n1", kNone}, {"n2", kNone}}, DaemonPlanner([](const api::Pod& pod, PodPlan& p) {
          if (TargetNodeName(pod) == "n1") {
            p.exit_after = Seconds(1);
            p.exit_code = 1;
          }
        }));
  ASSERT_TRUE(c.Create(MakeDs("agent")).ok());
  c.Run(Seconds(60));
  const int failed = CountReason("FailedDaemonPod");
  EXPECT_GE(failed, 4);
  EXPECT_LE(failed, 8) << "back-off: 1, 2, 4, 8, 16 s ...";
  EXPECT_EQ(ByNode("agent").at("n2").size(), 1u);
}

TEST_F(DaemonSetTest, RevisionHistoryLimitKeepsLiveAndNewestRevisions) {
  Start({{"n1", kNone}});
  api::DaemonSet ds = MakeDs("agent");
  ds.mutable_spec()->set_revision_history_limit(1);
  ASSERT_TRUE(c.Create(ds).ok());
  c.Run(Seconds(20));
  for (int v = 2; v <= 5; ++v) {
    UpdateDs("agent", [v](api::DaemonSet& d) {
      d.mutable_spec()->mutable_template_()->mutable_spec()->mutable_containers(0)->set_image("agent:" + std::to_string(v));
    });
    c.Run(Seconds(20));
  }
  auto revs = Revisions();
  EXPECT_EQ(revs.size(), 2u) << "the live one and one more";
  int64_t newest = 0;
  for (const auto& [name, r] : revs) newest = std::max(newest, r.revision());
  EXPECT_EQ(newest, 5);
  EXPECT_TRUE(AllAt(*this, "agent", {"n1"}, UpdateHash("agent")));
}

// Kubernetes' validation: a DaemonSet update either surges or takes nodes down, not both.
TEST_F(DaemonSetTest, MaxSurgeAndMaxUnavailableBothNonZeroAreRejected) {
  Start({{"n1", kNone}});
  api::DaemonSet ds = MakeDs("agent");
  ds.mutable_spec()->mutable_update_strategy()->set_type("RollingUpdate");
  auto* ru = ds.mutable_spec()->mutable_update_strategy()->mutable_rolling_update();
  *ru->mutable_max_unavailable() = api::MakeIntOrString(1);
  *ru->mutable_max_surge() = api::MakeIntOrString("10%");
  auto r = c.Create(ds);
  EXPECT_EQ(r.code, 422) << r.Describe();
  EXPECT_NE(r.error.message().find("may not be set when maxUnavailable is non-zero"), std::string::npos)
      << r.error.message();
  *ru->mutable_max_unavailable() = api::MakeIntOrString(0);
  EXPECT_TRUE(c.Create(ds).ok()) << "maxSurge alone is fine";
}

// The pod informer 360 s behind: the creates stay unobserved past the expectations'
// timeout (5 min). A sync after that (the DaemonSet touched at 310 s) must read the pods
// from the apiserver, not create them again from the empty cache. Safety: never two live
// daemon pods on a node. Liveness floor: every node gets its pod.
TEST_F(DaemonSetTest, ExpiredExpectationsReadThePodsLiveBehindASlowInformer) {
  Start({{"n1", kNone}, {"n2", kNone}, {"n3", kNone}}, DaemonPlanner(),
        [](ControllerManagerOptions& o) { o.informer_event_delay["pods"] = Seconds(360); });
  ASSERT_TRUE(c.Create(MakeDs("agent")).ok());
  size_t most_on_a_node = 0;
  const auto watch = [&](Nanos d) {
    for (const Nanos end = c.Now() + d; c.Now() < end;) {
      c.Run(Seconds(5));
      for (const auto& [node, pods] : ByNode("agent")) most_on_a_node = std::max(most_on_a_node, pods.size());
    }
  };
  watch(Seconds(310));
  UpdateDs("agent", [](api::DaemonSet& ds) { (*ds.mutable_metadata()->mutable_labels())["touched"] = "1"; });
  watch(Seconds(40));
  EXPECT_EQ(most_on_a_node, 1u) << "a node got a second daemon pod: the expired sync trusted the lagging cache";
  EXPECT_EQ(NodesWith("agent"), (std::set<std::string>{"n1", "n2", "n3"}));
  EXPECT_TRUE(c.violations.empty());
}

}  // namespace
}  // namespace ksim::controllers::testing
