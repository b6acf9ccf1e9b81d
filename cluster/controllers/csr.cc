#include "cluster/controllers/csr.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <utility>

#include "cluster/api/codec.h"
#include "cluster/api/rbac.pb.h"
#include "cluster/api/registry.h"
#include "cluster/apiserver/auth/rbac.h"

namespace ksim::controllers {
namespace {

using client::ObjectPtr;
using CsrPtr = std::shared_ptr<const api::CertificateSigningRequest>;

const api::KindInfo& Kind(const char* group, const char* resource) {
  return *api::Registry::Default().ByGroupResource(group, resource);
}
const api::KindInfo& CsrKind() { return Kind("certificates.k8s.io", "certificatesigningrequests"); }
CsrPtr AsCsr(const ObjectPtr& o) { return std::static_pointer_cast<const api::CertificateSigningRequest>(o); }

constexpr char kNodeUserPrefix[] = "system:node:";
constexpr char kNodesGroup[] = "system:nodes";

// Usages must include every `required` and nothing outside required + optional.
std::string CheckUsages(const std::vector<std::string>& usages, const std::set<std::string>& required,
                        const std::set<std::string>& optional) {
  std::set<std::string> have(usages.begin(), usages.end());
  bool ok = std::includes(have.begin(), have.end(), required.begin(), required.end());
  for (const auto& u : have) ok = ok && (required.count(u) != 0 || optional.count(u) != 0);
  if (ok) return "";
  std::string want;
  for (const auto& u : required) want += (want.empty() ? "" : " ") + u;
  return fmt::format("usages did not match [{}] (optionally key encipherment)", want);
}

std::string CheckNodeSubject(const CsrInfo& info) {
  if (info.organizations != std::vector<std::string>{kNodesGroup}) return "subject organization is not system:nodes";
  if (info.common_name.rfind(kNodeUserPrefix, 0) != 0 || info.common_name.size() == sizeof(kNodeUserPrefix) - 1) {
    return "subject common name does not begin with system:node:";
  }
  return "";
}

google::protobuf::Timestamp Now(const ControllerContext& ctx) {
  google::protobuf::Timestamp t;
  t.set_seconds(ctx.env.clock->WallNow().count() / 1'000'000'000);
  return t;
}

api::CertificateSigningRequestCondition Condition(const ControllerContext& ctx, const std::string& type,
                                                  const std::string& reason, const std::string& message) {
  api::CertificateSigningRequestCondition c;
  c.set_type(type);
  c.set_status("True");
  c.set_reason(reason);
  c.set_message(message);
  *c.mutable_last_update_time() = Now(ctx);
  *c.mutable_last_transition_time() = Now(ctx);
  return c;
}

// The status write both controllers make, guarded by the CSR's resourceVersion.
void WriteStatus(ControllerContext& ctx, const api::CertificateSigningRequest& csr, const std::shared_ptr<bool>& alive,
                 std::function<void(Status)> done) {
  ctx.client->Update(CsrKind(), csr, [alive, done = std::move(done)](const client::ApiResult& r) {
    if (!*alive) return;
    if (r.ok() || r.code == 404) return done(Status::Ok());
    done(Status::Unavailable("csr status: " + r.Describe()));  // 409: synced again
  }, "status");
}

// ---- csrapproving.
class CsrApprover final : public Controller {
 public:
  explicit CsrApprover(ControllerContext& ctx) : ctx_(ctx), csrs_(ctx.informers->For(CsrKind())) {
    loop_ = std::make_unique<ReconcileLoop>(
        ctx_, kCsrApprovingControllerName,
        [this](const std::string& key, std::function<void(Status)> done) { Sync(key, std::move(done)); }, 5);
    loop_->OnSynced([this] {
      for (const auto& o : csrs_->List()) loop_->Add(client::Informer::KeyOf(*o));
    });
    const auto add = [this](const ObjectPtr& o) { loop_->Add(client::Informer::KeyOf(*o)); };
    csrs_->AddHandlers({add, [add](const ObjectPtr&, const ObjectPtr& o) { add(o); }, nullptr});
    // The SubjectAccessReview, in process: an authorizer fed by the RBAC informers.
    Feed<api::ClusterRole>("clusterroles", [this](const api::ClusterRole& r) { authz_.AddClusterRole(r); },
                           [this](const api::ClusterRole& r) { authz_.RemoveClusterRole(r.metadata().name()); });
    Feed<api::ClusterRoleBinding>(
        "clusterrolebindings", [this](const api::ClusterRoleBinding& b) { authz_.AddClusterRoleBinding(b); },
        [this](const api::ClusterRoleBinding& b) { authz_.RemoveClusterRoleBinding(b.metadata().name()); });
  }
  ~CsrApprover() override { *alive_ = false; }
  void Start() override { loop_->Start(); }
  void Stop() override { loop_->Stop(); }

 private:
  template <typename T>
  void Feed(const char* resource, std::function<void(const T&)> add, std::function<void(const T&)> remove) {
    ctx_.informers->For(Kind("rbac.authorization.k8s.io", resource))
        ->AddHandlers({[add](const ObjectPtr& o) { add(static_cast<const T&>(*o)); },
                       [add](const ObjectPtr&, const ObjectPtr& o) { add(static_cast<const T&>(*o)); },
                       [remove](const ObjectPtr& o) { remove(static_cast<const T&>(*o)); }});
  }

  void Sync(const std::string& key, std::function<void(Status)> done) {
    ObjectPtr o = csrs_->Get(key);
    if (o == nullptr) return done(Status::Ok());
    const api::CertificateSigningRequest& csr = *AsCsr(o);
    if (csr.spec().signer_name() != kKubeletClientSigner || HasCondition(csr, "Approved") ||
        HasCondition(csr, "Denied") || !csr.status().certificate().empty()) {
      return done(Status::Ok());
    }
    CsrInfo info;
    if (!ParseCsr(csr.spec().request(), &info).ok()) return done(Status::Ok());  // never gets better
    const std::vector<std::string> usages(csr.spec().usages().begin(), csr.spec().usages().end());
    const bool node_client = CheckNodeSubject(info).empty() && info.dns_names.empty() && info.ip_addresses.empty() &&
                             info.other_sans == 0 &&
                             CheckUsages(usages, {"client auth", "digital signature"}, {"key encipherment"}).empty();
    if (!node_client) return done(Status::Ok());  // not ours to approve; a human may
    struct Recognizer {
      bool matches;
      const char* subresource;
      const char* message;
    };
    const Recognizer recognizers[] = {
        {csr.spec().username() == info.common_name, "selfnodeclient",
         "Auto approving self kubelet client certificate after SubjectAccessReview."},
        {true, "nodeclient", "Auto approving kubelet client certificate after SubjectAccessReview."}};
    apiserver::Attributes a;
    a.user.name = csr.spec().username();
    a.user.uid = csr.spec().uid();
    a.user.groups.assign(csr.spec().groups().begin(), csr.spec().groups().end());
    a.verb = "create";
    a.api_group = "certificates.k8s.io";
    a.resource = "certificatesigningrequests";
    for (const Recognizer& r : recognizers) {
      if (!r.matches) continue;
      a.subresource = r.subresource;
      if (!authz_.Authorize(a).allowed) continue;
      api::CertificateSigningRequest approved = csr;
      *approved.mutable_status()->add_conditions() = Condition(ctx_, "Approved", "AutoApproved", r.message);
      return WriteStatus(ctx_, approved, alive_, std::move(done));
    }
    // Recognized but not allowed: retried with back-off (the policy may change).
    done(Status::Unavailable(
        fmt::format("recognized csr {} as node client but subject access review was not approved", key)));
  }

  ControllerContext& ctx_;
  client::Informer* csrs_;
  apiserver::RbacAuthorizer authz_;
  std::unique_ptr<ReconcileLoop> loop_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// ---- csrsigning.
class CsrSigner final : public Controller {
 public:
  CsrSigner(ControllerContext& ctx, std::unique_ptr<CertSigner> ca)
      : ctx_(ctx), csrs_(ctx.informers->For(CsrKind())), ca_(std::move(ca)) {
    loop_ = std::make_unique<ReconcileLoop>(
        ctx_, kCsrSigningControllerName,
        [this](const std::string& key, std::function<void(Status)> done) { Sync(key, std::move(done)); }, 5);
    loop_->OnSynced([this] {
      for (const auto& o : csrs_->List()) loop_->Add(client::Informer::KeyOf(*o));
    });
    const auto add = [this](const ObjectPtr& o) { loop_->Add(client::Informer::KeyOf(*o)); };
    csrs_->AddHandlers({add, [add](const ObjectPtr&, const ObjectPtr& o) { add(o); }, nullptr});
  }
  ~CsrSigner() override { *alive_ = false; }
  void Start() override { loop_->Start(); }
  void Stop() override { loop_->Stop(); }

 private:
  void Sync(const std::string& key, std::function<void(Status)> done) {
    ObjectPtr o = csrs_->Get(key);
    if (o == nullptr) return done(Status::Ok());
    const api::CertificateSigningRequest& csr = *AsCsr(o);
    const std::string& signer = csr.spec().signer_name();
    if ((signer != kKubeletClientSigner && signer != kKubeletServingSigner) || !HasCondition(csr, "Approved") ||
        HasCondition(csr, "Denied") || HasCondition(csr, "Failed") || !csr.status().certificate().empty()) {
      return done(Status::Ok());
    }
    const std::vector<std::string> usages(csr.spec().usages().begin(), csr.spec().usages().end());
    CsrInfo info;
    std::string invalid;
    if (Status s = ParseCsr(csr.spec().request(), &info); !s.ok()) {
      invalid = "unable to parse csr: " + s.message();
    } else {
      invalid = signer == kKubeletClientSigner ? CheckKubeletClient(info, usages) : CheckKubeletServing(info, usages);
    }
    api::CertificateSigningRequest updated = csr;
    if (!invalid.empty()) {
      *updated.mutable_status()->add_conditions() = Condition(ctx_, "Failed", "SignerValidationFailure", invalid);
      return WriteStatus(ctx_, updated, alive_, std::move(done));
    }
    // Lifetime: --cluster-signing-duration, shortened by spec.expirationSeconds (at least
    // 600 s); backdated 5 minutes for clock skew; never past the CA's own notAfter.
    int64_t ttl = ctx_.options.cluster_signing_duration.count() / 1'000'000'000;
    if (csr.spec().has_expiration_seconds()) {
      ttl = std::min<int64_t>(ttl, std::max<int64_t>(600, csr.spec().expiration_seconds()));
    }
    const int64_t now = ctx_.env.clock->WallNow().count() / 1'000'000'000;
    SignParams p;
    p.usages = usages;
    p.not_before = now - 300;
    p.not_after = now + ttl;
    p.serial_hi = ctx_.env.entropy->Next64();
    p.serial_lo = ctx_.env.entropy->Next64();
    std::string pem;
    if (Status s = ca_->Sign(csr.spec().request(), p, &pem); !s.ok()) {
      *updated.mutable_status()->add_conditions() = Condition(ctx_, "Failed", "SignerValidationFailure", s.message());
      return WriteStatus(ctx_, updated, alive_, std::move(done));
    }
    updated.mutable_status()->set_certificate(pem);
    ++signed_;
    WriteStatus(ctx_, updated, alive_, std::move(done));
  }

  ControllerContext& ctx_;
  client::Informer* csrs_;
  std::unique_ptr<CertSigner> ca_;
  std::unique_ptr<ReconcileLoop> loop_;
  uint64_t signed_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

bool HasCondition(const api::CertificateSigningRequest& csr, const std::string& type) {
  for (const auto& c : csr.status().conditions()) {
    if (c.type() == type && c.status() != "False") return true;
  }
  return false;
}

std::string CheckKubeletClient(const CsrInfo& info, const std::vector<std::string>& usages) {
  if (std::string e = CheckNodeSubject(info); !e.empty()) return e;
  if (!info.dns_names.empty()) return "DNS subjectAltNames are not allowed";
  if (!info.ip_addresses.empty()) return "IP subjectAltNames are not allowed";
  if (info.other_sans != 0) return "Email and URI subjectAltNames are not allowed";
  return CheckUsages(usages, {"client auth", "digital signature"}, {"key encipherment"});
}

std::string CheckKubeletServing(const CsrInfo& info, const std::vector<std::string>& usages) {
  if (std::string e = CheckNodeSubject(info); !e.empty()) return e;
  if (info.dns_names.empty() && info.ip_addresses.empty()) return "DNS or IP subjectAltName is required";
  if (info.other_sans != 0) return "Email and URI subjectAltNames are not allowed";
  return CheckUsages(usages, {"digital signature", "server auth"}, {"key encipherment"});
}

std::unique_ptr<Controller> NewCsrApprovingController(ControllerContext& ctx) {
  return std::make_unique<CsrApprover>(ctx);
}

std::unique_ptr<Controller> NewCsrSigningController(ControllerContext& ctx, Status* status) {
  std::string cert = ctx.options.cluster_signing_cert_pem, key = ctx.options.cluster_signing_key_pem;
  if (cert.empty() != key.empty()) {
    *status = Status::InvalidArgument("--cluster-signing-cert-file and --cluster-signing-key-file go together");
    return nullptr;
  }
  if (cert.empty()) {
    // No CA given: one of this process's own (a single replica's convenience; replicas
    // that must agree are given the same files).
    const int64_t now = ctx.env.clock->WallNow().count() / 1'000'000'000;
    if (Status s = GenerateCa(*ctx.env.entropy, "kubernetes", now - 300, 3650, &cert, &key); !s.ok()) {
      *status = s;
      return nullptr;
    }
  }
  auto ca = CertSigner::Load(cert, key, status);
  if (ca == nullptr) return nullptr;
  return std::make_unique<CsrSigner>(ctx, std::move(ca));
}

}  // namespace ksim::controllers
