// Pod status computation: phases, the five conditions, container states.
#include "cluster/kubelet/pod_status.h"

#include <gtest/gtest.h>

#include "tests/cluster/kubelet/worker_harness.h"

namespace ksim::kubelet {
namespace {

api::Pod TwoContainers(const std::string& policy) {
  api::Pod pod = PodFromYaml(R"(
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: a, image: x}, {name: b, image: x}]
)");
  pod.mutable_spec()->set_restart_policy(policy);
  return pod;
}

ContainerView Waiting(const std::string& name) {
  ContainerView c;
  c.name = name;
  return c;
}

ContainerView Running(const std::string& name, bool ready = true) {
  ContainerView c;
  c.name = name;
  c.state = ContainerView::State::kRunning;
  c.started = true;
  c.ready = ready;
  return c;
}

ContainerView Exited(const std::string& name, int code) {
  ContainerView c;
  c.name = name;
  c.state = ContainerView::State::kTerminated;
  c.terminated.exit_code = code;
  c.terminated.reason = code == 0 ? "Completed" : "Error";
  return c;
}

const api::PodCondition& Condition(const api::PodStatus& s, const std::string& type) {
  for (const auto& c : s.conditions()) {
    if (c.type() == type) return c;
  }
  static api::PodCondition none;
  ADD_FAILURE() << "no condition " << type;
  return none;
}

TEST(PodStatus, Phases) {
  PodView v;
  v.sandbox_ready = true;
  v.containers = {Waiting("a"), Running("b")};
  EXPECT_EQ(ComputePhase(TwoContainers("Always"), v), "Pending");  // one still waits
  v.containers = {Running("a"), Exited("b", 1)};
  EXPECT_EQ(ComputePhase(TwoContainers("Never"), v), "Running");
  v.containers = {Exited("a", 0), Exited("b", 1)};
  EXPECT_EQ(ComputePhase(TwoContainers("Never"), v), "Failed");
  EXPECT_EQ(ComputePhase(TwoContainers("OnFailure"), v), "Running");  // b will restart
  EXPECT_EQ(ComputePhase(TwoContainers("Always"), v), "Running");
  v.containers = {Exited("a", 0), Exited("b", 0)};
  EXPECT_EQ(ComputePhase(TwoContainers("Never"), v), "Succeeded");
  EXPECT_EQ(ComputePhase(TwoContainers("OnFailure"), v), "Succeeded");
  // A terminal phase written before is final.
  api::Pod done = TwoContainers("Always");
  done.mutable_status()->set_phase("Failed");
  v.containers = {Running("a"), Running("b")};
  EXPECT_EQ(ComputePhase(done, v), "Failed");
}

TEST(PodStatus, ConditionsFollowTheContainers) {
  api::Pod pod = TwoContainers("Always");
  PodView v;
  v.sandbox_ready = true;
  v.pod_ip = "10.244.1.7";
  v.host_ip = "172.18.0.3";
  v.start_time = Seconds(1000);
  v.containers = {Running("a"), Running("b", false)};
  api::PodStatus s = ComputePodStatus(pod, v, pod.status(), Seconds(1010));
  EXPECT_EQ(s.conditions_size(), 5);
  EXPECT_EQ(Condition(s, "PodReadyToStartContainers").status(), "True");
  EXPECT_EQ(Condition(s, "Initialized").status(), "True");
  EXPECT_EQ(Condition(s, "ContainersReady").status(), "False");
  EXPECT_EQ(Condition(s, "ContainersReady").reason(), "ContainersNotReady");
  EXPECT_EQ(Condition(s, "ContainersReady").message(), "containers with unready status: [b]");
  EXPECT_EQ(Condition(s, "Ready").status(), "False");
  EXPECT_EQ(Condition(s, "PodScheduled").status(), "True");
  EXPECT_EQ(Condition(s, "Ready").last_transition_time().seconds(), 1010);
  EXPECT_EQ(s.pod_ip(), "10.244.1.7");
  ASSERT_EQ(s.pod_ips_size(), 1);
  EXPECT_EQ(s.host_ips(0).ip(), "172.18.0.3");
  EXPECT_EQ(s.start_time().seconds(), 1000);
  EXPECT_EQ(s.qos_class(), "BestEffort");

  // Nothing changed: the same status, transition times kept.
  api::Pod later = pod;
  *later.mutable_status() = s;
  const api::PodStatus same = ComputePodStatus(later, v, s, Seconds(1050));
  EXPECT_TRUE(SameStatus(s, same));
  // b becomes ready: Ready flips, with a new transition time; the others keep theirs.
  v.containers[1].ready = true;
  const api::PodStatus ready = ComputePodStatus(later, v, s, Seconds(1060));
  EXPECT_FALSE(SameStatus(s, ready));
  EXPECT_EQ(Condition(ready, "Ready").status(), "True");
  EXPECT_EQ(Condition(ready, "Ready").last_transition_time().seconds(), 1060);
  EXPECT_EQ(Condition(ready, "Initialized").last_transition_time().seconds(), 1010);
}

TEST(PodStatus, CompletedPodsAreNotReadyWithPodCompleted) {
  api::Pod pod = TwoContainers("Never");
  PodView v;
  v.containers = {Exited("a", 0), Exited("b", 0)};
  v.terminal = true;
  const api::PodStatus s = ComputePodStatus(pod, v, pod.status(), Seconds(5));
  EXPECT_EQ(s.phase(), "Succeeded");
  EXPECT_EQ(Condition(s, "ContainersReady").reason(), "PodCompleted");
  EXPECT_EQ(Condition(s, "PodReadyToStartContainers").status(), "False");
  EXPECT_EQ(s.container_statuses(1).state().terminated().reason(), "Completed");
}

TEST(PodStatus, ReadinessGatesHoldReady) {
  api::Pod pod = TwoContainers("Always");
  pod.mutable_spec()->add_readiness_gates()->set_condition_type("example.com/lb");
  PodView v;
  v.sandbox_ready = true;
  v.containers = {Running("a"), Running("b")};
  api::PodStatus s = ComputePodStatus(pod, v, pod.status(), Seconds(5));
  EXPECT_EQ(Condition(s, "ContainersReady").status(), "True");
  EXPECT_EQ(Condition(s, "Ready").status(), "False");
  EXPECT_EQ(Condition(s, "Ready").reason(), "ReadinessGatesNotReady");
  api::PodCondition* gate = pod.mutable_status()->add_conditions();
  gate->set_type("example.com/lb");
  gate->set_status("True");
  s = ComputePodStatus(pod, v, pod.status(), Seconds(6));
  EXPECT_EQ(Condition(s, "Ready").status(), "True");
  EXPECT_EQ(Condition(s, "example.com/lb").status(), "True");  // kept as its owner wrote it
}

}  // namespace
}  // namespace ksim::kubelet
