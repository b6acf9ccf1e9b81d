// The root CA publisher (Kubernetes' root-ca-cert-publisher, RootCACertPublisher): a
// ConfigMap kube-root-ca.crt with `ca.crt` = the root CA in every active namespace, made
// again when deleted and put back when changed. Pods read it through the ServiceAccount
// admission plugin's kube-api-access volume. See docs/CONTROLLERS.md.
#pragma once

#include <memory>

#include "cluster/controllers/controller.h"

namespace ksim::controllers {

inline constexpr char kRootCaPublisherControllerName[] = "root-ca-cert-publisher";
inline constexpr char kRootCaConfigMap[] = "kube-root-ca.crt";
inline constexpr char kRootCaDescriptionAnnotation[] = "kubernetes.io/description";

// Publishes root_ca_pem, else cluster_signing_cert_pem (what the serviceaccount-token
// controller puts in ca.crt); with neither it publishes nothing.
std::unique_ptr<Controller> NewRootCaPublisher(ControllerContext& ctx);

}  // namespace ksim::controllers
