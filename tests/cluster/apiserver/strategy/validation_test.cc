// ValidateCreate: each rule with a bad object and the exact (field, reason) Kubernetes
// reports, and a valid object of every kind that must pass.
#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "tests/cluster/apiserver/strategy/test_objects.h"

namespace ksim::apiserver::testing {
namespace {

using google::protobuf::Message;

const std::string kDeployment =
    R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"default"},)"
    R"("spec":{"selector":{"matchLabels":{"app":"web"}},"template":)" +
    TemplateJson() + "}}";
const std::string kReplicaSet =
    R"({"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"web","namespace":"default"},)"
    R"("spec":{"selector":{"matchLabels":{"app":"web"}},"template":)" +
    TemplateJson() + "}}";
const std::string kStatefulSet =
    R"({"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"db","namespace":"default"},)"
    R"("spec":{"serviceName":"db","selector":{"matchLabels":{"app":"web"}},"template":)" +
    TemplateJson() + "}}";
const std::string kDaemonSet =
    R"({"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"agent","namespace":"default"},)"
    R"("spec":{"selector":{"matchLabels":{"app":"web"}},"template":)" +
    TemplateJson() + "}}";
const std::string kReplicationController =
    R"({"apiVersion":"v1","kind":"ReplicationController","metadata":{"name":"web","namespace":"default"},)"
    R"("spec":{"template":)" +
    TemplateJson() + "}}";
const std::string kJob =
    R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"pi","namespace":"default","uid":"u-1"},)"
    R"("spec":{"template":{"spec":{"restartPolicy":"OnFailure","containers":[{"name":"pi","image":"perl:5"}]}}}})";
const std::string kService =
    R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"default"},)"
    R"("spec":{"selector":{"app":"web"},"ports":[{"port":80,"targetPort":8080}]}})";
const std::string kConfigMap =
    R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"conf","namespace":"default"},)"
    R"("data":{"app.properties":"a=b","KEY_NAME":"x"}})";
const std::string kSecret =
    R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","namespace":"default"},"data":{"password":"cHc="}})";
const std::string kTlsSecret =
    R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"tls","namespace":"default"},"type":"kubernetes.io/tls",)"
    R"("data":{"tls.crt":"Y2VydA==","tls.key":"a2V5"}})";
const std::string kNamespace = R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team-a"}})";
const std::string kNode =
    R"({"apiVersion":"v1","kind":"Node","metadata":{"name":"node-1.zone-a","labels":{"kubernetes.io/hostname":"node-1"}},)"
    R"("spec":{"taints":[{"key":"dedicated","value":"gpu","effect":"NoSchedule"}]},)"
    R"("status":{"capacity":{"cpu":"4","memory":"16Gi","pods":"110"}}})";
const std::string kResourceQuota =
    R"({"apiVersion":"v1","kind":"ResourceQuota","metadata":{"name":"q","namespace":"default"},)"
    R"("spec":{"hard":{"cpu":"10","requests.memory":"64Gi","pods":"20","count/deployments.apps":"5"}}})";
const std::string kLimitRange =
    R"({"apiVersion":"v1","kind":"LimitRange","metadata":{"name":"l","namespace":"default"},)"
    R"("spec":{"limits":[{"type":"Container","min":{"cpu":"100m"},"max":{"cpu":"2"},"default":{"cpu":"1"},)"
    R"("defaultRequest":{"cpu":"500m"}}]}})";
const std::string kRole =
    R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"reader","namespace":"default"},)"
    R"("rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["get","list","watch"]}]})";
const std::string kClusterRole =
    R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"system:metrics"},)"
    R"("rules":[{"nonResourceURLs":["/metrics"],"verbs":["get"]}]})";
const std::string kRoleBinding =
    R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"rb","namespace":"default"},)"
    R"("roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"reader"},)"
    R"("subjects":[{"kind":"User","name":"alice"},{"kind":"ServiceAccount","name":"default","namespace":"default"}]})";
const std::string kClusterRoleBinding =
    R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"crb"},)"
    R"("roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"view"},)"
    R"("subjects":[{"kind":"Group","name":"devs"}]})";
const std::string kPriorityClass =
    R"({"apiVersion":"scheduling.k8s.io/v1","kind":"PriorityClass","metadata":{"name":"high"},"value":1000000000})";
const std::string kLease =
    R"({"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"node-1","namespace":"kube-node-lease"},)"
    R"("spec":{"holderIdentity":"node-1","leaseDurationSeconds":40}})";
const std::string kCsr =
    R"({"apiVersion":"certificates.k8s.io/v1","kind":"CertificateSigningRequest","metadata":{"name":"node-csr-1"},)"
    R"("spec":{"request":"Y3Ny","signerName":"kubernetes.io/kube-apiserver-client-kubelet","usages":["client auth"]}})";
const std::string kEvent =
    R"({"apiVersion":"v1","kind":"Event","metadata":{"name":"web.1","namespace":"default"},)"
    R"("involvedObject":{"kind":"Pod","namespace":"default","name":"web"},"reason":"Started","type":"Normal"})";
const std::string kEndpoints =
    R"({"apiVersion":"v1","kind":"Endpoints","metadata":{"name":"web","namespace":"default"},)"
    R"("subsets":[{"addresses":[{"ip":"10.1.0.5"},{"ip":"fd00::5"}],"ports":[{"name":"http","port":8080},{"name":"m","port":9090}]}]})";
const std::string kBinding =
    R"({"apiVersion":"v1","kind":"Binding","metadata":{"name":"web","namespace":"default"},"target":{"kind":"Node","name":"node-1"}})";
const std::string kServiceAccount =
    R"({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"builder","namespace":"ci"}})";

// A manifest, defaulted, then changed by `mutate`.
template <typename T>
std::function<std::unique_ptr<Message>()> Make(std::string text, std::function<void(T&)> mutate = nullptr,
                                               bool apply_defaults = true) {
  return [text, mutate, apply_defaults] {
    auto obj = std::make_unique<T>(Parse<T>(text));
    if (apply_defaults) ApplyDefaults(*obj);
    if (mutate) mutate(*obj);
    return std::unique_ptr<Message>(std::move(obj));
  };
}

struct ValidationCase {
  std::string name;
  std::function<std::unique_ptr<Message>()> make;
  std::vector<Cause> want;
  std::string message;  // of the first error, when the wording matters
};

