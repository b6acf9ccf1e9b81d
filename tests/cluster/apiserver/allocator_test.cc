// Services' ClusterIP and NodePort allocation (allocator.h, strategy/service_allocation.h):
// values from the configured ranges, requested values honoured or refused with Kubernetes'
// messages, released on delete and on a type change, and never handed out twice, even by
// two apiservers at once (a RapidCheck property with a liveness floor).
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <set>

#include "cluster/net/ipv4.h"
#include "tests/cluster/apiserver/api_cluster.h"

namespace ksim::apiserver::testing {
namespace {

using client::ApiClient;
using client::ApiResult;

const api::KindInfo& Services() { return Kind("", "services"); }

api::Service MakeService(const std::string& name, const std::string& type = "ClusterIP",
                         const std::string& cluster_ip = "", int node_port = 0) {
  api::Service s;
  s.mutable_metadata()->set_namespace_("default");
  s.mutable_metadata()->set_name(name);
  s.mutable_spec()->set_type(type);
  s.mutable_spec()->set_cluster_ip(cluster_ip);
  (*s.mutable_spec()->mutable_selector())["app"] = name;
  api::ServicePort* p = s.mutable_spec()->add_ports();
  p->set_port(80);
  p->set_node_port(node_port);
  return s;
}

api::Service Parse(const ApiResult& r) {
  api::Service s;
  EXPECT_TRUE(s.ParseFromString(r.body)) << r.Describe();
  return s;
}

std::string Message(const ApiResult& r) { return r.error.message(); }

class AllocatorTest : public ApiVerbTest {
 protected:
  ApiResult Create(const api::Service& s) {
    return Await([&](ApiClient::Done d) { c->Create(Services(), s, d); });
  }
  ApiResult Delete(const std::string& name) {
    return Await([&](ApiClient::Done d) { c->Delete(Services(), "default", name, d); });
  }
};

TEST_F(AllocatorTest, ClusterIpComesFromTheRangeAboveTheStaticBand) {
  const ApiResult r = Create(MakeService("web"));
  ASSERT_EQ(r.code, 201) << r.Describe();
  const api::Service s = Parse(r);
  const auto ip = net::ParseIPv4(s.spec().cluster_ip());
  ASSERT_TRUE(ip.has_value()) << s.spec().cluster_ip();
  const net::Cidr range = *net::ParseCidr("10.96.0.0/12");
  EXPECT_TRUE(range.Contains(*ip));
  EXPECT_GE(*ip, range.base + 257) << "the first 256 addresses are kept for requests (KEP-3070)";
  ASSERT_EQ(s.spec().cluster_ips_size(), 1);
  EXPECT_EQ(s.spec().cluster_ips(0), s.spec().cluster_ip());
  EXPECT_EQ(s.spec().ports(0).node_port(), 0) << "a ClusterIP service gets no nodePort";
}

TEST_F(AllocatorTest, RequestedIpIsHonouredOnceAndFreedByDelete) {
  ASSERT_EQ(Create(MakeService("kube-dns", "ClusterIP", "10.96.0.10")).code, 201);
  const ApiResult again = Create(MakeService("other", "ClusterIP", "10.96.0.10"));
  EXPECT_EQ(again.code, 422);
  EXPECT_EQ(again.error.reason(), "Invalid");
  EXPECT_EQ(Message(again),
            "Service \"other\" is invalid: spec.clusterIPs: Invalid value: [\"10.96.0.10\"]: failed to allocate IP "
            "10.96.0.10: provided IP is already allocated");
  ASSERT_EQ(Delete("kube-dns").code, 200);
  EXPECT_EQ(Create(MakeService("other", "ClusterIP", "10.96.0.10")).code, 201);
}

TEST_F(AllocatorTest, RequestedIpOutsideTheRangeIsInvalid) {
  const ApiResult r = Create(MakeService("web", "ClusterIP", "10.0.0.5"));
  EXPECT_EQ(r.code, 422);
  EXPECT_EQ(Message(r),
            "Service \"web\" is invalid: spec.clusterIPs: Invalid value: [\"10.0.0.5\"]: failed to allocate IP 10.0.0.5: "
            "the provided IP (10.0.0.5) is not in the valid range. The range of valid IPs is 10.96.0.0/12");
}

TEST_F(AllocatorTest, HeadlessAndExternalNameHoldNoIp) {
  const ApiResult h = Create(MakeService("db", "ClusterIP", "None"));
  ASSERT_EQ(h.code, 201);
  EXPECT_EQ(Parse(h).spec().cluster_ip(), "None");
  ASSERT_EQ(Parse(h).spec().cluster_ips_size(), 1);
  EXPECT_EQ(Parse(h).spec().cluster_ips(0), "None");
  api::Service ext = MakeService("ext", "ExternalName");
  ext.mutable_spec()->set_external_name("example.com");
  const ApiResult e = Create(ext);
  ASSERT_EQ(e.code, 201) << e.Describe();
  EXPECT_EQ(Parse(e).spec().cluster_ip(), "");
  EXPECT_EQ(Parse(e).spec().cluster_ips_size(), 0);
}

TEST_F(AllocatorTest, NodePortsAllocatedAndRequestedOnesRefusedWhenTaken) {
  const ApiResult r = Create(MakeService("np", "NodePort"));
  ASSERT_EQ(r.code, 201) << r.Describe();
  const int port = Parse(r).spec().ports(0).node_port();
  EXPECT_GE(port, 30000 + 86) << "the first 86 ports are kept for requests (KEP-3668)";
  EXPECT_LE(port, 32767);
  ASSERT_EQ(Create(MakeService("fixed", "NodePort", "", 30080)).code, 201);
  const ApiResult taken = Create(MakeService("fixed2", "NodePort", "", 30080));
  EXPECT_EQ(taken.code, 422);
  EXPECT_EQ(Message(taken),
            "Service \"fixed2\" is invalid: spec.ports[0].nodePort: Invalid value: 30080: provided port is already "
            "allocated");
  // LoadBalancer services get nodePorts too (allocateLoadBalancerNodePorts defaults to true).
  const ApiResult lb = Create(MakeService("lb", "LoadBalancer"));
  ASSERT_EQ(lb.code, 201) << lb.Describe();
  EXPECT_NE(Parse(lb).spec().ports(0).node_port(), 0);
}

TEST_F(AllocatorTest, TypeChangesClaimAndReleaseNodePorts) {
  ApiResult r = Create(MakeService("svc", "ClusterIP"));
  ASSERT_EQ(r.code, 201);
  api::Service s = Parse(r);
  const std::string ip = s.spec().cluster_ip();
  s.mutable_spec()->set_type("NodePort");
  s.mutable_spec()->mutable_ports(0)->set_node_port(30100);
  r = Await([&](ApiClient::Done d) { c->Update(Services(), s, d); });
  ASSERT_EQ(r.code, 200) << r.Describe();
  s = Parse(r);
  EXPECT_EQ(s.spec().cluster_ip(), ip) << "the clusterIP stays";
  EXPECT_EQ(Create(MakeService("other", "NodePort", "", 30100)).code, 422) << "30100 is held by svc now";
  // An update that leaves clusterIP and nodePort unset keeps them (PrepareForUpdate).
  s.mutable_spec()->clear_cluster_ip();
  s.mutable_spec()->clear_cluster_ips();
  s.mutable_spec()->mutable_ports(0)->set_node_port(0);
  (*s.mutable_metadata()->mutable_labels())["touched"] = "yes";
  r = Await([&](ApiClient::Done d) { c->Update(Services(), s, d); });
  ASSERT_EQ(r.code, 200) << r.Describe();
  s = Parse(r);
  EXPECT_EQ(s.spec().cluster_ip(), ip);
  EXPECT_EQ(s.spec().ports(0).node_port(), 30100);
  s.mutable_spec()->set_type("ClusterIP");
  s.mutable_spec()->clear_external_traffic_policy();
  s.mutable_spec()->mutable_ports(0)->set_node_port(0);
  r = Await([&](ApiClient::Done d) { c->Update(Services(), s, d); });
  ASSERT_EQ(r.code, 200) << r.Describe();
  EXPECT_EQ(Create(MakeService("other", "NodePort", "", 30100)).code, 201) << "released by the type change";
}

// A /29 holds 6 usable addresses (too few for a static band); blind picks collide, so
// later attempts read the records, fill the whole range, then say it is full.
TEST(AllocatorSmallRange, FillsEveryAddressThenReportsFull) {
  ApiCluster cluster(1, 3, [](ApiServerOptions& o) { o.service_cluster_ip_range = "10.100.0.0/29"; });
  ApiClient* c = cluster.AddClient("client");
  ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { c->Create(Kind("", "namespaces"), MakeNamespace("default"), d); }).code,
            201);
  std::set<std::string> ips;
  for (int i = 0; i < 6; ++i) {
    const ApiResult r = cluster.Await([&](ApiClient::Done d) { c->Create(Services(), MakeService("s" + std::to_string(i)), d); });
    ASSERT_EQ(r.code, 201) << r.Describe();
    ips.insert(Parse(r).spec().cluster_ip());
  }
  EXPECT_EQ(ips, (std::set<std::string>{"10.100.0.1", "10.100.0.2", "10.100.0.3", "10.100.0.4", "10.100.0.5", "10.100.0.6"}));
  const ApiResult full = cluster.Await([&](ApiClient::Done d) { c->Create(Services(), MakeService("s6"), d); });
  EXPECT_EQ(full.code, 500);
  EXPECT_EQ(full.error.message(), "Internal error occurred: failed to allocate a serviceIP: range is full");
}

