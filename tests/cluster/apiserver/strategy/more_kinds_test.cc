// Defaults and validation of ControllerRevision, CronJob, HPA, PDB, EndpointSlice, Ingress,
// IngressClass, NetworkPolicy, PersistentVolume, StorageClass and the recent Pod fields:
// the documentation's examples (tests/cluster/api/testdata) pass, each rule reports
// Kubernetes' (field, reason), and the defaults are Kubernetes'.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <memory>
#include <sstream>

#include "cluster/api/autoscaling.pb.h"
#include "cluster/api/discovery.pb.h"
#include "cluster/api/networking.pb.h"
#include "cluster/api/policy.pb.h"
#include "cluster/api/storage.pb.h"
#include "tests/cluster/apiserver/strategy/test_objects.h"

namespace ksim::apiserver::testing {
namespace {

using google::protobuf::Message;

std::vector<api::Object> LoadTestdata(const std::string& name) {
  std::ifstream in(std::string(KSIM_API_TESTDATA) + "/" + name);
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::vector<api::Object> objects;
  const Status s = api::DecodeYaml(buffer.str(), name, &objects);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return objects;
}

TEST(MoreKinds, DocumentationExamplesAreValidAfterDefaults) {
  const std::vector<std::string> files = {"pdb.yaml",           "endpointslice.yaml", "cronjob.yaml",
                                          "hpa.yaml",           "ingress.yaml",       "networkpolicy.yaml",
                                          "storage.yaml",       "controllerrevision.yaml", "pod-beta-fields.yaml"};
  size_t checked = 0;
  for (const std::string& file : files) {
    for (api::Object& obj : LoadTestdata(file)) {
      SCOPED_TRACE(file + ":" + std::to_string(obj.line) + " " + obj.info->kind);
      ApplyDefaults(*obj.message);
      if (api::MutableMeta(*obj.message)->namespace_().empty() && obj.info->namespaced) {
        api::MutableMeta(*obj.message)->set_namespace_("default");
      }
      const auto errors = ValidateCreate(*obj.message);
      if (api::GetMeta(*obj.message)->name() == "debugged") {
        // The one example that only the ephemeralcontainers subresource may write.
        EXPECT_EQ(Causes(errors), (std::vector<Cause>{{"spec.ephemeralContainers", "FieldValueForbidden"}}));
      } else {
        EXPECT_TRUE(errors.empty()) << Describe(errors);
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 38u);
}

// ---------------------------------------------------------------- defaults

const std::string kCronJob =
    R"({"apiVersion":"batch/v1","kind":"CronJob","metadata":{"name":"hello","namespace":"default"},)"
    R"("spec":{"schedule":"*/5 * * * *","jobTemplate":{"spec":{"template":{"spec":{"restartPolicy":"OnFailure",)"
    R"("containers":[{"name":"hello","image":"busybox:1.28"}]}}}}}})";
const std::string kHpa =
    R"({"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","metadata":{"name":"web","namespace":"default"},)"
    R"("spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"web"},"maxReplicas":5}})";
const std::string kPdb =
    R"({"apiVersion":"policy/v1","kind":"PodDisruptionBudget","metadata":{"name":"zk","namespace":"default"},)"
    R"("spec":{"minAvailable":2,"selector":{"matchLabels":{"app":"zk"}}}})";
const std::string kSlice =
    R"({"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"web-1","namespace":"default"},)"
    R"("addressType":"IPv4","endpoints":[{"addresses":["10.1.2.3"]}],"ports":[{"port":80}]})";
const std::string kIngress =
    R"({"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"web","namespace":"default"},)"
    R"("spec":{"rules":[{"host":"shop.example.com","http":{"paths":[{"path":"/","pathType":"Prefix",)"
    R"("backend":{"service":{"name":"web","port":{"number":80}}}}]}}]}})";
const std::string kIngressClass =
    R"({"apiVersion":"networking.k8s.io/v1","kind":"IngressClass","metadata":{"name":"lb"},)"
    R"("spec":{"controller":"example.com/lb","parameters":{"kind":"Params","name":"p"}}})";
