#include "cluster/apiserver/auth/rbac.h"

#include <algorithm>

namespace ksim::apiserver {
namespace {

constexpr std::string_view kAll = "*";

bool Contains(const google::protobuf::RepeatedPtrField<std::string>& values, std::string_view wanted) {
  return std::any_of(values.begin(), values.end(), [&](const std::string& v) { return v == wanted; });
}

bool VerbMatches(const api::PolicyRule& rule, std::string_view verb) {
  return Contains(rule.verbs(), kAll) || Contains(rule.verbs(), verb);
}

bool ApiGroupMatches(const api::PolicyRule& rule, std::string_view group) {
  return Contains(rule.api_groups(), kAll) || Contains(rule.api_groups(), group);
}

// "*" matches every resource and subresource; "pods" matches only "pods" (not
// "pods/status"); "pods/status" matches that subresource; "*/status" matches the status
// subresource of anything.
bool ResourceMatches(const api::PolicyRule& rule, std::string_view combined, std::string_view subresource) {
  for (const std::string& r : rule.resources()) {
    if (r == kAll || r == combined) return true;
    if (subresource.empty()) continue;
    if (r.size() == subresource.size() + 2 && r.starts_with("*/") && r.ends_with(subresource)) return true;
  }
  return false;
}

// An empty list allows every name; otherwise the request must name one of them, so a
// name-restricted rule never allows list, watch (of all), create or deletecollection.
bool ResourceNameMatches(const api::PolicyRule& rule, std::string_view name) {
  return rule.resource_names().empty() || Contains(rule.resource_names(), name);
}

bool NonResourceUrlMatches(const api::PolicyRule& rule, std::string_view path) {
  for (const std::string& url : rule.non_resource_urls()) {
    if (url == kAll || url == path) return true;
    if (!url.empty() && url.back() == '*' && path.starts_with(std::string_view(url).substr(0, url.size() - 1))) {
      return true;
    }
  }
  return false;
}

// Kubernetes HTML-escapes the user-controlled part of its 403 message.
std::string Sanitize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

// Kubernetes' describeSubject: ServiceAccounts as "name/namespace".
std::string DescribeSubject(const api::Subject& subject, std::string_view binding_namespace) {
  if (subject.kind() == "ServiceAccount") {
    const std::string& ns = subject.namespace_().empty() ? std::string(binding_namespace) : subject.namespace_();
    return subject.kind() + " " + Quote(subject.name() + "/" + ns);
  }
  return subject.kind() + " " + Quote(subject.name());
}

// Kubernetes' error aggregate: one message alone, several as "[a, b]", repeats once.
std::string AggregateErrors(const std::vector<std::string>& errors) {
  std::vector<std::string> unique;
  for (const std::string& e : errors) {
    if (std::find(unique.begin(), unique.end(), e) == unique.end()) unique.push_back(e);
  }
  if (unique.size() == 1) return unique.front();
  std::string out = "[";
  for (size_t i = 0; i < unique.size(); ++i) {
    if (i > 0) out += ", ";
    out += unique[i];
  }
  return out + "]";
}

bool HasGroup(const UserInfo& user, std::string_view group) {
  return std::find(user.groups.begin(), user.groups.end(), group) != user.groups.end();
}

}  // namespace

std::string ForbiddenMessage(const Attributes& a) {
  std::string reason;
  if (!a.resource_request) {
    reason = "User " + Quote(a.user.name) + " cannot " + a.verb + " path " + Quote(a.path);
  } else {
    const std::string resource = a.subresource.empty() ? a.resource : a.resource + "/" + a.subresource;
    reason = "User " + Quote(a.user.name) + " cannot " + a.verb + " resource " + Quote(resource) + " in API group " +
             Quote(a.api_group);
    reason += a.namespace_.empty() ? " at the cluster scope" : " in the namespace " + Quote(a.namespace_);
  }
  reason = Sanitize(reason);
  // apierrors.NewForbidden: the group-qualified resource, and the object's name if any.
  if (!a.resource_request || (a.resource.empty() && a.api_group.empty())) return "forbidden: " + reason;
  std::string qualified = a.resource;
  if (!a.api_group.empty()) qualified += "." + a.api_group;
  if (!a.name.empty()) qualified += " " + Quote(a.name);
  return qualified + " is forbidden: " + reason;
}

bool RuleAllows(const Attributes& a, const api::PolicyRule& rule) {
  if (!a.resource_request) return VerbMatches(rule, a.verb) && NonResourceUrlMatches(rule, a.path);
  const std::string combined = a.subresource.empty() ? a.resource : a.resource + "/" + a.subresource;
  return VerbMatches(rule, a.verb) && ApiGroupMatches(rule, a.api_group) &&
         ResourceMatches(rule, combined, a.subresource) && ResourceNameMatches(rule, a.name);
}

// ---------------------------------------------------------------- subjects

bool RbacAuthorizer::SubjectKeyOf(const api::Subject& subject, std::string_view binding_namespace,
                                  SubjectKey* key) {
  if (subject.name().empty()) return false;
  if (subject.kind() == "User") {
    *key = {SubjectKind::kUser, subject.name()};
    return true;
  }
  if (subject.kind() == "Group") {
    *key = {SubjectKind::kGroup, subject.name()};
    return true;
  }
  if (subject.kind() == "ServiceAccount") {
    // An unqualified service account means the binding's own namespace; a
    // ClusterRoleBinding has none, so there it matches nobody (as in Kubernetes).
    const std::string_view ns = subject.namespace_().empty() ? binding_namespace : subject.namespace_();
    if (ns.empty()) return false;
    *key = {SubjectKind::kUser, ServiceAccountUserName(ns, subject.name())};
    return true;
  }
  return false;
}

std::vector<RbacAuthorizer::SubjectKey> RbacAuthorizer::SubjectKeysOfUser(const UserInfo& user) {
  std::vector<SubjectKey> keys;
  keys.reserve(user.groups.size() + 1);
  if (!user.name.empty()) keys.emplace_back(SubjectKind::kUser, user.name);
  for (const std::string& group : user.groups) keys.emplace_back(SubjectKind::kGroup, group);
  return keys;
}

// ---------------------------------------------------------------- roles

void RbacAuthorizer::AddRole(const api::Role& role) {
  roles_.insert_or_assign(NamespacedKey{role.metadata().namespace_(), role.metadata().name()}, role);
}

void RbacAuthorizer::RemoveRole(std::string_view namespace_, std::string_view name) {
  roles_.erase(NamespacedKey{std::string(namespace_), std::string(name)});
}

void RbacAuthorizer::AddClusterRole(const api::ClusterRole& role) {
  cluster_roles_.insert_or_assign(role.metadata().name(), role);
}

void RbacAuthorizer::RemoveClusterRole(std::string_view name) {
  if (const auto it = cluster_roles_.find(name); it != cluster_roles_.end()) cluster_roles_.erase(it);
}

const google::protobuf::RepeatedPtrField<api::PolicyRule>* RbacAuthorizer::RulesFor(
    const api::RoleRef& ref, std::string_view binding_namespace, std::string* error) const {
  if (ref.kind() == "ClusterRole") {
    if (const auto it = cluster_roles_.find(ref.name()); it != cluster_roles_.end()) return &it->second.rules();
    *error = "clusterrole.rbac.authorization.k8s.io " + Quote(ref.name()) + " not found";
    return nullptr;
  }
  if (ref.kind() == "Role") {
    // A ClusterRoleBinding (no namespace) cannot reach a Role.
    if (!binding_namespace.empty()) {
      const auto it = roles_.find(NamespacedKey{std::string(binding_namespace), ref.name()});
      if (it != roles_.end()) return &it->second.rules();
    }
    *error = "role.rbac.authorization.k8s.io " + Quote(ref.name()) + " not found";
    return nullptr;
  }
  *error = "unsupported role reference kind: " + Quote(ref.kind());
  return nullptr;
}

// ---------------------------------------------------------------- bindings

void RbacAuthorizer::AddRoleBinding(const api::RoleBinding& binding) {
  const std::string& ns = binding.metadata().namespace_();
  const std::string& name = binding.metadata().name();
  RemoveRoleBinding(ns, name);
  role_bindings_.emplace(NamespacedKey{ns, name}, binding);
  SubjectKey key;
  for (const api::Subject& subject : binding.subjects()) {
    if (SubjectKeyOf(subject, ns, &key)) role_bindings_by_subject_[{key, ns}].insert(name);
  }
}

void RbacAuthorizer::RemoveRoleBinding(std::string_view namespace_, std::string_view name) {
  const auto it = role_bindings_.find(NamespacedKey{std::string(namespace_), std::string(name)});
  if (it == role_bindings_.end()) return;
  SubjectKey key;
  for (const api::Subject& subject : it->second.subjects()) {
    if (!SubjectKeyOf(subject, namespace_, &key)) continue;
    const auto index = role_bindings_by_subject_.find({key, std::string(namespace_)});
    if (index == role_bindings_by_subject_.end()) continue;
    index->second.erase(std::string(name));
    if (index->second.empty()) role_bindings_by_subject_.erase(index);
  }
  role_bindings_.erase(it);
}

void RbacAuthorizer::AddClusterRoleBinding(const api::ClusterRoleBinding& binding) {
  const std::string& name = binding.metadata().name();
  RemoveClusterRoleBinding(name);
  cluster_role_bindings_.emplace(name, binding);
  SubjectKey key;
  for (const api::Subject& subject : binding.subjects()) {
    if (SubjectKeyOf(subject, "", &key)) cluster_bindings_by_subject_[key].insert(name);
  }
}

void RbacAuthorizer::RemoveClusterRoleBinding(std::string_view name) {
  const auto it = cluster_role_bindings_.find(name);
  if (it == cluster_role_bindings_.end()) return;
  SubjectKey key;
  for (const api::Subject& subject : it->second.subjects()) {
    if (!SubjectKeyOf(subject, "", &key)) continue;
    const auto index = cluster_bindings_by_subject_.find(key);
    if (index == cluster_bindings_by_subject_.end()) continue;
    index->second.erase(std::string(name));
    if (index->second.empty()) cluster_bindings_by_subject_.erase(index);
  }
  cluster_role_bindings_.erase(it);
}

// ---------------------------------------------------------------- decisions

Decision RbacAuthorizer::Authorize(const Attributes& a) const {
  // Kubernetes puts a privileged-groups authorizer ahead of RBAC for system:masters.
  if (HasGroup(a.user, kMastersGroup)) return {true, "allowed: member of group \"system:masters\""};

  const std::vector<SubjectKey> keys = SubjectKeysOfUser(a.user);
  const std::set<SubjectKey> user_keys(keys.begin(), keys.end());
  // The first subject of a binding that names this user, for the reason text.
  auto matching_subject = [&](const auto& binding, std::string_view ns) -> const api::Subject* {
    SubjectKey key;
    for (const api::Subject& subject : binding.subjects()) {
      if (SubjectKeyOf(subject, ns, &key) && user_keys.count(key)) return &subject;
    }
    return nullptr;
  };
  auto allows = [&](const google::protobuf::RepeatedPtrField<api::PolicyRule>& rules) {
    return std::any_of(rules.begin(), rules.end(), [&](const api::PolicyRule& r) { return RuleAllows(a, r); });
  };
  std::vector<std::string> errors;

  std::set<std::string> cluster_binding_names;
  for (const SubjectKey& key : keys) {
    if (const auto it = cluster_bindings_by_subject_.find(key); it != cluster_bindings_by_subject_.end()) {
      cluster_binding_names.insert(it->second.begin(), it->second.end());
    }
  }
  for (const std::string& name : cluster_binding_names) {
    const api::ClusterRoleBinding& binding = cluster_role_bindings_.at(name);
    std::string error;
    const auto* rules = RulesFor(binding.role_ref(), "", &error);
    if (rules == nullptr) {
      errors.push_back(std::move(error));
      continue;
    }
    if (!allows(*rules)) continue;
    const api::Subject* subject = matching_subject(binding, "");
    return {true, "RBAC: allowed by ClusterRoleBinding " + Quote(name) + " of " + binding.role_ref().kind() + " " +
                      Quote(binding.role_ref().name()) + " to " + (subject ? DescribeSubject(*subject, "") : "")};
  }

  // Non-resource requests have no namespace; RoleBindings never grant them.
  if (a.resource_request && !a.namespace_.empty()) {
    std::set<std::string> role_binding_names;
    for (const SubjectKey& key : keys) {
      const auto it = role_bindings_by_subject_.find({key, a.namespace_});
      if (it != role_bindings_by_subject_.end()) role_binding_names.insert(it->second.begin(), it->second.end());
    }
    for (const std::string& name : role_binding_names) {
      const api::RoleBinding& binding = role_bindings_.at(NamespacedKey{a.namespace_, name});
      std::string error;
      const auto* rules = RulesFor(binding.role_ref(), a.namespace_, &error);
      if (rules == nullptr) {
        errors.push_back(std::move(error));
        continue;
      }
      if (!allows(*rules)) continue;
      const api::Subject* subject = matching_subject(binding, a.namespace_);
      return {true, "RBAC: allowed by RoleBinding " + Quote(name + "/" + a.namespace_) + " of " +
                        binding.role_ref().kind() + " " + Quote(binding.role_ref().name()) + " to " +
                        (subject ? DescribeSubject(*subject, a.namespace_) : "")};
    }
  }

  std::string reason = ForbiddenMessage(a);
  if (!errors.empty()) reason += ": RBAC: " + AggregateErrors(errors);
  return {false, std::move(reason)};
}

}  // namespace ksim::apiserver
