// ValidateUpdate: what may change and what may not.
#include <gtest/gtest.h>

#include <functional>

#include "tests/cluster/apiserver/strategy/test_objects.h"

namespace ksim::apiserver::testing {
namespace {

// The stored object, then the same object changed by `change`: the causes ValidateUpdate gives.
template <typename T>
std::vector<FieldError> Update(const std::string& text, const std::function<void(T&)>& change) {
  T old = Defaulted<T>(text);
  old.mutable_metadata()->set_uid("uid-1");
  T updated = old;
  change(updated);
  ApplyDefaults(updated);
  return ValidateUpdate(updated, old);
}

const std::string kGatedPod = PodJson(
    R"(,"schedulingGates":[{"name":"example.com/a"},{"name":"example.com/b"}],"activeDeadlineSeconds":100,)"
    R"("tolerations":[{"key":"k","operator":"Exists","effect":"NoExecute","tolerationSeconds":60}])");

TEST(PodUpdateTest, MutableFieldsMayChange) {
  const std::vector<std::pair<std::string, std::function<void(api::Pod&)>>> allowed = {
      {"image", [](api::Pod& p) { p.mutable_spec()->mutable_containers(0)->set_image("nginx:1.26"); }},
      {"labels", [](api::Pod& p) { (*p.mutable_metadata()->mutable_labels())["tier"] = "front"; }},
      {"annotations", [](api::Pod& p) { (*p.mutable_metadata()->mutable_annotations())["note"] = "x"; }},
      {"deadline lowered", [](api::Pod& p) { p.mutable_spec()->set_active_deadline_seconds(50); }},
      {"toleration added",
       [](api::Pod& p) {
         auto* t = p.mutable_spec()->add_tolerations();
         t->set_key("gpu");
         t->set_operator_("Exists");
       }},
      {"tolerationSeconds changed",
       [](api::Pod& p) { p.mutable_spec()->mutable_tolerations(0)->set_toleration_seconds(10); }},
      {"gate removed", [](api::Pod& p) { p.mutable_spec()->mutable_scheduling_gates()->RemoveLast(); }},
      {"status", [](api::Pod& p) { p.mutable_status()->set_phase("Running"); }},
  };
  for (const auto& [name, change] : allowed) {
    const auto errors = Update<api::Pod>(kGatedPod, change);
    EXPECT_TRUE(errors.empty()) << name << "\n" << Describe(errors);
  }
}

TEST(PodUpdateTest, OtherSpecFieldsAreForbidden) {
  const auto errors = Update<api::Pod>(kGatedPod, [](api::Pod& p) { p.mutable_spec()->set_restart_policy("Never"); });
  ASSERT_EQ(Causes(errors), (std::vector<Cause>{{"spec", "FieldValueForbidden"}})) << Describe(errors);
  EXPECT_EQ(errors[0].message.rfind("Forbidden: pod updates may not change fields other than "
                                    "`spec.containers[*].image`,`spec.initContainers[*].image`,"
                                    "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing "
                                    "tolerations)",
                                    0),
            0u)
      << errors[0].message;
  EXPECT_NE(errors[0].message.find("changed: spec.restartPolicy"), std::string::npos) << errors[0].message;
}

TEST(PodUpdateTest, ContainerPortChangeNamesTheField) {
  const auto errors = Update<api::Pod>(PodJson("", R"(,"ports":[{"containerPort":80}])"), [](api::Pod& p) {
    p.mutable_spec()->mutable_containers(0)->mutable_ports(0)->set_container_port(81);
  });
  ASSERT_EQ(Causes(errors), (std::vector<Cause>{{"spec", "FieldValueForbidden"}})) << Describe(errors);
  EXPECT_NE(errors[0].message.find("changed: spec.containers[0].ports[0].containerPort"), std::string::npos)
      << errors[0].message;
}

TEST(PodUpdateTest, RulesOnTheMutableFields) {
  struct Case {
    std::string name;
    std::function<void(api::Pod&)> change;
    std::vector<Cause> want;
  };
  const std::vector<Case> cases = {
      {"deadline raised", [](api::Pod& p) { p.mutable_spec()->set_active_deadline_seconds(200); },
       {{"spec.activeDeadlineSeconds", "FieldValueInvalid"}}},
      {"deadline removed", [](api::Pod& p) { p.mutable_spec()->clear_active_deadline_seconds(); },
       {{"spec.activeDeadlineSeconds", "FieldValueInvalid"}}},
      {"toleration modified", [](api::Pod& p) { p.mutable_spec()->mutable_tolerations(0)->set_key("other"); },
       {{"spec.tolerations", "FieldValueForbidden"}}},
      {"toleration removed", [](api::Pod& p) { p.mutable_spec()->clear_tolerations(); },
       {{"spec.tolerations", "FieldValueForbidden"}}},
      {"gate added", [](api::Pod& p) { p.mutable_spec()->add_scheduling_gates()->set_name("example.com/c"); },
       {{"spec.schedulingGates", "FieldValueForbidden"}}},
      {"name changed", [](api::Pod& p) { p.mutable_metadata()->set_name("other"); },
       {{"metadata.name", "FieldValueInvalid"}}},
      {"namespace changed", [](api::Pod& p) { p.mutable_metadata()->set_namespace_("other"); },
       {{"metadata.namespace", "FieldValueInvalid"}}},
      {"uid changed", [](api::Pod& p) { p.mutable_metadata()->set_uid("uid-2"); }, {{"metadata.uid", "FieldValueInvalid"}}},
      {"new image invalid", [](api::Pod& p) { p.mutable_spec()->mutable_containers(0)->clear_image(); },
       {{"spec.containers[0].image", "FieldValueRequired"}}},
  };
  for (const Case& c : cases) {
    const auto errors = Update<api::Pod>(kGatedPod, c.change);
    EXPECT_EQ(Causes(errors), c.want) << c.name << "\n" << Describe(errors);
  }
}

const std::string kDeployment =
    R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"default"},)"
    R"("spec":{"selector":{"matchLabels":{"app":"web"}},"template":)" +
    TemplateJson() + "}}";

