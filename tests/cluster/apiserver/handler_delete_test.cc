// DELETE with Kubernetes' DeleteOptions, as a body (protobuf or JSON) or as query
// parameters: preconditions, propagation recorded as finalizers, graceful deletion, dry run.
#include <gtest/gtest.h>

#include "tests/cluster/apiserver/api_cluster.h"

namespace ksim::apiserver::testing {
namespace {

using client::ApiClient;
using client::ApiResult;

const api::KindInfo& ConfigMaps() { return Kind("", "configmaps"); }
const api::KindInfo& Pods() { return Kind("", "pods"); }

class DeleteOptionsTest : public ApiVerbTest {
 protected:
  api::ConfigMap CreateConfigMap(const std::string& name) {
    api::ConfigMap cm;
    cm.mutable_metadata()->set_name(name);
    cm.mutable_metadata()->set_namespace_("default");
    (*cm.mutable_data())["k"] = "v";
    const ApiResult r = Await([&](ApiClient::Done d) { c->Create(ConfigMaps(), cm, d); });
    EXPECT_EQ(r.code, 201) << r.Describe();
    api::ConfigMap created;
    created.ParseFromString(r.body);
    return created;
  }
  ApiResult Get(const api::KindInfo& info, const std::string& name) {
    return Await([&](ApiClient::Done d) { c->Get(info, "default", name, d); });
  }
  api::ObjectMeta MetaOf(const api::KindInfo& info, const std::string& name) {
    auto m = info.New();
    m->ParseFromString(Get(info, name).body);
    return *api::GetMeta(*m);
  }
  ApiResult Delete(const api::KindInfo& info, const std::string& name, const api::DeleteOptions& o) {
    return Await([&](ApiClient::Done d) { c->Delete(info, "default", name, o, d); });
  }
  ApiResult DeleteQuery(const api::KindInfo& info, const std::string& name, std::map<std::string, std::string> q) {
    return Await([&](ApiClient::Done d) { c->Delete(info, "default", name, d, q); });
  }
  ApiResult DeleteJson(const std::string& name, const std::string& json) {
    return Await([&](ApiClient::Done d) {
      Request r;
      r.set_verb("delete");
      r.set_version("v1");
      r.set_resource("configmaps");
      r.set_namespace_("default");
      r.set_name(name);
      r.set_content_type("application/json");
      r.set_body(json);
      c->Do(r, d);
    });
  }
  std::vector<std::string> Finalizers(const std::string& name) {
    const api::ObjectMeta meta = MetaOf(ConfigMaps(), name);
    return {meta.finalizers().begin(), meta.finalizers().end()};
  }
};

TEST_F(DeleteOptionsTest, PropagationPolicyFromABodyOrTheQueryIsRecordedAsFinalizers) {
  CreateConfigMap("orphaned");
  api::DeleteOptions orphan;
  orphan.set_propagation_policy("Orphan");
  ASSERT_EQ(Delete(ConfigMaps(), "orphaned", orphan).code, 200);
  EXPECT_EQ(Finalizers("orphaned"), std::vector<std::string>{"orphan"});
  EXPECT_TRUE(MetaOf(ConfigMaps(), "orphaned").has_deletion_timestamp());

  CreateConfigMap("json");
  const ApiResult j = DeleteJson("json", R"({"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Foreground"})");
  ASSERT_EQ(j.code, 200) << j.Describe();
  EXPECT_EQ(Finalizers("json"), std::vector<std::string>{"foregroundDeletion"});

  CreateConfigMap("query");
  ASSERT_EQ(DeleteQuery(ConfigMaps(), "query", {{"propagationPolicy", "Orphan"}}).code, 200);
  EXPECT_EQ(Finalizers("query"), std::vector<std::string>{"orphan"});
  // A later Foreground delete swaps the finalizer, as Kubernetes does.
  ASSERT_EQ(DeleteQuery(ConfigMaps(), "query", {{"propagationPolicy", "Foreground"}}).code, 200);
  EXPECT_EQ(Finalizers("query"), std::vector<std::string>{"foregroundDeletion"});

  // Background with no finalizers: gone at once.
  CreateConfigMap("background");
  api::DeleteOptions background;
  background.set_propagation_policy("Background");
  ASSERT_EQ(Delete(ConfigMaps(), "background", background).code, 200);
  EXPECT_EQ(Get(ConfigMaps(), "background").code, 404);
}

TEST_F(DeleteOptionsTest, APreconditionMismatchIsAConflictAndDeletesNothing) {
  const api::ConfigMap cm = CreateConfigMap("cm");
  api::DeleteOptions wrong_uid;
  wrong_uid.mutable_preconditions()->set_uid("not-the-uid");
  const ApiResult r = Delete(ConfigMaps(), "cm", wrong_uid);
  EXPECT_EQ(r.code, 409) << r.Describe();
  EXPECT_EQ(r.error.reason(), "Conflict");
  EXPECT_EQ(r.error.message(), "Operation cannot be fulfilled on configmaps \"cm\": Precondition failed: UID in "
                               "precondition: not-the-uid, UID in object meta: " +
                                   cm.metadata().uid());
  api::DeleteOptions stale;
  stale.mutable_preconditions()->set_resource_version("1");
  const ApiResult s = Delete(ConfigMaps(), "cm", stale);
  EXPECT_EQ(s.code, 409) << s.Describe();
  EXPECT_EQ(s.error.message(), "Operation cannot be fulfilled on configmaps \"cm\": Precondition failed: "
                               "ResourceVersion in precondition: 1, ResourceVersion in object meta: " +
                                   cm.metadata().resource_version());
  EXPECT_EQ(Get(ConfigMaps(), "cm").code, 200) << "still there";

  api::DeleteOptions right;
  right.mutable_preconditions()->set_uid(cm.metadata().uid());
  right.mutable_preconditions()->set_resource_version(cm.metadata().resource_version());
  ASSERT_EQ(Delete(ConfigMaps(), "cm", right).code, 200);
  EXPECT_EQ(Get(ConfigMaps(), "cm").code, 404);
}

TEST_F(DeleteOptionsTest, DryRunWritesNothing) {
  const api::ConfigMap cm = CreateConfigMap("cm");
  api::DeleteOptions dry;
  dry.add_dry_run("All");
  const ApiResult r = Delete(ConfigMaps(), "cm", dry);
  EXPECT_EQ(r.code, 200) << r.Describe();
  EXPECT_EQ(MetaOf(ConfigMaps(), "cm").resource_version(), cm.metadata().resource_version());

  // A graceful delete in dry run answers with the terminating pod but stores nothing.
  const ApiResult created = Await([&](ApiClient::Done d) { c->Create(Pods(), MakePod("default", "p", {}, "n1"), d); });
  ASSERT_EQ(created.code, 201) << created.Describe();
  const ApiResult p = DeleteQuery(Pods(), "p", {{"dryRun", "All"}});
  ASSERT_EQ(p.code, 200) << p.Describe();
  api::Pod answered;
  answered.ParseFromString(p.body);
  EXPECT_TRUE(answered.metadata().has_deletion_timestamp());
  EXPECT_FALSE(MetaOf(Pods(), "p").has_deletion_timestamp());
}

TEST_F(DeleteOptionsTest, GracePeriodFromTheBodyAndOnlyShorter) {
  ASSERT_EQ(Await([&](ApiClient::Done d) { c->Create(Pods(), MakePod("default", "p", {}, "n1"), d); }).code, 201);
  api::DeleteOptions slow;
  slow.set_grace_period_seconds(60);
  ASSERT_EQ(Delete(Pods(), "p", slow).code, 200);
  const api::ObjectMeta first = MetaOf(Pods(), "p");
  EXPECT_EQ(first.deletion_grace_period_seconds(), 60);

  api::DeleteOptions longer;
  longer.set_grace_period_seconds(90);
  ASSERT_EQ(Delete(Pods(), "p", longer).code, 200);
  EXPECT_EQ(MetaOf(Pods(), "p").deletion_grace_period_seconds(), 60) << "a grace period is never lengthened";

  api::DeleteOptions shorter;
  shorter.set_grace_period_seconds(10);
  ASSERT_EQ(Delete(Pods(), "p", shorter).code, 200);
  const api::ObjectMeta second = MetaOf(Pods(), "p");
  EXPECT_EQ(second.deletion_grace_period_seconds(), 10);
  EXPECT_EQ(second.deletion_timestamp().seconds(), first.deletion_timestamp().seconds() - 50);

  api::DeleteOptions now;
  now.set_grace_period_seconds(0);
  ASSERT_EQ(Delete(Pods(), "p", now).code, 200);
  EXPECT_EQ(Get(Pods(), "p").code, 404);
}

TEST_F(DeleteOptionsTest, InvalidOptionsAreRefused) {
  CreateConfigMap("cm");
  api::DeleteOptions both;
  both.set_orphan_dependents(true);
  both.set_propagation_policy("Orphan");
  const ApiResult a = Delete(ConfigMaps(), "cm", both);
  EXPECT_EQ(a.code, 422);
  EXPECT_EQ(a.error.message(),
            "propagationPolicy: Invalid value: \"Orphan\": orphanDependents and deletionPropagation cannot be both set");
  api::DeleteOptions dry;
  dry.add_dry_run("Some");
  EXPECT_EQ(Delete(ConfigMaps(), "cm", dry).code, 422);
  EXPECT_EQ(DeleteJson("cm", R"({"propagationPolicy": 3})").code, 400);
  EXPECT_EQ(DeleteJson("cm", R"({"kind":"Pod"})").code, 400);
  EXPECT_EQ(DeleteQuery(ConfigMaps(), "cm", {{"gracePeriodSeconds", "soon"}}).code, 400);
  EXPECT_TRUE(Finalizers("cm").empty());
  EXPECT_FALSE(MetaOf(ConfigMaps(), "cm").has_deletion_timestamp()) << "a refused delete writes nothing";
}

}  // namespace
}  // namespace ksim::apiserver::testing
