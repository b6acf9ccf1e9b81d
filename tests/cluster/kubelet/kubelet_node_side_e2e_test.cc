// The Kubelet process's node side, end to end: it adopts its Node (created beforehand
// with a podCIDR), posts allocatable, renews its Lease in kube-node-lease, and admits pods
// against the Node: a pod that does not fit beside the admitted ones is Failed, OutOfcpu.
#include <gtest/gtest.h>

#include "cluster/api/coordination.pb.h"
#include "tests/cluster/kubelet/kubelet_cluster.h"

namespace ksim::kubelet {
namespace {

using testing::IsReady;
using testing::KubeletCluster;

std::string PodRequesting(const std::string& name, const std::string& cpu) {
  return "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name +
         "}\nspec:\n  containers:\n  - name: app\n    image: nginx:1.25\n    resources: {requests: {cpu: " + cpu +
         "}}\n";
}

TEST(KubeletNodeSideE2eTest, RegistersRenewsLeaseAndRejectsPodsThatDoNotFit) {
  KubeletCluster c;
  c.AddNode("node1", 1, [](KubeletOptions& o) {
    o.capacity_cpu_millis = 1000;
    o.reserved_cpu_millis = 100;
  });
  c.Run(Seconds(5));
  ASSERT_NE(c.Get("node1"), nullptr);
  ASSERT_NE(c.Get("node1")->node_status(), nullptr);
  EXPECT_TRUE(c.Get("node1")->node_status()->registered());

  // The Node carries the kubelet's allocatable (capacity - kube-reserved).
  auto node_r = c.api.Await([&](client::ApiClient::Done d) {
    c.kubectl->Get(apiserver::testing::Kind("", "nodes"), "", "node1", std::move(d));
  });
  ASSERT_TRUE(node_r.ok()) << node_r.Describe();
  api::Node node;
  ASSERT_TRUE(node.ParseFromString(node_r.body));
  EXPECT_EQ(node.status().capacity().at("cpu"), "1000m");
  EXPECT_EQ(node.status().allocatable().at("cpu"), "900m");
  EXPECT_EQ(node.status().allocatable().at("pods"), "110");
  EXPECT_EQ(node.spec().pod_cidr(), "10.244.1.0/24");

  // The Lease is renewed every 10 s.
  auto lease = [&] {
    auto r = c.api.Await([&](client::ApiClient::Done d) {
      c.kubectl->Get(apiserver::testing::Kind("coordination.k8s.io", "leases"), "kube-node-lease", "node1",
                     std::move(d));
    });
    api::Lease l;
    EXPECT_TRUE(r.ok()) << r.Describe();
    if (r.ok()) {
      EXPECT_TRUE(l.ParseFromString(r.body));
    }
    return l;
  };
  const api::Lease first = lease();
  EXPECT_EQ(first.spec().holder_identity(), "node1");
  c.Run(Seconds(25));
  const api::Lease later = lease();
  EXPECT_GE(later.spec().renew_time().seconds() - first.spec().renew_time().seconds(), 20);

  // 600m fits in 900m and runs (the liveness floor); another 600m does not fit beside it.
  c.CreatePod(PodRequesting("fits", "600m"), "node1");
  ASSERT_TRUE(c.WaitPod("fits", IsReady, Seconds(30)));
  c.CreatePod(PodRequesting("too-big", "600m"), "node1");
  ASSERT_TRUE(c.WaitPod(
      "too-big", [](const std::optional<api::Pod>& p) { return p && p->status().phase() == "Failed"; }, Seconds(30)));
  const api::Pod rejected = *c.GetPod("too-big");
  EXPECT_EQ(rejected.status().reason(), "OutOfcpu");
  EXPECT_EQ(rejected.status().message().rfind("Pod was rejected: ", 0), 0u) << rejected.status().message();
  EXPECT_EQ(c.Get("node1")->stats().rejected, 1u);
  EXPECT_EQ(c.Get("node1")->worker("default/too-big"), nullptr) << "a rejected pod gets no worker";
  EXPECT_TRUE(IsReady(c.GetPod("fits"))) << "the admitted pod keeps running";
}

}  // namespace
}  // namespace ksim::kubelet
