// The ServiceAccount admission plugin (Kubernetes' plugin/pkg/admission/serviceaccount) as
// pure functions over a pod, so it is tested without a store. The handler runs it on pod
// create when HandlerOptions::service_account_admission is on: Prepare, then (when it asks
// for one) the account from the watch cache or the store, then Apply. docs/APISERVER.md
// "ServiceAccount admission".
#pragma once

#include <functional>
#include <string>

#include "cluster/api/core.pb.h"

namespace ksim::apiserver {

inline constexpr char kMirrorPodAnnotation[] = "kubernetes.io/config.mirror";
inline constexpr char kDefaultServiceAccountName[] = "default";
// Where the token, the root CA and the namespace appear in every container.
inline constexpr char kServiceAccountTokenMountPath[] = "/var/run/secrets/kubernetes.io/serviceaccount";
inline constexpr char kServiceAccountVolumePrefix[] = "kube-api-access-";
inline constexpr char kRootCaConfigMapName[] = "kube-root-ca.crt";
// The token's lifetime: Kubernetes' WarnOnlyBoundTokenExpirationSeconds (1 h + 7 s, so an
// apiserver can tell an admission-made token from others).
inline constexpr int64_t kServiceAccountTokenExpirationSeconds = 3607;
inline constexpr int32_t kProjectedVolumeDefaultMode = 0644;  // 420

// What Prepare decided for a pod being created.
struct ServiceAccountPlan {
  std::string refusal;  // non-empty: refuse the pod (403) with this reason
  std::string account;  // non-empty: look this account up, then Apply
};

// Mirror pods are left as they are but may reference no service account, no secret and no
// serviceAccountToken projection. Any other pod runs as spec.serviceAccountName
// (defaulted to "default"; the deprecated spec.serviceAccount is kept equal to it).
ServiceAccountPlan PrepareServiceAccount(api::Pod& pod);

// "" when `pod` references no Secret (volumes, projections, env, envFrom in every kind of
// container, imagePullSecrets), else the first reference, for the mirror-pod refusal.
std::string FirstSecretReference(const api::PodSpec& spec);

// The pod's automountServiceAccountToken if set, else the account's, else true.
bool ShouldAutomountToken(const api::ServiceAccount& account, const api::PodSpec& spec);

// With the account found: its imagePullSecrets when the pod has none, and, when it should
// automount, the token volume (named `draw_name(kServiceAccountVolumePrefix)` unless the
// pod has a kube-api-access-* volume already) mounted read-only at the token path in every
// init container and container that mounts nothing there. Ephemeral containers are added
// later through their own subresource and are left alone, as in Kubernetes.
void ApplyServiceAccount(const api::ServiceAccount& account,
                         const std::function<std::string(const std::string& prefix)>& draw_name, api::PodSpec* spec);

// The projected volume: the bound token (path `token`, 3607 s), kube-root-ca.crt's ca.crt,
// and the pod's namespace, mode 0644.
api::Volume ServiceAccountTokenVolume(const std::string& name);

}  // namespace ksim::apiserver
