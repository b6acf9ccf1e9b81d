// The service proxy and the EndpointSlice controller against a simulated apiserver: rules
// follow Services and pods, and a Service never routes to a pod that is not ready once the
// proxy caught up (RapidCheck, with churn), while every ready pod does get traffic.
#include "cluster/proxy/proxy.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <set>

#include "tests/cluster/apiserver/api_cluster.h"
#include "tests/cluster/proxy/endpointslice_runner.h"

namespace ksim::proxy {
namespace {

using apiserver::testing::ApiCluster;
using apiserver::testing::Kind;
using client::ApiClient;
using client::ApiResult;

// An apiserver, the controller-manager's EndpointSlice controller on host "cm" and a proxy
// on host "worker".
struct ProxyCluster {
  explicit ProxyCluster(uint64_t seed) : api(1, seed) {
    admin = api.AddClient("admin");
    EXPECT_EQ(Call([&](ApiClient::Done d) { admin->Create(Kind("", "namespaces"), apiserver::testing::MakeNamespace("default"), d); }).code, 201);
    testing::StartEndpointSliceManager(api);
    ProxyOptions po;
    po.api_endpoints = api.endpoints;
    po.token = apiserver::testing::kAdminToken;
    worker = &world().AddHost("worker");
    worker->AddProcess("proxy", [po](Env& env) { return std::make_unique<ServiceProxy>(env, po); });
    world().RunFor(Milliseconds(10));
  }
  sim::World& world() { return api.store.world; }
  ServiceProxy* proxy() { return worker->Find<ServiceProxy>("proxy"); }
  ApiResult Call(const std::function<void(ApiClient::Done)>& f) { return api.Await(f); }

  // The slices say what the pods say and the proxy installed what it saw, twice a
  // min-sync-period apart (a write the controller just made reaches the proxy's watch).
  bool Settle() {
    const auto settled = [this] {
      return testing::SlicesCaughtUp(api, admin) && proxy() != nullptr && proxy()->CaughtUp();
    };
    for (int round = 0; round < 2; ++round) {
      const Nanos end = world().now() + Seconds(60);
      while (!settled()) {
        if (world().now() >= end) return false;
        world().RunFor(Milliseconds(200));
      }
      world().RunFor(Milliseconds(1500));
    }
    return settled();
  }

