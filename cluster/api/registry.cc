#include "cluster/api/registry.h"

#include <algorithm>
#include <cctype>
#include <tuple>

#include "cluster/api/apps.pb.h"
#include "cluster/api/authentication.pb.h"
#include "cluster/api/autoscaling.pb.h"
#include "cluster/api/metrics.pb.h"
#include "cluster/api/batch.pb.h"
#include "cluster/api/certificates.pb.h"
#include "cluster/api/coordination.pb.h"
#include "cluster/api/core.pb.h"
#include "cluster/api/discovery.pb.h"
#include "cluster/api/meta.pb.h"
#include "cluster/api/networking.pb.h"
#include "cluster/api/policy.pb.h"
#include "cluster/api/rbac.pb.h"
#include "cluster/api/scheduling.pb.h"
#include "cluster/api/storage.pb.h"

namespace ksim::api {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

template <typename T>
KindInfo Kind(std::string group, std::string kind, std::string resource, bool namespaced,
              std::vector<std::string> short_names = {}, std::string version = "v1") {
  KindInfo info;
  info.group = std::move(group);
  info.version = std::move(version);
  info.kind = std::move(kind);
  info.resource = std::move(resource);
  info.namespaced = namespaced;
  info.short_names = std::move(short_names);
  info.descriptor = T::descriptor();
  info.prototype = &T::default_instance();
  return info;
}

constexpr bool kNamespaced = true;
constexpr bool kClusterScoped = false;

}  // namespace

std::string KindInfo::ApiVersion() const { return group.empty() ? version : group + "/" + version; }

std::string KindInfo::Singular() const { return Lower(kind); }

std::unique_ptr<google::protobuf::Message> KindInfo::New() const {
  return std::unique_ptr<google::protobuf::Message>(prototype->New());
}

std::pair<std::string, std::string> SplitApiVersion(std::string_view api_version) {
  size_t slash = api_version.find('/');
  if (slash == std::string_view::npos) return {"", std::string(api_version)};
  return {std::string(api_version.substr(0, slash)), std::string(api_version.substr(slash + 1))};
}

const Registry& Registry::Default() {
  static const Registry* const registry = [] {
    auto* r = new Registry();
    const std::string core;
    const std::string apps = "apps";
    const std::string batch = "batch";
    const std::string coordination = "coordination.k8s.io";
    const std::string rbac = "rbac.authorization.k8s.io";
    const std::string certificates = "certificates.k8s.io";
    const std::string scheduling = "scheduling.k8s.io";
    const std::string autoscaling = "autoscaling";
    const std::string policy = "policy";
    const std::string discovery = "discovery.k8s.io";
    const std::string networking = "networking.k8s.io";
    const std::string storage = "storage.k8s.io";
    const std::string metrics = "metrics.k8s.io";
    const std::string authentication = "authentication.k8s.io";
    std::vector<KindInfo> kinds = {
        Kind<Namespace>(core, "Namespace", "namespaces", kClusterScoped, {"ns"}),
        Kind<Node>(core, "Node", "nodes", kClusterScoped, {"no"}),
        Kind<Pod>(core, "Pod", "pods", kNamespaced, {"po"}),
        Kind<Service>(core, "Service", "services", kNamespaced, {"svc"}),
        Kind<Endpoints>(core, "Endpoints", "endpoints", kNamespaced, {"ep"}),
        Kind<ConfigMap>(core, "ConfigMap", "configmaps", kNamespaced, {"cm"}),
        Kind<Secret>(core, "Secret", "secrets", kNamespaced),
        Kind<ServiceAccount>(core, "ServiceAccount", "serviceaccounts", kNamespaced, {"sa"}),
        Kind<ResourceQuota>(core, "ResourceQuota", "resourcequotas", kNamespaced, {"quota"}),
        Kind<LimitRange>(core, "LimitRange", "limitranges", kNamespaced, {"limits"}),
        Kind<Event>(core, "Event", "events", kNamespaced, {"ev"}),
        Kind<Binding>(core, "Binding", "bindings", kNamespaced),
        Kind<ReplicationController>(core, "ReplicationController", "replicationcontrollers", kNamespaced,
                                    {"rc"}),
        Kind<PersistentVolumeClaim>(core, "PersistentVolumeClaim", "persistentvolumeclaims", kNamespaced,
                                    {"pvc"}),
        Kind<PersistentVolume>(core, "PersistentVolume", "persistentvolumes", kClusterScoped, {"pv"}),
        // The apiserver's error body: decodable and encodable, but not a resource.
        Kind<ApiStatus>(core, "Status", "", kClusterScoped),
        Kind<Deployment>(apps, "Deployment", "deployments", kNamespaced, {"deploy"}),
        Kind<ReplicaSet>(apps, "ReplicaSet", "replicasets", kNamespaced, {"rs"}),
        Kind<StatefulSet>(apps, "StatefulSet", "statefulsets", kNamespaced, {"sts"}),
        Kind<DaemonSet>(apps, "DaemonSet", "daemonsets", kNamespaced, {"ds"}),
        Kind<ControllerRevision>(apps, "ControllerRevision", "controllerrevisions", kNamespaced),
        Kind<Job>(batch, "Job", "jobs", kNamespaced),
        Kind<CronJob>(batch, "CronJob", "cronjobs", kNamespaced, {"cj"}),
        Kind<PodDisruptionBudget>(policy, "PodDisruptionBudget", "poddisruptionbudgets", kNamespaced, {"pdb"}),
        Kind<EndpointSlice>(discovery, "EndpointSlice", "endpointslices", kNamespaced),
        Kind<Ingress>(networking, "Ingress", "ingresses", kNamespaced, {"ing"}),
        Kind<IngressClass>(networking, "IngressClass", "ingressclasses", kClusterScoped),
        Kind<NetworkPolicy>(networking, "NetworkPolicy", "networkpolicies", kNamespaced, {"netpol"}),
        Kind<StorageClass>(storage, "StorageClass", "storageclasses", kClusterScoped, {"sc"}),
        Kind<HorizontalPodAutoscaler>(autoscaling, "HorizontalPodAutoscaler", "horizontalpodautoscalers",
                                      kNamespaced, {"hpa"}, "v2"),
        Kind<Lease>(coordination, "Lease", "leases", kNamespaced),
        Kind<Role>(rbac, "Role", "roles", kNamespaced),
        Kind<ClusterRole>(rbac, "ClusterRole", "clusterroles", kClusterScoped),
        Kind<RoleBinding>(rbac, "RoleBinding", "rolebindings", kNamespaced),
        Kind<ClusterRoleBinding>(rbac, "ClusterRoleBinding", "clusterrolebindings", kClusterScoped),
        Kind<CertificateSigningRequest>(certificates, "CertificateSigningRequest", "certificatesigningrequests",
                                        kClusterScoped, {"csr"}),
        Kind<PriorityClass>(scheduling, "PriorityClass", "priorityclasses", kClusterScoped, {"pc"}),
        // Computed from the kubelets on each read (get, list), never stored.
        Kind<PodMetrics>(metrics, "PodMetrics", "pods", kNamespaced, {}, "v1beta1"),
        Kind<NodeMetrics>(metrics, "NodeMetrics", "nodes", kClusterScoped, {}, "v1beta1"),
        // The scale subresource's body: not a resource of its own.
        Kind<Scale>(autoscaling, "Scale", "", kNamespaced),
        // The eviction subresource's body: not a resource of its own.
        Kind<Eviction>(policy, "Eviction", "", kNamespaced),
        // The serviceaccounts/token subresource's body: not a resource of its own.
        Kind<TokenRequest>(authentication, "TokenRequest", "", kNamespaced),
    };
    for (KindInfo& k : kinds) r->Add(std::move(k));
    return r;
  }();
  return *registry;
}

