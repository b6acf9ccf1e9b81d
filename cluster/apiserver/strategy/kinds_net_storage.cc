// EndpointSlice (discovery.k8s.io/v1), Ingress, IngressClass, NetworkPolicy
// (networking.k8s.io/v1), PersistentVolume and StorageClass: Kubernetes' defaults and main
// validation rules.
#include <algorithm>
#include <set>
#include <string>

#include "cluster/apiserver/strategy/more_kinds.h"
#include "cluster/apiserver/strategy/validation.h"

namespace ksim::apiserver {
namespace {

const Path kSpec("spec");
const Path kMeta("metadata");

size_t At(int i) { return static_cast<size_t>(i); }

bool IsIPv6(std::string_view ip) { return ip.find(':') != std::string_view::npos; }

// "10.0.0.0/8" or "fd00::/64": a valid address and a prefix length that fits it.
bool IsValidCIDR(std::string_view cidr) {
  const size_t slash = cidr.find('/');
  if (slash == std::string_view::npos || !IsValidIP(cidr.substr(0, slash))) return false;
  const std::string_view bits = cidr.substr(slash + 1);
  if (bits.empty() || bits.size() > 3) return false;
  int n = 0;
  for (char c : bits) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  return n <= (IsIPv6(cidr.substr(0, slash)) ? 128 : 32);
}

void ValidateProtocol(const std::string& protocol, const Path& path, Errors& errs) {
  if (protocol != "TCP" && protocol != "UDP" && protocol != "SCTP") {
    errs.NotSupported(path, protocol, {"SCTP", "TCP", "UDP"});
  }
}

// "foo.bar.com" or "*.foo.com" (Ingress hosts and TLS hosts).
void ValidateIngressHost(const std::string& host, const Path& path, Errors& errs) {
  if (IsValidIP(host)) {
    errs.Invalid(path, host, "must be a DNS name, not an IP address");
  } else if (host.rfind("*.", 0) == 0) {
    for (const std::string& m : IsDNS1123Subdomain(host.substr(2))) {
      errs.Invalid(path, host, "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain; " + m);
    }
  } else {
    errs.InvalidEach(path, host, IsDNS1123Subdomain(host));
  }
}

void ValidateTypedLocalRef(const api::TypedLocalObjectReference& ref, const Path& path, Errors& errs) {
  if (ref.has_api_group()) errs.InvalidEach(path.Child("apiGroup"), ref.api_group(), IsDNS1123Subdomain(ref.api_group()));
  if (ref.kind().empty()) errs.Required(path.Child("kind"));
  if (ref.name().empty()) errs.Required(path.Child("name"));
}

void ValidateIngressBackend(const api::IngressBackend& b, const Path& path, Errors& errs) {
  if (b.has_resource() && b.has_service()) {
    errs.Invalid(path, "", "cannot set both resource and service backends");
    return;
  }
  if (b.has_resource()) {
    ValidateTypedLocalRef(b.resource(), path.Child("resource"), errs);
    return;
  }
  if (!b.has_service()) {
    errs.Invalid(path, "", "resource or service backend is required");
    return;
  }
  const Path svc = path.Child("service");
  if (b.service().name().empty()) {
    errs.Required(svc.Child("name"));
  } else {
    errs.InvalidEach(svc.Child("name"), b.service().name(), IsDNS1035Label(b.service().name()));
  }
  const api::ServiceBackendPort& port = b.service().port();
  if (!port.name().empty() && port.number() != 0) {
    errs.Invalid(path, "", "cannot set both port name & port number");
  } else if (!port.name().empty()) {
    errs.InvalidEach(svc.Child("port").Child("name"), port.name(), IsValidPortName(port.name()));
  } else if (port.number() != 0) {
    for (const std::string& m : IsValidPortNum(port.number())) errs.Invalid(svc.Child("port").Child("number"), port.number(), m);
  } else {
    errs.Required(svc.Child("port"), "port name or number is required");
  }
}

void ValidateHTTPIngressPath(const api::HTTPIngressPath& p, const Path& path, Errors& errs) {
  const Path pp = path.Child("path");
  if (!p.has_path_type()) {
    errs.Required(path.Child("pathType"), "pathType must be specified");
  } else if (p.path_type() == "Exact" || p.path_type() == "Prefix") {
    if (p.path().empty() || p.path()[0] != '/') errs.Invalid(pp, p.path(), "must be an absolute path");
    for (std::string_view seq : {"//", "/./", "/../", "%2f", "%2F"}) {
      if (p.path().find(seq) != std::string::npos) errs.Invalid(pp, p.path(), "must not contain '" + std::string(seq) + "'");
    }
    for (std::string_view suffix : {"/..", "/."}) {
      if (p.path().size() >= suffix.size() && p.path().compare(p.path().size() - suffix.size(), suffix.size(), suffix) == 0) {
        errs.Invalid(pp, p.path(), "cannot end with '" + std::string(suffix) + "'");
      }
    }
  } else if (p.path_type() == "ImplementationSpecific") {
    if (!p.path().empty() && p.path()[0] != '/') errs.Invalid(pp, p.path(), "must be an absolute path");
  } else {
    errs.NotSupported(path.Child("pathType"), p.path_type(), {"Exact", "ImplementationSpecific", "Prefix"});
  }
  ValidateIngressBackend(p.backend(), path.Child("backend"), errs);
}

void ValidatePeer(const api::NetworkPolicyPeer& peer, const Path& path, Errors& errs) {
  const size_t kinds = SetSources(peer).size();
  if (kinds == 0) {
    errs.Required(path, "must specify a peer");
  } else if (peer.has_ip_block() && kinds > 1) {
    errs.Forbidden(path, "may not specify both ipBlock and another peer");
  }
  if (peer.has_pod_selector()) ValidateLabelSelector(peer.pod_selector(), path.Child("podSelector"), errs);
  if (peer.has_namespace_selector()) ValidateLabelSelector(peer.namespace_selector(), path.Child("namespaceSelector"), errs);
  if (peer.has_ip_block()) {
    const Path ip = path.Child("ipBlock");
    const api::IPBlock& b = peer.ip_block();
    if (b.cidr().empty()) {
      errs.Required(ip.Child("cidr"));
    } else if (!IsValidCIDR(b.cidr())) {
      errs.Invalid(ip.Child("cidr"), b.cidr(), "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)");
    }
    for (int i = 0; i < b.except_size(); ++i) {
      if (!IsValidCIDR(b.except(i))) {
        errs.Invalid(ip.Child("except").Index(At(i)), b.except(i),
                     "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)");
      }
    }
  }
}

void ValidateNetworkPolicyPort(const api::NetworkPolicyPort& port, const Path& path, Errors& errs) {
  if (port.has_protocol()) ValidateProtocol(port.protocol(), path.Child("protocol"), errs);
  if (port.has_port()) {
    if (port.port().has_int_val()) {
      for (const std::string& m : IsValidPortNum(port.port().int_val())) errs.Invalid(path.Child("port"), port.port().int_val(), m);
      if (port.has_end_port()) {
        if (port.end_port() < port.port().int_val()) {
          errs.Invalid(path.Child("endPort"), port.end_port(), "must be greater than or equal to `port`");
        }
        for (const std::string& m : IsValidPortNum(port.end_port())) errs.Invalid(path.Child("endPort"), port.end_port(), m);
      }
    } else {
      if (port.has_end_port()) errs.Invalid(path.Child("endPort"), port.end_port(), "may not be specified when `port` is non-numeric");
      errs.InvalidEach(path.Child("port"), port.port().str_val(), IsValidPortName(port.port().str_val()));
    }
  } else if (port.has_end_port()) {
    errs.Invalid(path.Child("endPort"), port.end_port(), "may not be specified when `port` is not specified");
  }
}

void ValidateAccessModes(const google::protobuf::RepeatedPtrField<std::string>& modes, const Path& path, Errors& errs) {
  if (modes.empty()) errs.Required(path);
  for (const std::string& m : modes) {
    if (m != "ReadWriteOnce" && m != "ReadOnlyMany" && m != "ReadWriteMany" && m != "ReadWriteOncePod") {
      errs.NotSupported(path, m, {"ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"});
    }
  }
  if (modes.size() > 1 && std::find(modes.begin(), modes.end(), "ReadWriteOncePod") != modes.end()) {
    errs.Forbidden(path, "may not use ReadWriteOncePod with other access modes");
  }
}

// The spec fields of a PersistentVolume that are not volume sources.
const std::vector<std::string_view>& PvNonSources() {
  static const std::vector<std::string_view> kSkip = {"claimRef", "nodeAffinity"};
  return kSkip;
}

}  // namespace

// ---------------------------------------------------------------- EndpointSlice

void DefaultEndpointSlice(api::EndpointSlice& slice) {
  for (api::EndpointSlicePort& port : *slice.mutable_ports()) {
    if (!port.has_name()) port.set_name("");
    if (!port.has_protocol()) port.set_protocol("TCP");
  }
}

void ValidateEndpointSlice(const api::EndpointSlice& slice, Errors& errs) {
  ValidateObjectMeta(slice.metadata(), true, NameIsDNSSubdomain, kMeta, errs);
  const std::string& type = slice.address_type();
  const Path type_path("addressType");
  if (type.empty()) {
    errs.Required(type_path);
  } else if (type != "IPv4" && type != "IPv6" && type != "FQDN") {
    errs.NotSupported(type_path, type, {"FQDN", "IPv4", "IPv6"});
  }
  for (int i = 0; i < slice.endpoints_size(); ++i) {
    const api::Endpoint& ep = slice.endpoints(i);
    const Path p = Path("endpoints").Index(At(i));
    if (ep.addresses().empty()) errs.Required(p.Child("addresses"), "must contain at least 1 address");
    for (int j = 0; j < ep.addresses_size(); ++j) {
      const std::string& a = ep.addresses(j);
      const Path ap = p.Child("addresses").Index(At(j));
      if (type == "IPv4" && (!IsValidIP(a) || IsIPv6(a))) errs.Invalid(ap, a, "must be a valid IPv4 address");
      if (type == "IPv6" && (!IsValidIP(a) || !IsIPv6(a))) errs.Invalid(ap, a, "must be a valid IPv6 address");
      if (type == "FQDN") errs.InvalidEach(ap, a, IsDNS1123Subdomain(a));
    }
    if (ep.has_hostname()) errs.InvalidEach(p.Child("hostname"), ep.hostname(), IsDNS1123Label(ep.hostname()));
    if (ep.has_node_name()) errs.InvalidEach(p.Child("nodeName"), ep.node_name(), IsDNS1123Subdomain(ep.node_name()));
    ValidateLabels(ep.deprecated_topology(), p.Child("deprecatedTopology"), errs);
  }
  std::set<std::string> names;
  for (int i = 0; i < slice.ports_size(); ++i) {
    const api::EndpointSlicePort& port = slice.ports(i);
    const Path p = Path("ports").Index(At(i));
    if (!port.name().empty()) {
      errs.InvalidEach(p.Child("name"), port.name(), IsDNS1123Label(port.name()));
    }
    if (!names.insert(port.name()).second) errs.Duplicate(p.Child("name"), port.name());
    if (!port.has_protocol()) {
      errs.Required(p.Child("protocol"));
    } else {
      ValidateProtocol(port.protocol(), p.Child("protocol"), errs);
    }
    if (port.has_port()) {
      for (const std::string& m : IsValidPortNum(port.port())) errs.Invalid(p.Child("port"), port.port(), m);
    }
    if (port.has_app_protocol()) errs.InvalidEach(p.Child("appProtocol"), port.app_protocol(), IsQualifiedName(port.app_protocol()));
  }
}

void ValidateEndpointSliceUpdate(const api::EndpointSlice& slice, const api::EndpointSlice& old, Errors& errs) {
  ValidateObjectMetaUpdate(slice.metadata(), old.metadata(), kMeta, errs);
  if (slice.address_type() != old.address_type()) errs.Invalid(Path("addressType"), slice.address_type(), kImmutable);
}

// ---------------------------------------------------------------- Ingress, IngressClass

void ValidateIngress(const api::Ingress& ing, Errors& errs) {
  ValidateObjectMeta(ing.metadata(), true, NameIsDNSSubdomain, kMeta, errs);
  const api::IngressSpec& spec = ing.spec();
  if (spec.rules().empty() && !spec.has_default_backend()) {
    errs.InvalidShown(kSpec.Child("rules"), "[]networking.IngressRule(nil)", "either `defaultBackend` or `rules` must be specified");
  }
  if (spec.has_default_backend()) ValidateIngressBackend(spec.default_backend(), kSpec.Child("defaultBackend"), errs);
  if (spec.has_ingress_class_name()) {
    errs.InvalidEach(kSpec.Child("ingressClassName"), spec.ingress_class_name(), IsDNS1123Subdomain(spec.ingress_class_name()));
  }
  for (int i = 0; i < spec.rules_size(); ++i) {
    const api::IngressRule& rule = spec.rules(i);
    const Path p = kSpec.Child("rules").Index(At(i));
    if (!rule.host().empty()) ValidateIngressHost(rule.host(), p.Child("host"), errs);
    if (rule.has_http()) {
      if (rule.http().paths().empty()) errs.Required(p.Child("http").Child("paths"));
      for (int j = 0; j < rule.http().paths_size(); ++j) {
        ValidateHTTPIngressPath(rule.http().paths(j), p.Child("http").Child("paths").Index(At(j)), errs);
      }
    }
  }
  for (int i = 0; i < spec.tls_size(); ++i) {
    const Path p = kSpec.Child("tls").Index(At(i));
    for (int j = 0; j < spec.tls(i).hosts_size(); ++j) ValidateIngressHost(spec.tls(i).hosts(j), p.Child("hosts").Index(At(j)), errs);
    if (!spec.tls(i).secret_name().empty()) {
      errs.InvalidEach(p.Child("secretName"), spec.tls(i).secret_name(), IsDNS1123Subdomain(spec.tls(i).secret_name()));
    }
  }
}

void DefaultIngressClass(api::IngressClass& ic) {
  if (ic.spec().has_parameters() && !ic.spec().parameters().has_scope()) {
    ic.mutable_spec()->mutable_parameters()->set_scope("Cluster");
  }
}

void ValidateIngressClass(const api::IngressClass& ic, Errors& errs) {
  ValidateObjectMeta(ic.metadata(), false, NameIsDNSSubdomain, kMeta, errs);
  const Path controller = kSpec.Child("controller");
  const std::string& c = ic.spec().controller();
  if (c.empty()) {
    errs.Required(controller);
  } else if (c.size() > 250) {
    errs.TooLong(controller, 250);
  } else if (size_t slash = c.find('/'); slash == std::string::npos || slash == 0 ||
                                          !IsDNS1123Subdomain(c.substr(0, slash)).empty() || slash + 1 == c.size()) {
    errs.Invalid(controller, c, "must be a domain-prefixed path (such as \"acme.io/foo\")");
  }
  if (!ic.spec().has_parameters()) return;
  const api::IngressClassParametersReference& params = ic.spec().parameters();
  const Path p = kSpec.Child("parameters");
  if (params.has_api_group()) errs.InvalidEach(p.Child("apiGroup"), params.api_group(), IsDNS1123Subdomain(params.api_group()));
  if (params.kind().empty()) errs.Required(p.Child("kind"));
  if (params.name().empty()) errs.Required(p.Child("name"));
  if (params.has_scope()) {
    if (params.scope() == "Namespace") {
      if (!params.has_namespace_()) {
        errs.Required(p.Child("namespace"), "`parameters.scope` is set to 'Namespace'");
      } else {
        errs.InvalidEach(p.Child("namespace"), params.namespace_(), IsDNS1123Label(params.namespace_()));
      }
    } else if (params.scope() == "Cluster") {
      if (params.has_namespace_()) errs.Forbidden(p.Child("namespace"), "`parameters.scope` is set to 'Cluster'");
    } else {
      errs.NotSupported(p.Child("scope"), params.scope(), {"Cluster", "Namespace"});
    }
  }
}

void ValidateIngressClassUpdate(const api::IngressClass& ic, const api::IngressClass& old, Errors& errs) {
  ValidateObjectMetaUpdate(ic.metadata(), old.metadata(), kMeta, errs);
  if (ic.spec().controller() != old.spec().controller()) {
    errs.Invalid(kSpec.Child("controller"), ic.spec().controller(), kImmutable);
  }
}

// ---------------------------------------------------------------- NetworkPolicy

void DefaultNetworkPolicy(api::NetworkPolicy& np) {
  api::NetworkPolicySpec& spec = *np.mutable_spec();
  for (auto& rule : *spec.mutable_ingress()) {
    for (auto& port : *rule.mutable_ports()) {
      if (!port.has_protocol()) port.set_protocol("TCP");
    }
  }
  for (auto& rule : *spec.mutable_egress()) {
    for (auto& port : *rule.mutable_ports()) {
      if (!port.has_protocol()) port.set_protocol("TCP");
    }
  }
  if (spec.policy_types().empty()) {
    spec.add_policy_types("Ingress");
    if (!spec.egress().empty()) spec.add_policy_types("Egress");
  }
}

void ValidateNetworkPolicy(const api::NetworkPolicy& np, Errors& errs) {
  ValidateObjectMeta(np.metadata(), true, NameIsDNSSubdomain, kMeta, errs);
  const api::NetworkPolicySpec& spec = np.spec();
  ValidateLabelSelector(spec.pod_selector(), kSpec.Child("podSelector"), errs);
  for (int i = 0; i < spec.ingress_size(); ++i) {
    const Path p = kSpec.Child("ingress").Index(At(i));
    for (int j = 0; j < spec.ingress(i).ports_size(); ++j) {
      ValidateNetworkPolicyPort(spec.ingress(i).ports(j), p.Child("ports").Index(At(j)), errs);
    }
    for (int j = 0; j < spec.ingress(i).from_size(); ++j) ValidatePeer(spec.ingress(i).from(j), p.Child("from").Index(At(j)), errs);
  }
  for (int i = 0; i < spec.egress_size(); ++i) {
    const Path p = kSpec.Child("egress").Index(At(i));
    for (int j = 0; j < spec.egress(i).ports_size(); ++j) {
      ValidateNetworkPolicyPort(spec.egress(i).ports(j), p.Child("ports").Index(At(j)), errs);
    }
    for (int j = 0; j < spec.egress(i).to_size(); ++j) ValidatePeer(spec.egress(i).to(j), p.Child("to").Index(At(j)), errs);
  }
  std::set<std::string> seen;
  for (int i = 0; i < spec.policy_types_size(); ++i) {
    const std::string& t = spec.policy_types(i);
    const Path p = kSpec.Child("policyTypes").Index(At(i));
    if (t != "Ingress" && t != "Egress") {
      errs.NotSupported(p, t, {"Egress", "Ingress"});
    } else if (!seen.insert(t).second) {
      errs.Duplicate(p, t);
    }
  }
}

// ---------------------------------------------------------------- PersistentVolume

void DefaultPersistentVolume(api::PersistentVolume& pv) {
  api::PersistentVolumeSpec& spec = *pv.mutable_spec();
  if (spec.persistent_volume_reclaim_policy().empty()) spec.set_persistent_volume_reclaim_policy("Retain");
  if (!spec.has_volume_mode()) spec.set_volume_mode("Filesystem");
  if (pv.status().phase().empty()) pv.mutable_status()->set_phase("Pending");
}

void ValidatePersistentVolume(const api::PersistentVolume& pv, Errors& errs) {
  ValidateObjectMeta(pv.metadata(), false, NameIsDNSSubdomain, kMeta, errs);
  const api::PersistentVolumeSpec& spec = pv.spec();
  const Path capacity = kSpec.Child("capacity");
  if (spec.capacity().empty()) errs.Required(capacity);
  for (const auto& [name, value] : Sorted(spec.capacity())) {
    if (name != "storage") {
      errs.NotSupported(capacity, name, {"storage"});
    } else if (ParseQuantityField(value, capacity.Key(name), errs) && CompareQuantities(value, "0") == 0) {
      errs.Invalid(capacity.Key(name), value, kPositive);
    }
  }
  ValidateAccessModes(spec.access_modes(), kSpec.Child("accessModes"), errs);
  const std::string& reclaim = spec.persistent_volume_reclaim_policy();
  if (!reclaim.empty() && reclaim != "Retain" && reclaim != "Delete" && reclaim != "Recycle") {
    errs.NotSupported(kSpec.Child("persistentVolumeReclaimPolicy"), reclaim, {"Delete", "Recycle", "Retain"});
  }
  if (!spec.storage_class_name().empty()) {
    errs.InvalidEach(kSpec.Child("storageClassName"), spec.storage_class_name(), IsDNS1123Subdomain(spec.storage_class_name()));
  }
  if (spec.has_volume_mode() && spec.volume_mode() != "Block" && spec.volume_mode() != "Filesystem") {
    errs.NotSupported(kSpec.Child("volumeMode"), spec.volume_mode(), {"Block", "Filesystem"});
  }
  const std::vector<std::string_view> sources = SetSources(spec, PvNonSources());
  if (sources.empty()) errs.Required(kSpec, "must specify a volume type");
  for (size_t i = 1; i < sources.size(); ++i) errs.Forbidden(kSpec.Child(sources[i]), "may not specify more than 1 volume type");
  if (spec.has_host_path() && spec.host_path().path().empty()) errs.Required(kSpec.Child("hostPath").Child("path"));
  if (spec.has_nfs()) {
    if (spec.nfs().server().empty()) errs.Required(kSpec.Child("nfs").Child("server"));
    if (spec.nfs().path().empty()) {
      errs.Required(kSpec.Child("nfs").Child("path"));
    } else if (spec.nfs().path()[0] != '/') {
      errs.Invalid(kSpec.Child("nfs").Child("path"), spec.nfs().path(), "must be an absolute path");
    }
  }
  if (spec.has_local()) {
    if (spec.local().path().empty()) errs.Required(kSpec.Child("local").Child("path"));
    if (!spec.has_node_affinity()) errs.Required(kSpec.Child("nodeAffinity"), "Local volume requires node affinity");
  }
  if (spec.has_csi()) {
    if (spec.csi().driver().empty()) errs.Required(kSpec.Child("csi").Child("driver"));
    if (spec.csi().volume_handle().empty()) errs.Required(kSpec.Child("csi").Child("volumeHandle"));
  }
  if (spec.has_node_affinity() && !spec.node_affinity().has_required()) {
    errs.Required(kSpec.Child("nodeAffinity").Child("required"), "must specify required node constraints");
  }
}

void ValidatePersistentVolumeUpdate(const api::PersistentVolume& pv, const api::PersistentVolume& old, Errors& errs) {
  ValidateObjectMetaUpdate(pv.metadata(), old.metadata(), kMeta, errs);
  // The source (every spec field that is a volume source) may not change.
  api::PersistentVolumeSpec a = pv.spec();
  api::PersistentVolumeSpec b = old.spec();
  for (api::PersistentVolumeSpec* s : {&a, &b}) {
    s->clear_capacity();
    s->clear_access_modes();
    s->clear_claim_ref();
    s->clear_persistent_volume_reclaim_policy();
    s->clear_storage_class_name();
    s->clear_mount_options();
    s->clear_volume_mode();
    s->clear_node_affinity();
    s->clear_volume_attributes_class_name();
  }
  if (!SameMessage(a, b)) {
    errs.Forbidden(kSpec.Child("persistentvolumesource"), "spec.persistentvolumesource is immutable after creation");
  }
  if (pv.spec().has_volume_mode() != old.spec().has_volume_mode() || pv.spec().volume_mode() != old.spec().volume_mode()) {
    errs.Invalid(kSpec.Child("volumeMode"), pv.spec().volume_mode(), kImmutable);
  }
}

// ---------------------------------------------------------------- StorageClass

void DefaultStorageClass(api::StorageClass& sc) {
  if (!sc.has_reclaim_policy()) sc.set_reclaim_policy("Delete");
  if (!sc.has_volume_binding_mode()) sc.set_volume_binding_mode("Immediate");
}

void ValidateStorageClass(const api::StorageClass& sc, Errors& errs) {
  ValidateObjectMeta(sc.metadata(), false, NameIsDNSSubdomain, kMeta, errs);
  if (sc.provisioner().empty()) {
    errs.Required(Path("provisioner"));
  } else {
    errs.InvalidEach(Path("provisioner"), sc.provisioner(), IsQualifiedName(sc.provisioner()));
  }
  size_t bytes = 0;
  for (const auto& [k, v] : Sorted(sc.parameters())) {
    if (k.empty()) errs.Invalid(Path("parameters"), k, "Parameter keys cannot be empty");
    bytes += k.size() + v.size();
  }
  if (sc.parameters_size() > 512) {
    errs.InvalidShown(Path("parameters"), std::to_string(sc.parameters_size()) + " parameters",
                      "must have at most 512 parameters");
  }
  if (bytes > 256 * 1024) errs.TooLong(Path("parameters"), 256 * 1024);
  if (sc.has_reclaim_policy() && sc.reclaim_policy() != "Delete" && sc.reclaim_policy() != "Retain") {
    errs.NotSupported(Path("reclaimPolicy"), sc.reclaim_policy(), {"Delete", "Retain"});
  }
  if (sc.has_volume_binding_mode() && sc.volume_binding_mode() != "Immediate" &&
      sc.volume_binding_mode() != "WaitForFirstConsumer") {
    errs.NotSupported(Path("volumeBindingMode"), sc.volume_binding_mode(), {"Immediate", "WaitForFirstConsumer"});
  }
  for (int i = 0; i < sc.allowed_topologies_size(); ++i) {
    const Path p = Path("allowedTopologies").Index(At(i));
    const auto& term = sc.allowed_topologies(i);
    if (term.match_label_expressions().empty()) errs.Required(p.Child("matchLabelExpressions"), "must have at least one label requirement");
    for (int j = 0; j < term.match_label_expressions_size(); ++j) {
      const auto& req = term.match_label_expressions(j);
      const Path rp = p.Child("matchLabelExpressions").Index(At(j));
      ValidateLabelName(req.key(), rp.Child("key"), errs);
      if (req.values().empty()) errs.Required(rp.Child("values"), "must specify as least one value");
    }
  }
}

void ValidateStorageClassUpdate(const api::StorageClass& sc, const api::StorageClass& old, Errors& errs) {
  ValidateObjectMetaUpdate(sc.metadata(), old.metadata(), kMeta, errs);
  if (!SameMessage(sc, old) && Sorted(sc.parameters()) != Sorted(old.parameters())) {
    errs.Forbidden(Path("parameters"), "updates to parameters are forbidden.");
  }
  if (sc.provisioner() != old.provisioner()) errs.Forbidden(Path("provisioner"), "updates to provisioner are forbidden.");
  if (sc.reclaim_policy() != old.reclaim_policy()) {
    errs.Forbidden(Path("reclaimPolicy"), "updates to reclaimPolicy are forbidden.");
  }
  if (sc.volume_binding_mode() != old.volume_binding_mode()) {
    errs.Invalid(Path("volumeBindingMode"), sc.volume_binding_mode(), kImmutable);
  }
}

}  // namespace ksim::apiserver
