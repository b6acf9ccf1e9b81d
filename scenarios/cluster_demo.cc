#include "scenarios/cluster_demo.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>

#include "cluster/api/codec.h"
#include "cluster/client/api_client.h"
#include "scenarios/sim_cluster.h"
#include "sim/load_balancer.h"
#include "sim/world.h"

namespace ksim::scenarios {

namespace {

constexpr char kNamespace[] = "shop";

// What a user would apply: a namespace, bare pods with labels (controllers come later),
// and a Service in front of the web pods.
constexpr char kWebPod[] = R"(---
apiVersion: v1
kind: Pod
metadata: {{name: web-{}, namespace: shop, labels: {{app: web, tier: frontend}}}}
spec:
  containers:
  - {{name: web, image: nginx, ports: [{{containerPort: 80}}], resources: {{requests: {{cpu: 250m, memory: 128Mi}}}}}}
)";
constexpr char kOthers[] = R"(---
apiVersion: v1
kind: Pod
metadata: {name: cache-1, namespace: shop, labels: {app: cache, tier: backend}}
spec:
  containers:
  - {name: redis, image: redis, ports: [{containerPort: 6379}], resources: {requests: {cpu: 500m, memory: 512Mi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: batch-1, namespace: shop, labels: {app: batch}}
spec:
  restartPolicy: OnFailure
  containers:
  - {name: job, image: busybox, resources: {requests: {cpu: 100m, memory: 64Mi}}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 80}]
)";

std::string Manifests() {
  std::string yaml = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n";
  for (int i = 1; i <= 4; ++i) yaml += fmt::format(kWebPod, i);
  return yaml + kOthers;
}

constexpr int kServiceRequests = 12;

// Lists pods through the load balancer once a second, timing each answer: the API's
// availability as a user sees it while faults happen.
struct Prober {
  SimCluster* cluster = nullptr;
  bool stopped = false;
  uint64_t calls = 0;
  uint64_t failures = 0;
  Nanos worst{0};
  void Tick() {
    if (stopped) return;
    const Nanos start = cluster->now();
    ++calls;
    cluster->admin().List(*api::Registry::Default().ByGroupResource("", "pods"), kNamespace, {{"limit", "1"}},
                          [this, start](const client::ApiResult& r) {
                            if (!r.ok()) ++failures;
                            worst = std::max(worst, cluster->now() - start);
                          });
    cluster->world().After(Seconds(1), [this] { Tick(); });
  }
};

void Check(ClusterDemoResult& r, std::string name, bool held, std::string detail = "") {
  r.checks.push_back(ClusterDemoCheck{std::move(name), held, std::move(detail)});
}

bool RunningAndReady(const api::Pod& p) {
  if (p.status().phase() != "Running") return false;
  for (const auto& c : p.status().conditions()) {
    if (c.type() == "Ready") return c.status() == "True";
  }
  return false;
}

int Restarts(const api::Pod& p) {
  int n = 0;
  for (const auto& cs : p.status().container_statuses()) n += cs.restart_count();
  return n;
}

}  // namespace

bool ClusterDemoResult::ok() const {
  if (!setup_error.empty()) return false;
  return std::all_of(checks.begin(), checks.end(), [](const ClusterDemoCheck& c) { return c.held; });
}

