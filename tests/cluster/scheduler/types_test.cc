// PodInfo / NodeData parsing: effective requests (Kubernetes' resource helpers), node
// selector terms, tolerations, affinity terms with matchLabelKeys, image names.
#include <gtest/gtest.h>

#include "tests/cluster/scheduler/scheduler_testing.h"

namespace ksim::scheduler::testing {
namespace {

TEST(PodInfo, RequestsSumContainersAndTakeTheLargestInitContainer) {
  auto pod = PodInfoFromYaml(R"(
metadata: {name: p}
spec:
  initContainers:
  - {name: init, image: busybox, resources: {requests: {cpu: "2", memory: 1Gi}}}
  containers:
  - {name: a, image: nginx, resources: {requests: {cpu: 500m, memory: 256Mi}}}
  - {name: b, image: "redis:7", resources: {requests: {cpu: 250m, example.com/gpu: "1"}}}
)");
  EXPECT_EQ(pod->requests.milli_cpu, 2000);  // the init container's 2 cpu beats 750m
  EXPECT_EQ(pod->requests.memory_bytes, 1024LL * 1024 * 1024);
  EXPECT_EQ(pod->requests.Get("example.com/gpu"), 1);
  // Non-zero: b has no memory request, so it counts Kubernetes' 200Mi default.
  EXPECT_EQ(pod->non_zero_requests.memory_bytes, std::max<int64_t>(1024LL << 20, (256LL << 20) + (200LL << 20)));
  EXPECT_EQ(pod->images, (std::vector<std::string>{"nginx:latest", "redis:7"}));
}

TEST(PodInfo, SidecarsRunBesideAppContainersAndLaterInitContainers) {
  // KEP-753: a restartable init container adds to the app containers' sum and to every
  // init container that starts after it.
  auto pod = PodInfoFromYaml(R"(
metadata: {name: p}
spec:
  initContainers:
  - {name: sidecar, image: envoy, restartPolicy: Always, resources: {requests: {cpu: 300m}}}
  - {name: migrate, image: busybox, resources: {requests: {cpu: "1"}}}
  containers:
  - {name: a, image: nginx, resources: {requests: {cpu: 500m}}}
)");
  // max(500m + 300m, 1000m + 300m) = 1300m
  EXPECT_EQ(pod->requests.milli_cpu, 1300);
}

TEST(PodInfo, OverheadIsAdded) {
  auto pod = PodInfoFromYaml(R"(
metadata: {name: p}
spec:
  overhead: {cpu: 100m}
  containers:
  - {name: a, image: nginx, resources: {requests: {cpu: 500m}}}
)");
  EXPECT_EQ(pod->requests.milli_cpu, 600);
}

// Pod-level spec.resources.requests replace the containers' aggregate for every resource they
// name (hugepages and extended resources too); the others keep the aggregate, and overhead
// comes on top (Kubernetes' PodRequests).
TEST(PodInfo, PodLevelRequestsReplaceEveryResourceTheyName) {
  auto pod = PodInfoFromYaml(R"(
metadata: {name: p}
spec:
  overhead: {cpu: 100m, memory: 10Mi}
  resources:
    requests: {cpu: "2", hugepages-2Mi: 64Mi, example.com/gpu: "3", ephemeral-storage: 5Gi}
  initContainers:
  - {name: sidecar, image: envoy, restartPolicy: Always, resources: {requests: {hugepages-2Mi: 8Mi}}}
  containers:
  - {name: a, image: nginx, resources: {requests: {cpu: 500m, memory: 256Mi, example.com/gpu: "1",
                                                  example.com/fpga: "2", hugepages-2Mi: 2Mi}}}
)");
  EXPECT_EQ(pod->requests.milli_cpu, 2000 + 100);                // pod level, then overhead
  EXPECT_EQ(pod->requests.memory_bytes, (256LL + 10) << 20);    // not named: the containers' sum
  EXPECT_EQ(pod->requests.Get("hugepages-2Mi"), 64LL << 20);     // not 2Mi + 8Mi
  EXPECT_EQ(pod->requests.Get("example.com/gpu"), 3);
  EXPECT_EQ(pod->requests.Get("example.com/fpga"), 2);           // not named: kept
  EXPECT_EQ(pod->requests.ephemeral_storage_bytes, 5LL << 30);
  EXPECT_EQ(pod->non_zero_requests.milli_cpu, 2000 + 100);
}

TEST(PodInfo, PodLevelRequestsOfZeroReplaceToo) {
  auto pod = PodInfoFromYaml(R"(
metadata: {name: p}
spec:
  resources: {requests: {example.com/gpu: "0", memory: "0"}}
  containers:
  - {name: a, image: nginx, resources: {requests: {cpu: 500m, example.com/gpu: "1"}}}
)");
  EXPECT_EQ(pod->requests.Get("example.com/gpu"), 0);
  EXPECT_TRUE(pod->requests.scalars.empty());
  EXPECT_EQ(pod->requests.memory_bytes, 0);
  EXPECT_EQ(pod->non_zero_requests.memory_bytes, 0);  // named at pod level: no 200Mi default
  EXPECT_EQ(pod->non_zero_requests.milli_cpu, 500);
}

TEST(PodInfo, SidecarHostPortsCountPlainInitContainersDoNot) {
  auto pod = PodInfoFromYaml(R"(
metadata: {name: p}
spec:
  initContainers:
  - {name: init, image: busybox, ports: [{containerPort: 9000, hostPort: 9000}]}
  - {name: proxy, image: envoy, restartPolicy: Always, ports: [{containerPort: 15001, hostPort: 15001, protocol: UDP}]}
  containers:
  - {name: a, image: nginx, ports: [{containerPort: 80, hostPort: 8080}, {containerPort: 81}]}
)");
  EXPECT_EQ(pod->host_ports, (std::vector<HostPort>{{"", "TCP", 8080}, {"", "UDP", 15001}}));
}

TEST(PodInfo, AffinityTermsResolveNamespacesAndMatchLabelKeys) {
  auto pod = PodInfoFromYaml(R"(
metadata: {name: p, namespace: shop, labels: {app: web, version: v2}}
spec:
  containers: [{name: a, image: nginx}]
  affinity:
    podAntiAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
      - labelSelector: {matchLabels: {app: web}}
        topologyKey: kubernetes.io/hostname
        matchLabelKeys: [version]
      - labelSelector: {matchLabels: {app: db}}
        namespaceSelector: {}
        topologyKey: zone
)");
  ASSERT_EQ(pod->required_anti_affinity.size(), 2u);
  const auto& own = pod->required_anti_affinity[0];
  EXPECT_EQ(own.namespaces, std::vector<std::string>{"shop"});
  EXPECT_TRUE(own.Matches("shop", nullptr, {{"app", "web"}, {"version", "v2"}}));
  EXPECT_FALSE(own.Matches("shop", nullptr, {{"app", "web"}, {"version", "v1"}}));  // matchLabelKeys
  EXPECT_FALSE(own.Matches("other", nullptr, {{"app", "web"}, {"version", "v2"}}));
  const auto& any_ns = pod->required_anti_affinity[1];
  EXPECT_TRUE(any_ns.Matches("other", nullptr, {{"app", "db"}}));  // empty namespaceSelector: all
  EXPECT_TRUE(pod->HasAffinity());
}

TEST(PodInfo, NullLabelSelectorInAffinityMatchesNothing) {
  auto pod = PodInfoFromYaml(R"(
metadata: {name: p}
spec:
  containers: [{name: a, image: nginx}]
  affinity:
    podAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
      - topologyKey: zone
)");
  ASSERT_EQ(pod->required_affinity.size(), 1u);
  EXPECT_FALSE(pod->required_affinity[0].Matches("default", nullptr, {}));
}

TEST(PodInfo, BadSelectorOperatorNamesTheField) {
  auto pod = PodFromYaml(R"(
metadata: {name: p}
spec:
  containers: [{name: a, image: nginx}]
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions: [{key: zone, operator: Near, values: [a]}]
)");
  std::shared_ptr<PodInfo> info;
  Status s = PodInfo::Build(pod, &info);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
                             "nodeSelectorTerms[0].matchExpressions[0].operator"),
            std::string::npos)
      << s.message();
}

