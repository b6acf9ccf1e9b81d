// Properties of the codec: random Pods survive JSON, YAML and wire round trips unchanged,
// and arbitrary text never crashes the decoder.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "cluster/api/codec.h"

namespace ksim::api {
namespace {

using google::protobuf::util::MessageDifferencer;

// Strings YAML could misread, plus ordinary printable ASCII.
rc::Gen<std::string> GenString() {
  return rc::gen::oneOf(
      rc::gen::element<std::string>("", "true", "False", "null", "~", "yes", "no", "on", "8080", "-1", "0644",
                                    "0x1F", "1e3", ".inf", "3.5", "a: b", "- x", "#comment", "'q'", "\"dq\"",
                                    "  lead", "trail  ", "multi\nline\n", "no final\nnewline", "tab\there",
                                    "h\xc3\xa9llo \xe2\x9c\x93", "*alias", "&anchor", "!tag", "{x}", "[y]", "%", "@",
                                    "back\\slash", "crlf\r\nx"),
      rc::gen::container<std::string>(rc::gen::inRange<char>(32, 127)));
}

rc::Gen<std::map<std::string, std::string>> GenStringMap() {
  return rc::gen::container<std::map<std::string, std::string>>(GenString(), GenString());
}

rc::Gen<std::string> GenQuantity() {
  return rc::gen::element<std::string>("1", "0.5", "250m", "64Mi", "1Gi", "1e3", "100k", "2");
}

void Fill(google::protobuf::Map<std::string, std::string>* out, const std::map<std::string, std::string>& in) {
  for (const auto& [k, v] : in) (*out)[k] = v;
}

IntOrString GenPort() {
  if (*rc::gen::arbitrary<bool>()) return MakeIntOrString(*rc::gen::inRange(0, 65536));
  return MakeIntOrString(*GenString());
}

google::protobuf::Timestamp GenTime() {
  google::protobuf::Timestamp ts;
  ts.set_seconds(*rc::gen::inRange<int64_t>(-62135596800, 253402300800));  // whole seconds: a Time
  return ts;
}

Container GenContainer() {
  Container c;
  c.set_name(*GenString());
  c.set_image(*GenString());
  for (const std::string& a : *rc::gen::container<std::vector<std::string>>(GenString())) c.add_args(a);
  if (*rc::gen::arbitrary<bool>()) c.set_image_pull_policy("IfNotPresent");
  c.set_tty(*rc::gen::arbitrary<bool>());
  int ports = *rc::gen::inRange(0, 3);
  for (int i = 0; i < ports; ++i) {
    ContainerPort* p = c.add_ports();
    p->set_container_port(*rc::gen::arbitrary<int32_t>());
    p->set_name(*GenString());
  }
  int envs = *rc::gen::inRange(0, 3);
  for (int i = 0; i < envs; ++i) {
    EnvVar* e = c.add_env();
    e->set_name(*GenString());
    if (*rc::gen::arbitrary<bool>()) {
      e->set_value(*GenString());
    } else {
      e->mutable_value_from()->mutable_secret_key_ref()->set_key(*GenString());
      if (*rc::gen::arbitrary<bool>()) e->mutable_value_from()->mutable_secret_key_ref()->set_optional(false);
    }
  }
  if (*rc::gen::arbitrary<bool>()) {
    auto* limits = c.mutable_resources()->mutable_limits();
    (*limits)["cpu"] = *GenQuantity();
    (*limits)["memory"] = *GenQuantity();
  }
  if (*rc::gen::arbitrary<bool>()) {
    Probe* probe = c.mutable_readiness_probe();
    probe->mutable_http_get()->set_path(*GenString());
    *probe->mutable_http_get()->mutable_port() = GenPort();
    probe->set_period_seconds(*rc::gen::arbitrary<int32_t>());
    if (*rc::gen::arbitrary<bool>()) probe->set_termination_grace_period_seconds(*rc::gen::arbitrary<int64_t>());
  }
  return c;
}

Pod GenPod() {
  Pod pod;
  pod.set_api_version("v1");
  pod.set_kind("Pod");
  ObjectMeta* meta = pod.mutable_metadata();
  meta->set_name(*GenString());
  meta->set_namespace_(*GenString());
  meta->set_generation(*rc::gen::arbitrary<int64_t>());
  Fill(meta->mutable_labels(), *GenStringMap());
  Fill(meta->mutable_annotations(), *GenStringMap());
  if (*rc::gen::arbitrary<bool>()) *meta->mutable_creation_timestamp() = GenTime();
  if (*rc::gen::arbitrary<bool>()) meta->set_deletion_grace_period_seconds(*rc::gen::arbitrary<int64_t>());
  for (const std::string& f : *rc::gen::container<std::vector<std::string>>(GenString())) meta->add_finalizers(f);

  PodSpec* spec = pod.mutable_spec();
  int containers = *rc::gen::inRange(0, 3);
  for (int i = 0; i < containers; ++i) *spec->add_containers() = GenContainer();
  if (*rc::gen::arbitrary<bool>()) *spec->add_init_containers() = GenContainer();
  Fill(spec->mutable_node_selector(), *GenStringMap());
  spec->set_node_name(*GenString());
  spec->set_host_network(*rc::gen::arbitrary<bool>());
  if (*rc::gen::arbitrary<bool>()) spec->set_priority(*rc::gen::arbitrary<int32_t>());
  if (*rc::gen::arbitrary<bool>()) spec->set_termination_grace_period_seconds(*rc::gen::arbitrary<int64_t>());
  if (*rc::gen::arbitrary<bool>()) spec->set_automount_service_account_token(*rc::gen::arbitrary<bool>());
  int tolerations = *rc::gen::inRange(0, 3);
  for (int i = 0; i < tolerations; ++i) {
    Toleration* t = spec->add_tolerations();
    t->set_key(*GenString());
    t->set_operator_(*rc::gen::element<std::string>("Exists", "Equal"));
    if (*rc::gen::arbitrary<bool>()) t->set_toleration_seconds(*rc::gen::arbitrary<int64_t>());
  }
  if (*rc::gen::arbitrary<bool>()) {
    PodAffinityTerm* term =
        spec->mutable_affinity()->mutable_pod_anti_affinity()->add_required_during_scheduling_ignored_during_execution();
    term->set_topology_key(*GenString());
    Fill(term->mutable_label_selector()->mutable_match_labels(), *GenStringMap());
  }
  if (*rc::gen::arbitrary<bool>()) {
    Volume* v = spec->add_volumes();
    v->set_name(*GenString());
    v->mutable_empty_dir();  // present but empty: must stay present
  }
  pod.mutable_status()->set_phase(*GenString());
  if (*rc::gen::arbitrary<bool>()) *pod.mutable_status()->mutable_start_time() = GenTime();
  return pod;
}

RC_GTEST_PROP(CodecProperty, RandomPodsRoundTripThroughJson, ()) {
  Pod pod = GenPod();
  std::string json = EncodeJson(pod);
  Object decoded;
  Status s = DecodeJson(json, "pod.json", &decoded);
  RC_ASSERT(s.ok());
  RC_ASSERT(MessageDifferencer::Equals(pod, *decoded.message));
}

RC_GTEST_PROP(CodecProperty, RandomPodsRoundTripThroughYaml, ()) {
  Pod pod = GenPod();
  std::string yaml = EncodeYaml(pod);
  std::vector<Object> decoded;
  Status s = DecodeYaml(yaml, "pod.yaml", &decoded);
  if (!s.ok()) RC_FAIL(s.ToString() + "\n" + yaml);
  RC_ASSERT(decoded.size() == 1u);
  if (!MessageDifferencer::Equals(pod, *decoded[0].message)) RC_FAIL("differs after YAML:\n" + yaml);
}

RC_GTEST_PROP(CodecProperty, RandomPodsRoundTripThroughWire, ()) {
  Pod pod = GenPod();
  std::string wire;
  RC_ASSERT(EncodeWire(pod, &wire).ok());
  Object decoded;
  RC_ASSERT(DecodeWire(wire, &decoded).ok());
  RC_ASSERT(MessageDifferencer::Equals(pod, *decoded.message));
}

RC_GTEST_PROP(CodecFuzz, ArbitraryTextNeverCrashes, (const std::string& text)) {
  std::vector<Object> objects;
  (void)DecodeYaml(text, "fuzz.yaml", &objects);
  Object object;
  (void)DecodeJson(text, "fuzz.json", &object);
}

RC_GTEST_PROP(CodecFuzz, MutatedManifestsNeverCrash, (size_t where, char what)) {
  std::string text =
      "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: w\nspec:\n  replicas: 3\n  template:\n    spec:\n"
      "      containers:\n      - name: a\n        image: b\n        ports: [{containerPort: 80}]\n";
  text[where % text.size()] = what;
  std::vector<Object> objects;
  Status s = DecodeYaml(text, "m.yaml", &objects);
  if (s.ok()) {
    for (const Object& o : objects) {
      std::vector<Object> again;
      RC_ASSERT(DecodeYaml(EncodeYaml(*o.message), "again.yaml", &again).ok());
    }
  }
}

}  // namespace
}  // namespace ksim::api
