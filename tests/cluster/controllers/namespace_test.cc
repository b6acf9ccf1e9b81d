// The namespace controller: a deleted namespace is emptied (pods gracefully, finished by
// the fake node side), refuses new content meanwhile, reports what remains in its
// conditions, and is finalized (then deleted by the apiserver) once empty.
#include <gtest/gtest.h>

#include "cluster/controllers/garbage_collector.h"
#include "cluster/controllers/replica_set.h"
#include "tests/cluster/controllers/gc_fixture.h"

namespace ksim::controllers::testing {
namespace {

class NamespaceTest : public ::testing::Test {
 public:
  void Start() {
    c.AddPodRunner([](const api::Pod&) { return PodPlan::On("n1"); });
    c.AddManager(1, [](ControllerManagerOptions& o) {
      o.controllers = {kNamespaceControllerName, kReplicaSetControllerName, kGarbageCollectorName};
    });
    c.Run(Seconds(20));
    api::Namespace ns;
    ns.mutable_metadata()->set_name("team");
    ASSERT_TRUE(c.Create(ns).ok());
    c.Run(Seconds(1));
  }
  std::optional<api::Namespace> Ns() { return GetLive<api::Namespace>(c, "", "namespaces", "", "team"); }
  const api::NamespaceCondition* Cond(const api::Namespace& ns, const std::string& type) {
    for (const auto& cond : ns.status().conditions()) {
      if (cond.type() == type) return &cond;
    }
    return nullptr;
  }
  bool RunUntil(const std::function<bool()>& done, Nanos limit) {
    for (Nanos t{0}; t < limit; t += Seconds(1)) {
      if (done()) return true;
      c.Run(Seconds(1));
    }
    return done();
  }
  CmCluster c;
};

TEST_F(NamespaceTest, DeletingANamespaceRemovesEverythingInItAndFinalizesIt) {
  Start();
  api::ReplicaSet rs = GcRs("web", 3);
  rs.mutable_metadata()->set_namespace_("team");
  ASSERT_TRUE(c.Create(rs).ok());
  for (const char* n : {"a", "b"}) ASSERT_TRUE(c.Create(MakeCm(n, "team")).ok());
  api::Secret secret;
  secret.mutable_metadata()->set_name("s");
  secret.mutable_metadata()->set_namespace_("team");
  ASSERT_TRUE(c.Create(secret).ok());
  ASSERT_TRUE(c.Create(MakeCm("bystander")).ok());
  c.Run(Seconds(10));
  ASSERT_EQ(c.List<api::Pod>("pods", "team").size(), 3u);
  auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Delete(Kind("", "namespaces"), "", "team", std::move(d)); });
  ASSERT_TRUE(r.ok()) << r.Describe();
  ASSERT_TRUE(Ns().has_value());
  EXPECT_EQ(Ns()->status().phase(), "Terminating");
  auto refused = c.Create(MakeCm("late", "team"));
  EXPECT_EQ(refused.code, 403) << "no new content in a terminating namespace";
  EXPECT_TRUE(RunUntil([&] { return !Ns().has_value(); }, Seconds(120))) << "finalized and deleted";
  EXPECT_TRUE(c.List<api::Pod>("pods", "team").empty());
  EXPECT_TRUE(c.List<api::ConfigMap>("configmaps", "team").empty());
  EXPECT_EQ(c.List<api::ConfigMap>("configmaps", "default").count("bystander"), 1u);
  EXPECT_TRUE(c.violations.empty());
}

// Content held by a finalizer keeps the namespace, with the conditions saying why; once
// the finalizer is removed the namespace goes.
TEST_F(NamespaceTest, ContentWithAFinalizerIsReportedInTheConditions) {
  Start();
  api::ConfigMap held = MakeCm("held", "team");
  held.mutable_metadata()->add_finalizers("example.com/hold");
  ASSERT_TRUE(c.Create(held).ok());
  auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Delete(Kind("", "namespaces"), "", "team", std::move(d)); });
  ASSERT_TRUE(r.ok());
  c.Run(Seconds(30));
  auto ns = Ns();
  ASSERT_TRUE(ns.has_value()) << "held by the configmap's finalizer";
  const auto* remaining = Cond(*ns, "NamespaceContentRemaining");
  ASSERT_NE(remaining, nullptr);
  EXPECT_EQ(remaining->status(), "True");
  EXPECT_EQ(remaining->reason(), "SomeResourcesRemain");
  EXPECT_EQ(remaining->message(), "Some resources are remaining: configmaps. has 1 resource instances");
  const auto* fin = Cond(*ns, "NamespaceFinalizersRemaining");
  ASSERT_NE(fin, nullptr);
  EXPECT_EQ(fin->status(), "True");
  EXPECT_EQ(fin->message(), "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances");
  const auto* failure = Cond(*ns, "NamespaceDeletionContentFailure");
  ASSERT_NE(failure, nullptr);
  EXPECT_EQ(failure->status(), "False");
  const auto* discovery = Cond(*ns, "NamespaceDeletionDiscoveryFailure");
  ASSERT_NE(discovery, nullptr);
  EXPECT_EQ(discovery->status(), "False");
  EXPECT_EQ(ns->spec().finalizers_size(), 1);

  auto cm = GetLive<api::ConfigMap>(c, "", "configmaps", "team", "held");
  ASSERT_TRUE(cm.has_value());
  cm->mutable_metadata()->clear_finalizers();
  r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Update(Kind("", "configmaps"), *cm, std::move(d)); });
  ASSERT_TRUE(r.ok()) << r.Describe();
  EXPECT_TRUE(RunUntil([&] { return !Ns().has_value(); }, Seconds(60)));
}

}  // namespace
}  // namespace ksim::controllers::testing
