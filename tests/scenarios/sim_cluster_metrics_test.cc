// Resource metrics end to end: the runtime's cpu-load fault, the kubelets' stats,
// metrics.k8s.io PodMetrics / NodeMetrics from the apiserver (selectors, a down kubelet,
// RBAC, verbs), and the HorizontalPodAutoscaler scaling a Deployment on them (Kubernetes'
// php-apache walkthrough: load up -> more replicas; load gone -> fewer, only after the
// 5-minute downscale stabilization window).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cluster/api/apps.pb.h"
#include "cluster/api/autoscaling.pb.h"
#include "cluster/api/codec.h"
#include "cluster/api/metrics.pb.h"
#include "cluster/api/registry.h"
#include "cluster/apiserver/apiserver.pb.h"
#include "cluster/client/api_client.h"
#include "scenarios/sim_cluster.h"

namespace ksim::scenarios {
namespace {

const api::KindInfo& PodMetricsInfo() { return *api::Registry::Default().ByGroupResource("metrics.k8s.io", "pods"); }
const api::KindInfo& NodeMetricsInfo() { return *api::Registry::Default().ByGroupResource("metrics.k8s.io", "nodes"); }

// Runs the world until the call answers.
client::ApiResult Await(SimCluster& c, const std::function<void(client::ApiClient::Done)>& call) {
  std::optional<client::ApiResult> r;
  call([&](const client::ApiResult& got) { r = got; });
  EXPECT_TRUE(c.RunUntil([&] { return r.has_value(); }, Seconds(60))) << "no answer";
  return r.value_or(client::ApiResult{});
}

client::ApiResult ListMetrics(SimCluster& c, const api::KindInfo& info, const std::string& ns,
                              const std::string& selector = "", client::ApiClient* as = nullptr) {
  client::ApiClient& cl = as != nullptr ? *as : c.admin();
  std::map<std::string, std::string> query;
  if (!selector.empty()) query["labelSelector"] = selector;
  return Await(c, [&](client::ApiClient::Done d) { cl.List(info, ns, query, std::move(d)); });
}

// name -> "cpu/memory" of each container, "c1=cpu,c2=cpu" for a pod; "cpu" for a node.
std::map<std::string, std::string> CpuByName(const client::ApiResult& r, bool pods) {
  std::map<std::string, std::string> out;
  apiserver::ObjectList list;
  EXPECT_TRUE(r.ok()) << r.Describe();
  if (!r.ok() || !list.ParseFromString(r.body)) return out;
  for (const std::string& item : list.items()) {
    if (pods) {
      api::PodMetrics m;
      EXPECT_TRUE(m.ParseFromString(item));
      std::string cpu;
      for (const auto& ct : m.containers()) cpu += (cpu.empty() ? "" : ",") + ct.name() + "=" + ct.usage().at("cpu");
      out[m.metadata().name()] = cpu;
    } else {
      api::NodeMetrics m;
      EXPECT_TRUE(m.ParseFromString(item));
      out[m.metadata().name()] = m.usage().at("cpu");
    }
  }
  return out;
}

faults::Fault CpuLoad(const std::string& host, const std::string& pod, int64_t millis) {
  faults::Fault f;
  f.kind = faults::FaultKind::kCpuLoad;
  f.host = host;
  f.pod = pod;
  f.cpu_millis = millis;
  return f;
}

bool AllRunning(SimCluster& c, const std::string& selector, size_t want) {
  std::vector<api::Pod> pods;
  if (!c.ListPods("default", selector, &pods).ok() || pods.size() != want) return false;
  for (const api::Pod& p : pods) {
    if (p.status().phase() != "Running") return false;
  }
  return true;
}

constexpr char kPods[] = R"(apiVersion: v1
kind: Pod
metadata: {name: web-1, labels: {app: web}}
spec: {nodeName: worker-1, containers: [{name: app, image: nginx, resources: {limits: {cpu: 500m}}}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-2, labels: {app: web}}
spec: {nodeName: worker-2, containers: [{name: app, image: nginx}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db, labels: {app: db}}
spec:
  nodeName: worker-1
  containers: [{name: app, image: nginx}, {name: sidecar, image: busybox}]
)";

TEST(SimClusterMetrics, PodAndNodeMetricsComeFromTheKubelets) {
  SimClusterOptions o;
  o.control_plane = 1;
  o.workers = 2;
  o.service_network = false;
  SimCluster c(o);
  ASSERT_TRUE(c.Bootstrap().ok());
  ASSERT_TRUE(c.Apply(kPods).ok());
  ASSERT_TRUE(c.RunUntil([&] { return AllRunning(c, "", 3); }, Seconds(60)));
  c.RunFor(Seconds(2));

  // The fault: a pod's load, capped by its limit; a named container only; bad input.
  faults::Fault f = CpuLoad("worker-1", "default/web-1", 800);
  EXPECT_EQ(f.Describe(), "cpu-load worker-1 default/web-1 millis=800");
  ASSERT_TRUE(c.Inject(f).ok());
  f = CpuLoad("worker-2", "default/web-2", 150);
  f.container = "app";
  EXPECT_EQ(f.Describe(), "cpu-load worker-2 default/web-2/app millis=150");
  ASSERT_TRUE(c.Inject(f).ok());
  EXPECT_EQ(c.Inject(CpuLoad("worker-1", "web-1", 5)).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(c.Inject(CpuLoad("worker-1", "default/web-1", -5)).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(c.Inject(CpuLoad("worker-9", "default/web-1", 5)).code(), Status::Code::kInvalidArgument);
  ASSERT_EQ(c.fault_log().size(), 2u) << "refused faults are not logged";

  // Lists: by namespace and selector, across namespaces; every container reported.
  EXPECT_EQ(CpuByName(ListMetrics(c, PodMetricsInfo(), "default", "app=web"), true),
            (std::map<std::string, std::string>{{"web-1", "app=500m"}, {"web-2", "app=150m"}}));
  EXPECT_EQ(CpuByName(ListMetrics(c, PodMetricsInfo(), "default", "app in (db)"), true),
            (std::map<std::string, std::string>{{"db", "app=1m,sidecar=1m"}}));
  EXPECT_EQ(CpuByName(ListMetrics(c, PodMetricsInfo(), ""), true).size(), 3u);
  EXPECT_TRUE(CpuByName(ListMetrics(c, PodMetricsInfo(), "kube-system"), true).empty());
  // A node's usage is the sum of its containers'.
  EXPECT_EQ(CpuByName(ListMetrics(c, NodeMetricsInfo(), ""), false),
            (std::map<std::string, std::string>{{"worker-1", "502m"}, {"worker-2", "150m"}}));

  // Get: the pod's metrics with its labels, a sample time and the kubelet's window; JSON
  // in metrics-server's shape.
  client::ApiResult got = Await(c, [&](auto d) { c.admin().Get(PodMetricsInfo(), "default", "web-1", d); });
  ASSERT_TRUE(got.ok()) << got.Describe();
  api::PodMetrics pm;
  ASSERT_TRUE(pm.ParseFromString(got.body));
  EXPECT_EQ(pm.metadata().labels().at("app"), "web");
  EXPECT_EQ(pm.window(), "15s");
  EXPECT_GT(pm.timestamp().seconds(), 0);
  EXPECT_EQ(pm.containers(0).usage().at("memory"), "8Mi");
  const std::string json = api::EncodeJson(pm);
  EXPECT_NE(json.find(R"("containers":[{"name":"app","usage":{"cpu":"500m","memory":"8Mi"}}])"), std::string::npos)
      << json;
  got = Await(c, [&](auto d) { c.admin().Get(PodMetricsInfo(), "default", "ghost", d); });
  EXPECT_EQ(got.code, 404);

  // Bad selectors are 400 naming the parameter; other verbs 405.
  got = ListMetrics(c, PodMetricsInfo(), "default", "app in (");
  EXPECT_EQ(got.code, 400);
  EXPECT_NE(got.error.message().find("labelSelector"), std::string::npos) << got.Describe();
  apiserver::Request watch;
  watch.set_verb("watch");
  watch.set_group("metrics.k8s.io");
  watch.set_version("v1beta1");
  watch.set_resource("pods");
  watch.set_namespace_("default");
  got = Await(c, [&](auto d) { c.admin().Do(watch, d); });
  EXPECT_EQ(got.code, 405);
  got = Await(c, [&](auto d) { c.admin().Delete(PodMetricsInfo(), "default", "web-1", d); });
  EXPECT_EQ(got.code, 405);

  // RBAC: a node's credentials may not read metrics (Kubernetes' system:node has no rule).
  client::ApiClientOptions co;
  co.endpoints = {fmt::format("{}:{}", SimCluster::kLoadBalancerHost, SimCluster::kApiPort)};
  co.token = "node-token-worker-1";
  client::ApiClient node(c.client_env(), co);
  EXPECT_EQ(ListMetrics(c, PodMetricsInfo(), "default", "", &node).code, 403);

  // A down kubelet: its pods are missing from the list (which still answers), a get of
  // one is 404; the node's metrics are missing too.
  ASSERT_TRUE(c.CrashProcess("worker-2", "kubelet").ok());
  EXPECT_EQ(CpuByName(ListMetrics(c, PodMetricsInfo(), "default", "app=web"), true),
            (std::map<std::string, std::string>{{"web-1", "app=500m"}}));
  got = Await(c, [&](auto d) { c.admin().Get(PodMetricsInfo(), "default", "web-2", d); });
  EXPECT_EQ(got.code, 404);
  EXPECT_EQ(CpuByName(ListMetrics(c, NodeMetricsInfo(), ""), false).count("worker-2"), 0u);

  // Cleared loads: back to the image's use.
  ASSERT_TRUE(c.RestartProcess("worker-2", "kubelet").ok());
  f = CpuLoad("worker-1", "default/web-1", 0);
  f.kind = faults::FaultKind::kCpuLoadClear;
  EXPECT_EQ(f.Describe(), "cpu-load-clear worker-1 default/web-1");
  ASSERT_TRUE(c.Inject(f).ok());
  c.RunFor(Seconds(2));
  EXPECT_EQ(CpuByName(ListMetrics(c, PodMetricsInfo(), "default", "app=web"), true),
            (std::map<std::string, std::string>{{"web-1", "app=1m"}, {"web-2", "app=150m"}}));
}


// Kubernetes' HPA walkthrough: php-apache with a 200m request, an HPA at 50%.
constexpr char kPhpApache[] = R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: php-apache}
spec:
  replicas: 1
  selector: {matchLabels: {run: php-apache}}
  template:
    metadata: {labels: {run: php-apache}}
    spec:
      containers:
      - {name: php-apache, image: registry.k8s.io/hpa-example, resources: {requests: {cpu: 200m}, limits: {cpu: 500m}}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: php-apache}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: php-apache}
  minReplicas: 1
  maxReplicas: 10
  metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}}]
)";

