// SimCluster's node side end to end: static pods from the workers' manifest folders run
// while every apiserver is down and show in the API as Running mirror pods afterwards; a
// mirror pod deleted through the API comes back while the static pod keeps running.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cluster/kubelet/kubelet.h"
#include "cluster/kubelet/mirror_pod.h"
#include "scenarios/sim_cluster.h"
#include "sim/host.h"
#include "sim/world.h"

namespace ksim::scenarios {
namespace {

// hostNetwork, as kubeadm's static pods: they need no pod CIDR, so no API.
constexpr char kAgent[] = R"(apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: kube-system}
spec:
  hostNetwork: true
  containers: [{name: agent, image: busybox, readinessProbe: {exec: {command: [cat, /ready]}, periodSeconds: 2}}]
)";

constexpr char kExtra[] = R"(apiVersion: v1
kind: Pod
metadata: {name: extra, namespace: kube-system}
spec:
  hostNetwork: true
  containers: [{name: extra, image: busybox}]
)";

SimClusterOptions WithStaticPods() {
  SimClusterOptions o;
  o.control_plane = 3;
  o.workers = 2;
  o.worker.static_pods["agent.yaml"] = kAgent;
  return o;
}

bool RunningAndReady(const api::Pod& p) {
  if (p.status().phase() != "Running") return false;
  for (const auto& c : p.status().conditions()) {
    if (c.type() == "Ready") return c.status() == "True";
  }
  return false;
}

kubelet::Kubelet* KubeletOn(SimCluster& c, const std::string& worker) {
  return c.world().FindHost(worker)->Find<kubelet::Kubelet>("kubelet");
}

bool WorkerRuns(SimCluster& c, const std::string& worker, const std::string& key) {
  kubelet::Kubelet* k = KubeletOn(c, worker);
  const kubelet::PodWorker* w = k == nullptr ? nullptr : k->worker(key);
  if (w == nullptr || w->View().containers.empty()) return false;
  return w->View().containers[0].state == kubelet::ContainerView::State::kRunning;
}

TEST(SimCluster, StaticPodsRunWithEveryApiserverDownAndShowAsRunningMirrorPods) {
  SimCluster c(WithStaticPods());
  ASSERT_TRUE(c.Bootstrap().ok());
  const std::string w1 = c.worker_hosts()[0];
  ASSERT_TRUE(c.RunUntil([&] { return WorkerRuns(c, w1, "kube-system/agent-" + w1); }, Seconds(30)));
  for (const std::string& cp : c.control_plane_hosts()) ASSERT_TRUE(c.CrashProcess(cp, "apiserver").ok());
  // A new manifest, and a kubelet restart, while no apiserver answers.
  sim::Host* host = c.world().FindHost(w1);
  ASSERT_TRUE(host->disk().WriteFile(std::string(SimCluster::kStaticPodDir) + "/extra.yaml", kExtra).ok());
  ASSERT_TRUE(c.CrashProcess(w1, "kubelet").ok());
  ASSERT_TRUE(c.RestartProcess(w1, "kubelet").ok());
  ASSERT_TRUE(c.RunUntil([&] { return WorkerRuns(c, w1, "kube-system/extra-" + w1); }, Seconds(60)))
      << "a static pod needs no apiserver";
  EXPECT_TRUE(WorkerRuns(c, w1, "kube-system/agent-" + w1));
  EXPECT_EQ(KubeletOn(c, w1)->stats().pods_adopted, 1u) << "the restarted kubelet adopted agent, not started it twice";
  EXPECT_FALSE(KubeletOn(c, w1)->node_status()->registered());

  for (const std::string& cp : c.control_plane_hosts()) ASSERT_TRUE(c.RestartProcess(cp, "apiserver").ok());
  api::Pod agent, extra, other;
  ASSERT_TRUE(c.RunUntil(
      [&] {
        return c.GetPod("kube-system", "agent-" + w1, &agent).ok() && RunningAndReady(agent) &&
               c.GetPod("kube-system", "extra-" + w1, &extra).ok() && RunningAndReady(extra) &&
               c.GetPod("kube-system", "agent-" + c.worker_hosts()[1], &other).ok() && RunningAndReady(other);
      },
      Seconds(120)))
      << agent.DebugString();
  EXPECT_TRUE(kubelet::IsMirrorPod(agent));
  EXPECT_EQ(agent.spec().node_name(), w1);
  EXPECT_EQ(agent.status().container_statuses(0).restart_count(), 0);
  EXPECT_EQ(extra.metadata().annotations().at("kubernetes.io/config.source"), "file");
}

TEST(SimCluster, ADeletedMirrorPodComesBackWhileItsStaticPodKeepsRunning) {
  SimCluster c(WithStaticPods());
  ASSERT_TRUE(c.Bootstrap().ok());
  const std::string w1 = c.worker_hosts()[0];
  api::Pod before;
  ASSERT_TRUE(c.RunUntil([&] { return c.GetPod("kube-system", "agent-" + w1, &before).ok() && RunningAndReady(before); },
                         Seconds(60)));
  const std::string container = before.status().container_statuses(0).container_id();
  ASSERT_FALSE(container.empty());
  ASSERT_TRUE(c.DeletePod("kube-system", "agent-" + w1).ok());
  api::Pod after;
  ASSERT_TRUE(c.RunUntil(
      [&] {
        return c.GetPod("kube-system", "agent-" + w1, &after).ok() &&
               after.metadata().uid() != before.metadata().uid() && RunningAndReady(after);
      },
      Seconds(60)));
  EXPECT_EQ(after.status().container_statuses(0).container_id(), container) << "the same container, never restarted";
  EXPECT_EQ(after.status().container_statuses(0).restart_count(), 0);
  EXPECT_TRUE(WorkerRuns(c, w1, "kube-system/agent-" + w1));

  // A removed manifest stops the static pod and deletes its mirror pod.
  ASSERT_TRUE(c.world().FindHost(w1)->disk().Remove(std::string(SimCluster::kStaticPodDir) + "/agent.yaml").ok());
  ASSERT_TRUE(c.RunUntil([&] { return KubeletOn(c, w1)->worker("kube-system/agent-" + w1) == nullptr; }, Seconds(90)));
  EXPECT_EQ(KubeletOn(c, w1)->stats().static_pods_stopped, 1u);
  ASSERT_TRUE(c.RunUntil([&] { return c.GetPod("kube-system", "agent-" + w1, &after).code() == Status::Code::kNotFound; },
                         Seconds(30)));
}

}  // namespace
}  // namespace ksim::scenarios
