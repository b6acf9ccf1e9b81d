// ApplyDefaults: for each default, an object before and after (Kubernetes' documented defaults).
#include <gtest/gtest.h>

#include "tests/cluster/apiserver/strategy/test_objects.h"

namespace ksim::apiserver::testing {
namespace {

// The defaults every pod spec gets, as JSON members.
const std::string kSpecDefaults =
    R"("restartPolicy":"Always","dnsPolicy":"ClusterFirst","terminationGracePeriodSeconds":30,)"
    R"("schedulerName":"default-scheduler","securityContext":{},"enableServiceLinks":true)";
const std::string kJobSpecDefaults =
    R"("dnsPolicy":"ClusterFirst","terminationGracePeriodSeconds":30,)"
    R"("schedulerName":"default-scheduler","securityContext":{},"enableServiceLinks":true)";
// A defaulted container "web" running nginx:1.25, with extra members.
std::string WebContainer(const std::string& extra = "", const std::string& resources = "{}") {
  return R"({"name":"web","image":"nginx:1.25","imagePullPolicy":"IfNotPresent","resources":)" + resources +
         R"(,"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File")" + extra + "}";
}
const std::string kDefaultedTemplate =
    R"({"metadata":{"labels":{"app":"web"}},"spec":{"containers":[)" + WebContainer() + "]," + kSpecDefaults + "}}";

struct DefaultCase {
  std::string name;
  std::string before;
  std::string after;
  const google::protobuf::Message* prototype;
};

std::ostream& operator<<(std::ostream& os, const DefaultCase& c) { return os << c.name; }

std::vector<DefaultCase> Cases() {
  const auto* pod = &api::Pod::default_instance();
  const std::string pod_head = R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"default"},)";
  const std::string pending = R"(,"status":{"phase":"Pending"}})";
  return {
      {"PodSpecAndContainer", pod_head + R"("spec":{"containers":[{"name":"web","image":"nginx:1.25"}]}})",
       pod_head + R"("spec":{"containers":[)" + WebContainer() + "]," + kSpecDefaults + "}" + pending, pod},
      {"PodExplicitValuesKept",
       pod_head + R"("spec":{"restartPolicy":"Never","dnsPolicy":"Default","terminationGracePeriodSeconds":5,)"
                  R"("schedulerName":"mine","enableServiceLinks":false,"containers":[{"name":"web","image":"nginx",)"
                  R"("imagePullPolicy":"Never","terminationMessagePolicy":"FallbackToLogsOnError"}]}})",
       pod_head + R"("spec":{"restartPolicy":"Never","dnsPolicy":"Default","terminationGracePeriodSeconds":5,)"
                  R"("schedulerName":"mine","enableServiceLinks":false,"securityContext":{},)"
                  R"("containers":[{"name":"web","image":"nginx","imagePullPolicy":"Never","resources":{},)"
                  R"("terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"FallbackToLogsOnError"}]})" +
           pending,
       pod},
      {"PodPortsProbesAndHostNetwork",
       pod_head + R"("spec":{"hostNetwork":true,"containers":[{"name":"web","image":"nginx:1.25",)"
                  R"("ports":[{"containerPort":8080}],"livenessProbe":{"httpGet":{"port":8080}},)"
                  R"("readinessProbe":{"tcpSocket":{"port":"http"},"periodSeconds":3}}]}})",
       pod_head + R"("spec":{"hostNetwork":true,"containers":[)" +
           WebContainer(R"(,"ports":[{"containerPort":8080,"hostPort":8080,"protocol":"TCP"}],)"
                        R"("livenessProbe":{"httpGet":{"path":"/","port":8080,"scheme":"HTTP"},"timeoutSeconds":1,)"
                        R"("periodSeconds":10,"successThreshold":1,"failureThreshold":3},)"
                        R"("readinessProbe":{"tcpSocket":{"port":"http"},"timeoutSeconds":1,"periodSeconds":3,)"
                        R"("successThreshold":1,"failureThreshold":3})") +
           "]," + kSpecDefaults + "}" + pending,
       pod},
      {"PodRequestsFromLimits",
       pod_head + R"("spec":{"containers":[{"name":"web","image":"nginx:1.25","resources":)"
                  R"({"limits":{"cpu":"500m","memory":"128Mi"},"requests":{"memory":"64Mi"}}}]}})",
       pod_head + R"("spec":{"containers":[)" +
           WebContainer("", R"({"limits":{"cpu":"500m","memory":"128Mi"},"requests":{"cpu":"500m","memory":"64Mi"}})") +
           "]," + kSpecDefaults + "}" + pending,
       pod},
      {"PodVolumes",
       pod_head + R"("spec":{"volumes":[{"name":"scratch"},{"name":"creds","secret":{"secretName":"s"}},)"
                  R"({"name":"conf","configMap":{"name":"c","defaultMode":256}}],)"
                  R"("containers":[{"name":"web","image":"nginx:1.25"}]}})",
       pod_head + R"("spec":{"volumes":[{"name":"scratch","emptyDir":{}},)"
                  R"({"name":"creds","secret":{"secretName":"s","defaultMode":420}},)"
                  R"({"name":"conf","configMap":{"name":"c","defaultMode":256}}],"containers":[)" +
           WebContainer() + "]," + kSpecDefaults + "}" + pending,
       pod},
      {"ServiceClusterIP",
       R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"default"},)"
       R"("spec":{"selector":{"app":"web"},"ports":[{"port":80}]}})",
       R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"default"},)"
       R"("spec":{"selector":{"app":"web"},"ports":[{"port":80,"protocol":"TCP","targetPort":80}],)"
       R"("type":"ClusterIP","sessionAffinity":"None","internalTrafficPolicy":"Cluster",)"
       R"("ipFamilyPolicy":"SingleStack","ipFamilies":["IPv4"]}})",
       &api::Service::default_instance()},
      {"ServiceNodePortAndClientIP",
       R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"default"},)"
       R"("spec":{"type":"NodePort","sessionAffinity":"ClientIP","ports":[{"port":80,"targetPort":"http"}]}})",
       R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"default"},)"
       R"("spec":{"type":"NodePort","sessionAffinity":"ClientIP","sessionAffinityConfig":{"clientIP":{"timeoutSeconds":10800}},)"
       R"("ports":[{"port":80,"protocol":"TCP","targetPort":"http"}],"externalTrafficPolicy":"Cluster",)"
       R"("internalTrafficPolicy":"Cluster","ipFamilyPolicy":"SingleStack","ipFamilies":["IPv4"]}})",
       &api::Service::default_instance()},
      {"ServiceExternalName",
       R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"db","namespace":"default"},)"
       R"("spec":{"type":"ExternalName","externalName":"db.example.com"}})",
       R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"db","namespace":"default"},)"
       R"("spec":{"type":"ExternalName","externalName":"db.example.com","sessionAffinity":"None"}})",
       &api::Service::default_instance()},
      {"Deployment",
       R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"default"},)"
       R"("spec":{"selector":{"matchLabels":{"app":"web"}},"template":)" +
           TemplateJson() + "}}",
       R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"default"},)"
       R"("spec":{"replicas":1,"selector":{"matchLabels":{"app":"web"}},"template":)" +
           kDefaultedTemplate +
           R"(,"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxUnavailable":"25%","maxSurge":"25%"}},)"
           R"("revisionHistoryLimit":10,"progressDeadlineSeconds":600}})",
       &api::Deployment::default_instance()},
      {"DeploymentRecreate",
       R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"default"},)"
       R"("spec":{"replicas":0,"strategy":{"type":"Recreate"},"selector":{"matchLabels":{"app":"web"}},"template":)" +
           TemplateJson() + "}}",
       R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"default"},)"
       R"("spec":{"replicas":0,"selector":{"matchLabels":{"app":"web"}},"template":)" +
           kDefaultedTemplate + R"(,"strategy":{"type":"Recreate"},"revisionHistoryLimit":10,"progressDeadlineSeconds":600}})",
       &api::Deployment::default_instance()},
      {"ReplicaSet",
       R"({"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"web","namespace":"default"},)"
       R"("spec":{"selector":{"matchLabels":{"app":"web"}},"template":)" +
           TemplateJson() + "}}",
       R"({"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"web","namespace":"default"},)"
       R"("spec":{"replicas":1,"selector":{"matchLabels":{"app":"web"}},"template":)" +
           kDefaultedTemplate + "}}",
       &api::ReplicaSet::default_instance()},
      {"ReplicationControllerSelectorAndLabelsFromTemplate",
       R"({"apiVersion":"v1","kind":"ReplicationController","metadata":{"name":"web","namespace":"default"},)"
       R"("spec":{"template":)" +
           TemplateJson() + "}}",
       R"({"apiVersion":"v1","kind":"ReplicationController","metadata":{"name":"web","namespace":"default",)"
       R"("labels":{"app":"web"}},"spec":{"replicas":1,"selector":{"app":"web"},"template":)" +
           kDefaultedTemplate + "}}",
       &api::ReplicationController::default_instance()},
      {"StatefulSet",
       R"({"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"db","namespace":"default"},)"
       R"("spec":{"serviceName":"db","selector":{"matchLabels":{"app":"web"}},"template":)" +
           TemplateJson() + "}}",
       R"({"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"db","namespace":"default"},)"
       R"("spec":{"replicas":1,"serviceName":"db","selector":{"matchLabels":{"app":"web"}},"template":)" +
           kDefaultedTemplate +
           R"(,"podManagementPolicy":"OrderedReady","updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":0}},)"
           R"("revisionHistoryLimit":10,"persistentVolumeClaimRetentionPolicy":{"whenDeleted":"Retain","whenScaled":"Retain"}}})",
       &api::StatefulSet::default_instance()},
      {"DaemonSet",
       R"({"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"agent","namespace":"default"},)"
       R"("spec":{"selector":{"matchLabels":{"app":"web"}},"template":)" +
           TemplateJson() + "}}",
       R"({"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"agent","namespace":"default"},)"
       R"("spec":{"selector":{"matchLabels":{"app":"web"}},"template":)" +
           kDefaultedTemplate +
           R"(,"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"maxUnavailable":1,"maxSurge":0}},)"
           R"("revisionHistoryLimit":10}})",
       &api::DaemonSet::default_instance()},
      {"JobWithoutUid",
       R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"pi","namespace":"default"},)"
       R"("spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.25"}]}}}})",
       R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"pi","namespace":"default"},)"
       R"("spec":{"parallelism":1,"completions":1,"backoffLimit":6,"completionMode":"NonIndexed","suspend":false,)"
       R"("podReplacementPolicy":"TerminatingOrFailed","template":{"spec":{"containers":[)" +
           WebContainer() + "]," + kJobSpecDefaults + "}}}}",
       &api::Job::default_instance()},
      {"JobSelectorFromUid",
       R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"pi","namespace":"default","uid":"u-1"},)"
       R"("spec":{"parallelism":3,"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"web","image":"nginx:1.25"}]}}}})",
       R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"pi","namespace":"default","uid":"u-1"},)"
       R"("spec":{"parallelism":3,"backoffLimit":6,"completionMode":"NonIndexed","suspend":false,)"
       R"("podReplacementPolicy":"TerminatingOrFailed","selector":{"matchLabels":{"batch.kubernetes.io/controller-uid":"u-1"}},)"
       R"("template":{"metadata":{"labels":{"batch.kubernetes.io/controller-uid":"u-1","controller-uid":"u-1",)"
       R"("batch.kubernetes.io/job-name":"pi","job-name":"pi"}},"spec":{"restartPolicy":"Never","containers":[)" +
           WebContainer() + "]," + kJobSpecDefaults + "}}}}",
       &api::Job::default_instance()},
      {"SecretTypeAndStringData",
       R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","namespace":"default"},)"
       R"("data":{"a":"b2xk"},"stringData":{"a":"new","b":"two"}})",
       R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","namespace":"default"},)"
       R"("type":"Opaque","data":{"a":"bmV3","b":"dHdv"}})",
       &api::Secret::default_instance()},
      {"Namespace", R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team"}})",
       R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team"},"spec":{"finalizers":["kubernetes"]},)"
       R"("status":{"phase":"Active"}})",
       &api::Namespace::default_instance()},
      {"NamespaceBeingFinalizedKeepsItsFinalizers",
       R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team"},"status":{"phase":"Terminating"}})",
       R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team"},"status":{"phase":"Terminating"}})",
       &api::Namespace::default_instance()},
      {"PriorityClass",
       R"({"apiVersion":"scheduling.k8s.io/v1","kind":"PriorityClass","metadata":{"name":"high"},"value":1000})",
       R"({"apiVersion":"scheduling.k8s.io/v1","kind":"PriorityClass","metadata":{"name":"high"},"value":1000,)"
       R"("preemptionPolicy":"PreemptLowerPriority"})",
       &api::PriorityClass::default_instance()},
      {"LimitRangeContainerDefaults",
       R"({"apiVersion":"v1","kind":"LimitRange","metadata":{"name":"l","namespace":"default"},)"
       R"("spec":{"limits":[{"type":"Container","max":{"cpu":"2"},"min":{"memory":"1Mi"}},{"type":"Pod","max":{"cpu":"4"}}]}})",
       R"({"apiVersion":"v1","kind":"LimitRange","metadata":{"name":"l","namespace":"default"},)"
       R"("spec":{"limits":[{"type":"Container","max":{"cpu":"2"},"min":{"memory":"1Mi"},"default":{"cpu":"2"},)"
       R"("defaultRequest":{"cpu":"2","memory":"1Mi"}},{"type":"Pod","max":{"cpu":"4"}}]}})",
       &api::LimitRange::default_instance()},
      {"RoleBindingApiGroups",
       R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"rb","namespace":"default"},)"
       R"("roleRef":{"kind":"Role","name":"reader"},"subjects":[{"kind":"User","name":"alice"},)"
       R"({"kind":"ServiceAccount","name":"default","namespace":"default"}]})",
       R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"rb","namespace":"default"},)"
       R"("roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"reader"},)"
       R"("subjects":[{"kind":"User","apiGroup":"rbac.authorization.k8s.io","name":"alice"},)"
       R"({"kind":"ServiceAccount","name":"default","namespace":"default"}]})",
       &api::RoleBinding::default_instance()},
      {"LeaseHasNoDefaults",
       R"({"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"n1","namespace":"kube-node-lease"},)"
       R"("spec":{"holderIdentity":"n1"}})",
       R"({"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"n1","namespace":"kube-node-lease"},)"
       R"("spec":{"holderIdentity":"n1"}})",
       &api::Lease::default_instance()},
      {"EndpointsPortProtocol",
       R"({"apiVersion":"v1","kind":"Endpoints","metadata":{"name":"web","namespace":"default"},)"
       R"("subsets":[{"addresses":[{"ip":"10.0.0.1"}],"ports":[{"port":80}]}]})",
       R"({"apiVersion":"v1","kind":"Endpoints","metadata":{"name":"web","namespace":"default"},)"
       R"("subsets":[{"addresses":[{"ip":"10.0.0.1"}],"ports":[{"port":80,"protocol":"TCP"}]}]})",
       &api::Endpoints::default_instance()},
  };
}