ClusterDemoResult RunClusterDemo(const ClusterDemoOptions& options) {
  ClusterDemoResult result;
  result.seed = options.seed;
  result.control_plane = options.control_plane;
  result.workers = options.workers;
  result.duration = options.duration;
  SimClusterOptions co;
  co.seed = options.seed;
  co.control_plane = options.control_plane;
  co.workers = options.workers;
  co.zones = {"zone-a", "zone-b", "zone-c"};
  co.echo_log = options.echo_log;
  co.link.latency_min = Microseconds(200);
  co.link.latency_jitter = Microseconds(300);
  SimCluster c(co);
  auto finish = [&] {
    result.faults = c.fault_log();
    result.events = c.world().events_run();
    result.trace_hash = c.trace_hash();
    return result;
  };
  if (Status st = c.Bootstrap(); !st.ok()) {
    result.setup_error = st.message();
    return finish();
  }
  const Nanos end = c.now() + options.duration;
  if (Status st = c.Apply(Manifests(), "shop.yaml"); !st.ok()) {
    result.setup_error = st.message();
    return finish();
  }
  std::vector<api::Pod> pods;
  auto bound = [&] {
    if (!c.ListPods(kNamespace, "", &pods).ok()) return false;
    return std::all_of(pods.begin(), pods.end(), [](const api::Pod& p) { return !p.spec().node_name().empty(); });
  };
  const bool all_bound = c.RunUntil(bound, Seconds(60));
  std::map<std::string, std::string> placed;  // pod -> node, before the faults
  for (const api::Pod& p : pods) placed[p.metadata().name()] = p.spec().node_name();
  Check(result, "every applied pod was bound to a worker", all_bound && placed.size() == 6,
        fmt::format("{} pods", placed.size()));
  if (c.runs_kubelets()) {
    const bool started = c.RunUntil(
        [&] {
          return c.ListPods(kNamespace, "", &pods).ok() && std::all_of(pods.begin(), pods.end(), RunningAndReady);
        },
        Seconds(60));
    Check(result, "every pod became Running and Ready before the faults", started);
  }

  Prober prober;
  prober.cluster = &c;
  prober.Tick();
  Random pick = c.world().ChildRandom("demo/faults");
  const std::string crashed_cp = c.control_plane_hosts().front();
  std::string failed_node = placed["web-1"];
  {
    std::vector<std::string> hosting;  // workers holding a web pod: a node failure users notice
    for (const auto& [pod, node] : placed) {
      if (pod.rfind("web-", 0) == 0 && std::find(hosting.begin(), hosting.end(), node) == hosting.end()) {
        hosting.push_back(node);
      }
    }
    if (!hosting.empty()) failed_node = hosting[pick.Uniform(hosting.size())];
  }
  std::string partitioned_cp = c.control_plane_hosts().back();
  std::string partitioned_worker;
  for (const std::string& w : c.worker_hosts()) {
    if (w != failed_node && (partitioned_worker.empty() || pick.Uniform(2) == 0)) partitioned_worker = w;
  }
  if (options.faults) {
    c.RunFor(Seconds(10));
    (void)c.CrashProcess(crashed_cp, "apiserver");
    c.RunFor(Seconds(20));
    (void)c.PowerOff(failed_node);
    c.RunFor(Seconds(30));
    if (partitioned_cp != crashed_cp) {
      std::vector<std::string> rest;
      for (const auto& h : c.world().hosts()) {
        if (h->name() != partitioned_cp && h->name() != partitioned_worker) rest.push_back(h->name());
      }
      (void)c.Partition({{partitioned_cp, partitioned_worker}, rest});
    } else {
      (void)c.Isolate(partitioned_worker);
    }
    c.RunFor(Seconds(30));
    (void)c.RestartProcess(crashed_cp, "apiserver");
    c.RunFor(Seconds(30));
    (void)c.Heal();
    (void)c.PowerOn(failed_node);
  }
  c.world().RunUntil(std::max(end - Seconds(30), c.now()));
  const sim::LoadBalancer& lb = c.load_balancer();
  auto backend = [&lb](const std::string& host) -> const sim::BackendState& {
    for (const sim::BackendState& b : lb.backends()) {
      if (b.address.rfind(host + ":", 0) == 0) return b;
    }
    return lb.backends().front();
  };
  if (options.faults) {
    Check(result, fmt::format("the load balancer took out the crashed apiserver ({}) and put it back", crashed_cp),
          backend(crashed_cp).went_down >= 1 && backend(crashed_cp).went_up >= 1,
          fmt::format("down {}x, up {}x", backend(crashed_cp).went_down, backend(crashed_cp).went_up));
    if (partitioned_cp != crashed_cp) {
      Check(result, fmt::format("the load balancer took out the partitioned apiserver ({})", partitioned_cp),
            backend(partitioned_cp).went_down >= 1, fmt::format("down {}x", backend(partitioned_cp).went_down));
    }
  }
  // Service requests: the proxy and the simulated runtime's listeners are what answer.
  if (c.options().service_network) {
    std::optional<std::string> ip;
    for (int i = 0; i < 10 && !ip; ++i) {
      ip = c.ResolveName("web.shop.svc.cluster.local");
      if (!ip) c.RunFor(Seconds(1));
    }
    Check(result, "web.shop.svc.cluster.local resolves through kube-dns", ip.has_value(), ip.value_or("no answer"));
    for (int i = 0; ip && i < kServiceRequests; ++i) result.answers.push_back(c.CallService(*ip + ":80").value_or(""));
    const bool all_web = !result.answers.empty() && std::all_of(result.answers.begin(), result.answers.end(),
                                                               [](const std::string& a) { return a.rfind("web-", 0) == 0; });
    Check(result, "every request to the Service was answered by a web pod", all_web,
          fmt::format("{} requests", result.answers.size()));
    if (!ip) result.service_note = "no request went through the Service: its name did not resolve";
  } else {
    result.service_note = "no request went through the Service: the cluster runs no service network";
  }

  c.world().RunUntil(end);
  prober.stopped = true;
  result.api_probes = prober.calls;
  result.api_probe_failures = prober.failures;
  result.api_probe_worst = prober.worst;
  Check(result, "the API answered through the load balancer during every fault", prober.failures == 0,
        fmt::format("{} calls, {} failed, slowest {:.3f}s", prober.calls, prober.failures,
                    static_cast<double>(prober.worst.count()) / 1e9));
  Check(result, "every apiserver is back behind the load balancer after the heal",
        lb.UpBackends().size() == static_cast<size_t>(options.control_plane),
        fmt::format("{} of {} up", lb.UpBackends().size(), options.control_plane));
  std::vector<api::Node> nodes;
  const bool listed_nodes = c.ListNodes(&nodes).ok();
  Check(result, "every worker is still a registered Node", listed_nodes && nodes.size() == c.worker_hosts().size(),
        fmt::format("{} Nodes", nodes.size()));
  const bool listed = c.ListPods(kNamespace, "", &pods).ok();
  int moved = 0;
  for (const api::Pod& p : pods) {
    auto it = placed.find(p.metadata().name());
    if (it == placed.end() || it->second != p.spec().node_name()) ++moved;
    result.pods.push_back(ClusterDemoPod{p.metadata().name(), p.spec().node_name(),
                                         p.status().phase().empty() ? "Pending" : p.status().phase(), Restarts(p),
                                         p.status().pod_ip()});
  }
  if (c.runs_kubelets()) {
    const auto ready = std::count_if(pods.begin(), pods.end(), RunningAndReady);
    Check(result, "every pod is Running and Ready after the heal", listed && ready == static_cast<long>(pods.size()),
          fmt::format("{} of {}", ready, pods.size()));
  }
  Check(result, "no pod was lost or moved to another node (bare pods are never rescheduled)",
        listed && moved == 0 && pods.size() == placed.size(), fmt::format("{} pods, {} moved", pods.size(), moved));
  return finish();
}

