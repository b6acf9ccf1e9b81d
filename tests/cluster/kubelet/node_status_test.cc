// NodeStatusManager against a fake apiserver on a manual clock: registration, allocatable,
// conditions, podCIDR, posting only on change (and every 5 min), images, the node Lease.
#include "cluster/kubelet/node_status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/cluster/kubelet/fake_api.h"
#include "tests/cluster/kubelet/fake_node_runtime.h"

namespace ksim::kubelet {
namespace {

using testing::FakeNodeWorld;
using testing::FakeNodeRuntime;

const api::NodeCondition* FindCondition(const api::Node& node, const std::string& type) {
  for (const auto& c : node.status().conditions()) {
    if (c.type() == type) return &c;
  }
  return nullptr;
}

class NodeStatusTest : public ::testing::Test {
 protected:
  NodeStatusTest() {
    w.env.runtime = &runtime;
    runtime.images = {{"sha256:aa", {"docker.io/library/nginx:latest"}, 70'000'000},
                      {"sha256:bb", {"registry.k8s.io/pause:3.9"}, 300'000}};
    options.node_name = "node1";
    options.node_ip = "172.18.0.2";
    options.labels = {{"topology.kubernetes.io/zone", "z1"}};
    options.kube_reserved = {{"cpu", "100m"}, {"memory", "1Gi"}};
    options.system_reserved = {{"memory", "500Mi"}};
  }

  void Start() {
    client::ApiClientOptions o;
    o.endpoints = {"api1:6443"};
    client = std::make_unique<client::ApiClient>(w.env, o);
    manager = std::make_unique<NodeStatusManager>(w.env, client.get(), options);
    ASSERT_TRUE(manager->Start([this](const std::string& cidr) { cidrs.push_back(cidr); }).ok());
  }
  std::shared_ptr<api::Node> StoredNode() { return w.api.Get<api::Node>("nodes", "", "node1"); }
  // Node IPAM's write: spec.podCIDR.
  void AssignCidr(const std::string& cidr) {
    auto node = StoredNode();
    node->mutable_spec()->set_pod_cidr(cidr);
    w.api.Put("nodes", *node);
  }

  FakeNodeWorld w;
  FakeNodeRuntime runtime{&w.clock};
  NodeStatusOptions options;
  std::unique_ptr<client::ApiClient> client;
  std::unique_ptr<NodeStatusManager> manager;
  std::vector<std::string> cidrs;
};

TEST(ComputeAllocatable, CapacityMinusReservationsAndEvictionThreshold) {
  NodeStatusOptions o;
  o.capacity = {{"cpu", "4"}, {"memory", "16Gi"}, {"pods", "110"}, {"ephemeral-storage", "100Gi"}};
  o.kube_reserved = {{"cpu", "100m"}, {"memory", "1Gi"}};
  o.system_reserved = {{"cpu", "400m"}, {"memory", "500Mi"}};
  std::map<std::string, std::string> a;
  ASSERT_TRUE(ComputeAllocatable(o, &a).ok());
  EXPECT_EQ(a["cpu"], "3500m");
  EXPECT_EQ(a["memory"], "14760Mi");  // 16384 - 1024 - 500 - 100 (memory.available<100Mi)
  EXPECT_EQ(a["ephemeral-storage"], "90Gi");  // nodefs.available<10%
  EXPECT_EQ(a["pods"], "110");

  o.kube_reserved = {{"cpu", "8"}};  // more than the node has: zero, not negative
  ASSERT_TRUE(ComputeAllocatable(o, &a).ok());
  EXPECT_EQ(a["cpu"], "0");

  o.system_reserved = {{"memory", "lots"}};
  const Status s = ComputeAllocatable(o, &a);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("systemReserved[memory]"), std::string::npos) << s.ToString();
  o.system_reserved.clear();
  o.eviction_hard = {{"nodefs.available", "150%"}};
  EXPECT_NE(ComputeAllocatable(o, &a).message().find("evictionHard[nodefs.available]"), std::string::npos);
}

TEST(SetNodeImages, LargestFirstCappedAtFifty) {
  std::vector<ImageInfo> images;
  for (int i = 0; i < 60; ++i) images.push_back({"sha256:" + std::to_string(i), {"img" + std::to_string(i)}, i * 10});
  images.push_back({"sha256:untagged", {}, 5000});
  google::protobuf::RepeatedPtrField<api::ContainerImage> out;
  SetNodeImages(images, &out);
  ASSERT_EQ(out.size(), 50);
  EXPECT_EQ(out[0].names(0), "sha256:untagged");  // no tags: named by id
  EXPECT_EQ(out[1].names(0), "img59");
  EXPECT_EQ(out[49].size_bytes(), 110);
}

TEST_F(NodeStatusTest, RegistersTheNodeAsKubernetesDescribesIt) {
  Start();
  w.clock.Advance(Milliseconds(500));
  auto node = StoredNode();
  ASSERT_NE(node, nullptr);
  EXPECT_TRUE(manager->registered());
  EXPECT_EQ(manager->node_uid(), node->metadata().uid());
  const auto& labels = node->metadata().labels();
  EXPECT_EQ(labels.at("kubernetes.io/hostname"), "node1");
  EXPECT_EQ(labels.at("kubernetes.io/os"), "linux");
  EXPECT_EQ(labels.at("kubernetes.io/arch"), "amd64");
  EXPECT_EQ(labels.at("topology.kubernetes.io/zone"), "z1");
  const auto& st = node->status();
  EXPECT_EQ(st.capacity().at("memory"), "16Gi");
  EXPECT_EQ(st.allocatable().at("cpu"), "3900m");
  EXPECT_EQ(st.allocatable().at("memory"), "14760Mi");
  ASSERT_EQ(st.addresses_size(), 2);
  EXPECT_EQ(st.addresses(0).type(), "InternalIP");
  EXPECT_EQ(st.addresses(0).address(), "172.18.0.2");
  EXPECT_EQ(st.addresses(1).type(), "Hostname");
  EXPECT_EQ(st.daemon_endpoints().kubelet_endpoint().port(), 10250);
  EXPECT_EQ(st.node_info().kubelet_version(), "v1.32.0");
  EXPECT_EQ(st.node_info().operating_system(), "linux");
  EXPECT_EQ(st.node_info().machine_id().size(), 32u);
  EXPECT_EQ(st.node_info().boot_id().size(), 36u);
  ASSERT_EQ(st.images_size(), 2);
  EXPECT_EQ(st.images(0).names(0), "docker.io/library/nginx:latest");
  // No podCIDR yet: the network plugin is not ready, so neither is the node.
  const api::NodeCondition* ready = FindCondition(*node, "Ready");
  ASSERT_NE(ready, nullptr);
  EXPECT_EQ(ready->status(), "False");
  EXPECT_EQ(ready->reason(), "KubeletNotReady");
  EXPECT_NE(ready->message().find("NetworkPluginNotReady"), std::string::npos);
  ASSERT_NE(FindCondition(*node, "MemoryPressure"), nullptr);
  EXPECT_EQ(FindCondition(*node, "MemoryPressure")->reason(), "KubeletHasSufficientMemory");
  EXPECT_EQ(FindCondition(*node, "DiskPressure")->reason(), "KubeletHasNoDiskPressure");
  EXPECT_EQ(FindCondition(*node, "PIDPressure")->status(), "False");
  EXPECT_TRUE(cidrs.empty());
}

TEST_F(NodeStatusTest, WaitsForThePodCidrThenTurnsReady) {
  Start();
  w.clock.Advance(Seconds(5));
  const auto before = *FindCondition(*StoredNode(), "MemoryPressure");
  AssignCidr("10.244.1.0/24");
  w.clock.Advance(Seconds(2));  // polled every second while waiting
  ASSERT_EQ(cidrs, std::vector<std::string>{"10.244.1.0/24"});
  EXPECT_EQ(manager->pod_cidr(), "10.244.1.0/24");
  auto node = StoredNode();
  const api::NodeCondition* ready = FindCondition(*node, "Ready");
  EXPECT_EQ(ready->status(), "True");
  EXPECT_EQ(ready->reason(), "KubeletReady");
  EXPECT_EQ(ready->message(), "kubelet is posting ready status");
  EXPECT_GE(ready->last_transition_time().seconds(), before.last_heartbeat_time().seconds() + 5);
  // Unchanged conditions keep their transition time.
  EXPECT_EQ(FindCondition(*node, "MemoryPressure")->last_transition_time().seconds(),
            before.last_transition_time().seconds());
  w.clock.Advance(Seconds(60));
  EXPECT_EQ(cidrs.size(), 1u);  // reported once
}

TEST_F(NodeStatusTest, PostsOnlyOnChangeAndAtLeastEveryFiveMinutes) {
  Start();
  w.clock.Advance(Milliseconds(100));
  AssignCidr("10.244.1.0/24");
  w.clock.Advance(Seconds(5));
  const int posts = w.api.Count("update nodes/status");
  w.clock.Advance(Seconds(120));
  EXPECT_EQ(w.api.Count("update nodes/status"), posts) << "nothing changed, nothing posted";
  EXPECT_GE(manager->stats().status_skipped, 10u);
  runtime.images.push_back({"sha256:cc", {"docker.io/library/busybox:latest"}, 4'000'000});
  w.clock.Advance(Seconds(10));
  EXPECT_EQ(w.api.Count("update nodes/status"), posts + 1) << "a new image is a change";
  EXPECT_EQ(StoredNode()->status().images_size(), 3);
  w.clock.Advance(Seconds(290));
  EXPECT_EQ(w.api.Count("update nodes/status"), posts + 1);
  w.clock.Advance(Seconds(11));
  EXPECT_EQ(w.api.Count("update nodes/status"), posts + 2) << "five minutes after the last report";
}

// The node lifecycle controller marks Ready Unknown while the kubelet is cut off; once it
// is heard again the next check (10 s) posts Ready True, not five minutes later.
TEST_F(NodeStatusTest, ReadySetUnknownByAnotherClientIsPostedTrueAgainAtTheNextCheck) {
  Start();
  w.clock.Advance(Milliseconds(100));
  AssignCidr("10.244.1.0/24");
  w.clock.Advance(Seconds(5));
  ASSERT_EQ(FindCondition(*StoredNode(), "Ready")->status(), "True");
  auto node = StoredNode();
  for (auto& c : *node->mutable_status()->mutable_conditions()) {
    if (c.type() == "Ready") c.set_status("Unknown"), c.set_reason("NodeStatusUnknown");
  }
  w.api.Put("nodes", *node);
  w.clock.Advance(Seconds(11));
  EXPECT_EQ(FindCondition(*StoredNode(), "Ready")->status(), "True");
  EXPECT_EQ(FindCondition(*StoredNode(), "Ready")->reason(), "KubeletReady");
}

TEST_F(NodeStatusTest, KeepsReportedImagesWhenTheRuntimeCannotList) {
  Start();
  w.clock.Advance(Milliseconds(100));
  AssignCidr("10.244.1.0/24");
  w.clock.Advance(Seconds(5));
  runtime.fail_list_images = true;
  w.clock.Advance(Seconds(400));
  EXPECT_EQ(StoredNode()->status().images_size(), 2);
}

TEST_F(NodeStatusTest, AdoptsAnExistingNodeAndMergesLabels) {
  api::Node existing;
  existing.mutable_metadata()->set_name("node1");
  existing.mutable_metadata()->set_uid("uid-old");
  (*existing.mutable_metadata()->mutable_labels())["team"] = "a";
  existing.mutable_spec()->set_pod_cidr("10.244.7.0/24");
  w.api.Put("nodes", existing);
  Start();
  w.clock.Advance(Seconds(1));
  auto node = StoredNode();
  EXPECT_EQ(manager->node_uid(), "uid-old");
  EXPECT_EQ(node->metadata().labels().at("team"), "a");
  EXPECT_EQ(node->metadata().labels().at("topology.kubernetes.io/zone"), "z1");
  EXPECT_EQ(cidrs, std::vector<std::string>{"10.244.7.0/24"});
  EXPECT_EQ(FindCondition(*node, "Ready")->status(), "True");
}

TEST_F(NodeStatusTest, RetriesConflictsAndReRegistersADeletedNode) {
  Start();
  w.clock.Advance(Milliseconds(100));
  AssignCidr("10.244.1.0/24");
  w.clock.Advance(Seconds(3));
  runtime.images.pop_back();
  w.api.conflicts_to_inject = 2;
  w.clock.Advance(Seconds(10));
  EXPECT_EQ(StoredNode()->status().images_size(), 1) << "posted after two conflicts";
  EXPECT_GE(manager->stats().status_conflicts, 2u);
  ASSERT_TRUE(w.api.Remove("nodes", "", "node1"));
  runtime.images.clear();
  w.clock.Advance(Seconds(15));
  ASSERT_NE(StoredNode(), nullptr);
  EXPECT_EQ(manager->node_uid(), StoredNode()->metadata().uid());
  EXPECT_EQ(manager->stats().registrations, 2u);
}

TEST_F(NodeStatusTest, RegistersOnceTheApiserverIsReachable) {
  w.api.down = true;
  Start();
  w.clock.Advance(Seconds(60));
  EXPECT_FALSE(manager->registered());
  w.api.down = false;
  w.clock.Advance(Seconds(15));
  EXPECT_TRUE(manager->registered());
  EXPECT_NE(StoredNode(), nullptr);
}

TEST_F(NodeStatusTest, LeaseIsCreatedOwnedAndRenewedEveryTenSeconds) {
  Start();
  w.clock.Advance(Seconds(1));
  auto lease = w.api.Get<api::Lease>("leases", "kube-node-lease", "node1");
  ASSERT_NE(lease, nullptr);
  EXPECT_EQ(lease->spec().holder_identity(), "node1");
  EXPECT_EQ(lease->spec().lease_duration_seconds(), 40);
  ASSERT_EQ(lease->metadata().owner_references_size(), 1);
  EXPECT_EQ(lease->metadata().owner_references(0).kind(), "Node");
  EXPECT_EQ(lease->metadata().owner_references(0).uid(), manager->node_uid());
  const int before = w.api.Count("update leases");
  const int64_t renewed = lease->spec().renew_time().seconds();
  w.clock.Advance(Seconds(60));
  EXPECT_EQ(w.api.Count("update leases") - before, 6);
  EXPECT_GE(w.api.Get<api::Lease>("leases", "kube-node-lease", "node1")->spec().renew_time().seconds(), renewed + 59);
  // Deleted: created again at the next renewal.
  w.api.Remove("leases", "kube-node-lease", "node1");
  w.clock.Advance(Seconds(11));
  EXPECT_NE(w.api.Get<api::Lease>("leases", "kube-node-lease", "node1"), nullptr);
  // An outage: renewals resume within the retry back-off (at most 7 s) after it ends.
  w.api.down = true;
  w.clock.Advance(Seconds(45));
  const int during = w.api.Count("update leases");
  w.api.down = false;
  w.clock.Advance(Seconds(8));
  EXPECT_GT(w.api.Count("update leases"), during);
}

TEST_F(NodeStatusTest, MachineIdSurvivesRestartsBootIdDoesNot) {
  Start();
  w.clock.Advance(Seconds(1));
  const auto first = StoredNode()->status().node_info();
  manager.reset();
  Start();  // a new incarnation on the same disk
  w.clock.Advance(Seconds(1));
  const auto second = StoredNode()->status().node_info();
  EXPECT_EQ(first.machine_id(), second.machine_id());
  EXPECT_NE(first.boot_id(), second.boot_id());
}

}  // namespace
}  // namespace ksim::kubelet
