// The strategy library's internals: shared validators and the per-kind entry points the
// dispatcher in strategy.cc calls.
#pragma once

#include <google/protobuf/message.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/api/apps.pb.h"
#include "cluster/api/batch.pb.h"
#include "cluster/api/certificates.pb.h"
#include "cluster/api/coordination.pb.h"
#include "cluster/api/core.pb.h"
#include "cluster/api/meta.pb.h"
#include "cluster/api/rbac.pb.h"
#include "cluster/api/scheduling.pb.h"
#include "cluster/apiserver/strategy/field_errors.h"
#include "cluster/apiserver/strategy/name_rules.h"

namespace ksim::apiserver {

// ---------------------------------------------------------------- shared (validate_common.cc)

void ValidateObjectMeta(const api::ObjectMeta& meta, bool namespaced, NameRule name_rule, const Path& path,
                        Errors& errs);
void ValidateObjectMetaUpdate(const api::ObjectMeta& meta, const api::ObjectMeta& old, const Path& path, Errors& errs);
void ValidateLabels(const google::protobuf::Map<std::string, std::string>& labels, const Path& path, Errors& errs);
void ValidateLabelName(std::string_view key, const Path& path, Errors& errs);
void ValidateLabelSelector(const api::LabelSelector& selector, const Path& path, Errors& errs);
bool SelectorMatches(const api::LabelSelector& selector, const google::protobuf::Map<std::string, std::string>& labels);
bool SelectorEmpty(const api::LabelSelector& selector);
// The selector as Kubernetes prints it in an error (&v1.LabelSelector{...} is unreadable;
// this is the label-selector string form).
std::string SelectorString(const api::LabelSelector& selector);
void ValidateNonNegative(int64_t value, const Path& path, Errors& errs);
// A quantity-valued string: false (and an error at `path`) if it does not parse or is negative.
bool ParseQuantityField(std::string_view text, const Path& path, Errors& errs, bool allow_negative = false);
// -1, 0, 1 comparing two quantities that both parse; nullopt if one does not.
std::optional<int> CompareQuantities(std::string_view a, std::string_view b);
// Canonical text of a quantity that parses ("1Gi"), the text itself otherwise.
std::string CanonicalQuantity(std::string_view text);
// The first field where two messages differ, as a JSON path ("spec.containers[0].name"); "" if equal.
std::string FirstDifference(const google::protobuf::Message& a, const google::protobuf::Message& b,
                            const Path& path = Path());
bool SameMessage(const google::protobuf::Message& a, const google::protobuf::Message& b);
// The image's tag ("" if none; a digest-only reference has none either).
std::string ImageTag(std::string_view image);
bool ImageHasDigest(std::string_view image);

// ---------------------------------------------------------------- pods (validate_pod.cc)

struct PodSpecRules {
  // Restart policies the owner allows; empty = any of Always, OnFailure, Never.
  std::vector<std::string_view> restart_policies;
  // The owning kind, for "activeDeadlineSeconds in ReplicaSet is not Supported"; "" allows it.
  std::string_view forbid_active_deadline_in;
};
void ValidatePodSpec(const api::PodSpec& spec, const PodSpecRules& rules, const Path& path, Errors& errs);
// A controller's template: labels, the pod spec, and that `selector_matches` holds.
void ValidatePodTemplate(const api::PodTemplateSpec& tmpl, bool selector_matches, const PodSpecRules& rules,
                         const Path& path, Errors& errs);
void ValidateTolerations(const google::protobuf::RepeatedPtrField<api::Toleration>& tolerations, const Path& path,
                         Errors& errs);

void ValidateResourceRequirements(const api::ResourceRequirements& r, const Path& path, Errors& errs);
void ValidatePod(const api::Pod& pod, Errors& errs);
// Rules only a new pod must follow (on top of ValidatePod).
void ValidatePodCreateOnly(const api::Pod& pod, Errors& errs);
void ValidatePodUpdate(const api::Pod& pod, const api::Pod& old, Errors& errs);
void ValidateBinding(const api::Binding& binding, Errors& errs);

// ---------------------------------------------------------------- workloads (validate_workloads.cc)

void ValidateReplicationController(const api::ReplicationController& rc, Errors& errs);
void ValidateReplicaSet(const api::ReplicaSet& rs, Errors& errs);
void ValidateReplicaSetUpdate(const api::ReplicaSet& rs, const api::ReplicaSet& old, Errors& errs);
void ValidateDeployment(const api::Deployment& d, Errors& errs);
void ValidateDeploymentUpdate(const api::Deployment& d, const api::Deployment& old, Errors& errs);
void ValidateStatefulSet(const api::StatefulSet& s, Errors& errs);
void ValidateStatefulSetUpdate(const api::StatefulSet& s, const api::StatefulSet& old, Errors& errs);
void ValidateDaemonSet(const api::DaemonSet& d, Errors& errs);
void ValidateDaemonSetUpdate(const api::DaemonSet& d, const api::DaemonSet& old, Errors& errs);
void ValidateJob(const api::Job& job, Errors& errs);
// A Job's spec at `path` (a Job's "spec", a CronJob's "spec.jobTemplate.spec").
void ValidateJobSpec(const api::JobSpec& spec, const Path& path, Errors& errs);
// An int-or-percent: a non-negative integer or "<n>%". Returns the value (a percent as
// its number) or -1 when invalid; `is_percent` tells which.
int64_t ValidateIntOrPercent(const api::IntOrString& v, const Path& path, Errors& errs, bool* is_percent);
void ValidateJobUpdate(const api::Job& job, const api::Job& old, Errors& errs);

// ---------------------------------------------------------------- core kinds (validate_core.cc)

void ValidateService(const api::Service& svc, Errors& errs);
void ValidateServiceUpdate(const api::Service& svc, const api::Service& old, Errors& errs);
void ValidateConfigMap(const api::ConfigMap& cm, Errors& errs);
void ValidateConfigMapUpdate(const api::ConfigMap& cm, const api::ConfigMap& old, Errors& errs);
void ValidateSecret(const api::Secret& secret, Errors& errs);
void ValidateSecretUpdate(const api::Secret& secret, const api::Secret& old, Errors& errs);
void ValidateNamespace(const api::Namespace& ns, Errors& errs);
void ValidateNode(const api::Node& node, Errors& errs);
void ValidateEndpoints(const api::Endpoints& ep, Errors& errs);
void ValidateEvent(const api::Event& ev, Errors& errs);
void ValidateResourceQuota(const api::ResourceQuota& quota, Errors& errs);
void ValidateLimitRange(const api::LimitRange& lr, Errors& errs);

// ---------------------------------------------------------------- other groups (validate_other.cc)

void ValidateRole(const api::Role& role, Errors& errs);
void ValidateClusterRole(const api::ClusterRole& role, Errors& errs);
void ValidateRoleBinding(const api::RoleBinding& rb, Errors& errs);
void ValidateClusterRoleBinding(const api::ClusterRoleBinding& crb, Errors& errs);
void ValidateRoleBindingUpdate(const api::RoleRef& ref, const api::RoleRef& old, Errors& errs);
void ValidatePriorityClass(const api::PriorityClass& pc, Errors& errs);
void ValidatePriorityClassUpdate(const api::PriorityClass& pc, const api::PriorityClass& old, Errors& errs);
void ValidateLease(const api::Lease& lease, Errors& errs);
void ValidateCertificateSigningRequest(const api::CertificateSigningRequest& csr, Errors& errs);

// ---------------------------------------------------------------- defaults (defaults.cc)

void DefaultPod(api::Pod& pod);
void DefaultPodSpec(api::PodSpec& spec, bool default_restart_policy);
void DefaultReplicationController(api::ReplicationController& rc);
void DefaultReplicaSet(api::ReplicaSet& rs);
void DefaultDeployment(api::Deployment& d);
void DefaultStatefulSet(api::StatefulSet& s);
void DefaultDaemonSet(api::DaemonSet& d);
void DefaultJob(api::Job& job);
void DefaultService(api::Service& svc);
void DefaultSecret(api::Secret& secret);
void DefaultNamespace(api::Namespace& ns);
void DefaultEndpoints(api::Endpoints& ep);
void DefaultLimitRange(api::LimitRange& lr);
void DefaultPriorityClass(api::PriorityClass& pc);
void DefaultRoleBinding(api::RoleRef& ref, google::protobuf::RepeatedPtrField<api::Subject>& subjects);

}  // namespace ksim::apiserver