int32_t DeploymentReplicas(SimCluster& c) {
  const client::ApiResult r = Await(c, [&](auto d) {
    c.admin().Get(*api::Registry::Default().ByGroupResource("apps", "deployments"), "default", "php-apache", d);
  });
  api::Deployment d;
  if (!r.ok() || !d.ParseFromString(r.body)) return -1;
  return d.spec().replicas();
}

api::HorizontalPodAutoscaler Hpa(SimCluster& c) {
  const client::ApiResult r = Await(c, [&](auto d) {
    c.admin().Get(*api::Registry::Default().ByGroupResource("autoscaling", "horizontalpodautoscalers"), "default",
                  "php-apache", d);
  });
  api::HorizontalPodAutoscaler h;
  EXPECT_TRUE(r.ok() && h.ParseFromString(r.body)) << r.Describe();
  return h;
}

// The walkthrough's load generator (a loop of requests to the Service): `total`
// millicores shared evenly by the Deployment's running pods, so more pods mean less
// each. Applied with the cpu-load fault on each pod's node.
void SpreadLoad(SimCluster& c, int64_t total_millis) {
  std::vector<api::Pod> pods;
  ASSERT_TRUE(c.ListPods("default", "run=php-apache", &pods).ok());
  std::vector<const api::Pod*> running;
  for (const api::Pod& p : pods) {
    if (p.status().phase() == "Running" && !p.metadata().has_deletion_timestamp()) running.push_back(&p);
  }
  for (const api::Pod* p : running) {
    ASSERT_TRUE(c.Inject(CpuLoad(p->spec().node_name(), "default/" + p->metadata().name(),
                                 total_millis / static_cast<int64_t>(running.size())))
                    .ok());
  }
}

