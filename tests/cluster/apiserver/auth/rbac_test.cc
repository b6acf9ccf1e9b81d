// RBAC: rule matching, binding resolution, subjects, decisions and their messages.
#include "cluster/apiserver/auth/rbac.h"

#include <gtest/gtest.h>

#include "tests/cluster/apiserver/auth/rbac_test_util.h"

namespace ksim::apiserver {
namespace {

using namespace ksim::apiserver::testing;  // NOLINT: test builders

const UserInfo kBob = User("bob");

struct RuleCase {
  const char* what;
  api::PolicyRule rule;
  Attributes request;
  bool allowed;
};

void PrintTo(const RuleCase& c, std::ostream* os) { *os << c.what; }

class RuleMatching : public ::testing::TestWithParam<RuleCase> {};

TEST_P(RuleMatching, FollowsKubernetes) {
  EXPECT_EQ(RuleAllows(GetParam().request, GetParam().rule), GetParam().allowed) << GetParam().what;
}

INSTANTIATE_TEST_SUITE_P(
    Table, RuleMatching,
    ::testing::Values(
        // verbs
        RuleCase{"verb listed", Rule({"get"}, {""}, {"pods"}), Request(kBob, "get", "", "pods", "d", "p"), true},
        RuleCase{"verb not listed", Rule({"get"}, {""}, {"pods"}), Request(kBob, "delete", "", "pods", "d", "p"),
                 false},
        RuleCase{"verb wildcard", Rule({"*"}, {""}, {"pods"}), Request(kBob, "deletecollection", "", "pods", "d"),
                 true},
        RuleCase{"no verbs", Rule({}, {""}, {"pods"}), Request(kBob, "get", "", "pods", "d", "p"), false},
        // api groups
        RuleCase{"core group", Rule({"get"}, {""}, {"deployments"}), Request(kBob, "get", "apps", "deployments"),
                 false},
        RuleCase{"named group", Rule({"get"}, {"apps"}, {"deployments"}),
                 Request(kBob, "get", "apps", "deployments"), true},
        RuleCase{"group wildcard", Rule({"get"}, {"*"}, {"deployments"}),
                 Request(kBob, "get", "apps", "deployments"), true},
        RuleCase{"group case matters", Rule({"get"}, {"Apps"}, {"deployments"}),
                 Request(kBob, "get", "apps", "deployments"), false},
        // resources and subresources
        RuleCase{"resource listed", Rule({"get"}, {""}, {"configmaps", "pods"}), Request(kBob, "get", "", "pods"),
                 true},
        RuleCase{"resource not listed", Rule({"get"}, {""}, {"pods"}), Request(kBob, "get", "", "secrets"), false},
        RuleCase{"resource does not cover its subresource", Rule({"update"}, {""}, {"pods"}),
                 Request(kBob, "update", "", "pods", "d", "p", "status"), false},
        RuleCase{"resource/subresource", Rule({"create"}, {""}, {"pods/binding"}),
                 Request(kBob, "create", "", "pods", "d", "p", "binding"), true},
        RuleCase{"resource/subresource does not cover the resource", Rule({"get"}, {""}, {"pods/status"}),
                 Request(kBob, "get", "", "pods", "d", "p"), false},
        RuleCase{"resource/subresource of another resource", Rule({"get"}, {""}, {"nodes/status"}),
                 Request(kBob, "get", "", "pods", "d", "p", "status"), false},
        RuleCase{"resource wildcard covers subresources", Rule({"get"}, {""}, {"*"}),
                 Request(kBob, "get", "", "pods", "d", "p", "log"), true},
        RuleCase{"*/subresource", Rule({"update"}, {"*"}, {"*/status"}),
                 Request(kBob, "update", "apps", "deployments", "d", "x", "status"), true},
        RuleCase{"*/subresource needs a subresource", Rule({"update"}, {"*"}, {"*/status"}),
                 Request(kBob, "update", "apps", "deployments", "d", "x"), false},
        RuleCase{"*/subresource of another subresource", Rule({"update"}, {"*"}, {"*/status"}),
                 Request(kBob, "update", "apps", "deployments", "d", "x", "scale"), false},
        RuleCase{"suffix is not a subresource match", Rule({"update"}, {"*"}, {"*/tatus"}),
                 Request(kBob, "update", "", "pods", "d", "x", "status"), false},
        // resource names
        RuleCase{"resourceNames: named object", Rule({"get"}, {""}, {"configmaps"}, {"a", "b"}),
                 Request(kBob, "get", "", "configmaps", "d", "b"), true},
        RuleCase{"resourceNames: other object", Rule({"get"}, {""}, {"configmaps"}, {"a"}),
                 Request(kBob, "get", "", "configmaps", "d", "c"), false},
        RuleCase{"resourceNames never allow list", Rule({"list"}, {""}, {"configmaps"}, {"a"}),
                 Request(kBob, "list", "", "configmaps", "d"), false},
        RuleCase{"resourceNames never allow watch of all", Rule({"watch"}, {""}, {"configmaps"}, {"a"}),
                 Request(kBob, "watch", "", "configmaps", "d"), false},
        RuleCase{"resourceNames never allow create", Rule({"create"}, {""}, {"configmaps"}, {"a"}),
                 Request(kBob, "create", "", "configmaps", "d"), false},
        RuleCase{"resourceNames allow a named watch", Rule({"watch"}, {""}, {"configmaps"}, {"a"}),
                 Request(kBob, "watch", "", "configmaps", "d", "a"), true},
        RuleCase{"no resourceNames allow list", Rule({"list"}, {""}, {"configmaps"}),
                 Request(kBob, "list", "", "configmaps", "d"), true},
        RuleCase{"resourceNames on a subresource", Rule({"update"}, {""}, {"pods/status"}, {"p"}),
                 Request(kBob, "update", "", "pods", "d", "p", "status"), true},
        // non-resource URLs
        RuleCase{"url exact", UrlRule({"get"}, {"/healthz"}), PathRequest(kBob, "get", "/healthz"), true},
        RuleCase{"url exact is not a prefix", UrlRule({"get"}, {"/healthz"}), PathRequest(kBob, "get", "/healthz/etcd"),
                 false},
        RuleCase{"url trailing * is a prefix", UrlRule({"get"}, {"/api/*"}), PathRequest(kBob, "get", "/api/v1/x"),
                 true},
        RuleCase{"url prefix covers its empty rest", UrlRule({"get"}, {"/api/*"}), PathRequest(kBob, "get", "/api/"),
                 true},
        RuleCase{"url prefix needs its slash", UrlRule({"get"}, {"/api/*"}), PathRequest(kBob, "get", "/api"), false},
        RuleCase{"url prefix without slash", UrlRule({"get"}, {"/api*"}), PathRequest(kBob, "get", "/apis/apps"),
                 true},
        RuleCase{"url wildcard", UrlRule({"get"}, {"*"}), PathRequest(kBob, "get", "/metrics"), true},
        RuleCase{"url verb", UrlRule({"get"}, {"*"}), PathRequest(kBob, "post", "/metrics"), false},
        RuleCase{"resource rule never allows a path", Rule({"*"}, {"*"}, {"*"}), PathRequest(kBob, "get", "/metrics"),
                 false},
        RuleCase{"url rule never allows a resource", UrlRule({"*"}, {"*"}), Request(kBob, "get", "", "pods"),
                 false}));

// ---------------------------------------------------------------- bindings

class Authorizer : public ::testing::Test {
 protected:
  void SetUp() override {
    rbac_.AddClusterRole(ClusterRole("pod-reader", {Rule({"get", "list", "watch"}, {""}, {"pods"})}));
    rbac_.AddClusterRole(ClusterRole("node-reader", {Rule({"get", "list"}, {""}, {"nodes"})}));
    rbac_.AddClusterRole(ClusterRole("health", {UrlRule({"get"}, {"/healthz", "/debug/*"})}));
    rbac_.AddRole(Role("team-a", "cm-writer", {Rule({"create", "update"}, {""}, {"configmaps"})}));
  }
  bool Allowed(const Attributes& a) const { return rbac_.Authorize(a).allowed; }