const std::string kNetworkPolicy =
    R"({"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"db","namespace":"default"},)"
    R"("spec":{"podSelector":{"matchLabels":{"role":"db"}},"ingress":[{"ports":[{"port":5432}]}],)"
    R"("egress":[{"to":[{"ipBlock":{"cidr":"10.0.0.0/24"}}]}]}})";
const std::string kPv =
    R"({"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"pv1"},)"
    R"("spec":{"capacity":{"storage":"10Gi"},"accessModes":["ReadWriteOnce"],"hostPath":{"path":"/mnt/data"}}})";
const std::string kStorageClass =
    R"({"apiVersion":"storage.k8s.io/v1","kind":"StorageClass","metadata":{"name":"fast"},)"
    R"("provisioner":"csi.example.com","parameters":{"type":"ssd"}})";
const std::string kRevision =
    R"({"apiVersion":"apps/v1","kind":"ControllerRevision","metadata":{"name":"web-1","namespace":"default"},)"
    R"("data":{"spec":{"replicas":1}},"revision":1})";

TEST(MoreKindsDefaults, CronJob) {
  const auto cj = Defaulted<api::CronJob>(kCronJob);
  EXPECT_EQ(cj.spec().concurrency_policy(), "Allow");
  EXPECT_TRUE(cj.spec().has_suspend());
  EXPECT_FALSE(cj.spec().suspend());
  EXPECT_EQ(cj.spec().successful_jobs_history_limit(), 3);
  EXPECT_EQ(cj.spec().failed_jobs_history_limit(), 1);
  const api::PodSpec& pod = cj.spec().job_template().spec().template_().spec();
  EXPECT_EQ(pod.dns_policy(), "ClusterFirst");
  EXPECT_EQ(pod.restart_policy(), "OnFailure");
  EXPECT_EQ(pod.containers(0).image_pull_policy(), "IfNotPresent");
  // The Job's own defaults wait for the Job the controller creates.
  EXPECT_FALSE(cj.spec().job_template().spec().has_backoff_limit());
}

TEST(MoreKindsDefaults, HorizontalPodAutoscaler) {
  const auto plain = Defaulted<api::HorizontalPodAutoscaler>(kHpa);
  EXPECT_EQ(plain.spec().min_replicas(), 1);
  ASSERT_EQ(plain.spec().metrics_size(), 1);
  EXPECT_EQ(plain.spec().metrics(0).type(), "Resource");
  EXPECT_EQ(plain.spec().metrics(0).resource().name(), "cpu");
  EXPECT_EQ(plain.spec().metrics(0).resource().target().type(), "Utilization");
  EXPECT_EQ(plain.spec().metrics(0).resource().target().average_utilization(), 80);
  EXPECT_FALSE(plain.spec().has_behavior());

  auto with_behavior = Parse<api::HorizontalPodAutoscaler>(kHpa);
  with_behavior.mutable_spec()->mutable_behavior()->mutable_scale_down()->set_stabilization_window_seconds(60);
  ApplyDefaults(with_behavior);
  const api::HPAScalingRules& up = with_behavior.spec().behavior().scale_up();
  EXPECT_EQ(up.select_policy(), "Max");
  EXPECT_TRUE(up.has_stabilization_window_seconds());
  EXPECT_EQ(up.stabilization_window_seconds(), 0);
  ASSERT_EQ(up.policies_size(), 2);
  EXPECT_EQ(up.policies(0).type(), "Pods");
  EXPECT_EQ(up.policies(0).value(), 4);
  EXPECT_EQ(up.policies(1).type(), "Percent");
  EXPECT_EQ(up.policies(1).value(), 100);
  EXPECT_EQ(up.policies(1).period_seconds(), 15);
  const api::HPAScalingRules& down = with_behavior.spec().behavior().scale_down();
  EXPECT_EQ(down.stabilization_window_seconds(), 60);  // given, kept
  EXPECT_EQ(down.select_policy(), "Max");
  ASSERT_EQ(down.policies_size(), 1);
  EXPECT_EQ(down.policies(0).type(), "Percent");

  auto no_window = Parse<api::HorizontalPodAutoscaler>(kHpa);
  no_window.mutable_spec()->mutable_behavior()->mutable_scale_up()->set_select_policy("Disabled");
  ApplyDefaults(no_window);
  EXPECT_EQ(no_window.spec().behavior().scale_up().select_policy(), "Disabled");
  // Scale-down's window stays unset (the controller's flag, 300 s, applies).
  EXPECT_FALSE(no_window.spec().behavior().scale_down().has_stabilization_window_seconds());
}

