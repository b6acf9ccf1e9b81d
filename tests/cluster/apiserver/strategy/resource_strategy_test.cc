// The per-kind verb table: each entry names a registered kind and its hooks behave as
// Kubernetes' strategies do.
#include "cluster/apiserver/strategy/resource_strategy.h"

#include <gtest/gtest.h>

#include "cluster/api/apps.pb.h"
#include "cluster/api/codec.h"
#include "cluster/api/core.pb.h"

namespace ksim::apiserver {
namespace {

const api::KindInfo& Kind(const std::string& group, const std::string& resource) {
  const api::KindInfo* info = api::Registry::Default().ByGroupResource(group, resource);
  EXPECT_NE(info, nullptr) << resource;
  return *info;
}

TEST(ResourceStrategy, KindsWithoutAnEntryAreOrdinary) {
  const ResourceStrategy& s = ResourceStrategyOf(Kind("", "configmaps"));
  EXPECT_FALSE(s.scale);
  EXPECT_EQ(s.bind, nullptr);
  EXPECT_EQ(s.grace_period_seconds, nullptr);
  EXPECT_EQ(s.feed_auth, nullptr);
  EXPECT_TRUE(s.releases_quota);
}

// Every scalable kind has what the Scale is read from (the handler reads it by reflection).
TEST(ResourceStrategy, ScalableKindsHaveReplicasAndASelector) {
  int scalable = 0;
  for (const api::KindInfo& info : api::Registry::Default().All()) {
    if (info.resource.empty() || !ResourceStrategyOf(info).scale) continue;
    ++scalable;
    const auto* spec = info.descriptor->FindFieldByName("spec");
    ASSERT_NE(spec, nullptr) << info.kind;
    const auto* replicas = spec->message_type()->FindFieldByName("replicas");
    ASSERT_NE(replicas, nullptr) << info.kind;
    EXPECT_EQ(replicas->cpp_type(), google::protobuf::FieldDescriptor::CPPTYPE_INT32) << info.kind;
    EXPECT_NE(spec->message_type()->FindFieldByName("selector"), nullptr) << info.kind;
  }
  EXPECT_EQ(scalable, 4);  // deployments, replicasets, statefulsets, replicationcontrollers
  EXPECT_TRUE(ResourceStrategyOf(Kind("apps", "deployments")).scale);
  EXPECT_FALSE(ResourceStrategyOf(Kind("apps", "daemonsets")).scale);
}

TEST(ResourceStrategy, AuthInputsAreTheRbacKindsAndSecretsInLoadOrder) {
  std::vector<std::string> resources;
  for (const api::KindInfo* info : AuthInputKinds()) {
    ASSERT_NE(info, nullptr);
    resources.push_back(info->resource);
  }
  EXPECT_EQ(resources,
            (std::vector<std::string>{"secrets", "roles", "clusterroles", "rolebindings", "clusterrolebindings"}));
}

TEST(ResourceStrategy, PodGracePeriodFollowsKubernetes) {
  const ResourceStrategy& s = ResourceStrategyOf(Kind("", "pods"));
  ASSERT_NE(s.grace_period_seconds, nullptr);
  api::Pod pod;
  EXPECT_EQ(s.grace_period_seconds(pod, 10), 0);  // not on a node: at once
  pod.mutable_spec()->set_node_name("n1");
  EXPECT_EQ(s.grace_period_seconds(pod, std::nullopt), 30);  // the default
  pod.mutable_spec()->set_termination_grace_period_seconds(7);
  EXPECT_EQ(s.grace_period_seconds(pod, std::nullopt), 7);
  EXPECT_EQ(s.grace_period_seconds(pod, 3), 3);  // the request wins
  EXPECT_EQ(s.grace_period_seconds(pod, -5), 1);  // negative: 1 second, as Kubernetes
  pod.mutable_status()->set_phase("Succeeded");
  EXPECT_EQ(s.grace_period_seconds(pod, 3), 0);  // terminal: at once
}

TEST(ResourceStrategy, BindingSetsTheNodeOrRefuses) {
  const ResourceStrategy& s = ResourceStrategyOf(Kind("", "pods"));
  ASSERT_NE(s.bind, nullptr);
  api::Binding binding;
  binding.mutable_target()->set_name("n1");
  api::Pod pod;
  pod.mutable_metadata()->set_name("p");
  EXPECT_FALSE(s.bind(binding, pod, Nanos(0)).has_value());
  EXPECT_EQ(pod.spec().node_name(), "n1");
  const std::optional<Refusal> again = s.bind(binding, pod, Nanos(0));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->code, 409);
  EXPECT_EQ(again->message,
            "Operation cannot be fulfilled on pods/binding \"p\": pod p is already assigned to node \"n1\"");
}

TEST(ResourceStrategy, NamespaceTerminatesUntilItsFinalizersAreGone) {
  const ResourceStrategy& s = ResourceStrategyOf(Kind("", "namespaces"));
  ASSERT_NE(s.begin_termination, nullptr);
  api::Namespace ns;
  bool changed = false;
  EXPECT_FALSE(s.begin_termination(ns, &changed));  // no finalizers: deleted at once
  ns.mutable_spec()->add_finalizers("kubernetes");
  EXPECT_TRUE(s.begin_termination(ns, &changed));
  EXPECT_TRUE(changed);
  EXPECT_EQ(ns.status().phase(), "Terminating");
  EXPECT_FALSE(s.finalized(ns));
  ns.mutable_spec()->clear_finalizers();
  EXPECT_TRUE(s.finalized(ns));
  EXPECT_FALSE(ResourceStrategyOf(Kind("", "resourcequotas")).releases_quota);
}

}  // namespace
}  // namespace ksim::apiserver