  RbacAuthorizer rbac_;
};

TEST_F(Authorizer, DeniesWithoutBindings) {
  const Decision d = rbac_.Authorize(Request(kBob, "get", "", "pods", "default", "x"));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason,
            "pods \"x\" is forbidden: User \"bob\" cannot get resource \"pods\" in API group \"\" in the namespace "
            "\"default\"");
}

TEST_F(Authorizer, ClusterRoleBindingGrantsEverywhere) {
  rbac_.AddClusterRoleBinding(ClusterBinding("read-pods", "pod-reader", {Subject("User", "bob")}));
  EXPECT_TRUE(Allowed(Request(kBob, "get", "", "pods", "default", "x")));
  EXPECT_TRUE(Allowed(Request(kBob, "list", "", "pods", "kube-system")));
  EXPECT_TRUE(Allowed(Request(kBob, "list", "", "pods")));  // all namespaces
  EXPECT_FALSE(Allowed(Request(kBob, "delete", "", "pods", "default", "x")));
  EXPECT_FALSE(Allowed(Request(User("alice"), "get", "", "pods", "default", "x")));
  const Decision d = rbac_.Authorize(Request(kBob, "get", "", "pods", "default", "x"));
  EXPECT_EQ(d.reason, "RBAC: allowed by ClusterRoleBinding \"read-pods\" of ClusterRole \"pod-reader\" to User \"bob\"");
}

TEST_F(Authorizer, RoleBindingGrantsOnlyInItsNamespace) {
  rbac_.AddRoleBinding(Binding("team-a", "writers", "Role", "cm-writer", {Subject("User", "bob")}));
  EXPECT_TRUE(Allowed(Request(kBob, "create", "", "configmaps", "team-a")));
  EXPECT_FALSE(Allowed(Request(kBob, "create", "", "configmaps", "team-b")));
  EXPECT_FALSE(Allowed(Request(kBob, "create", "", "configmaps")));  // cluster scope
  EXPECT_EQ(rbac_.Authorize(Request(kBob, "update", "", "configmaps", "team-a", "c")).reason,
            "RBAC: allowed by RoleBinding \"writers/team-a\" of Role \"cm-writer\" to User \"bob\"");
}

TEST_F(Authorizer, RoleBindingReachesOnlyRolesOfItsNamespace) {
  // A Role of the same name in another namespace is not the one referenced.
  rbac_.AddRoleBinding(Binding("team-b", "writers", "Role", "cm-writer", {Subject("User", "bob")}));
  const Decision d = rbac_.Authorize(Request(kBob, "create", "", "configmaps", "team-b"));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason,
            "configmaps is forbidden: User \"bob\" cannot create resource \"configmaps\" in API group \"\" in the "
            "namespace \"team-b\": RBAC: role.rbac.authorization.k8s.io \"cm-writer\" not found");
}