TEST(MoreKindsDefaults, NoneForPdbAndIngressAndRevision) {
  EXPECT_TRUE(SameObject(Parse<api::PodDisruptionBudget>(kPdb), Defaulted<api::PodDisruptionBudget>(kPdb)));
  EXPECT_TRUE(SameObject(Parse<api::Ingress>(kIngress), Defaulted<api::Ingress>(kIngress)));
  EXPECT_TRUE(SameObject(Parse<api::ControllerRevision>(kRevision), Defaulted<api::ControllerRevision>(kRevision)));
}

TEST(MoreKindsDefaults, EndpointSlicePortsAndIngressClassScope) {
  const auto slice = Defaulted<api::EndpointSlice>(kSlice);
  EXPECT_TRUE(slice.ports(0).has_name());
  EXPECT_EQ(slice.ports(0).name(), "");
  EXPECT_EQ(slice.ports(0).protocol(), "TCP");
  EXPECT_NE(api::EncodeJson(slice).find(R"("ports":[{"name":"","protocol":"TCP","port":80}])"), std::string::npos);
  EXPECT_EQ(Defaulted<api::IngressClass>(kIngressClass).spec().parameters().scope(), "Cluster");
  auto bare = Parse<api::IngressClass>(kIngressClass);
  bare.mutable_spec()->clear_parameters();
  ApplyDefaults(bare);
  EXPECT_FALSE(bare.spec().has_parameters());
}

TEST(MoreKindsDefaults, NetworkPolicyTypesAndProtocols) {
  const auto np = Defaulted<api::NetworkPolicy>(kNetworkPolicy);
  EXPECT_EQ(std::vector<std::string>(np.spec().policy_types().begin(), np.spec().policy_types().end()),
            (std::vector<std::string>{"Ingress", "Egress"}));
  EXPECT_EQ(np.spec().ingress(0).ports(0).protocol(), "TCP");
  auto ingress_only = Parse<api::NetworkPolicy>(kNetworkPolicy);
  ingress_only.mutable_spec()->clear_egress();
  ApplyDefaults(ingress_only);
  EXPECT_EQ(ingress_only.spec().policy_types_size(), 1);
}

TEST(MoreKindsDefaults, PersistentVolumeAndStorageClass) {
  const auto pv = Defaulted<api::PersistentVolume>(kPv);
  EXPECT_EQ(pv.spec().persistent_volume_reclaim_policy(), "Retain");
  EXPECT_EQ(pv.spec().volume_mode(), "Filesystem");
  EXPECT_EQ(pv.status().phase(), "Pending");
  const auto sc = Defaulted<api::StorageClass>(kStorageClass);
  EXPECT_EQ(sc.reclaim_policy(), "Delete");
  EXPECT_EQ(sc.volume_binding_mode(), "Immediate");
}

TEST(MoreKindsDefaults, ImageVolumePullPolicyLikeAContainerImage) {
  const auto pod = Defaulted<api::Pod>(PodJson(
      R"(,"volumes":[{"name":"a","image":{"reference":"quay.io/crio/artifact:v2"}},)"
      R"({"name":"b","image":{"reference":"quay.io/crio/artifact"}},{"name":"c","image":{"reference":"x:latest","pullPolicy":"Never"}}])"));
  EXPECT_EQ(pod.spec().volumes(0).image().pull_policy(), "IfNotPresent");
  EXPECT_EQ(pod.spec().volumes(1).image().pull_policy(), "Always");
  EXPECT_EQ(pod.spec().volumes(2).image().pull_policy(), "Never");
  EXPECT_FALSE(pod.spec().volumes(0).has_empty_dir());  // an image volume has a source
}

// ---------------------------------------------------------------- validation

template <typename T>
std::function<std::unique_ptr<Message>()> Make(std::string text, std::function<void(T&)> mutate) {
  return [text, mutate] {
    auto obj = std::make_unique<T>(Defaulted<T>(text));
    mutate(*obj);
    return std::unique_ptr<Message>(std::move(obj));
  };
}

