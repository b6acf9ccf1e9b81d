// The bootstrap policy lets each component do its job and no more than Kubernetes would.
#include "cluster/apiserver/auth/bootstrap.h"

#include <gtest/gtest.h>

#include <set>

#include "cluster/api/registry.h"
#include "tests/cluster/apiserver/auth/rbac_test_util.h"

namespace ksim::apiserver {
namespace {

using namespace ksim::apiserver::testing;  // NOLINT: test builders

class Bootstrap : public ::testing::Test {
 protected:
  void SetUp() override { LoadPolicy(DefaultBootstrapPolicy(), &rbac_); }
  bool Allowed(const Attributes& a) const { return rbac_.Authorize(a).allowed; }

  RbacAuthorizer rbac_;
  const UserInfo scheduler_ = User("system:kube-scheduler", {"system:authenticated"});
  const UserInfo controllers_ = User("system:kube-controller-manager", {"system:authenticated"});
  const UserInfo node_ = User("system:node:n1", {"system:nodes", "system:authenticated"});
};

TEST_F(Bootstrap, PolicyIsSortedDeterministicAndSelfContained) {
  const BootstrapPolicy a = DefaultBootstrapPolicy();
  const BootstrapPolicy b = DefaultBootstrapPolicy();
  ASSERT_EQ(a.cluster_roles.size(), b.cluster_roles.size());
  std::set<std::string> roles;
  for (size_t i = 0; i < a.cluster_roles.size(); ++i) {
    EXPECT_EQ(a.cluster_roles[i].SerializeAsString(), b.cluster_roles[i].SerializeAsString());
    if (i > 0) {
      EXPECT_LT(a.cluster_roles[i - 1].metadata().name(), a.cluster_roles[i].metadata().name());
    }
    EXPECT_EQ(a.cluster_roles[i].metadata().labels().at("kubernetes.io/bootstrapping"), "rbac-defaults");
    EXPECT_EQ(a.cluster_roles[i].kind(), "ClusterRole");
    roles.insert(a.cluster_roles[i].metadata().name());
  }
  for (const char* name : {"cluster-admin", "admin", "edit", "view", "system:basic-user", "system:kube-scheduler",
                           "system:kube-controller-manager", "system:node"}) {
    EXPECT_TRUE(roles.count(name)) << name;
  }
  for (size_t i = 0; i < a.cluster_role_bindings.size(); ++i) {
    const auto& binding = a.cluster_role_bindings[i];
    if (i > 0) {
      EXPECT_LT(a.cluster_role_bindings[i - 1].metadata().name(), binding.metadata().name());
    }
    EXPECT_TRUE(roles.count(binding.role_ref().name())) << binding.metadata().name();
    EXPECT_EQ(binding.role_ref().kind(), "ClusterRole");
    EXPECT_FALSE(binding.subjects().empty()) << binding.metadata().name();
  }
}

// Every resource a bootstrap rule names in a group the registry serves is a resource the
// registry knows (a typo would silently grant nothing).
TEST_F(Bootstrap, RulesNameServedResources) {
  const api::Registry& registry = api::Registry::Default();
  std::set<std::string> served_groups;
  // Groups with resources: a subresource's body (authentication.k8s.io TokenRequest) serves none.
  for (const api::KindInfo& k : registry.All()) {
    if (!k.resource.empty()) served_groups.insert(k.group);
  }
  for (const api::ClusterRole& role : DefaultBootstrapPolicy().cluster_roles) {
    for (const api::PolicyRule& rule : role.rules()) {
      for (const std::string& group : rule.api_groups()) {
        if (!served_groups.count(group)) continue;
        for (const std::string& resource : rule.resources()) {
          if (resource == "*") continue;
          const std::string base = resource.substr(0, resource.find('/'));
          EXPECT_NE(registry.ByGroupResource(group, base), nullptr)
              << role.metadata().name() << ": " << group << "/" << resource;
        }
      }
    }
  }
}

TEST_F(Bootstrap, SchedulerBindsPodsButCannotDeleteNodes) {
  EXPECT_TRUE(Allowed(Request(scheduler_, "create", "", "pods", "default", "web-0", "binding")));
  EXPECT_TRUE(Allowed(Request(scheduler_, "create", "", "bindings", "default")));
  EXPECT_TRUE(Allowed(Request(scheduler_, "watch", "", "pods")));
  EXPECT_TRUE(Allowed(Request(scheduler_, "list", "", "nodes")));
  EXPECT_TRUE(Allowed(Request(scheduler_, "patch", "", "pods", "default", "web-0", "status")));
  EXPECT_TRUE(Allowed(Request(scheduler_, "create", "", "events", "default")));
  EXPECT_TRUE(Allowed(Request(scheduler_, "update", "coordination.k8s.io", "leases", "kube-system", "kube-scheduler")));
  EXPECT_TRUE(Allowed(Request(scheduler_, "create", "coordination.k8s.io", "leases", "kube-system")));

  const Decision d = rbac_.Authorize(Request(scheduler_, "delete", "", "nodes", "", "n1"));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason,
            "nodes \"n1\" is forbidden: User \"system:kube-scheduler\" cannot delete resource \"nodes\" in API "
            "group \"\" at the cluster scope");
  EXPECT_FALSE(Allowed(Request(scheduler_, "create", "", "pods", "default")));
  EXPECT_FALSE(Allowed(Request(scheduler_, "get", "", "secrets", "default", "s")));
  EXPECT_FALSE(Allowed(Request(scheduler_, "update", "coordination.k8s.io", "leases", "kube-system", "other")));
  EXPECT_FALSE(Allowed(Request(scheduler_, "update", "", "pods", "default", "web-0")));
}

TEST_F(Bootstrap, ControllerManagerReconcilesWorkloads) {
  for (const Attributes& a : {
           Request(controllers_, "create", "", "pods", "default"),
           Request(controllers_, "delete", "", "pods", "default", "p"),
           Request(controllers_, "update", "apps", "replicasets", "default", "rs", "status"),
           Request(controllers_, "create", "apps", "replicasets", "default"),
           Request(controllers_, "create", "apps", "controllerrevisions", "default"),  // DaemonSet, StatefulSet
           Request(controllers_, "create", "batch", "jobs", "default"),                // CronJob
           Request(controllers_, "update", "apps", "deployments", "default", "d", "status"),
           Request(controllers_, "watch", "batch", "jobs"),
           Request(controllers_, "create", "", "endpoints", "default"),
           Request(controllers_, "patch", "", "nodes", "", "n1", "status"),
           Request(controllers_, "delete", "", "nodes", "", "n1"),
           Request(controllers_, "create", "", "secrets", "default"),
           Request(controllers_, "create", "apps", "controllerrevisions", "default"),
           Request(controllers_, "create", "batch", "jobs", "default"),
           Request(controllers_, "create", "", "configmaps", "default"),
           Request(controllers_, "update", "", "namespaces", "", "gone", "finalize"),
           Request(controllers_, "update", "coordination.k8s.io", "leases", "kube-system", "kube-controller-manager"),
       }) {
    EXPECT_TRUE(Allowed(a)) << a.verb << " " << a.resource << "/" << a.subresource;
  }
  // It cannot mint RBAC grants for itself.
  EXPECT_FALSE(Allowed(Request(controllers_, "create", "rbac.authorization.k8s.io", "clusterrolebindings")));
  EXPECT_FALSE(Allowed(PathRequest(controllers_, "get", "/metrics")));
}

TEST_F(Bootstrap, NodesRunTheirPods) {
  EXPECT_TRUE(Allowed(Request(node_, "create", "", "nodes")));
  EXPECT_TRUE(Allowed(Request(node_, "update", "", "nodes", "", "n1", "status")));
  EXPECT_TRUE(Allowed(Request(node_, "watch", "", "pods")));
  EXPECT_TRUE(Allowed(Request(node_, "create", "", "pods", "kube-system")));  // mirror pods
  EXPECT_TRUE(Allowed(Request(node_, "patch", "", "pods", "default", "p", "status")));
  EXPECT_TRUE(Allowed(Request(node_, "get", "", "secrets", "default", "s")));
  EXPECT_TRUE(Allowed(Request(node_, "update", "coordination.k8s.io", "leases", "kube-node-lease", "n1")));
  EXPECT_FALSE(Allowed(Request(node_, "delete", "", "nodes", "", "n2")));
  EXPECT_FALSE(Allowed(Request(node_, "create", "apps", "deployments", "default")));
  EXPECT_FALSE(Allowed(Request(node_, "create", "", "pods", "default", "p", "binding")));
}

TEST_F(Bootstrap, MastersAndClusterAdmins) {
  const UserInfo root = User("root", {"system:masters"});
  EXPECT_TRUE(Allowed(Request(root, "delete", "", "nodes", "", "n1")));
  EXPECT_TRUE(Allowed(PathRequest(root, "post", "/anything")));
  rbac_.AddClusterRoleBinding(ClusterBinding("ops", "cluster-admin", {Subject("User", "ops")}));
  EXPECT_TRUE(Allowed(Request(User("ops"), "escalate", "rbac.authorization.k8s.io", "clusterroles", "", "x")));
  EXPECT_TRUE(Allowed(PathRequest(User("ops"), "get", "/metrics")));
}

TEST_F(Bootstrap, AdminEditViewNest) {
  const UserInfo viewer = User("v");
  const UserInfo editor = User("e");
  const UserInfo admin = User("a");
  rbac_.AddRoleBinding(Binding("team", "v", "ClusterRole", "view", {Subject("User", "v")}));
  rbac_.AddRoleBinding(Binding("team", "e", "ClusterRole", "edit", {Subject("User", "e")}));
  rbac_.AddRoleBinding(Binding("team", "a", "ClusterRole", "admin", {Subject("User", "a")}));
  for (const UserInfo& u : {viewer, editor, admin}) {
    EXPECT_TRUE(Allowed(Request(u, "list", "", "pods", "team"))) << u.name;
    EXPECT_TRUE(Allowed(Request(u, "get", "apps", "deployments", "team", "d", "scale"))) << u.name;
    EXPECT_FALSE(Allowed(Request(u, "list", "", "pods", "other"))) << u.name;
    EXPECT_FALSE(Allowed(Request(u, "list", "", "nodes"))) << u.name;
  }
  EXPECT_FALSE(Allowed(Request(viewer, "get", "", "secrets", "team", "s")));
  EXPECT_FALSE(Allowed(Request(viewer, "create", "", "pods", "team")));
  for (const UserInfo& u : {editor, admin}) {
    EXPECT_TRUE(Allowed(Request(u, "get", "", "secrets", "team", "s"))) << u.name;
    EXPECT_TRUE(Allowed(Request(u, "create", "apps", "deployments", "team"))) << u.name;
    EXPECT_TRUE(Allowed(Request(u, "update", "apps", "deployments", "team", "d", "scale"))) << u.name;
  }
  // The kinds of the autoscaling, batch, policy, networking and discovery groups, as Kubernetes'
  // view and edit roles list them.
  for (const UserInfo& u : {viewer, editor, admin}) {
    EXPECT_TRUE(Allowed(Request(u, "list", "autoscaling", "horizontalpodautoscalers", "team"))) << u.name;
    EXPECT_TRUE(Allowed(Request(u, "get", "batch", "cronjobs", "team", "c"))) << u.name;
    EXPECT_TRUE(Allowed(Request(u, "watch", "policy", "poddisruptionbudgets", "team"))) << u.name;
    EXPECT_TRUE(Allowed(Request(u, "list", "networking.k8s.io", "ingresses", "team"))) << u.name;
    EXPECT_TRUE(Allowed(Request(u, "list", "discovery.k8s.io", "endpointslices", "team"))) << u.name;
    EXPECT_TRUE(Allowed(Request(u, "get", "apps", "controllerrevisions", "team", "r"))) << u.name;
    EXPECT_FALSE(Allowed(Request(u, "list", "", "persistentvolumes"))) << u.name;  // cluster-scoped
  }
  EXPECT_FALSE(Allowed(Request(viewer, "create", "batch", "cronjobs", "team")));
  for (const UserInfo& u : {editor, admin}) {
    EXPECT_TRUE(Allowed(Request(u, "create", "batch", "cronjobs", "team"))) << u.name;
    EXPECT_TRUE(Allowed(Request(u, "update", "autoscaling", "horizontalpodautoscalers", "team", "h"))) << u.name;
    EXPECT_TRUE(Allowed(Request(u, "delete", "policy", "poddisruptionbudgets", "team", "p"))) << u.name;
    EXPECT_TRUE(Allowed(Request(u, "patch", "networking.k8s.io", "networkpolicies", "team", "n"))) << u.name;
    EXPECT_FALSE(Allowed(Request(u, "create", "discovery.k8s.io", "endpointslices", "team"))) << u.name;
  }
  EXPECT_FALSE(Allowed(Request(editor, "create", "rbac.authorization.k8s.io", "rolebindings", "team")));
  EXPECT_TRUE(Allowed(Request(admin, "create", "rbac.authorization.k8s.io", "rolebindings", "team")));
  EXPECT_FALSE(Allowed(Request(admin, "create", "rbac.authorization.k8s.io", "clusterrolebindings")));
}

TEST_F(Bootstrap, EveryoneAuthenticatedMayDiscover) {
  const UserInfo anyone = User("someone", {"system:authenticated"});
  const UserInfo anonymous = User("system:anonymous", {"system:unauthenticated"});
  EXPECT_TRUE(Allowed(PathRequest(anyone, "get", "/apis/apps/v1")));
  EXPECT_TRUE(Allowed(PathRequest(anyone, "get", "/version")));
  EXPECT_TRUE(Allowed(Request(anyone, "create", "authorization.k8s.io", "selfsubjectaccessreviews")));
  EXPECT_FALSE(Allowed(Request(anyone, "list", "", "pods", "default")));
  EXPECT_TRUE(Allowed(PathRequest(anonymous, "get", "/healthz")));
  EXPECT_FALSE(Allowed(PathRequest(anonymous, "get", "/api/v1")));
}

}  // namespace
}  // namespace ksim::apiserver
