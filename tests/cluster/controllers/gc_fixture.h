// Test helpers for the garbage collector, namespace and pod GC tests: objects with
// ownerReferences made by the test, deletes with a propagation policy, live reads.
#pragma once

#include <optional>
#include <string>

#include "cluster/api/apps.pb.h"
#include "cluster/api/codec.h"
#include "cluster/api/options.pb.h"
#include "tests/cluster/controllers/cm_cluster.h"

namespace ksim::controllers::testing {

inline api::OwnerReference RefTo(const google::protobuf::Message& owner, bool block = true, bool controller = false) {
  const api::KindInfo* kind = api::KindOf(owner);
  const api::ObjectMeta& m = *api::GetMeta(owner);
  api::OwnerReference ref;
  ref.set_api_version(kind->ApiVersion());
  ref.set_kind(kind->kind);
  ref.set_name(m.name());
  ref.set_uid(m.uid());
  if (block) ref.set_block_owner_deletion(true);
  if (controller) ref.set_controller(true);
  return ref;
}

inline api::ConfigMap MakeCm(const std::string& name, const std::string& ns = "default") {
  api::ConfigMap cm;
  cm.mutable_metadata()->set_name(name);
  cm.mutable_metadata()->set_namespace_(ns);
  return cm;
}

inline api::PodTemplateSpec GcTemplate(const std::string& app) {
  api::PodTemplateSpec t;
  (*t.mutable_metadata()->mutable_labels())["app"] = app;
  auto* c = t.mutable_spec()->add_containers();
  c->set_name("c");
  c->set_image("nginx");
  return t;
}

inline api::ReplicaSet GcRs(const std::string& name, int replicas) {
  api::ReplicaSet rs;
  rs.mutable_metadata()->set_name(name);
  rs.mutable_metadata()->set_namespace_("default");
  rs.mutable_spec()->set_replicas(replicas);
  (*rs.mutable_spec()->mutable_selector()->mutable_match_labels())["app"] = name;
  *rs.mutable_spec()->mutable_template_() = GcTemplate(name);
  return rs;
}

// Creates `obj` and returns it as stored (with its uid).
template <typename T>
T CreateStored(CmCluster& c, const T& obj) {
  auto r = c.Create(obj);
  T out;
  EXPECT_TRUE(r.ok() && out.ParseFromString(r.body)) << r.Describe();
  return out;
}

// The object live from the apiserver, or nullopt if absent.
template <typename T>
std::optional<T> GetLive(CmCluster& c, const std::string& resource_group, const std::string& resource,
                         const std::string& ns, const std::string& name) {
  auto r = c.api.Await(
      [&](client::ApiClient::Done d) { c.kubectl->Get(Kind(resource_group, resource), ns, name, std::move(d)); });
  T out;
  if (!r.ok() || !out.ParseFromString(r.body)) return std::nullopt;
  return out;
}

inline client::ApiResult DeleteWith(CmCluster& c, const api::KindInfo& kind, const std::string& ns,
                                    const std::string& name, const std::string& policy) {
  api::DeleteOptions o;
  if (!policy.empty()) o.set_propagation_policy(policy);
  return c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Delete(kind, ns, name, o, std::move(d)); });
}

// Pods whose ownerReferences name `uid`.
inline int CountOwnedBy(const std::map<std::string, api::Pod>& pods, const std::string& uid) {
  int n = 0;
  for (const auto& [name, p] : pods) {
    for (const auto& ref : p.metadata().owner_references()) n += ref.uid() == uid ? 1 : 0;
  }
  return n;
}

}  // namespace ksim::controllers::testing
