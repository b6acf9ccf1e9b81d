// SimCluster's node side end to end: static pods from the workers' manifest folders run
// while every apiserver is down and show in the API as Running mirror pods afterwards; a
// mirror pod deleted through the API comes back while the static pod keeps running.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <utility>

#include <string>
#include <vector>

#include "cluster/api/registry.h"
#include "cluster/apiserver/apiserver.pb.h"
#include "cluster/client/api_client.h"
#include "cluster/client/pod_exec.h"
#include "cluster/kubelet/kubelet.h"
#include "cluster/kubelet/mirror_pod.h"
#include "scenarios/sim_cluster.h"
#include "sim/host.h"
#include "sim/world.h"

namespace ksim::scenarios {
namespace {

// hostNetwork, as kubeadm's static pods: they need no pod CIDR, so no API.
constexpr char kAgent[] = R"(apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: kube-system}
spec:
  hostNetwork: true
  containers: [{name: agent, image: busybox, readinessProbe: {exec: {command: [cat, /ready]}, periodSeconds: 2}}]
)";

constexpr char kExtra[] = R"(apiVersion: v1
kind: Pod
metadata: {name: extra, namespace: kube-system}
spec:
  hostNetwork: true
  containers: [{name: extra, image: busybox}]
)";

SimClusterOptions WithStaticPods() {
  SimClusterOptions o;
  o.control_plane = 3;
  o.workers = 2;
  o.worker.static_pods["agent.yaml"] = kAgent;
  return o;
}

bool RunningAndReady(const api::Pod& p) {
  if (p.status().phase() != "Running") return false;
  for (const auto& c : p.status().conditions()) {
    if (c.type() == "Ready") return c.status() == "True";
  }
  return false;
}

kubelet::Kubelet* KubeletOn(SimCluster& c, const std::string& worker) {
  return c.world().FindHost(worker)->Find<kubelet::Kubelet>("kubelet");
}

bool WorkerRuns(SimCluster& c, const std::string& worker, const std::string& key) {
  kubelet::Kubelet* k = KubeletOn(c, worker);
  const kubelet::PodWorker* w = k == nullptr ? nullptr : k->worker(key);
  if (w == nullptr || w->View().containers.empty()) return false;
  return w->View().containers[0].state == kubelet::ContainerView::State::kRunning;
}

TEST(SimCluster, StaticPodsRunWithEveryApiserverDownAndShowAsRunningMirrorPods) {
  SimCluster c(WithStaticPods());
  ASSERT_TRUE(c.Bootstrap().ok());
  const std::string w1 = c.worker_hosts()[0];
  ASSERT_TRUE(c.RunUntil([&] { return WorkerRuns(c, w1, "kube-system/agent-" + w1); }, Seconds(30)));
  for (const std::string& cp : c.control_plane_hosts()) ASSERT_TRUE(c.CrashProcess(cp, "apiserver").ok());
  // A new manifest, and a kubelet restart, while no apiserver answers.
  sim::Host* host = c.world().FindHost(w1);
  ASSERT_TRUE(host->disk().WriteFile(std::string(SimCluster::kStaticPodDir) + "/extra.yaml", kExtra).ok());
  ASSERT_TRUE(c.CrashProcess(w1, "kubelet").ok());
  ASSERT_TRUE(c.RestartProcess(w1, "kubelet").ok());
  ASSERT_TRUE(c.RunUntil([&] { return WorkerRuns(c, w1, "kube-system/extra-" + w1); }, Seconds(60)))
      << "a static pod needs no apiserver";
  EXPECT_TRUE(WorkerRuns(c, w1, "kube-system/agent-" + w1));
  EXPECT_EQ(KubeletOn(c, w1)->stats().pods_adopted, 1u) << "the restarted kubelet adopted agent, not started it twice";
  EXPECT_FALSE(KubeletOn(c, w1)->node_status()->registered());

  for (const std::string& cp : c.control_plane_hosts()) ASSERT_TRUE(c.RestartProcess(cp, "apiserver").ok());
  api::Pod agent, extra, other;
  ASSERT_TRUE(c.RunUntil(
      [&] {
        return c.GetPod("kube-system", "agent-" + w1, &agent).ok() && RunningAndReady(agent) &&
               c.GetPod("kube-system", "extra-" + w1, &extra).ok() && RunningAndReady(extra) &&
               c.GetPod("kube-system", "agent-" + c.worker_hosts()[1], &other).ok() && RunningAndReady(other);
      },
      Seconds(120)))
      << agent.DebugString();
  EXPECT_TRUE(kubelet::IsMirrorPod(agent));
  EXPECT_EQ(agent.spec().node_name(), w1);
  EXPECT_EQ(agent.status().container_statuses(0).restart_count(), 0);
  EXPECT_EQ(extra.metadata().annotations().at("kubernetes.io/config.source"), "file");
}

