// The pod worker on a fake runtime: start order, sandbox configuration, restart policies
// with CrashLoopBackOff, image pull back-off, init and sidecar containers, graceful
// termination and OOM kills.
#include "cluster/kubelet/pod_worker.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/cluster/kubelet/worker_harness.h"

namespace ksim::kubelet {
namespace {

constexpr std::string_view kWeb = R"(
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, annotations: {sim.ksim.io/app: "crashAfter=30s"}}
spec:
  hostname: web-0
  containers:
  - name: app
    image: nginx:1.25
    ports: [{containerPort: 80, hostPort: 8080, protocol: TCP}]
    resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {memory: 128Mi}}
)";

TEST(PodWorker, RunsTheSandboxThenTheContainerAndBecomesRunningAndReady) {
  WorkerHarness h;
  h.Start(PodFromYaml(kWeb));
  EXPECT_EQ(h.rt.calls, (std::vector<std::string>{"RunPodSandbox web", "PullImage nginx:1.25",
                                                  "CreateContainer app/0", "StartContainer app/0"}));
  ASSERT_EQ(h.rt.sandbox_configs.size(), 1u);
  const PodSandboxConfig& sb = h.rt.sandbox_configs.begin()->second;
  EXPECT_EQ(sb.hostname, "web-0");
  EXPECT_EQ(sb.pod_cidr, "10.244.1.0/24");
  EXPECT_EQ(sb.dns.servers, (std::vector<std::string>{"10.96.0.10"}));
  EXPECT_EQ(sb.dns.searches,
            (std::vector<std::string>{"shop.svc.cluster.local", "svc.cluster.local", "cluster.local"}));
  EXPECT_EQ(sb.dns.options, (std::vector<std::string>{"ndots:5"}));
  ASSERT_EQ(sb.port_mappings.size(), 1u);
  EXPECT_EQ(sb.port_mappings[0].container_port, 80);
  EXPECT_EQ(sb.port_mappings[0].host_port, 8080);
  EXPECT_EQ(sb.cgroup_parent, "kubepods-burstable-poduid_web.slice");
  EXPECT_EQ(sb.labels.at("io.kubernetes.pod.uid"), "uid-web");
  EXPECT_EQ(sb.labels.at("io.kubernetes.pod.namespace"), "shop");
  EXPECT_EQ(sb.annotations.at("sim.ksim.io/app"), "crashAfter=30s");
  const ContainerConfig& cc = h.rt.container_configs.begin()->second;
  EXPECT_EQ(cc.memory_limit_bytes, 128 << 20);
  EXPECT_EQ(cc.cpu_request_millis, 100);
  EXPECT_EQ(cc.labels.at("io.kubernetes.container.name"), "app");

  const api::PodStatus s = h.Status();
  EXPECT_EQ(s.phase(), "Running");
  EXPECT_EQ(s.pod_ip(), "10.244.1.1");
  EXPECT_EQ(s.host_ip(), "172.18.0.2");
  EXPECT_EQ(s.qos_class(), "Burstable");
  ASSERT_EQ(s.container_statuses_size(), 1);
  EXPECT_TRUE(s.container_statuses(0).state().has_running());
  EXPECT_TRUE(s.container_statuses(0).ready());
  EXPECT_EQ(s.container_statuses(0).image_id(), "sha256:nginx:1.25");
  for (const auto& c : s.conditions()) EXPECT_EQ(c.status(), "True") << c.type();
}

TEST(PodWorker, WaitsForThePodCidrBeforeTheSandbox) {
  WorkerHarness h;
  PodWorker::Deps deps{&h.clock, &h.rt, &h.net, nullptr, &h.config};
  PodWorker w(deps, PodFromYaml(kWeb), {});
  w.Start();
  h.Advance(Seconds(5));
  EXPECT_TRUE(h.rt.calls.empty());
  EXPECT_EQ(ComputePhase(w.pod(), w.View()), "Pending");
  w.SetPodCidr("10.244.3.0/24");
  h.clock.RunDue();
  EXPECT_EQ(h.rt.Count("RunPodSandbox"), 1);
}

