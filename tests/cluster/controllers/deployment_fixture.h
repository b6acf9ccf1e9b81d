// Test fixture for the Deployment controller: a CmCluster whose controller-manager runs the
// ReplicaSet and Deployment controllers, a pod runner that makes pods Ready (image "never":
// never Ready), and helpers to read and change Deployments and watch a rollout's bounds.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cluster/api/apps.pb.h"
#include "cluster/api/codec.h"
#include "cluster/controllers/deployment.h"
#include "cluster/controllers/replica_set.h"
#include "tests/cluster/controllers/cm_cluster.h"

namespace ksim::controllers::testing {

inline const api::KindInfo& DeployKind() { return Kind("apps", "deployments"); }

inline api::Deployment MakeDeployment(const std::string& name, int replicas, const std::string& image) {
  api::Deployment d;
  d.mutable_metadata()->set_name(name);
  d.mutable_metadata()->set_namespace_("default");
  d.mutable_spec()->set_replicas(replicas);
  (*d.mutable_spec()->mutable_selector()->mutable_match_labels())["app"] = name;
  auto* t = d.mutable_spec()->mutable_template_();
  (*t->mutable_metadata()->mutable_labels())["app"] = name;
  auto* c = t->mutable_spec()->add_containers();
  c->set_name("c");
  c->set_image(image);
  return d;
}

inline void SetRolling(api::Deployment& d, api::IntOrString surge, api::IntOrString unavailable) {
  d.mutable_spec()->mutable_strategy()->set_type("RollingUpdate");
  *d.mutable_spec()->mutable_strategy()->mutable_rolling_update()->mutable_max_surge() = std::move(surge);
  *d.mutable_spec()->mutable_strategy()->mutable_rolling_update()->mutable_max_unavailable() = std::move(unavailable);
}

// Pods of one Deployment at one instant, as the bounds count them.
struct PodCounts {
  int active = 0;     // not terminal, not terminating
  int available = 0;  // active and Ready (minReadySeconds 0)
  std::map<std::string, int> running_by_image;  // not terminal, terminating included
};

class DeploymentFixture {
 public:
  explicit DeploymentFixture(uint64_t seed = 1, int managers = 1, int apiservers = 1) : c(seed, apiservers) {
    c.AddPodRunner([](const api::Pod& p) {
      PodPlan plan = PodPlan::On("n1");
      if (p.spec().containers_size() > 0 && p.spec().containers(0).image() == "never") plan.ready_after.reset();
      return plan;
    });
    for (int i = 1; i <= managers; ++i) {
      c.AddManager(i, [](ControllerManagerOptions& o) { o.controllers = {kReplicaSetControllerName, kDeploymentControllerName}; });
    }
    c.Run(Seconds(20));  // lease, informers, the deployment controller's start wait
  }

  api::Deployment Get(const std::string& name) {
    auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Get(DeployKind(), "default", name, std::move(d)); });
    api::Deployment d;
    EXPECT_TRUE(r.ok() && d.ParseFromString(r.body)) << r.Describe();
    return d;
  }
  // Read-modify-write, retried on conflict (what kubectl does).
  void Change(const std::string& name, const std::function<void(api::Deployment&)>& fn) {
    for (int attempt = 0; attempt < 10; ++attempt) {
      api::Deployment d = Get(name);
      fn(d);
      auto r = c.api.Await([&](client::ApiClient::Done done) { c.kubectl->Update(DeployKind(), d, std::move(done)); });
      if (r.ok()) return;
      ASSERT_EQ(r.code, 409) << r.Describe();
    }
    FAIL() << "update kept conflicting";
  }
  void SetImage(const std::string& name, const std::string& image) {
    Change(name, [&](api::Deployment& d) { d.mutable_spec()->mutable_template_()->mutable_spec()->mutable_containers(0)->set_image(image); });
  }
  // ReplicaSets by name (all, owned or not).
  std::map<std::string, api::ReplicaSet> ReplicaSets() {
    std::map<std::string, api::ReplicaSet> out;
    auto r = c.api.Await([&](client::ApiClient::Done d) {
      c.kubectl->List(Kind("apps", "replicasets"), "default", {}, std::move(d));
    });
    apiserver::ObjectList l;
    if (!r.ok() || !l.ParseFromString(r.body)) return out;
    for (const auto& item : l.items()) {
      api::ReplicaSet rs;
      if (rs.ParseFromString(item)) out[rs.metadata().name()] = rs;
    }
    return out;
  }
  // `ok` (if given) turns false when the list failed (the map is then empty).
  std::map<std::string, api::Pod> Pods(bool* ok = nullptr) {
    std::map<std::string, api::Pod> out;
    auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->List(Kind("", "pods"), "default", {}, std::move(d)); });
    apiserver::ObjectList l;
    const bool parsed = r.ok() && l.ParseFromString(r.body);
    if (ok != nullptr) *ok = parsed;
    if (!parsed) return out;
    for (const auto& item : l.items()) {
      api::Pod p;
      if (p.ParseFromString(item)) out[p.metadata().name()] = p;
    }
    return out;
  }
  // The RS whose pods run `image`, or nullptr.
  std::optional<api::ReplicaSet> RsWithImage(const std::string& image) {
    for (auto& [name, rs] : ReplicaSets()) {
      if (rs.spec().template_().spec().containers(0).image() == image) return rs;
    }
    return std::nullopt;
  }
  PodCounts Count(const std::string& app, bool* ok = nullptr) {
    PodCounts n;
    for (const auto& [name, p] : Pods(ok)) {
      auto it = p.metadata().labels().find("app");
      if (it == p.metadata().labels().end() || it->second != app) continue;
      if (p.status().phase() == "Succeeded" || p.status().phase() == "Failed") continue;
      ++n.running_by_image[p.spec().containers(0).image()];
      if (p.metadata().has_deletion_timestamp()) continue;
      ++n.active;
      n.available += PodReady(p) ? 1 : 0;
    }
    return n;
  }
  // `kubectl rollout status` says "successfully rolled out".
  static bool RolledOut(const api::Deployment& d) {
    const auto& s = d.status();
    const int32_t want = d.spec().replicas();
    return s.observed_generation() >= d.metadata().generation() && s.updated_replicas() == want &&
           s.replicas() == want && s.available_replicas() == want;
  }
  static std::optional<api::DeploymentCondition> Condition(const api::Deployment& d, const std::string& type) {
    for (const auto& cond : d.status().conditions()) {
      if (cond.type() == type) return cond;
    }
    return std::nullopt;
  }
  // Runs in 100 ms steps until `done` or `limit`, calling `each` at every step. Returns
  // whether `done` became true.
  bool RunUntil(const std::function<bool()>& done, Nanos limit, const std::function<void()>& each = nullptr) {
    const Nanos end = c.Now() + limit;
    while (c.Now() < end) {
      c.Run(Milliseconds(100));
      if (each) each();
      if (done()) return true;
    }
    return false;
  }
  bool WaitRolledOut(const std::string& name, Nanos limit, const std::function<void()>& each = nullptr) {
    return RunUntil([&] { return RolledOut(Get(name)); }, limit, each);
  }
  int CountEvents(const std::string& reason, const std::string& component = "deployment-controller") {
    int n = 0;
    for (const auto& e : c.Events()) {
      n += e.reason() == reason && e.source().component() == component ? std::max(1, e.count()) : 0;
    }
    return n;
  }

  CmCluster c;
};

}  // namespace ksim::controllers::testing
