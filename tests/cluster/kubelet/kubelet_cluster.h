// Test fixture: a simulated world with a 3-member store, one apiserver, an admin client,
// and worker hosts each running a Kubelet on the host's simulated container runtime.
// Nodes are created with their spec.podCIDR (no IPAM controller here).
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "cluster/kubelet/kubelet.h"
#include "tests/cluster/apiserver/api_cluster.h"

namespace ksim::kubelet::testing {

using apiserver::testing::ApiCluster;

class KubeletCluster {
 public:
  explicit KubeletCluster(uint64_t seed = 1, std::function<void(apiserver::ApiServerOptions&)> api_tweak = nullptr)
      : api(1, seed, [api_tweak](apiserver::ApiServerOptions& o) {
          o.system_namespaces = true;
          if (api_tweak) api_tweak(o);
        }) {
    kubectl = api.AddClient("kubectl");
  }

  sim::World& world() { return api.store.world; }

  // Creates Node `name` with podCIDR 10.244.<index>.0/24 and starts its kubelet.
  void AddNode(const std::string& name, int index, std::function<void(KubeletOptions&)> tweak = nullptr) {
    api::Node n;
    n.mutable_metadata()->set_name(name);
    n.mutable_spec()->set_pod_cidr(fmt::format("10.244.{}.0/24", index));
    auto r = Create(n);
    ASSERT_TRUE(r.ok()) << r.Describe();
    KubeletOptions o;
    o.node_name = name;
    o.node_ip = fmt::format("172.18.0.{}", 10 + index);
    o.apiservers = api.endpoints;
    o.token = apiserver::testing::kAdminToken;
    if (tweak) tweak(o);
    world().AddHost(name).AddProcess("kubelet", [o](Env& env) { return std::make_unique<Kubelet>(env, o); });
    world().RunFor(Milliseconds(1));
  }
  Kubelet* Get(const std::string& node) {
    sim::Host* host = world().FindHost(node);
    return host == nullptr ? nullptr : host->Find<Kubelet>("kubelet");
  }
  sim::Host& Host(const std::string& node) { return *world().FindHost(node); }

  client::ApiResult Create(const google::protobuf::Message& object) {
    const api::KindInfo* kind = api::KindOf(object);
    return api.Await([&](client::ApiClient::Done d) { kubectl->Create(*kind, object, std::move(d)); });
  }
  // Creates a pod from YAML in "default", bound to `node`.
  api::Pod CreatePod(const std::string& yaml, const std::string& node) {
    api::Pod p;
    Status s = api::DecodeInto(yaml, "pod.yaml", &p);
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (p.metadata().namespace_().empty()) p.mutable_metadata()->set_namespace_("default");
    p.mutable_spec()->set_node_name(node);
    auto r = Create(p);
    EXPECT_TRUE(r.ok()) << r.Describe();
    auto obj = client::ApiClient::DecodeObject(PodKind(), r);
    return obj ? static_cast<const api::Pod&>(*obj) : p;
  }
  std::optional<api::Pod> GetPod(const std::string& name) {
    auto r = api.Await([&](client::ApiClient::Done d) { kubectl->Get(PodKind(), "default", name, std::move(d)); });
    if (!r.ok()) return std::nullopt;
    auto obj = client::ApiClient::DecodeObject(PodKind(), r);
    if (!obj) return std::nullopt;
    return static_cast<const api::Pod&>(*obj);
  }
  client::ApiResult DeletePod(const std::string& name, std::optional<int64_t> grace = std::nullopt) {
    api::DeleteOptions o;
    if (grace) o.set_grace_period_seconds(*grace);
    return api.Await([&](client::ApiClient::Done d) { kubectl->Delete(PodKind(), "default", name, o, std::move(d)); });
  }
  // Runs the world in steps of `step` until pred(pod) holds for the pod (or it is gone,
  // when pred takes nullopt), or `within` passes. True if it held.
  bool WaitPod(const std::string& name, const std::function<bool(const std::optional<api::Pod>&)>& pred,
               Nanos within = Seconds(60), Nanos step = Milliseconds(100)) {
    const Nanos deadline = world().now() + within;
    while (world().now() < deadline) {
      if (pred(GetPod(name))) return true;
      world().RunFor(step);
    }
    return pred(GetPod(name));
  }
  void Run(Nanos d) { world().RunFor(d); }

  static const api::KindInfo& PodKind() { return apiserver::testing::Kind("", "pods"); }

  ApiCluster api;
  client::ApiClient* kubectl = nullptr;
};

inline const api::PodCondition* FindCondition(const api::Pod& pod, const std::string& type) {
  for (const auto& c : pod.status().conditions()) {
    if (c.type() == type) return &c;
  }
  return nullptr;
}

inline bool IsReady(const std::optional<api::Pod>& pod) {
  if (!pod) return false;
  const api::PodCondition* c = FindCondition(*pod, "Ready");
  return pod->status().phase() == "Running" && c != nullptr && c->status() == "True";
}

}  // namespace ksim::kubelet::testing
