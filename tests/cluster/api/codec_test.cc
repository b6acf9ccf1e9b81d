// The codec on real-world manifests (tests/cluster/api/testdata), on errors, and on the
// encode conventions Kubernetes clients rely on.
#include "cluster/api/codec.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cluster/api/apps.pb.h"
#include "cluster/api/batch.pb.h"
#include "cluster/api/certificates.pb.h"
#include "cluster/api/coordination.pb.h"
#include "cluster/api/core.pb.h"
#include "cluster/api/rbac.pb.h"
#include "cluster/api/scheduling.pb.h"

namespace ksim::api {
namespace {

using google::protobuf::util::MessageDifferencer;

std::string ReadTestdata(const std::string& name) {
  std::ifstream in(std::string(KSIM_API_TESTDATA) + "/" + name);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<Object> MustDecode(const std::string& text, const std::string& source) {
  std::vector<Object> objects;
  Status s = DecodeYaml(text, source, &objects);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return objects;
}

template <typename T>
const T& As(const Object& object) {
  const T* typed = google::protobuf::DynamicCastToGenerated<T>(object.message.get());
  EXPECT_NE(typed, nullptr) << "object is a " << object.message->GetTypeName();
  return typed != nullptr ? *typed : T::default_instance();
}

// Encode to JSON, YAML and wire, decode each, and compare with the original.
void ExpectRoundTrips(const google::protobuf::Message& message, const std::string& what) {
  SCOPED_TRACE(what + " (" + message.GetTypeName() + ")");
  std::string json = EncodeJson(message);
  Object from_json;
  Status s = DecodeJson(json, "encoded.json", &from_json);
  ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << json;
  EXPECT_TRUE(MessageDifferencer::Equals(message, *from_json.message)) << json;

  std::string yaml = EncodeYaml(message);
  std::vector<Object> from_yaml;
  s = DecodeYaml(yaml, "encoded.yaml", &from_yaml);
  ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << yaml;
  ASSERT_EQ(from_yaml.size(), 1u);
  EXPECT_TRUE(MessageDifferencer::Equals(message, *from_yaml[0].message)) << yaml;

  std::string wire;
  ASSERT_TRUE(EncodeWire(message, &wire).ok());
  Object from_wire;
  ASSERT_TRUE(DecodeWire(wire, &from_wire).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(message, *from_wire.message));

  // Encoding is a function of the object: the same bytes again.
  EXPECT_EQ(EncodeJson(*from_json.message), json);
  EXPECT_EQ(EncodeYaml(*from_yaml[0].message), yaml);
}

// ---------------------------------------------------------------- testdata

struct Manifest {
  std::string file;
  std::vector<std::string> kinds;
};

TEST(CodecTestdata, EveryManifestLoadsAndRoundTrips) {
  const std::vector<Manifest> manifests = {
      {"nginx-deployment.yaml", {"Deployment"}},
      {"services.yaml", {"Service", "Service"}},
      {"statefulset.yaml", {"Service", "StatefulSet"}},
      {"daemonset.yaml", {"DaemonSet"}},
      {"job.yaml", {"Job"}},
      {"pod-full.yaml", {"Pod"}},
      {"rbac.yaml", {"Role", "RoleBinding", "ClusterRole", "ClusterRole", "ClusterRoleBinding"}},
      {"config.yaml", {"ConfigMap", "Secret", "Secret", "ServiceAccount"}},
      {"policy.yaml", {"ResourceQuota", "LimitRange"}},
      {"lease.yaml", {"Lease"}},
      {"priorityclass.yaml", {"PriorityClass", "PriorityClass"}},
      {"cluster-objects.yaml",
       {"Namespace", "Node", "Endpoints", "ReplicationController", "ReplicaSet", "Event", "Binding",
        "CertificateSigningRequest", "Status"}},
      {"nginx-deployment.json", {"Deployment"}},
      {"pdb.yaml", {"PodDisruptionBudget", "PodDisruptionBudget", "PodDisruptionBudget"}},
      {"endpointslice.yaml", {"EndpointSlice", "EndpointSlice"}},
      {"cronjob.yaml", {"CronJob", "CronJob"}},
      {"hpa.yaml", {"HorizontalPodAutoscaler", "HorizontalPodAutoscaler", "HorizontalPodAutoscaler"}},
      {"ingress.yaml", {"Ingress", "Ingress", "Ingress", "Ingress", "IngressClass", "IngressClass", "IngressClass"}},
      {"networkpolicy.yaml", {"NetworkPolicy", "NetworkPolicy", "NetworkPolicy"}},
      {"storage.yaml",
       {"PersistentVolume", "PersistentVolume", "PersistentVolume", "PersistentVolume", "StorageClass", "StorageClass",
        "StorageClass"}},
      {"controllerrevision.yaml", {"ControllerRevision"}},
      {"pod-beta-fields.yaml", {"Pod", "Pod", "Pod", "Deployment", "Pod", "Pod", "Pod", "Pod", "Pod", "Pod"}},
  };
  size_t files_seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator(KSIM_API_TESTDATA)) {
    (void)entry;
    ++files_seen;
  }
  EXPECT_EQ(files_seen, manifests.size()) << "a testdata file is not listed here";
  for (const Manifest& m : manifests) {
    SCOPED_TRACE(m.file);
    std::vector<Object> objects = MustDecode(ReadTestdata(m.file), m.file);
    ASSERT_EQ(objects.size(), m.kinds.size());
    for (size_t i = 0; i < objects.size(); ++i) {
      EXPECT_EQ(objects[i].info->kind, m.kinds[i]);
      ExpectRoundTrips(*objects[i].message, m.file + " #" + std::to_string(i));
    }
  }
}

TEST(CodecTestdata, NginxDeploymentFields) {
  auto objects = MustDecode(ReadTestdata("nginx-deployment.yaml"), "nginx-deployment.yaml");
  ASSERT_EQ(objects.size(), 1u);
  const auto& d = As<Deployment>(objects[0]);
  EXPECT_EQ(objects[0].line, 1);
  EXPECT_EQ(d.api_version(), "apps/v1");
  EXPECT_EQ(d.metadata().name(), "nginx-deployment");
  EXPECT_EQ(d.metadata().labels().at("app"), "nginx");
  ASSERT_TRUE(d.spec().has_replicas());
  EXPECT_EQ(d.spec().replicas(), 3);
  EXPECT_FALSE(d.spec().has_revision_history_limit());
  EXPECT_EQ(d.spec().selector().match_labels().at("app"), "nginx");
  ASSERT_EQ(d.spec().template_().spec().containers_size(), 1);
  const Container& c = d.spec().template_().spec().containers(0);
  EXPECT_EQ(c.image(), "nginx:1.14.2");
  EXPECT_EQ(c.ports(0).container_port(), 80);
}

TEST(CodecTestdata, JsonDeploymentKeepsPresenceAndInt64) {
  Object object;
  Status s = DecodeJson(ReadTestdata("nginx-deployment.json"), "nginx-deployment.json", &object);
  ASSERT_TRUE(s.ok()) << s.ToString();
  const auto& d = As<Deployment>(object);
  ASSERT_TRUE(d.spec().has_replicas());  // replicas: 0 is not "unset"
  EXPECT_EQ(d.spec().replicas(), 0);
  EXPECT_EQ(d.metadata().generation(), 9007199254740993);  // beyond a double's exact range
  EXPECT_EQ(d.spec().strategy().rolling_update().max_unavailable().str_val(), "25%");
  EXPECT_EQ(d.spec().strategy().rolling_update().max_surge().int_val(), 1);
  EXPECT_FALSE(d.spec().template_().metadata().has_creation_timestamp());
  EXPECT_TRUE(d.spec().template_().spec().containers(0).has_resources());
  EXPECT_EQ(d.metadata().creation_timestamp().seconds(), 1704164645);
  EXPECT_TRUE(d.metadata().owner_references(0).has_block_owner_deletion());
  std::string json = EncodeJson(d);
  EXPECT_NE(json.find("\"generation\":9007199254740993"), std::string::npos) << json;
  EXPECT_NE(json.find("\"replicas\":0"), std::string::npos) << json;
  EXPECT_NE(json.find("\"maxSurge\":1"), std::string::npos) << json;
  EXPECT_NE(json.find("\"maxUnavailable\":\"25%\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"creationTimestamp\":\"2024-01-02T03:04:05Z\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"resources\":{}"), std::string::npos) << json;
  EXPECT_EQ(json.find("revisionHistoryLimit\":0"), std::string::npos);
}

TEST(CodecTestdata, ServiceTargetPortByNameAndNumber) {
  auto objects = MustDecode(ReadTestdata("services.yaml"), "services.yaml");
  ASSERT_EQ(objects.size(), 2u);
  const auto& by_name = As<Service>(objects[0]).spec().ports(0).target_port();
  EXPECT_TRUE(by_name.has_str_val());
  EXPECT_EQ(ToString(by_name), "http-web-svc");
  const auto& second = As<Service>(objects[1]);
  EXPECT_TRUE(second.spec().ports(0).target_port().has_int_val());
  EXPECT_EQ(second.spec().ports(0).target_port().int_val(), 9376);
  EXPECT_EQ(second.spec().session_affinity_config().client_ip().timeout_seconds(), 10800);
  EXPECT_TRUE(second.status().has_load_balancer());
  EXPECT_EQ(objects[1].line, 15);
  std::string yaml = EncodeYaml(second);
  EXPECT_NE(yaml.find("targetPort: 9376"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("loadBalancer: {}"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("clientIP:"), std::string::npos) << yaml;
}

TEST(CodecTestdata, PodDetails) {
  auto objects = MustDecode(ReadTestdata("pod-full.yaml"), "pod-full.yaml");
  ASSERT_EQ(objects.size(), 1u);
  const auto& pod = As<Pod>(objects[0]);
  const PodSpec& spec = pod.spec();
  EXPECT_TRUE(spec.has_termination_grace_period_seconds());
  EXPECT_EQ(spec.termination_grace_period_seconds(), 0);
  EXPECT_TRUE(spec.has_automount_service_account_token());
  EXPECT_FALSE(spec.automount_service_account_token());
  EXPECT_EQ(spec.priority(), 1000000);
  EXPECT_EQ(spec.overhead().at("cpu"), "250m");
  EXPECT_EQ(spec.volumes(0).config_map().default_mode(), 0644);  // octal, as Kubernetes reads it
  EXPECT_TRUE(spec.volumes(1).has_empty_dir());
  EXPECT_EQ(spec.volumes(1).empty_dir().size_limit(), "500Mi");
  EXPECT_EQ(spec.volumes(5).projected().sources(1).downward_api().items(0).path(), "labels");
  const Container& app = spec.containers(0);
  EXPECT_EQ(app.resources().limits().at("cpu"), "0.5");  // a YAML number, kept as written
  EXPECT_EQ(app.resources().limits().at("nvidia.com/gpu"), "1");
  EXPECT_EQ(app.env(2).value_from().resource_field_ref().divisor(), "1m");
  EXPECT_TRUE(app.liveness_probe().http_get().port().has_int_val());
  EXPECT_EQ(app.readiness_probe().tcp_socket().port().str_val(), "http");
  EXPECT_EQ(app.startup_probe().termination_grace_period_seconds(), 60);
  EXPECT_EQ(app.lifecycle().pre_stop().http_get().scheme(), "HTTP");
  EXPECT_EQ(spec.containers(1).liveness_probe().grpc().port(), 2379);
  EXPECT_EQ(spec.affinity().node_affinity().required_during_scheduling_ignored_during_execution()
                .node_selector_terms(0).match_fields(0).key(),
            "metadata.name");
  EXPECT_EQ(spec.affinity().pod_anti_affinity().preferred_during_scheduling_ignored_during_execution(0).weight(), 100);
  EXPECT_TRUE(spec.affinity().pod_anti_affinity().preferred_during_scheduling_ignored_during_execution(0)
                  .pod_affinity_term().has_namespace_selector());
  EXPECT_EQ(spec.tolerations(1).toleration_seconds(), 6000);
  EXPECT_EQ(spec.topology_spread_constraints(0).min_domains(), 2);
  EXPECT_EQ(pod.metadata().annotations().at("description"), "The storefront.\nTwo lines.\n");
  EXPECT_FALSE(pod.metadata().has_creation_timestamp());
  EXPECT_EQ(pod.status().host_ip(), "10.0.0.4");
  EXPECT_EQ(pod.status().container_statuses(0).last_state().terminated().exit_code(), 137);
  std::string json = EncodeJson(pod);
  EXPECT_NE(json.find("\"terminationGracePeriodSeconds\":0"), std::string::npos);
  EXPECT_NE(json.find("\"hostIP\":\"10.0.0.4\""), std::string::npos);
  EXPECT_NE(json.find("\"downwardAPI\":"), std::string::npos);
  EXPECT_NE(json.find("\"emptyDir\":{\"medium\":\"Memory\""), std::string::npos);
}

TEST(CodecTestdata, SecretsConfigMapsAndTimes) {
  auto config = MustDecode(ReadTestdata("config.yaml"), "config.yaml");
  ASSERT_EQ(config.size(), 4u);
  EXPECT_EQ(As<ConfigMap>(config[0]).binary_data().at("logo.bin"), std::string("\0\1\2\3", 4));
  EXPECT_EQ(As<ConfigMap>(config[0]).data().at("player_initial_lives"), "3");
  EXPECT_EQ(As<Secret>(config[1]).string_data().at("password"), "t0p-Secret");
  EXPECT_EQ(As<Secret>(config[2]).data().at("username"), "admin");  // base64 decoded
  EXPECT_NE(EncodeJson(*config[2].message).find("\"username\":\"YWRtaW4=\""), std::string::npos);
  std::string yaml = EncodeYaml(*config[0].message);
  EXPECT_NE(yaml.find("player_initial_lives: \"3\""), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("game.properties: |"), std::string::npos) << yaml;

  auto lease = MustDecode(ReadTestdata("lease.yaml"), "lease.yaml");
  const auto& spec = As<Lease>(lease[0]).spec();
  EXPECT_EQ(spec.renew_time().nanos(), 123456000);
  std::string json = EncodeJson(*lease[0].message);
  EXPECT_NE(json.find("\"renewTime\":\"2024-01-02T03:10:07.123456Z\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"acquireTime\":\"2024-01-02T03:04:05.000000Z\""), std::string::npos) << json;

  auto cluster = MustDecode(ReadTestdata("cluster-objects.yaml"), "cluster-objects.yaml");
  const auto& event = As<Event>(cluster[5]);
  EXPECT_EQ(event.series().last_observed_time().nanos(), 500000000);
  EXPECT_EQ(event.count(), 2);
  const auto& node = As<Node>(cluster[1]);
  EXPECT_EQ(node.status().daemon_endpoints().kubelet_endpoint().port(), 10250);
  EXPECT_EQ(node.status().images(0).size_bytes(), 44710204);
  EXPECT_EQ(node.status().allocatable().at("cpu"), "3800m");
  const auto& csr = As<CertificateSigningRequest>(cluster[7]);
  EXPECT_EQ(csr.spec().extra().at("scopes").items_size(), 2);
  EXPECT_EQ(csr.spec().request().substr(0, 5), "-----");
  const auto& status = As<ApiStatus>(cluster[8]);
  EXPECT_EQ(status.code(), 404);
  EXPECT_EQ(status.details().causes(0).field(), "spec.replicas");
  EXPECT_EQ(GetMeta(status), nullptr);  // Status has list metadata, not ObjectMeta
}

TEST(CodecTestdata, TimeTruncatesToSecondsMicroTimeToMicroseconds) {
  const std::string text =
      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  creationTimestamp: 2024-01-02T03:04:05.987654321+02:00\n";
  auto objects = MustDecode(text, "t.yaml");
  const auto& pod = As<Pod>(objects[0]);
  EXPECT_EQ(pod.metadata().creation_timestamp().nanos(), 0);
  EXPECT_NE(EncodeJson(pod).find("\"2024-01-02T01:04:05Z\""), std::string::npos) << EncodeJson(pod);
}

TEST(CodecTestdata, NullMapValues) {
  // A null label is "" and a null quantity is zero, as Kubernetes reads them (found by fuzzing).
  auto objects = MustDecode(
      "apiVersion: v1\nkind: LimitRange\nmetadata:\n  labels: {a: }\nspec:\n  limits:\n  - default:\n      cpu:\n",
      "null.yaml");
  ASSERT_EQ(objects.size(), 1u);
  const auto& range = As<LimitRange>(objects[0]);
  EXPECT_EQ(range.metadata().labels().at("a"), "");
  EXPECT_EQ(range.spec().limits(0).default_limit().at("cpu"), "0");
  ExpectRoundTrips(range, "null map values");
}

TEST(CodecList, KindListContributesItems) {
  const std::string text = R"(apiVersion: v1
kind: List
metadata:
  resourceVersion: ""
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: a
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: b
    unknown: 1
)";
  std::vector<Object> objects;
  Status s = DecodeYaml(text, "list.yaml", &objects);
  EXPECT_EQ(s.message(), "list.yaml:14: items[1].metadata.unknown: unknown field \"unknown\"");
  EXPECT_TRUE(objects.empty());  // all or nothing
  objects.clear();
  ASSERT_TRUE(DecodeYaml(text.substr(0, text.find("    unknown")), "list.yaml", &objects).ok());
  ASSERT_EQ(objects.size(), 2u);
  EXPECT_EQ(GetMeta(*objects[1].message)->name(), "b");
  EXPECT_EQ(objects[1].line, 10);
}

// ---------------------------------------------------------------- errors

struct ErrorCase {
  std::string name;
  std::string text;
  std::string error;  // the whole message
};

TEST(CodecErrors, Table) {
  const std::string deployment_head =
      "apiVersion: apps/v1\n"   // 1
      "kind: Deployment\n"      // 2
      "metadata:\n"             // 3
      "  name: web\n"           // 4
      "spec:\n"                 // 5
      "  replicas: 3\n"         // 6
      "  selector:\n"           // 7
      "    matchLabels:\n"      // 8
      "      app: web\n"        // 9
      "  template:\n"           // 10
      "    metadata:\n"         // 11
      "      labels:\n"         // 12
      "        app: web\n"      // 13
      "    spec:\n"             // 14
      "      containers:\n"     // 15
      "      - name: web\n"     // 16
      "        image: nginx\n";  // 17
  const std::vector<ErrorCase> cases = {
      {"unknown top-level field", "apiVersion: v1\nkind: Pod\nmetdata:\n  name: p\n",
       "f.yaml:3: metdata: unknown field \"metdata\""},
      {"unknown metadata field", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  label:\n    a: b\n",
       "f.yaml:5: metadata.label: unknown field \"label\""},
      {"unknown container field", deployment_head + "        imagePullPolicyy: Always\n",
       "f.yaml:18: spec.template.spec.containers[0].imagePullPolicyy: unknown field \"imagePullPolicyy\""},
      {"unknown field in second container",
       deployment_head + "      - name: side\n        ports:\n        - containerPort: 80\n          hostIp: 1.2.3.4\n",
       "f.yaml:21: spec.template.spec.containers[1].ports[0].hostIp: unknown field \"hostIp\""},
      {"snake_case is not a JSON name", "apiVersion: v1\nkind: Pod\napi_version: v1\n",
       "f.yaml:3: api_version: unknown field \"api_version\""},
      {"replicas as a string", "apiVersion: apps/v1\nkind: Deployment\nspec:\n  replicas: '3'\n",
       "f.yaml:4: spec.replicas: expected integer, got string \"3\""},
      {"replicas as a float", "apiVersion: apps/v1\nkind: Deployment\nspec:\n  replicas: 3.0\n",
       "f.yaml:4: spec.replicas: expected integer, got number 3.0"},
      {"replicas out of range", "apiVersion: apps/v1\nkind: Deployment\nspec:\n  replicas: 4294967296\n",
       "f.yaml:4: spec.replicas: integer 4294967296 out of range"},
      {"env value as a number",
       "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n    env:\n    - name: X\n      value: 3\n",
       "f.yaml:8: spec.containers[0].env[0].value: expected string, got integer 3"},
      {"boolean as a string", "apiVersion: v1\nkind: Pod\nspec:\n  hostNetwork: \"true\"\n",
       "f.yaml:4: spec.hostNetwork: expected boolean, got string \"true\""},
      {"list where object expected", "apiVersion: v1\nkind: Pod\nspec:\n  affinity: []\n",
       "f.yaml:4: spec.affinity: expected object, got list"},
      {"object where list expected", "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    name: a\n",
       "f.yaml:5: spec.containers: expected list, got object"},
      {"port as a boolean",
       "apiVersion: v1\nkind: Service\nspec:\n  ports:\n  - port: 80\n    targetPort: true\n",
       "f.yaml:6: spec.ports[0].targetPort: expected integer or string, got boolean true"},
      {"bad time", "apiVersion: v1\nkind: Pod\nmetadata:\n  creationTimestamp: yesterday\n",
       "f.yaml:4: metadata.creationTimestamp: invalid time \"yesterday\" (want RFC 3339, e.g. "
       "2024-01-02T03:04:05Z)"},
      {"bad base64", "apiVersion: v1\nkind: Secret\ndata:\n  k: not*base64\n",
       "f.yaml:4: data[k]: invalid base64 data"},
      {"duplicate field", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  name: b\n",
       "f.yaml:5: metadata.name: duplicate field \"name\""},
      {"missing kind", "apiVersion: v1\nmetadata:\n  name: a\n", "f.yaml:1: kind: required field is missing"},
      {"missing apiVersion", "kind: Pod\nmetadata:\n  name: a\n",
       "f.yaml:1: apiVersion: required field is missing"},
      {"kind not a string", "apiVersion: v1\nkind: 3\n", "f.yaml:2: kind: must be a non-empty string"},
      {"unknown kind", "apiVersion: apps/v1\nkind: Deploymnt\n",
       "f.yaml:2: kind: unknown kind \"Deploymnt\" in apiVersion \"apps/v1\""},
      {"kind in the wrong group", "apiVersion: extensions/v1beta1\nkind: Deployment\n",
       "f.yaml:1: apiVersion: kind \"Deployment\" is not served at \"extensions/v1beta1\" (it is \"apps/v1\")"},
      {"not an object", "- a\n- b\n", "f.yaml:1: expected an object with apiVersion and kind, got a list"},
      {"bad YAML", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: [a\n",
       "f.yaml:5: invalid YAML: end of sequence flow not found"},
      {"bad indentation", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n labels: {}\n",
       "f.yaml:5: invalid YAML: end of map not found"},
      {"comma at document level", "apiVersion: v1\nkind: Pod\n---\n'a', b\n",
       "f.yaml:4: invalid YAML: unexpected ','"},
      {"invalid UTF-8", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: \xc3\x28\n",
       "f.yaml:4: text is not valid UTF-8"},
      {"control character", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\x01\n",
       "f.yaml:4: control character in text (byte 1)"},
      {"error in a later document", "apiVersion: v1\nkind: Pod\n---\napiVersion: v1\nkind: Pod\nspec: 3\n",
       "f.yaml:6: spec: expected object, got integer 3"},
      {"unsupported tag", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: !!binary abc\n",
       "f.yaml:4: metadata.name: unsupported YAML tag \"tag:yaml.org,2002:binary\""},
      {"ill-typed tag", "apiVersion: v1\nkind: Pod\nspec:\n  priority: !!int abc\n",
       "f.yaml:4: spec.priority: \"abc\" is not a valid tag:yaml.org,2002:int"},
      {"string file mode with 8 digit", "apiVersion: v1\nkind: Pod\nspec:\n  volumes:\n  - name: v\n    secret:\n"
                                       "      defaultMode: 0899\n",
       "f.yaml:7: spec.volumes[0].secret.defaultMode: expected integer, got number 0899"},
#if KSIM_API_HAVE_QUANTITY
      {"bad quantity",
       "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n    resources:\n      limits:\n        cpu: "
       "lots\n",
       "f.yaml:8: spec.containers[0].resources.limits[cpu]: quantity \"lots\": "},
#endif
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<Object> objects;
    Status s = DecodeYaml(c.text, "f.yaml", &objects);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
    if (c.name == "bad quantity") {
      EXPECT_EQ(s.message().substr(0, c.error.size()), c.error);  // the reason is machinery's
    } else {
      EXPECT_EQ(s.message(), c.error);
    }
    EXPECT_TRUE(objects.empty());
  }
}

TEST(CodecErrors, JsonSyntaxAndShape) {
  Object object;
  Status s = DecodeJson("{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Pod\",\n}\n", "p.json", &object);
  EXPECT_EQ(s.message(), "p.json:4: invalid JSON: syntax error while parsing object key - unexpected '}'; expected string literal");
  s = DecodeJson("[1]", "p.json", &object);
  EXPECT_EQ(s.message(), "p.json:1: expected a JSON object");
  s = DecodeJson("{\"apiVersion\": \"v1\", \"kind\": \"Pod\",\n \"spec\": {\"nodeName\": 7}}", "p.json", &object);
  EXPECT_EQ(s.message(), "p.json:2: spec.nodeName: expected string, got integer 7");
  s = DecodeJson("{\"apiVersion\": \"v1\", \"kind\": 80e345}", "p.json", &object);  // found by fuzzing
  EXPECT_EQ(s.message(), "p.json: invalid JSON: number overflow parsing '80e345'");
  // YAML-only syntax is not JSON.
  s = DecodeJson("apiVersion: v1\nkind: Pod\n", "p.json", &object);
  EXPECT_FALSE(s.ok());
}

TEST(CodecErrors, AliasBombIsRefused) {
  // managedFields' fieldsV1 is free-form, so aliases can nest: eight levels of ten
  // references each would be 10^8 nodes once expanded.
  std::string text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n";
  text += "    l0: &l0 x\n";
  for (int level = 1; level <= 8; ++level) {
    std::string prev = "*l" + std::to_string(level - 1);
    text += "    l" + std::to_string(level) + "x: &l" + std::to_string(level) + " [";
    for (int i = 0; i < 10; ++i) text += (i ? ", " : "") + prev;
    text += "]\n";
  }
  text += "  managedFields:\n  - manager: m\n    fieldsV1: {f: *l8}\n";
  std::vector<Object> objects;
  Status s = DecodeYaml(text, "bomb.yaml", &objects);
  EXPECT_FALSE(s.ok());
  // The annotations fail first unless the walk reached them as strings: either way no hang.
  EXPECT_TRUE(s.message().find("document too large") != std::string::npos ||
              s.message().find("expected string") != std::string::npos)
      << s.message();
}

// ---------------------------------------------------------------- DecodeInto, helpers

TEST(CodecInto, TypedBodyWithOrWithoutTypeMeta) {
  Pod pod;
  ASSERT_TRUE(DecodeInto("{\"metadata\": {\"name\": \"p\"}}", "body", &pod).ok());
  EXPECT_EQ(pod.metadata().name(), "p");
  Status s = DecodeInto("apiVersion: v1\nkind: Service\n", "body", &pod);
  EXPECT_EQ(s.message(), "body:2: kind: expected \"Pod\"");
  s = DecodeInto("apiVersion: apps/v1\nkind: Pod\n", "body", &pod);
  EXPECT_EQ(s.message(), "body:1: apiVersion: expected \"v1\"");
}

TEST(CodecHelpers, MetaAndTypeMeta) {
  Deployment d;
  EXPECT_EQ(EncodeJson(d), "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\"}");
  MutableMeta(d)->set_name("web");
  (*MutableMeta(d)->mutable_labels())["b"] = "2";
  (*MutableMeta(d)->mutable_labels())["a"] = "1";
  EXPECT_EQ(GetMeta(d)->name(), "web");
  EXPECT_EQ(EncodeJson(d),
            "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\",\"labels\":{\"a\":"
            "\"1\",\"b\":\"2\"}}}");
  ASSERT_TRUE(SetTypeMeta(d));
  EXPECT_EQ(d.kind(), "Deployment");
  EXPECT_EQ(KindOf(d)->resource, "deployments");
  EXPECT_EQ(KindOf(PodSpec()), nullptr);
  EXPECT_EQ(MutableMeta(*std::make_unique<PodSpec>()), nullptr);
  EXPECT_EQ(ToString(MakeIntOrString(8080)), "8080");
  EXPECT_EQ(ToString(MakeIntOrString("http")), "http");
  EXPECT_EQ(ToString(IntOrString()), "");
}

TEST(CodecEncode, YamlQuotesStringsThatLookLikeOtherTypes) {
  ConfigMap cm;
  SetTypeMeta(cm);
  for (const char* value : {"true", "8080", "null", "~", "yes", "off", "1e3", "0644", "", "0x1F", ".inf", "3.5"}) {
    (*cm.mutable_data())[std::string("k") + value] = value;
  }
  (*cm.mutable_data())["plain"] = "hello world";
  (*cm.mutable_data())["script"] = "#!/bin/sh\necho hi\n";
  (*cm.mutable_data())["no-final-newline"] = "a\nb";
  (*cm.mutable_data())["trailing-spaces"] = "a  \nb\n";
  std::string yaml = EncodeYaml(cm);
  EXPECT_NE(yaml.find("k8080: \"8080\""), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("kyes: \"yes\""), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("plain: hello world"), std::string::npos) << yaml;
  ExpectRoundTrips(cm, "tricky strings");
}

TEST(CodecEncode, ListResponse) {
  Pod a;
  a.mutable_metadata()->set_name("a");
  ListMeta list_meta;
  list_meta.set_resource_version("42");
  std::string json = EncodeJsonList(*Registry::Default().ByApiVersionKind("v1", "Pod"), list_meta, {&a});
  EXPECT_EQ(json,
            "{\"apiVersion\":\"v1\",\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"42\"},\"items\":[{"
            "\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"}}]}");
}

TEST(CodecWire, DeterministicAndChecked) {
  Pod pod;
  for (int i = 0; i < 50; ++i) (*pod.mutable_metadata()->mutable_labels())["k" + std::to_string(i)] = "v";
  std::string first;
  std::string second;
  ASSERT_TRUE(EncodeWire(pod, &first).ok());
  Pod copy = pod;
  ASSERT_TRUE(EncodeWire(copy, &second).ok());
  EXPECT_EQ(first, second);
  Object decoded;
  EXPECT_TRUE(DecodeWire(first, &decoded).ok());
  EXPECT_EQ(decoded.info->kind, "Pod");
  EXPECT_EQ(DecodeWire("\xff\xff\xff", &decoded).code(), Status::Code::kCorruption);
  TypedObject unknown;
  unknown.set_api_version("v9");
  unknown.set_kind("Pod");
  EXPECT_EQ(DecodeWire(unknown.SerializeAsString(), &decoded).code(), Status::Code::kNotFound);
  std::string ignored;
  EXPECT_FALSE(EncodeWire(PodSpec(), &ignored).ok());
}

}  // namespace
}  // namespace ksim::api