TEST(SimCluster, ADeletedMirrorPodComesBackWhileItsStaticPodKeepsRunning) {
  SimCluster c(WithStaticPods());
  ASSERT_TRUE(c.Bootstrap().ok());
  const std::string w1 = c.worker_hosts()[0];
  api::Pod before;
  ASSERT_TRUE(c.RunUntil([&] { return c.GetPod("kube-system", "agent-" + w1, &before).ok() && RunningAndReady(before); },
                         Seconds(60)));
  const std::string container = before.status().container_statuses(0).container_id();
  ASSERT_FALSE(container.empty());
  ASSERT_TRUE(c.DeletePod("kube-system", "agent-" + w1).ok());
  api::Pod after;
  ASSERT_TRUE(c.RunUntil(
      [&] {
        return c.GetPod("kube-system", "agent-" + w1, &after).ok() &&
               after.metadata().uid() != before.metadata().uid() && RunningAndReady(after);
      },
      Seconds(60)));
  EXPECT_EQ(after.status().container_statuses(0).container_id(), container) << "the same container, never restarted";
  EXPECT_EQ(after.status().container_statuses(0).restart_count(), 0);
  EXPECT_TRUE(WorkerRuns(c, w1, "kube-system/agent-" + w1));

  // A removed manifest stops the static pod and deletes its mirror pod.
  ASSERT_TRUE(c.world().FindHost(w1)->disk().Remove(std::string(SimCluster::kStaticPodDir) + "/agent.yaml").ok());
  ASSERT_TRUE(c.RunUntil([&] { return KubeletOn(c, w1)->worker("kube-system/agent-" + w1) == nullptr; }, Seconds(90)));
  EXPECT_EQ(KubeletOn(c, w1)->stats().static_pods_stopped, 1u);
  ASSERT_TRUE(c.RunUntil([&] { return c.GetPod("kube-system", "agent-" + w1, &after).code() == Status::Code::kNotFound; },
                         Seconds(30)));
}

constexpr char kLogger[] = R"(apiVersion: v1
kind: Pod
metadata: {name: logger, annotations: {sim.ksim.io/app: "logEvery=1s"}}
spec:
  hostname: logger-0
  containers: [{name: app, image: nginx}]
---
apiVersion: v1
kind: Pod
metadata: {name: two}
spec:
  containers: [{name: app, image: nginx}, {name: side, image: busybox}]
---
apiVersion: v1
kind: Pod
metadata: {name: nowhere}
spec:
  nodeSelector: {no-such-label: "x"}
  containers: [{name: app, image: nginx}]
)";

