// The kind registry: lookups by apiVersion/kind, group/resource, descriptor and name.
#include "cluster/api/registry.h"

#include <gtest/gtest.h>

#include <set>
#include <tuple>

#include "cluster/api/apps.pb.h"
#include "cluster/api/core.pb.h"
#include "cluster/api/resource_verbs.h"
#include "cluster/api/scheduling.pb.h"

namespace ksim::api {
namespace {

TEST(Registry, EveryIssueKindIsRegistered) {
  const Registry& r = Registry::Default();
  const std::vector<std::pair<std::string, std::string>> kinds = {
      {"v1", "Namespace"},
      {"v1", "Node"},
      {"v1", "Pod"},
      {"v1", "Service"},
      {"v1", "Endpoints"},
      {"v1", "ConfigMap"},
      {"v1", "Secret"},
      {"v1", "ServiceAccount"},
      {"v1", "ResourceQuota"},
      {"v1", "LimitRange"},
      {"v1", "Event"},
      {"v1", "Binding"},
      {"v1", "ReplicationController"},
      {"v1", "Status"},
      {"apps/v1", "Deployment"},
      {"apps/v1", "ReplicaSet"},
      {"apps/v1", "StatefulSet"},
      {"apps/v1", "DaemonSet"},
      {"batch/v1", "Job"},
      {"coordination.k8s.io/v1", "Lease"},
      {"rbac.authorization.k8s.io/v1", "Role"},
      {"rbac.authorization.k8s.io/v1", "ClusterRole"},
      {"rbac.authorization.k8s.io/v1", "RoleBinding"},
      {"rbac.authorization.k8s.io/v1", "ClusterRoleBinding"},
      {"certificates.k8s.io/v1", "CertificateSigningRequest"},
      {"scheduling.k8s.io/v1", "PriorityClass"},
  };
  for (const auto& [api_version, kind] : kinds) {
    const KindInfo* info = r.ByApiVersionKind(api_version, kind);
    ASSERT_NE(info, nullptr) << api_version << " " << kind;
    EXPECT_EQ(info->ApiVersion(), api_version);
    EXPECT_EQ(r.ByDescriptor(info->descriptor), info);
    // Every top-level kind has apiVersion, kind and metadata fields.
    EXPECT_NE(info->descriptor->FindFieldByName("api_version"), nullptr) << kind;
    EXPECT_NE(info->descriptor->FindFieldByName("kind"), nullptr) << kind;
    EXPECT_NE(info->descriptor->FindFieldByName("metadata"), nullptr) << kind;
    if (!info->resource.empty()) {
      EXPECT_EQ(r.ByGroupResource(info->group, info->resource), info);
    }
  }
  EXPECT_EQ(r.ByApiVersionKind("apps/v1beta1", "Deployment"), nullptr);
  EXPECT_EQ(r.ByApiVersionKind("v1", "Deployment"), nullptr);
}

TEST(Registry, ScopesResourcesAndNames) {
  const Registry& r = Registry::Default();
  const KindInfo* deployments = r.ByGroupResource("apps", "deployments");
  ASSERT_NE(deployments, nullptr);
  EXPECT_EQ(deployments->kind, "Deployment");
  EXPECT_TRUE(deployments->namespaced);
  EXPECT_EQ(deployments->descriptor, Deployment::descriptor());
  EXPECT_FALSE(r.ByGroupResource("", "nodes")->namespaced);
  EXPECT_FALSE(r.ByGroupResource("scheduling.k8s.io", "priorityclasses")->namespaced);
  EXPECT_EQ(r.ByGroupResource("", "deployments"), nullptr);
  // metrics.k8s.io serves pods and nodes too: a bare name means the core group's.
  EXPECT_EQ(r.ByName("nodes"), r.ByGroupResource("", "nodes"));
  EXPECT_EQ(r.ByName("pods.metrics.k8s.io"), r.ByApiVersionKind("metrics.k8s.io/v1beta1", "PodMetrics"));
  EXPECT_EQ(r.ByName("nodes.metrics.k8s.io"), r.ByApiVersionKind("metrics.k8s.io/v1beta1", "NodeMetrics"));
  EXPECT_EQ(r.ByGroupResource("metrics.k8s.io", "pods")->ApiVersion(), "metrics.k8s.io/v1beta1");
  EXPECT_FALSE(r.ByGroupResource("metrics.k8s.io", "nodes")->namespaced);
  EXPECT_EQ(r.ByName("po")->kind, "Pod");
  EXPECT_EQ(r.ByName("pods")->kind, "Pod");
  EXPECT_EQ(r.ByName("pod")->kind, "Pod");
  EXPECT_EQ(r.ByName("Pod")->kind, "Pod");
  EXPECT_EQ(r.ByName("deploy")->kind, "Deployment");
  EXPECT_EQ(r.ByName("deployments.apps")->kind, "Deployment");
  EXPECT_EQ(r.ByName("deployments.batch"), nullptr);
  EXPECT_EQ(r.ByName("pc")->kind, "PriorityClass");
  EXPECT_EQ(r.ByName("status"), nullptr);  // not a resource
  EXPECT_EQ(r.ByName("nope"), nullptr);
  auto created = deployments->New();
  EXPECT_EQ(created->GetDescriptor(), Deployment::descriptor());
}

// Discovery's verbs: stored kinds serve all, metrics.k8s.io get and list only (so the
// garbage collector and the namespace controller leave them alone).
TEST(Registry, ResourceVerbs) {
  const Registry& r = Registry::Default();
  const KindInfo& pods = *r.ByGroupResource("", "pods");
  const KindInfo& pod_metrics = *r.ByGroupResource("metrics.k8s.io", "pods");
  EXPECT_TRUE(ServesVerbs(pods, {"list", "watch", "delete", "deletecollection"}));
  EXPECT_TRUE(ServesVerbs(pod_metrics, {"get", "list"}));
  EXPECT_FALSE(ServesVerbs(pod_metrics, {"list", "watch"}));
  EXPECT_FALSE(ServesVerbs(*r.ByGroupResource("metrics.k8s.io", "nodes"), {"delete"}));
  EXPECT_TRUE(ResourceVerbs(*r.ByApiVersionKind("v1", "Status")).empty());
}

TEST(Registry, OrderedAndUnique) {
  const Registry& r = Registry::Default();
  std::set<std::string> type_names;
  for (size_t i = 0; i < r.All().size(); ++i) {
    const KindInfo& k = r.All()[i];
    EXPECT_TRUE(type_names.insert(k.descriptor->full_name()).second);
    if (i > 0) {
      const KindInfo& prev = r.All()[i - 1];
      EXPECT_LT(std::tie(prev.group, prev.kind), std::tie(k.group, k.kind));
    }
  }
  Registry copy = r;
  KindInfo duplicate = *r.ByApiVersionKind("v1", "Pod");
  EXPECT_FALSE(copy.Add(duplicate));
  EXPECT_EQ(SplitApiVersion("apps/v1"), (std::pair<std::string, std::string>{"apps", "v1"}));
  EXPECT_EQ(SplitApiVersion("v1"), (std::pair<std::string, std::string>{"", "v1"}));
}

}  // namespace
}  // namespace ksim::api