std::ostream& operator<<(std::ostream& os, const ValidationCase& c) { return os << c.name; }

api::Container& Web(api::Pod& pod) { return *pod.mutable_spec()->mutable_containers(0); }

std::vector<ValidationCase> ValidObjects() {
  return {
      {"Pod", Make<api::Pod>(PodJson()), {}, ""},
      {"PodGenerateName", Make<api::Pod>(PodJson(), [](api::Pod& p) {
         p.mutable_metadata()->clear_name();
         p.mutable_metadata()->set_generate_name("web-");
       }), {}, ""},
      {"PodFull",
       Make<api::Pod>(
           PodJson(R"(,"volumes":[{"name":"data","emptyDir":{}},{"name":"conf","configMap":{"name":"c"}}],)"
                   R"("initContainers":[{"name":"init","image":"busybox:1","command":["true"]}],)"
                   R"("tolerations":[{"key":"dedicated","operator":"Equal","value":"gpu","effect":"NoSchedule"},)"
                   R"({"operator":"Exists"},{"key":"node.kubernetes.io/unreachable","operator":"Exists",)"
                   R"("effect":"NoExecute","tolerationSeconds":300}],)"
                   R"("affinity":{"podAntiAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":[)"
                   R"({"labelSelector":{"matchLabels":{"app":"web"}},"topologyKey":"kubernetes.io/hostname"}]},)"
                   R"("nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[)"
                   R"({"matchExpressions":[{"key":"zone","operator":"In","values":["a","b"]}]}]}}},)"
                   R"("topologySpreadConstraints":[{"maxSkew":1,"topologyKey":"zone","whenUnsatisfiable":"DoNotSchedule",)"
                   R"("labelSelector":{"matchLabels":{"app":"web"}}}],"nodeSelector":{"disk":"ssd"},)"
                   R"("serviceAccountName":"builder","priorityClassName":"high","activeDeadlineSeconds":60)",
                   R"(,"ports":[{"name":"http","containerPort":8080},{"name":"metrics","containerPort":9090,"protocol":"UDP"}],)"
                   R"("resources":{"requests":{"cpu":"250m","memory":"64Mi"},"limits":{"cpu":"1","memory":"128Mi"}},)"
                   R"("volumeMounts":[{"name":"data","mountPath":"/data"},{"name":"conf","mountPath":"/etc/conf","subPath":"a"}],)"
                   R"("livenessProbe":{"httpGet":{"port":"http","path":"/healthz"}},)"
                   R"("readinessProbe":{"exec":{"command":["true"]}},"env":[{"name":"MODE","value":"prod"}])")),
       {}, ""},
      {"Deployment", Make<api::Deployment>(kDeployment), {}, ""},
      {"ReplicaSet", Make<api::ReplicaSet>(kReplicaSet), {}, ""},
      {"StatefulSet", Make<api::StatefulSet>(kStatefulSet), {}, ""},
      {"DaemonSet", Make<api::DaemonSet>(kDaemonSet), {}, ""},
      {"ReplicationController", Make<api::ReplicationController>(kReplicationController), {}, ""},
      {"Job", Make<api::Job>(kJob), {}, ""},
      {"Service", Make<api::Service>(kService), {}, ""},
      {"ServiceHeadlessWithoutPorts", Make<api::Service>(kService, [](api::Service& s) {
         s.mutable_spec()->clear_ports();
         s.mutable_spec()->set_cluster_ip("None");
       }), {}, ""},
      {"ServiceExternalName",
       Make<api::Service>(R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"db","namespace":"default"},)"
                          R"("spec":{"type":"ExternalName","externalName":"db.example.com."}})"),
       {}, ""},
      {"ServiceNodePort", Make<api::Service>(kService, [](api::Service& s) {
         s.mutable_spec()->set_type("NodePort");
         s.mutable_spec()->mutable_ports(0)->set_node_port(30080);
       }), {}, ""},
      {"ConfigMap", Make<api::ConfigMap>(kConfigMap), {}, ""},
      {"Secret", Make<api::Secret>(kSecret), {}, ""},
      {"TlsSecret", Make<api::Secret>(kTlsSecret), {}, ""},
      {"Namespace", Make<api::Namespace>(kNamespace), {}, ""},
      {"Node", Make<api::Node>(kNode), {}, ""},
      {"ResourceQuota", Make<api::ResourceQuota>(kResourceQuota), {}, ""},
      {"LimitRange", Make<api::LimitRange>(kLimitRange), {}, ""},
      {"Role", Make<api::Role>(kRole), {}, ""},
      {"ClusterRole", Make<api::ClusterRole>(kClusterRole), {}, ""},
      {"RoleBinding", Make<api::RoleBinding>(kRoleBinding), {}, ""},
      {"ClusterRoleBinding", Make<api::ClusterRoleBinding>(kClusterRoleBinding), {}, ""},
      {"PriorityClass", Make<api::PriorityClass>(kPriorityClass), {}, ""},
      {"SystemPriorityClass",
       Make<api::PriorityClass>(R"({"apiVersion":"scheduling.k8s.io/v1","kind":"PriorityClass",)"
                                R"("metadata":{"name":"system-node-critical"},"value":2000001000})"),
       {}, ""},
      {"Lease", Make<api::Lease>(kLease), {}, ""},
      {"CertificateSigningRequest", Make<api::CertificateSigningRequest>(kCsr), {}, ""},
      {"Event", Make<api::Event>(kEvent), {}, ""},
      {"Endpoints", Make<api::Endpoints>(kEndpoints), {}, ""},
      {"Binding", Make<api::Binding>(kBinding), {}, ""},
      {"ServiceAccount", Make<api::ServiceAccount>(kServiceAccount), {}, ""},
  };
}

const std::string kUnsupportedRestart =
    R"(Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never")";

