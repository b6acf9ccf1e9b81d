// AdmitPod: the kubelet's verdicts on pods that do not fit, with Kubernetes' reasons.
#include "cluster/kubelet/admission.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "cluster/api/codec.h"

namespace ksim::kubelet {
namespace {

template <typename T>
std::shared_ptr<T> FromYaml(const std::string& yaml) {
  std::vector<api::Object> objects;
  const Status s = api::DecodeYaml(yaml, "test.yaml", &objects);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (objects.size() != 1) return std::make_shared<T>();
  return std::shared_ptr<T>(static_cast<T*>(objects[0].message.release()));
}

std::shared_ptr<api::Node> Node(const std::string& cpu = "2", const std::string& memory = "4Gi",
                                const std::string& pods = "3") {
  return FromYaml<api::Node>(R"(apiVersion: v1
kind: Node
metadata: {name: node1, labels: {disk: ssd, zone: a}}
status:
  allocatable: {cpu: ")" + cpu + R"(", memory: ")" + memory + R"(", pods: ")" + pods + R"(", example.com/gpu: "1"}
)");
}

std::shared_ptr<const api::Pod> Pod(const std::string& name, const std::string& requests,
                                    const std::string& extra_container = "", const std::string& spec_extra = "") {
  return FromYaml<api::Pod>(R"(apiVersion: v1
kind: Pod
metadata: {name: )" + name + R"(, namespace: default, uid: uid-)" + name + R"(}
spec:
  nodeName: node1
)" + spec_extra + R"(  containers:
  - name: c
    image: nginx
    resources: {requests: {)" + requests + R"(}}
)" + extra_container);
}

TEST(AdmitPod, AdmitsWhatFits) {
  const AdmitResult r = AdmitPod(*Node(), {Pod("a", "cpu: 1")}, Pod("b", "cpu: 500m, memory: 1Gi"));
  EXPECT_TRUE(r.admit) << r.reason << ": " << r.message;
}

TEST(AdmitPod, OutOfCpuCountsAdmittedPods) {
  const AdmitResult r = AdmitPod(*Node(), {Pod("a", "cpu: 1500m")}, Pod("b", "cpu: 600m"));
  EXPECT_FALSE(r.admit);
  EXPECT_EQ(r.reason, "OutOfcpu");
  EXPECT_EQ(r.message, "Node didn't have enough resource: cpu, requested: 600, used: 1500, capacity: 2000");
  // Exactly the rest fits.
  EXPECT_TRUE(AdmitPod(*Node(), {Pod("a", "cpu: 1500m")}, Pod("b", "cpu: 500m")).admit);
}

TEST(AdmitPod, OutOfMemory) {
  const AdmitResult r = AdmitPod(*Node(), {}, Pod("b", "memory: 5Gi"));
  EXPECT_EQ(r.reason, "OutOfmemory");
  EXPECT_EQ(r.message, "Node didn't have enough resource: memory, requested: 5368709120, used: 0, capacity: 4294967296");
}

TEST(AdmitPod, OutOfPodsBeforeAnyOtherResource) {
  const auto pods = std::vector<std::shared_ptr<const api::Pod>>{Pod("a", ""), Pod("b", ""), Pod("c", "")};
  const AdmitResult r = AdmitPod(*Node(), pods, Pod("d", "cpu: 3"));
  EXPECT_EQ(r.reason, "OutOfpods");
  EXPECT_EQ(r.message, "Node didn't have enough resource: pods, requested: 1, used: 3, capacity: 3");
}

TEST(AdmitPod, ExtendedResourcesAndInitContainers) {
  EXPECT_EQ(AdmitPod(*Node(), {}, Pod("g", "example.com/gpu: 2")).reason, "OutOfexample.com/gpu");
  EXPECT_EQ(AdmitPod(*Node(), {}, Pod("g", "example.com/other: 1")).reason, "OutOfexample.com/other");
  // An init container's request counts when it is larger than the app containers' sum.
  const auto init = Pod("i", "cpu: 100m", "", R"(  initContainers:
  - name: init
    image: busybox
    resources: {requests: {cpu: "3"}}
)");
  EXPECT_EQ(AdmitPod(*Node(), {}, init).reason, "OutOfcpu");
}

TEST(AdmitPod, HostPortConflict) {
  const std::string port = "    ports: [{containerPort: 80, hostPort: 8080}]\n";
  const auto holder = FromYaml<api::Pod>(R"(apiVersion: v1
kind: Pod
metadata: {name: a, namespace: default, uid: uid-a}
spec:
  nodeName: node1
  containers:
  - name: c
    image: nginx
    ports: [{containerPort: 80, hostPort: 8080}]
)");
  const auto other = FromYaml<api::Pod>(R"(apiVersion: v1
kind: Pod
metadata: {name: b, namespace: default, uid: uid-b}
spec:
  nodeName: node1
  containers:
  - name: c
    image: nginx
    ports: [{containerPort: 81, hostPort: 8080}]
)");
  const AdmitResult r = AdmitPod(*Node(), {holder}, other);
  EXPECT_EQ(r.reason, "NodePorts");
  EXPECT_EQ(r.message, "Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports");
  EXPECT_TRUE(AdmitPod(*Node(), {}, other).admit);
}

TEST(AdmitPod, NodeSelectorAndAffinity) {
  EXPECT_TRUE(AdmitPod(*Node(), {}, Pod("s", "", "", "  nodeSelector: {disk: ssd}\n")).admit);
  const AdmitResult r = AdmitPod(*Node(), {}, Pod("s", "", "", "  nodeSelector: {disk: hdd}\n"));
  EXPECT_EQ(r.reason, "NodeAffinity");
  EXPECT_EQ(r.message, "Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector");
  const std::string affinity = R"(  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions: [{key: zone, operator: In, values: [b, c]}]
)";
  EXPECT_EQ(AdmitPod(*Node(), {}, Pod("s", "", "", affinity)).reason, "NodeAffinity");
}

TEST(AdmitPod, PodForAnotherNode) {
  auto pod = std::make_shared<api::Pod>(*Pod("x", ""));
  pod->mutable_spec()->set_node_name("node2");
  EXPECT_EQ(AdmitPod(*Node(), {}, pod).reason, "NodeName");
}

TEST(AdmitPod, RejectedStatusAsKubernetesWritesIt) {
  api::PodStatus status;
  SetRejectedStatus(AdmitResult{false, "OutOfcpu", "Node didn't have enough resource: cpu"}, &status);
  EXPECT_EQ(status.phase(), "Failed");
  EXPECT_EQ(status.reason(), "OutOfcpu");
  EXPECT_EQ(status.message(), "Pod was rejected: Node didn't have enough resource: cpu");
}

}  // namespace
}  // namespace ksim::kubelet
