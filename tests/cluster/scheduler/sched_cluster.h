// Test fixture: a simulated cluster (3-member store, apiservers) with scheduler replicas
// on hosts sched1.., and helpers to create nodes and pods and read back where pods went.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cluster/scheduler/scheduler.h"
#include "tests/cluster/apiserver/api_cluster.h"

namespace ksim::scheduler::testing {

using apiserver::testing::ApiCluster;

class SchedCluster {
 public:
  // The apiservers create the system namespaces (default, kube-system...) as Kubernetes'.
  explicit SchedCluster(uint64_t seed = 1, int apiservers = 1)
      : api(apiservers, seed, [](apiserver::ApiServerOptions& o) { o.system_namespaces = true; }) {
    kubectl = api.AddClient("kubectl");
  }

  // Starts a scheduler replica on host "sched<i>".
  Scheduler* AddScheduler(int i, std::function<void(SchedulerOptions&)> tweak = nullptr) {
    SchedulerOptions o;
    o.apiservers = api.endpoints;
    o.token = apiserver::testing::kAdminToken;
    if (tweak) tweak(o);
    const std::string host = "sched" + std::to_string(i);
    api.store.world.AddHost(host).AddProcess("scheduler", [o](Env& env) { return std::make_unique<Scheduler>(env, o); });
    hosts_[i] = host;
    api.store.world.RunFor(Milliseconds(1));
    return Get(i);
  }
  // The running replica i, or null while it is crashed.
  Scheduler* Get(int i) {
    sim::Host* host = api.store.world.FindHost(hosts_[i]);
    return host == nullptr ? nullptr : host->Find<Scheduler>("scheduler");
  }
  sim::Host& Host(int i) { return *api.store.world.FindHost(hosts_[i]); }

  client::ApiResult Create(const google::protobuf::Message& object) {
    const api::KindInfo* kind = api::KindOf(object);
    return api.Await([&](client::ApiClient::Done d) { kubectl->Create(*kind, object, std::move(d)); });
  }

  // Creates a Node from YAML (allocatable and labels as given).
  void CreateNodeYaml(const std::string& yaml) {
    api::Node n;
    Status s = api::DecodeInto(yaml, "node.yaml", &n);
    ASSERT_TRUE(s.ok()) << s.ToString();
    auto r = Create(n);
    ASSERT_TRUE(r.ok()) << r.Describe();
  }
  void CreateNode(const std::string& name, const std::string& cpu, std::map<std::string, std::string> labels = {}) {
    api::Node n;
    n.mutable_metadata()->set_name(name);
    labels["kubernetes.io/hostname"] = name;
    for (auto& [k, v] : labels) (*n.mutable_metadata()->mutable_labels())[k] = v;
    auto& a = *n.mutable_status()->mutable_allocatable();
    a["cpu"] = cpu;
    a["memory"] = "16Gi";
    a["pods"] = "110";
    auto r = Create(n);
    ASSERT_TRUE(r.ok()) << r.Describe();
  }
  void CreatePodYaml(const std::string& yaml) {
    api::Pod p;
    Status s = api::DecodeInto(yaml, "pod.yaml", &p);
    ASSERT_TRUE(s.ok()) << s.ToString();
    if (p.metadata().namespace_().empty()) p.mutable_metadata()->set_namespace_("default");
    auto r = Create(p);
    ASSERT_TRUE(r.ok()) << r.Describe();
  }
  void CreatePod(const std::string& name, const std::string& cpu, std::map<std::string, std::string> labels = {},
                 int priority = 0) {
    api::Pod p = apiserver::testing::MakePod("default", name, std::move(labels));
    (*p.mutable_spec()->mutable_containers(0)->mutable_resources()->mutable_requests())["cpu"] = cpu;
    if (priority != 0) p.mutable_spec()->set_priority(priority);
    p.mutable_spec()->set_termination_grace_period_seconds(0);
    auto r = Create(p);
    ASSERT_TRUE(r.ok()) << r.Describe();
  }

  // Every pod in "default": name -> the pod.
  std::map<std::string, api::Pod> Pods() {
    std::map<std::string, api::Pod> out;
    auto r = api.Await([&](client::ApiClient::Done d) { kubectl->List(Kind("", "pods"), "default", {}, std::move(d)); });
    apiserver::ObjectList l;
    if (!r.ok() || !l.ParseFromString(r.body)) return out;
    for (const auto& item : l.items()) {
      api::Pod p;
      if (p.ParseFromString(item)) out[p.metadata().name()] = p;
    }
    return out;
  }
  // Pod name -> node name ("" when pending), for pods not being deleted.
  std::map<std::string, std::string> Placements() {
    std::map<std::string, std::string> out;
    for (const auto& [name, p] : Pods()) {
      if (!p.metadata().has_deletion_timestamp()) out[name] = p.spec().node_name();
    }
    return out;
  }
  std::vector<api::Event> Events() {
    std::vector<api::Event> out;
    auto r =
        api.Await([&](client::ApiClient::Done d) { kubectl->List(Kind("", "events"), "default", {}, std::move(d)); });
    apiserver::ObjectList l;
    if (!r.ok() || !l.ParseFromString(r.body)) return out;
    for (const auto& item : l.items()) {
      api::Event e;
      if (e.ParseFromString(item)) out.push_back(e);
    }
    return out;
  }
  // Runs until every listed pod is bound, or `within` passes; true if all are bound.
  bool WaitBound(const std::vector<std::string>& names, Nanos within = Seconds(30)) {
    const Nanos deadline = api.store.world.now() + within;
    while (api.store.world.now() < deadline) {
      api.store.world.RunFor(Milliseconds(200));
      auto placed = Placements();
      bool all = true;
      for (const auto& n : names) all = all && placed.count(n) != 0 && !placed[n].empty();
      if (all) return true;
    }
    return false;
  }
  void Run(Nanos d) { api.store.world.RunFor(d); }

  static const api::KindInfo& Kind(const std::string& group, const std::string& resource) {
    return apiserver::testing::Kind(group, resource);
  }

  ApiCluster api;
  client::ApiClient* kubectl = nullptr;

 private:
  std::map<int, std::string> hosts_;
};

}  // namespace ksim::scheduler::testing
