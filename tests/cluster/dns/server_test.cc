// Cluster DNS end to end in the simulated world: an apiserver, the controller-manager's
// EndpointSlice controller, the DNS server on host "dns", and a resolver with a ClusterFirst pod's
// search path; plus the resolver's candidate order.
#include "cluster/dns/server.h"

#include <gtest/gtest.h>

#include <set>

#include "cluster/dns/resolver.h"
#include "cluster/net/ipv4.h"
#include "tests/cluster/apiserver/api_cluster.h"
#include "tests/cluster/proxy/endpointslice_runner.h"

namespace ksim::dns {
namespace {

using apiserver::testing::ApiCluster;
using apiserver::testing::Kind;
using client::ApiClient;
using client::ApiResult;

TEST(DnsResolverCandidates, NdotsAndSearchPathsAsGlibc) {
  const DnsConfig c = ClusterFirstConfig("shop");
  EXPECT_EQ(Candidates("web", c), (std::vector<std::string>{"web.shop.svc.cluster.local", "web.svc.cluster.local",
                                                            "web.cluster.local", "web"}));
  EXPECT_EQ(Candidates("a.b.c.d.e.f", c).front(), "a.b.c.d.e.f") << "5 dots or more: as it is first";
  EXPECT_EQ(Candidates("web.default.svc.cluster.local.", c), (std::vector<std::string>{"web.default.svc.cluster.local"}));
}

struct DnsCluster {
  DnsCluster() : api(1, 4) {
    admin = api.AddClient("admin");
    EXPECT_EQ(Call([&](ApiClient::Done d) { admin->Create(Kind("", "namespaces"), apiserver::testing::MakeNamespace("default"), d); }).code, 201);
    proxy::testing::StartEndpointSliceManager(api);
    DnsServerOptions so;
    so.api_endpoints = api.endpoints;
    so.token = apiserver::testing::kAdminToken;
    dns_host = &api.store.world.AddHost("dns");
    dns_host->AddProcess("dns", [so](Env& env) { return std::make_unique<DnsServer>(env, so); });
    auto r = resolver_;
    api.store.world.AddHost("pod").AddProcess("resolver", sim::testing::Scripted([r](sim::testing::ScriptedProcess& p) {
      DnsConfig c = ClusterFirstConfig("default", "cluster.local", "dns:53");
      *r = std::make_unique<Resolver>(p.env(), c);
    }));
    api.store.world.RunFor(Milliseconds(10));
  }
  ~DnsCluster() {
    resolver_->reset();
  }
  ApiResult Call(const std::function<void(ApiClient::Done)>& f) { return api.Await(f); }
  Resolution Resolve(const std::string& name, uint16_t type) {
    std::optional<Resolution> out;
    (*resolver_)->Resolve(name, type, [&](Status s, const Resolution& r) {
      EXPECT_TRUE(s.ok()) << s.message();
      out = r;
    });
    api.store.world.RunUntilCondition([&] { return out.has_value(); }, api.store.world.now() + Seconds(60));
    return out.value_or(Resolution{kServFail, "", {}});
  }
  // Until the slices say what the pods say (at most 30 s), then 2 s for the DNS server's watch.
  void Settle() {
    const Nanos end = api.store.world.now() + Seconds(30);
    while (!proxy::testing::SlicesCaughtUp(api, admin) && api.store.world.now() < end) {
      api.store.world.RunFor(Milliseconds(200));
    }
    api.store.world.RunFor(Seconds(2));
  }

  ApiCluster api;
  ApiClient* admin = nullptr;
  sim::Host* dns_host = nullptr;

