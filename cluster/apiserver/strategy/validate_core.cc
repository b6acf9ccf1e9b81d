// core/v1 kinds other than pods: Service, ConfigMap, Secret, Namespace, Node, Endpoints,
// Event, ResourceQuota, LimitRange.
#include <initializer_list>
#include <set>

#include "cluster/api/codec.h"
#include "cluster/api/machinery/quantity.h"
#include "cluster/apiserver/strategy/validation.h"

namespace ksim::apiserver {
namespace {

const Path kSpec("spec");
const Path kMeta("metadata");
constexpr int64_t kMaxDataBytes = 1024 * 1024;  // ConfigMaps and Secrets, as Kubernetes' MaxSecretSize
constexpr int kNodePortMin = 30000;
constexpr int kNodePortMax = 32767;

size_t At(int i) { return static_cast<size_t>(i); }

bool IsOneOf(std::string_view v, std::initializer_list<std::string_view> set) {
  for (std::string_view s : set) {
    if (v == s) return true;
  }
  return false;
}

// A named port of a Service or Endpoints: a unique DNS label name (required when there
// are several), a port number and a protocol.
template <typename Port>
void ValidateNamedPort(const Port& port, bool require_name, std::set<std::string>& names, const Path& p,
                       Errors& errs) {
  if (port.name().empty()) {
    if (require_name) errs.Required(p.Child("name"));
  } else {
    errs.InvalidEach(p.Child("name"), port.name(), IsDNS1123Label(port.name()));
    if (!names.insert(port.name()).second) errs.Duplicate(p.Child("name"), port.name());
  }
  for (const std::string& m : IsValidPortNum(port.port())) errs.Invalid(p.Child("port"), port.port(), m);
  if (port.protocol().empty()) {
    errs.Required(p.Child("protocol"));
  } else if (!IsOneOf(port.protocol(), {"TCP", "UDP", "SCTP"})) {
    errs.NotSupported(p.Child("protocol"), port.protocol(), {"SCTP", "TCP", "UDP"});
  }
}

void ValidateServicePort(const api::ServicePort& port, bool require_name, const std::string& type,
                         std::set<std::string>& names, const Path& p, Errors& errs) {
  ValidateNamedPort(port, require_name, names, p, errs);
  const api::IntOrString& target = port.target_port();
  if (target.value_case() == api::IntOrString::kStrVal) {
    errs.InvalidEach(p.Child("targetPort"), target.str_val(), IsValidPortName(target.str_val()));
  } else if (target.value_case() == api::IntOrString::kIntVal) {
    for (const std::string& m : IsValidPortNum(target.int_val())) errs.Invalid(p.Child("targetPort"), target.int_val(), m);
  }
  if (port.node_port() != 0) {
    if (type == "ClusterIP" || type == "ExternalName") {
      errs.Forbidden(p.Child("nodePort"), "may not be used when `type` is '" + type + "'");
    } else if (port.node_port() < kNodePortMin || port.node_port() > kNodePortMax) {
      errs.Invalid(p.Child("nodePort"), port.node_port(),
                   "provided port is not in the valid range. The range of valid ports is " +
                       std::to_string(kNodePortMin) + "-" + std::to_string(kNodePortMax));
    }
  }
}

// Data keys and total size shared by ConfigMap and Secret.
int64_t ValidateDataKeys(const std::map<std::string, std::string>& data, const Path& path, Errors& errs) {
  int64_t bytes = 0;
  for (const auto& [key, value] : data) {
    errs.InvalidEach(path.Key(key), key, IsConfigMapKey(key));
    bytes += static_cast<int64_t>(value.size());
  }
  return bytes;
}

std::map<std::string, std::string> SortedBytes(const google::protobuf::Map<std::string, std::string>& map) {
  return Sorted(map);
}

// The `immutable` flag freezes data and itself.
template <typename T>
void ValidateImmutableData(const T& obj, const T& old, Errors& errs) {
  if (!old.has_immutable() || !old.immutable()) return;
  constexpr std::string_view kFrozen = "field is immutable when `immutable` is set";
  if (!obj.has_immutable() || !obj.immutable()) errs.Forbidden(Path("immutable"), kFrozen);
  if (SortedBytes(obj.data()) != SortedBytes(old.data())) errs.Forbidden(Path("data"), kFrozen);
}

}  // namespace

void ValidateService(const api::Service& svc, Errors& errs) {
  ValidateObjectMeta(svc.metadata(), true, NameIsDNS1035Label, kMeta, errs);
  const api::ServiceSpec& spec = svc.spec();
  const bool headless = spec.cluster_ip() == "None";
  const std::string& type = spec.type();
  if (type.empty()) {
    errs.Required(kSpec.Child("type"));
  } else if (!IsOneOf(type, {"ClusterIP", "NodePort", "LoadBalancer", "ExternalName"})) {
    errs.NotSupported(kSpec.Child("type"), type, {"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"});
  }
  if (type == "ExternalName") {
    if (!spec.cluster_ip().empty()) errs.Forbidden(kSpec.Child("clusterIP"), "may not be set for ExternalName services");
    if (spec.external_name().empty()) {
      errs.Required(kSpec.Child("externalName"));
    } else {
      std::string name = spec.external_name();
      if (name.back() == '.') name.pop_back();  // a fully qualified name may end in a dot
      errs.InvalidEach(kSpec.Child("externalName"), spec.external_name(), IsDNS1123Subdomain(name));
    }
  } else if (!spec.cluster_ip().empty() && !headless && !IsValidIP(spec.cluster_ip())) {
    errs.Invalid(kSpec.Child("clusterIP"), spec.cluster_ip(), "must be empty, 'None', or a valid IP address");
  }
  if (spec.ports().empty() && !headless && type != "ExternalName") errs.Required(kSpec.Child("ports"));
  if (type == "LoadBalancer" || type == "NodePort") {
    if (headless) errs.Invalid(kSpec.Child("clusterIPs").Index(0), "None", "may not be set to 'None' for " + type + " services");
  }
  std::set<std::string> names;
  std::set<std::pair<int32_t, std::string>> port_protocols;
  for (int i = 0; i < spec.ports_size(); ++i) {
    const api::ServicePort& port = spec.ports(i);
    const Path p = kSpec.Child("ports").Index(At(i));
    ValidateServicePort(port, spec.ports_size() > 1, type, names, p, errs);
    if (!port_protocols.insert({port.port(), port.protocol()}).second) {
      errs.DuplicateShown(p, "core.ServicePort{Port:" + std::to_string(port.port()) + ", Protocol:" +
                                 Quote(port.protocol()) + "}");
    }
  }
  ValidateLabels(spec.selector(), kSpec.Child("selector"), errs);
  if (!spec.session_affinity().empty() && !IsOneOf(spec.session_affinity(), {"ClientIP", "None"})) {
    errs.NotSupported(kSpec.Child("sessionAffinity"), spec.session_affinity(), {"ClientIP", "None"});
  }
  if (spec.has_internal_traffic_policy() && !IsOneOf(spec.internal_traffic_policy(), {"Cluster", "Local"})) {
    errs.NotSupported(kSpec.Child("internalTrafficPolicy"), spec.internal_traffic_policy(), {"Cluster", "Local"});
  }
  if (!spec.external_traffic_policy().empty()) {
    if (type != "NodePort" && type != "LoadBalancer") {
      errs.Invalid(kSpec.Child("externalTrafficPolicy"), spec.external_traffic_policy(),
                   "may only be set for externally-accessible services");
    } else if (!IsOneOf(spec.external_traffic_policy(), {"Cluster", "Local"})) {
      errs.NotSupported(kSpec.Child("externalTrafficPolicy"), spec.external_traffic_policy(), {"Cluster", "Local"});
    }
  }
  if (spec.has_ip_family_policy() &&
      !IsOneOf(spec.ip_family_policy(), {"SingleStack", "PreferDualStack", "RequireDualStack"})) {
    errs.NotSupported(kSpec.Child("ipFamilyPolicy"), spec.ip_family_policy(),
                      {"PreferDualStack", "RequireDualStack", "SingleStack"});
  }
  for (int i = 0; i < spec.ip_families_size(); ++i) {
    if (!IsOneOf(spec.ip_families(i), {"IPv4", "IPv6"})) {
      errs.NotSupported(kSpec.Child("ipFamilies").Index(At(i)), spec.ip_families(i), {"IPv4", "IPv6"});
    }
  }
  for (int i = 0; i < spec.external_ips_size(); ++i) {
    if (!IsValidIP(spec.external_ips(i))) {
      errs.Invalid(kSpec.Child("externalIPs").Index(At(i)), spec.external_ips(i), "must be a valid IP address");
    }
  }
}

void ValidateServiceUpdate(const api::Service& svc, const api::Service& old, Errors& errs) {
  ValidateObjectMetaUpdate(svc.metadata(), old.metadata(), kMeta, errs);
  // A cluster IP, once allocated, stays (unless the service becomes an ExternalName).
  if (!old.spec().cluster_ip().empty() && svc.spec().type() != "ExternalName" &&
      svc.spec().cluster_ip() != old.spec().cluster_ip()) {
    errs.Invalid(kSpec.Child("clusterIP"), svc.spec().cluster_ip(), "may not change once set");
  }
}

void ValidateConfigMap(const api::ConfigMap& cm, Errors& errs) {
  ValidateObjectMeta(cm.metadata(), true, NameIsDNSSubdomain, kMeta, errs);
  int64_t bytes = ValidateDataKeys(Sorted(cm.data()), Path("data"), errs);
  const std::map<std::string, std::string> binary = SortedBytes(cm.binary_data());
  bytes += ValidateDataKeys(binary, Path("binaryData"), errs);
  for (const auto& [key, value] : binary) {
    if (cm.data().count(key) != 0) errs.Invalid(Path("binaryData").Key(key), key, "duplicate of key present in data");
  }
  if (bytes > kMaxDataBytes) errs.TooLong(Path("data"), kMaxDataBytes);
}

void ValidateConfigMapUpdate(const api::ConfigMap& cm, const api::ConfigMap& old, Errors& errs) {
  ValidateObjectMetaUpdate(cm.metadata(), old.metadata(), kMeta, errs);
  ValidateImmutableData(cm, old, errs);
  if (old.has_immutable() && old.immutable() && SortedBytes(cm.binary_data()) != SortedBytes(old.binary_data())) {
    errs.Forbidden(Path("binaryData"), "field is immutable when `immutable` is set");
  }
}

void ValidateSecret(const api::Secret& secret, Errors& errs) {
  ValidateObjectMeta(secret.metadata(), true, NameIsDNSSubdomain, kMeta, errs);
  const Path data("data");
  const std::map<std::string, std::string> bytes_by_key = SortedBytes(secret.data());
  const int64_t bytes = ValidateDataKeys(bytes_by_key, data, errs);
  if (bytes > kMaxDataBytes) errs.TooLong(data, kMaxDataBytes);
  auto require_key = [&](const std::string& key) {
    if (bytes_by_key.count(key) == 0) errs.Required(data.Key(key));
  };
  const std::string& type = secret.type();
  if (type == "kubernetes.io/service-account-token") {
    if (secret.metadata().annotations().count("kubernetes.io/service-account.name") == 0) {
      errs.Required(kMeta.Child("annotations").Key("kubernetes.io/service-account.name"));
    }
  } else if (type == "kubernetes.io/dockercfg") {
    require_key(".dockercfg");
  } else if (type == "kubernetes.io/dockerconfigjson") {
    require_key(".dockerconfigjson");
  } else if (type == "kubernetes.io/basic-auth") {
    if (bytes_by_key.count("username") == 0 && bytes_by_key.count("password") == 0) {
      errs.Required(data.Key("username"));
      errs.Required(data.Key("password"));
    }
  } else if (type == "kubernetes.io/ssh-auth") {
    require_key("ssh-privatekey");
  } else if (type == "kubernetes.io/tls") {
    require_key("tls.crt");
    require_key("tls.key");
  } else if (!type.empty() && type != "Opaque" && type != "bootstrap.kubernetes.io/token") {
    errs.InvalidEach(Path("type"), type, IsQualifiedName(type));
  }
}

void ValidateSecretUpdate(const api::Secret& secret, const api::Secret& old, Errors& errs) {
  ValidateObjectMetaUpdate(secret.metadata(), old.metadata(), kMeta, errs);
  if (secret.type() != old.type()) errs.Invalid(Path("type"), secret.type(), kImmutable);
  ValidateImmutableData(secret, old, errs);
}

void ValidateNamespace(const api::Namespace& ns, Errors& errs) {
  ValidateObjectMeta(ns.metadata(), false, NameIsDNSLabel, kMeta, errs);
  for (int i = 0; i < ns.spec().finalizers_size(); ++i) {
    const std::string& f = ns.spec().finalizers(i);
    const Path p = kSpec.Child("finalizers");
    errs.InvalidEach(p, f, IsQualifiedName(f));
    if (f.find('/') == std::string::npos && f != "kubernetes") {
      errs.Invalid(p, f, "name is neither a standard finalizer name nor is it fully qualified");
    }
  }
  const std::string& phase = ns.status().phase();
  if (!phase.empty() && !IsOneOf(phase, {"Active", "Terminating"})) {
    errs.NotSupported(Path("status").Child("phase"), phase, {"Active", "Terminating"});
  }
}

void ValidateNode(const api::Node& node, Errors& errs) {
  ValidateObjectMeta(node.metadata(), false, NameIsDNSSubdomain, kMeta, errs);
  std::set<std::pair<std::string, std::string>> seen;
  for (int i = 0; i < node.spec().taints_size(); ++i) {
    const api::Taint& t = node.spec().taints(i);
    const Path p = kSpec.Child("taints").Index(At(i));
    ValidateLabelName(t.key(), p.Child("key"), errs);
    errs.InvalidEach(p.Child("value"), t.value(), IsValidLabelValue(t.value()));
    if (t.effect().empty()) {
      errs.Required(p.Child("effect"));
    } else if (!IsOneOf(t.effect(), {"NoSchedule", "PreferNoSchedule", "NoExecute"})) {
      errs.NotSupported(p.Child("effect"), t.effect(), {"NoSchedule", "PreferNoSchedule", "NoExecute"});
    }
    if (!seen.insert({t.key(), t.effect()}).second) {
      errs.Invalid(p, t.key() + ":" + t.effect(), "taints must be unique by key and effect pair");
    }
  }
  for (const auto& [name, value] : Sorted(node.status().capacity())) {
    ParseQuantityField(value, Path("status").Child("capacity").Key(name), errs);
  }
  for (const auto& [name, value] : Sorted(node.status().allocatable())) {
    ParseQuantityField(value, Path("status").Child("allocatable").Key(name), errs);
  }
}

void ValidateEndpoints(const api::Endpoints& ep, Errors& errs) {
  ValidateObjectMeta(ep.metadata(), true, NameIsDNSSubdomain, kMeta, errs);
  for (int i = 0; i < ep.subsets_size(); ++i) {
    const api::EndpointSubset& subset = ep.subsets(i);
    const Path sp = Path("subsets").Index(At(i));
    auto check_addresses = [&](const google::protobuf::RepeatedPtrField<api::EndpointAddress>& list,
                               std::string_view field) {
      for (int j = 0; j < list.size(); ++j) {
        if (!IsValidIP(list[j].ip())) {
          errs.Invalid(sp.Child(field).Index(At(j)).Child("ip"), list[j].ip(), "must be a valid IP address");
        }
      }
    };
    check_addresses(subset.addresses(), "addresses");
    check_addresses(subset.not_ready_addresses(), "notReadyAddresses");
    std::set<std::string> names;
    for (int j = 0; j < subset.ports_size(); ++j) {
      ValidateNamedPort(subset.ports(j), subset.ports_size() > 1, names, sp.Child("ports").Index(At(j)), errs);
    }
  }
}

void ValidateEvent(const api::Event& ev, Errors& errs) {
  ValidateObjectMeta(ev.metadata(), true, NameIsDNSSubdomain, kMeta, errs);
  const std::string& involved_ns = ev.involved_object().namespace_();
  if (!involved_ns.empty() && involved_ns != ev.metadata().namespace_()) {
    errs.Invalid(Path("involvedObject").Child("namespace"), involved_ns, "does not match event.namespace");
  }
  if (!ev.type().empty() && !IsOneOf(ev.type(), {"Normal", "Warning"})) {
    errs.NotSupported(Path("type"), ev.type(), {"Normal", "Warning"});
  }
}

void ValidateResourceQuota(const api::ResourceQuota& quota, Errors& errs) {
  ValidateObjectMeta(quota.metadata(), true, NameIsDNSSubdomain, kMeta, errs);
  for (const auto& [name, value] : Sorted(quota.spec().hard())) {
    const Path p = kSpec.Child("hard").Key(name);
    errs.InvalidEach(p, name, IsQualifiedName(name));
    if (!ParseQuantityField(value, p, errs)) continue;
    // Object counts are whole numbers.
    const bool count = name == "pods" || name == "services" || name == "replicationcontrollers" ||
                       name == "resourcequotas" || name == "secrets" || name == "configmaps" ||
                       name == "persistentvolumeclaims" || name == "services.nodeports" ||
                       name == "services.loadbalancers" || name.substr(0, 6) == "count/";
    api::Quantity q;
    if (count && api::Quantity::Parse(value, &q).ok() && q.NanoValue() % 1000000000 != 0) {
      errs.Invalid(p, value, "must be an integer");
    }
  }
  for (int i = 0; i < quota.spec().scopes_size(); ++i) {
    const std::string& scope = quota.spec().scopes(i);
    if (!IsOneOf(scope, {"Terminating", "NotTerminating", "BestEffort", "NotBestEffort", "PriorityClass",
                         "CrossNamespacePodAffinity"})) {
      errs.NotSupported(kSpec.Child("scopes").Index(At(i)), scope,
                        {"BestEffort", "CrossNamespacePodAffinity", "NotBestEffort", "NotTerminating", "PriorityClass",
                         "Terminating"});
    }
  }
}

void ValidateLimitRange(const api::LimitRange& lr, Errors& errs) {
  ValidateObjectMeta(lr.metadata(), true, NameIsDNSSubdomain, kMeta, errs);
  std::set<std::string> types;
  for (int i = 0; i < lr.spec().limits_size(); ++i) {
    const api::LimitRangeItem& item = lr.spec().limits(i);
    const Path p = kSpec.Child("limits").Index(At(i));
    if (!IsOneOf(item.type(), {"Container", "Pod", "PersistentVolumeClaim"})) {
      errs.NotSupported(p.Child("type"), item.type(), {"Container", "PersistentVolumeClaim", "Pod"});
    } else if (!types.insert(item.type()).second) {
      errs.Duplicate(p.Child("type"), item.type());
    }
    const auto max = Sorted(item.max());
    const auto min = Sorted(item.min());
    const auto def = Sorted(item.default_limit());
    const auto def_request = Sorted(item.default_request());
    if (item.type() == "Pod") {
      if (!def.empty()) errs.Forbidden(p.Child("default"), "may not be specified when `type` is 'Pod'");
      if (!def_request.empty()) errs.Forbidden(p.Child("defaultRequest"), "may not be specified when `type` is 'Pod'");
    }
    bool parsed = true;
    for (const auto& [field, values] : {std::pair{"max", &max}, std::pair{"min", &min}, std::pair{"default", &def},
                                        std::pair{"defaultRequest", &def_request}}) {
      for (const auto& [name, value] : *values) parsed = ParseQuantityField(value, p.Child(field).Key(name), errs) && parsed;
    }
    for (const auto& [name, value] : Sorted(item.max_limit_request_ratio())) {
      const Path rp = p.Child("maxLimitRequestRatio").Key(name);
      if (!ParseQuantityField(value, rp, errs)) continue;
      if (CompareQuantities(value, "1").value_or(0) < 0) {
        errs.Invalid(rp, value, "ratio " + CanonicalQuantity(value) + " is less than 1");
      }
    }
    if (!parsed) continue;
    std::set<std::string> names;
    for (const auto* m : {&max, &min, &def, &def_request}) {
      for (const auto& [name, value] : *m) names.insert(name);
    }
    // min <= defaultRequest <= default <= max, each pair that is present.
    auto greater = [](const std::map<std::string, std::string>& a, const std::map<std::string, std::string>& b,
                      const std::string& name) {
      auto ia = a.find(name);
      auto ib = b.find(name);
      return ia != a.end() && ib != b.end() && CompareQuantities(ia->second, ib->second).value_or(0) > 0;
    };
    auto q = [](const std::map<std::string, std::string>& m, const std::string& name) {
      return CanonicalQuantity(m.at(name));
    };
    for (const std::string& name : names) {
      if (greater(min, max, name)) {
        errs.Invalid(p.Child("min").Key(name), q(min, name),
                     "min value " + q(min, name) + " is greater than max value " + q(max, name));
      }
      if (greater(min, def_request, name)) {
        errs.Invalid(p.Child("defaultRequest").Key(name), q(def_request, name),
                     "min value " + q(min, name) + " is greater than default request value " + q(def_request, name));
      }
      if (greater(def_request, max, name)) {
        errs.Invalid(p.Child("defaultRequest").Key(name), q(def_request, name),
                     "default request value " + q(def_request, name) + " is greater than max value " + q(max, name));
      }
      if (greater(def_request, def, name)) {
        errs.Invalid(p.Child("defaultRequest").Key(name), q(def_request, name),
                     "default request value " + q(def_request, name) + " is greater than default limit value " +
                         q(def, name));
      }
      if (greater(min, def, name)) {
        errs.Invalid(p.Child("default").Key(name), q(min, name),
                     "min value " + q(min, name) + " is greater than default value " + q(def, name));
      }
      if (greater(def, max, name)) {
        errs.Invalid(p.Child("default").Key(name), q(def, name),
                     "default value " + q(def, name) + " is greater than max value " + q(max, name));
      }
    }
  }
}

}  // namespace ksim::apiserver