TEST(SimClusterMetrics, HpaScalesUpUnderLoadAndDownOnlyAfterTheStabilizationWindow) {
  SimClusterOptions o;
  o.control_plane = 1;
  o.workers = 3;
  o.service_network = false;
  SimCluster c(o);
  ASSERT_TRUE(c.Bootstrap().ok());
  ASSERT_TRUE(c.Apply(kPhpApache).ok());
  ASSERT_TRUE(c.RunUntil([&] { return AllRunning(c, "run=php-apache", 1); }, Seconds(60)));

  // Idle (the image's 1m of 200m): the HPA reads real metrics (0%) and keeps one replica.
  c.RunFor(Seconds(60));
  api::HorizontalPodAutoscaler h = Hpa(c);
  ASSERT_EQ(h.status().current_metrics_size(), 1) << h.DebugString();
  EXPECT_EQ(h.status().current_metrics(0).resource().current().average_utilization(), 0);
  EXPECT_EQ(DeploymentReplicas(c), 1);

  // 600m of load: one pod is capped at its 500m limit (250%), the HPA scales up (at most
  // max(2x, 4) per step) until 6 pods share it at 100m = 50% of their request.
  int32_t most = 1;
  int32_t replicas = 1;
  for (int i = 0; i < 80 && replicas != 6; ++i) {
    SpreadLoad(c, 600);
    c.RunFor(Seconds(5));
    replicas = DeploymentReplicas(c);
    most = std::max(most, replicas);
  }
  ASSERT_EQ(replicas, 6) << "scaled up within 400 s";
  for (int i = 0; i < 12; ++i) {
    SpreadLoad(c, 600);
    c.RunFor(Seconds(5));
    most = std::max(most, DeploymentReplicas(c));
  }
  EXPECT_EQ(most, 6) << "never above what the load needs";
  EXPECT_EQ(DeploymentReplicas(c), 6) << "stable at 50%";
  h = Hpa(c);
  EXPECT_EQ(h.status().current_metrics(0).resource().current().average_utilization(), 50);

  // Load gone: every recommendation is now 1, but the highest of the last 300 s (6) holds
  // until the window has passed (the last high one was at most one 15 s period before).
  const Nanos gone = c.now();
  SpreadLoad(c, 0);
  std::optional<Nanos> first_down;
  for (int i = 0; i < 80 && !first_down; ++i) {
    c.RunFor(Seconds(5));
    if (DeploymentReplicas(c) < 6) first_down = c.now() - gone;
  }
  ASSERT_TRUE(first_down.has_value()) << "scaled down within 400 s";
  EXPECT_GE(*first_down, Seconds(285));
  EXPECT_LE(*first_down, Seconds(330));
  EXPECT_EQ(DeploymentReplicas(c), 1) << "straight to minReplicas (no scale-down policy without behavior)";
}

}  // namespace
}  // namespace ksim::scenarios
