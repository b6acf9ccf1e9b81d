// The kubelet's node side end to end in the simulated world: a store, an apiserver, and a
// worker host running a NodeAgent that wires NodeStatusManager, StaticPodSource,
// MirrorPodManager and KubeletServer the way the Kubelet process does. Static pods run
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
#include "cluster/kubelet/kubelet_server.h"
#include "cluster/kubelet/mirror_pod.h"
#include "cluster/kubelet/node_status.h"
#include "cluster/kubelet/static_pod.h"
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

// The node side of a kubelet, wired as kubelet.cc wires it.
class NodeAgent final : public Process {
 public:
  NodeAgent(Env& env, std::vector<Address> apiservers) : env_(env) {
    client::ApiClientOptions co;
    co.endpoints = std::move(apiservers);
    co.token = apiserver::testing::kAdminToken;
    client_ = std::make_unique<client::ApiClient>(env, co);
    NodeStatusOptions so;
    so.node_name = env.host;
    so.node_ip = "172.18.0.2";
    so.ready_needs_pod_cidr = false;  // no node IPAM in this cluster
    status_ = std::make_unique<NodeStatusManager>(env, client_.get(), so);
    MirrorPodOptions mo;
    mo.node_name = env.host;
    mirrors_ = std::make_unique<MirrorPodManager>(env, client_.get(), mo, [this] { return status_->node_uid(); });
    StaticPodSourceOptions po;
    po.node_name = env.host;
    po.manifest_dir = "manifests";
    statics_ = std::make_unique<StaticPodSource>(
        env, po,
        [this](PodChange c, const std::shared_ptr<const api::Pod>& pod) {
          const std::string key = pod->metadata().namespace_() + "/" + pod->metadata().name();
          if (c == PodChange::kRemove) {
            running.erase(key);
            mirrors_->RemoveStaticPod(key);
          } else {
            running.insert(key);
            mirrors_->SetStaticPod(pod);
          }
        },
        [this](const std::string& location, const Status& error) {
          mirrors_->PostNodeEvent("FailedStaticPodManifest", location + ": " + error.message());
        });
    client::InformerOptions io;
    io.field_selector = "spec.nodeName=" + env.host;
    pods_ = std::make_unique<client::Informer>(env, client_.get(), Kind("", "pods"), io);
    pods_->AddHandlers(client::EventHandlers{
        [this](const client::ObjectPtr& o) { mirrors_->OnApiPod(std::static_pointer_cast<const api::Pod>(o)); },
        [this](const client::ObjectPtr&, const client::ObjectPtr& o) {
          mirrors_->OnApiPod(std::static_pointer_cast<const api::Pod>(o));
        },
        [this](const client::ObjectPtr& o) { mirrors_->OnApiPodDeleted(std::static_pointer_cast<const api::Pod>(o)); }});
    server_ = std::make_unique<KubeletServer>(
        env, KubeletServerOptions{}, [this](const std::string& name, std::string_view text, std::vector<std::string>* p) {
          return statics_->AcceptManifest(name, text, p);
        });
  }

  void Start() override {
    ASSERT_TRUE(status_->Start(nullptr).ok());
    statics_->Start();
    mirrors_->Start();
    pods_->Start();
    ASSERT_TRUE(server_->Start().ok());
  }

  std::set<std::string> running;  // static pods the kubelet would run
  NodeStatusManager& status() { return *status_; }

 private:
  Env& env_;
  std::unique_ptr<client::ApiClient> client_;
  std::unique_ptr<NodeStatusManager> status_;
  std::unique_ptr<MirrorPodManager> mirrors_;
  std::unique_ptr<StaticPodSource> statics_;
  std::unique_ptr<client::Informer> pods_;
  std::unique_ptr<KubeletServer> server_;
};

class NodeE2eTest : public ::testing::Test {
 protected:
  NodeE2eTest() {
    admin = cluster.AddClient("admin");
    sim::Host& host = cluster.store.world.AddHost("worker1");
    worker = &host;
    host.disk().WriteFile("manifests/web.yaml", kWeb);
    const std::vector<Address> endpoints = cluster.endpoints;
    host.AddProcess("kubelet", [endpoints](Env& env) { return std::make_unique<NodeAgent>(env, endpoints); });
  }
  NodeAgent* Agent() { return worker->Find<NodeAgent>("kubelet"); }
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
  EXPECT_EQ(Agent()->running, std::set<std::string>{"kube-system/web-worker1"}) << "runs without any apiserver";
  EXPECT_FALSE(Agent()->status().registered());
  cluster.store.world.host(3).RestartProcess("apiserver");
  ASSERT_TRUE(WaitFor([&] { return GetPod("kube-system", "web-worker1") != nullptr; }, Seconds(60)));
  auto mirror = GetPod("kube-system", "web-worker1");
  EXPECT_TRUE(IsMirrorPod(*mirror));
  EXPECT_EQ(mirror->spec().node_name(), "worker1");
  ASSERT_EQ(mirror->metadata().owner_references_size(), 1);
  EXPECT_EQ(mirror->metadata().owner_references(0).uid(), Agent()->status().node_uid());
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
  EXPECT_EQ(Agent()->running.size(), 1u) << "the static pod itself never stopped";
}

TEST_F(NodeE2eTest, ABadManifestIsAnEventOnTheNodeAndOthersKeepRunning) {
  world().RunFor(Seconds(10));
  worker->disk().WriteFile("manifests/bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: bad}\nspec:\n  containerz: []\n");
  world().RunFor(Seconds(50));  // the folder is read at least twice since
  EXPECT_EQ(Agent()->running, std::set<std::string>{"kube-system/web-worker1"});
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
