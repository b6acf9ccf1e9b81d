// The kubelet's node side end to end in the simulated world: a store, an apiserver, and a
// worker host running the Kubelet (NodeStatusManager, StaticPodSource, MirrorPodManager and
// KubeletServer wired in, on the host's simulated runtime). Static pods run
// while the apiserver is down and appear as mirror pods once it is back; a mirror pod
// deleted through the API comes back; a bad manifest is an Event on the Node; the
// endpoint takes a manifest over the simulated network.
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cluster/client/informer.h"
#include "cluster/env/wire.h"
#include "cluster/kubelet/kubelet.h"
#include "cluster/kubelet/kubelet_server.h"
#include "cluster/kubelet/mirror_pod.h"
#include "sim/host.h"
#include "tests/cluster/apiserver/api_cluster.h"

namespace ksim::kubelet {
namespace {

using apiserver::testing::ApiCluster;
using apiserver::testing::Kind;

constexpr char kWeb[] = R"(apiVersion: v1
kind: Pod
metadata: {name: web, namespace: kube-system}
spec:
  containers: [{name: nginx, image: nginx}]
)";

class NodeE2eTest : public ::testing::Test {
 protected:
  NodeE2eTest() {
    admin = cluster.AddClient("admin");
    sim::Host& host = cluster.store.world.AddHost("worker1");
    worker = &host;
    host.disk().WriteFile("manifests/web.yaml", kWeb);
    const std::vector<Address> endpoints = cluster.endpoints;
    host.AddProcess("kubelet", [endpoints](Env& env) {
      KubeletOptions o;
      o.node_ip = "172.18.0.2";
      o.apiservers = endpoints;
      o.token = apiserver::testing::kAdminToken;
      o.static_pod_dir = "manifests";
      o.pod_cidr = "10.244.1.0/24";  // no node IPAM in this cluster
      return std::make_unique<Kubelet>(env, o);
    });
  }
  Kubelet* Agent() { return worker->Find<Kubelet>("kubelet"); }
  // The static pods whose container runs.
  std::set<std::string> Running() {
    std::set<std::string> out;
    if (Agent() == nullptr) return out;
    for (const auto& pod : Agent()->static_pods()->Pods()) {
      const std::string key = pod->metadata().namespace_() + "/" + pod->metadata().name();
      const PodWorker* w = Agent()->worker(key);
      if (w != nullptr && !w->View().containers.empty() &&
          w->View().containers[0].state == ContainerView::State::kRunning) {
        out.insert(key);
      }
    }
    return out;
  }
  sim::World& world() { return cluster.store.world; }
  std::shared_ptr<api::Pod> GetPod(const std::string& ns, const std::string& name) {
    const client::ApiResult r = cluster.Await(
        [&](client::ApiClient::Done d) { admin->Get(Kind("", "pods"), ns, name, d); });
    if (!r.ok()) return nullptr;
    auto pod = std::make_shared<api::Pod>();
    pod->ParseFromString(r.body);
    return pod;
  }
  bool WaitFor(const std::function<bool()>& cond, Nanos within) {
    const Nanos deadline = world().now() + within;
    while (world().now() < deadline) {
      if (cond()) return true;
      world().RunFor(Seconds(1));
    }
    return cond();
  }