TEST(WorkloadUpdateTest, SelectorsAreImmutable) {
  auto change_selector = [](api::LabelSelector* s, google::protobuf::Map<std::string, std::string>* labels) {
    (*s->mutable_match_labels())["tier"] = "front";
    (*labels)["tier"] = "front";
  };
  auto d = Update<api::Deployment>(kDeployment, [&](api::Deployment& x) {
    change_selector(x.mutable_spec()->mutable_selector(), x.mutable_spec()->mutable_template_()->mutable_metadata()->mutable_labels());
  });
  EXPECT_EQ(Causes(d), (std::vector<Cause>{{"spec.selector", "FieldValueInvalid"}})) << Describe(d);

  const std::string rs_text =
      R"({"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"web","namespace":"default"},)"
      R"("spec":{"selector":{"matchLabels":{"app":"web"}},"template":)" +
      TemplateJson() + "}}";
  auto rs = Update<api::ReplicaSet>(rs_text, [&](api::ReplicaSet& x) {
    change_selector(x.mutable_spec()->mutable_selector(), x.mutable_spec()->mutable_template_()->mutable_metadata()->mutable_labels());
  });
  EXPECT_EQ(Causes(rs), (std::vector<Cause>{{"spec.selector", "FieldValueInvalid"}})) << Describe(rs);

  const std::string ds_text =
      R"({"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"agent","namespace":"default"},)"
      R"("spec":{"selector":{"matchLabels":{"app":"web"}},"template":)" +
      TemplateJson() + "}}";
  auto ds = Update<api::DaemonSet>(ds_text, [&](api::DaemonSet& x) {
    change_selector(x.mutable_spec()->mutable_selector(), x.mutable_spec()->mutable_template_()->mutable_metadata()->mutable_labels());
  });
  EXPECT_EQ(Causes(ds), (std::vector<Cause>{{"spec.selector", "FieldValueInvalid"}})) << Describe(ds);
}

TEST(WorkloadUpdateTest, ScalingAndTemplateChangesAreAllowed) {
  auto errors = Update<api::Deployment>(kDeployment, [](api::Deployment& d) {
    d.mutable_spec()->set_replicas(5);
    d.mutable_spec()->mutable_template_()->mutable_spec()->mutable_containers(0)->set_image("nginx:1.26");
    d.mutable_spec()->mutable_template_()->mutable_spec()->mutable_containers(0)->add_args("--fast");
  });
  EXPECT_TRUE(errors.empty()) << Describe(errors);
}

TEST(WorkloadUpdateTest, StatefulSetSpecBeyondTheMutableFieldsIsForbidden) {
  const std::string sts =
      R"({"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"db","namespace":"default"},)"
      R"("spec":{"serviceName":"db","selector":{"matchLabels":{"app":"web"}},"template":)" +
      TemplateJson() + "}}";
  auto ok = Update<api::StatefulSet>(sts, [](api::StatefulSet& s) {
    s.mutable_spec()->set_replicas(3);
    s.mutable_spec()->mutable_update_strategy()->mutable_rolling_update()->set_partition(2);
  });
  EXPECT_TRUE(ok.empty()) << Describe(ok);
  auto bad = Update<api::StatefulSet>(sts, [](api::StatefulSet& s) { s.mutable_spec()->set_service_name("db2"); });
  EXPECT_EQ(Causes(bad), (std::vector<Cause>{{"spec", "FieldValueForbidden"}})) << Describe(bad);
}

