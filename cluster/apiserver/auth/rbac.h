// RBAC authorization with Kubernetes' semantics (plugin/pkg/auth/authorizer/rbac): the
// apiserver keeps the authorizer current from its watch caches (Add replaces, Remove
// deletes) and asks Authorize on every request. Bindings are indexed by subject, so a
// decision costs the bindings that name the requesting user, their groups or their
// service account, not every binding in the cluster. See docs/AUTH.md.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/api/rbac.pb.h"
#include "cluster/apiserver/auth/authn.h"

namespace ksim::apiserver {

// What a request asks to do, as Kubernetes' authorizer.Attributes.
struct Attributes {
  UserInfo user;
  std::string verb;  // get, list, watch, create, update, patch, delete, deletecollection...
  std::string api_group;  // "" for the core group
  std::string resource;   // plural: "pods"
  std::string subresource;  // "status", "binding"...
  std::string namespace_;   // "" for cluster-scoped objects and all-namespace lists
  std::string name;         // "" for list, watch (all), create and deletecollection
  bool resource_request = true;
  std::string path;  // for non-resource requests ("/healthz", "/version")
};

struct Decision {
  bool allowed = false;
  // Allowed: which binding granted it. Denied: Kubernetes' 403 message.
  std::string reason;
};

inline constexpr std::string_view kMastersGroup = "system:masters";
inline constexpr std::string_view kRbacApiGroup = "rbac.authorization.k8s.io";

// Kubernetes' 403 message for a denied request, e.g.
//   pods "x" is forbidden: User "bob" cannot get resource "pods" in API group "" in the namespace "default"
//   nodes is forbidden: User "bob" cannot list resource "nodes" in API group "" at the cluster scope
//   forbidden: User "bob" cannot get path "/metrics"
std::string ForbiddenMessage(const Attributes& attributes);

// Whether one policy rule allows the request (Kubernetes' RuleAllows).
bool RuleAllows(const Attributes& attributes, const api::PolicyRule& rule);

class RbacAuthorizer {
 public:
  void AddRole(const api::Role& role);
  void RemoveRole(std::string_view namespace_, std::string_view name);
  void AddClusterRole(const api::ClusterRole& role);
  void RemoveClusterRole(std::string_view name);
  void AddRoleBinding(const api::RoleBinding& binding);
  void RemoveRoleBinding(std::string_view namespace_, std::string_view name);
  void AddClusterRoleBinding(const api::ClusterRoleBinding& binding);
  void RemoveClusterRoleBinding(std::string_view name);

  // Members of system:masters may do anything. Otherwise the ClusterRoleBindings naming
  // the user's subjects are tried, then (for a namespaced request) the RoleBindings of the
  // request's namespace naming them, each in name order; the first rule that allows the
  // request decides. Deterministic: the same objects give the same decision and reason.
  Decision Authorize(const Attributes& attributes) const;

  size_t role_count() const { return roles_.size(); }
  size_t cluster_role_count() const { return cluster_roles_.size(); }
  size_t role_binding_count() const { return role_bindings_.size(); }
  size_t cluster_role_binding_count() const { return cluster_role_bindings_.size(); }

 private:
  // A subject reduced to what it matches: a user name (User subjects, and ServiceAccount
  // subjects as their "system:serviceaccount:<ns>:<name>" user) or a group name.
  enum class SubjectKind { kUser, kGroup };
  using SubjectKey = std::pair<SubjectKind, std::string>;
  using NamespacedKey = std::pair<std::string, std::string>;  // (namespace, name)

  // The key a subject of a binding in `binding_namespace` ("" for cluster bindings)
  // matches under, or false if it can match nobody (unknown kind, unqualified service
  // account in a ClusterRoleBinding).
  static bool SubjectKeyOf(const api::Subject& subject, std::string_view binding_namespace, SubjectKey* key);
  static std::vector<SubjectKey> SubjectKeysOfUser(const UserInfo& user);

  // The rules a role reference resolves to, or nullptr with `error` set the way Kubernetes
  // words a missing role.
  const google::protobuf::RepeatedPtrField<api::PolicyRule>* RulesFor(const api::RoleRef& ref,
                                                                      std::string_view binding_namespace,
                                                                      std::string* error) const;

  std::map<NamespacedKey, api::Role> roles_;
  std::map<std::string, api::ClusterRole, std::less<>> cluster_roles_;
  std::map<NamespacedKey, api::RoleBinding> role_bindings_;
  std::map<std::string, api::ClusterRoleBinding, std::less<>> cluster_role_bindings_;

  // Subject -> names of the ClusterRoleBindings naming it.
  std::map<SubjectKey, std::set<std::string>> cluster_bindings_by_subject_;
  // (subject, namespace) -> names of the RoleBindings in that namespace naming it.
  std::map<std::pair<SubjectKey, std::string>, std::set<std::string>> role_bindings_by_subject_;
};

}  // namespace ksim::apiserver