std::string FormatClusterDemo(const ClusterDemoResult& r) {
  std::string out;
  auto line = [&out](const std::string& s) { out += s + "\n"; };
  line(fmt::format("ksim demo: seed={} control-plane={} workers={} duration={:.1f}s", r.seed, r.control_plane,
                   r.workers, static_cast<double>(r.duration.count()) / 1e9));
  if (!r.setup_error.empty()) line("setup FAILED: " + r.setup_error);
  line(fmt::format("faults: {} applied", r.faults.size()));
  for (const std::string& f : r.faults) line("  " + f);
  line("pods:");
  line(fmt::format("  {:<10} {:<10} {:<9} {:>8}  {}", "NAME", "NODE", "PHASE", "RESTARTS", "IP"));
  for (const ClusterDemoPod& p : r.pods) {
    line(fmt::format("  {:<10} {:<10} {:<9} {:>8}  {}", p.name, p.node.empty() ? "<none>" : p.node, p.phase,
                     p.restarts, p.pod_ip.empty() ? "<none>" : p.pod_ip));
  }
  if (r.answers.empty()) {
    line("service shop/web: " + r.service_note);
  } else {
    std::map<std::string, int> by_pod;
    for (const std::string& a : r.answers) ++by_pod[a.empty() ? "<no answer>" : a];
    std::string counts;
    for (const auto& [pod, n] : by_pod) counts += fmt::format(" {}={}", pod, n);
    line(fmt::format("service shop/web: {} requests answered by:{}", r.answers.size(), counts));
  }
  line(fmt::format("api through the load balancer: {} calls, {} failed, slowest {:.3f}s", r.api_probes,
                   r.api_probe_failures, static_cast<double>(r.api_probe_worst.count()) / 1e9));
  for (const ClusterDemoCheck& c : r.checks) {
    line(fmt::format("check {}: {}{}", c.name, c.held ? "ok" : "FAILED", c.detail.empty() ? "" : " (" + c.detail + ")"));
  }
  line(fmt::format("events={}", r.events));
  line(fmt::format("trace_hash={:016x}", r.trace_hash));
  return out;
}

}  // namespace ksim::scenarios
