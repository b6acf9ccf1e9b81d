// Properties: ApplyDefaults is idempotent on any pod (valid or not), a valid random pod
// stays valid once defaulted, and validation never crashes on arbitrary strings.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "tests/cluster/apiserver/strategy/test_objects.h"

namespace ksim::apiserver::testing {
namespace {

// A DNS-1123 label: [a-z] then up to 10 of [a-z0-9-], ending alphanumeric.
rc::Gen<std::string> GenLabel() {
  return rc::gen::map(rc::gen::pair(rc::gen::inRange<char>('a', 'z' + 1),
                                    rc::gen::container<std::string>(rc::gen::element('a', 'b', 'z', '0', '9', '-'))),
                      [](const std::pair<char, std::string>& p) {
                        std::string s = std::string(1, p.first) + p.second.substr(0, 10);
                        while (s.back() == '-') s.pop_back();
                        return s;
                      });
}

rc::Gen<std::string> GenAnyString() {
  return rc::gen::oneOf(rc::gen::element<std::string>("", "-", "a..b", "A", "x/y/z", "..", "1e3", "Always", "TCP",
                                                      std::string(70, 'a'), "\xff\xfe", "a b"),
                        rc::gen::string<std::string>());
}

rc::Gen<std::string> GenImage() {
  return rc::gen::element<std::string>("nginx", "nginx:latest", "nginx:1.25", "registry:5000/app", "busybox@sha256:00ff",
                                       "ghcr.io/team/app:v2");
}

rc::Gen<std::string> GenQuantity() { return rc::gen::element<std::string>("100m", "1", "2", "64Mi", "1Gi", "0.5"); }

void AddProbe(api::Probe* probe) {
  switch (*rc::gen::inRange(0, 3)) {
    case 0:
      probe->mutable_exec()->add_command("true");
      break;
    case 1:
      *probe->mutable_http_get()->mutable_port() = api::MakeIntOrString(*rc::gen::inRange(1, 65536));
      break;
    default:
      *probe->mutable_tcp_socket()->mutable_port() = api::MakeIntOrString(std::string("http"));
  }
  if (*rc::gen::arbitrary<bool>()) probe->set_period_seconds(*rc::gen::inRange(1, 60));
}

// A pod Kubernetes would accept (before defaults).
api::Pod GenValidPod() {
  api::Pod pod;
  pod.mutable_metadata()->set_name(*GenLabel());
  pod.mutable_metadata()->set_namespace_(*GenLabel());
  for (const std::string& key : *rc::gen::container<std::vector<std::string>>(GenLabel())) {
    (*pod.mutable_metadata()->mutable_labels())[key] = *GenLabel();
  }
  api::PodSpec& spec = *pod.mutable_spec();
  const std::vector<std::string> volumes = *rc::gen::unique<std::vector<std::string>>(GenLabel());
  for (const std::string& v : volumes) {
    api::Volume* volume = spec.add_volumes();
    volume->set_name(v);
    if (*rc::gen::arbitrary<bool>()) volume->mutable_config_map()->set_name(*GenLabel());
  }
  const std::vector<std::string> names = *rc::gen::nonEmpty(rc::gen::unique<std::vector<std::string>>(GenLabel()));
  for (const std::string& name : names) {
    api::Container* c = spec.add_containers();
    c->set_name(name);
    c->set_image(*GenImage());
    const int ports = *rc::gen::inRange(0, 3);
    for (int i = 0; i < ports; ++i) {
      api::ContainerPort* port = c->add_ports();
      port->set_container_port(*rc::gen::inRange(1, 65536));
      if (i == 0) port->set_name("http");
      if (*rc::gen::arbitrary<bool>()) port->set_protocol(*rc::gen::element<std::string>("TCP", "UDP", "SCTP"));
    }
    if (*rc::gen::arbitrary<bool>()) {
      const std::string q = *GenQuantity();
      (*c->mutable_resources()->mutable_limits())["cpu"] = q;
      if (*rc::gen::arbitrary<bool>()) (*c->mutable_resources()->mutable_requests())["cpu"] = q;
    }
    if (!volumes.empty() && *rc::gen::arbitrary<bool>()) {
      api::VolumeMount* m = c->add_volume_mounts();
      m->set_name(*rc::gen::elementOf(volumes));
      m->set_mount_path("/mnt/" + m->name());
    }
    if (*rc::gen::arbitrary<bool>()) AddProbe(c->mutable_liveness_probe());
    if (*rc::gen::arbitrary<bool>()) AddProbe(c->mutable_readiness_probe());
  }
  if (*rc::gen::arbitrary<bool>()) {
    spec.set_restart_policy(*rc::gen::element<std::string>("Always", "OnFailure", "Never"));
  }
  if (*rc::gen::arbitrary<bool>()) spec.set_dns_policy(*rc::gen::element<std::string>("ClusterFirst", "Default"));
  if (*rc::gen::arbitrary<bool>()) spec.set_termination_grace_period_seconds(*rc::gen::inRange(0, 600));
  if (*rc::gen::arbitrary<bool>()) {
    api::Toleration* t = spec.add_tolerations();
    t->set_key(*GenLabel());
    t->set_operator_("Exists");
    t->set_effect(*rc::gen::element<std::string>("", "NoSchedule", "NoExecute"));
  }
  if (*rc::gen::arbitrary<bool>()) {
    api::TopologySpreadConstraint* c = spec.add_topology_spread_constraints();
    c->set_max_skew(*rc::gen::inRange(1, 5));
    c->set_topology_key("zone");
    c->set_when_unsatisfiable(*rc::gen::element<std::string>("DoNotSchedule", "ScheduleAnyway"));
  }
  return pod;
}

// Any pod: strings anywhere validation looks.
api::Pod GenArbitraryPod() {
  api::Pod pod;
  pod.mutable_metadata()->set_name(*GenAnyString());
  pod.mutable_metadata()->set_generate_name(*GenAnyString());
  pod.mutable_metadata()->set_namespace_(*GenAnyString());
  (*pod.mutable_metadata()->mutable_labels())[*GenAnyString()] = *GenAnyString();
  api::PodSpec& spec = *pod.mutable_spec();
  const int containers = *rc::gen::inRange(0, 3);
  for (int i = 0; i < containers; ++i) {
    api::Container* c = spec.add_containers();
    c->set_name(*GenAnyString());
    c->set_image(*GenAnyString());
    c->set_image_pull_policy(*GenAnyString());
    api::ContainerPort* p = c->add_ports();
    p->set_container_port(*rc::gen::arbitrary<int32_t>());
    p->set_name(*GenAnyString());
    p->set_protocol(*GenAnyString());
    (*c->mutable_resources()->mutable_limits())[*GenAnyString()] = *GenAnyString();
    (*c->mutable_resources()->mutable_requests())[*GenAnyString()] = *GenAnyString();
    api::VolumeMount* m = c->add_volume_mounts();
    m->set_name(*GenAnyString());
    m->set_sub_path(*GenAnyString());
    if (*rc::gen::arbitrary<bool>()) *c->mutable_liveness_probe()->mutable_http_get()->mutable_port() = api::MakeIntOrString(*GenAnyString());
  }
  spec.set_restart_policy(*GenAnyString());
  spec.set_dns_policy(*GenAnyString());
  spec.set_node_name(*GenAnyString());
  api::Toleration* t = spec.add_tolerations();
  t->set_key(*GenAnyString());
  t->set_operator_(*GenAnyString());
  t->set_value(*GenAnyString());
  t->set_effect(*GenAnyString());
  api::TopologySpreadConstraint* c = spec.add_topology_spread_constraints();
  c->set_max_skew(*rc::gen::arbitrary<int32_t>());
  c->set_topology_key(*GenAnyString());
  c->set_when_unsatisfiable(*GenAnyString());
  return pod;
}

RC_GTEST_PROP(StrategyProperty, ApplyDefaultsIsIdempotent, ()) {
  api::Pod pod = *rc::gen::arbitrary<bool>() ? GenValidPod() : GenArbitraryPod();
  ApplyDefaults(pod);
  api::Pod again = pod;
  ApplyDefaults(again);
  if (auto same = SameObject(pod, again); !same) RC_FAIL(same.message());
}

RC_GTEST_PROP(StrategyProperty, DefaultedValidPodStaysValid, ()) {
  api::Pod pod = GenValidPod();
  ApplyDefaults(pod);
  const auto errors = ValidateCreate(pod);
  if (!errors.empty()) RC_FAIL(Describe(errors) + api::EncodeYaml(pod));
  // An update that changes nothing is valid too.
  RC_ASSERT(ValidateUpdate(pod, pod).empty());
}

RC_GTEST_PROP(StrategyProperty, DeploymentsOfValidPodsAreValid, ()) {
  const api::Pod pod = GenValidPod();
  api::Deployment d;
  d.mutable_metadata()->set_name(*GenLabel());
  d.mutable_metadata()->set_namespace_("default");
  api::PodTemplateSpec& tmpl = *d.mutable_spec()->mutable_template_();
  *tmpl.mutable_spec() = pod.spec();
  tmpl.mutable_spec()->set_restart_policy("Always");
  (*tmpl.mutable_metadata()->mutable_labels())["app"] = *GenLabel();
  *d.mutable_spec()->mutable_selector()->mutable_match_labels() = tmpl.metadata().labels();
  ApplyDefaults(d);
  api::Deployment again = d;
  ApplyDefaults(again);
  if (auto same = SameObject(d, again); !same) RC_FAIL(same.message());
  const auto errors = ValidateCreate(d);
  if (!errors.empty()) RC_FAIL(Describe(errors));
}

RC_GTEST_PROP(StrategyProperty, ArbitraryPodsNeverCrashValidation, ()) {
  api::Pod pod = GenArbitraryPod();
  ApplyDefaults(pod);
  const auto errors = ValidateCreate(pod);
  for (const FieldError& e : errors) {
    RC_ASSERT(!e.field.empty());
    RC_ASSERT(!e.reason.empty());
    RC_ASSERT(!e.message.empty());
  }
  api::Pod old = GenArbitraryPod();
  (void)ValidateUpdate(pod, old);
  (void)SelectableFields(pod);
}

}  // namespace
}  // namespace ksim::apiserver::testing