// The times at which `name` was started, counted by StartContainer calls after advancing
// one second at a time and crashing every container at once.
std::vector<int64_t> CrashLoop(WorkerHarness& h, const std::string& name, int seconds) {
  std::vector<int64_t> starts;
  int seen = 0;
  for (int t = 0; t <= seconds; ++t) {
    const int now = h.rt.Count("StartContainer " + name);
    for (; seen < now; ++seen) starts.push_back(t);
    const std::string id = h.IdOf(name);
    if (h.rt.Get(id) != nullptr && h.rt.Get(id)->state == ContainerState::kRunning) h.rt.Exit(id, 1);
    h.Advance(Seconds(1));
  }
  return starts;
}

TEST(PodWorker, CrashLoopBackOffDoublesFromTenSecondsToFiveMinutes) {
  WorkerHarness h;
  h.Start(PodFromYaml(kWeb));
  const std::vector<int64_t> starts = CrashLoop(h, "app", 1400);
  ASSERT_GE(starts.size(), 8u);
  std::vector<int64_t> gaps;
  for (size_t i = 1; i < starts.size(); ++i) gaps.push_back(starts[i] - starts[i - 1]);
  // Each container crashes the instant it is seen running. The first restart is immediate
  // (seen on the next tick, so it crashes 1 s later); each later one waits the back-off
  // counted from the exit.
  EXPECT_EQ(gaps[0], 1);
  EXPECT_EQ(gaps[1], 10);
  EXPECT_EQ(gaps[2], 20);
  EXPECT_EQ(gaps[3], 40);
  EXPECT_EQ(gaps[4], 80);
  EXPECT_EQ(gaps[5], 160);
  EXPECT_EQ(gaps[6], 300);
  EXPECT_EQ(gaps[7], 300);
  const api::PodStatus s = h.Status();
  EXPECT_EQ(s.container_statuses(0).restart_count(), static_cast<int>(starts.size()) - 1);
  EXPECT_EQ(s.phase(), "Running");
}

TEST(PodWorker, CrashLoopBackOffIsReportedAsWaitingWithTheLastTermination) {
  WorkerHarness h;
  h.Start(PodFromYaml(kWeb));
  CrashLoop(h, "app", 2);  // starts at 0 and 1 (immediate restart), crashes again at 2
  h.Advance(Seconds(3));
  const api::ContainerStatus cs = h.Status().container_statuses(0);
  EXPECT_EQ(cs.state().waiting().reason(), "CrashLoopBackOff");
  EXPECT_NE(cs.state().waiting().message().find("back-off 10s"), std::string::npos);
  EXPECT_EQ(cs.last_state().terminated().exit_code(), 1);
  EXPECT_EQ(cs.last_state().terminated().reason(), "Error");
  EXPECT_FALSE(cs.ready());
  EXPECT_EQ(h.Status().phase(), "Running");  // a crash-looping pod stays Running
}

TEST(PodWorker, BackOffStartsOverAfterTenMinutesOfRunning) {
  WorkerHarness h;
  h.Start(PodFromYaml(kWeb));
  CrashLoop(h, "app", 40);  // back-off has reached 40 s
  ASSERT_GE(h.worker->CrashBackoffDelay("app").count(), Seconds(20).count());
  h.Advance(Seconds(400));  // the pending restart happens; the container now runs
  ASSERT_EQ(h.rt.Get(h.IdOf("app"))->state, ContainerState::kRunning);
  h.Advance(Seconds(601));
  const int before = h.rt.Count("StartContainer app");
  h.rt.Exit(h.IdOf("app"), 1);
  h.clock.RunDue();
  EXPECT_EQ(h.rt.Count("StartContainer app"), before + 1);  // restarted without delay
  h.rt.Exit(h.IdOf("app"), 1);
  h.Advance(Seconds(9));
  EXPECT_EQ(h.rt.Count("StartContainer app"), before + 1);
  h.Advance(Seconds(1));
  EXPECT_EQ(h.rt.Count("StartContainer app"), before + 2);  // and the next waits 10 s again
}