TEST(NodeSelectorTerm, OperatorsFollowKubernetes) {
  auto pod = PodInfoFromYaml(R"(
metadata: {name: p}
spec:
  containers: [{name: a, image: nginx}]
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions:
          - {key: zone, operator: In, values: [a, b]}
          - {key: gpu, operator: DoesNotExist}
          - {key: cores, operator: Gt, values: ["8"]}
        - matchFields: [{key: metadata.name, operator: In, values: [special]}]
)");
  ASSERT_TRUE(pod->required_node_affinity.has_value());
  const NodeSelector& sel = *pod->required_node_affinity;
  EXPECT_TRUE(sel.Matches({{"zone", "a"}, {"cores", "16"}}, "n1"));
  EXPECT_FALSE(sel.Matches({{"zone", "c"}, {"cores", "16"}}, "n1"));
  EXPECT_FALSE(sel.Matches({{"zone", "a"}, {"cores", "16"}, {"gpu", "x"}}, "n1"));
  EXPECT_FALSE(sel.Matches({{"zone", "a"}, {"cores", "8"}}, "n1"));     // Gt is strict
  EXPECT_FALSE(sel.Matches({{"zone", "a"}, {"cores", "many"}}, "n1"));  // not an integer
  EXPECT_TRUE(sel.Matches({}, "special"));                               // second term, by name
}