  // With the namespaces every apiserver creates (default, kube-system, kube-node-lease).
  ApiCluster cluster{1, 1, [](apiserver::ApiServerOptions& o) { o.system_namespaces = true; }};
  client::ApiClient* admin = nullptr;
  sim::Host* worker = nullptr;
};

TEST_F(NodeE2eTest, StaticPodsRunWithTheApiserverDownAndGetMirrorPodsAfterwards) {
  cluster.store.world.host(3).CrashProcess("apiserver");  // api1, the only apiserver
  world().RunFor(Seconds(60));
  ASSERT_NE(Agent(), nullptr);
  EXPECT_EQ(Running(), std::set<std::string>{"kube-system/web-worker1"}) << "runs without any apiserver";
  EXPECT_FALSE(Agent()->node_status()->registered());
  cluster.store.world.host(3).RestartProcess("apiserver");
  ASSERT_TRUE(WaitFor([&] { return GetPod("kube-system", "web-worker1") != nullptr; }, Seconds(60)));
  auto mirror = GetPod("kube-system", "web-worker1");
  EXPECT_TRUE(IsMirrorPod(*mirror));
  EXPECT_EQ(mirror->spec().node_name(), "worker1");
  ASSERT_EQ(mirror->metadata().owner_references_size(), 1);
  EXPECT_EQ(mirror->metadata().owner_references(0).uid(), Agent()->node_status()->node_uid());
  // The Node and its Lease.
  const client::ApiResult lease = cluster.Await(
      [&](client::ApiClient::Done d) { admin->Get(Kind("coordination.k8s.io", "leases"), "kube-node-lease", "worker1", d); });
  EXPECT_TRUE(lease.ok()) << lease.Describe();

  // Deleted through the API: created again (a new uid) within a few seconds.
  const std::string first = mirror->metadata().uid();
  const client::ApiResult del = cluster.Await(
      [&](client::ApiClient::Done d) { admin->Delete(Kind("", "pods"), "kube-system", "web-worker1", d); });
  ASSERT_TRUE(del.ok()) << del.Describe();
  ASSERT_TRUE(WaitFor(
      [&] {
        auto p = GetPod("kube-system", "web-worker1");
        return p && p->metadata().uid() != first && !p->metadata().has_deletion_timestamp();
      },
      Seconds(30)));
  EXPECT_EQ(Running(), std::set<std::string>{"kube-system/web-worker1"}) << "the static pod itself never stopped";
  EXPECT_EQ(Agent()->stats().static_pods_started, 1u);
}

TEST_F(NodeE2eTest, ABadManifestIsAnEventOnTheNodeAndOthersKeepRunning) {
  world().RunFor(Seconds(10));
  worker->disk().WriteFile("manifests/bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: bad}\nspec:\n  containerz: []\n");
  world().RunFor(Seconds(50));  // the folder is read at least twice since
  EXPECT_EQ(Running(), std::set<std::string>{"kube-system/web-worker1"});
  EXPECT_EQ(Agent()->stats().bad_manifests, 1u);
  const client::ApiResult events = cluster.Await(
      [&](client::ApiClient::Done d) { admin->List(Kind("", "events"), "default", {}, d); });
  ASSERT_TRUE(events.ok()) << events.Describe();
  apiserver::ObjectList list;
  ASSERT_TRUE(list.ParseFromString(events.body));
  int found = 0;
  for (const std::string& item : list.items()) {
    api::Event e;
    ASSERT_TRUE(e.ParseFromString(item));
    if (e.involved_object().kind() == "Node" && e.involved_object().name() == "worker1" &&
        e.reason() == "FailedStaticPodManifest") {
      ++found;
      EXPECT_NE(e.message().find("bad.yaml:5: spec.containerz: unknown field"), std::string::npos) << e.message();
    }
  }
  EXPECT_EQ(found, 1) << "reported once, though the folder was read twice since";
}

TEST_F(NodeE2eTest, TheEndpointTakesAManifestOverTheNetwork) {
  world().RunFor(Seconds(10));
  std::optional<KubeletResponse> answer;
  std::shared_ptr<Connection> conn;
  cluster.store.world.AddHost("apiclient").AddProcess(
      "caller", sim::testing::Scripted([&](sim::testing::ScriptedProcess& p) {
        ConnectionHandlers h;
        h.on_frame = [&](std::string_view frame) {
          KubeletResponse r;
          ASSERT_TRUE(r.ParseFromArray(frame.data(), static_cast<int>(frame.size())));
          answer = r;
        };
        conn = p.env().transport->Connect("worker1:10250", std::move(h), nullptr);
        KubeletRequest q;
        q.set_id(9);
        q.mutable_manifest()->set_name("db");
        q.mutable_manifest()->set_manifest(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: db}\nspec:\n  containers: [{name: pg, image: postgres}]\n");
        std::string frame;
        SerializeDeterministic(q, &frame);
        ASSERT_TRUE(conn->Send(frame).ok());
      }));
  ASSERT_TRUE(WaitFor([&] { return answer.has_value(); }, Seconds(10)));
  EXPECT_EQ(answer->id(), 9u);
  ASSERT_EQ(answer->code(), 200) << answer->message();
  ASSERT_EQ(answer->manifest().pods_size(), 1);
  EXPECT_EQ(answer->manifest().pods(0), "default/db-worker1");
  ASSERT_TRUE(WaitFor([&] { return GetPod("default", "db-worker1") != nullptr; }, Seconds(30)));
  EXPECT_EQ(GetPod("default", "db-worker1")->metadata().annotations().at("kubernetes.io/config.source"), "endpoint");
}

}  // namespace
}  // namespace ksim::kubelet
