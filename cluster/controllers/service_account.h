// The ServiceAccount controller (a `default` ServiceAccount in every active namespace,
// re-created if deleted) and the legacy token controller (Kubernetes' TokensController:
// fills kubernetes.io/service-account-token Secrets with token, ca.crt and namespace, and
// deletes those whose account is gone). Tokens are the apiserver's opaque Secret tokens
// (auth/authn.h), drawn from the process's Entropy. See docs/CONTROLLERS.md.
#pragma once

#include <memory>

#include "cluster/controllers/controller.h"

namespace ksim::controllers {

inline constexpr char kServiceAccountControllerName[] = "serviceaccount";
inline constexpr char kServiceAccountTokenControllerName[] = "serviceaccount-token";
inline constexpr char kDefaultServiceAccount[] = "default";

std::unique_ptr<Controller> NewServiceAccountController(ControllerContext& ctx);
std::unique_ptr<Controller> NewServiceAccountTokenController(ControllerContext& ctx);

}  // namespace ksim::controllers