// kubectl logs / exec through the load balancer: the apiserver proxies to the kubelet.
TEST(SimCluster, PodLogsAndExecReachTheContainerThroughTheApiserver) {
  SimClusterOptions o;
  o.control_plane = 3;
  o.workers = 2;
  SimCluster c(o);
  ASSERT_TRUE(c.Bootstrap().ok());
  ASSERT_TRUE(c.Apply(kLogger, "logger.yaml").ok());
  api::Pod logger, two;
  ASSERT_TRUE(c.RunUntil(
      [&] {
        return c.GetPod("default", "logger", &logger).ok() && RunningAndReady(logger) &&
               c.GetPod("default", "two", &two).ok() && RunningAndReady(two);
      },
      Seconds(60)));
  c.RunFor(Seconds(5));  // a few lines logged (one a second)

  std::string text;
  ASSERT_TRUE(c.PodLogs("default", "logger", {}, &text).ok());
  EXPECT_EQ(text.rfind("starting nginx (container app)\n", 0), 0u) << text;
  EXPECT_NE(text.find("app log line 3\n"), std::string::npos) << text;
  client::PodLogOptions tail;
  tail.tail_lines = 1;
  ASSERT_TRUE(c.PodLogs("default", "logger", tail, &text).ok());
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  client::PodLogOptions limit;
  limit.limit_bytes = 8;
  ASSERT_TRUE(c.PodLogs("default", "logger", limit, &text).ok());
  EXPECT_EQ(text, "starting");

  int code = -1;
  std::string out;
  ASSERT_TRUE(c.Exec("default", "logger", {"hostname"}, &code, &out).ok());
  EXPECT_EQ(code, 0);
  EXPECT_EQ(out, "logger-0\n");
  ASSERT_TRUE(c.Exec("default", "logger", {"false"}, &code, &out).ok());
  EXPECT_EQ(code, 1);
  ASSERT_TRUE(c.Exec("default", "two", {"hostname"}, &code, &out, "side").ok());
  EXPECT_EQ(out, "two\n");

  // Errors, as Statuses: no such pod or container 404, two containers and none named 400,
  // not scheduled 400, the kubelet down 503.
  EXPECT_TRUE(c.PodLogs("default", "ghost", {}, &text).Is(Status::Code::kNotFound));
  client::PodLogOptions nope;
  nope.container = "nope";
  EXPECT_TRUE(c.PodLogs("default", "logger", nope, &text).Is(Status::Code::kNotFound));
  const Status ambiguous = c.Exec("default", "two", {"true"}, &code, &out);
  EXPECT_TRUE(ambiguous.Is(Status::Code::kInvalidArgument)) << ambiguous.ToString();
  EXPECT_NE(ambiguous.message().find("choose one of: [app side]"), std::string::npos) << ambiguous.ToString();
  const Status pending = c.PodLogs("default", "nowhere", {}, &text);
  EXPECT_TRUE(pending.Is(Status::Code::kInvalidArgument)) << pending.ToString();
  EXPECT_NE(pending.message().find("does not have a host assigned"), std::string::npos) << pending.ToString();
  // A bad query parameter and a verb the subresource does not serve.
  for (const auto& [verb, query] : std::vector<std::pair<std::string, std::string>>{{"get", "-1"}, {"delete", ""}}) {
    apiserver::Request q;
    q.set_verb(verb);
    q.set_version("v1");
    q.set_resource("pods");
    q.set_namespace_("default");
    q.set_name("logger");
    q.set_subresource("log");
    if (!query.empty()) (*q.mutable_query())["tailLines"] = query;
    std::optional<client::ApiResult> r;
    c.admin().Do(q, [&](const client::ApiResult& res) { r = res; });
    ASSERT_TRUE(c.RunUntil([&] { return r.has_value(); }, Seconds(30)));
    EXPECT_EQ(r->code, verb == "get" ? 400 : 405) << verb << " " << r->Describe();
  }
  ASSERT_TRUE(c.CrashProcess(logger.spec().node_name(), "kubelet").ok());
  const Status down = c.PodLogs("default", "logger", {}, &text);
  EXPECT_TRUE(down.Is(Status::Code::kUnavailable)) << down.ToString();
  EXPECT_NE(down.message().find("503"), std::string::npos) << down.ToString();
  ASSERT_TRUE(c.RestartProcess(logger.spec().node_name(), "kubelet").ok());
  c.RunFor(Seconds(2));
  EXPECT_TRUE(c.PodLogs("default", "logger", {}, &text).ok()) << "the restarted kubelet answers again";

  // RBAC: a node's credentials may not exec in pods nor read their logs (system:node).
  client::ApiClientOptions co;
  co.endpoints = {fmt::format("{}:{}", SimCluster::kLoadBalancerHost, SimCluster::kApiPort)};
  co.token = "node-token-" + c.worker_hosts()[0];
  client::ApiClient node(c.client_env(), co);
  std::optional<client::ApiResult> exec, logs;
  client::ExecInPod(node, "default", "logger", "", {"true"}, 0, [&](const client::ApiResult& r) { exec = r; });
  client::GetPodLogs(node, "default", "logger", {}, [&](const client::ApiResult& r) { logs = r; });
  ASSERT_TRUE(c.RunUntil([&] { return exec.has_value() && logs.has_value(); }, Seconds(30)));
  EXPECT_EQ(exec->code, 403);
  EXPECT_EQ(logs->code, 403);
}

