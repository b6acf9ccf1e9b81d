// SimCluster end to end: an HA control plane behind the simulated HAProxy boots, the
// scheduler binds applied pods, and losing an apiserver does not lose the API.
#include "scenarios/sim_cluster.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sim/load_balancer.h"
#include "sim/world.h"

namespace ksim::scenarios {
namespace {

constexpr char kPods[] = R"(apiVersion: v1
kind: Pod
metadata: {name: web-1, labels: {app: web}}
spec:
  containers: [{name: web, image: nginx, ports: [{containerPort: 80}], resources: {requests: {cpu: 500m, memory: 256Mi}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: web-2, labels: {app: web}}
spec:
  containers: [{name: web, image: nginx, ports: [{containerPort: 80}], resources: {requests: {cpu: 500m, memory: 256Mi}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: web-3, labels: {app: web}}
spec:
  containers: [{name: web, image: nginx, ports: [{containerPort: 80}], resources: {requests: {cpu: 500m, memory: 256Mi}}}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
)";

SimClusterOptions Small(uint64_t seed = 1) {
  SimClusterOptions o;
  o.seed = seed;
  o.control_plane = 3;
  o.workers = 3;
  o.zones = {"zone-a", "zone-b"};
  return o;
}

// Pods of `ns` bound to a node, or -1 if the list failed.
int Bound(SimCluster& c, const std::string& selector) {
  std::vector<api::Pod> pods;
  if (!c.ListPods("default", selector, &pods).ok()) return -1;
  int bound = 0;
  for (const api::Pod& p : pods) bound += p.spec().node_name().empty() ? 0 : 1;
  return bound;
}

TEST(SimCluster, BootsRegistersWorkersAndTheSchedulerBindsAppliedPods) {
  SimCluster c(Small());
  ASSERT_TRUE(c.Bootstrap().ok());
  std::vector<api::Node> nodes;
  ASSERT_TRUE(c.ListNodes(&nodes).ok());
  ASSERT_EQ(nodes.size(), 3u);
  std::set<std::string> workers(c.worker_hosts().begin(), c.worker_hosts().end());
  for (const api::Node& n : nodes) {
    EXPECT_EQ(workers.count(n.metadata().name()), 1u) << n.metadata().name();
    EXPECT_EQ(n.metadata().labels().at("kubernetes.io/hostname"), n.metadata().name());
    EXPECT_EQ(n.metadata().labels().count("topology.kubernetes.io/zone"), 1u);
  }
  ASSERT_TRUE(c.Apply(kPods, "web.yaml").ok());
  ASSERT_TRUE(c.RunUntil([&] { return Bound(c, "app=web") == 3; }, Seconds(60)));
  std::vector<api::Pod> pods;
  ASSERT_TRUE(c.ListPods("default", "app=web", &pods).ok());
  for (const api::Pod& p : pods) EXPECT_EQ(workers.count(p.spec().node_name()), 1u) << p.metadata().name();
  // Every apiserver keeps passing the load balancer's quorum-read check.
  c.RunFor(Seconds(10));
  for (const sim::BackendState& b : c.load_balancer().backends()) {
    EXPECT_TRUE(b.up) << b.address;
    EXPECT_GE(b.checks_ok, 5u) << b.address;
    EXPECT_EQ(b.checks_failed, 0u) << b.address;
  }
}

bool Ready(const api::Pod& p) {
  for (const auto& c : p.status().conditions()) {
    if (c.type() == "Ready") return p.status().phase() == "Running" && c.status() == "True";
  }
  return false;
}

TEST(SimCluster, BoundPodsBecomeRunningAndReadyOnTheirNodes) {
  SimCluster c(Small(2));
  ASSERT_TRUE(c.runs_kubelets());
  ASSERT_TRUE(c.Bootstrap().ok());
  ASSERT_TRUE(c.Apply(kPods, "web.yaml").ok());
  std::vector<api::Pod> pods;
  const bool ready = c.RunUntil(
      [&] {
        return c.ListPods("default", "app=web", &pods).ok() && pods.size() == 3 &&
               std::all_of(pods.begin(), pods.end(), Ready);
      },
      Seconds(60));
  ASSERT_TRUE(ready);
  std::vector<api::Node> nodes;
  ASSERT_TRUE(c.ListNodes(&nodes).ok());
  std::map<std::string, api::Node> by_name;
  for (const api::Node& n : nodes) by_name[n.metadata().name()] = n;
  std::set<std::string> ips;
  for (const api::Pod& p : pods) {
    const api::Node& node = by_name.at(p.spec().node_name());
    const std::string cidr = node.spec().pod_cidr();  // 10.244.<i>.0/24
    ASSERT_FALSE(cidr.empty());
    EXPECT_EQ(p.status().pod_ip().rfind(cidr.substr(0, cidr.rfind(".0/24") + 1), 0), 0u)
        << p.status().pod_ip() << " outside " << cidr;
    EXPECT_EQ(p.status().host_ip(), node.status().addresses(0).address()) << p.metadata().name();
    EXPECT_EQ(p.status().container_statuses(0).restart_count(), 0);
    ips.insert(p.status().pod_ip());
  }
  EXPECT_EQ(ips.size(), 3u);
}

// kube-proxy, the EndpointSlice controller and cluster DNS end to end: the Service's name
// resolves to its ClusterIP through kube-dns, requests to it are answered by the ready
// pods only, and a pod whose readiness probe never passes never answers.
TEST(SimCluster, AServiceRoutesOnlyToReadyPodsAndItsNameResolves) {
  SimCluster c(Small(3));
  ASSERT_TRUE(c.Bootstrap().ok());
  std::string yaml;
  for (int i = 1; i <= 2; ++i) {
    yaml += fmt::format(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: web-{}, labels: {{app: web}}}}\n"
        "spec: {{containers: [{{name: app, image: nginx, ports: [{{containerPort: 80}}]}}]}}\n---\n",
        i);
  }
  yaml += R"(apiVersion: v1
kind: Pod
metadata: {name: web-never-ready, labels: {app: web}}
spec:
  containers:
  - name: app
    image: nginx
    ports: [{containerPort: 80}]
    readinessProbe: {tcpSocket: {port: 81}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
)";
  ASSERT_TRUE(c.Apply(yaml, "web.yaml").ok());
  std::vector<api::Pod> pods;
  ASSERT_TRUE(c.RunUntil(
      [&] {
        return c.ListPods("default", "app=web", &pods).ok() && pods.size() == 3 &&
               std::count_if(pods.begin(), pods.end(), Ready) == 2;
      },
      Seconds(60)));
  std::optional<std::string> ip;
  for (int i = 0; i < 30 && !ip; ++i) {
    ip = c.ResolveName("web.default.svc.cluster.local");
    if (!ip) c.RunFor(Seconds(1));
  }
  ASSERT_TRUE(ip.has_value());
  EXPECT_EQ(ip->rfind("10.", 0), 0u) << *ip;
  EXPECT_EQ(c.ResolveName("nothing-here.default.svc.cluster.local"), std::nullopt);
  // Wait until the proxy on the client host routes, then count who answers.
  bool routed = false;
  for (int i = 0; i < 30 && !routed; ++i) {
    routed = c.CallService(*ip + ":80").has_value();
    if (!routed) c.RunFor(Seconds(1));
  }
  ASSERT_TRUE(routed);
  std::map<std::string, int> answered;
  for (int i = 0; i < 40; ++i) {
    std::optional<std::string> body = c.CallService(*ip + ":80");
    ASSERT_TRUE(body.has_value()) << "request " << i;
    ++answered[*body];
  }
  EXPECT_EQ(answered.count("web-never-ready"), 0u);
  EXPECT_EQ(answered.size(), 2u);  // both ready pods get traffic
  for (const auto& [pod, n] : answered) EXPECT_TRUE(pod == "web-1" || pod == "web-2") << pod;
}

TEST(SimCluster, AKilledApiserverIsTakenOutAndTheApiKeepsAnswering) {
  SimCluster c(Small(3));
  ASSERT_TRUE(c.Bootstrap().ok());
  ASSERT_TRUE(c.CrashProcess("cp-1", "apiserver").ok());
  c.RunFor(Seconds(8));  // three failed checks, two seconds apart
  EXPECT_EQ(c.load_balancer().UpBackends(), (std::vector<Address>{"cp-2:6443", "cp-3:6443"}));
  // Every request through the load balancer still succeeds, and pods still get bound
  // (the scheduler on cp-1 lost its apiserver; another one holds or takes the lease).
  for (int i = 0; i < 10; ++i) {
    std::vector<api::Node> nodes;
    ASSERT_TRUE(c.ListNodes(&nodes).ok()) << i;
    EXPECT_EQ(nodes.size(), 3u);
  }
  ASSERT_TRUE(c.Apply(kPods, "web.yaml").ok());
  EXPECT_TRUE(c.RunUntil([&] { return Bound(c, "app=web") == 3; }, Seconds(90)));
  ASSERT_TRUE(c.RestartProcess("cp-1", "apiserver").ok());
  EXPECT_TRUE(c.RunUntil([&] { return c.load_balancer().UpBackends().size() == 3; }, Seconds(30)));
  EXPECT_EQ(c.fault_log().size(), 2u);
}

TEST(SimCluster, ABadManifestNamesItsDocumentAndStopsThere) {
  SimCluster c(Small());
  ASSERT_TRUE(c.Bootstrap().ok());
  const std::string yaml = std::string(kPods) + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: web-1}\nspec:\n  containers: [{name: a, image: nginx}]\n";
  const Status st = c.Apply(yaml, "dup.yaml");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("dup.yaml:"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("AlreadyExists"), std::string::npos) << st.message();
  const Status bad = c.Apply("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: 3}\n", "bad.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("bad.yaml"), std::string::npos) << bad.message();
  api::Pod p;
  EXPECT_EQ(c.GetPod("default", "x", &p).code(), Status::Code::kNotFound);
}

// 10.244.0.0/16 holds 256 /24s: a larger cluster must not hand out "10.244.256.0/24".
TEST(SimCluster, PodCidrsStayValidAndDistinctBeyond256Workers) {
  SimClusterOptions o = Small();
  o.workers = 300;
  o.kubelets = false;  // only the Nodes' specs are looked at
  SimCluster c(o);
  ASSERT_TRUE(c.Bootstrap().ok());
  std::vector<api::Node> nodes;
  ASSERT_TRUE(c.ListNodes(&nodes).ok());
  ASSERT_EQ(nodes.size(), 300u);
  std::set<std::string> cidrs;
  for (const api::Node& n : nodes) {
    const std::string& cidr = n.spec().pod_cidr();
    int a = -1, b = -1, d = -1, e = -1, bits = -1;
    ASSERT_EQ(std::sscanf(cidr.c_str(), "%d.%d.%d.%d/%d", &a, &b, &d, &e, &bits), 5) << cidr;
    for (int octet : {a, b, d, e}) EXPECT_TRUE(octet >= 0 && octet <= 255) << cidr;
    EXPECT_EQ(bits, 24) << cidr;
    cidrs.insert(cidr);
  }
  EXPECT_EQ(cidrs.size(), 300u);
}

TEST(SimCluster, OptionsOutOfRangeAreNamed) {
  SimClusterOptions o;
  o.control_plane = 0;
  EXPECT_NE(ValidateSimClusterOptions(o).message().find("control_plane"), std::string::npos);
  o = SimClusterOptions{};
  o.workers = 1;
  o.worker_specs.resize(2);
  EXPECT_NE(ValidateSimClusterOptions(o).message().find("worker_specs"), std::string::npos);
}

}  // namespace
}  // namespace ksim::scenarios
