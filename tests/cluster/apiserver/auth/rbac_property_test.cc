// RBAC properties over random policies: removing a binding never grants more, and a
// cluster-admin binding allows every request.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>

#include "cluster/apiserver/auth/bootstrap.h"
#include "cluster/apiserver/auth/rbac.h"
#include "tests/cluster/apiserver/auth/rbac_test_util.h"

namespace ksim::apiserver {
namespace {

using namespace ksim::apiserver::testing;  // NOLINT: test builders

// Small universes, so random rules and requests meet often.
const Strings kVerbs = {"get", "list", "create", "delete", "*"};
const Strings kGroups = {"", "apps", "*"};
const Strings kResources = {"pods", "pods/status", "deployments", "*/status", "*"};
const Strings kNames = {"x", "y"};
const Strings kUrls = {"/healthz", "/api/*", "*"};
const Strings kNamespaces = {"a", "b"};
const Strings kUsers = {"alice", "bob", "system:serviceaccount:a:sa"};
const Strings kUserGroups = {"devs", "ops", "system:serviceaccounts"};

template <typename T>
T Pick(const std::vector<T>& from) {
  return *rc::gen::elementOf(from);
}

Strings Some(const Strings& from, size_t max) {
  return *rc::gen::container<Strings>(*rc::gen::inRange<size_t>(1, max + 1), rc::gen::elementOf(from));
}

// Draws happen in statement order (not in unspecified argument order), so a seed
// replays the same case with any compiler.
api::PolicyRule RandomRule() {
  const Strings verbs = Some(kVerbs, 2);
  if (*rc::gen::inRange(0, 5) == 0) {
    const Strings urls = Some(kUrls, 2);
    return UrlRule(verbs, urls);
  }
  const Strings groups = Some(kGroups, 2);
  const Strings resources = Some(kResources, 2);
  const Strings names = *rc::gen::inRange(0, 3) == 0 ? Some(kNames, 2) : Strings{};
  return Rule(verbs, groups, resources, names);
}

api::Subject RandomSubject() {
  switch (*rc::gen::inRange(0, 4)) {
    case 0: return Subject("User", Pick(kUsers));
    case 1: return Subject("Group", Pick(kUserGroups));
    case 2: return Subject("ServiceAccount", "sa", Pick(Strings{"", "a", "b"}));
    default: return Subject("User", "nobody");
  }
}

std::vector<api::Subject> RandomSubjects() {
  std::vector<api::Subject> subjects;
  const int n = *rc::gen::inRange(1, 3);
  for (int i = 0; i < n; ++i) subjects.push_back(RandomSubject());
  return subjects;
}

Attributes RandomRequest() {
  const std::string name = Pick(kUsers);
  const UserInfo user = User(name, Some(kUserGroups, 2));
  if (*rc::gen::inRange(0, 5) == 0) {
    const std::string verb = Pick(Strings{"get", "post"});
    return PathRequest(user, verb, Pick(Strings{"/healthz", "/api/v1", "/metrics"}));
  }
  const std::string resource = Pick(Strings{"pods", "deployments", "nodes"});
  const std::string verb = Pick(Strings{"get", "list", "create", "delete"});
  const std::string ns = resource == "nodes" ? "" : Pick(Strings{"", "a", "b"});
  const std::string object = Pick(Strings{"", "x", "y"});
  const std::string subresource = Pick(Strings{"", "", "status"});
  return Request(user, verb, resource == "deployments" ? "apps" : "", resource, ns, object, subresource);
}

// A random policy: two ClusterRoles, a Role per namespace, and a few bindings of each kind.
struct Policy {
  std::vector<api::ClusterRoleBinding> cluster_bindings;
  std::vector<api::RoleBinding> bindings;
};

Policy Populate(RbacAuthorizer* rbac) {
  for (const char* name : {"c0", "c1"}) {
    api::ClusterRole role = ClusterRole(name, {});
    const int n = *rc::gen::inRange(1, 4);
    for (int i = 0; i < n; ++i) *role.add_rules() = RandomRule();
    rbac->AddClusterRole(role);
  }
  for (const std::string& ns : kNamespaces) {
    api::Role role = Role(ns, "r0", {});
    const int n = *rc::gen::inRange(1, 4);
    for (int i = 0; i < n; ++i) *role.add_rules() = RandomRule();
    rbac->AddRole(role);
  }
  Policy policy;
  const int cluster_bindings = *rc::gen::inRange(0, 4);
  for (int i = 0; i < cluster_bindings; ++i) {
    const std::string role = Pick(Strings{"c0", "c1", "missing"});
    policy.cluster_bindings.push_back(ClusterBinding("crb" + std::to_string(i), role, RandomSubjects()));
    rbac->AddClusterRoleBinding(policy.cluster_bindings.back());
  }
  const int bindings = *rc::gen::inRange(0, 5);
  for (int i = 0; i < bindings; ++i) {
    const bool to_cluster_role = *rc::gen::arbitrary<bool>();
    const std::string ns = Pick(kNamespaces);
    const std::string role = to_cluster_role ? Pick(Strings{"c0", "c1"}) : "r0";
    policy.bindings.push_back(
        Binding(ns, "rb" + std::to_string(i), to_cluster_role ? "ClusterRole" : "Role", role, RandomSubjects()));
    rbac->AddRoleBinding(policy.bindings.back());
  }
  return policy;
}

RC_GTEST_PROP(RbacProperty, RemovingABindingNeverGrantsMore, ()) {
  RbacAuthorizer rbac;
  const Policy policy = Populate(&rbac);
  // Liveness floor: a grant no random binding touches (its own role and binding) holds
  // before and after the removal, so an authorizer that denies everything fails here.
  rbac.AddClusterRole(ClusterRole("floor-reader", {Rule({"get"}, {""}, {"pods"}, {})}));
  rbac.AddClusterRoleBinding(ClusterBinding("floor", "floor-reader", {Subject("User", "carol")}));
  const Attributes floor = Request(User("carol"), "get", "", "pods", "a", "x");
  RC_ASSERT(rbac.Authorize(floor).allowed);
  const size_t total = policy.cluster_bindings.size() + policy.bindings.size();
  RC_PRE(total > 0);
  std::vector<Attributes> requests;
  for (int i = 0; i < 30; ++i) requests.push_back(RandomRequest());
  std::vector<bool> before;
  for (const Attributes& a : requests) before.push_back(rbac.Authorize(a).allowed);
  RC_CLASSIFY(std::count(before.begin(), before.end(), true) > 0, "some request allowed");

  const size_t victim = *rc::gen::inRange<size_t>(0, total);
  if (victim < policy.cluster_bindings.size()) {
    rbac.RemoveClusterRoleBinding(policy.cluster_bindings[victim].metadata().name());
  } else {
    const api::RoleBinding& b = policy.bindings[victim - policy.cluster_bindings.size()];
    rbac.RemoveRoleBinding(b.metadata().namespace_(), b.metadata().name());
  }
  bool revoked = false;
  for (size_t i = 0; i < requests.size(); ++i) {
    const bool allowed = rbac.Authorize(requests[i]).allowed;
    if (allowed) RC_ASSERT(before[i]);
    revoked = revoked || (before[i] && !allowed);
  }
  RC_CLASSIFY(revoked, "removal revoked a grant");
  RC_ASSERT(rbac.Authorize(floor).allowed);
}

RC_GTEST_PROP(RbacProperty, DecisionsDependOnlyOnTheObjects, ()) {
  // The same objects added in another order give the same decisions and reasons.
  RbacAuthorizer forward;
  const Policy policy = Populate(&forward);
  // Same roles; bindings removed and added again in reverse order.
  RbacAuthorizer reversed = forward;
  for (const auto& b : policy.cluster_bindings) reversed.RemoveClusterRoleBinding(b.metadata().name());
  for (const auto& b : policy.bindings) reversed.RemoveRoleBinding(b.metadata().namespace_(), b.metadata().name());
  for (auto it = policy.bindings.rbegin(); it != policy.bindings.rend(); ++it) reversed.AddRoleBinding(*it);
  for (auto it = policy.cluster_bindings.rbegin(); it != policy.cluster_bindings.rend(); ++it) {
    reversed.AddClusterRoleBinding(*it);
  }
  for (int i = 0; i < 30; ++i) {
    const Attributes a = RandomRequest();
    const Decision x = forward.Authorize(a);
    const Decision y = reversed.Authorize(a);
    RC_ASSERT(x.allowed == y.allowed);
    RC_ASSERT(x.reason == y.reason);
  }
}

RC_GTEST_PROP(RbacProperty, ClusterAdminIsAlwaysAllowed, (const std::string& verb, const std::string& group,
                                                          const std::string& resource, const std::string& subresource,
                                                          const std::string& ns, const std::string& name,
                                                          const std::string& path, bool resource_request)) {
  RbacAuthorizer rbac;
  LoadPolicy(DefaultBootstrapPolicy(), &rbac);
  Populate(&rbac);
  rbac.AddClusterRoleBinding(ClusterBinding("root", "cluster-admin", {Subject("User", "root")}));
  Attributes a = Request(User("root", Some(kUserGroups, 2)), verb, group, resource, ns, name, subresource);
  a.resource_request = resource_request;
  a.path = path;
  RC_ASSERT(rbac.Authorize(a).allowed);
}

}  // namespace
}  // namespace ksim::apiserver