TEST_F(Authorizer, RoleBindingToClusterRoleGrantsInTheBindingNamespace) {
  rbac_.AddRoleBinding(Binding("team-a", "readers", "ClusterRole", "pod-reader", {Subject("User", "bob")}));
  EXPECT_TRUE(Allowed(Request(kBob, "get", "", "pods", "team-a", "p")));
  EXPECT_FALSE(Allowed(Request(kBob, "get", "", "pods", "team-b", "p")));
  EXPECT_FALSE(Allowed(Request(kBob, "list", "", "pods")));
  // A cluster-scoped resource in the ClusterRole is not granted by a RoleBinding.
  rbac_.AddRoleBinding(Binding("team-a", "nodes", "ClusterRole", "node-reader", {Subject("User", "bob")}));
  EXPECT_FALSE(Allowed(Request(kBob, "get", "", "nodes", "", "n1")));
  EXPECT_EQ(rbac_.Authorize(Request(kBob, "get", "", "pods", "team-a", "p")).reason,
            "RBAC: allowed by RoleBinding \"readers/team-a\" of ClusterRole \"pod-reader\" to User \"bob\"");
}

TEST_F(Authorizer, ClusterRoleBindingCannotReachARole) {
  api::ClusterRoleBinding b = ClusterBinding("bad", "cm-writer", {Subject("User", "bob")});
  b.mutable_role_ref()->set_kind("Role");
  rbac_.AddClusterRoleBinding(b);
  const Decision d = rbac_.Authorize(Request(kBob, "create", "", "configmaps", "team-a"));
  EXPECT_FALSE(d.allowed);
  EXPECT_NE(d.reason.find("RBAC: role.rbac.authorization.k8s.io \"cm-writer\" not found"), std::string::npos);
}

