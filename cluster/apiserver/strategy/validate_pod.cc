// Pods and pod specs (Kubernetes' ValidatePodSpec / ValidatePodUpdate), the templates
// controllers embed, and bindings.
#include <set>

#include "cluster/api/codec.h"
#include "cluster/apiserver/strategy/more_kinds.h"
#include "cluster/apiserver/strategy/validation.h"

namespace ksim::apiserver {
namespace {

constexpr int64_t kMaxInt32 = 2147483647;

size_t At(int i) { return static_cast<size_t>(i); }

void ValidatePortNumOrName(const api::IntOrString& port, const Path& path, Errors& errs) {
  if (port.value_case() == api::IntOrString::kStrVal) {
    errs.InvalidEach(path, port.str_val(), IsValidPortName(port.str_val()));
    return;
  }
  for (const std::string& m : IsValidPortNum(port.int_val())) errs.Invalid(path, port.int_val(), m);
}

void ValidateHttpGet(const api::HTTPGetAction& get, const Path& path, Errors& errs) {
  if (get.path().empty()) errs.Required(path.Child("path"));
  ValidatePortNumOrName(get.port(), path.Child("port"), errs);
  if (get.scheme() != "HTTP" && get.scheme() != "HTTPS") {
    errs.NotSupported(path.Child("scheme"), get.scheme(), {"HTTP", "HTTPS"});
  }
}

// Exactly one handler; `names` and `present` list them in Kubernetes' order.
void ValidateOneHandler(const std::vector<std::pair<std::string_view, bool>>& handlers, const Path& path,
                        Errors& errs) {
  int count = 0;
  for (const auto& [name, present] : handlers) {
    if (!present) continue;
    if (++count > 1) errs.Forbidden(path.Child(name), "may not specify more than 1 handler type");
  }
  if (count == 0) errs.Required(path, "must specify a handler type");
}

void ValidateProbe(const api::Probe& probe, bool must_succeed_once, const Path& path, Errors& errs) {
  ValidateOneHandler({{"exec", probe.has_exec()},
                      {"httpGet", probe.has_http_get()},
                      {"tcpSocket", probe.has_tcp_socket()},
                      {"grpc", probe.has_grpc()}},
                     path, errs);
  if (probe.has_exec() && probe.exec().command().empty()) errs.Required(path.Child("exec").Child("command"));
  if (probe.has_http_get()) ValidateHttpGet(probe.http_get(), path.Child("httpGet"), errs);
  if (probe.has_tcp_socket()) ValidatePortNumOrName(probe.tcp_socket().port(), path.Child("tcpSocket").Child("port"), errs);
  if (probe.has_grpc()) {
    for (const std::string& m : IsValidPortNum(probe.grpc().port())) {
      errs.Invalid(path.Child("grpc").Child("port"), probe.grpc().port(), m);
    }
  }
  ValidateNonNegative(probe.initial_delay_seconds(), path.Child("initialDelaySeconds"), errs);
  ValidateNonNegative(probe.timeout_seconds(), path.Child("timeoutSeconds"), errs);
  ValidateNonNegative(probe.period_seconds(), path.Child("periodSeconds"), errs);
  ValidateNonNegative(probe.success_threshold(), path.Child("successThreshold"), errs);
  ValidateNonNegative(probe.failure_threshold(), path.Child("failureThreshold"), errs);
  if (must_succeed_once && probe.success_threshold() != 1) {
    errs.Invalid(path.Child("successThreshold"), probe.success_threshold(), "must be 1");
  }
}

void ValidateLifecycleHandler(const api::LifecycleHandler& h, const Path& path, Errors& errs) {
  ValidateOneHandler({{"exec", h.has_exec()},
                      {"httpGet", h.has_http_get()},
                      {"tcpSocket", h.has_tcp_socket()},
                      {"sleep", h.has_sleep()}},
                     path, errs);
  if (h.has_exec() && h.exec().command().empty()) errs.Required(path.Child("exec").Child("command"));
  if (h.has_http_get()) ValidateHttpGet(h.http_get(), path.Child("httpGet"), errs);
  if (h.has_tcp_socket()) ValidatePortNumOrName(h.tcp_socket().port(), path.Child("tcpSocket").Child("port"), errs);
}

void ValidateContainerPorts(const google::protobuf::RepeatedPtrField<api::ContainerPort>& ports, bool host_network,
                            const Path& path, Errors& errs) {
  std::set<std::string> names;
  for (int i = 0; i < ports.size(); ++i) {
    const api::ContainerPort& port = ports[i];
    const Path p = path.Index(At(i));
    if (!port.name().empty()) {
      errs.InvalidEach(p.Child("name"), port.name(), IsValidPortName(port.name()));
      if (!names.insert(port.name()).second) errs.Duplicate(p.Child("name"), port.name());
    }
    if (port.container_port() == 0) {
      errs.Required(p.Child("containerPort"));
    } else {
      for (const std::string& m : IsValidPortNum(port.container_port())) {
        errs.Invalid(p.Child("containerPort"), port.container_port(), m);
      }
    }
    if (port.host_port() != 0) {
      for (const std::string& m : IsValidPortNum(port.host_port())) errs.Invalid(p.Child("hostPort"), port.host_port(), m);
    }
    if (port.protocol().empty()) {
      errs.Required(p.Child("protocol"));
    } else if (port.protocol() != "TCP" && port.protocol() != "UDP" && port.protocol() != "SCTP") {
      errs.NotSupported(p.Child("protocol"), port.protocol(), {"SCTP", "TCP", "UDP"});
    }
    if (host_network && port.host_port() != port.container_port()) {
      errs.Invalid(p.Child("hostPort"), port.host_port(), "must match `containerPort` when `hostNetwork` is true");
    }
  }
}

bool IsStandardContainerResource(std::string_view name) {
  return name == "cpu" || name == "memory" || name == "ephemeral-storage" || name.substr(0, 10) == "hugepages-";
}

void ValidateResourceName(std::string_view name, const Path& path, Errors& errs) {
  errs.InvalidEach(path, name, IsQualifiedName(name));
  if (name.find('/') == std::string::npos && !IsStandardContainerResource(name)) {
    errs.Invalid(path, name, "must be a standard resource for containers");
  }
}

}  // namespace

void ValidateResourceRequirements(const api::ResourceRequirements& r, const Path& path, Errors& errs) {
  for (const auto& [name, value] : SortedView(r.limits())) {
    const Path p = path.Child("limits").Key(name);
    ValidateResourceName(name, p, errs);
    ParseQuantityField(value, p, errs);
  }
  for (const auto& [name, value] : SortedView(r.requests())) {
    const Path p = path.Child("requests").Key(name);
    ValidateResourceName(name, p, errs);
    if (!ParseQuantityField(value, p, errs)) continue;
    auto limit = r.limits().find(std::string(name));
    if (limit == r.limits().end()) continue;
    if (CompareQuantities(value, limit->second).value_or(0) > 0) {
      errs.Invalid(p, CanonicalQuantity(value),
                   "must be less than or equal to " + std::string(name) + " limit of " + CanonicalQuantity(limit->second));
    }
  }
}

namespace {

struct ContainerContext {
  bool init = false;
  bool host_network = false;
  const std::set<std::string>* volumes = nullptr;
  std::set<std::string>* names = nullptr;  // shared by init and regular containers
};

void ValidateContainer(const api::Container& c, const ContainerContext& ctx, const Path& p, Errors& errs) {
  if (c.name().empty()) {
    errs.Required(p.Child("name"));
  } else {
    errs.InvalidEach(p.Child("name"), c.name(), IsDNS1123Label(c.name()));
    if (!ctx.names->insert(c.name()).second) errs.Duplicate(p.Child("name"), c.name());
  }
  if (c.image().empty()) {
    errs.Required(p.Child("image"));
  } else if (c.image().front() == ' ' || c.image().back() == ' ' || c.image().front() == '\t' ||
             c.image().back() == '\t') {
    errs.Invalid(p.Child("image"), c.image(), "must not have leading or trailing whitespace");
  }
  ValidateContainerPorts(c.ports(), ctx.host_network, p.Child("ports"), errs);
  for (int j = 0; j < c.env_size(); ++j) {
    const api::EnvVar& env = c.env(j);
    const Path ep = p.Child("env").Index(At(j));
    if (env.name().empty()) {
      errs.Required(ep.Child("name"));
    } else if (env.name().find('=') != std::string::npos) {
      errs.Invalid(ep.Child("name"), env.name(),
                   "a valid environment variable name must consist only of printable ASCII characters other than '='");
    }
  }
  ValidateResourceRequirements(c.resources(), p.Child("resources"), errs);

  std::set<std::string> mount_paths;
  for (int j = 0; j < c.volume_mounts_size(); ++j) {
    const api::VolumeMount& m = c.volume_mounts(j);
    const Path mp = p.Child("volumeMounts").Index(At(j));
    if (m.name().empty()) {
      errs.Required(mp.Child("name"));
    } else if (ctx.volumes->count(m.name()) == 0) {
      errs.NotFound(mp.Child("name"), m.name());
    }
    if (m.mount_path().empty()) {
      errs.Required(mp.Child("mountPath"));
    } else if (!mount_paths.insert(m.mount_path()).second) {
      errs.Invalid(mp.Child("mountPath"), m.mount_path(), "must be unique");
    }
    if (!m.sub_path().empty()) {
      if (m.sub_path().front() == '/') {
        errs.Invalid(mp.Child("subPath"), m.sub_path(), "must be a relative path");
      } else if (m.sub_path() == ".." || m.sub_path().find("../") != std::string::npos ||
                 m.sub_path().find("/..") != std::string::npos) {
        errs.Invalid(mp.Child("subPath"), m.sub_path(), "must not contain '..'");
      }
    }
  }

  const bool sidecar = ctx.init && c.has_restart_policy() && c.restart_policy() == "Always";
  if (ctx.init && !sidecar) {
    constexpr std::string_view kNoProbes = "may not be set for init containers without restartPolicy=Always";
    if (c.has_liveness_probe()) errs.Forbidden(p.Child("livenessProbe"), kNoProbes);
    if (c.has_readiness_probe()) errs.Forbidden(p.Child("readinessProbe"), kNoProbes);
    if (c.has_startup_probe()) errs.Forbidden(p.Child("startupProbe"), kNoProbes);
  } else {
    if (c.has_liveness_probe()) ValidateProbe(c.liveness_probe(), true, p.Child("livenessProbe"), errs);
    if (c.has_readiness_probe()) ValidateProbe(c.readiness_probe(), false, p.Child("readinessProbe"), errs);
    if (c.has_startup_probe()) ValidateProbe(c.startup_probe(), true, p.Child("startupProbe"), errs);
  }
  if (c.has_lifecycle()) {
    if (c.lifecycle().has_post_start()) {
      ValidateLifecycleHandler(c.lifecycle().post_start(), p.Child("lifecycle").Child("postStart"), errs);
    }
    if (c.lifecycle().has_pre_stop()) {
      ValidateLifecycleHandler(c.lifecycle().pre_stop(), p.Child("lifecycle").Child("preStop"), errs);
    }
  }

  if (c.image_pull_policy().empty()) {
    errs.Required(p.Child("imagePullPolicy"));
  } else if (c.image_pull_policy() != "Always" && c.image_pull_policy() != "IfNotPresent" &&
             c.image_pull_policy() != "Never") {
    errs.NotSupported(p.Child("imagePullPolicy"), c.image_pull_policy(), {"Always", "IfNotPresent", "Never"});
  }
  if (c.termination_message_policy().empty()) {
    errs.Required(p.Child("terminationMessagePolicy"));
  } else if (c.termination_message_policy() != "File" && c.termination_message_policy() != "FallbackToLogsOnError") {
    errs.NotSupported(p.Child("terminationMessagePolicy"), c.termination_message_policy(),
                      {"File", "FallbackToLogsOnError"});
  }
  if (c.has_restart_policy()) {
    if (!ctx.init) {
      errs.Forbidden(p.Child("restartPolicy"), "may not be set for non-init containers");
    } else if (c.restart_policy() != "Always") {
      errs.NotSupported(p.Child("restartPolicy"), c.restart_policy(), {"Always"});
    }
  }
}

// Returns the names of the volumes.
std::set<std::string> ValidateVolumes(const google::protobuf::RepeatedPtrField<api::Volume>& volumes, const Path& path,
                                      Errors& errs) {
  std::set<std::string> names;
  for (int i = 0; i < volumes.size(); ++i) {
    const api::Volume& v = volumes[i];
    const Path p = path.Index(At(i));
    if (v.name().empty()) {
      errs.Required(p.Child("name"));
    } else {
      errs.InvalidEach(p.Child("name"), v.name(), IsDNS1123Label(v.name()));
      if (!names.insert(v.name()).second) errs.Duplicate(p.Child("name"), v.name());
    }
    // Every sub-message of a Volume is a source.
    const std::vector<std::string_view> sources = SetSources(v);
    const size_t count = sources.size();
    for (size_t k = 1; k < count; ++k) errs.Forbidden(p.Child(sources[k]), "may not specify more than 1 volume type");
    if (count == 0) errs.Required(p, "must specify a volume type");
    if (v.has_host_path() && v.host_path().path().empty()) errs.Required(p.Child("hostPath").Child("path"));
    if (v.has_image()) {
      const Path ip = p.Child("image");
      if (v.image().reference().empty()) errs.Required(ip.Child("reference"));
      const std::string& pull = v.image().pull_policy();
      if (!pull.empty() && pull != "Always" && pull != "IfNotPresent" && pull != "Never") {
        errs.NotSupported(ip.Child("pullPolicy"), pull, {"Always", "IfNotPresent", "Never"});
      }
    }
    if (v.has_secret() && v.secret().secret_name().empty()) errs.Required(p.Child("secret").Child("secretName"));
    if (v.has_config_map() && v.config_map().name().empty()) errs.Required(p.Child("configMap").Child("name"));
    if (v.has_persistent_volume_claim() && v.persistent_volume_claim().claim_name().empty()) {
      errs.Required(p.Child("persistentVolumeClaim").Child("claimName"));
    }
    if (v.has_nfs()) {
      if (v.nfs().server().empty()) errs.Required(p.Child("nfs").Child("server"));
      if (v.nfs().path().empty()) errs.Required(p.Child("nfs").Child("path"));
    }
    if (v.has_empty_dir() && v.empty_dir().has_size_limit()) {
      ParseQuantityField(v.empty_dir().size_limit(), p.Child("emptyDir").Child("sizeLimit"), errs);
    }
  }
  return names;
}

void ValidateNodeSelectorRequirement(const api::NodeSelectorRequirement& r, const Path& path, Errors& errs) {
  const std::string& op = r.operator_();
  if (op == "In" || op == "NotIn") {
    if (r.values().empty()) errs.Required(path.Child("values"), "must be specified when `operator` is 'In' or 'NotIn'");
  } else if (op == "Exists" || op == "DoesNotExist") {
    if (!r.values().empty()) {
      errs.Forbidden(path.Child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
    }
  } else if (op == "Gt" || op == "Lt") {
    if (r.values_size() != 1) {
      errs.Required(path.Child("values"), "must be specified single value when `operator` is 'Lt' or 'Gt'");
    }
  } else {
    errs.Invalid(path.Child("operator"), op, "not a valid selector operator");
  }
  ValidateLabelName(r.key(), path.Child("key"), errs);
}

void ValidateNodeSelectorTerm(const api::NodeSelectorTerm& term, const Path& path, Errors& errs) {
  for (int j = 0; j < term.match_expressions_size(); ++j) {
    ValidateNodeSelectorRequirement(term.match_expressions(j), path.Child("matchExpressions").Index(At(j)), errs);
  }
  for (int j = 0; j < term.match_fields_size(); ++j) {
    const api::NodeSelectorRequirement& r = term.match_fields(j);
    const Path fp = path.Child("matchFields").Index(At(j));
    if (r.key() != "metadata.name") errs.Invalid(fp.Child("key"), r.key(), "not a valid field selector key");
    if ((r.operator_() != "In" && r.operator_() != "NotIn")) {
      errs.NotSupported(fp.Child("operator"), r.operator_(), {"In", "NotIn"});
    } else if (r.values_size() != 1) {
      errs.Required(fp.Child("values"), "must be only one value when `operator` is 'In' or 'NotIn' for node field selector");
    }
  }
}

void ValidateWeight(int32_t weight, const Path& path, Errors& errs) {
  if (weight < 1 || weight > 100) errs.Invalid(path, weight, "must be in the range 1-100");
}

void ValidatePodAffinityTerm(const api::PodAffinityTerm& term, const Path& path, Errors& errs) {
  ValidateLabelSelector(term.label_selector(), path.Child("labelSelector"), errs);
  ValidateLabelSelector(term.namespace_selector(), path.Child("namespaceSelector"), errs);
  for (const std::string& ns : term.namespaces()) {
    errs.InvalidEach(path.Child("namespace"), ns, IsDNS1123Label(ns));
  }
  if (term.topology_key().empty()) {
    errs.Required(path.Child("topologyKey"), "can not be empty");
  } else {
    ValidateLabelName(term.topology_key(), path.Child("topologyKey"), errs);
  }
}

template <typename Affinity>
void ValidatePodAffinityKind(const Affinity& a, const Path& path, Errors& errs) {
  const Path required = path.Child("requiredDuringSchedulingIgnoredDuringExecution");
  for (int i = 0; i < a.required_during_scheduling_ignored_during_execution_size(); ++i) {
    ValidatePodAffinityTerm(a.required_during_scheduling_ignored_during_execution(i), required.Index(At(i)), errs);
  }
  const Path preferred = path.Child("preferredDuringSchedulingIgnoredDuringExecution");
  for (int i = 0; i < a.preferred_during_scheduling_ignored_during_execution_size(); ++i) {
    const api::WeightedPodAffinityTerm& w = a.preferred_during_scheduling_ignored_during_execution(i);
    ValidateWeight(w.weight(), preferred.Index(At(i)).Child("weight"), errs);
    ValidatePodAffinityTerm(w.pod_affinity_term(), preferred.Index(At(i)).Child("podAffinityTerm"), errs);
  }
}

void ValidateAffinity(const api::Affinity& affinity, const Path& path, Errors& errs) {
  if (affinity.has_node_affinity()) {
    const api::NodeAffinity& na = affinity.node_affinity();
    const Path np = path.Child("nodeAffinity");
    if (na.has_required_during_scheduling_ignored_during_execution()) {
      const Path rp = np.Child("requiredDuringSchedulingIgnoredDuringExecution");
      const api::NodeSelector& sel = na.required_during_scheduling_ignored_during_execution();
      if (sel.node_selector_terms().empty()) {
        errs.Required(rp.Child("nodeSelectorTerms"), "must have at least one node selector term");
      }
      for (int i = 0; i < sel.node_selector_terms_size(); ++i) {
        ValidateNodeSelectorTerm(sel.node_selector_terms(i), rp.Child("nodeSelectorTerms").Index(At(i)), errs);
      }
    }
    const Path pp = np.Child("preferredDuringSchedulingIgnoredDuringExecution");
    for (int i = 0; i < na.preferred_during_scheduling_ignored_during_execution_size(); ++i) {
      const api::PreferredSchedulingTerm& t = na.preferred_during_scheduling_ignored_during_execution(i);
      ValidateWeight(t.weight(), pp.Index(At(i)).Child("weight"), errs);
      ValidateNodeSelectorTerm(t.preference(), pp.Index(At(i)).Child("preference"), errs);
    }
  }
  if (affinity.has_pod_affinity()) ValidatePodAffinityKind(affinity.pod_affinity(), path.Child("podAffinity"), errs);
  if (affinity.has_pod_anti_affinity()) {
    ValidatePodAffinityKind(affinity.pod_anti_affinity(), path.Child("podAntiAffinity"), errs);
  }
}

void ValidateTopologySpread(const google::protobuf::RepeatedPtrField<api::TopologySpreadConstraint>& constraints,
                            const Path& path, Errors& errs) {
  std::set<std::pair<std::string, std::string>> seen;
  for (int i = 0; i < constraints.size(); ++i) {
    const api::TopologySpreadConstraint& c = constraints[i];
    const Path p = path.Index(At(i));
    if (c.max_skew() <= 0) errs.Invalid(p.Child("maxSkew"), c.max_skew(), kPositive);
    if (c.topology_key().empty()) {
      errs.Required(p.Child("topologyKey"), "can not be empty");
    } else {
      ValidateLabelName(c.topology_key(), p.Child("topologyKey"), errs);
    }
    const bool action_ok = c.when_unsatisfiable() == "DoNotSchedule" || c.when_unsatisfiable() == "ScheduleAnyway";
    if (!action_ok) {
      errs.NotSupported(p.Child("whenUnsatisfiable"), c.when_unsatisfiable(), {"DoNotSchedule", "ScheduleAnyway"});
    }
    if (!seen.insert({c.topology_key(), c.when_unsatisfiable()}).second) {
      errs.Duplicate(p.Child("{topologyKey, whenUnsatisfiable}"),
                     "{" + c.topology_key() + ", " + c.when_unsatisfiable() + "}");
    }
    if (c.has_min_domains()) {
      if (c.min_domains() <= 0) {
        errs.Invalid(p.Child("minDomains"), c.min_domains(), kPositive);
      } else if (action_ok && c.when_unsatisfiable() != "DoNotSchedule") {
        errs.Invalid(p.Child("minDomains"), c.min_domains(),
                     "can only use minDomains if whenUnsatisfiable=DoNotSchedule, not " + c.when_unsatisfiable());
      }
    }
    for (const auto& [field, value] : {std::pair{"nodeAffinityPolicy", &c.node_affinity_policy()},
                                       std::pair{"nodeTaintsPolicy", &c.node_taints_policy()}}) {
      const bool set = field == std::string_view("nodeAffinityPolicy") ? c.has_node_affinity_policy()
                                                                        : c.has_node_taints_policy();
      if (set && *value != "Honor" && *value != "Ignore") errs.NotSupported(p.Child(field), *value, {"Honor", "Ignore"});
    }
    ValidateLabelSelector(c.label_selector(), p.Child("labelSelector"), errs);
  }
}

void ValidateSchedulingGates(const google::protobuf::RepeatedPtrField<api::PodSchedulingGate>& gates, const Path& path,
                             Errors& errs) {
  std::set<std::string> seen;
  for (int i = 0; i < gates.size(); ++i) {
    errs.InvalidEach(path.Index(At(i)), gates[i].name(), IsQualifiedName(gates[i].name()));
    if (!seen.insert(gates[i].name()).second) errs.Duplicate(path.Index(At(i)), gates[i].name());
  }
}

}  // namespace

void ValidateTolerations(const google::protobuf::RepeatedPtrField<api::Toleration>& tolerations, const Path& path,
                         Errors& errs) {
  for (int i = 0; i < tolerations.size(); ++i) {
    const api::Toleration& t = tolerations[i];
    const Path p = path.Index(At(i));
    if (!t.key().empty()) ValidateLabelName(t.key(), p.Child("key"), errs);
    if (t.key().empty() && t.operator_() != "Exists") {
      errs.Invalid(p.Child("operator"), t.operator_(),
                   "operator must be Exists when `key` is empty, which means \"match all values and all keys\"");
    }
    if (t.has_toleration_seconds() && t.effect() != "NoExecute") {
      errs.Invalid(p.Child("effect"), t.effect(), "effect must be 'NoExecute' when `tolerationSeconds` is set");
    }
    if (t.operator_() == "Equal" || t.operator_().empty()) {
      const Messages m = IsValidLabelValue(t.value());
      if (!m.empty()) {
        std::string joined;
        for (const std::string& s : m) joined += (joined.empty() ? "" : ";") + s;
        errs.Invalid(p.Child("operator"), t.value(), joined);
      }
    } else if (t.operator_() == "Exists") {
      if (!t.value().empty()) errs.Invalid(p.Child("operator"), t.value(), "value must be empty when `operator` is 'Exists'");
    } else {
      errs.NotSupported(p.Child("operator"), t.operator_(), {"Equal", "Exists"});
    }
    if (!t.effect().empty() && t.effect() != "NoSchedule" && t.effect() != "PreferNoSchedule" &&
        t.effect() != "NoExecute") {
      errs.NotSupported(p.Child("effect"), t.effect(), {"NoSchedule", "PreferNoSchedule", "NoExecute"});
    }
  }
}

namespace {

// spec.resourceClaims (DRA): unique DNS-label names, each naming exactly one source; the
// containers' resources.claims must name one of them.
void ValidatePodResourceClaims(const api::PodSpec& spec, const Path& path, Errors& errs) {
  std::set<std::string> names;
  for (int i = 0; i < spec.resource_claims_size(); ++i) {
    const api::PodResourceClaim& c = spec.resource_claims(i);
    const Path p = path.Child("resourceClaims").Index(At(i));
    if (c.name().empty()) {
      errs.Required(p.Child("name"));
    } else {
      errs.InvalidEach(p.Child("name"), c.name(), IsDNS1123Label(c.name()));
      if (!names.insert(c.name()).second) errs.Duplicate(p.Child("name"), c.name());
    }
    if (c.has_resource_claim_name() == c.has_resource_claim_template_name()) {
      errs.Invalid(p, c.name(), c.has_resource_claim_name()
                                    ? "at most one of `resourceClaimName` or `resourceClaimTemplateName` may be specified"
                                    : "must specify one of: `resourceClaimName`, `resourceClaimTemplateName`");
    }
  }
  const auto check = [&](const google::protobuf::RepeatedPtrField<api::Container>& containers, std::string_view field) {
    for (int i = 0; i < containers.size(); ++i) {
      const auto& claims = containers[i].resources().claims();
      for (int j = 0; j < claims.size(); ++j) {
        if (names.count(claims[j].name()) == 0) {
          errs.NotFound(path.Child(field).Index(At(i)).Child("resources").Child("claims").Index(At(j)), claims[j].name());
        }
      }
    }
  };
  check(spec.init_containers(), "initContainers");
  check(spec.containers(), "containers");
}

}  // namespace

void ValidatePodSpec(const api::PodSpec& spec, const PodSpecRules& rules, const Path& path, Errors& errs) {
  const std::set<std::string> volumes = ValidateVolumes(spec.volumes(), path.Child("volumes"), errs);
  std::set<std::string> container_names;
  ContainerContext ctx;
  ctx.host_network = spec.host_network();
  ctx.volumes = &volumes;
  ctx.names = &container_names;
  ctx.init = true;
  for (int i = 0; i < spec.init_containers_size(); ++i) {
    ValidateContainer(spec.init_containers(i), ctx, path.Child("initContainers").Index(At(i)), errs);
  }
  ctx.init = false;
  if (spec.containers().empty()) errs.Required(path.Child("containers"));
  for (int i = 0; i < spec.containers_size(); ++i) {
    ValidateContainer(spec.containers(i), ctx, path.Child("containers").Index(At(i)), errs);
  }

  const Path restart = path.Child("restartPolicy");
  if (rules.restart_policies.empty()) {
    if (spec.restart_policy().empty()) {
      errs.Required(restart);
    } else if (spec.restart_policy() != "Always" && spec.restart_policy() != "OnFailure" &&
               spec.restart_policy() != "Never") {
      errs.NotSupported(restart, spec.restart_policy(), {"Always", "OnFailure", "Never"});
    }
  } else {
    bool allowed = false;
    for (std::string_view p : rules.restart_policies) allowed = allowed || p == spec.restart_policy();
    if (!allowed && spec.restart_policy().empty() && rules.restart_policies.size() > 1) {
      std::string detail = "valid values: ";
      for (size_t i = 0; i < rules.restart_policies.size(); ++i) {
        detail += (i > 0 ? ", " : "") + Quote(rules.restart_policies[i]);
      }
      errs.Required(restart, detail);
    } else if (!allowed) {
      errs.NotSupported(restart, spec.restart_policy(), rules.restart_policies);
    }
  }

  const Path dns = path.Child("dnsPolicy");
  if (spec.dns_policy().empty()) {
    errs.Required(dns);
  } else if (spec.dns_policy() != "ClusterFirst" && spec.dns_policy() != "ClusterFirstWithHostNet" &&
             spec.dns_policy() != "Default" && spec.dns_policy() != "None") {
    errs.NotSupported(dns, spec.dns_policy(), {"ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"});
  } else if (spec.dns_policy() == "None" && !spec.has_dns_config()) {
    errs.Required(path.Child("dnsConfig"), "must provide `dnsConfig` when `dnsPolicy` is None");
  }

  ValidateLabels(spec.node_selector(), path.Child("nodeSelector"), errs);
  if (!spec.service_account_name().empty()) {
    errs.InvalidEach(path.Child("serviceAccountName"), spec.service_account_name(),
                     IsDNS1123Subdomain(spec.service_account_name()));
  }
  if (!spec.node_name().empty()) {
    errs.InvalidEach(path.Child("nodeName"), spec.node_name(), IsDNS1123Subdomain(spec.node_name()));
  }
  if (spec.has_active_deadline_seconds()) {
    if (!rules.forbid_active_deadline_in.empty()) {
      errs.Forbidden(path.Child("activeDeadlineSeconds"),
                     "activeDeadlineSeconds in " + std::string(rules.forbid_active_deadline_in) + " is not Supported");
    } else if (spec.active_deadline_seconds() < 1 || spec.active_deadline_seconds() > kMaxInt32) {
      errs.Invalid(path.Child("activeDeadlineSeconds"), spec.active_deadline_seconds(),
                   "must be between 1 and 2147483647, inclusive");
    }
  }
  if (spec.has_affinity()) ValidateAffinity(spec.affinity(), path.Child("affinity"), errs);
  ValidateTolerations(spec.tolerations(), path.Child("tolerations"), errs);
  ValidateTopologySpread(spec.topology_spread_constraints(), path.Child("topologySpreadConstraints"), errs);
  ValidateSchedulingGates(spec.scheduling_gates(), path.Child("schedulingGates"), errs);
  if (!spec.scheduler_name().empty()) {
    errs.InvalidEach(path.Child("schedulerName"), spec.scheduler_name(), IsDNS1123Subdomain(spec.scheduler_name()));
  }
  if (!spec.priority_class_name().empty()) {
    errs.InvalidEach(path.Child("priorityClassName"), spec.priority_class_name(),
                     IsDNS1123Subdomain(spec.priority_class_name()));
  }
  if (!spec.hostname().empty()) errs.InvalidEach(path.Child("hostname"), spec.hostname(), IsDNS1123Label(spec.hostname()));
  if (!spec.subdomain().empty()) {
    errs.InvalidEach(path.Child("subdomain"), spec.subdomain(), IsDNS1123Label(spec.subdomain()));
  }
  for (const auto& [name, value] : Sorted(spec.overhead())) {
    ParseQuantityField(value, path.Child("overhead").Key(name), errs);
  }
  if (spec.has_resources()) ValidateResourceRequirements(spec.resources(), path.Child("resources"), errs);
  ValidatePodResourceClaims(spec, path, errs);
}

void ValidatePodTemplate(const api::PodTemplateSpec& tmpl, bool selector_matches, const PodSpecRules& rules,
                         const Path& path, Errors& errs) {
  const Path meta = path.Child("metadata");
  ValidateLabels(tmpl.metadata().labels(), meta.Child("labels"), errs);
  if (!selector_matches) {
    errs.InvalidShown(meta.Child("labels"), GoMap(Sorted(tmpl.metadata().labels())),
                      "`selector` does not match template `labels`");
  }
  ValidatePodSpec(tmpl.spec(), rules, path.Child("spec"), errs);
}

void ValidatePod(const api::Pod& pod, Errors& errs) {
  ValidateObjectMeta(pod.metadata(), true, NameIsDNSSubdomain, Path("metadata"), errs);
  ValidatePodSpec(pod.spec(), PodSpecRules{}, Path("spec"), errs);
}

void ValidatePodCreateOnly(const api::Pod& pod, Errors& errs) {
  // Ephemeral containers arrive through the ephemeralcontainers subresource only.
  if (!pod.spec().ephemeral_containers().empty()) {
    errs.Forbidden(Path("spec").Child("ephemeralContainers"), "cannot be set on create");
  }
  if (!pod.spec().node_name().empty() && !pod.spec().scheduling_gates().empty()) {
    errs.Forbidden(Path("spec").Child("nodeName"), "cannot be set until all schedulingGates have been cleared");
  }
}

namespace {

// Tolerations may be added, and an existing one may change only its tolerationSeconds.
bool OnlyAddedTolerations(const api::PodSpec& spec, const api::PodSpec& old) {
  for (const api::Toleration& before : old.tolerations()) {
    bool found = false;
    for (const api::Toleration& now : spec.tolerations()) {
      api::Toleration probe = before;
      if (now.has_toleration_seconds()) {
        probe.set_toleration_seconds(now.toleration_seconds());
      } else {
        probe.clear_toleration_seconds();
      }
      found = found || SameMessage(probe, now);
    }
    if (!found) return false;
  }
  return true;
}

}  // namespace

void ValidatePodUpdate(const api::Pod& pod, const api::Pod& old, Errors& errs) {
  ValidateObjectMetaUpdate(pod.metadata(), old.metadata(), Path("metadata"), errs);
  const Path spec_path("spec");
  const api::PodSpec& spec = pod.spec();

  const Path deadline = spec_path.Child("activeDeadlineSeconds");
  if (spec.has_active_deadline_seconds()) {
    if (old.spec().has_active_deadline_seconds() &&
        old.spec().active_deadline_seconds() < spec.active_deadline_seconds()) {
      errs.Invalid(deadline, spec.active_deadline_seconds(), "must be less than or equal to previous value");
      return;
    }
  } else if (old.spec().has_active_deadline_seconds()) {
    errs.InvalidShown(deadline, "null", "must not update from a positive integer to nil value");
  }
  if (!OnlyAddedTolerations(spec, old.spec())) {
    errs.Forbidden(spec_path.Child("tolerations"), "existing toleration can not be modified except its tolerationSeconds");
    return;
  }
  std::set<std::string> old_gates;
  for (const api::PodSchedulingGate& g : old.spec().scheduling_gates()) old_gates.insert(g.name());
  for (const api::PodSchedulingGate& g : spec.scheduling_gates()) {
    if (old_gates.count(g.name()) == 0) {
      errs.Forbidden(spec_path.Child("schedulingGates"),
                     "only deletion is allowed, but found new scheduling gate '" + g.name() + "'");
      return;
    }
  }

  // Put back what may change; anything still different is forbidden.
  api::PodSpec munged = spec;
  if (munged.containers_size() == old.spec().containers_size()) {
    for (int i = 0; i < munged.containers_size(); ++i) munged.mutable_containers(i)->set_image(old.spec().containers(i).image());
  }
  if (munged.init_containers_size() == old.spec().init_containers_size()) {
    for (int i = 0; i < munged.init_containers_size(); ++i) {
      munged.mutable_init_containers(i)->set_image(old.spec().init_containers(i).image());
    }
  }
  if (old.spec().has_active_deadline_seconds()) {
    munged.set_active_deadline_seconds(old.spec().active_deadline_seconds());
  } else {
    munged.clear_active_deadline_seconds();
  }
  *munged.mutable_tolerations() = old.spec().tolerations();
  *munged.mutable_scheduling_gates() = old.spec().scheduling_gates();
  if (old.spec().has_termination_grace_period_seconds() && old.spec().termination_grace_period_seconds() < 0 &&
      spec.has_termination_grace_period_seconds() && spec.termination_grace_period_seconds() == 1) {
    munged.set_termination_grace_period_seconds(old.spec().termination_grace_period_seconds());
  }
  if (!SameMessage(munged, old.spec())) {
    errs.Forbidden(spec_path,
                   "pod updates may not change fields other than `spec.containers[*].image`,"
                   "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions "
                   "to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
                   "previously negative); changed: " +
                       FirstDifference(old.spec(), munged, spec_path));
  }
}

void ValidateBinding(const api::Binding& binding, Errors& errs) {
  ValidateObjectMeta(binding.metadata(), true, NameIsDNSSubdomain, Path("metadata"), errs);
  const Path target("target");
  if (!binding.target().kind().empty() && binding.target().kind() != "Node") {
    errs.NotSupported(target.Child("kind"), binding.target().kind(), {"Node", "<empty>"});
  }
  if (binding.target().name().empty()) errs.Required(target.Child("name"));
}

}  // namespace ksim::apiserver
