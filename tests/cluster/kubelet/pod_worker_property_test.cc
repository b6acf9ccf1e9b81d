// Under random container exits (codes, OOM kills), probe answers, image pull failures and
// clock advances: a container name never runs twice at once, nothing runs outside a ready
// sandbox, restart counts match the starts, and (liveness) once the faults stop every app
// container of an Always pod runs again within the back-off cap, and a killed pod stops
// everything within its grace period.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <string>

#include "tests/cluster/kubelet/worker_harness.h"

namespace ksim::kubelet {
namespace {

constexpr std::string_view kPod = R"(
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  terminationGracePeriodSeconds: 20
  initContainers:
  - {name: init, image: "busybox:1"}
  - {name: side, image: "envoy:1", restartPolicy: Always}
  containers:
  - name: a
    image: "nginx:1"
    ports: [{containerPort: 80}]
    livenessProbe: {httpGet: {port: 80}, periodSeconds: 3, failureThreshold: 2}
  - name: b
    image: "redis:1"
    readinessProbe: {exec: {command: [ok]}, periodSeconds: 2}
)";

void CheckInvariants(testing::FakeRuntime& rt) {
  std::map<std::string, int> running;
  for (const auto& [id, c] : rt.containers()) {
    if (c.state != ContainerState::kRunning) continue;
    RC_ASSERT(++running[c.name] == 1);  // one container of a name at a time
    const auto sb = rt.sandboxes().find(c.sandbox_id);
    RC_ASSERT(sb != rt.sandboxes().end());
    RC_ASSERT(sb->second.state == SandboxState::kReady);
  }
}

RC_GTEST_PROP(PodWorkerProperty, NeverTwiceAtOnceAndRecoversAfterFaults, ()) {
  WorkerHarness h;
  bool probes_fail = false;
  h.rt.exec["b"] = [&](const std::vector<std::string>&) { return probes_fail ? 1 : 0; };
  h.rt.exit_after["init"] = {Seconds(1), 0};  // the init container's work takes a second
  h.Start(PodFromYaml(kPod));
  const int steps = *rc::gen::inRange(1, 60);
  for (int i = 0; i < steps; ++i) {
    switch (*rc::gen::inRange(0, 5)) {
      case 0: {  // a container exits
        const std::string name = *rc::gen::elementOf(std::vector<std::string>{"init", "side", "a", "b"});
        const int code = *rc::gen::elementOf(std::vector<int>{0, 1, 137});
        h.rt.Exit(h.IdOf(name), code, code == 137 ? "OOMKilled" : "");
        break;
      }
      case 1:
        probes_fail = !probes_fail;
        h.net.ok_by_port[80] = !probes_fail;
        break;
      case 2:
        if (h.rt.failing_images.empty()) {
          h.rt.failing_images.insert("nginx:1");
        } else {
          h.rt.failing_images.clear();
        }
        break;
      default:
        h.Advance(Milliseconds(*rc::gen::inRange(0, 30'000)));
        break;
    }
    h.clock.RunDue();
    CheckInvariants(h.rt);
  }
  // Faults stop: within the 300 s back-off cap (plus probe and pull slack) all app
  // containers run again and the counts add up.
  probes_fail = false;
  h.net.ok_by_port.clear();
  h.rt.failing_images.clear();
  h.Advance(Seconds(320));
  CheckInvariants(h.rt);
  const PodView v = h.View();
  RC_ASSERT(v.containers.size() == 2u);
  for (const ContainerView& c : v.containers) {
    RC_ASSERT(c.state == ContainerView::State::kRunning);
    RC_ASSERT(h.rt.Count("StartContainer " + c.name + "/") == c.restart_count + 1);
  }
  RC_ASSERT(h.Phase() == "Running");
  // A kill stops everything within the grace period.
  h.worker->Kill(Seconds(20));
  h.Advance(Seconds(21));
  RC_ASSERT(h.terminated);
  for (const auto& [id, c] : h.rt.containers()) RC_ASSERT(c.state != ContainerState::kRunning);
}

}  // namespace
}  // namespace ksim::kubelet