struct Case {
  std::string name;
  std::function<std::unique_ptr<Message>()> make;
  std::vector<Cause> want;
  std::string message;  // of the first error, when the wording matters
};
std::ostream& operator<<(std::ostream& os, const Case& c) { return os << c.name; }

std::vector<Case> InvalidCases() {
  using CJ = api::CronJob;
  using HPA = api::HorizontalPodAutoscaler;
  using PDB = api::PodDisruptionBudget;
  using ES = api::EndpointSlice;
  using ING = api::Ingress;
  using IC = api::IngressClass;
  using NP = api::NetworkPolicy;
  using PV = api::PersistentVolume;
  using SC = api::StorageClass;
  return {
      {"CronJobScheduleRequired", Make<CJ>(kCronJob, [](CJ& c) { c.mutable_spec()->clear_schedule(); }),
       {{"spec.schedule", "FieldValueRequired"}}, ""},
      {"CronJobScheduleFieldCount", Make<CJ>(kCronJob, [](CJ& c) { c.mutable_spec()->set_schedule("* * * *"); }),
       {{"spec.schedule", "FieldValueInvalid"}},
       R"(Invalid value: "* * * *": expected exactly 5 fields, found 4: [* * * *])"},
      {"CronJobScheduleRange", Make<CJ>(kCronJob, [](CJ& c) { c.mutable_spec()->set_schedule("61 * * * *"); }),
       {{"spec.schedule", "FieldValueInvalid"}}, R"(Invalid value: "61 * * * *": end of range (61) above maximum (59): 61)"},
      {"CronJobScheduleTZ", Make<CJ>(kCronJob, [](CJ& c) { c.mutable_spec()->set_schedule("TZ=UTC 0 * * * *"); }),
       {{"spec.schedule", "FieldValueInvalid"}}, ""},
      {"CronJobTimeZoneLocal", Make<CJ>(kCronJob, [](CJ& c) { c.mutable_spec()->set_time_zone("Local"); }),
       {{"spec.timeZone", "FieldValueInvalid"}}, ""},
      // An unknown zone is rejected at create: the apiserver loads it from its tz database.
      {"CronJobTimeZoneUnknown", Make<CJ>(kCronJob, [](CJ& c) { c.mutable_spec()->set_time_zone("Mars/Olympus"); }),
       {{"spec.timeZone", "FieldValueInvalid"}}, R"(Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus)"},
      {"CronJobTimeZoneDotDot", Make<CJ>(kCronJob, [](CJ& c) { c.mutable_spec()->set_time_zone("../etc/passwd"); }),
       {{"spec.timeZone", "FieldValueInvalid"}}, ""},
      {"CronJobConcurrencyPolicy", Make<CJ>(kCronJob, [](CJ& c) { c.mutable_spec()->set_concurrency_policy("Sometimes"); }),
       {{"spec.concurrencyPolicy", "FieldValueNotSupported"}},
       R"(Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace")"},
      {"CronJobNegativeHistory", Make<CJ>(kCronJob, [](CJ& c) { c.mutable_spec()->set_failed_jobs_history_limit(-1); }),
       {{"spec.failedJobsHistoryLimit", "FieldValueInvalid"}}, ""},
      {"CronJobNameTooLong", Make<CJ>(kCronJob, [](CJ& c) { c.mutable_metadata()->set_name(std::string(53, 'a')); }),
       {{"metadata.name", "FieldValueInvalid"}}, ""},
      {"CronJobTemplateRestartAlways",
       Make<CJ>(kCronJob, [](CJ& c) {
         c.mutable_spec()->mutable_job_template()->mutable_spec()->mutable_template_()->mutable_spec()->set_restart_policy("Always");
       }),
       {{"spec.jobTemplate.spec.template.spec.restartPolicy", "FieldValueNotSupported"}}, ""},
      {"HpaMaxBelowMin", Make<HPA>(kHpa, [](HPA& h) { h.mutable_spec()->set_min_replicas(6); }),
       {{"spec.maxReplicas", "FieldValueInvalid"}}, "Invalid value: 5: must be greater than or equal to `minReplicas`"},
      {"HpaMinZero", Make<HPA>(kHpa, [](HPA& h) { h.mutable_spec()->set_min_replicas(0); }),
       {{"spec.minReplicas", "FieldValueInvalid"}}, ""},
      {"HpaTargetKindRequired", Make<HPA>(kHpa, [](HPA& h) { h.mutable_spec()->mutable_scale_target_ref()->clear_kind(); }),
       {{"spec.scaleTargetRef.kind", "FieldValueRequired"}}, ""},
      {"HpaMetricSourceMissing",
       Make<HPA>(kHpa, [](HPA& h) { h.mutable_spec()->mutable_metrics(0)->set_type("Pods"); }),
       {{"spec.metrics[0].pods", "FieldValueRequired"}}, ""},
      {"HpaTwoMetricSources",
       Make<HPA>(kHpa, [](HPA& h) {
         h.mutable_spec()->mutable_metrics(0)->mutable_pods()->mutable_metric()->set_name("qps");
         h.mutable_spec()->mutable_metrics(0)->mutable_pods()->mutable_target()->set_type("AverageValue");
         h.mutable_spec()->mutable_metrics(0)->mutable_pods()->mutable_target()->set_average_value("1k");
       }),
       {{"spec.metrics[0].pods", "FieldValueForbidden"}}, "Forbidden: must populate the given metric source only"},
      {"HpaUtilizationZero",
       Make<HPA>(kHpa, [](HPA& h) {
         h.mutable_spec()->mutable_metrics(0)->mutable_resource()->mutable_target()->set_average_utilization(0);
       }),
       {{"spec.metrics[0].resource.target.averageUtilization", "FieldValueInvalid"}}, ""},
      {"HpaPolicyPeriodTooLong",
       Make<HPA>(kHpa, [](HPA& h) {
         auto* p = h.mutable_spec()->mutable_behavior()->mutable_scale_up()->add_policies();
         p->set_type("Pods");
         p->set_value(1);
         p->set_period_seconds(1801);
       }),
       {{"spec.behavior.scaleUp.policies[0].periodSeconds", "FieldValueInvalid"}},
       "Invalid value: 1801: must be less than or equal to 1800"},
      {"PdbBothBudgets",
       Make<PDB>(kPdb, [](PDB& p) { *p.mutable_spec()->mutable_max_unavailable() = api::MakeIntOrString(1); }),
       {{"spec", "FieldValueInvalid"}}, ""},
      {"PdbPercentOver100",
       Make<PDB>(kPdb, [](PDB& p) { *p.mutable_spec()->mutable_min_available() = api::MakeIntOrString(std::string("101%")); }),
       {{"spec.minAvailable", "FieldValueInvalid"}}, R"(Invalid value: "101%": must not be greater than 100%)"},
      {"PdbNegative", Make<PDB>(kPdb, [](PDB& p) { *p.mutable_spec()->mutable_min_available() = api::MakeIntOrString(-1); }),
       {{"spec.minAvailable", "FieldValueInvalid"}}, ""},
      {"PdbEvictionPolicy",
       Make<PDB>(kPdb, [](PDB& p) { p.mutable_spec()->set_unhealthy_pod_eviction_policy("Never"); }),
       {{"spec.unhealthyPodEvictionPolicy", "FieldValueNotSupported"}}, ""},
      {"SliceAddressTypeRequired", Make<ES>(kSlice, [](ES& s) { s.clear_address_type(); }),
       {{"addressType", "FieldValueRequired"}}, ""},
      {"SliceAddressNotIPv4", Make<ES>(kSlice, [](ES& s) { s.mutable_endpoints(0)->set_addresses(0, "fd00::1"); }),
       {{"endpoints[0].addresses[0]", "FieldValueInvalid"}}, R"(Invalid value: "fd00::1": must be a valid IPv4 address)"},
      {"SliceNoAddresses", Make<ES>(kSlice, [](ES& s) { s.mutable_endpoints(0)->clear_addresses(); }),
       {{"endpoints[0].addresses", "FieldValueRequired"}}, ""},
      {"SlicePortProtocol", Make<ES>(kSlice, [](ES& s) { s.mutable_ports(0)->set_protocol("HTTP"); }),
       {{"ports[0].protocol", "FieldValueNotSupported"}}, ""},
      {"IngressPathTypeRequired",
       Make<ING>(kIngress, [](ING& i) { i.mutable_spec()->mutable_rules(0)->mutable_http()->mutable_paths(0)->clear_path_type(); }),
       {{"spec.rules[0].http.paths[0].pathType", "FieldValueRequired"}}, "Required value: pathType must be specified"},
      {"IngressRelativePrefix",
       Make<ING>(kIngress, [](ING& i) { i.mutable_spec()->mutable_rules(0)->mutable_http()->mutable_paths(0)->set_path("shop"); }),
       {{"spec.rules[0].http.paths[0].path", "FieldValueInvalid"}}, R"(Invalid value: "shop": must be an absolute path)"},
      {"IngressNoBackendPort",
       Make<ING>(kIngress, [](ING& i) {
         i.mutable_spec()->mutable_rules(0)->mutable_http()->mutable_paths(0)->mutable_backend()->mutable_service()->clear_port();
       }),
       {{"spec.rules[0].http.paths[0].backend.service.port", "FieldValueRequired"}}, ""},
      {"IngressHostIsIP", Make<ING>(kIngress, [](ING& i) { i.mutable_spec()->mutable_rules(0)->set_host("10.0.0.1"); }),
       {{"spec.rules[0].host", "FieldValueInvalid"}}, R"(Invalid value: "10.0.0.1": must be a DNS name, not an IP address)"},
      {"IngressNeedsRulesOrBackend", Make<ING>(kIngress, [](ING& i) { i.mutable_spec()->clear_rules(); }),
       {{"spec.rules", "FieldValueInvalid"}}, ""},
      {"IngressClassControllerRequired", Make<IC>(kIngressClass, [](IC& c) { c.mutable_spec()->clear_controller(); }),
       {{"spec.controller", "FieldValueRequired"}}, ""},
      {"IngressClassNamespaceScopeNeedsNamespace",
       Make<IC>(kIngressClass, [](IC& c) { c.mutable_spec()->mutable_parameters()->set_scope("Namespace"); }),
       {{"spec.parameters.namespace", "FieldValueRequired"}}, ""},
      {"NetworkPolicyBadCidr",
       Make<NP>(kNetworkPolicy, [](NP& n) {
         n.mutable_spec()->mutable_egress(0)->mutable_to(0)->mutable_ip_block()->set_cidr("10.0.0.0/33");
       }),
       {{"spec.egress[0].to[0].ipBlock.cidr", "FieldValueInvalid"}}, ""},
      {"NetworkPolicyEndPortBelowPort",
       Make<NP>(kNetworkPolicy, [](NP& n) { n.mutable_spec()->mutable_ingress(0)->mutable_ports(0)->set_end_port(80); }),
       {{"spec.ingress[0].ports[0].endPort", "FieldValueInvalid"}}, ""},
      {"NetworkPolicyType", Make<NP>(kNetworkPolicy, [](NP& n) { n.mutable_spec()->set_policy_types(0, "Both"); }),
       {{"spec.policyTypes[0]", "FieldValueNotSupported"}}, ""},
      {"PvCapacityRequired", Make<PV>(kPv, [](PV& p) { p.mutable_spec()->clear_capacity(); }),
       {{"spec.capacity", "FieldValueRequired"}}, ""},
      {"PvTwoSources", Make<PV>(kPv, [](PV& p) { p.mutable_spec()->mutable_local()->set_path("/mnt/ssd"); }),
       {{"spec.local", "FieldValueForbidden"}, {"spec.nodeAffinity", "FieldValueRequired"}}, ""},
      {"PvNoSource", Make<PV>(kPv, [](PV& p) { p.mutable_spec()->clear_host_path(); }),
       {{"spec", "FieldValueRequired"}}, "Required value: must specify a volume type"},
      {"PvAccessMode", Make<PV>(kPv, [](PV& p) { p.mutable_spec()->set_access_modes(0, "ReadWriteSometimes"); }),
       {{"spec.accessModes", "FieldValueNotSupported"}}, ""},
      {"PvReclaimPolicy", Make<PV>(kPv, [](PV& p) { p.mutable_spec()->set_persistent_volume_reclaim_policy("Keep"); }),
       {{"spec.persistentVolumeReclaimPolicy", "FieldValueNotSupported"}}, ""},
      {"StorageClassProvisionerRequired", Make<SC>(kStorageClass, [](SC& s) { s.clear_provisioner(); }),
       {{"provisioner", "FieldValueRequired"}}, ""},
      {"StorageClassBindingMode", Make<SC>(kStorageClass, [](SC& s) { s.set_volume_binding_mode("Later"); }),
       {{"volumeBindingMode", "FieldValueNotSupported"}}, ""},
      {"RevisionDataRequired", Make<api::ControllerRevision>(kRevision, [](api::ControllerRevision& r) { r.clear_data(); }),
       {{"data", "FieldValueRequired"}}, ""},
      {"PodImageVolumeReference",
       Make<api::Pod>(PodJson(R"(,"volumes":[{"name":"v","image":{"reference":"quay.io/a:1"}}])"),
                      [](api::Pod& p) { p.mutable_spec()->mutable_volumes(0)->mutable_image()->clear_reference(); }),
       {{"spec.volumes[0].image.reference", "FieldValueRequired"}}, ""},
      {"PodImageVolumeAndEmptyDir",
       Make<api::Pod>(PodJson(R"(,"volumes":[{"name":"v","image":{"reference":"quay.io/a:1"}}])"),
                      [](api::Pod& p) { p.mutable_spec()->mutable_volumes(0)->mutable_empty_dir(); }),
       {{"spec.volumes[0].image", "FieldValueForbidden"}}, "Forbidden: may not specify more than 1 volume type"},
      {"PodClaimNotDeclared",
       Make<api::Pod>(PodJson("", R"(,"resources":{"claims":[{"name":"gpu"}]})"), [](api::Pod&) {}),
       {{"spec.containers[0].resources.claims[0]", "FieldValueNotFound"}}, ""},
      {"PodClaimTwoSources",
       Make<api::Pod>(PodJson(R"(,"resourceClaims":[{"name":"gpu","resourceClaimName":"a","resourceClaimTemplateName":"b"}])"),
                      [](api::Pod&) {}),
       {{"spec.resourceClaims[0]", "FieldValueInvalid"}}, ""},
      {"PodEphemeralContainersOnCreate",
       Make<api::Pod>(PodJson(R"(,"ephemeralContainers":[{"name":"debug","image":"busybox"}])"), [](api::Pod&) {}),
       {{"spec.ephemeralContainers", "FieldValueForbidden"}}, "Forbidden: cannot be set on create"},
  };
}

