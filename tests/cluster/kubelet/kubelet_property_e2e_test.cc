// A kubelet crash loses no pod: pods bound to a node while its kubelet crashes and restarts
// at random moments (during sandbox creation, image pulls, container starts) all end
// Running and Ready, each with exactly one sandbox and one container in the runtime, none
// restarted; the runtime never holds two running containers of one pod's container.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <set>
#include <string>

#include "tests/cluster/kubelet/kubelet_cluster.h"

namespace ksim::kubelet::testing {
namespace {

void CheckNoTwins(sim::Host& host) {
  std::map<std::pair<std::string, std::string>, int> running;  // (pod uid, container) -> count
  for (const ContainerStatus& c : host.runtime().Snapshot()) {
    if (c.state != ContainerState::kRunning) continue;
    const auto uid = c.labels.find(kLabelPodUid);
    RC_ASSERT(uid != c.labels.end());
    const int n = ++running[std::make_pair(uid->second, c.name)];
    RC_ASSERT(n == 1);
  }
}

RC_GTEST_PROP(KubeletProperty, AKubeletCrashLosesNoPod, ()) {
  const uint64_t seed = *rc::gen::inRange<uint64_t>(1, 1000);
  KubeletCluster c(seed);
  c.AddNode("node1", 1);
  const int pods = *rc::gen::inRange(1, 5);
  for (int i = 0; i < pods; ++i) {
    c.CreatePod(fmt::format(R"(
apiVersion: v1
kind: Pod
metadata: {{name: p{}}}
spec:
  containers: [{{name: app, image: "nginx:1.25", ports: [{{containerPort: 80}}]}}]
)", i), "node1");
  }
  const int crashes = *rc::gen::inRange(1, 4);
  for (int i = 0; i < crashes; ++i) {
    c.Run(Milliseconds(*rc::gen::inRange(0, 3000)));
    CheckNoTwins(c.Host("node1"));
    c.Host("node1").CrashProcess("kubelet");
    c.Run(Milliseconds(*rc::gen::inRange(0, 3000)));
    c.Host("node1").RestartProcess("kubelet");
  }
  // Liveness floor: within a minute of the last restart every pod is Running and Ready.
  for (int i = 0; i < pods; ++i) {
    RC_ASSERT(c.WaitPod(fmt::format("p{}", i), IsReady, Seconds(60), Milliseconds(500)));
  }
  CheckNoTwins(c.Host("node1"));
  std::map<std::string, int> sandboxes;
  for (const PodSandboxStatus& s : c.Host("node1").runtime().SandboxSnapshot()) {
    if (s.state == SandboxState::kReady) ++sandboxes[s.metadata.name];
  }
  RC_ASSERT(static_cast<int>(sandboxes.size()) == pods);
  for (const auto& [name, n] : sandboxes) RC_ASSERT(n == 1);
  for (int i = 0; i < pods; ++i) {
    const auto pod = c.GetPod(fmt::format("p{}", i));
    RC_ASSERT(pod->status().container_statuses(0).restart_count() == 0);
  }
}

}  // namespace
}  // namespace ksim::kubelet::testing
