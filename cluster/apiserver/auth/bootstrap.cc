#include "cluster/apiserver/auth/bootstrap.h"

#include <algorithm>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace ksim::apiserver {
namespace {

using Strings = std::initializer_list<std::string_view>;

constexpr std::string_view kCore = "";
constexpr std::string_view kApps = "apps";
constexpr std::string_view kBatch = "batch";
constexpr std::string_view kCoordination = "coordination.k8s.io";
constexpr std::string_view kCertificates = "certificates.k8s.io";
constexpr std::string_view kScheduling = "scheduling.k8s.io";
constexpr std::string_view kAuthentication = "authentication.k8s.io";
constexpr std::string_view kAuthorization = "authorization.k8s.io";
constexpr std::string_view kEventsGroup = "events.k8s.io";
constexpr std::string_view kPolicy = "policy";
constexpr std::string_view kAutoscaling = "autoscaling";
constexpr std::string_view kNetworking = "networking.k8s.io";
constexpr std::string_view kDiscovery = "discovery.k8s.io";
constexpr std::string_view kMetrics = "metrics.k8s.io";

// Kubernetes' verb sets (bootstrappolicy: Read, Write, ReadWrite).
const Strings kRead = {"get", "list", "watch"};
const Strings kWrite = {"create", "update", "patch", "delete", "deletecollection"};
const Strings kReadWrite = {"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"};

void Append(google::protobuf::RepeatedPtrField<std::string>* out, Strings values) {
  for (std::string_view v : values) out->Add(std::string(v));
}

api::PolicyRule Rule(Strings verbs, Strings groups, Strings resources, Strings names = {}) {
  api::PolicyRule rule;
  Append(rule.mutable_verbs(), verbs);
  Append(rule.mutable_api_groups(), groups);
  Append(rule.mutable_resources(), resources);
  Append(rule.mutable_resource_names(), names);
  return rule;
}

api::PolicyRule UrlRule(Strings verbs, Strings urls) {
  api::PolicyRule rule;
  Append(rule.mutable_verbs(), verbs);
  Append(rule.mutable_non_resource_urls(), urls);
  return rule;
}

void MarkBootstrap(api::ObjectMeta* meta, std::string_view name) {
  meta->set_name(std::string(name));
  (*meta->mutable_labels())["kubernetes.io/bootstrapping"] = "rbac-defaults";
  (*meta->mutable_annotations())["rbac.authorization.kubernetes.io/autoupdate"] = "true";
}

api::ClusterRole MakeClusterRole(std::string_view name, const std::vector<api::PolicyRule>& rules) {
  api::ClusterRole role;
  role.set_api_version("rbac.authorization.k8s.io/v1");
  role.set_kind("ClusterRole");
  MarkBootstrap(role.mutable_metadata(), name);
  for (const api::PolicyRule& r : rules) *role.add_rules() = r;
  return role;
}

api::Subject MakeSubject(std::string_view kind, std::string_view name, std::string_view namespace_ = "") {
  api::Subject subject;
  subject.set_kind(std::string(kind));
  if (kind != "ServiceAccount") subject.set_api_group(std::string(kRbacApiGroup));
  subject.set_name(std::string(name));
  subject.set_namespace_(std::string(namespace_));
  return subject;
}

api::ClusterRoleBinding MakeBinding(std::string_view name, std::string_view role,
                                    std::initializer_list<api::Subject> subjects) {
  api::ClusterRoleBinding binding;
  binding.set_api_version("rbac.authorization.k8s.io/v1");
  binding.set_kind("ClusterRoleBinding");
  MarkBootstrap(binding.mutable_metadata(), name);
  binding.mutable_role_ref()->set_api_group(std::string(kRbacApiGroup));
  binding.mutable_role_ref()->set_kind("ClusterRole");
  binding.mutable_role_ref()->set_name(std::string(role));
  for (const api::Subject& s : subjects) *binding.add_subjects() = s;
  return binding;
}

api::PolicyRule EventsRule() {
  return Rule({"create", "update", "patch"}, {kCore, kEventsGroup}, {"events"});
}

// ---------------------------------------------------------------- user-facing roles

// view: read everything namespaced except Secrets (which would let a viewer act as a
// service account) and RBAC objects.
std::vector<api::PolicyRule> ViewRules() {
  return {
      Rule(kRead, {kCore},
           {"configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "pods",
            "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services",
            "services/status"}),
      Rule(kRead, {kCore},
           {"bindings", "events", "limitranges", "namespaces/status", "pods/log", "pods/status",
            "replicationcontrollers/status", "resourcequotas", "resourcequotas/status"}),
      Rule(kRead, {kCore}, {"namespaces"}),
      Rule(kRead, {kApps},
           {"controllerrevisions", "daemonsets", "daemonsets/status", "deployments", "deployments/scale",
            "deployments/status", "replicasets", "replicasets/scale", "replicasets/status", "statefulsets",
            "statefulsets/scale", "statefulsets/status"}),
      Rule(kRead, {kAutoscaling}, {"horizontalpodautoscalers", "horizontalpodautoscalers/status"}),
      Rule(kRead, {kBatch}, {"cronjobs", "cronjobs/status", "jobs", "jobs/status"}),
      Rule(kRead, {kPolicy}, {"poddisruptionbudgets", "poddisruptionbudgets/status"}),
      Rule(kRead, {kNetworking}, {"ingresses", "ingresses/status", "networkpolicies"}),
      Rule(kRead, {kDiscovery}, {"endpointslices"}),
      // metrics-server's system:aggregated-metrics-reader, aggregated into view/edit/admin.
      Rule(kRead, {kMetrics}, {"pods", "nodes"}),
  };
}

// edit: view, plus writing the workload kinds, Secrets, ConfigMaps and Services.
std::vector<api::PolicyRule> EditRules() {
  std::vector<api::PolicyRule> rules = ViewRules();
  rules.push_back(Rule(kRead, {kCore}, {"secrets", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"}));
  rules.push_back(Rule({"create", "delete", "deletecollection", "patch", "update"}, {kCore},
                       {"pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"}));
  rules.push_back(Rule({"create"}, {kCore}, {"pods/eviction"}));
  rules.push_back(Rule(kWrite, {kCore},
                       {"configmaps", "endpoints", "persistentvolumeclaims", "replicationcontrollers",
                        "replicationcontrollers/scale", "secrets", "serviceaccounts", "services"}));
  rules.push_back(Rule({"create"}, {kCore}, {"serviceaccounts/token"}));
  rules.push_back(Rule(kWrite, {kApps},
                       {"daemonsets", "deployments", "deployments/rollback", "deployments/scale", "replicasets",
                        "replicasets/scale", "statefulsets", "statefulsets/scale"}));
  rules.push_back(Rule(kWrite, {kAutoscaling}, {"horizontalpodautoscalers"}));
  rules.push_back(Rule(kWrite, {kBatch}, {"cronjobs", "jobs"}));
  rules.push_back(Rule(kWrite, {kPolicy}, {"poddisruptionbudgets"}));
  rules.push_back(Rule(kWrite, {kNetworking}, {"ingresses", "networkpolicies"}));
  return rules;
}

// admin: edit, plus Roles and RoleBindings in the namespace (RBAC's escalation check,
// done by the apiserver on write, keeps an admin from granting more than it holds).
std::vector<api::PolicyRule> AdminRules() {
  std::vector<api::PolicyRule> rules = EditRules();
  rules.push_back(Rule(kReadWrite, {kRbacApiGroup}, {"rolebindings", "roles"}));
  rules.push_back(Rule({"create"}, {kAuthorization}, {"localsubjectaccessreviews"}));
  return rules;
}


}  // namespace

BootstrapPolicy DefaultBootstrapPolicy() {
  BootstrapPolicy policy;
  auto& roles = policy.cluster_roles;

  roles.push_back(MakeClusterRole("cluster-admin", {Rule({"*"}, {"*"}, {"*"}), UrlRule({"*"}, {"*"})}));
  roles.push_back(MakeClusterRole("admin", AdminRules()));
  roles.push_back(MakeClusterRole("edit", EditRules()));
  roles.push_back(MakeClusterRole("view", ViewRules()));
  roles.push_back(MakeClusterRole(
      "system:basic-user",
      {Rule({"create"}, {kAuthorization}, {"selfsubjectaccessreviews", "selfsubjectrulesreviews"}),
       Rule({"create"}, {kAuthentication}, {"selfsubjectreviews"})}));
  roles.push_back(MakeClusterRole(
      "system:discovery", {UrlRule({"get"}, {"/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi",
                                             "/openapi/*", "/readyz", "/version", "/version/"})}));
  roles.push_back(MakeClusterRole("system:public-info-viewer",
                                  {UrlRule({"get"}, {"/healthz", "/livez", "/readyz", "/version", "/version/"})}));

  roles.push_back(MakeClusterRole(
      "system:kube-scheduler",
      {EventsRule(),
       // Leader election.
       Rule({"create"}, {kCoordination}, {"leases"}),
       Rule({"get", "update"}, {kCoordination}, {"leases"}, {kSchedulerLeaseName}),
       // What it schedules and onto what.
       Rule(kRead, {kCore}, {"nodes", "namespaces"}),
       Rule({"get", "list", "watch", "delete"}, {kCore}, {"pods"}),  // delete: preemption
       Rule({"create"}, {kCore}, {"pods/binding", "bindings"}),
       Rule({"patch", "update"}, {kCore}, {"pods/status"}),
       // Things that select pods (spreading) and that pods use.
       Rule(kRead, {kCore}, {"services", "replicationcontrollers", "persistentvolumeclaims"}),
       Rule(kRead, {kApps}, {"replicasets", "statefulsets"}),
       Rule(kRead, {kScheduling}, {"priorityclasses"}),
       Rule({"create"}, {kAuthentication}, {"tokenreviews"}),
       Rule({"create"}, {kAuthorization}, {"subjectaccessreviews"})}));

  // ksim's controller-manager runs every controller under its own identity, so its role is
  // Kubernetes' system:kube-controller-manager plus the system:controller:* roles of the
  // controllers ksim implements.
  roles.push_back(MakeClusterRole(
      "system:kube-controller-manager",
      {EventsRule(),
       // Leader election.
       Rule({"create"}, {kCoordination}, {"leases"}),
       Rule({"get", "update"}, {kCoordination}, {"leases"}, {kControllerManagerLeaseName}),
       // Shared informers; the garbage collector and namespace controller act on anything.
       Rule({"list", "watch"}, {"*"}, {"*"}),
       Rule({"get", "patch", "update", "delete", "deletecollection"}, {"*"}, {"*"}),
       // Service accounts and their tokens.
       Rule({"create"}, {kCore}, {"secrets", "serviceaccounts", "serviceaccounts/token"}),
       // Replication, ReplicaSet, StatefulSet, DaemonSet, Job: their pods.
       Rule({"create"}, {kCore}, {"pods", "pods/binding", "pods/eviction", "persistentvolumeclaims"}),
       // Deployment: its ReplicaSets; DaemonSet and StatefulSet: their ControllerRevisions
       // (without them neither creates a pod); CronJob: its Jobs.
       Rule({"create"}, {kApps}, {"replicasets", "controllerrevisions"}),
       Rule({"create"}, {kBatch}, {"jobs"}),
       // The root-CA publisher: kube-root-ca.crt in every namespace.
       Rule({"create"}, {kCore}, {"configmaps"}),
       // Endpoints and EndpointSlice controllers.
       Rule({"create"}, {kCore}, {"endpoints"}),
       Rule({"create"}, {kDiscovery}, {"endpointslices"}),
       // Namespace controller.
       Rule({"update"}, {kCore}, {"namespaces/finalize", "namespaces/status"}),
       Rule({"create"}, {kAuthentication}, {"tokenreviews"}),
       Rule({"create"}, {kAuthorization}, {"subjectaccessreviews"})}));

  roles.push_back(MakeClusterRole(
      "system:node",
      {EventsRule(),
       Rule({"create"}, {kAuthentication}, {"tokenreviews"}),
       Rule({"create"}, {kAuthorization}, {"subjectaccessreviews", "localsubjectaccessreviews"}),
       // Register its Node and report status.
       Rule({"create", "get", "list", "watch", "update", "patch"}, {kCore}, {"nodes"}),
       Rule({"update", "patch"}, {kCore}, {"nodes/status"}),
       // Pods bound to it, mirror pods of static pods, pod status and evictions.
       Rule(kRead, {kCore}, {"pods"}),
       Rule({"create", "delete"}, {kCore}, {"pods"}),
       Rule({"update", "patch"}, {kCore}, {"pods/status"}),
       Rule({"create"}, {kCore}, {"pods/eviction"}),
       // Environment and volumes of its pods.
       Rule(kRead, {kCore}, {"services"}),
       Rule(kRead, {kCore}, {"secrets", "configmaps"}),
       Rule({"get"}, {kCore}, {"persistentvolumeclaims", "endpoints"}),
       Rule({"create"}, {kCore}, {"serviceaccounts/token"}),
       // Node client certificates.
       Rule({"create", "get", "list", "watch"}, {kCertificates}, {"certificatesigningrequests"}),
       // Heartbeat leases.
       Rule({"get", "create", "update", "patch", "delete"}, {kCoordination}, {"leases"})}));

  roles.push_back(MakeClusterRole("system:node-proxier",
                                  {Rule({"list", "watch"}, {kCore}, {"services", "endpoints"}),
                                   Rule({"list", "watch"}, {kDiscovery}, {"endpointslices"}),
                                   Rule({"get", "list", "watch"}, {kCore}, {"nodes"}), EventsRule()}));
  // metrics-server installs it (labelled to aggregate into view, edit and admin, which
  // carry its rule here); `kubectl top` as a user without those roles needs it bound.
  roles.push_back(MakeClusterRole("system:aggregated-metrics-reader", {Rule(kRead, {kMetrics}, {"pods", "nodes"})}));
  roles.push_back(MakeClusterRole("system:kube-dns", {Rule({"list", "watch"}, {kCore}, {"endpoints", "services"})}));

  auto& bindings = policy.cluster_role_bindings;
  bindings.push_back(MakeBinding("cluster-admin", "cluster-admin", {MakeSubject("Group", kMastersGroup)}));
  bindings.push_back(
      MakeBinding("system:basic-user", "system:basic-user", {MakeSubject("Group", kAuthenticatedGroup)}));
  bindings.push_back(
      MakeBinding("system:discovery", "system:discovery", {MakeSubject("Group", kAuthenticatedGroup)}));
  bindings.push_back(MakeBinding("system:public-info-viewer", "system:public-info-viewer",
                                 {MakeSubject("Group", kAuthenticatedGroup),
                                  MakeSubject("Group", "system:unauthenticated")}));
  bindings.push_back(MakeBinding("system:kube-scheduler", "system:kube-scheduler",
                                 {MakeSubject("User", "system:kube-scheduler")}));
  bindings.push_back(MakeBinding("system:kube-controller-manager", "system:kube-controller-manager",
                                 {MakeSubject("User", "system:kube-controller-manager")}));
  // Kubernetes leaves this binding empty and authorizes kubelets with its Node authorizer
  // (which ksim does not have); here the group gets the role.
  bindings.push_back(MakeBinding("system:node", "system:node", {MakeSubject("Group", "system:nodes")}));
  bindings.push_back(
      MakeBinding("system:node-proxier", "system:node-proxier", {MakeSubject("User", "system:kube-proxy")}));
  bindings.push_back(MakeBinding("system:kube-dns", "system:kube-dns",
                                 {MakeSubject("ServiceAccount", "kube-dns", "kube-system")}));

  std::sort(roles.begin(), roles.end(),
            [](const auto& a, const auto& b) { return a.metadata().name() < b.metadata().name(); });
  std::sort(bindings.begin(), bindings.end(),
            [](const auto& a, const auto& b) { return a.metadata().name() < b.metadata().name(); });
  return policy;
}

void LoadPolicy(const BootstrapPolicy& policy, RbacAuthorizer* authorizer) {
  for (const api::ClusterRole& role : policy.cluster_roles) authorizer->AddClusterRole(role);
  for (const api::ClusterRoleBinding& binding : policy.cluster_role_bindings) {
    authorizer->AddClusterRoleBinding(binding);
  }
}

}  // namespace ksim::apiserver