TEST_F(Authorizer, GroupSubjects) {
  rbac_.AddClusterRoleBinding(ClusterBinding("devs-read", "pod-reader", {Subject("Group", "devs")}));
  EXPECT_TRUE(Allowed(Request(User("carol", {"devs"}), "get", "", "pods", "x", "p")));
  EXPECT_FALSE(Allowed(Request(User("carol", {"ops"}), "get", "", "pods", "x", "p")));
  // A group subject is not a user of that name, and vice versa.
  EXPECT_FALSE(Allowed(Request(User("devs"), "get", "", "pods", "x", "p")));
  rbac_.AddClusterRoleBinding(ClusterBinding("user-devs", "node-reader", {Subject("User", "devs")}));
  EXPECT_FALSE(Allowed(Request(User("carol", {"devs"}), "get", "", "nodes", "", "n")));
  EXPECT_EQ(rbac_.Authorize(Request(User("carol", {"devs"}), "get", "", "pods", "x", "p")).reason,
            "RBAC: allowed by ClusterRoleBinding \"devs-read\" of ClusterRole \"pod-reader\" to Group \"devs\"");
}

TEST_F(Authorizer, ServiceAccountSubjects) {
  const UserInfo builder = User("system:serviceaccount:team-a:builder",
                                {"system:serviceaccounts", "system:serviceaccounts:team-a", "system:authenticated"});
  // Qualified by namespace in a ClusterRoleBinding.
  rbac_.AddClusterRoleBinding(
      ClusterBinding("sa-nodes", "node-reader", {Subject("ServiceAccount", "builder", "team-a")}));
  EXPECT_TRUE(Allowed(Request(builder, "get", "", "nodes", "", "n")));
  EXPECT_EQ(rbac_.Authorize(Request(builder, "get", "", "nodes", "", "n")).reason,
            "RBAC: allowed by ClusterRoleBinding \"sa-nodes\" of ClusterRole \"node-reader\" to ServiceAccount "
            "\"builder/team-a\"");
  // Unqualified in a RoleBinding: the binding's namespace.
  rbac_.AddRoleBinding(Binding("team-a", "sa-cm", "Role", "cm-writer", {Subject("ServiceAccount", "builder")}));
  EXPECT_TRUE(Allowed(Request(builder, "create", "", "configmaps", "team-a")));
  EXPECT_EQ(rbac_.Authorize(Request(builder, "create", "", "configmaps", "team-a")).reason,
            "RBAC: allowed by RoleBinding \"sa-cm/team-a\" of Role \"cm-writer\" to ServiceAccount "
            "\"builder/team-a\"");
  // The same name in another namespace is another account.
  const UserInfo other = User("system:serviceaccount:team-b:builder", {"system:serviceaccounts"});
  EXPECT_FALSE(Allowed(Request(other, "get", "", "nodes", "", "n")));
  // Unqualified in a ClusterRoleBinding: nobody.
  rbac_.AddClusterRoleBinding(ClusterBinding("sa-pods", "pod-reader", {Subject("ServiceAccount", "builder")}));
  EXPECT_FALSE(Allowed(Request(builder, "get", "", "pods", "team-a", "p")));
  // A RoleBinding may name an account of another namespace.
  rbac_.AddRoleBinding(
      Binding("team-c", "cross", "ClusterRole", "pod-reader", {Subject("ServiceAccount", "builder", "team-b")}));
  EXPECT_TRUE(Allowed(Request(other, "get", "", "pods", "team-c", "p")));
  EXPECT_FALSE(Allowed(Request(builder, "get", "", "pods", "team-c", "p")));
  // The service-accounts groups work as groups.
  rbac_.AddRoleBinding(Binding("team-d", "all-sas", "ClusterRole", "pod-reader",
                               {Subject("Group", "system:serviceaccounts:team-a")}));
  EXPECT_TRUE(Allowed(Request(builder, "get", "", "pods", "team-d", "p")));
  EXPECT_FALSE(Allowed(Request(other, "get", "", "pods", "team-d", "p")));
}

TEST_F(Authorizer, UnknownSubjectKindsMatchNobody) {
  rbac_.AddClusterRoleBinding(ClusterBinding("odd", "pod-reader", {Subject("Robot", "bob"), Subject("User", "")}));
  EXPECT_FALSE(Allowed(Request(kBob, "get", "", "pods", "x", "p")));
  EXPECT_FALSE(Allowed(Request(User(""), "get", "", "pods", "x", "p")));
}

