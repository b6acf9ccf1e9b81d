// The default RBAC policy an apiserver writes at first start: a subset of Kubernetes'
// bootstrap policy (plugin/pkg/auth/authorizer/rbac/bootstrappolicy) covering the kinds
// in cluster/api and the components ksim runs. See docs/AUTH.md for the list and where
// it departs from Kubernetes.
#pragma once

#include <vector>

#include "cluster/api/rbac.pb.h"
#include "cluster/apiserver/auth/rbac.h"

namespace ksim::apiserver {

// Lease names the control-plane components must use for leader election: their roles may
// get and update only these (as in Kubernetes), in any namespace (kube-system by convention).
inline constexpr std::string_view kSchedulerLeaseName = "kube-scheduler";
inline constexpr std::string_view kControllerManagerLeaseName = "kube-controller-manager";

struct BootstrapPolicy {
  std::vector<api::ClusterRole> cluster_roles;              // ordered by name
  std::vector<api::ClusterRoleBinding> cluster_role_bindings;  // ordered by name
};

// The objects, with Kubernetes' bootstrap label and auto-update annotation. Built fresh
// on each call; the same every time.
BootstrapPolicy DefaultBootstrapPolicy();

// Adds every role and binding of `policy` to `authorizer` (what the apiserver's watch
// would do once it has written them).
void LoadPolicy(const BootstrapPolicy& policy, RbacAuthorizer* authorizer);

}  // namespace ksim::apiserver