class DefaultsTest : public ::testing::TestWithParam<DefaultCase> {};

std::unique_ptr<google::protobuf::Message> Decode(const google::protobuf::Message& prototype, const std::string& text) {
  std::unique_ptr<google::protobuf::Message> m(prototype.New());
  const Status s = api::DecodeInto(text, "test", m.get());
  EXPECT_TRUE(s.ok()) << s.ToString() << "\n" << text;
  return m;
}

TEST_P(DefaultsTest, FillsKubernetesDefaults) {
  const DefaultCase& c = GetParam();
  auto obj = Decode(*c.prototype, c.before);
  auto want = Decode(*c.prototype, c.after);
  ApplyDefaults(*obj);
  EXPECT_TRUE(SameObject(*want, *obj));
  // Idempotent, and the defaulted object is valid.
  auto again = Decode(*c.prototype, c.after);
  ApplyDefaults(*again);
  EXPECT_TRUE(SameObject(*want, *again));
  const auto errors = ValidateCreate(*obj);
  EXPECT_TRUE(errors.empty() || c.name == "JobWithoutUid") << Describe(errors);
}

INSTANTIATE_TEST_SUITE_P(Kinds, DefaultsTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<DefaultCase>& param) { return param.param.name; });

struct PullPolicyCase {
  const char* image;
  const char* policy;
};

