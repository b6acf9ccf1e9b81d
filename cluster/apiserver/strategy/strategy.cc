// Dispatch by kind: which defaults and validators each registered kind gets.
#include "cluster/apiserver/strategy/strategy.h"

#include "cluster/api/codec.h"
#include "cluster/apiserver/strategy/message_cast.h"
#include "cluster/apiserver/strategy/more_kinds.h"
#include "cluster/apiserver/strategy/validation.h"

namespace ksim::apiserver {
namespace {

using google::protobuf::Message;

struct KindStrategy {
  void (*defaults)(Message&) = nullptr;
  // Rules for the object alone, checked on create and on update.
  void (*validate)(const Message&, Errors&) = nullptr;
  // Extra rules only a new object must follow.
  void (*validate_create)(const Message&, Errors&) = nullptr;
  // What may not change between old and new (the metadata rules included).
  void (*validate_update)(const Message& obj, const Message& old, Errors&) = nullptr;
};

void MetaUpdateOnly(const Message& obj, const Message& old, Errors& errs) {
  const api::ObjectMeta* meta = api::GetMeta(obj);
  const api::ObjectMeta* old_meta = api::GetMeta(old);
  if (meta != nullptr && old_meta != nullptr) ValidateObjectMetaUpdate(*meta, *old_meta, Path("metadata"), errs);
}

// RoleBinding and ClusterRoleBinding share their defaults and update rule.
template <typename T>
void DefaultBinding(Message& m) {
  T& binding = AsMutable<T>(m);
  DefaultRoleBinding(*binding.mutable_role_ref(), *binding.mutable_subjects());
}
template <typename T>
void BindingUpdate(const Message& m, const Message& old, Errors& errs) {
  MetaUpdateOnly(m, old, errs);
  ValidateRoleBindingUpdate(As<T>(m).role_ref(), As<T>(old).role_ref(), errs);
}

template <typename T>
void AddKind(std::map<std::string, KindStrategy>& table, KindStrategy s) {
  table[T::descriptor()->full_name()] = s;
}

// Adapters from the typed functions to the table's Message signatures.
#define KSIM_VALIDATE(T, fn) [](const Message& m, Errors& e) { fn(As<T>(m), e); }
#define KSIM_UPDATE(T, fn)                                                  \
  [](const Message& m, const Message& o, Errors& e) {                       \
    fn(As<T>(m), As<T>(o), e);                                              \
  }
#define KSIM_DEFAULTS(T, fn) [](Message& m) { fn(AsMutable<T>(m)); }

const std::map<std::string, KindStrategy>& Strategies() {
  static const std::map<std::string, KindStrategy>* const table = [] {
    auto* t = new std::map<std::string, KindStrategy>();
    AddKind<api::Pod>(*t, {KSIM_DEFAULTS(api::Pod, DefaultPod), KSIM_VALIDATE(api::Pod, ValidatePod),
                           KSIM_VALIDATE(api::Pod, ValidatePodCreateOnly),
                           KSIM_UPDATE(api::Pod, ValidatePodUpdate)});
    AddKind<api::Binding>(*t, {nullptr, KSIM_VALIDATE(api::Binding, ValidateBinding), nullptr, MetaUpdateOnly});
    AddKind<api::ReplicationController>(
        *t, {KSIM_DEFAULTS(api::ReplicationController, DefaultReplicationController),
             KSIM_VALIDATE(api::ReplicationController, ValidateReplicationController), nullptr, MetaUpdateOnly});
    AddKind<api::ReplicaSet>(*t, {KSIM_DEFAULTS(api::ReplicaSet, DefaultReplicaSet),
                                  KSIM_VALIDATE(api::ReplicaSet, ValidateReplicaSet), nullptr,
                                  KSIM_UPDATE(api::ReplicaSet, ValidateReplicaSetUpdate)});
    AddKind<api::Deployment>(*t, {KSIM_DEFAULTS(api::Deployment, DefaultDeployment),
                                  KSIM_VALIDATE(api::Deployment, ValidateDeployment), nullptr,
                                  KSIM_UPDATE(api::Deployment, ValidateDeploymentUpdate)});
    AddKind<api::StatefulSet>(*t, {KSIM_DEFAULTS(api::StatefulSet, DefaultStatefulSet),
                                   KSIM_VALIDATE(api::StatefulSet, ValidateStatefulSet), nullptr,
                                   KSIM_UPDATE(api::StatefulSet, ValidateStatefulSetUpdate)});
    AddKind<api::DaemonSet>(*t, {KSIM_DEFAULTS(api::DaemonSet, DefaultDaemonSet),
                                 KSIM_VALIDATE(api::DaemonSet, ValidateDaemonSet), nullptr,
                                 KSIM_UPDATE(api::DaemonSet, ValidateDaemonSetUpdate)});
    AddKind<api::Job>(*t, {KSIM_DEFAULTS(api::Job, DefaultJob), KSIM_VALIDATE(api::Job, ValidateJob), nullptr,
                           KSIM_UPDATE(api::Job, ValidateJobUpdate)});
    AddKind<api::Service>(*t, {KSIM_DEFAULTS(api::Service, DefaultService), KSIM_VALIDATE(api::Service, ValidateService),
                               nullptr, KSIM_UPDATE(api::Service, ValidateServiceUpdate)});
    AddKind<api::ConfigMap>(*t, {nullptr, KSIM_VALIDATE(api::ConfigMap, ValidateConfigMap), nullptr,
                                 KSIM_UPDATE(api::ConfigMap, ValidateConfigMapUpdate)});
    AddKind<api::Secret>(*t, {KSIM_DEFAULTS(api::Secret, DefaultSecret), KSIM_VALIDATE(api::Secret, ValidateSecret),
                              nullptr, KSIM_UPDATE(api::Secret, ValidateSecretUpdate)});
    AddKind<api::Namespace>(*t, {KSIM_DEFAULTS(api::Namespace, DefaultNamespace),
                                 KSIM_VALIDATE(api::Namespace, ValidateNamespace), nullptr, MetaUpdateOnly});
    AddKind<api::Node>(*t, {nullptr, KSIM_VALIDATE(api::Node, ValidateNode), nullptr, MetaUpdateOnly});
    AddKind<api::Endpoints>(*t, {KSIM_DEFAULTS(api::Endpoints, DefaultEndpoints),
                                 KSIM_VALIDATE(api::Endpoints, ValidateEndpoints), nullptr, MetaUpdateOnly});
    AddKind<api::Event>(*t, {nullptr, KSIM_VALIDATE(api::Event, ValidateEvent), nullptr, MetaUpdateOnly});
    AddKind<api::ResourceQuota>(*t, {nullptr, KSIM_VALIDATE(api::ResourceQuota, ValidateResourceQuota), nullptr,
                                     MetaUpdateOnly});
    AddKind<api::LimitRange>(*t, {KSIM_DEFAULTS(api::LimitRange, DefaultLimitRange),
                                  KSIM_VALIDATE(api::LimitRange, ValidateLimitRange), nullptr, MetaUpdateOnly});
    AddKind<api::ServiceAccount>(*t, {nullptr,
                                      [](const Message& m, Errors& e) {
                                        ValidateObjectMeta(As<api::ServiceAccount>(m).metadata(), true,
                                                           NameIsDNSSubdomain, Path("metadata"), e);
                                      },
                                      nullptr, MetaUpdateOnly});
    AddKind<api::PersistentVolumeClaim>(*t, {nullptr,
                                             [](const Message& m, Errors& e) {
                                               ValidateObjectMeta(As<api::PersistentVolumeClaim>(m).metadata(), true,
                                                                  NameIsDNSSubdomain, Path("metadata"), e);
                                             },
                                             nullptr, MetaUpdateOnly});
    AddKind<api::Lease>(*t, {nullptr, KSIM_VALIDATE(api::Lease, ValidateLease), nullptr, MetaUpdateOnly});
    AddKind<api::Role>(*t, {nullptr, KSIM_VALIDATE(api::Role, ValidateRole), nullptr, MetaUpdateOnly});
    AddKind<api::ClusterRole>(*t, {nullptr, KSIM_VALIDATE(api::ClusterRole, ValidateClusterRole), nullptr,
                                   MetaUpdateOnly});
    AddKind<api::RoleBinding>(*t, {DefaultBinding<api::RoleBinding>,
                                   KSIM_VALIDATE(api::RoleBinding, ValidateRoleBinding), nullptr,
                                   BindingUpdate<api::RoleBinding>});
    AddKind<api::ClusterRoleBinding>(*t, {DefaultBinding<api::ClusterRoleBinding>,
                                          KSIM_VALIDATE(api::ClusterRoleBinding, ValidateClusterRoleBinding), nullptr,
                                          BindingUpdate<api::ClusterRoleBinding>});
    AddKind<api::CertificateSigningRequest>(
        *t, {nullptr, KSIM_VALIDATE(api::CertificateSigningRequest, ValidateCertificateSigningRequest), nullptr,
             MetaUpdateOnly});
    AddKind<api::PriorityClass>(*t, {KSIM_DEFAULTS(api::PriorityClass, DefaultPriorityClass),
                                     KSIM_VALIDATE(api::PriorityClass, ValidatePriorityClass), nullptr,
                                     KSIM_UPDATE(api::PriorityClass, ValidatePriorityClassUpdate)});
    AddKind<api::ControllerRevision>(*t, {nullptr, KSIM_VALIDATE(api::ControllerRevision, ValidateControllerRevision),
                                          nullptr, KSIM_UPDATE(api::ControllerRevision, ValidateControllerRevisionUpdate)});
    AddKind<api::CronJob>(*t, {KSIM_DEFAULTS(api::CronJob, DefaultCronJob), KSIM_VALIDATE(api::CronJob, ValidateCronJob),
                               nullptr, MetaUpdateOnly});
    AddKind<api::HorizontalPodAutoscaler>(
        *t, {KSIM_DEFAULTS(api::HorizontalPodAutoscaler, DefaultHorizontalPodAutoscaler),
             KSIM_VALIDATE(api::HorizontalPodAutoscaler, ValidateHorizontalPodAutoscaler), nullptr, MetaUpdateOnly});
    AddKind<api::PodDisruptionBudget>(
        *t, {nullptr, KSIM_VALIDATE(api::PodDisruptionBudget, ValidatePodDisruptionBudget), nullptr, MetaUpdateOnly});
    AddKind<api::EndpointSlice>(*t, {KSIM_DEFAULTS(api::EndpointSlice, DefaultEndpointSlice),
                                     KSIM_VALIDATE(api::EndpointSlice, ValidateEndpointSlice), nullptr,
                                     KSIM_UPDATE(api::EndpointSlice, ValidateEndpointSliceUpdate)});
    AddKind<api::Ingress>(*t, {nullptr, KSIM_VALIDATE(api::Ingress, ValidateIngress), nullptr, MetaUpdateOnly});
    AddKind<api::IngressClass>(*t, {KSIM_DEFAULTS(api::IngressClass, DefaultIngressClass),
                                    KSIM_VALIDATE(api::IngressClass, ValidateIngressClass), nullptr,
                                    KSIM_UPDATE(api::IngressClass, ValidateIngressClassUpdate)});
    AddKind<api::NetworkPolicy>(*t, {KSIM_DEFAULTS(api::NetworkPolicy, DefaultNetworkPolicy),
                                     KSIM_VALIDATE(api::NetworkPolicy, ValidateNetworkPolicy), nullptr, MetaUpdateOnly});
    AddKind<api::PersistentVolume>(*t, {KSIM_DEFAULTS(api::PersistentVolume, DefaultPersistentVolume),
                                        KSIM_VALIDATE(api::PersistentVolume, ValidatePersistentVolume), nullptr,
                                        KSIM_UPDATE(api::PersistentVolume, ValidatePersistentVolumeUpdate)});
    AddKind<api::StorageClass>(*t, {KSIM_DEFAULTS(api::StorageClass, DefaultStorageClass),
                                    KSIM_VALIDATE(api::StorageClass, ValidateStorageClass), nullptr,
                                    KSIM_UPDATE(api::StorageClass, ValidateStorageClassUpdate)});
    return t;
  }();
  return *table;
}

#undef KSIM_VALIDATE
#undef KSIM_UPDATE
#undef KSIM_DEFAULTS

// The strategy of a generated message of a known kind, or nullptr. A DynamicMessage of
// the same type is not cast (it has its own reflection), so the casts above are safe.
const KindStrategy* StrategyOf(const Message& obj) {
  const api::KindInfo* info = api::KindOf(obj);
  if (info == nullptr || info->prototype == nullptr) return nullptr;
  if (obj.GetReflection() != info->prototype->GetReflection()) return nullptr;
  const auto& table = Strategies();
  auto it = table.find(obj.GetDescriptor()->full_name());
  return it == table.end() ? nullptr : &it->second;
}

}  // namespace

void ApplyDefaults(Message& obj) {
  const KindStrategy* s = StrategyOf(obj);
  if (s != nullptr && s->defaults != nullptr) s->defaults(obj);
}

std::vector<FieldError> ValidateCreate(const Message& obj) {
  Errors errs;
  const KindStrategy* s = StrategyOf(obj);
  if (s == nullptr) return errs.Take();
  if (s->validate != nullptr) s->validate(obj, errs);
  if (s->validate_create != nullptr) s->validate_create(obj, errs);
  return errs.Take();
}

std::vector<FieldError> ValidateUpdate(const Message& obj, const Message& old) {
  Errors errs;
  const KindStrategy* s = StrategyOf(obj);
  if (s == nullptr) return errs.Take();
  if (old.GetDescriptor() != obj.GetDescriptor() || StrategyOf(old) != s) {
    errs.Invalid(Path("kind"), old.GetDescriptor()->name(), "an object may not change its kind");
    return errs.Take();
  }
  if (s->validate != nullptr) s->validate(obj, errs);
  if (s->validate_update != nullptr) s->validate_update(obj, old, errs);
  return errs.Take();
}

}  // namespace ksim::apiserver