class MoreKindsInvalid : public ::testing::TestWithParam<Case> {};

TEST_P(MoreKindsInvalid, ReportsKubernetesCause) {
  const Case& c = GetParam();
  const auto obj = c.make();
  const auto errors = ValidateCreate(*obj);
  EXPECT_EQ(Causes(errors), c.want) << Describe(errors);
  if (!c.message.empty() && !errors.empty()) {
    EXPECT_EQ(errors[0].message, c.message);
  }
}

INSTANTIATE_TEST_SUITE_P(Rules, MoreKindsInvalid, ::testing::ValuesIn(InvalidCases()),
                         [](const ::testing::TestParamInfo<Case>& param) { return param.param.name; });

TEST(MoreKindsValid, CronJobTimeZonesFromTheTzDatabase) {
  for (const char* zone : {"America/New_York", "Europe/Berlin", "Asia/Kolkata", "Etc/UTC", "UTC"}) {
    api::CronJob cj = Defaulted<api::CronJob>(kCronJob);
    cj.mutable_spec()->set_time_zone(zone);
    const auto errors = ValidateCreate(cj);
    EXPECT_TRUE(errors.empty()) << zone << ": " << Describe(errors);
  }
}

TEST(MoreKindsValid, BaseObjectsPass) {
  const std::vector<std::unique_ptr<Message>> objects = [] {
    std::vector<std::unique_ptr<Message>> v;
    v.push_back(std::make_unique<api::CronJob>(Defaulted<api::CronJob>(kCronJob)));
    v.push_back(std::make_unique<api::HorizontalPodAutoscaler>(Defaulted<api::HorizontalPodAutoscaler>(kHpa)));
    v.push_back(std::make_unique<api::PodDisruptionBudget>(Defaulted<api::PodDisruptionBudget>(kPdb)));
    v.push_back(std::make_unique<api::EndpointSlice>(Defaulted<api::EndpointSlice>(kSlice)));
    v.push_back(std::make_unique<api::Ingress>(Defaulted<api::Ingress>(kIngress)));
    v.push_back(std::make_unique<api::IngressClass>(Defaulted<api::IngressClass>(kIngressClass)));
    v.push_back(std::make_unique<api::NetworkPolicy>(Defaulted<api::NetworkPolicy>(kNetworkPolicy)));
    v.push_back(std::make_unique<api::PersistentVolume>(Defaulted<api::PersistentVolume>(kPv)));
    v.push_back(std::make_unique<api::StorageClass>(Defaulted<api::StorageClass>(kStorageClass)));
    v.push_back(std::make_unique<api::ControllerRevision>(Defaulted<api::ControllerRevision>(kRevision)));
    return v;
  }();
  for (const auto& obj : objects) {
    SCOPED_TRACE(obj->GetTypeName());
    const auto errors = ValidateCreate(*obj);
    EXPECT_TRUE(errors.empty()) << Describe(errors);
    EXPECT_TRUE(ValidateUpdate(*obj, *obj).empty());
  }
}