TEST(DefaultsTest, ImagePullPolicyFollowsTheTag) {
  for (const PullPolicyCase& c : std::vector<PullPolicyCase>{
           {"nginx", "Always"},
           {"nginx:latest", "Always"},
           {"nginx:1.25", "IfNotPresent"},
           {"registry.local:5000/nginx", "Always"},
           {"registry.local:5000/team/nginx:2", "IfNotPresent"},
           {"nginx@sha256:0123abcd", "IfNotPresent"},
           {"nginx:latest@sha256:0123abcd", "Always"},
       }) {
    api::Pod pod = Parse<api::Pod>(PodJson());
    pod.mutable_spec()->mutable_containers(0)->set_image(c.image);
    ApplyDefaults(pod);
    EXPECT_EQ(pod.spec().containers(0).image_pull_policy(), c.policy) << c.image;
  }
}

TEST(DefaultsTest, JobTemplateGetsNoRestartPolicy) {
  api::Job job = Defaulted<api::Job>(
      R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"pi","namespace":"default","uid":"u"},)"
      R"("spec":{"template":{"spec":{"containers":[{"name":"c","image":"perl:5"}]}}}})");
  EXPECT_EQ(job.spec().template_().spec().restart_policy(), "");
  const auto errors = ValidateCreate(job);
  ASSERT_EQ(errors.size(), 1u) << Describe(errors);
  EXPECT_EQ(errors[0].field, "spec.template.spec.restartPolicy");
  EXPECT_EQ(errors[0].reason, "FieldValueRequired");
  EXPECT_EQ(errors[0].message, R"(Required value: valid values: "OnFailure", "Never")");
}