TEST(Toleration, MatchesAsKubernetesDoes) {
  Taint t{"dedicated", "infra", TaintEffect::kNoSchedule};
  EXPECT_TRUE((Toleration{"dedicated", false, "infra", TaintEffect::kNoSchedule, {}}).Tolerates(t));
  EXPECT_FALSE((Toleration{"dedicated", false, "db", TaintEffect::kNoSchedule, {}}).Tolerates(t));
  EXPECT_TRUE((Toleration{"dedicated", true, "", std::nullopt, {}}).Tolerates(t));   // Exists, any effect
  EXPECT_TRUE((Toleration{"", true, "", std::nullopt, {}}).Tolerates(t));            // tolerates everything
  EXPECT_FALSE((Toleration{"dedicated", true, "", TaintEffect::kNoExecute, {}}).Tolerates(t));
  EXPECT_EQ(TaintString(t), "{dedicated: infra}");
}

TEST(NodeInfo, AddAndRemovePodKeepTotals) {
  NodeInfo node(SimpleNode("n1"));
  auto a = SimplePod("a", "500m", "1Gi", "n1");
  auto b = SimplePod("b", "", "", "n1");
  node.AddPod(a);
  node.AddPod(b);
  EXPECT_EQ(node.requested().milli_cpu, 500);
  EXPECT_EQ(node.non_zero_requested().milli_cpu, 500 + kDefaultMilliCpuRequest);
  EXPECT_TRUE(node.RemovePod(a->uid));
  EXPECT_FALSE(node.RemovePod(a->uid));
  EXPECT_EQ(node.requested().milli_cpu, 0);
  EXPECT_EQ(node.pods().size(), 1u);
}

TEST(NodeInfo, HostPortsConflictOnWildcardAddresses) {
  NodeInfo node(SimpleNode("n1"));
  node.AddPod(PodInfoFromYaml(R"(
metadata: {name: web}
spec:
  nodeName: n1
  containers: [{name: a, image: nginx, ports: [{containerPort: 80, hostPort: 8080}]}]
)"));
  EXPECT_TRUE(node.PortInUse({"10.0.0.1", "TCP", 8080}));
  EXPECT_FALSE(node.PortInUse({"", "UDP", 8080}));
  EXPECT_FALSE(node.PortInUse({"", "TCP", 8081}));
}

TEST(NodeInfo, SidecarHostPortsOfPodsOnTheNodeAreInUse) {
  NodeInfo node(SimpleNode("n1"));
  node.AddPod(PodInfoFromYaml(R"(
metadata: {name: mesh}
spec:
  nodeName: n1
  initContainers: [{name: proxy, image: envoy, restartPolicy: Always, ports: [{containerPort: 15001, hostPort: 15001}]}]
  containers: [{name: a, image: nginx}]
)"));
  EXPECT_TRUE(node.PortInUse({"", "TCP", 15001}));
  EXPECT_TRUE(node.RemovePod("mesh"));
  EXPECT_FALSE(node.PortInUse({"", "TCP", 15001}));
}

TEST(ImageNames, TagAddedOnlyWhenMissing) {
  EXPECT_EQ(NormalizeImageName("nginx"), "nginx:latest");
  EXPECT_EQ(NormalizeImageName("nginx:1.25"), "nginx:1.25");
  EXPECT_EQ(NormalizeImageName("localhost:5000/app"), "localhost:5000/app:latest");
  EXPECT_EQ(NormalizeImageName("app@sha256:abc"), "app@sha256:abc");
}

}  // namespace
}  // namespace ksim::scheduler::testing
