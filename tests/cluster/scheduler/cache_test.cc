// SchedulerCache: assume/forget, confirmation by the informer, and incremental snapshots
// that equal a snapshot built from scratch.
#include <gtest/gtest.h>

#include "cluster/env/random.h"
#include "cluster/scheduler/cache.h"
#include "tests/cluster/scheduler/scheduler_testing.h"

namespace ksim::scheduler::testing {
namespace {

// Everything a plugin could read, as text, to compare two snapshots.
std::string Describe(const Snapshot& s) {
  std::string out;
  for (const auto& n : s.nodes()) {
    out += n->name() + " cpu=" + std::to_string(n->requested().milli_cpu) + " pods=";
    std::vector<std::string> uids;
    for (const auto& p : n->pods()) uids.push_back(p->uid);
    std::sort(uids.begin(), uids.end());
    for (const auto& u : uids) out += u + ",";
    out += " aff=" + std::to_string(n->pods_with_affinity().size()) + "\n";
  }
  out += "with-affinity:";
  for (const auto* n : s.have_pods_with_affinity()) out += " " + n->name();
  out += "\nnum_pods=" + std::to_string(s.NumPods());
  return out;
}

PodInfoPtr AffinityPod(const std::string& name, const std::string& node) {
  return PodInfoFromYaml(R"(
metadata: {name: )" + name + R"(, labels: {app: db}}
spec:
  nodeName: )" + node + R"(
  containers: [{name: a, image: nginx, resources: {requests: {cpu: 100m}}}]
  affinity:
    podAntiAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
      - {labelSelector: {matchLabels: {app: db}}, topologyKey: kubernetes.io/hostname}
)");
}

TEST(SchedulerCache, AssumedPodCountsUntilForgotten) {
  SchedulerCache cache;
  cache.AddOrUpdateNode(SimpleNode("n1"));
  Snapshot snap;
  cache.UpdateSnapshot(&snap);
  ASSERT_TRUE(cache.AssumePod(SimplePod("p", "1", "", "n1")).ok());
  EXPECT_FALSE(cache.AssumePod(SimplePod("p", "1", "", "n1")).ok());  // twice is a bug
  cache.UpdateSnapshot(&snap);
  EXPECT_EQ(snap.Find("n1")->requested().milli_cpu, 1000);
  EXPECT_TRUE(cache.IsAssumed("default/p"));
  cache.ForgetPod("default/p");
  cache.UpdateSnapshot(&snap);
  EXPECT_EQ(snap.Find("n1")->requested().milli_cpu, 0);
  EXPECT_EQ(cache.stats().assumed, 0u);
}

TEST(SchedulerCache, InformerConfirmsAndMovesAssumedPod) {
  SchedulerCache cache;
  cache.AddOrUpdateNode(SimpleNode("n1"));
  cache.AddOrUpdateNode(SimpleNode("n2"));
  ASSERT_TRUE(cache.AssumePod(SimplePod("p", "1", "", "n1")).ok());
  // Another scheduler replica bound it elsewhere; the informer's word wins.
  cache.AddOrUpdatePod(SimplePod("p", "1", "", "n2"));
  Snapshot snap;
  cache.UpdateSnapshot(&snap);
  EXPECT_EQ(snap.Find("n1")->requested().milli_cpu, 0);
  EXPECT_EQ(snap.Find("n2")->requested().milli_cpu, 1000);
  EXPECT_FALSE(cache.IsAssumed("default/p"));
  cache.ForgetPod("default/p");  // a late binding failure must not drop a bound pod
  EXPECT_NE(cache.GetPod("default/p"), nullptr);
}

TEST(SchedulerCache, FinishedPodsFreeTheirResources) {
  SchedulerCache cache;
  cache.AddOrUpdateNode(SimpleNode("n1"));
  cache.AddOrUpdatePod(SimplePod("p", "1", "", "n1"));
  auto done = std::make_shared<api::Pod>(*SimplePod("p", "1", "", "n1")->pod);
  done->mutable_status()->set_phase("Succeeded");
  std::shared_ptr<PodInfo> info;
  ASSERT_TRUE(PodInfo::Build(done, &info).ok());
  cache.AddOrUpdatePod(info);
  Snapshot snap;
  cache.UpdateSnapshot(&snap);
  EXPECT_EQ(snap.Find("n1")->requested().milli_cpu, 0);
}

TEST(SchedulerCache, PodsOnAnUnknownNodeWaitForIt) {
  SchedulerCache cache;
  cache.AddOrUpdatePod(SimplePod("p", "1", "", "late"));
  Snapshot snap;
  cache.UpdateSnapshot(&snap);
  EXPECT_EQ(snap.nodes().size(), 0u);  // not a candidate without a Node object
  cache.AddOrUpdateNode(SimpleNode("late"));
  cache.UpdateSnapshot(&snap);
  ASSERT_NE(snap.Find("late"), nullptr);
  EXPECT_EQ(snap.Find("late")->requested().milli_cpu, 1000);
}

TEST(SchedulerCache, IncrementalSnapshotEqualsAFreshOne) {
  SchedulerCache cache;
  std::vector<std::shared_ptr<const NodeData>> nodes;
  for (int i = 0; i < 6; ++i) {
    nodes.push_back(SimpleNode("n" + std::to_string(i)));
    cache.AddOrUpdateNode(nodes.back());
  }
  Snapshot incremental;
  cache.UpdateSnapshot(&incremental);
  std::vector<PodInfoPtr> live;
  ksim::Random random(11);
  for (int step = 0; step < 300; ++step) {
    const std::string node = "n" + std::to_string(random.Uniform(6));
    const uint64_t action = random.Uniform(4);
    if (action == 0 || live.empty()) {
      auto pod = random.Bernoulli(0.3) ? AffinityPod("p" + std::to_string(step), node)
                                       : SimplePod("p" + std::to_string(step), "100m", "", node);
      if (random.Bernoulli(0.5)) {
        ASSERT_TRUE(cache.AssumePod(pod).ok());
      } else {
        cache.AddOrUpdatePod(pod);
      }
      live.push_back(pod);
    } else if (action == 1) {
      size_t k = random.Uniform(live.size());
      cache.RemovePod(live[k]->uid);
      live.erase(live.begin() + static_cast<long>(k));
    } else if (action == 2) {
      size_t k = random.Uniform(live.size());
      auto moved = BoundTo(live[k], node);
      cache.AddOrUpdatePod(moved);
      live[k] = moved;
    }
    if (random.Bernoulli(0.5)) cache.UpdateSnapshot(&incremental);
  }
  cache.UpdateSnapshot(&incremental);
  Snapshot fresh = Snapshot::Of(nodes, live);
  EXPECT_EQ(Describe(incremental), Describe(fresh));
}

}  // namespace
}  // namespace ksim::scheduler::testing