std::vector<ValidationCase> InvalidObjects() {
  using P = api::Pod;
  return {
      // ---------------------------------------------------------------- metadata
      {"NameOrGenerateNameRequired", Make<P>(PodJson(), [](P& p) { p.mutable_metadata()->clear_name(); }),
       {{"metadata.name", "FieldValueRequired"}}, "Required value: name or generateName is required"},
      {"NameNotASubdomain", Make<P>(PodJson(), [](P& p) { p.mutable_metadata()->set_name("Web_1"); }),
       {{"metadata.name", "FieldValueInvalid"}},
       "Invalid value: \"Web_1\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
       "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
       "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"},
      {"NameTooLong", Make<P>(PodJson(), [](P& p) { p.mutable_metadata()->set_name(std::string(254, 'a')); }),
       {{"metadata.name", "FieldValueInvalid"}}, ""},
      {"GenerateNameChecked", Make<P>(PodJson(), [](P& p) {
         p.mutable_metadata()->clear_name();
         p.mutable_metadata()->set_generate_name("Web-");
       }), {{"metadata.generateName", "FieldValueInvalid"}}, ""},
      {"NamespaceNameIsALabel",
       Make<api::Namespace>(kNamespace, [](api::Namespace& n) { n.mutable_metadata()->set_name("team.a"); }),
       {{"metadata.name", "FieldValueInvalid"}}, "Invalid value: \"team.a\": must not contain dots"},
      {"ServiceNameIsADns1035Label",
       Make<api::Service>(kService, [](api::Service& s) { s.mutable_metadata()->set_name("1web"); }),
       {{"metadata.name", "FieldValueInvalid"}}, ""},
      {"NamespaceRequiredForNamespacedKinds", Make<P>(PodJson(), [](P& p) { p.mutable_metadata()->clear_namespace_(); }),
       {{"metadata.namespace", "FieldValueRequired"}}, "Required value"},
      {"NamespaceForbiddenForClusterKinds",
       Make<api::Node>(kNode, [](api::Node& n) { n.mutable_metadata()->set_namespace_("default"); }),
       {{"metadata.namespace", "FieldValueForbidden"}}, "Forbidden: not allowed on this type"},
      {"LabelKeyInvalid",
       Make<P>(PodJson(), [](P& p) { (*p.mutable_metadata()->mutable_labels())["-app"] = "web"; }),
       {{"metadata.labels", "FieldValueInvalid"}}, ""},
      {"LabelKeyPrefixInvalid",
       Make<P>(PodJson(), [](P& p) { (*p.mutable_metadata()->mutable_labels())["Example.com/app"] = "web"; }),
       {{"metadata.labels", "FieldValueInvalid"}}, ""},
      {"LabelValueTooLong",
       Make<P>(PodJson(), [](P& p) { (*p.mutable_metadata()->mutable_labels())["app"] = std::string(64, 'a'); }),
       {{"metadata.labels", "FieldValueInvalid"}}, "Invalid value: \"" + std::string(64, 'a') +
                                                       "\": must be no more than 63 characters"},
      {"AnnotationKeyInvalid",
       Make<P>(PodJson(), [](P& p) { (*p.mutable_metadata()->mutable_annotations())["a b"] = "x"; }),
       {{"metadata.annotations", "FieldValueInvalid"}}, ""},
      {"AnnotationsTooLarge",
       Make<P>(PodJson(), [](P& p) { (*p.mutable_metadata()->mutable_annotations())["big"] = std::string(262142, 'x'); }),
       {{"metadata.annotations", "FieldValueTooLong"}}, "Too long: must have at most 262144 bytes"},
      {"FinalizerNotQualified",
       Make<P>(PodJson(), [](P& p) { p.mutable_metadata()->add_finalizers("cleanup"); }),
       {{"metadata.finalizers", "FieldValueInvalid"}}, ""},
      // ---------------------------------------------------------------- pods
      {"ContainersRequired", Make<P>(PodJson(), [](P& p) { p.mutable_spec()->clear_containers(); }),
       {{"spec.containers", "FieldValueRequired"}}, ""},
      {"ContainerNameDuplicate", Make<P>(PodJson(), [](P& p) { *p.mutable_spec()->add_containers() = Web(p); }),
       {{"spec.containers[1].name", "FieldValueDuplicate"}}, "Duplicate value: \"web\""},
      {"ContainerNameSharedWithInitContainers",
       Make<P>(PodJson(), [](P& p) { *p.mutable_spec()->add_init_containers() = Web(p); }),
       {{"spec.containers[0].name", "FieldValueDuplicate"}}, ""},
      {"ContainerNameNotALabel", Make<P>(PodJson(), [](P& p) { Web(p).set_name("Web"); }),
       {{"spec.containers[0].name", "FieldValueInvalid"}}, ""},
      {"ImageRequired", Make<P>(PodJson(), [](P& p) { Web(p).clear_image(); }),
       {{"spec.containers[0].image", "FieldValueRequired"}}, "Required value"},
      {"ImageWhitespace", Make<P>(PodJson(), [](P& p) { Web(p).set_image("nginx "); }),
       {{"spec.containers[0].image", "FieldValueInvalid"}}, ""},
      {"ContainerPortOutOfRange", Make<P>(PodJson("", R"(,"ports":[{"containerPort":70000}])")),
       {{"spec.containers[0].ports[0].containerPort", "FieldValueInvalid"}},
       "Invalid value: 70000: must be between 1 and 65535, inclusive"},
      {"ContainerPortRequired", Make<P>(PodJson(R"(,"dnsPolicy":"ClusterFirst","restartPolicy":"Always")",
                                                R"(,"imagePullPolicy":"Always","terminationMessagePolicy":"File",)"
                                                R"("ports":[{"protocol":"TCP"}])"),
                                        nullptr, false),
       {{"spec.containers[0].ports[0].containerPort", "FieldValueRequired"}}, ""},
      {"PortNameTooLong", Make<P>(PodJson("", R"(,"ports":[{"name":"abcdefghijklmnop","containerPort":80}])")),
       {{"spec.containers[0].ports[0].name", "FieldValueInvalid"}},
       "Invalid value: \"abcdefghijklmnop\": must be no more than 15 characters"},
      {"PortNameNeedsALetter", Make<P>(PodJson("", R"(,"ports":[{"name":"8080","containerPort":80}])")),
       {{"spec.containers[0].ports[0].name", "FieldValueInvalid"}}, ""},
      {"PortNameDuplicate",
       Make<P>(PodJson("", R"(,"ports":[{"name":"http","containerPort":80},{"name":"http","containerPort":81}])")),
       {{"spec.containers[0].ports[1].name", "FieldValueDuplicate"}}, ""},
      {"PortProtocolUnsupported", Make<P>(PodJson("", R"(,"ports":[{"containerPort":80,"protocol":"HTTP"}])")),
       {{"spec.containers[0].ports[0].protocol", "FieldValueNotSupported"}},
       R"(Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP")"},
      {"HostNetworkPortsMustMatch",
       Make<P>(PodJson(R"(,"hostNetwork":true)", R"(,"ports":[{"containerPort":80,"hostPort":8080}])")),
       {{"spec.containers[0].ports[0].hostPort", "FieldValueInvalid"}}, ""},
      {"RequestAboveLimit",
       Make<P>(PodJson("", R"(,"resources":{"requests":{"cpu":"2"},"limits":{"cpu":"1500m"}})")),
       {{"spec.containers[0].resources.requests[cpu]", "FieldValueInvalid"}},
       "Invalid value: \"2\": must be less than or equal to cpu limit of 1500m"},
      {"QuantityDoesNotParse", Make<P>(PodJson(), [](P& p) {
         (*Web(p).mutable_resources()->mutable_limits())["memory"] = "lots";
       }),
       {{"spec.containers[0].resources.limits[memory]", "FieldValueInvalid"}}, ""},
      {"QuantityNegative", Make<P>(PodJson(), [](P& p) {
         (*Web(p).mutable_resources()->mutable_requests())["cpu"] = "-1";
       }),
       {{"spec.containers[0].resources.requests[cpu]", "FieldValueInvalid"}}, ""},
      {"ResourceNameNotStandard", Make<P>(PodJson(), [](P& p) {
         (*Web(p).mutable_resources()->mutable_requests())["gpu"] = "1";
       }),
       {{"spec.containers[0].resources.requests[gpu]", "FieldValueInvalid"}}, ""},
      {"RestartPolicyUnsupported", Make<P>(PodJson(), [](P& p) { p.mutable_spec()->set_restart_policy("Sometimes"); }),
       {{"spec.restartPolicy", "FieldValueNotSupported"}}, kUnsupportedRestart},
      {"DnsPolicyUnsupported", Make<P>(PodJson(), [](P& p) { p.mutable_spec()->set_dns_policy("Google"); }),
       {{"spec.dnsPolicy", "FieldValueNotSupported"}}, ""},
      {"DnsPolicyNoneNeedsConfig", Make<P>(PodJson(), [](P& p) { p.mutable_spec()->set_dns_policy("None"); }),
       {{"spec.dnsConfig", "FieldValueRequired"}}, ""},
      {"ImagePullPolicyUnsupported", Make<P>(PodJson(), [](P& p) { Web(p).set_image_pull_policy("Sometimes"); }),
       {{"spec.containers[0].imagePullPolicy", "FieldValueNotSupported"}},
       R"(Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never")"},
      {"VolumeNameDuplicate",
       Make<P>(PodJson(R"(,"volumes":[{"name":"data","emptyDir":{}},{"name":"data","emptyDir":{}}])")),
       {{"spec.volumes[1].name", "FieldValueDuplicate"}}, ""},
      {"VolumeWithTwoSources",
       Make<P>(PodJson(R"(,"volumes":[{"name":"data","emptyDir":{},"configMap":{"name":"c"}}])")),
       {{"spec.volumes[0].configMap", "FieldValueForbidden"}}, ""},
      {"VolumeMountOfUnknownVolume",
       Make<P>(PodJson("", R"(,"volumeMounts":[{"name":"data","mountPath":"/data"}])")),
       {{"spec.containers[0].volumeMounts[0].name", "FieldValueNotFound"}}, "Not found: \"data\""},
      {"VolumeMountPathRequired",
       Make<P>(PodJson(R"(,"volumes":[{"name":"data","emptyDir":{}}])", R"(,"volumeMounts":[{"name":"data"}])")),
       {{"spec.containers[0].volumeMounts[0].mountPath", "FieldValueRequired"}}, ""},
      {"ProbeWithoutHandler", Make<P>(PodJson("", R"(,"livenessProbe":{"periodSeconds":5})")),
       {{"spec.containers[0].livenessProbe", "FieldValueRequired"}}, "Required value: must specify a handler type"},
      {"ProbeWithTwoHandlers",
       Make<P>(PodJson("", R"(,"readinessProbe":{"exec":{"command":["true"]},"tcpSocket":{"port":80}})")),
       {{"spec.containers[0].readinessProbe.tcpSocket", "FieldValueForbidden"}}, ""},
      {"LivenessSuccessThresholdMustBeOne",
       Make<P>(PodJson("", R"(,"livenessProbe":{"tcpSocket":{"port":80},"successThreshold":2})")),
       {{"spec.containers[0].livenessProbe.successThreshold", "FieldValueInvalid"}}, ""},
      {"ProbePortInvalid", Make<P>(PodJson("", R"(,"readinessProbe":{"httpGet":{"port":0}})")),
       {{"spec.containers[0].readinessProbe.httpGet.port", "FieldValueInvalid"}}, ""},
      {"TolerationExistsWithValue",
       Make<P>(PodJson(R"(,"tolerations":[{"key":"k","operator":"Exists","value":"v"}])")),
       {{"spec.tolerations[0].operator", "FieldValueInvalid"}}, ""},
      {"TolerationOperatorUnsupported", Make<P>(PodJson(R"(,"tolerations":[{"key":"k","operator":"In"}])")),
       {{"spec.tolerations[0].operator", "FieldValueNotSupported"}}, ""},
      {"TolerationEffectUnsupported",
       Make<P>(PodJson(R"(,"tolerations":[{"key":"k","operator":"Exists","effect":"Never"}])")),
       {{"spec.tolerations[0].effect", "FieldValueNotSupported"}}, ""},
      {"TolerationEmptyKeyNeedsExists", Make<P>(PodJson(R"(,"tolerations":[{"operator":"Equal","value":"v"}])")),
       {{"spec.tolerations[0].operator", "FieldValueInvalid"}}, ""},
      {"TolerationSecondsNeedNoExecute",
       Make<P>(PodJson(R"(,"tolerations":[{"key":"k","operator":"Exists","effect":"NoSchedule","tolerationSeconds":5}])")),
       {{"spec.tolerations[0].effect", "FieldValueInvalid"}}, ""},
      {"PodAntiAffinityNeedsTopologyKey",
       Make<P>(PodJson(R"(,"affinity":{"podAntiAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":[)"
                       R"({"labelSelector":{"matchLabels":{"app":"web"}}}]}})")),
       {{"spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey",
         "FieldValueRequired"}},
       "Required value: can not be empty"},
      {"PodAffinityWeightOutOfRange",
       Make<P>(PodJson(R"(,"affinity":{"podAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":[)"
                       R"({"weight":0,"podAffinityTerm":{"topologyKey":"zone"}}]}})")),
       {{"spec.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight", "FieldValueInvalid"}},
       ""},
      {"NodeAffinityNeedsTerms",
       Make<P>(PodJson(R"(,"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{}}})")),
       {{"spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms",
         "FieldValueRequired"}},
       ""},
      {"NodeSelectorOperatorInvalid",
       Make<P>(PodJson(R"(,"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{)"
                       R"("nodeSelectorTerms":[{"matchExpressions":[{"key":"zone","operator":"Is","values":["a"]}]}]}}})")),
       {{"spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]."
         "matchExpressions[0].operator",
         "FieldValueInvalid"}},
       ""},
      {"SpreadMaxSkewPositive",
       Make<P>(PodJson(R"(,"topologySpreadConstraints":[{"maxSkew":0,"topologyKey":"zone","whenUnsatisfiable":"DoNotSchedule"}])")),
       {{"spec.topologySpreadConstraints[0].maxSkew", "FieldValueInvalid"}}, "Invalid value: 0: must be greater than zero"},
      {"SpreadWhenUnsatisfiableUnsupported",
       Make<P>(PodJson(R"(,"topologySpreadConstraints":[{"maxSkew":1,"topologyKey":"zone","whenUnsatisfiable":"Maybe"}])")),
       {{"spec.topologySpreadConstraints[0].whenUnsatisfiable", "FieldValueNotSupported"}},
       R"(Unsupported value: "Maybe": supported values: "DoNotSchedule", "ScheduleAnyway")"},
      {"SpreadTopologyKeyRequired",
       Make<P>(PodJson(R"(,"topologySpreadConstraints":[{"maxSkew":1,"whenUnsatisfiable":"ScheduleAnyway"}])")),
       {{"spec.topologySpreadConstraints[0].topologyKey", "FieldValueRequired"}}, ""},
      {"NodeNameWithSchedulingGates",
       Make<P>(PodJson(R"(,"nodeName":"node-1","schedulingGates":[{"name":"example.com/quota"}])")),
       {{"spec.nodeName", "FieldValueForbidden"}}, ""},
      {"ActiveDeadlineMustBePositive", Make<P>(PodJson(R"(,"activeDeadlineSeconds":0)")),
       {{"spec.activeDeadlineSeconds", "FieldValueInvalid"}}, ""},
      {"InitContainerProbesNeedSidecar",
       Make<P>(PodJson(R"(,"initContainers":[{"name":"init","image":"busybox","readinessProbe":{"exec":{"command":["true"]}}}])")),
       {{"spec.initContainers[0].readinessProbe", "FieldValueForbidden"}}, ""},
      {"BindingTargetNameRequired",
       Make<api::Binding>(kBinding, [](api::Binding& b) { b.mutable_target()->clear_name(); }),
       {{"target.name", "FieldValueRequired"}}, ""},
      // ---------------------------------------------------------------- workloads
      {"DeploymentSelectorRequired",
       Make<api::Deployment>(kDeployment, [](api::Deployment& d) { d.mutable_spec()->clear_selector(); }),
       {{"spec.selector", "FieldValueRequired"}}, ""},
      {"DeploymentSelectorEmpty",
       Make<api::Deployment>(kDeployment, [](api::Deployment& d) { d.mutable_spec()->mutable_selector()->Clear(); }),
       {{"spec.selector", "FieldValueInvalid"}}, ""},
      {"DeploymentSelectorDoesNotMatchTemplate",
       Make<api::Deployment>(kDeployment,
                             [](api::Deployment& d) {
                               (*d.mutable_spec()->mutable_selector()->mutable_match_labels())["app"] = "api";
                             }),
       {{"spec.template.metadata.labels", "FieldValueInvalid"}},
       "Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`"},
      {"DeploymentSelectorExpressionOperator",
       Make<api::Deployment>(kDeployment,
                             [](api::Deployment& d) {
                               auto* e = d.mutable_spec()->mutable_selector()->add_match_expressions();
                               e->set_key("tier");
                               e->set_operator_("Equals");
                             }),
       {{"spec.selector.matchExpressions[0].operator", "FieldValueInvalid"}}, ""},
      {"DeploymentReplicasNegative",
       Make<api::Deployment>(kDeployment, [](api::Deployment& d) { d.mutable_spec()->set_replicas(-1); }),
       {{"spec.replicas", "FieldValueInvalid"}}, "Invalid value: -1: must be greater than or equal to 0"},
      {"DeploymentTemplateMustRestartAlways",
       Make<api::Deployment>(kDeployment,
                             [](api::Deployment& d) {
                               d.mutable_spec()->mutable_template_()->mutable_spec()->set_restart_policy("Never");
                             }),
       {{"spec.template.spec.restartPolicy", "FieldValueNotSupported"}},
       R"(Unsupported value: "Never": supported values: "Always")"},
      {"DeploymentStrategyUnsupported",
       Make<api::Deployment>(kDeployment, [](api::Deployment& d) { d.mutable_spec()->mutable_strategy()->set_type("BlueGreen"); }),
       {{"spec.strategy.type", "FieldValueNotSupported"}}, ""},
      {"DeploymentRecreateWithRollingUpdate",
       Make<api::Deployment>(kDeployment, [](api::Deployment& d) { d.mutable_spec()->mutable_strategy()->set_type("Recreate"); }),
       {{"spec.strategy.rollingUpdate", "FieldValueForbidden"}}, ""},
      {"DeploymentBothBudgetsZero",
       Make<api::Deployment>(kDeployment,
                             [](api::Deployment& d) {
                               auto* ru = d.mutable_spec()->mutable_strategy()->mutable_rolling_update();
                               *ru->mutable_max_surge() = api::MakeIntOrString(0);
                               *ru->mutable_max_unavailable() = api::MakeIntOrString(std::string("0%"));
                             }),
       {{"spec.strategy.rollingUpdate.maxUnavailable", "FieldValueInvalid"}}, ""},
      {"DeploymentProgressDeadline",
       Make<api::Deployment>(kDeployment,
                             [](api::Deployment& d) {
                               d.mutable_spec()->set_min_ready_seconds(600);
                             }),
       {{"spec.progressDeadlineSeconds", "FieldValueInvalid"}}, ""},
      {"DeploymentTemplateContainerImage",
       Make<api::Deployment>(kDeployment,
                             [](api::Deployment& d) {
                               d.mutable_spec()->mutable_template_()->mutable_spec()->mutable_containers(0)->clear_image();
                             }),
       {{"spec.template.spec.containers[0].image", "FieldValueRequired"}}, ""},
      {"ReplicaSetSelectorEmpty",
       Make<api::ReplicaSet>(kReplicaSet, [](api::ReplicaSet& r) { r.mutable_spec()->mutable_selector()->Clear(); }),
       {{"spec.selector", "FieldValueInvalid"}}, ""},
      {"ReplicaSetTemplateActiveDeadline",
       Make<api::ReplicaSet>(kReplicaSet,
                             [](api::ReplicaSet& r) {
                               r.mutable_spec()->mutable_template_()->mutable_spec()->set_active_deadline_seconds(5);
                             }),
       {{"spec.template.spec.activeDeadlineSeconds", "FieldValueForbidden"}}, ""},
      {"ReplicationControllerSelectorMismatch",
       Make<api::ReplicationController>(kReplicationController,
                                        [](api::ReplicationController& rc) {
                                          (*rc.mutable_spec()->mutable_selector())["tier"] = "front";
                                        }),
       {{"spec.template.metadata.labels", "FieldValueInvalid"}}, ""},
      {"StatefulSetPodManagementPolicy",
       Make<api::StatefulSet>(kStatefulSet, [](api::StatefulSet& s) { s.mutable_spec()->set_pod_management_policy("Random"); }),
       {{"spec.podManagementPolicy", "FieldValueNotSupported"}}, ""},
      {"StatefulSetPartitionNegative",
       Make<api::StatefulSet>(kStatefulSet,
                              [](api::StatefulSet& s) {
                                s.mutable_spec()->mutable_update_strategy()->mutable_rolling_update()->set_partition(-1);
                              }),
       {{"spec.updateStrategy.rollingUpdate.partition", "FieldValueInvalid"}}, ""},
      {"StatefulSetSelectorRequired",
       Make<api::StatefulSet>(kStatefulSet, [](api::StatefulSet& s) { s.mutable_spec()->clear_selector(); }),
       {{"spec.selector", "FieldValueRequired"}}, ""},
      {"DaemonSetUpdateStrategyUnsupported",
       Make<api::DaemonSet>(kDaemonSet,
                            [](api::DaemonSet& d) {
                              d.mutable_spec()->mutable_update_strategy()->set_type("Surge");
                            }),
       {{"spec.updateStrategy.type", "FieldValueNotSupported"}}, ""},
      {"DaemonSetSelectorMismatch",
       Make<api::DaemonSet>(kDaemonSet,
                            [](api::DaemonSet& d) {
                              (*d.mutable_spec()->mutable_template_()->mutable_metadata()->mutable_labels())["app"] = "x";
                            }),
       {{"spec.template.metadata.labels", "FieldValueInvalid"}}, ""},
      {"JobRestartPolicyAlways",
       Make<api::Job>(kJob, [](api::Job& j) { j.mutable_spec()->mutable_template_()->mutable_spec()->set_restart_policy("Always"); }),
       {{"spec.template.spec.restartPolicy", "FieldValueNotSupported"}},
       R"(Unsupported value: "Always": supported values: "OnFailure", "Never")"},
      {"JobParallelismNegative", Make<api::Job>(kJob, [](api::Job& j) { j.mutable_spec()->set_parallelism(-1); }),
       {{"spec.parallelism", "FieldValueInvalid"}}, ""},
      {"JobCompletionModeUnsupported",
       Make<api::Job>(kJob, [](api::Job& j) { j.mutable_spec()->set_completion_mode("Ordered"); }),
       {{"spec.completionMode", "FieldValueNotSupported"}}, ""},
      {"JobManualSelectorRequired",
       Make<api::Job>(R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"pi","namespace":"default"},)"
                      R"("spec":{"manualSelector":true,"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"perl"}]}}}})"),
       {{"spec.selector", "FieldValueRequired"}}, ""},
      // ---------------------------------------------------------------- services
      {"ServicePortsRequired", Make<api::Service>(kService, [](api::Service& s) { s.mutable_spec()->clear_ports(); }),
       {{"spec.ports", "FieldValueRequired"}}, ""},
      {"ServicePortNamesRequiredWhenSeveral",
       Make<api::Service>(kService,
                          [](api::Service& s) {
                            auto* p = s.mutable_spec()->add_ports();
                            p->set_port(443);
                            p->set_protocol("TCP");
                          }),
       {{"spec.ports[0].name", "FieldValueRequired"}, {"spec.ports[1].name", "FieldValueRequired"}}, ""},
      {"ServicePortNamesUnique",
       Make<api::Service>(R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"default"},)"
                          R"("spec":{"ports":[{"name":"http","port":80},{"name":"http","port":81}]}})"),
       {{"spec.ports[1].name", "FieldValueDuplicate"}}, ""},
      {"ServicePortProtocolPairsUnique",
       Make<api::Service>(R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"default"},)"
                          R"("spec":{"ports":[{"name":"a","port":80},{"name":"b","port":80}]}})"),
       {{"spec.ports[1]", "FieldValueDuplicate"}}, ""},
      {"ServicePortOutOfRange", Make<api::Service>(kService, [](api::Service& s) { s.mutable_spec()->mutable_ports(0)->set_port(0); }),
       {{"spec.ports[0].port", "FieldValueInvalid"}}, ""},
      {"ServiceTypeUnsupported", Make<api::Service>(kService, [](api::Service& s) { s.mutable_spec()->set_type("Internal"); }),
       {{"spec.type", "FieldValueNotSupported"}},
       R"(Unsupported value: "Internal": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort")"},
      {"ServiceNodePortOutOfRange",
       Make<api::Service>(kService,
                          [](api::Service& s) {
                            s.mutable_spec()->set_type("NodePort");
                            s.mutable_spec()->mutable_ports(0)->set_node_port(80);
                          }),
       {{"spec.ports[0].nodePort", "FieldValueInvalid"}}, ""},
      {"ServiceNodePortOnClusterIP",
       Make<api::Service>(kService, [](api::Service& s) { s.mutable_spec()->mutable_ports(0)->set_node_port(30001); }),
       {{"spec.ports[0].nodePort", "FieldValueForbidden"}}, ""},
      {"ServiceExternalNameRequired",
       Make<api::Service>(R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"db","namespace":"default"},)"
                          R"("spec":{"type":"ExternalName"}})"),
       {{"spec.externalName", "FieldValueRequired"}}, ""},
      {"ServiceClusterIPInvalid", Make<api::Service>(kService, [](api::Service& s) { s.mutable_spec()->set_cluster_ip("10.0.0.300"); }),
       {{"spec.clusterIP", "FieldValueInvalid"}}, ""},
      {"ServiceTargetPortName",
       Make<api::Service>(kService,
                          [](api::Service& s) {
                            *s.mutable_spec()->mutable_ports(0)->mutable_target_port() = api::MakeIntOrString(std::string("http--x"));
                          }),
       {{"spec.ports[0].targetPort", "FieldValueInvalid"}}, ""},
      {"ServiceSelectorValue",
       Make<api::Service>(kService, [](api::Service& s) { (*s.mutable_spec()->mutable_selector())["app"] = "a b"; }),
       {{"spec.selector", "FieldValueInvalid"}}, ""},
      // ---------------------------------------------------------------- config
      {"ConfigMapKeyInvalid",
       Make<api::ConfigMap>(kConfigMap, [](api::ConfigMap& c) { (*c.mutable_data())["a b"] = "x"; }),
       {{"data[a b]", "FieldValueInvalid"}}, ""},
      {"ConfigMapKeyDotDot",
       Make<api::ConfigMap>(kConfigMap, [](api::ConfigMap& c) { (*c.mutable_data())["..data"] = "x"; }),
       {{"data[..data]", "FieldValueInvalid"}}, "Invalid value: \"..data\": must not start with '..'"},
      {"ConfigMapTooLarge",
       Make<api::ConfigMap>(kConfigMap, [](api::ConfigMap& c) { (*c.mutable_data())["big"] = std::string(1024 * 1024, 'x'); }),
       {{"data", "FieldValueTooLong"}}, "Too long: must have at most 1048576 bytes"},
      {"ConfigMapBinaryDuplicatesData",
       Make<api::ConfigMap>(kConfigMap, [](api::ConfigMap& c) { (*c.mutable_binary_data())["KEY_NAME"] = "x"; }),
       {{"binaryData[KEY_NAME]", "FieldValueInvalid"}}, ""},
      {"SecretKeyInvalid", Make<api::Secret>(kSecret, [](api::Secret& s) { (*s.mutable_data())["a/b"] = "x"; }),
       {{"data[a/b]", "FieldValueInvalid"}}, ""},
      {"SecretTooLarge",
       Make<api::Secret>(kSecret, [](api::Secret& s) { (*s.mutable_data())["big"] = std::string(1024 * 1024, 'x'); }),
       {{"data", "FieldValueTooLong"}}, ""},
      {"TlsSecretNeedsKey", Make<api::Secret>(kTlsSecret, [](api::Secret& s) { s.mutable_data()->erase("tls.key"); }),
       {{"data[tls.key]", "FieldValueRequired"}}, ""},
      // ---------------------------------------------------------------- policy
      {"ResourceQuotaHardNotAQuantity",
       Make<api::ResourceQuota>(kResourceQuota, [](api::ResourceQuota& q) { (*q.mutable_spec()->mutable_hard())["cpu"] = "ten"; }),
       {{"spec.hard[cpu]", "FieldValueInvalid"}}, ""},
      {"ResourceQuotaCountNotInteger",
       Make<api::ResourceQuota>(kResourceQuota, [](api::ResourceQuota& q) { (*q.mutable_spec()->mutable_hard())["pods"] = "1500m"; }),
       {{"spec.hard[pods]", "FieldValueInvalid"}}, ""},
      {"ResourceQuotaScopeUnsupported",
       Make<api::ResourceQuota>(kResourceQuota, [](api::ResourceQuota& q) { q.mutable_spec()->add_scopes("Cheap"); }),
       {{"spec.scopes[0]", "FieldValueNotSupported"}}, ""},
      {"LimitRangeTypeUnsupported",
       Make<api::LimitRange>(kLimitRange, [](api::LimitRange& l) { l.mutable_spec()->mutable_limits(0)->set_type("Node"); }),
       {{"spec.limits[0].type", "FieldValueNotSupported"}},
       R"(Unsupported value: "Node": supported values: "Container", "PersistentVolumeClaim", "Pod")"},
      {"LimitRangeMinAboveMax",
       Make<api::LimitRange>(
           R"({"apiVersion":"v1","kind":"LimitRange","metadata":{"name":"l","namespace":"default"},)"
           R"("spec":{"limits":[{"type":"Pod","min":{"cpu":"3"},"max":{"cpu":"2"}}]}})"),
       {{"spec.limits[0].min[cpu]", "FieldValueInvalid"}}, "Invalid value: \"3\": min value 3 is greater than max value 2"},
      {"LimitRangeDefaultAboveMax",
       Make<api::LimitRange>(kLimitRange, [](api::LimitRange& l) {
         (*l.mutable_spec()->mutable_limits(0)->mutable_default_limit())["cpu"] = "3";
       }),
       {{"spec.limits[0].default[cpu]", "FieldValueInvalid"}}, ""},
      {"LimitRangeDefaultRequestAboveDefault",
       Make<api::LimitRange>(kLimitRange, [](api::LimitRange& l) {
         (*l.mutable_spec()->mutable_limits(0)->mutable_default_request())["cpu"] = "1500m";
       }),
       {{"spec.limits[0].defaultRequest[cpu]", "FieldValueInvalid"}}, ""},
      {"LimitRangePodDefaultsForbidden",
       Make<api::LimitRange>(
           R"({"apiVersion":"v1","kind":"LimitRange","metadata":{"name":"l","namespace":"default"},)"
           R"("spec":{"limits":[{"type":"Pod","default":{"cpu":"1"}}]}})"),
       {{"spec.limits[0].default", "FieldValueForbidden"}}, ""},
      // ---------------------------------------------------------------- rbac, scheduling, others
      {"RoleVerbsRequired", Make<api::Role>(kRole, [](api::Role& r) { r.mutable_rules(0)->clear_verbs(); }),
       {{"rules[0].verbs", "FieldValueRequired"}}, "Required value: verbs must contain at least one value"},
      {"RoleResourcesRequired", Make<api::Role>(kRole, [](api::Role& r) { r.mutable_rules(0)->clear_resources(); }),
       {{"rules[0].resources", "FieldValueRequired"}}, ""},
      {"RoleNonResourceUrlsNamespaced",
       Make<api::Role>(kRole,
                       [](api::Role& r) {
                         r.mutable_rules(0)->clear_api_groups();
                         r.mutable_rules(0)->clear_resources();
                         r.mutable_rules(0)->add_non_resource_urls("/healthz");
                       }),
       {{"rules[0].nonResourceURLs", "FieldValueInvalid"}}, ""},
      {"RoleNameIsAPathSegment", Make<api::Role>(kRole, [](api::Role& r) { r.mutable_metadata()->set_name("a/b"); }),
       {{"metadata.name", "FieldValueInvalid"}}, ""},
      {"RoleBindingRoleRefKind",
       Make<api::RoleBinding>(kRoleBinding, [](api::RoleBinding& b) { b.mutable_role_ref()->set_kind("User"); }),
       {{"roleRef.kind", "FieldValueNotSupported"}}, ""},
      {"RoleBindingSubjectKind",
       Make<api::RoleBinding>(kRoleBinding, [](api::RoleBinding& b) { b.mutable_subjects(0)->set_kind("Robot"); }),
       {{"subjects[0].kind", "FieldValueNotSupported"}}, ""},
      {"ClusterRoleBindingServiceAccountNamespace",
       Make<api::ClusterRoleBinding>(kClusterRoleBinding,
                                     [](api::ClusterRoleBinding& b) {
                                       b.mutable_subjects(0)->set_kind("ServiceAccount");
                                       b.mutable_subjects(0)->clear_api_group();
                                     }),
       {{"subjects[0].namespace", "FieldValueRequired"}}, ""},
      {"PriorityClassValueTooHigh",
       Make<api::PriorityClass>(kPriorityClass, [](api::PriorityClass& p) { p.set_value(1000000001); }),
       {{"value", "FieldValueInvalid"}}, "Invalid value: 1000000001: maximum allowed value of a user defined priority is 1000000000"},
      {"PriorityClassSystemPrefix",
       Make<api::PriorityClass>(kPriorityClass, [](api::PriorityClass& p) { p.mutable_metadata()->set_name("system-high"); }),
       {{"metadata.name", "FieldValueForbidden"}}, ""},
      {"PriorityClassPreemptionPolicy",
       Make<api::PriorityClass>(kPriorityClass, [](api::PriorityClass& p) { p.set_preemption_policy("Always"); }),
       {{"preemptionPolicy", "FieldValueNotSupported"}}, ""},
      {"LeaseDurationPositive", Make<api::Lease>(kLease, [](api::Lease& l) { l.mutable_spec()->set_lease_duration_seconds(0); }),
       {{"spec.leaseDurationSeconds", "FieldValueInvalid"}}, ""},
      {"CsrSignerRequired",
       Make<api::CertificateSigningRequest>(kCsr, [](api::CertificateSigningRequest& c) { c.mutable_spec()->clear_signer_name(); }),
       {{"spec.signerName", "FieldValueRequired"}}, ""},
      {"NamespaceFinalizerNotQualified",
       Make<api::Namespace>(kNamespace, [](api::Namespace& n) { n.mutable_spec()->add_finalizers("cleanup"); }),
       {{"spec.finalizers", "FieldValueInvalid"}}, ""},
      {"NodeTaintEffect", Make<api::Node>(kNode, [](api::Node& n) { n.mutable_spec()->mutable_taints(0)->set_effect("Never"); }),
       {{"spec.taints[0].effect", "FieldValueNotSupported"}}, ""},
      {"EventNamespaceMismatch",
       Make<api::Event>(kEvent, [](api::Event& e) { e.mutable_involved_object()->set_namespace_("other"); }),
       {{"involvedObject.namespace", "FieldValueInvalid"}}, ""},
      {"EndpointsAddressNotAnIP",
       Make<api::Endpoints>(kEndpoints, [](api::Endpoints& e) { e.mutable_subsets(0)->mutable_addresses(0)->set_ip("web"); }),
       {{"subsets[0].addresses[0].ip", "FieldValueInvalid"}}, ""},
  };
}