bool Registry::Add(KindInfo info) {
  if (by_group_kind_.count({info.group, info.kind}) != 0) return false;
  if (!info.resource.empty() && by_group_resource_.count({info.group, info.resource}) != 0) return false;
  if (by_type_name_.count(info.descriptor->full_name()) != 0) return false;
  kinds_.push_back(std::move(info));
  Reindex();
  return true;
}

void Registry::Reindex() {
  std::sort(kinds_.begin(), kinds_.end(), [](const KindInfo& a, const KindInfo& b) {
    return std::tie(a.group, a.kind) < std::tie(b.group, b.kind);
  });
  by_group_kind_.clear();
  by_group_resource_.clear();
  by_type_name_.clear();
  for (size_t i = 0; i < kinds_.size(); ++i) {
    const KindInfo& k = kinds_[i];
    by_group_kind_[{k.group, k.kind}] = i;
    if (!k.resource.empty()) by_group_resource_[{k.group, k.resource}] = i;
    by_type_name_[k.descriptor->full_name()] = i;
  }
}

const KindInfo* Registry::ByApiVersionKind(std::string_view api_version, std::string_view kind) const {
  auto [group, version] = SplitApiVersion(api_version);
  auto it = by_group_kind_.find({group, std::string(kind)});
  if (it == by_group_kind_.end()) return nullptr;
  const KindInfo& info = kinds_[it->second];
  return info.version == version ? &info : nullptr;
}

const KindInfo* Registry::ByGroupResource(std::string_view group, std::string_view resource) const {
  auto it = by_group_resource_.find({std::string(group), std::string(resource)});
  return it == by_group_resource_.end() ? nullptr : &kinds_[it->second];
}

const KindInfo* Registry::ByDescriptor(const google::protobuf::Descriptor* descriptor) const {
  if (descriptor == nullptr) return nullptr;
  auto it = by_type_name_.find(descriptor->full_name());
  return it == by_type_name_.end() ? nullptr : &kinds_[it->second];
}

const KindInfo* Registry::ByName(std::string_view name) const {
  // "deployments.apps" names the group after the first dot; a bare name matches any group.
  std::string bare(name);
  std::string group;
  bool group_given = false;
  if (size_t dot = name.find('.'); dot != std::string_view::npos) {
    bare = std::string(name.substr(0, dot));
    group = std::string(name.substr(dot + 1));
    group_given = true;
  }
  const std::string lower = Lower(bare);
  const KindInfo* found = nullptr;
  for (const KindInfo& k : kinds_) {
    if (k.resource.empty()) continue;
    if (group_given && k.group != group) continue;
    bool matches = k.resource == lower || k.Singular() == lower || k.kind == bare ||
                   std::find(k.short_names.begin(), k.short_names.end(), lower) != k.short_names.end();
    if (!matches) continue;
    // A bare name in the core group and another wins for the core group, as kubectl's
    // group priority makes `pods` mean core pods, not metrics.k8s.io's PodMetrics.
    if (found != nullptr && found->group.empty() != k.group.empty()) {
      if (k.group.empty()) found = &k;
      continue;
    }
    if (found != nullptr) return nullptr;  // ambiguous across groups
    found = &k;
  }
  return found;
}

}  // namespace ksim::api