TEST(PodWorker, RestartPolicyNeverEndsFailedOrSucceeded) {
  for (const int code : {0, 3}) {
    WorkerHarness h;
    api::Pod pod = PodFromYaml(kWeb);
    pod.mutable_spec()->set_restart_policy("Never");
    h.Start(pod);
    h.rt.Exit(h.IdOf("app"), code);
    h.Advance(Seconds(60));
    EXPECT_EQ(h.rt.Count("StartContainer"), 1);
    EXPECT_TRUE(h.worker->terminal());
    EXPECT_EQ(h.Phase(), code == 0 ? "Succeeded" : "Failed");
    const api::PodStatus s = h.Status();
    EXPECT_EQ(s.container_statuses(0).state().terminated().exit_code(), code);
    EXPECT_EQ(h.rt.Count("StopPodSandbox"), 1);  // a finished pod's sandbox is released
    EXPECT_FALSE(h.terminated);                  // but nothing is deleted
  }
}

TEST(PodWorker, RestartPolicyOnFailureRestartsOnlyFailures) {
  WorkerHarness h;
  api::Pod pod = PodFromYaml(kWeb);
  pod.mutable_spec()->set_restart_policy("OnFailure");
  h.Start(pod);
  h.rt.Exit(h.IdOf("app"), 2);
  h.Advance(Seconds(1));
  EXPECT_EQ(h.rt.Count("StartContainer"), 2);
  EXPECT_EQ(h.Phase(), "Running");
  h.rt.Exit(h.IdOf("app"), 0);
  h.Advance(Seconds(60));
  EXPECT_EQ(h.rt.Count("StartContainer"), 2);
  EXPECT_EQ(h.Phase(), "Succeeded");
}

constexpr std::string_view kInit = R"(
apiVersion: v1
kind: Pod
metadata: {name: job}
spec:
  initContainers:
  - {name: first, image: busybox:1}
  - {name: proxy, image: envoy:1, restartPolicy: Always}
  - {name: second, image: busybox:1}
  containers:
  - {name: main, image: busybox:1}
)";

TEST(PodWorker, InitContainersRunInOrderAndSidecarsKeepRunning) {
  WorkerHarness h;
  api::Pod pod = PodFromYaml(kInit);
  pod.mutable_spec()->set_restart_policy("Never");
  h.Start(pod);
  EXPECT_EQ(h.rt.Count("StartContainer"), 1);
  EXPECT_EQ(h.Phase(), "Pending");
  const api::PodStatus pending = h.Status();
  EXPECT_EQ(pending.conditions(1).type(), "Initialized");
  EXPECT_EQ(pending.conditions(1).status(), "False");
  EXPECT_EQ(pending.conditions(1).message(), "containers with incomplete status: [first proxy second]");
  h.rt.Exit(h.IdOf("first"), 0);
  h.clock.RunDue();
  // The sidecar only has to start for the next init container to run.
  EXPECT_EQ(h.rt.Get(h.IdOf("proxy"))->state, ContainerState::kRunning);
  ASSERT_NE(h.rt.Get(h.IdOf("second")), nullptr);
  EXPECT_EQ(h.rt.Count("CreateContainer main"), 0);
  h.rt.Exit(h.IdOf("second"), 0);
  h.clock.RunDue();
  EXPECT_EQ(h.rt.Get(h.IdOf("main"))->state, ContainerState::kRunning);
  EXPECT_EQ(h.Phase(), "Running");
  // A sidecar that exits is restarted even under restartPolicy Never.
  h.rt.Exit(h.IdOf("proxy"), 1);
  h.Advance(Seconds(1));
  EXPECT_EQ(h.rt.Count("StartContainer proxy"), 2);
  // When the app container finishes, the sidecar is stopped and the pod succeeds.
  h.rt.Exit(h.IdOf("main"), 0);
  h.Advance(Seconds(1));
  EXPECT_EQ(h.rt.Get(h.IdOf("proxy"))->state, ContainerState::kExited);
  EXPECT_EQ(h.Phase(), "Succeeded");
}

