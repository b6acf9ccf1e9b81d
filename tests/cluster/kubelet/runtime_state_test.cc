// Restart recovery: the runtime's objects grouped by pod, and a new worker that adopts
// them instead of starting the pod again.
#include "cluster/kubelet/runtime_state.h"

#include <gtest/gtest.h>

#include "tests/cluster/kubelet/worker_harness.h"

namespace ksim::kubelet {
namespace {

constexpr std::string_view kPod = R"(
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers: [{name: app, image: nginx:1.25}, {name: log, image: fluentd:1}]
)";

RuntimeSnapshot Snapshot(testing::FakeRuntime& rt, testing::FakeClock& clock) {
  RuntimeSnapshot snap;
  std::vector<PodSandboxStatus> sandboxes;
  std::vector<ContainerStatus> containers;
  rt.ListPodSandboxes([&](Status, std::vector<PodSandboxStatus> s) { sandboxes = std::move(s); });
  rt.ListContainers("", [&](Status, std::vector<ContainerStatus> c) { containers = std::move(c); });
  clock.RunDue();
  return GroupByPod(sandboxes, containers);
}

TEST(RuntimeState, GroupsByPodUidAndFindsOrphans) {
  WorkerHarness h;
  h.Start(PodFromYaml(kPod));
  h.rt.Exit(h.IdOf("app"), 1);
  h.clock.RunDue();  // app restarted: attempt 1
  // An unlabelled container in the pod's sandbox, and a sandbox nobody labelled.
  ContainerStatus stray;
  stray.id = "zz";
  stray.sandbox_id = h.worker->sandbox_id();
  h.rt.containers()["zz"] = stray;
  PodSandboxStatus bare;
  bare.id = "sb-bare";
  h.rt.sandboxes()["sb-bare"] = bare;
  const RuntimeSnapshot snap = Snapshot(h.rt, h.clock);
  ASSERT_EQ(snap.pods.size(), 1u);
  const RuntimePod& p = snap.pods.at("uid-web");
  EXPECT_EQ(p.name, "web");
  EXPECT_EQ(p.namespace_, "default");
  ASSERT_EQ(p.sandboxes.size(), 1u);
  // The restart removed the dead attempt 0 (only the newest container of a name is kept).
  ASSERT_EQ(p.containers.at("app").size(), 1u);
  EXPECT_EQ(p.containers.at("app").back().attempt, 1u);
  EXPECT_EQ(snap.orphan_containers, std::vector<std::string>{"zz"});
  EXPECT_EQ(snap.orphan_sandboxes, std::vector<std::string>{"sb-bare"});
}

TEST(RuntimeState, ANewWorkerAdoptsRunningContainersWithTheirRestartCounts) {
  WorkerHarness h;
  h.Start(PodFromYaml(kPod));
  h.rt.Exit(h.IdOf("app"), 1, "OOMKilled");
  h.clock.RunDue();
  const int starts = h.rt.Count("StartContainer");
  const RuntimeSnapshot snap = Snapshot(h.rt, h.clock);
  // The kubelet crashes: its worker is gone, the runtime keeps everything.
  h.worker.reset();
  h.Start(PodFromYaml(kPod), &snap.pods.at("uid-web"));
  h.Advance(Seconds(5));
  EXPECT_EQ(h.rt.Count("StartContainer"), starts);  // nothing started twice
  EXPECT_EQ(h.rt.Count("RunPodSandbox"), 1);
  const api::PodStatus s = h.Status();
  EXPECT_EQ(s.phase(), "Running");
  EXPECT_EQ(s.container_statuses(0).restart_count(), 1);
  EXPECT_TRUE(s.container_statuses(0).state().has_running());
  EXPECT_TRUE(s.container_statuses(1).ready());
  // The adopted container is watched like any other: its exit restarts it.
  h.rt.Exit(h.IdOf("log"), 2);
  h.clock.RunDue();
  EXPECT_EQ(h.rt.Count("StartContainer log"), 2);
}

TEST(RuntimeState, ADeadSandboxIsReplacedWithTheNextAttempt) {
  WorkerHarness h;
  h.Start(PodFromYaml(kPod));
  h.rt.StopPodSandbox(h.worker->sandbox_id(), [](Status) {});
  const RuntimeSnapshot snap = Snapshot(h.rt, h.clock);
  h.worker.reset();
  h.Start(PodFromYaml(kPod), &snap.pods.at("uid-web"));
  h.Advance(Seconds(1));
  EXPECT_EQ(h.rt.Count("RunPodSandbox"), 2);
  EXPECT_EQ(h.rt.sandbox_configs.rbegin()->second.metadata.attempt, 1u);
  EXPECT_EQ(h.rt.Count("RemovePodSandbox"), 1);  // the dead one
  EXPECT_EQ(h.Status().container_statuses(0).restart_count(), 1);
}

}  // namespace
}  // namespace ksim::kubelet
