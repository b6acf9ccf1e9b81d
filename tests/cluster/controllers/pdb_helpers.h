// Helpers for the disruption controller and eviction tests: ReplicaSets and budgets,
// reading budgets and pods, evicting through a chosen client.
#pragma once

#include <map>
#include <string>

#include "cluster/api/apps.pb.h"
#include "cluster/api/policy.pb.h"
#include "cluster/client/drain.h"
#include "cluster/controllers/disruption.h"
#include "cluster/controllers/replica_set.h"
#include "tests/cluster/controllers/cm_cluster.h"

namespace ksim::controllers::testing {

// Running after 1 s, Ready 1 s later. (With Ready at once, the runner's Running and Ready
// status writes race: a Running write retried after a conflict can land last and leave
// the pod unready for good.)
inline PodPlan ReadyPlan(const api::Pod&) {
  PodPlan p = PodPlan::On("n1");
  p.ready_after = Seconds(1);
  return p;
}

inline const api::KindInfo& PdbKind() { return Kind("policy", "poddisruptionbudgets"); }

inline api::ReplicaSet WebRs(const std::string& name, int replicas) {
  api::ReplicaSet rs;
  rs.mutable_metadata()->set_name(name);
  rs.mutable_metadata()->set_namespace_("default");
  rs.mutable_spec()->set_replicas(replicas);
  (*rs.mutable_spec()->mutable_selector()->mutable_match_labels())["app"] = name;
  auto* t = rs.mutable_spec()->mutable_template_();
  (*t->mutable_metadata()->mutable_labels())["app"] = name;
  auto* c = t->mutable_spec()->add_containers();
  c->set_name("c");
  c->set_image("nginx");
  return rs;
}

// A budget on app=<app>: `min` or `max` as "3" or "50%" (one of them non-empty).
inline api::PodDisruptionBudget WebPdb(const std::string& app, const std::string& min, const std::string& max = "") {
  api::PodDisruptionBudget pdb;
  pdb.mutable_metadata()->set_name(app);
  pdb.mutable_metadata()->set_namespace_("default");
  (*pdb.mutable_spec()->mutable_selector()->mutable_match_labels())["app"] = app;
  auto set = [](api::IntOrString* v, const std::string& s) {
    if (s.back() == '%') {
      v->set_str_val(s);
    } else {
      v->set_int_val(std::stoi(s));
    }
  };
  if (!min.empty()) set(pdb.mutable_spec()->mutable_min_available(), min);
  if (!max.empty()) set(pdb.mutable_spec()->mutable_max_unavailable(), max);
  return pdb;
}

inline api::PodDisruptionBudget GetPdb(CmCluster& c, const std::string& name) {
  auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Get(PdbKind(), "default", name, std::move(d)); });
  api::PodDisruptionBudget pdb;
  EXPECT_TRUE(r.ok() && pdb.ParseFromString(r.body)) << r.Describe();
  return pdb;
}

inline client::ApiResult EvictVia(CmCluster& c, client::ApiClient* via, const std::string& pod,
                                  api::DeleteOptions o = {}) {
  return c.api.Await([&](client::ApiClient::Done d) { client::EvictPod(*via, "default", pod, o, std::move(d)); });
}

// Pods that are Ready and not being deleted.
inline std::vector<std::string> ReadyPods(CmCluster& c) {
  std::vector<std::string> out;
  for (const auto& [name, p] : c.List<api::Pod>("pods", "default")) {
    if (!p.metadata().has_deletion_timestamp() && PodReady(p)) out.push_back(name);
  }
  return out;
}

// The ReplicaSet and disruption controllers on replica 1, and ReplicaSet "web" with
// `replicas` pods, all Ready (the pod runner is the caller's).
inline void StartWebWithBudgets(CmCluster& c, int replicas) {
  c.AddManager(1, [](ControllerManagerOptions& o) {
    o.controllers = {kReplicaSetControllerName, kDisruptionControllerName};
  });
  c.Run(Seconds(20));
  ASSERT_TRUE(c.Create(WebRs("web", replicas)).ok());
  c.Run(Seconds(10));
  ASSERT_EQ(ReadyPods(c).size(), static_cast<size_t>(replicas));
}

}  // namespace ksim::controllers::testing