 private:
  std::shared_ptr<std::unique_ptr<Resolver>> resolver_ = std::make_shared<std::unique_ptr<Resolver>>();
};

api::Service MakeService(const std::string& name, const std::string& cluster_ip) {
  api::Service s;
  s.mutable_metadata()->set_namespace_("default");
  s.mutable_metadata()->set_name(name);
  s.mutable_spec()->set_type("ClusterIP");
  s.mutable_spec()->set_cluster_ip(cluster_ip);
  (*s.mutable_spec()->mutable_selector())["app"] = name;
  api::ServicePort* p = s.mutable_spec()->add_ports();
  p->set_name("http");
  p->set_port(80);
  p->mutable_target_port()->set_int_val(8080);
  return s;
}

void PutPod(DnsCluster& c, const std::string& name, const std::string& app, const std::string& ip, bool ready) {
  api::Pod p = apiserver::testing::MakePod("default", name, {{"app", app}});
  ASSERT_EQ(c.Call([&](ApiClient::Done d) { c.admin->Create(Kind("", "pods"), p, d); }).code, 201);
  const ApiResult got = c.Call([&](ApiClient::Done d) { c.admin->Get(Kind("", "pods"), "default", name, d); });
  ASSERT_TRUE(p.ParseFromString(got.body));
  p.mutable_status()->set_pod_ip(ip);
  p.mutable_status()->set_phase("Running");
  api::PodCondition* cond = p.mutable_status()->add_conditions();
  cond->set_type("Ready");
  cond->set_status(ready ? "True" : "False");
  ASSERT_EQ(c.Call([&](ApiClient::Done d) { c.admin->Update(Kind("", "pods"), p, d, "status"); }).code, 200);
}

std::set<std::string> Addresses(const Resolution& r) {
  std::set<std::string> out;
  for (const ResourceRecord& rr : r.answers) {
    if (auto ip = ReadA(rr)) out.insert(net::FormatIPv4(*ip));
  }
  return out;
}

TEST(DnsServer, NamesResolve) {
  DnsCluster c;
  ASSERT_EQ(c.Call([&](ApiClient::Done d) { c.admin->Create(Kind("", "services"), MakeService("web", "10.96.0.50"), d); }).code, 201);
  ASSERT_EQ(c.Call([&](ApiClient::Done d) { c.admin->Create(Kind("", "services"), MakeService("db", "None"), d); }).code, 201);
  api::Service ext = MakeService("ext", "");
  ext.mutable_spec()->set_type("ExternalName");
  ext.mutable_spec()->set_external_name("example.com");
  ext.mutable_spec()->clear_selector();
  ASSERT_EQ(c.Call([&](ApiClient::Done d) { c.admin->Create(Kind("", "services"), ext, d); }).code, 201);
  PutPod(c, "db-0", "db", "10.244.1.5", true);
  PutPod(c, "db-1", "db", "10.244.2.7", true);
  PutPod(c, "db-2", "db", "10.244.3.9", false);
  c.Settle();

  // A ClusterIP Service by its short name, through the search path.
  Resolution r = c.Resolve("web", kTypeA);
  EXPECT_EQ(r.rcode, kNoError);
  EXPECT_EQ(r.name, "web.default.svc.cluster.local");
  EXPECT_EQ(Addresses(r), (std::set<std::string>{"10.96.0.50"}));
  EXPECT_EQ(Addresses(c.Resolve("web.default", kTypeA)), (std::set<std::string>{"10.96.0.50"}));
  // A headless Service: its ready pods.
  EXPECT_EQ(Addresses(c.Resolve("db", kTypeA)), (std::set<std::string>{"10.244.1.5", "10.244.2.7"}));
  EXPECT_EQ(Addresses(c.Resolve("10-244-2-7.db.default.svc.cluster.local.", kTypeA)),
            (std::set<std::string>{"10.244.2.7"}));
  // SRV for a named port: the ClusterIP Service's port; per ready endpoint when headless.
  r = c.Resolve("_http._tcp.web.default.svc.cluster.local.", kTypeSRV);
  ASSERT_EQ(r.answers.size(), 1u);
  EXPECT_EQ(ReadSrv(r.answers[0])->port, 80);
  EXPECT_EQ(ReadSrv(r.answers[0])->target, "web.default.svc.cluster.local");
  r = c.Resolve("_http._tcp.db.default.svc.cluster.local.", kTypeSRV);
  ASSERT_EQ(r.answers.size(), 2u);
  EXPECT_EQ(ReadSrv(r.answers[0])->port, 8080);
  EXPECT_EQ(ReadSrv(r.answers[0])->target, "10-244-1-5.db.default.svc.cluster.local");
  // Pod A records (verified: only IPs a pod of the namespace has).
  EXPECT_EQ(Addresses(c.Resolve("10-244-3-9.default.pod.cluster.local.", kTypeA)),
            (std::set<std::string>{"10.244.3.9"}));
  EXPECT_EQ(c.Resolve("10-244-3-10.default.pod.cluster.local.", kTypeA).rcode, kNXDomain);
  // ExternalName: a CNAME.
  r = c.Resolve("ext.default.svc.cluster.local.", kTypeA);
  ASSERT_EQ(r.answers.size(), 1u);
  EXPECT_EQ(ReadCname(r.answers[0]), "example.com");
  // NXDOMAIN, NOERROR without answers, and names outside the zone.
  EXPECT_EQ(c.Resolve("nope.default.svc.cluster.local.", kTypeA).rcode, kNXDomain);
  // Every in-zone candidate is NXDOMAIN; the last, "nope" itself, is outside the zone and
  // this server forwards nowhere, so it is refused.
  EXPECT_EQ(c.Resolve("nope", kTypeA).rcode, kRefused);
  r = c.Resolve("web.default.svc.cluster.local.", kTypeAAAA);
  EXPECT_EQ(r.rcode, kNoError);
  EXPECT_TRUE(r.answers.empty());
  EXPECT_EQ(c.Resolve("_grpc._tcp.web.default.svc.cluster.local.", kTypeSRV).rcode, kNXDomain);
  EXPECT_EQ(c.Resolve("example.org.", kTypeA).rcode, kRefused);
  // A pod that becomes ready appears; a deleted Service disappears.
  PutPod(c, "db-3", "db", "10.244.4.2", true);
  c.Settle();
  EXPECT_EQ(Addresses(c.Resolve("db", kTypeA)).count("10.244.4.2"), 1u);
  ASSERT_EQ(c.Call([&](ApiClient::Done d) { c.admin->Delete(Kind("", "services"), "default", "web", d); }).code, 200);
  c.Settle();
  EXPECT_EQ(c.Resolve("web.default.svc.cluster.local.", kTypeA).rcode, kNXDomain);
  EXPECT_GT(c.dns_host->Find<DnsServer>("dns")->stats().queries, 10u);
}

TEST(DnsServer, MalformedQueryGetsFormErr) {
  DnsCluster c;
  c.Settle();
  DnsServer* server = c.dns_host->Find<DnsServer>("dns");
  ASSERT_NE(server, nullptr);
  Message q;
  q.id = 7;
  q.questions.push_back({"a.cluster.local", kTypeA, kClassIN});
  q.questions.push_back({"b.cluster.local", kTypeA, kClassIN});
  EXPECT_EQ(server->Answer(q).rcode, kFormErr) << "one question per query";
  q.questions.pop_back();
  q.opcode = 2;
  EXPECT_EQ(server->Answer(q).rcode, kNotImp);
}

}  // namespace
}  // namespace ksim::dns