// ---------------------------------------------------------------- updates

template <typename T>
std::vector<Cause> UpdateCauses(const std::string& text, const std::function<void(T&)>& mutate) {
  const T old = Defaulted<T>(text);
  T now = old;
  mutate(now);
  return Causes(ValidateUpdate(now, old));
}

TEST(MoreKindsUpdate, ImmutableFields) {
  EXPECT_EQ(UpdateCauses<api::EndpointSlice>(kSlice, [](api::EndpointSlice& s) { s.set_address_type("IPv6"); }),
            (std::vector<Cause>{{"endpoints[0].addresses[0]", "FieldValueInvalid"}, {"addressType", "FieldValueInvalid"}}));
  EXPECT_EQ(UpdateCauses<api::StorageClass>(kStorageClass, [](api::StorageClass& s) { (*s.mutable_parameters())["type"] = "hdd"; }),
            (std::vector<Cause>{{"parameters", "FieldValueForbidden"}}));
  EXPECT_EQ(UpdateCauses<api::StorageClass>(kStorageClass, [](api::StorageClass& s) { s.set_provisioner("other.example.com"); }),
            (std::vector<Cause>{{"provisioner", "FieldValueForbidden"}}));
  EXPECT_EQ(UpdateCauses<api::PersistentVolume>(kPv, [](api::PersistentVolume& p) {
              p.mutable_spec()->mutable_host_path()->set_path("/elsewhere");
            }),
            (std::vector<Cause>{{"spec.persistentvolumesource", "FieldValueForbidden"}}));
  // Capacity and reclaim policy may change (expansion, a policy change).
  EXPECT_TRUE(UpdateCauses<api::PersistentVolume>(kPv, [](api::PersistentVolume& p) {
                (*p.mutable_spec()->mutable_capacity())["storage"] = "20Gi";
                p.mutable_spec()->set_persistent_volume_reclaim_policy("Delete");
              }).empty());
  EXPECT_EQ(UpdateCauses<api::IngressClass>(kIngressClass, [](api::IngressClass& c) {
              c.mutable_spec()->set_controller("example.com/other");
            }),
            (std::vector<Cause>{{"spec.controller", "FieldValueInvalid"}}));
  EXPECT_EQ(UpdateCauses<api::ControllerRevision>(kRevision, [](api::ControllerRevision& r) {
              (*r.mutable_data()->mutable_fields())["x"].set_string_value("y");
            }),
            (std::vector<Cause>{{"data", "FieldValueInvalid"}}));
  // A PDB's spec may change in policy/v1.
  EXPECT_TRUE(UpdateCauses<api::PodDisruptionBudget>(kPdb, [](api::PodDisruptionBudget& p) {
                *p.mutable_spec()->mutable_min_available() = api::MakeIntOrString(3);
              }).empty());
}

}  // namespace
}  // namespace ksim::apiserver::testing
