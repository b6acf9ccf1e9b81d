// Test fixture: a simulated control plane (3-member store, apiservers) with
// controller-manager replicas on hosts cm1.. and fake kubelets on hosts named after their
// nodes. A fake kubelet registers its Node (Ready, with zone/region labels), renews its
// Lease in kube-node-lease every 10 s and re-posts its Ready condition every 10 s; crashing
// its process (or isolating its host) stops both, as a dead or partitioned node does.
// Every write a controller-manager sends is checked when it is sent: its sender must be
// acting and no other replica may be acting at that instant.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cluster/api/coordination.pb.h"
#include "cluster/controllers/controller_manager.h"
#include "tests/cluster/apiserver/api_cluster.h"
#include "tests/cluster/controllers/pod_runner.h"

namespace ksim::controllers::testing {

using apiserver::testing::ApiCluster;
using apiserver::testing::Kind;

inline google::protobuf::Timestamp WallTs(const Env& env) {
  google::protobuf::Timestamp t;
  t.set_seconds(env.clock->WallNow().count() / 1'000'000'000);
  return t;
}

// The kubelet's part that the node controllers see: registration, lease, Ready heartbeats.
class FakeKubelet {
 public:
  FakeKubelet(Env& env, client::ApiClientOptions co, std::string node, std::map<std::string, std::string> labels)
      : env_(env), client_(env, std::move(co)), node_(std::move(node)), labels_(std::move(labels)) {}
  ~FakeKubelet() { *alive_ = false; }

  void Start() {
    Register();
    Tick();
  }

 private:
  api::Node MakeNode() const {
    api::Node n;
    n.mutable_metadata()->set_name(node_);
    (*n.mutable_metadata()->mutable_labels())["kubernetes.io/hostname"] = node_;
    for (const auto& [k, v] : labels_) (*n.mutable_metadata()->mutable_labels())[k] = v;
    auto& a = *n.mutable_status()->mutable_allocatable();
    a["cpu"] = "4";
    a["memory"] = "16Gi";
    a["pods"] = "110";
    *n.mutable_status()->mutable_capacity() = a;
    auto* ready = n.mutable_status()->add_conditions();
    ready->set_type("Ready");
    ready->set_status("True");
    ready->set_reason("KubeletReady");
    ready->set_message("kubelet is posting ready status");
    *ready->mutable_last_heartbeat_time() = WallTs(env_);
    *ready->mutable_last_transition_time() = WallTs(env_);
    for (const char* type : {"MemoryPressure", "DiskPressure", "PIDPressure"}) {
      auto* c = n.mutable_status()->add_conditions();
      c->set_type(type);
      c->set_status("False");
      c->set_reason(std::string("KubeletHasNo") + type);
      *c->mutable_last_heartbeat_time() = WallTs(env_);
      *c->mutable_last_transition_time() = WallTs(env_);
    }
    return n;
  }

  void Register() {
    client_.Create(Kind("", "nodes"), MakeNode(), [this, alive = alive_](const client::ApiResult& r) {
      if (!*alive) return;
      registered_ = r.ok() || r.code == 409;
    });
  }

  void Tick() {
    timer_ = env_.clock->Schedule(Seconds(10), [this, alive = alive_] {
      if (!*alive) return;
      if (!registered_) {
        Register();
      } else {
        RenewLease();
        PostReady();
      }
      Tick();
    });
    if (registered_) RenewLease();
  }

  void RenewLease() {
    api::Lease lease;
    lease.mutable_metadata()->set_namespace_("kube-node-lease");
    lease.mutable_metadata()->set_name(node_);
    lease.mutable_spec()->set_holder_identity(node_);
    lease.mutable_spec()->set_lease_duration_seconds(40);
    google::protobuf::Timestamp now = WallTs(env_);
    now.set_nanos(static_cast<int32_t>(++renewals_ % 1000) * 1000);  // every renewal writes
    *lease.mutable_spec()->mutable_renew_time() = now;
    const auto& kind = Kind("coordination.k8s.io", "leases");
    client_.Get(kind, "kube-node-lease", node_, [this, alive = alive_, lease, &kind](const client::ApiResult& r) mutable {
      if (!*alive) return;
      if (r.code == 404) {
        client_.Create(kind, lease, [](const client::ApiResult&) {});
        return;
      }
      if (!r.ok()) return;
      api::Lease current;
      if (!current.ParseFromString(r.body)) return;
      *current.mutable_spec() = lease.spec();
      client_.Update(kind, current, [](const client::ApiResult&) {});
    });
  }

  void PostReady() {
    client_.Get(Kind("", "nodes"), "", node_, [this, alive = alive_](const client::ApiResult& r) {
      if (!*alive || !r.ok()) return;
      api::Node n;
      if (!n.ParseFromString(r.body)) return;
      for (auto& c : *n.mutable_status()->mutable_conditions()) {
        const std::string healthy = c.type() == "Ready" ? "True" : "False";
        if (c.status() != healthy) *c.mutable_last_transition_time() = WallTs(env_);
        c.set_status(healthy);
        c.set_reason(c.type() == "Ready" ? "KubeletReady" : "KubeletHasNo" + c.type());
        *c.mutable_last_heartbeat_time() = WallTs(env_);
      }
      client_.Update(Kind("", "nodes"), n, [](const client::ApiResult&) {}, "status");
    });
  }

  Env& env_;
  client::ApiClient client_;
  std::string node_;
  std::map<std::string, std::string> labels_;
  bool registered_ = false;
  uint64_t renewals_ = 0;
  TimerId timer_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

class FakeKubeletProcess : public Process {
 public:
  FakeKubeletProcess(Env& env, client::ApiClientOptions co, std::string node, std::map<std::string, std::string> labels)
      : kubelet_(env, std::move(co), std::move(node), std::move(labels)) {}
  void Start() override { kubelet_.Start(); }

 private:
  FakeKubelet kubelet_;
};

class CmCluster {
 public:
  // `api_tweak` adjusts each apiserver's options (e.g. more static tokens).
  explicit CmCluster(uint64_t seed = 1, int apiservers = 1,
                     std::function<void(apiserver::ApiServerOptions&)> api_tweak = nullptr)
      : api(apiservers, seed, [api_tweak](apiserver::ApiServerOptions& o) {
          o.system_namespaces = true;
          if (api_tweak) api_tweak(o);
        }) {
    kubectl = api.AddClient("kubectl");
  }

  // Starts (or adds) controller-manager replica i on host "cm<i>".
  ControllerManager* AddManager(int i, std::function<void(ControllerManagerOptions&)> tweak = nullptr) {
    ControllerManagerOptions o;
    o.apiservers = api.endpoints;
    o.token = apiserver::testing::kAdminToken;
    o.on_write = [this](const std::string& identity, bool acting, const apiserver::Request& r) {
      OnWrite(identity, acting, r);
    };
    if (tweak) tweak(o);
    const std::string host = "cm" + std::to_string(i);
    api.store.world.AddHost(host).AddProcess("controller-manager",
                                             [o](Env& env) { return std::make_unique<ControllerManager>(env, o); });
    managers_[i] = host;
    api.store.world.RunFor(Milliseconds(1));
    return Manager(i);
  }
  ControllerManager* Manager(int i) {
    auto it = managers_.find(i);
    if (it == managers_.end()) return nullptr;
    sim::Host* host = api.store.world.FindHost(it->second);
    return host == nullptr ? nullptr : host->Find<ControllerManager>("controller-manager");
  }
  sim::Host& ManagerHost(int i) { return *api.store.world.FindHost(managers_.at(i)); }
  // The acting replica's index, or 0.
  int Leader() {
    int leader = 0;
    for (const auto& [i, host] : managers_) {
      ControllerManager* m = Manager(i);
      if (m != nullptr && m->IsLeader()) leader = i;
    }
    return leader;
  }

  // A fake kubelet for `node` on its own host.
  void AddKubelet(const std::string& node, std::map<std::string, std::string> labels = {}) {
    client::ApiClientOptions co;
    co.endpoints = api.endpoints;
    co.token = apiserver::testing::kAdminToken;
    api.store.world.AddHost(node).AddProcess("kubelet", [co, node, labels](Env& env) {
      return std::make_unique<FakeKubeletProcess>(env, co, node, labels);
    });
  }
  sim::Host& KubeletHost(const std::string& node) { return *api.store.world.FindHost(node); }

  // The fake scheduler + kubelet (pod_runner.h) on host "pod-runner"; `planner` says what
  // happens to each pod. Crash or isolate RunnerHost() to freeze every pod.
  void AddPodRunner(PodPlanner planner) {
    client::ApiClientOptions co;
    co.endpoints = api.endpoints;
    co.token = apiserver::testing::kAdminToken;
    api.store.world.AddHost("pod-runner").AddProcess("pod-runner", [co, planner](Env& env) {
      return std::make_unique<FakePodRunner>(env, co, planner);
    });
  }
  sim::Host& RunnerHost() { return *api.store.world.FindHost("pod-runner"); }
  FakePodRunner* Runner() { return RunnerHost().Find<FakePodRunner>("pod-runner"); }

  client::ApiResult Create(const google::protobuf::Message& object) {
    const api::KindInfo* kind = api::KindOf(object);
    return api.Await([&](client::ApiClient::Done d) { kubectl->Create(*kind, object, std::move(d)); });
  }
  client::ApiResult DeleteNode(const std::string& name) {
    return api.Await([&](client::ApiClient::Done d) { kubectl->Delete(Kind("", "nodes"), "", name, std::move(d)); });
  }

  template <typename T>
  std::map<std::string, T> List(const std::string& resource, const std::string& ns = "") {
    std::map<std::string, T> out;
    auto r = api.Await([&](client::ApiClient::Done d) { kubectl->List(Kind("", resource), ns, {}, std::move(d)); });
    apiserver::ObjectList l;
    if (!r.ok() || !l.ParseFromString(r.body)) return out;
    for (const auto& item : l.items()) {
      T t;
      if (t.ParseFromString(item)) out[t.metadata().name()] = t;
    }
    return out;
  }
  std::map<std::string, api::Node> Nodes() { return List<api::Node>("nodes"); }
  std::vector<api::Event> Events(const std::string& ns = "default") {
    std::vector<api::Event> out;
    for (auto& [name, e] : List<api::Event>("events", ns)) out.push_back(e);
    return out;
  }

  void Run(Nanos d) { api.store.world.RunFor(d); }
  Nanos Now() { return api.store.world.now(); }

  // Fails the test if two distinct nodes hold the same pod CIDR. Returns the node -> CIDR map.
  std::map<std::string, std::string> CheckUniqueCidrs() {
    std::map<std::string, std::string> by_cidr, by_node;
    for (const auto& [name, n] : Nodes()) {
      if (n.spec().pod_cidr().empty()) continue;
      by_node[name] = n.spec().pod_cidr();
      auto [it, inserted] = by_cidr.emplace(n.spec().pod_cidr(), name);
      if (!inserted) ADD_FAILURE() << "nodes " << it->second << " and " << name << " share " << n.spec().pod_cidr();
      if (n.spec().pod_cidrs_size() != 1 || n.spec().pod_cidrs(0) != n.spec().pod_cidr()) {
        ADD_FAILURE() << name << ": podCIDRs does not match podCIDR";
      }
    }
    return by_node;
  }

  ApiCluster api;
  client::ApiClient* kubectl = nullptr;
  // Writes seen by the on_write hook, and violations of "one acting replica".
  uint64_t writes = 0;
  std::vector<std::string> violations;
  std::map<std::string, uint64_t> writes_by;  // identity -> writes

 private:
  void OnWrite(const std::string& identity, bool acting, const apiserver::Request& r) {
    ++writes;
    ++writes_by[identity];
    const std::string what = r.verb() + " " + r.resource() + " " + r.namespace_() + "/" + r.name();
    if (!acting) violations.push_back(identity + " wrote while not acting: " + what);
    for (const auto& [i, host] : managers_) {
      ControllerManager* m = Manager(i);
      if (m != nullptr && m->identity() != identity && m->IsLeader()) {
        violations.push_back(identity + " wrote while " + m->identity() + " acts: " + what);
      }
    }
  }

  std::map<int, std::string> managers_;
};

}  // namespace ksim::controllers::testing
