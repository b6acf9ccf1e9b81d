// The binding subresource end to end: preconditions, Kubernetes' refusals, and what a
// binding writes (node, annotations, PodScheduled).
#include <gtest/gtest.h>

#include "tests/cluster/apiserver/api_cluster.h"

namespace ksim::apiserver::testing {
namespace {

using client::ApiClient;
using client::ApiResult;

const api::KindInfo& Pods() { return Kind("", "pods"); }

class BindingTest : public ApiVerbTest {
 protected:
  api::Pod CreatePod(const api::Pod& pod) {
    const ApiResult r = Await([&](ApiClient::Done d) { c->Create(Pods(), pod, d); });
    EXPECT_EQ(r.code, 201) << r.Describe();
    api::Pod created;
    created.ParseFromString(r.body);
    return created;
  }
  api::Pod GetPod(const std::string& name) {
    const ApiResult r = Await([&](ApiClient::Done d) { c->Get(Pods(), "default", name, d); });
    api::Pod pod;
    pod.ParseFromString(r.body);
    return pod;
  }
  ApiResult Bind(const std::string& pod, const std::string& node, const std::string& uid = "",
                 const std::string& resource_version = "", std::map<std::string, std::string> annotations = {}) {
    api::Binding b;
    b.mutable_metadata()->set_name(pod);
    b.mutable_metadata()->set_namespace_("default");
    b.mutable_metadata()->set_uid(uid);
    b.mutable_metadata()->set_resource_version(resource_version);
    for (const auto& [k, v] : annotations) (*b.mutable_metadata()->mutable_annotations())[k] = v;
    b.mutable_target()->set_kind("Node");
    b.mutable_target()->set_name(node);
    return Await([&](ApiClient::Done d) {
      Request r;
      r.set_verb("create");
      r.set_version("v1");
      r.set_resource("pods");
      r.set_namespace_("default");
      r.set_name(pod);
      r.set_subresource("binding");
      r.set_body(b.SerializeAsString());
      c->Do(r, d);
    });
  }
};

TEST_F(BindingTest, SetsTheNodeAnnotationsAndPodScheduled) {
  const api::Pod pod = CreatePod(MakePod("default", "web"));
  const ApiResult r = Bind("web", "node-a", pod.metadata().uid(), "", {{"scheduler.example/zone", "z1"}});
  ASSERT_EQ(r.code, 201) << r.Describe();
  const api::Pod bound = GetPod("web");
  EXPECT_EQ(bound.spec().node_name(), "node-a");
  EXPECT_EQ(bound.metadata().annotations().at("scheduler.example/zone"), "z1");
  ASSERT_EQ(bound.status().conditions_size(), 1);
  const api::PodCondition& cond = bound.status().conditions(0);
  EXPECT_EQ(cond.type(), "PodScheduled");
  EXPECT_EQ(cond.status(), "True");
  EXPECT_GT(cond.last_transition_time().seconds(), 0);
}

TEST_F(BindingTest, ReplacesAnUnschedulableCondition) {
  api::Pod pod = MakePod("default", "web");
  api::Pod created = CreatePod(pod);
  api::PodCondition* c0 = created.mutable_status()->add_conditions();
  c0->set_type("PodScheduled");
  c0->set_status("False");
  c0->set_reason("Unschedulable");
  c0->set_message("0/3 nodes are available");
  const ApiResult s = Await([&](ApiClient::Done d) { c->Update(Pods(), created, d, "status"); });
  ASSERT_EQ(s.code, 200) << s.Describe();
  ASSERT_EQ(Bind("web", "node-a", created.metadata().uid()).code, 201);
  const api::Pod bound = GetPod("web");
  ASSERT_EQ(bound.status().conditions_size(), 1);
  EXPECT_EQ(bound.status().conditions(0).status(), "True");
  EXPECT_EQ(bound.status().conditions(0).reason(), "");
  EXPECT_EQ(bound.status().conditions(0).message(), "");
}

// A binding meant for a pod that was deleted never lands on a new pod of the same name.
TEST_F(BindingTest, AUidPreconditionKeepsABindingOffANamesake) {
  const api::Pod old = CreatePod(MakePod("default", "web"));
  ASSERT_EQ(Await([&](ApiClient::Done d) { c->Delete(Pods(), "default", "web", d); }).code, 200);
  const api::Pod namesake = CreatePod(MakePod("default", "web"));
  ASSERT_NE(old.metadata().uid(), namesake.metadata().uid());

  const ApiResult r = Bind("web", "node-a", old.metadata().uid());
  EXPECT_EQ(r.code, 409) << r.Describe();
  EXPECT_EQ(r.error.reason(), "Conflict");
  EXPECT_EQ(r.error.message(), "Operation cannot be fulfilled on pods/binding \"web\": Precondition failed: UID in "
                               "precondition: " +
                                   old.metadata().uid() + ", UID in object meta: " + namesake.metadata().uid());
  EXPECT_EQ(GetPod("web").spec().node_name(), "") << "the namesake stays unbound";
  EXPECT_EQ(Bind("web", "node-a", namesake.metadata().uid()).code, 201) << "its own binding lands";
}

TEST_F(BindingTest, AResourceVersionPreconditionMustMatch) {
  const api::Pod pod = CreatePod(MakePod("default", "web"));
  const ApiResult stale = Bind("web", "node-a", "", "1");
  EXPECT_EQ(stale.code, 409) << stale.Describe();
  EXPECT_NE(stale.error.message().find("Precondition failed: ResourceVersion in precondition: 1"), std::string::npos)
      << stale.error.message();
  EXPECT_EQ(Bind("web", "node-a", "", pod.metadata().resource_version()).code, 201);
}

TEST_F(BindingTest, RefusesGatedAndBoundPods) {
  api::Pod gated = MakePod("default", "gated");
  gated.mutable_spec()->add_scheduling_gates()->set_name("example.com/wait");
  CreatePod(gated);
  const ApiResult r = Bind("gated", "node-a");
  EXPECT_EQ(r.code, 409);
  EXPECT_EQ(r.error.message(),
            "Operation cannot be fulfilled on pods/binding \"gated\": pod gated has non-empty .spec.schedulingGates");

  CreatePod(MakePod("default", "web"));
  ASSERT_EQ(Bind("web", "node-a").code, 201);
  const ApiResult again = Bind("web", "node-b");
  EXPECT_EQ(again.code, 409);
  EXPECT_EQ(again.error.message(),
            "Operation cannot be fulfilled on pods/binding \"web\": pod web is already assigned to node \"node-a\"");
  EXPECT_EQ(GetPod("web").spec().node_name(), "node-a");
}


// namespaces/{name}/finalize: the only way a namespace's spec.finalizers change.
class FinalizeTest : public BindingTest {
 protected:
  const api::KindInfo& Namespaces() { return Kind("", "namespaces"); }
  api::Namespace GetNamespace(const std::string& name) {
    api::Namespace ns;
    ns.ParseFromString(Await([&](ApiClient::Done d) { c->Get(Namespaces(), "", name, d); }).body);
    return ns;
  }
  ApiResult Write(const api::Namespace& ns, const std::string& subresource) {
    return Await([&](ApiClient::Done d) { c->Update(Namespaces(), ns, d, subresource); });
  }
};

TEST_F(FinalizeTest, OnlyTheFinalizeSubresourceChangesSpecFinalizers) {
  ASSERT_EQ(Await([&](ApiClient::Done d) { c->Create(Namespaces(), MakeNamespace("team"), d); }).code, 201);
  api::Namespace ns = GetNamespace("team");
  ASSERT_EQ(ns.spec().finalizers_size(), 1);
  ns.mutable_spec()->clear_finalizers();
  (*ns.mutable_metadata()->mutable_labels())["env"] = "prod";
  const ApiResult updated = Write(ns, "");
  ASSERT_EQ(updated.code, 200) << updated.Describe();
  api::Namespace after = GetNamespace("team");
  EXPECT_EQ(after.metadata().labels().at("env"), "prod") << "the update itself lands";
  ASSERT_EQ(after.spec().finalizers_size(), 1) << "but an update keeps spec.finalizers";
  EXPECT_EQ(after.spec().finalizers(0), "kubernetes");

  after.mutable_spec()->add_finalizers("example.com/cleanup");
  (*after.mutable_metadata()->mutable_labels())["env"] = "dev";
  const ApiResult finalized = Write(after, "finalize");
  ASSERT_EQ(finalized.code, 200) << finalized.Describe();
  const api::Namespace now = GetNamespace("team");
  EXPECT_EQ(now.spec().finalizers_size(), 2);
  EXPECT_EQ(now.metadata().labels().at("env"), "prod") << "finalize changes the finalizers only";
  EXPECT_EQ(now.metadata().generation(), after.metadata().generation());
}

TEST_F(FinalizeTest, ATerminatingNamespaceGoesWhenFinalized) {
  ASSERT_EQ(Await([&](ApiClient::Done d) { c->Create(Namespaces(), MakeNamespace("team"), d); }).code, 201);
  ASSERT_EQ(Await([&](ApiClient::Done d) { c->Delete(Namespaces(), "", "team", d); }).code, 200);
  api::Namespace ns = GetNamespace("team");
  ASSERT_EQ(ns.status().phase(), "Terminating");
  ns.mutable_spec()->clear_finalizers();
  ASSERT_EQ(Write(ns, "").code, 200);
  EXPECT_EQ(GetNamespace("team").status().phase(), "Terminating") << "an update cannot finalize it";
  ASSERT_EQ(Write(ns, "finalize").code, 200);
  EXPECT_EQ(Await([&](ApiClient::Done d) { c->Get(Namespaces(), "", "team", d); }).code, 404);
}

TEST_F(FinalizeTest, OnlyNamespacesHaveItAndOnlyForUpdate) {
  CreatePod(MakePod("default", "web"));
  const ApiResult pods = Await([&](ApiClient::Done d) {
    Request r;
    r.set_verb("update");
    r.set_version("v1");
    r.set_resource("pods");
    r.set_namespace_("default");
    r.set_name("web");
    r.set_subresource("finalize");
    c->Do(r, d);
  });
  EXPECT_EQ(pods.code, 404);
  const ApiResult get = Await([&](ApiClient::Done d) {
    Request r;
    r.set_verb("get");
    r.set_version("v1");
    r.set_resource("namespaces");
    r.set_name("default");
    r.set_subresource("finalize");
    c->Do(r, d);
  });
  EXPECT_EQ(get.code, 405);
}

}  // namespace
}  // namespace ksim::apiserver::testing
