// The CertificateSigningRequest controllers: csrapproving (Kubernetes' sarapprove: kubelet
// client certificates auto-approved for requesters RBAC allows to create
// certificatesigningrequests/nodeclient or /selfnodeclient) and csrsigning (approved
// requests for the kubelet signers signed with the cluster CA, cert_signer.h).
// See docs/CONTROLLERS.md.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cluster/api/certificates.pb.h"
#include "cluster/controllers/cert_signer.h"
#include "cluster/controllers/controller.h"

namespace ksim::controllers {

inline constexpr char kCsrApprovingControllerName[] = "csrapproving";
inline constexpr char kCsrSigningControllerName[] = "csrsigning";
inline constexpr char kKubeletClientSigner[] = "kubernetes.io/kube-apiserver-client-kubelet";
inline constexpr char kKubeletServingSigner[] = "kubernetes.io/kubelet-serving";

std::unique_ptr<Controller> NewCsrApprovingController(ControllerContext& ctx);
// Null and *status set when the CA options do not load.
std::unique_ptr<Controller> NewCsrSigningController(ControllerContext& ctx, Status* status);

// Condition helpers (type "Approved", "Denied", "Failed").
bool HasCondition(const api::CertificateSigningRequest& csr, const std::string& type);
// Kubernetes' kubelet CSR checks: "" if the request fits, else the reason.
std::string CheckKubeletClient(const CsrInfo& info, const std::vector<std::string>& usages);
std::string CheckKubeletServing(const CsrInfo& info, const std::vector<std::string>& usages);

}  // namespace ksim::controllers