TEST(AllocatorOptions, BadRangeIsReportedAtStart) {
  ApiCluster cluster(1, 1, [](ApiServerOptions& o) { o.service_cluster_ip_range = "10.96.0.1/12"; });
  cluster.store.world.RunFor(Milliseconds(10));
  bool logged = false;
  for (const auto& line : cluster.store.world.log().lines()) {
    if (line.find("--service-cluster-ip-range \"10.96.0.1/12\"") != std::string::npos) logged = true;
  }
  EXPECT_TRUE(logged);
}

// Concurrent creates through two apiservers (and deletes among them) never give one
// ClusterIP or NodePort to two live Services. Liveness floor: while the range has room
// every create succeeds, so a range of R addresses ends with exactly min(R, creates -
// deletes) services, each with its own IP.
RC_GTEST_PROP(AllocatorProperty, ConcurrentCreatesThroughTwoApiserversNeverShareAValue, ()) {
  const int creators = *rc::gen::inRange(2, 5);
  const int per_creator = *rc::gen::inRange(1, 6);
  const bool node_ports = *rc::gen::arbitrary<bool>();
  const std::string range = *rc::gen::element<std::string>("10.100.0.0/28", "10.100.0.0/27", "10.96.0.0/12");
  ApiCluster cluster(2, *rc::gen::inRange<uint64_t>(1, 1000), [range](ApiServerOptions& o) {
    o.service_cluster_ip_range = range;
    o.service_node_port_range = "30000-30019";
  });
  ApiClient* admin = cluster.AddClient("admin");
  RC_ASSERT(cluster.Await([&](ApiClient::Done d) { admin->Create(Kind("", "namespaces"), MakeNamespace("default"), d); }).code == 201);
  std::vector<ApiClient*> clients;
  for (int i = 0; i < creators; ++i) clients.push_back(cluster.AddClient("creator" + std::to_string(i), 1 + i % 2));
  int answered = 0;
  int created = 0;
  for (int i = 0; i < creators; ++i) {
    for (int j = 0; j < per_creator; ++j) {
      clients[static_cast<size_t>(i)]->Create(
          Services(), MakeService("s" + std::to_string(i) + "-" + std::to_string(j), node_ports ? "NodePort" : "ClusterIP"),
          [&](const ApiResult& r) {
            ++answered;
            if (r.ok()) ++created;
          });
    }
  }
  sim::World& w = cluster.store.world;
  w.RunUntilCondition([&] { return answered == creators * per_creator; }, w.now() + Seconds(120));
  RC_ASSERT(answered == creators * per_creator);
  const ApiResult list = cluster.Await([&](ApiClient::Done d) { admin->List(Services(), "default", {}, d); });
  ObjectList l;
  l.ParseFromString(list.body);
  std::set<std::string> ips;
  std::set<int> ports;
  for (const std::string& bytes : l.items()) {
    api::Service s;
    s.ParseFromString(bytes);
    RC_ASSERT(ips.insert(s.spec().cluster_ip()).second);
    if (node_ports) RC_ASSERT(ports.insert(s.spec().ports(0).node_port()).second);
  }
  const uint64_t room = std::min<uint64_t>(net::ParseCidr(range)->size() - 2, node_ports ? 20 : 1'000'000);
  RC_ASSERT(static_cast<uint64_t>(l.items_size()) == std::min<uint64_t>(room, static_cast<uint64_t>(creators * per_creator)));
  RC_ASSERT(created == l.items_size());
}

}  // namespace
}  // namespace ksim::apiserver::testing