TEST(DefaultsTest, JobCompletionsStayUnsetWhenParallelismIsGiven) {
  api::Job job = Defaulted<api::Job>(
      R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"pi","namespace":"default"},)"
      R"("spec":{"parallelism":2,"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"perl:5"}]}}}})");
  EXPECT_FALSE(job.spec().has_completions());
  EXPECT_EQ(job.spec().parallelism(), 2);
}

TEST(DefaultsTest, TemplatesDoNotGetRequestsFromLimits) {
  api::Deployment d = Defaulted<api::Deployment>(
      R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"default"},)"
      R"("spec":{"selector":{"matchLabels":{"app":"web"}},"template":)" +
      TemplateJson() + "}}");
  (*d.mutable_spec()->mutable_template_()->mutable_spec()->mutable_containers(0)->mutable_resources()->mutable_limits())
      ["cpu"] = "1";
  ApplyDefaults(d);
  EXPECT_TRUE(d.spec().template_().spec().containers(0).resources().requests().empty());
}

TEST(DefaultsTest, UnregisteredMessagesAreLeftAlone) {
  api::PodSpec spec;
  ApplyDefaults(spec);
  EXPECT_EQ(spec.ByteSizeLong(), 0u);
  EXPECT_TRUE(ValidateCreate(spec).empty());
}

}  // namespace
}  // namespace ksim::apiserver::testing