TEST_F(Authorizer, SystemMastersMayDoAnything) {
  const UserInfo root = User("root", {"system:masters"});
  EXPECT_TRUE(Allowed(Request(root, "delete", "", "nodes", "", "n1")));
  EXPECT_TRUE(Allowed(Request(root, "escalate", "rbac.authorization.k8s.io", "clusterroles", "", "x")));
  EXPECT_TRUE(Allowed(PathRequest(root, "get", "/metrics")));
}

TEST_F(Authorizer, NonResourceUrlsComeFromClusterRoleBindings) {
  rbac_.AddClusterRoleBinding(ClusterBinding("health", "health", {Subject("User", "bob")}));
  EXPECT_TRUE(Allowed(PathRequest(kBob, "get", "/healthz")));
  EXPECT_TRUE(Allowed(PathRequest(kBob, "get", "/debug/pprof")));
  EXPECT_FALSE(Allowed(PathRequest(kBob, "get", "/metrics")));
  EXPECT_EQ(rbac_.Authorize(PathRequest(kBob, "get", "/metrics")).reason,
            "forbidden: User \"bob\" cannot get path \"/metrics\"");
  // A RoleBinding to the same ClusterRole grants no paths.
  rbac_.AddRoleBinding(Binding("team-a", "health", "ClusterRole", "health", {Subject("User", "alice")}));
  Attributes a = PathRequest(User("alice"), "get", "/healthz");
  a.namespace_ = "team-a";
  EXPECT_FALSE(Allowed(a));
}

TEST_F(Authorizer, AddReplacesAndRemoveRevokes) {
  rbac_.AddClusterRoleBinding(ClusterBinding("b", "pod-reader", {Subject("User", "bob")}));
  ASSERT_TRUE(Allowed(Request(kBob, "get", "", "pods", "x", "p")));
  // The same binding now names alice instead: bob loses access, alice gains it.
  rbac_.AddClusterRoleBinding(ClusterBinding("b", "pod-reader", {Subject("User", "alice")}));
  EXPECT_FALSE(Allowed(Request(kBob, "get", "", "pods", "x", "p")));
  EXPECT_TRUE(Allowed(Request(User("alice"), "get", "", "pods", "x", "p")));
  EXPECT_EQ(rbac_.cluster_role_binding_count(), 1u);
  rbac_.RemoveClusterRoleBinding("b");
  EXPECT_FALSE(Allowed(Request(User("alice"), "get", "", "pods", "x", "p")));

  rbac_.AddRoleBinding(Binding("team-a", "w", "Role", "cm-writer", {Subject("User", "bob")}));
  ASSERT_TRUE(Allowed(Request(kBob, "create", "", "configmaps", "team-a")));
  rbac_.AddRoleBinding(Binding("team-a", "w", "Role", "cm-writer", {Subject("Group", "g")}));
  EXPECT_FALSE(Allowed(Request(kBob, "create", "", "configmaps", "team-a")));
  EXPECT_TRUE(Allowed(Request(User("x", {"g"}), "create", "", "configmaps", "team-a")));
  rbac_.RemoveRoleBinding("team-a", "w");
  EXPECT_FALSE(Allowed(Request(User("x", {"g"}), "create", "", "configmaps", "team-a")));
  EXPECT_EQ(rbac_.role_binding_count(), 0u);
}

TEST_F(Authorizer, RolesChangeUnderTheirBindings) {
  rbac_.AddRoleBinding(Binding("team-a", "w", "Role", "cm-writer", {Subject("User", "bob")}));
  rbac_.AddClusterRoleBinding(ClusterBinding("r", "pod-reader", {Subject("User", "bob")}));
  rbac_.AddRole(Role("team-a", "cm-writer", {Rule({"delete"}, {""}, {"configmaps"})}));
  EXPECT_FALSE(Allowed(Request(kBob, "create", "", "configmaps", "team-a")));
  EXPECT_TRUE(Allowed(Request(kBob, "delete", "", "configmaps", "team-a", "c")));
  rbac_.RemoveRole("team-a", "cm-writer");
  rbac_.RemoveClusterRole("pod-reader");
  const Decision d = rbac_.Authorize(Request(kBob, "delete", "", "configmaps", "team-a", "c"));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason,
            "configmaps \"c\" is forbidden: User \"bob\" cannot delete resource \"configmaps\" in API group \"\" in "
            "the namespace \"team-a\": RBAC: [clusterrole.rbac.authorization.k8s.io \"pod-reader\" not found, "
            "role.rbac.authorization.k8s.io \"cm-writer\" not found]");
}

