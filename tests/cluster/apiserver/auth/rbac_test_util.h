// Builders for RBAC objects and request attributes shared by the RBAC tests.
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include "cluster/api/rbac.pb.h"
#include "cluster/apiserver/auth/rbac.h"

namespace ksim::apiserver::testing {

using Strings = std::vector<std::string>;

inline api::PolicyRule Rule(const Strings& verbs, const Strings& groups, const Strings& resources,
                            const Strings& names = {}) {
  api::PolicyRule r;
  for (const auto& v : verbs) r.add_verbs(v);
  for (const auto& g : groups) r.add_api_groups(g);
  for (const auto& res : resources) r.add_resources(res);
  for (const auto& n : names) r.add_resource_names(n);
  return r;
}

inline api::PolicyRule UrlRule(const Strings& verbs, const Strings& urls) {
  api::PolicyRule r;
  for (const auto& v : verbs) r.add_verbs(v);
  for (const auto& u : urls) r.add_non_resource_urls(u);
  return r;
}

inline api::Subject Subject(const std::string& kind, const std::string& name, const std::string& ns = "") {
  api::Subject s;
  s.set_kind(kind);
  s.set_name(name);
  s.set_namespace_(ns);
  return s;
}

inline api::ClusterRole ClusterRole(const std::string& name, std::initializer_list<api::PolicyRule> rules) {
  api::ClusterRole r;
  r.mutable_metadata()->set_name(name);
  for (const auto& rule : rules) *r.add_rules() = rule;
  return r;
}

inline api::Role Role(const std::string& ns, const std::string& name, std::initializer_list<api::PolicyRule> rules) {
  api::Role r;
  r.mutable_metadata()->set_namespace_(ns);
  r.mutable_metadata()->set_name(name);
  for (const auto& rule : rules) *r.add_rules() = rule;
  return r;
}

inline api::ClusterRoleBinding ClusterBinding(const std::string& name, const std::string& role,
                                              const std::vector<api::Subject>& subjects) {
  api::ClusterRoleBinding b;
  b.mutable_metadata()->set_name(name);
  b.mutable_role_ref()->set_api_group("rbac.authorization.k8s.io");
  b.mutable_role_ref()->set_kind("ClusterRole");
  b.mutable_role_ref()->set_name(role);
  for (const auto& s : subjects) *b.add_subjects() = s;
  return b;
}

inline api::RoleBinding Binding(const std::string& ns, const std::string& name, const std::string& role_kind,
                                const std::string& role, const std::vector<api::Subject>& subjects) {
  api::RoleBinding b;
  b.mutable_metadata()->set_namespace_(ns);
  b.mutable_metadata()->set_name(name);
  b.mutable_role_ref()->set_api_group("rbac.authorization.k8s.io");
  b.mutable_role_ref()->set_kind(role_kind);
  b.mutable_role_ref()->set_name(role);
  for (const auto& s : subjects) *b.add_subjects() = s;
  return b;
}

inline UserInfo User(const std::string& name, const Strings& groups = {}) { return UserInfo{name, "", groups, {}}; }

inline Attributes Request(const UserInfo& user, const std::string& verb, const std::string& group,
                          const std::string& resource, const std::string& ns = "", const std::string& name = "",
                          const std::string& subresource = "") {
  Attributes a;
  a.user = user;
  a.verb = verb;
  a.api_group = group;
  a.resource = resource;
  a.subresource = subresource;
  a.namespace_ = ns;
  a.name = name;
  return a;
}

inline Attributes PathRequest(const UserInfo& user, const std::string& verb, const std::string& path) {
  Attributes a;
  a.user = user;
  a.verb = verb;
  a.resource_request = false;
  a.path = path;
  return a;
}

}  // namespace ksim::apiserver::testing