  ApiCluster api;
  ApiClient* admin = nullptr;
  sim::Host* worker = nullptr;
};

api::Service WebService(const std::string& type = "ClusterIP") {
  api::Service s;
  s.mutable_metadata()->set_namespace_("default");
  s.mutable_metadata()->set_name("web");
  s.mutable_spec()->set_type(type);
  (*s.mutable_spec()->mutable_selector())["app"] = "web";
  api::ServicePort* p = s.mutable_spec()->add_ports();
  p->set_name("http");
  p->set_port(80);
  p->mutable_target_port()->set_int_val(8080);
  return s;
}

std::string PodIp(int i) { return "10.244.0." + std::to_string(i + 1); }

// Creates pod i (labelled app=web) and gives it an IP and a Ready condition.
bool PutPod(ProxyCluster& c, int i, bool ready) {
  api::Pod p = apiserver::testing::MakePod("default", "web-" + std::to_string(i), {{"app", "web"}});
  ApiResult r = c.Call([&](ApiClient::Done d) { c.admin->Create(Kind("", "pods"), p, d); });
  if (r.code != 201 && r.code != 409) return false;
  r = c.Call([&](ApiClient::Done d) { c.admin->Get(Kind("", "pods"), "default", p.metadata().name(), d); });
  if (!p.ParseFromString(r.body)) return false;
  p.mutable_status()->set_phase("Running");
  p.mutable_status()->set_pod_ip(PodIp(i));
  p.mutable_status()->clear_conditions();
  api::PodCondition* cond = p.mutable_status()->add_conditions();
  cond->set_type("Ready");
  cond->set_status(ready ? "True" : "False");
  p.mutable_metadata()->clear_resource_version();
  r = c.Call([&](ApiClient::Done d) { c.admin->Update(Kind("", "pods"), p, d, "status"); });
  return r.code == 200;
}

// The IPs of pods that exist, are Ready and are not being deleted, read from the store.
std::set<std::string> ReadyPodIps(ProxyCluster& c) {
  const ApiResult r = c.Call([&](ApiClient::Done d) { c.admin->List(Kind("", "pods"), "default", {}, d); });
  apiserver::ObjectList list;
  list.ParseFromString(r.body);
  std::set<std::string> ips;
  for (const std::string& bytes : list.items()) {
    api::Pod p;
    p.ParseFromString(bytes);
    bool ready = false;
    for (const auto& cond : p.status().conditions()) ready |= cond.type() == "Ready" && cond.status() == "True";
    if (ready && !p.metadata().has_deletion_timestamp() && !p.status().pod_ip().empty()) ips.insert(p.status().pod_ip());
  }
  return ips;
}

// Where 200 connections from a client to ip:port went.
std::set<std::string> Routed(ProxyCluster& c, const std::string& ip, uint16_t port) {
  Random random(5);
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    auto e = c.worker->dataplane().Route(ip, port, random);
    if (e) seen.insert(e->ip + ":" + std::to_string(e->port));
  }
  return seen;
}

std::set<std::string> WithPort(const std::set<std::string>& ips, int port) {
  std::set<std::string> out;
  for (const std::string& ip : ips) out.insert(ip + ":" + std::to_string(port));
  return out;
}

TEST(ServiceProxy, ClusterIpAndNodePortReachReadyPods) {
  ProxyCluster c(1);
  const ApiResult created = c.Call([&](ApiClient::Done d) { c.admin->Create(Kind("", "services"), WebService("NodePort"), d); });
  ASSERT_EQ(created.code, 201) << created.Describe();
  api::Service svc;
  svc.ParseFromString(created.body);
  ASSERT_TRUE(PutPod(c, 0, true));
  ASSERT_TRUE(PutPod(c, 1, false));
  ASSERT_TRUE(c.Settle());
  const auto& rules = c.worker->dataplane().rules();
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].name, "default/web:http");
  EXPECT_EQ(rules[0].cluster_ip, svc.spec().cluster_ip());
  EXPECT_EQ(rules[0].node_port, svc.spec().ports(0).node_port());
  EXPECT_EQ(rules[0].endpoints.size(), 2u);
  EXPECT_EQ(Routed(c, svc.spec().cluster_ip(), 80), (std::set<std::string>{"10.244.0.1:8080"}));
  EXPECT_EQ(Routed(c, "172.18.0.9", static_cast<uint16_t>(svc.spec().ports(0).node_port())),
            (std::set<std::string>{"10.244.0.1:8080"}));
  // The second pod becomes ready; then the Service goes and its rules and slices with it.
  ASSERT_TRUE(PutPod(c, 1, true));
  ASSERT_TRUE(c.Settle());
  EXPECT_EQ(Routed(c, svc.spec().cluster_ip(), 80), (std::set<std::string>{"10.244.0.1:8080", "10.244.0.2:8080"}));
  ASSERT_EQ(c.Call([&](ApiClient::Done d) { c.admin->Delete(Kind("", "services"), "default", "web", d); }).code, 200);
  ASSERT_TRUE(c.Settle());
  EXPECT_TRUE(c.worker->dataplane().rules().empty());
  const ApiResult slices =
      c.Call([&](ApiClient::Done d) { c.admin->List(Kind("discovery.k8s.io", "endpointslices"), "default", {}, d); });
  apiserver::ObjectList l;
  l.ParseFromString(slices.body);
  EXPECT_EQ(l.items_size(), 0) << "the controller deletes the slices of a deleted Service";
}

struct Op {
  int kind = 0;  // 0 create ready, 1 create not ready, 2 make ready, 3 make not ready, 4 delete
  int pod = 0;
  bool settle = false;
};

std::ostream& operator<<(std::ostream& os, const Op& o) {
  return os << "{kind " << o.kind << " pod " << o.pod << (o.settle ? " settle}" : "}");
}

// Safety: once the proxy caught up, no connection goes to a pod that is not ready (or gone).
// Liveness floor: every ready pod gets connections, and with none ready none is routed.
RC_GTEST_PROP(ServiceProxyProperty, NeverRoutesToAPodThatIsNotReadyOnceCaughtUp, ()) {
  const auto ops = *rc::gen::container<std::vector<Op>>(rc::gen::build<Op>(
      rc::gen::set(&Op::kind, rc::gen::inRange(0, 5)), rc::gen::set(&Op::pod, rc::gen::inRange(0, 6)),
      rc::gen::set(&Op::settle, rc::gen::arbitrary<bool>())));
  RC_PRE(ops.size() <= 12);
  ProxyCluster c(*rc::gen::inRange<uint64_t>(1, 1000));
  const ApiResult created = c.Call([&](ApiClient::Done d) { c.admin->Create(Kind("", "services"), WebService(), d); });
  RC_ASSERT(created.code == 201);
  api::Service svc;
  svc.ParseFromString(created.body);
  auto check = [&] {
    RC_ASSERT(c.Settle());
    const std::set<std::string> ready = WithPort(ReadyPodIps(c), 8080);
    RC_ASSERT(Routed(c, svc.spec().cluster_ip(), 80) == ready);
  };
  for (const Op& op : ops) {
    const std::string name = "web-" + std::to_string(op.pod);
    switch (op.kind) {
      case 0:
      case 2: PutPod(c, op.pod, true); break;
      case 1:
      case 3: PutPod(c, op.pod, false); break;
      default:
        c.Call([&](ApiClient::Done d) { c.admin->Delete(Kind("", "pods"), "default", name, d); });
    }
    if (op.settle) check();
  }
  check();
}

}  // namespace
}  // namespace ksim::proxy