TEST_F(Authorizer, FirstGrantingBindingInNameOrderIsReported) {
  rbac_.AddClusterRoleBinding(ClusterBinding("z-user", "pod-reader", {Subject("User", "bob")}));
  rbac_.AddClusterRoleBinding(ClusterBinding("a-group", "pod-reader", {Subject("Group", "devs")}));
  EXPECT_EQ(rbac_.Authorize(Request(User("bob", {"devs"}), "get", "", "pods", "x", "p")).reason,
            "RBAC: allowed by ClusterRoleBinding \"a-group\" of ClusterRole \"pod-reader\" to Group \"devs\"");
}

TEST_F(Authorizer, ManyUnrelatedBindingsDoNotChangeTheDecision) {
  for (int i = 0; i < 2000; ++i) {
    const std::string n = std::to_string(i);
    rbac_.AddClusterRoleBinding(ClusterBinding("crb-" + n, "pod-reader", {Subject("User", "user-" + n)}));
    rbac_.AddRoleBinding(Binding("ns-" + n, "rb", "ClusterRole", "pod-reader", {Subject("Group", "g-" + n)}));
  }
  EXPECT_FALSE(Allowed(Request(kBob, "get", "", "pods", "ns-7", "p")));
  EXPECT_TRUE(Allowed(Request(User("user-1999"), "get", "", "pods", "ns-7", "p")));
  EXPECT_TRUE(Allowed(Request(User("x", {"g-7"}), "get", "", "pods", "ns-7", "p")));
  EXPECT_FALSE(Allowed(Request(User("x", {"g-7"}), "get", "", "pods", "ns-8", "p")));
}

// ---------------------------------------------------------------- messages

struct MessageCase {
  Attributes request;
  const char* message;
};

class Forbidden : public ::testing::TestWithParam<MessageCase> {};

TEST_P(Forbidden, ReadsLikeKubernetes) { EXPECT_EQ(ForbiddenMessage(GetParam().request), GetParam().message); }

INSTANTIATE_TEST_SUITE_P(
    Table, Forbidden,
    ::testing::Values(
        MessageCase{Request(kBob, "get", "", "pods", "default", "x"),
                    "pods \"x\" is forbidden: User \"bob\" cannot get resource \"pods\" in API group \"\" in the "
                    "namespace \"default\""},
        MessageCase{Request(kBob, "list", "", "nodes"),
                    "nodes is forbidden: User \"bob\" cannot list resource \"nodes\" in API group \"\" at the cluster "
                    "scope"},
        MessageCase{Request(kBob, "create", "", "pods", "default", "web-0", "binding"),
                    "pods \"web-0\" is forbidden: User \"bob\" cannot create resource \"pods/binding\" in API group "
                    "\"\" in the namespace \"default\""},
        MessageCase{Request(kBob, "update", "apps", "deployments", "prod", "web", "scale"),
                    "deployments.apps \"web\" is forbidden: User \"bob\" cannot update resource "
                    "\"deployments/scale\" in API group \"apps\" in the namespace \"prod\""},
        MessageCase{Request(User("system:serviceaccount:a:b"), "watch", "coordination.k8s.io", "leases", "a"),
                    "leases.coordination.k8s.io is forbidden: User \"system:serviceaccount:a:b\" cannot watch "
                    "resource \"leases\" in API group \"coordination.k8s.io\" in the namespace \"a\""},
        MessageCase{PathRequest(kBob, "get", "/metrics"), "forbidden: User \"bob\" cannot get path \"/metrics\""},
        MessageCase{PathRequest(User("<b>&"), "get", "/x?<y>"),
                    "forbidden: User \"&lt;b&gt;&amp;\" cannot get path \"/x?&lt;y&gt;\""}));

}  // namespace
}  // namespace ksim::apiserver