TEST(PodWorker, ACrashLoopingSidecarDoesNotHoldUpAppRestarts) {
  WorkerHarness h;
  h.Start(PodFromYaml(kInit));
  h.rt.Exit(h.IdOf("first"), 0);
  h.clock.RunDue();
  h.rt.Exit(h.IdOf("second"), 0);
  h.clock.RunDue();
  ASSERT_EQ(h.rt.Get(h.IdOf("main"))->state, ContainerState::kRunning);
  // The sidecar crashes three times: restarted at once, after 10 s, then waits 20 s.
  for (const int wait : {1, 11, 1}) {
    h.rt.Exit(h.IdOf("proxy"), 1);
    h.Advance(Seconds(wait));
  }
  const int proxy_starts = h.rt.Count("StartContainer proxy");
  h.rt.Exit(h.IdOf("main"), 1);
  h.Advance(Seconds(1));
  EXPECT_EQ(h.rt.Count("StartContainer main"), 2);  // restarted while the sidecar waits
  EXPECT_EQ(h.rt.Count("StartContainer proxy"), proxy_starts);
  EXPECT_EQ(h.Init(1).waiting_reason, "CrashLoopBackOff");
}

TEST(PodWorker, AFailedInitContainerFailsTheNeverPodAndIsRetriedOtherwise) {
  {
    WorkerHarness h;
    api::Pod pod = PodFromYaml(kInit);
    pod.mutable_spec()->set_restart_policy("Never");
    h.Start(pod);
    h.rt.Exit(h.IdOf("first"), 1);
    h.Advance(Seconds(30));
    EXPECT_EQ(h.Phase(), "Failed");
    EXPECT_EQ(h.rt.Count("CreateContainer proxy"), 0);
  }
  {
    WorkerHarness h;
    h.Start(PodFromYaml(kInit));  // Always
    h.rt.Exit(h.IdOf("first"), 1);
    h.Advance(Seconds(1));
    EXPECT_EQ(h.rt.Count("StartContainer first"), 2);
    EXPECT_EQ(h.Phase(), "Pending");
  }
}

TEST(PodWorker, ErrImagePullThenImagePullBackOffDoubling) {
  WorkerHarness h;
  h.rt.failing_images.insert("nginx:1.25");
  h.Start(PodFromYaml(kWeb));
  EXPECT_EQ(h.App().waiting_reason, "ErrImagePull");
  EXPECT_EQ(h.App().waiting_message, "registry refused");
  h.Advance(Seconds(1));
  EXPECT_EQ(h.App().waiting_reason, "ImagePullBackOff");
  EXPECT_EQ(h.rt.Count("PullImage"), 1);
  h.Advance(Seconds(9));  // 10 s after the failure: pulled again, fails again
  EXPECT_EQ(h.rt.Count("PullImage"), 2);
  h.Advance(Seconds(19));
  EXPECT_EQ(h.rt.Count("PullImage"), 2);  // the second back-off is 20 s
  h.Advance(Seconds(1));
  EXPECT_EQ(h.rt.Count("PullImage"), 3);
  EXPECT_EQ(h.Phase(), "Pending");
  h.rt.failing_images.clear();
  h.Advance(Seconds(40));
  EXPECT_EQ(h.rt.Count("PullImage"), 4);
  EXPECT_TRUE(h.Status().container_statuses(0).state().has_running());
}

TEST(PodWorker, IfNotPresentSkipsThePullOfAPresentImage) {
  WorkerHarness h;
  api::Pod pod = PodFromYaml(kWeb);
  pod.mutable_spec()->mutable_containers(0)->set_image_pull_policy("IfNotPresent");
  h.Start(pod);
  h.rt.Exit(h.IdOf("app"), 1);
  h.Advance(Seconds(1));
  EXPECT_EQ(h.rt.Count("PullImage"), 1);  // pulled once, then found present
  EXPECT_EQ(h.rt.Count("StartContainer"), 2);
}

TEST(PodWorker, OomKillIsReported) {
  WorkerHarness h;
  h.Start(PodFromYaml(kWeb));
  h.rt.Exit(h.IdOf("app"), 137, "OOMKilled");
  h.clock.RunDue();
  const api::ContainerStatus cs = h.Status().container_statuses(0);
  EXPECT_EQ(cs.restart_count(), 1);
  EXPECT_EQ(cs.last_state().terminated().reason(), "OOMKilled");
  EXPECT_EQ(cs.last_state().terminated().exit_code(), 137);
}

constexpr std::string_view kGraceful = R"(
apiVersion: v1
kind: Pod
metadata: {name: db}
spec:
  terminationGracePeriodSeconds: 30
  containers:
  - name: db
    image: postgres:16
    lifecycle: {preStop: {exec: {command: [pg_ctl, stop]}}}
  - {name: stubborn, image: busybox:1}
)";

