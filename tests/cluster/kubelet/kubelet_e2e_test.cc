// The kubelet end to end in the simulated world: store, apiserver, kubelets on hosts with
// the simulated container runtime. Pods are created bound to a node.
#include "cluster/kubelet/kubelet.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/cluster/kubelet/kubelet_cluster.h"

namespace ksim::kubelet::testing {
namespace {

const api::ContainerStatus* Container(const std::optional<api::Pod>& pod, int i = 0) {
  if (!pod || pod->status().container_statuses_size() <= i) return nullptr;
  return &pod->status().container_statuses(i);
}

int Restarts(const std::optional<api::Pod>& pod) {
  const api::ContainerStatus* c = Container(pod);
  return c == nullptr ? -1 : c->restart_count();
}

TEST(KubeletE2E, ABoundPodBecomesRunningAndReady) {
  KubeletCluster c;
  c.AddNode("node1", 1);
  c.CreatePod(R"(
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: app
    image: nginx:1.25
    ports: [{containerPort: 80}]
    readinessProbe: {httpGet: {path: /, port: 80}, periodSeconds: 1}
    resources: {limits: {cpu: 500m, memory: 128Mi}}
)", "node1");
  ASSERT_TRUE(c.WaitPod("web", IsReady, Seconds(30)));
  const api::Pod pod = *c.GetPod("web");
  EXPECT_EQ(pod.status().qos_class(), "Guaranteed");
  EXPECT_EQ(pod.status().host_ip(), "172.18.0.11");
  EXPECT_EQ(pod.status().pod_ip().rfind("10.244.1.", 0), 0u) << pod.status().pod_ip();
  ASSERT_EQ(pod.status().pod_ips_size(), 1);
  EXPECT_TRUE(pod.status().has_start_time());
  for (const char* type : {"PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready"}) {
    const api::PodCondition* cond = FindCondition(pod, type);
    ASSERT_NE(cond, nullptr) << type;
    EXPECT_EQ(cond->status(), "True") << type;
  }
  const api::ContainerStatus& cs = pod.status().container_statuses(0);
  EXPECT_TRUE(cs.state().has_running());
  EXPECT_TRUE(cs.ready());
  EXPECT_TRUE(cs.started());
  EXPECT_EQ(cs.image_id().rfind("sha256:", 0), 0u);
  EXPECT_EQ(cs.container_id().rfind("containerd://", 0), 0u);
  EXPECT_EQ(cs.restart_count(), 0);
  // Written only on change: a quiet minute writes no status.
  const uint64_t writes = c.Get("node1")->status_stats().writes;
  c.Run(Seconds(60));
  EXPECT_EQ(c.Get("node1")->status_stats().writes, writes);
}

TEST(KubeletE2E, ACrashingContainerBacksOffTenTwentyForty) {
  KubeletCluster c;
  c.AddNode("node1", 1);
  c.CreatePod(R"(
apiVersion: v1
kind: Pod
metadata: {name: crash, annotations: {sim.ksim.io/app: "crashAfter=1s,exitCode=3"}}
spec:
  containers: [{name: app, image: "busybox:1.36"}]
)", "node1");
  // The times the restart count went up, seen every 100 ms.
  std::vector<Nanos> restarts;
  int last = 0;
  const Nanos deadline = c.world().now() + Seconds(200);
  while (c.world().now() < deadline && restarts.size() < 5) {
    const int n = Restarts(c.GetPod("crash"));
    for (; last < n; ++last) restarts.push_back(c.world().now());
    c.Run(Milliseconds(100));
  }
  ASSERT_EQ(restarts.size(), 5u);
  // Each run lasts 1 s; restarts wait 0, 10, 20, 40 s after the exit.
  const std::vector<int64_t> expected = {1 + 10, 1 + 20, 1 + 40, 1 + 80};
  for (size_t i = 1; i < restarts.size(); ++i) {
    const double gap = std::chrono::duration<double>(restarts[i] - restarts[i - 1]).count();
    EXPECT_NEAR(gap, static_cast<double>(expected[i - 1]), 0.5) << "restart " << i;
  }
  const auto pod = c.GetPod("crash");
  EXPECT_EQ(Container(pod)->last_state().terminated().exit_code(), 3);
  EXPECT_EQ(pod->status().phase(), "Running");
}

TEST(KubeletE2E, AFailingLivenessProbeRestartsTheContainer) {
  KubeletCluster c;
  c.AddNode("node1", 1);
  c.CreatePod(R"(
apiVersion: v1
kind: Pod
metadata: {name: sick, annotations: {sim.ksim.io/app: "unhealthyAfter=20s"}}
spec:
  containers:
  - name: app
    image: nginx:1.25
    ports: [{containerPort: 80}]
    livenessProbe: {httpGet: {path: /healthz, port: 80}, periodSeconds: 2, failureThreshold: 3}
)", "node1");
  ASSERT_TRUE(c.WaitPod("sick", IsReady, Seconds(30)));
  c.Run(Seconds(18));
  EXPECT_EQ(Restarts(c.GetPod("sick")), 0);  // healthy until 20 s
  ASSERT_TRUE(c.WaitPod("sick", [](const auto& p) { return Restarts(p) >= 1; }, Seconds(30)));
  const auto pod = c.GetPod("sick");
  EXPECT_TRUE(Container(pod)->last_state().has_terminated());
}

TEST(KubeletE2E, AnUnpullableImageReportsErrImagePullThenImagePullBackOff) {
  KubeletCluster c;
  c.AddNode("node1", 1);
  c.CreatePod(R"(
apiVersion: v1
kind: Pod
metadata: {name: nopull}
spec:
  containers: [{name: app, image: "ksim/pull-fails:1"}]
)", "node1");
  auto reason = [](const std::optional<api::Pod>& p) {
    const api::ContainerStatus* cs = Container(p);
    return cs == nullptr ? std::string() : cs->state().waiting().reason();
  };
  ASSERT_TRUE(c.WaitPod("nopull", [&](const auto& p) { return reason(p) == "ErrImagePull"; }, Seconds(30),
                        Milliseconds(50)))
      << c.GetPod("nopull")->DebugString();
  ASSERT_TRUE(c.WaitPod("nopull", [&](const auto& p) { return reason(p) == "ImagePullBackOff"; }, Seconds(30)));
  EXPECT_EQ(c.GetPod("nopull")->status().phase(), "Pending");
}

TEST(KubeletE2E, AContainerOverItsMemoryLimitIsOOMKilled) {
  KubeletCluster c;
  c.AddNode("node1", 1);
  c.CreatePod(R"(
apiVersion: v1
kind: Pod
metadata: {name: hog, annotations: {sim.ksim.io/app: "memoryGrowth=16Mi"}}
spec:
  containers:
  - {name: app, image: "busybox:1.36", resources: {limits: {memory: 64Mi}}}
)", "node1");
  ASSERT_TRUE(c.WaitPod("hog", [](const auto& p) {
    const api::ContainerStatus* cs = Container(p);
    return cs != nullptr && cs->last_state().terminated().reason() == "OOMKilled";
  }, Seconds(60)));
  EXPECT_EQ(Container(c.GetPod("hog"))->last_state().terminated().exit_code(), 137);
}

TEST(KubeletE2E, APodIgnoringSigtermIsKilledAfterItsGracePeriodThenDeleted) {
  KubeletCluster c;
  c.AddNode("node1", 1);
  c.CreatePod(R"(
apiVersion: v1
kind: Pod
metadata: {name: stubborn, annotations: {sim.ksim.io/app: "ignoreSigterm=true"}}
spec:
  terminationGracePeriodSeconds: 8
  containers: [{name: app, image: "busybox:1.36"}]
)", "node1");
  ASSERT_TRUE(c.WaitPod("stubborn", IsReady, Seconds(30)));
  ASSERT_TRUE(c.DeletePod("stubborn").ok());
  const Nanos asked = c.world().now();
  c.Run(Seconds(7));
  auto pod = c.GetPod("stubborn");
  ASSERT_TRUE(pod.has_value());  // still terminating: the container ignores SIGTERM
  EXPECT_TRUE(pod->metadata().has_deletion_timestamp());
  ASSERT_TRUE(c.WaitPod("stubborn", [](const auto& p) { return !p.has_value(); }, Seconds(10)));
  const Nanos took = c.world().now() - asked;
  EXPECT_GE(took, Seconds(8));
  EXPECT_LE(took, Seconds(10));
  c.Run(Seconds(3));  // housekeeping removes the stopped sandbox
  EXPECT_TRUE(c.Host("node1").runtime().SandboxSnapshot().empty());
}

TEST(KubeletE2E, AKubeletCrashLosesNoPodAndKillsPodsDeletedMeanwhile) {
  KubeletCluster c;
  c.AddNode("node1", 1);
  for (const char* name : {"a", "b", "gone"}) {
    c.CreatePod(fmt::format(R"(
apiVersion: v1
kind: Pod
metadata: {{name: {}}}
spec:
  containers: [{{name: app, image: "nginx:1.25", ports: [{{containerPort: 80}}]}}]
)", name), "node1");
  }
  for (const char* name : {"a", "b", "gone"}) ASSERT_TRUE(c.WaitPod(name, IsReady, Seconds(30))) << name;
  std::map<std::string, std::string> ids;
  for (const char* name : {"a", "b"}) ids[name] = Container(c.GetPod(name))->container_id();
  c.Host("node1").CrashProcess("kubelet");
  ASSERT_TRUE(c.DeletePod("gone", 0).ok());  // force-deleted while the kubelet is down
  c.Run(Seconds(5));
  c.Host("node1").RestartProcess("kubelet");
  c.Run(Seconds(10));
  Kubelet* k = c.Get("node1");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->stats().pods_adopted, 2u);
  EXPECT_EQ(k->stats().orphan_pods_killed, 1u);
  // Written only on change: the new kubelet computes the statuses its predecessor wrote.
  EXPECT_EQ(k->status_stats().writes, 0u);
  EXPECT_GE(k->status_stats().unchanged, 2u);
  for (const char* name : {"a", "b"}) {
    const auto pod = c.GetPod(name);
    EXPECT_TRUE(IsReady(pod)) << name;
    EXPECT_EQ(Container(pod)->container_id(), ids[name]) << name;  // the same container, not a new one
    EXPECT_EQ(Restarts(pod), 0) << name;
  }
  EXPECT_EQ(c.Host("node1").runtime().SandboxSnapshot().size(), 2u);
}

// The node lifecycle controller marks pods not Ready while their node is Unknown; once the
// kubelet is heard again it must write its own view back, as the real status manager
// reconciles against the API's copy. Without that, the pod stays not Ready for ever.
TEST(KubeletE2E, AStatusWrittenByAnotherClientIsReconciled) {
  KubeletCluster c;
  c.AddNode("node1", 1);
  c.CreatePod(R"(
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: app
    image: nginx:1.25
)", "node1");
  ASSERT_TRUE(c.WaitPod("web", IsReady, Seconds(30)));
  api::Pod pod = *c.GetPod("web");
  for (auto& cond : *pod.mutable_status()->mutable_conditions()) {
    if (cond.type() == "Ready") cond.set_status("False");
  }
  auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Update(KubeletCluster::PodKind(), pod, std::move(d), "status"); });
  ASSERT_TRUE(r.ok()) << r.Describe();
  ASSERT_FALSE(IsReady(c.GetPod("web")));
  EXPECT_TRUE(c.WaitPod("web", IsReady, Seconds(10)));
}

}  // namespace
}  // namespace ksim::kubelet::testing