// Reasons of the Events about `pod` in `ns` (source kubelet on `node`), in list order.
std::vector<std::string> KubeletEvents(SimCluster& c, const std::string& ns, const std::string& pod,
                                       const std::string& node) {
  std::optional<client::ApiResult> r;
  c.admin().List(*api::Registry::Default().ByGroupResource("", "events"), ns, {},
                 [&](const client::ApiResult& res) { r = res; });
  std::vector<std::string> out;
  if (!c.RunUntil([&] { return r.has_value(); }, Seconds(30)) || !r->ok()) return out;
  apiserver::ObjectList list;
  if (!list.ParseFromString(r->body)) return out;
  for (const std::string& item : list.items()) {
    api::Event e;
    if (e.ParseFromString(item) && e.involved_object().name() == pod && e.source().component() == "kubelet" &&
        e.source().host() == node) {
      out.push_back(e.reason());
    }
  }
  return out;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(SimCluster, AChangedManifestReplacesItsStaticPodAndTheKubeletRecordsEvents) {
  SimCluster c(WithStaticPods());
  ASSERT_TRUE(c.Bootstrap().ok());
  const std::string w1 = c.worker_hosts()[0];
  api::Pod before;
  ASSERT_TRUE(c.RunUntil([&] { return c.GetPod("kube-system", "agent-" + w1, &before).ok() && RunningAndReady(before); },
                         Seconds(60)));
  std::string changed = kAgent;
  changed.replace(changed.find("image: busybox"), 14, "image: nginx");
  ASSERT_TRUE(c.world().FindHost(w1)->disk().WriteFile(std::string(SimCluster::kStaticPodDir) + "/agent.yaml", changed).ok());
  api::Pod after;
  ASSERT_TRUE(c.RunUntil(
      [&] {
        return c.GetPod("kube-system", "agent-" + w1, &after).ok() &&
               after.metadata().annotations().at("kubernetes.io/config.mirror") !=
                   before.metadata().annotations().at("kubernetes.io/config.mirror") &&
               RunningAndReady(after);
      },
      Seconds(90)));
  EXPECT_EQ(after.spec().containers(0).image(), "nginx");
  EXPECT_NE(after.status().container_statuses(0).container_id(), before.status().container_statuses(0).container_id());
  ASSERT_TRUE(c.RunUntil([&] { return KubeletOn(c, w1)->stats().static_pods_stopped == 1; }, Seconds(30)));
  EXPECT_EQ(KubeletOn(c, w1)->stats().static_pods_started, 2u);

  // The kubelet's Events: pulled, created and started both, killed the old one.
  std::vector<std::string> reasons;
  ASSERT_TRUE(c.RunUntil(
      [&] {
        reasons = KubeletEvents(c, "kube-system", "agent-" + w1, w1);
        return Contains(reasons, "Killing");
      },
      Seconds(60)));
  for (const char* r : {"Pulling", "Pulled", "Created", "Started", "Killing"}) EXPECT_TRUE(Contains(reasons, r)) << r;
}

}  // namespace
}  // namespace ksim::scenarios
