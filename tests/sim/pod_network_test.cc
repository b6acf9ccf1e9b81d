// Pod IPs on the simulated network: containers that serve HTTP answer on their pod's
// address, node IPs are aliases of hosts, and service addresses go through the client
// host's dataplane.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "cluster/env/dataplane.h"
#include "cluster/net/http1.h"
#include "sim/network.h"
#include "tests/sim/runtime_fixture.h"
#include "tests/sim/test_process.h"

namespace ksim::sim {
namespace {

struct HttpResult {
  bool done = false;
  Status status;  // the connection's failure, if any
  int code = 0;
  std::string body;
};

class PodNetworkTest : public testing::RuntimeFixture {
 protected:
  PodNetworkTest() : client(w.AddHost("n2")) {
    EXPECT_TRUE(w.network().AddAlias("172.18.0.2", host.id()).ok());
    EXPECT_TRUE(w.network().AddAlias("172.18.0.3", client.id()).ok());
    client.AddProcess("curl", testing::Scripted([](testing::ScriptedProcess&) {}));
    w.RunFor(Milliseconds(1));
  }

  Env& ClientEnv() { return client.Find<testing::ScriptedProcess>("curl")->env(); }

  // One GET from the client host; keeps the connection open in `conn`.
  HttpResult HttpGet(const std::string& address, std::shared_ptr<Connection>* keep = nullptr) {
    auto result = std::make_shared<HttpResult>();
    ConnectionHandlers h;
    h.on_frame = [result](std::string_view frame) {
      http1::Response r;
      result->status = http1::ParseResponse(frame, &r);
      result->code = r.status;
      result->body = r.body;
      result->done = true;
    };
    h.on_closed = [result](const Status& why) {
      if (result->done) return;
      result->status = why;
      result->done = true;
    };
    auto conn = ClientEnv().transport->Connect(address, std::move(h), [] {});
    EXPECT_NE(conn, nullptr);
    EXPECT_TRUE(conn->Send(http1::FormatRequest(http1::Get(address, "/"))).ok());
    w.RunUntilCondition([&] { return result->done; }, w.now() + Seconds(10));
    EXPECT_TRUE(result->done) << address;
    if (keep) *keep = conn;
    return *result;
  }

  // A pod serving its declared container port 8080 (and nginx's own 80).
  std::string ServingPod(const std::string& name, const std::string& image = "nginx") {
    PodSandboxConfig pod = Pod(name);
    pod.port_mappings = {{"TCP", 8080, 0, ""}};
    return RunContainer(name, image, {}, pod);
  }
  std::string IpOf(const std::string& container) { return GetSandbox(Get(container).sandbox_id).ip; }