TEST(PodWorker, KillRunsPreStopThenStopsWithTheGracePeriodThenTheSandbox) {
  WorkerHarness h;
  h.rt.ignores_sigterm.insert("stubborn");
  h.Start(PodFromYaml(kGraceful));
  h.worker->Kill(Seconds(30));
  h.clock.RunDue();
  EXPECT_EQ(h.rt.Count("ExecSync db"), 1);  // the preStop hook
  h.Advance(Seconds(29));
  EXPECT_FALSE(h.terminated);  // "stubborn" ignores SIGTERM: killed only at the grace
  EXPECT_EQ(h.rt.Count("StopPodSandbox"), 0);
  h.Advance(Seconds(1));
  EXPECT_TRUE(h.terminated);
  EXPECT_EQ(h.rt.Count("StopPodSandbox"), 1);
  ASSERT_EQ(h.rt.stops.size(), 2u);
  for (const auto& [name, grace] : h.rt.stops) EXPECT_EQ(grace, Seconds(30)) << name;
  EXPECT_EQ(h.rt.Get(h.IdOf("stubborn"))->exit_code, 137);
  EXPECT_EQ(h.rt.Count("StartContainer"), 2);  // nothing restarted while terminating
}

TEST(PodWorker, KillWithoutRunningContainersFinishesAtOnce) {
  WorkerHarness h;
  h.rt.failing_images.insert("nginx:1.25");
  h.Start(PodFromYaml(kWeb));
  h.worker->Kill(Seconds(30));
  h.Advance(Seconds(1));
  EXPECT_TRUE(h.terminated);
}

// Kubernetes' kubelet Events, through Deps::event: pull, create, start, crash back-off,
// kill; a failed pull and its back-off; a failed liveness probe.
bool Has(const std::vector<std::string>& events, const std::string& e) {
  return std::find(events.begin(), events.end(), e) != events.end();
}

TEST(PodWorker, ReportsPullCreateStartBackOffAndKillingEvents) {
  WorkerHarness h;
  h.Start(PodFromYaml(kWeb));
  EXPECT_EQ(h.events, (std::vector<std::string>{"Normal Pulling: Pulling image \"nginx:1.25\"",
                                                "Normal Pulled: Successfully pulled image \"nginx:1.25\"",
                                                "Normal Created: Created container app",
                                                "Normal Started: Started container app"}));
  h.worker->Kill(Seconds(30));
  h.Advance(Seconds(1));
  EXPECT_TRUE(Has(h.events, "Normal Killing: Stopping container app"));

  WorkerHarness crash;
  crash.Start(PodFromYaml(kWeb));
  CrashLoop(crash, "app", 2);
  EXPECT_TRUE(Has(crash.events, "Warning BackOff: Back-off restarting failed container app in pod web_shop"));
}

TEST(PodWorker, ReportsFailedPullsAndTheirBackOffAndFailedProbes) {
  WorkerHarness h;
  h.rt.failing_images.insert("nginx:1.25");
  h.Start(PodFromYaml(kWeb));
  h.Advance(Seconds(1));
  EXPECT_TRUE(Has(h.events, "Warning Failed: Failed to pull image \"nginx:1.25\": registry refused"));
  EXPECT_TRUE(Has(h.events, "Normal BackOff: Back-off pulling image \"nginx:1.25\""));

  WorkerHarness p;
  p.net.ok_by_port[80] = false;
  api::Pod pod = PodFromYaml(kWeb);
  api::Probe* live = pod.mutable_spec()->mutable_containers(0)->mutable_liveness_probe();
  live->mutable_http_get()->mutable_port()->set_int_val(80);
  live->set_period_seconds(5);
  live->set_failure_threshold(1);
  p.Start(pod);
  p.Advance(Seconds(6));
  EXPECT_TRUE(Has(p.events, "Warning Unhealthy: Liveness probe failed: HTTP 500"));
  EXPECT_TRUE(Has(p.events, "Normal Killing: Container app failed liveness probe, will be restarted"));
}

}  // namespace
}  // namespace ksim::kubelet
