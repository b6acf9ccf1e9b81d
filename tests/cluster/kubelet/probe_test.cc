// Probes: thresholds, periods and initial delays; liveness restarts, readiness gates
// Ready, startup gates both.
#include "cluster/kubelet/probe.h"

#include <gtest/gtest.h>

#include "tests/cluster/kubelet/worker_harness.h"

namespace ksim::kubelet {
namespace {

TEST(ProbeCounter, FlipsOnlyAfterTheThresholdInARow) {
  ProbeTiming t;
  t.success_threshold = 2;
  t.failure_threshold = 3;
  ProbeCounter c(t, ProbeResult::kFailure);
  EXPECT_FALSE(c.Record(true));
  EXPECT_TRUE(c.Record(true));
  EXPECT_EQ(c.result(), ProbeResult::kSuccess);
  EXPECT_FALSE(c.Record(false));
  EXPECT_FALSE(c.Record(false));
  EXPECT_FALSE(c.Record(true));  // a success in between resets the failures
  EXPECT_FALSE(c.Record(false));
  EXPECT_FALSE(c.Record(false));
  EXPECT_TRUE(c.Record(false));
  EXPECT_EQ(c.result(), ProbeResult::kFailure);
}

TEST(ProbeTiming, KubernetesDefaults) {
  const ProbeTiming t = TimingOf(api::Probe());
  EXPECT_EQ(t.period, Seconds(10));
  EXPECT_EQ(t.timeout, Seconds(1));
  EXPECT_EQ(t.success_threshold, 1);
  EXPECT_EQ(t.failure_threshold, 3);
  EXPECT_EQ(t.initial_delay, Nanos(0));
}

constexpr std::string_view kProbed = R"(
apiVersion: v1
kind: Pod
metadata: {name: probed}
spec:
  containers:
  - name: app
    image: app:1
    ports: [{name: http, containerPort: 8080}]
    livenessProbe: {exec: {command: [check]}, initialDelaySeconds: 15, periodSeconds: 5, failureThreshold: 3}
    readinessProbe: {httpGet: {path: /ready, port: http}, periodSeconds: 2, successThreshold: 2, failureThreshold: 2}
)";

TEST(Probes, LivenessFailuresRestartTheContainerAfterTheThreshold) {
  WorkerHarness h;
  bool healthy = true;
  h.rt.exec["app"] = [&](const std::vector<std::string>& cmd) {
    EXPECT_EQ(cmd, std::vector<std::string>{"check"});
    return healthy ? 0 : 1;
  };
  h.Start(PodFromYaml(kProbed));
  h.Advance(Seconds(14));
  EXPECT_EQ(h.rt.Count("ExecSync"), 0);  // the initial delay
  h.Advance(Seconds(1));
  EXPECT_EQ(h.rt.Count("ExecSync"), 1);
  h.Advance(Seconds(10));
  EXPECT_EQ(h.rt.Count("ExecSync"), 3);  // every 5 s
  healthy = false;
  h.Advance(Seconds(10));  // two failures: not yet
  EXPECT_EQ(h.rt.Count("StopContainer"), 0);
  h.Advance(Seconds(5));  // the third in a row
  EXPECT_EQ(h.rt.Count("StopContainer"), 1);
  h.Advance(Seconds(1));
  EXPECT_EQ(h.rt.Count("StartContainer app"), 2);
  const api::ContainerStatus cs = h.Status().container_statuses(0);
  EXPECT_EQ(cs.restart_count(), 1);
  EXPECT_EQ(cs.last_state().terminated().exit_code(), 143);
}

TEST(Probes, ReadinessFollowsItsThresholds) {
  WorkerHarness h;
  h.Start(PodFromYaml(kProbed));
  EXPECT_FALSE(h.App().ready);  // readiness starts as failure
  h.Advance(Seconds(0));
  h.clock.RunDue();
  EXPECT_FALSE(h.App().ready);  // one success of two
  h.Advance(Seconds(2));
  EXPECT_TRUE(h.App().ready);
  h.net.ok_by_port[8080] = false;
  h.Advance(Seconds(2));
  EXPECT_TRUE(h.App().ready);
  h.Advance(Seconds(2));
  EXPECT_FALSE(h.App().ready);
  EXPECT_EQ(h.Status().phase(), "Running");
  EXPECT_EQ(h.rt.Count("StopContainer"), 0);  // readiness never restarts
}

TEST(Probes, StartupProbeHoldsLivenessAndReadiness) {
  WorkerHarness h;
  int startup_calls = 0;
  bool up = false;
  h.rt.exec["app"] = [&](const std::vector<std::string>& cmd) {
    if (cmd.front() == "started") {
      ++startup_calls;
      return up ? 0 : 1;
    }
    return 0;
  };
  api::Pod pod = PodFromYaml(kProbed);
  api::Probe* startup = pod.mutable_spec()->mutable_containers(0)->mutable_startup_probe();
  startup->mutable_exec()->add_command("started");
  startup->set_period_seconds(10);
  startup->set_failure_threshold(30);
  h.Start(pod);
  h.Advance(Seconds(60));
  EXPECT_FALSE(h.App().started);
  EXPECT_EQ(h.net.calls, 0);  // no readiness probe yet
  EXPECT_EQ(h.rt.Count("ExecSync"), startup_calls);
  up = true;
  h.Advance(Seconds(10));
  EXPECT_TRUE(h.App().started);
  h.Advance(Seconds(20));
  EXPECT_GT(h.net.calls, 0);
  EXPECT_GT(h.rt.Count("ExecSync"), startup_calls);  // liveness runs now
  EXPECT_TRUE(h.App().ready);
}

TEST(Probes, StartupProbeFailureRestartsTheContainer) {
  WorkerHarness h;
  h.rt.exec["app"] = [](const std::vector<std::string>&) { return 1; };
  api::Pod pod = PodFromYaml(kProbed);
  api::Probe* startup = pod.mutable_spec()->mutable_containers(0)->mutable_startup_probe();
  startup->mutable_exec()->add_command("started");
  startup->set_period_seconds(1);
  startup->set_failure_threshold(3);
  h.Start(pod);  // the first attempt runs at once (no initial delay), then one a second
  h.Advance(Seconds(1));
  EXPECT_EQ(h.rt.Count("ExecSync"), 2);
  EXPECT_EQ(h.rt.Count("StopContainer"), 0);
  h.Advance(Seconds(1));
  EXPECT_EQ(h.rt.Count("StopContainer"), 1);
}

TEST(Probes, NamedPortsResolve) {
  api::Container c;
  auto* p = c.add_ports();
  p->set_name("http");
  p->set_container_port(8080);
  EXPECT_EQ(ResolvePort(api::MakeIntOrString(std::string("http")), c), 8080);
  EXPECT_EQ(ResolvePort(api::MakeIntOrString(std::string("grpc")), c), -1);
  EXPECT_EQ(ResolvePort(api::MakeIntOrString(9090), c), 9090);
}

}  // namespace
}  // namespace ksim::kubelet