  Host& client;
};

TEST_F(PodNetworkTest, AConnectToAPodPortAnswersWithThePodName) {
  const std::string c = ServingPod("web-0");
  const std::string ip = IpOf(c);
  HttpResult r = HttpGet(ip + ":8080");
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.code, 200);
  EXPECT_EQ(r.body, "web-0");
  r = HttpGet(ip + ":80");  // nginx listens on 80 whatever the pod declares
  EXPECT_EQ(r.body, "web-0");
  r = HttpGet(ip + ":9999");
  EXPECT_EQ(r.status.code(), Status::Code::kUnavailable);
  EXPECT_NE(r.status.message().find("connection refused"), std::string::npos) << r.status.ToString();
  EXPECT_EQ(rt.stats().http_requests, 2u);
}

TEST_F(PodNetworkTest, NotReadyAnswers503ThenTheNameAndUnhealthy500) {
  PodSandboxConfig pod = Pod("slow");
  pod.port_mappings = {{"TCP", 8080, 0, ""}};
  pod.annotations = {{"sim.ksim.io/app", "readyAfter=10s,unhealthyAfter=20s"}};
  const std::string c = RunContainer("slow", "example.com/app:v1", {}, pod);
  const std::string address = IpOf(c) + ":8080";
  EXPECT_EQ(HttpGet(address).code, 503);
  w.RunFor(Seconds(10));
  EXPECT_EQ(HttpGet(address).code, 200);
  w.RunFor(Seconds(10));
  EXPECT_EQ(HttpGet(address).code, 500);
}

TEST_F(PodNetworkTest, ImagesThatServeNothingRefuse) {
  PodSandboxConfig pod = Pod("bb");
  pod.port_mappings = {{"TCP", 8080, 0, ""}};
  const std::string c = RunContainer("bb", "busybox", {}, pod);
  EXPECT_EQ(HttpGet(IpOf(c) + ":8080").status.code(), Status::Code::kUnavailable);
}

TEST_F(PodNetworkTest, AnExitingContainerClosesItsConnectionsAndAStoppedSandboxIsGone) {
  const std::string c = ServingPod("web-0");
  const std::string ip = IpOf(c);
  std::shared_ptr<Connection> open;
  ASSERT_EQ(HttpGet(ip + ":8080", &open).code, 200);
  bool closed = false;
  open->SetHandlers({[](std::string_view) {}, [&](const Status&) { closed = true; }});
  ASSERT_TRUE(rt.Kill(c, 1, "Error").ok());
  w.RunFor(Seconds(1));
  EXPECT_TRUE(closed);
  EXPECT_NE(HttpGet(ip + ":8080").status.message().find("connection refused"), std::string::npos);
  ASSERT_TRUE(StopSandbox(Get(c).sandbox_id).ok());
  const HttpResult gone = HttpGet(ip + ":8080");
  EXPECT_EQ(gone.status.code(), Status::Code::kUnavailable);
}

TEST_F(PodNetworkTest, ServicesRouteThroughTheClientHostsDataplane) {
  const std::string c = ServingPod("web-0");
  ServiceRule rule;
  rule.name = "default/web:http";
  rule.cluster_ip = "10.96.0.20";
  rule.port = 80;
  rule.node_port = 30080;
  rule.endpoints = {{IpOf(c), 8080, true}};
  ASSERT_TRUE(client.dataplane().Apply({rule}).ok());
  EXPECT_EQ(HttpGet("10.96.0.20:80").body, "web-0");
  EXPECT_EQ(HttpGet("172.18.0.2:30080").body, "web-0");  // a NodePort on any node address
  EXPECT_EQ(HttpGet("172.18.0.3:30080").body, "web-0");
  EXPECT_EQ(HttpGet("n1:30080").body, "web-0");
  // A pod IP is not a node address: its port 30080 is its own.
  EXPECT_EQ(HttpGet(IpOf(c) + ":30080").status.code(), Status::Code::kUnavailable);
  rule.endpoints[0].ready = false;
  ASSERT_TRUE(client.dataplane().Apply({rule}).ok());
  const HttpResult none = HttpGet("10.96.0.20:80");
  EXPECT_NE(none.status.message().find("no ready endpoint"), std::string::npos) << none.status.ToString();
  // An address nobody holds.
  EXPECT_EQ(HttpGet("10.96.0.21:80").status.code(), Status::Code::kUnavailable);
}

// sessionAffinity ClientIP (Kubernetes' Service spec): every connection from one client
// address reaches the endpoint its first one reached, until affinity_timeout_seconds of
// silence; without affinity the same client is spread over the endpoints.
TEST_F(PodNetworkTest, ClientIpAffinityKeepsAClientOnOneEndpoint) {
  const std::string a = ServingPod("web-a");
  const std::string b = ServingPod("web-b");
  ServiceRule rule;
  rule.name = "default/web:http";
  rule.cluster_ip = "10.96.0.20";
  rule.port = 80;
  rule.endpoints = {{IpOf(a), 8080, true}, {IpOf(b), 8080, true}};
  ASSERT_TRUE(client.dataplane().Apply({rule}).ok());
  std::set<std::string> spread;
  for (int i = 0; i < 20; ++i) spread.insert(HttpGet("10.96.0.20:80").body);
  EXPECT_EQ(spread, (std::set<std::string>{"web-a", "web-b"}));  // the floor: both serve

  rule.session_affinity = "ClientIP";
  rule.affinity_timeout_seconds = 60;
  ASSERT_TRUE(client.dataplane().Apply({rule}).ok());
  const std::string first = HttpGet("10.96.0.20:80").body;
  ASSERT_TRUE(first == "web-a" || first == "web-b") << first;
  for (int i = 0; i < 20; ++i) EXPECT_EQ(HttpGet("10.96.0.20:80").body, first) << i;
  // After the timeout of silence the client is placed afresh: over a few timeouts it
  // reaches the other endpoint too.
  std::set<std::string> after;
  for (int i = 0; i < 20; ++i) {
    w.RunFor(Seconds(61));
    after.insert(HttpGet("10.96.0.20:80").body);
  }
  EXPECT_EQ(after, (std::set<std::string>{"web-a", "web-b"}));
}

// A hostPort (CNI portmap): the node's address and that port reach the pod's container
// port, from any host; other ports of the node stay the node's own.
TEST_F(PodNetworkTest, AHostPortOnTheNodeAddressReachesThePod) {
  PodSandboxConfig pod = Pod("web-0");
  pod.port_mappings = {{"TCP", 8080, 8088, ""}};
  const std::string c = RunContainer("web-0", "nginx", {}, pod);
  EXPECT_EQ(HttpGet("172.18.0.2:8088").body, "web-0");
  EXPECT_EQ(HttpGet("n1:8088").body, "web-0");
  EXPECT_EQ(HttpGet("172.18.0.2:8089").status.code(), Status::Code::kUnavailable);
  EXPECT_EQ(HttpGet("172.18.0.3:8088").status.code(), Status::Code::kUnavailable);  // another node
  ASSERT_TRUE(StopSandbox(Get(c).sandbox_id).ok());
  EXPECT_EQ(HttpGet("172.18.0.2:8088").status.code(), Status::Code::kUnavailable);
}

TEST_F(PodNetworkTest, NodeAliasesReachHostProcessesAndAreChecked) {
  std::vector<std::string> received;
  host.AddProcess("sink", testing::Sink(7000, &received));
  w.RunFor(Milliseconds(1));
  auto conn = ClientEnv().transport->Connect("172.18.0.2:7000", {}, [] {});
  ASSERT_TRUE(conn->Send("hello").ok());
  w.RunFor(Seconds(1));
  EXPECT_EQ(received, std::vector<std::string>{"hello"});
  EXPECT_EQ(w.network().AddAlias("172.18.0.2", client.id()).code(), Status::Code::kAlreadyExists);
  EXPECT_TRUE(w.network().AddAlias("172.18.0.2", host.id()).ok());
  EXPECT_EQ(w.network().AddAlias("172.18.0.300", host.id()).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(w.network().AddAlias("n1", host.id()).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(w.network().AliasesOf(host.id()), std::vector<std::string>{"172.18.0.2"});
  w.network().RemoveAlias("172.18.0.2");
  EXPECT_EQ(w.network().Resolve("172.18.0.2"), Network::kNoHost);
  EXPECT_EQ(w.network().Resolve("n1"), host.id());
}

}  // namespace
}  // namespace ksim::sim