class ValidObjectTest : public ::testing::TestWithParam<ValidationCase> {};

TEST_P(ValidObjectTest, Passes) {
  const auto obj = GetParam().make();
  const auto errors = ValidateCreate(*obj);
  EXPECT_TRUE(errors.empty()) << Describe(errors);
}

INSTANTIATE_TEST_SUITE_P(Kinds, ValidObjectTest, ::testing::ValuesIn(ValidObjects()),
                         [](const ::testing::TestParamInfo<ValidationCase>& param) { return param.param.name; });

class InvalidObjectTest : public ::testing::TestWithParam<ValidationCase> {};

TEST_P(InvalidObjectTest, ReportsKubernetesCause) {
  const ValidationCase& c = GetParam();
  const auto obj = c.make();
  const auto errors = ValidateCreate(*obj);
  EXPECT_EQ(Causes(errors), c.want) << Describe(errors);
  if (!c.message.empty() && !errors.empty()) {
    EXPECT_EQ(errors[0].message, c.message);
  }
}

INSTANTIATE_TEST_SUITE_P(Rules, InvalidObjectTest, ::testing::ValuesIn(InvalidObjects()),
                         [](const ::testing::TestParamInfo<ValidationCase>& param) { return param.param.name; });

TEST(ValidationTest, FieldErrorPrintsAsKubernetesDoes) {
  api::Pod pod = Defaulted<api::Pod>(PodJson());
  pod.mutable_spec()->set_restart_policy("Sometimes");
  const auto errors = ValidateCreate(pod);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(ToString(errors[0]), "spec.restartPolicy: " + kUnsupportedRestart);
}

TEST(ValidationTest, SeveralErrorsAreAllReported) {
  api::Pod pod = Defaulted<api::Pod>(PodJson());
  pod.mutable_metadata()->set_name("Bad_Name");
  pod.mutable_spec()->mutable_containers(0)->clear_image();
  pod.mutable_spec()->set_dns_policy("Nope");
  const auto errors = ValidateCreate(pod);
  EXPECT_EQ(Causes(errors), (std::vector<Cause>{{"metadata.name", "FieldValueInvalid"},
                                                 {"spec.containers[0].image", "FieldValueRequired"},
                                                 {"spec.dnsPolicy", "FieldValueNotSupported"}}))
      << Describe(errors);
}

}  // namespace
}  // namespace ksim::apiserver::testing