TEST(WorkloadUpdateTest, JobTemplateIsImmutable) {
  const std::string job =
      R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"pi","namespace":"default","uid":"uid-1"},)"
      R"("spec":{"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"pi","image":"perl:5"}]}}}})";
  auto bad = Update<api::Job>(job, [](api::Job& j) {
    j.mutable_spec()->mutable_template_()->mutable_spec()->mutable_containers(0)->set_image("perl:6");
  });
  EXPECT_EQ(Causes(bad), (std::vector<Cause>{{"spec.template", "FieldValueInvalid"}})) << Describe(bad);
  auto ok = Update<api::Job>(job, [](api::Job& j) { j.mutable_spec()->set_suspend(true); });
  EXPECT_TRUE(ok.empty()) << Describe(ok);
}

TEST(OtherUpdateTest, ImmutableFields) {
  const std::string rb =
      R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"rb","namespace":"default"},)"
      R"("roleRef":{"kind":"Role","name":"reader"},"subjects":[{"kind":"User","name":"alice"}]})";
  auto role_ref = Update<api::RoleBinding>(rb, [](api::RoleBinding& b) { b.mutable_role_ref()->set_name("writer"); });
  EXPECT_EQ(Causes(role_ref), (std::vector<Cause>{{"roleRef", "FieldValueInvalid"}})) << Describe(role_ref);
  auto subjects = Update<api::RoleBinding>(rb, [](api::RoleBinding& b) { b.mutable_subjects(0)->set_name("bob"); });
  EXPECT_TRUE(subjects.empty()) << Describe(subjects);

  const std::string pc =
      R"({"apiVersion":"scheduling.k8s.io/v1","kind":"PriorityClass","metadata":{"name":"high"},"value":100})";
  auto value = Update<api::PriorityClass>(pc, [](api::PriorityClass& p) { p.set_value(200); });
  EXPECT_EQ(Causes(value), (std::vector<Cause>{{"value", "FieldValueForbidden"}})) << Describe(value);

  const std::string svc =
      R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"default"},)"
      R"("spec":{"clusterIP":"10.96.0.10","ports":[{"port":80}]}})";
  auto ip = Update<api::Service>(svc, [](api::Service& s) { s.mutable_spec()->set_cluster_ip("10.96.0.11"); });
  EXPECT_EQ(Causes(ip), (std::vector<Cause>{{"spec.clusterIP", "FieldValueInvalid"}})) << Describe(ip);

  const std::string cm =
      R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"default"},"immutable":true,"data":{"a":"1"}})";
  auto data = Update<api::ConfigMap>(cm, [](api::ConfigMap& c) { (*c.mutable_data())["a"] = "2"; });
  EXPECT_EQ(Causes(data), (std::vector<Cause>{{"data", "FieldValueForbidden"}})) << Describe(data);
  auto unfreeze = Update<api::ConfigMap>(cm, [](api::ConfigMap& c) { c.set_immutable(false); });
  EXPECT_EQ(Causes(unfreeze), (std::vector<Cause>{{"immutable", "FieldValueForbidden"}})) << Describe(unfreeze);
  auto labels = Update<api::ConfigMap>(cm, [](api::ConfigMap& c) { (*c.mutable_metadata()->mutable_labels())["x"] = "y"; });
  EXPECT_TRUE(labels.empty()) << Describe(labels);

  const std::string secret =
      R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","namespace":"default"},"data":{"a":"MQ=="}})";
  auto type = Update<api::Secret>(secret, [](api::Secret& s) { s.set_type("example.com/other"); });
  EXPECT_EQ(Causes(type), (std::vector<Cause>{{"type", "FieldValueInvalid"}})) << Describe(type);
}

TEST(OtherUpdateTest, KindMayNotChange) {
  api::Pod pod = Defaulted<api::Pod>(PodJson());
  api::Service svc = Defaulted<api::Service>(
      R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"default"},"spec":{"ports":[{"port":80}]}})");
  const auto errors = ValidateUpdate(pod, svc);
  EXPECT_EQ(Causes(errors), (std::vector<Cause>{{"kind", "FieldValueInvalid"}})) << Describe(errors);
}

}  // namespace
}  // namespace ksim::apiserver::testing
