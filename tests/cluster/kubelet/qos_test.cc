// QoS classes and cgroup slice names, by Kubernetes' rules.
#include "cluster/kubelet/qos.h"

#include <gtest/gtest.h>

#include "tests/cluster/kubelet/worker_harness.h"

namespace ksim::kubelet {
namespace {

QosClass QosOf(std::string_view containers) {
  return GetPodQos(PodFromYaml(std::string("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n") +
                               std::string(containers)));
}

TEST(Qos, BestEffortWhenNothingIsSet) {
  EXPECT_EQ(QosOf("  containers: [{name: a, image: x}, {name: b, image: x}]\n"), QosClass::kBestEffort);
  // Resources other than cpu and memory do not count.
  EXPECT_EQ(QosOf("  containers: [{name: a, image: x, resources: {limits: {ephemeral-storage: 1Gi}}}]\n"),
            QosClass::kBestEffort);
}

TEST(Qos, GuaranteedWhenEveryContainerLimitsCpuAndMemoryAtItsRequests) {
  EXPECT_EQ(QosOf("  containers: [{name: a, image: x, resources: {limits: {cpu: 1, memory: 1Gi}}}]\n"),
            QosClass::kGuaranteed);
  EXPECT_EQ(QosOf("  containers: [{name: a, image: x, resources: {limits: {cpu: 500m, memory: 1Gi}, "
                  "requests: {cpu: '0.5', memory: 1Gi}}}]\n"),
            QosClass::kGuaranteed);
  // Init containers count too.
  EXPECT_EQ(QosOf("  initContainers: [{name: i, image: x}]\n"
                  "  containers: [{name: a, image: x, resources: {limits: {cpu: 1, memory: 1Gi}}}]\n"),
            QosClass::kBurstable);
}

TEST(Qos, BurstableOtherwise) {
  EXPECT_EQ(QosOf("  containers: [{name: a, image: x, resources: {limits: {cpu: 1}}}]\n"), QosClass::kBurstable);
  EXPECT_EQ(QosOf("  containers: [{name: a, image: x, resources: {limits: {cpu: 1, memory: 1Gi}, "
                  "requests: {cpu: 500m}}}]\n"),
            QosClass::kBurstable);
  EXPECT_EQ(QosOf("  containers: [{name: a, image: x, resources: {limits: {cpu: 1, memory: 1Gi}}},"
                  " {name: b, image: x}]\n"),
            QosClass::kBurstable);
  EXPECT_EQ(QosOf("  containers: [{name: a, image: x, resources: {requests: {memory: 1Mi}}}]\n"),
            QosClass::kBurstable);
}

TEST(Qos, PodLevelResourcesDecide) {
  EXPECT_EQ(QosOf("  resources: {limits: {cpu: 1, memory: 1Gi}}\n  containers: [{name: a, image: x}]\n"),
            QosClass::kGuaranteed);
}

TEST(Qos, Names) {
  EXPECT_STREQ(QosClassName(QosClass::kGuaranteed), "Guaranteed");
  EXPECT_STREQ(QosClassName(QosClass::kBurstable), "Burstable");
  EXPECT_STREQ(QosClassName(QosClass::kBestEffort), "BestEffort");
}

TEST(Qos, SliceNames) {
  const std::string uid = "1f2e-3d4c";
  EXPECT_EQ(QosSliceName(QosClass::kGuaranteed), "kubepods.slice");
  EXPECT_EQ(QosSliceName(QosClass::kBurstable), "kubepods-burstable.slice");
  EXPECT_EQ(QosSliceName(QosClass::kBestEffort), "kubepods-besteffort.slice");
  EXPECT_EQ(PodSliceName(QosClass::kGuaranteed, uid), "kubepods-pod1f2e_3d4c.slice");
  EXPECT_EQ(PodSliceName(QosClass::kBurstable, uid), "kubepods-burstable-pod1f2e_3d4c.slice");
  EXPECT_EQ(PodSliceName(QosClass::kBestEffort, uid), "kubepods-besteffort-pod1f2e_3d4c.slice");
  EXPECT_EQ(PodCgroupPath(QosClass::kGuaranteed, uid), "/kubepods.slice/kubepods-pod1f2e_3d4c.slice");
  EXPECT_EQ(PodCgroupPath(QosClass::kBurstable, uid),
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1f2e_3d4c.slice");
}

}  // namespace
}  // namespace ksim::kubelet
