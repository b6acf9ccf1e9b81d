// The csrapproving and csrsigning controllers against the API in the simulated world, after
// Kubernetes' TLS bootstrapping docs: a bootstrap-token user (group system:bootstrappers)
// asks for a kubelet client certificate; RBAC lets it create
// certificatesigningrequests/nodeclient, so the request is approved (AutoApproved) and
// signed by the cluster CA. The certificate is checked with OpenSSL: subject, usages,
// lifetime, issuer, signature. Requests from others, or for other subjects, are not
// approved; kubelet-serving requests need a SAN; expirationSeconds shortens the lifetime.
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cluster/api/rbac.pb.h"
#include "cluster/controllers/csr.h"
#include "tests/cluster/controllers/cm_cluster.h"

namespace ksim::controllers::testing {
namespace {

constexpr char kBootstrapToken[] = "07401b.f395accd246ae52d";
constexpr char kBootstrapUser[] = "system:bootstrap:07401b";

const api::KindInfo& CsrKind() { return Kind("certificates.k8s.io", "certificatesigningrequests"); }

// What one signed certificate says, read with OpenSSL.
struct Cert {
  std::string cn, o, issuer_cn;
  bool client_auth = false, server_auth = false, digital_signature = false, is_ca = true;
  std::vector<std::string> dns;
  int64_t lifetime = 0;  // notAfter - notBefore, seconds
  bool verifies = false;  // signed by the CA's key
};

std::string NameField(X509_NAME* name, int nid) {
  char buf[256] = {};
  return X509_NAME_get_text_by_NID(name, nid, buf, sizeof(buf)) > 0 ? buf : "";
}

Cert ReadCert(const std::string& pem, const std::string& ca_pem) {
  Cert c;
  BIO* b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  BIO* cb = BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size()));
  X509* ca = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
  BIO_free(cb);
  if (x == nullptr || ca == nullptr) return c;
  c.cn = NameField(X509_get_subject_name(x), NID_commonName);
  c.o = NameField(X509_get_subject_name(x), NID_organizationName);
  c.issuer_cn = NameField(X509_get_issuer_name(x), NID_commonName);
  const uint32_t xku = X509_get_extended_key_usage(x);
  c.client_auth = (xku & XKU_SSL_CLIENT) != 0;
  c.server_auth = (xku & XKU_SSL_SERVER) != 0;
  c.digital_signature = (X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE) != 0;
  c.is_ca = X509_check_ca(x) != 0;
  int days = 0, secs = 0;
  if (ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)) == 1) {
    c.lifetime = int64_t{days} * 86400 + secs;
  }
  c.verifies = X509_verify(x, X509_get0_pubkey(ca)) == 1;
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; sans != nullptr && i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(sans, i);
    if (n->type == GEN_DNS) {
      c.dns.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(n->d.dNSName)),
                         static_cast<size_t>(ASN1_STRING_length(n->d.dNSName)));
    }
  }
  GENERAL_NAMES_free(sans);
  X509_free(x);
  X509_free(ca);
  return c;
}

class CsrTest : public ::testing::Test {
 public:
  CsrTest()
      : c(7, 1, [](apiserver::ApiServerOptions& o) {
          o.token_file = std::string(apiserver::testing::kTokenFile) + kBootstrapToken + "," + kBootstrapUser +
                         ",,\"system:bootstrappers\"\n";
        }) {}

  void Start(int managers = 1) {
    SeededEntropy entropy(7);
    const int64_t now = c.api.store.world.host(0).WallNow().count() / 1'000'000'000;
    ASSERT_TRUE(GenerateCa(entropy, "kubernetes", now - 3600, 3650, &ca_cert, &ca_key).ok());
    for (int i = 1; i <= managers; ++i) {
      c.AddManager(i, [this](ControllerManagerOptions& o) {
        o.controllers = {kCsrApprovingControllerName, kCsrSigningControllerName};
        o.cluster_signing_cert_pem = ca_cert;
        o.cluster_signing_key_pem = ca_key;
      });
    }
    // What kubeadm sets up: bootstrappers may create CSRs, and their node client CSRs are
    // auto-approved.
    Role("system:node-bootstrapper", {"create", "get", "list", "watch"}, "certificatesigningrequests");
    Role("system:certificates.k8s.io:certificatesigningrequests:nodeclient", {"create"},
         "certificatesigningrequests/nodeclient");
    Bind("kubeadm:kubelet-bootstrap", "system:node-bootstrapper", "Group", "system:bootstrappers");
    Bind("kubeadm:node-autoapprove-bootstrap", "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
         "Group", "system:bootstrappers");
    Bind("bob-may-ask", "system:node-bootstrapper", "User", "bob");
    bootstrap = c.api.AddClient("kubelet-bootstrap", 0, kBootstrapToken);
    bob = c.api.AddClient("bob", 0, "bob-token");
    c.Run(Seconds(20));
  }
  void Role(const std::string& name, std::vector<std::string> verbs, const std::string& resource) {
    api::ClusterRole r;
    r.mutable_metadata()->set_name(name);
    auto* rule = r.add_rules();
    for (auto& v : verbs) rule->add_verbs(v);
    rule->add_api_groups("certificates.k8s.io");
    rule->add_resources(resource);
    ASSERT_TRUE(c.Create(r).ok());
  }
  void Bind(const std::string& name, const std::string& role, const std::string& kind, const std::string& subject) {
    api::ClusterRoleBinding b;
    b.mutable_metadata()->set_name(name);
    b.mutable_role_ref()->set_api_group("rbac.authorization.k8s.io");
    b.mutable_role_ref()->set_kind("ClusterRole");
    b.mutable_role_ref()->set_name(role);
    auto* s = b.add_subjects();
    s->set_kind(kind);
    s->set_name(subject);
    if (kind != "ServiceAccount") s->set_api_group("rbac.authorization.k8s.io");
    ASSERT_TRUE(c.Create(b).ok());
  }
  api::CertificateSigningRequest MakeCsr(const std::string& name, const std::string& cn, const std::string& org,
                                         const std::string& signer, std::vector<std::string> usages,
                                         std::vector<std::string> dns = {}) {
    SeededEntropy entropy(std::hash<std::string>{}(name));
    api::CertificateSigningRequest csr;
    csr.mutable_metadata()->set_name(name);
    std::string pem;
    EXPECT_TRUE(GenerateCsr(entropy, cn, {org}, dns, &pem).ok());
    csr.mutable_spec()->set_request(pem);
    csr.mutable_spec()->set_signer_name(signer);
    for (auto& u : usages) csr.mutable_spec()->add_usages(u);
    return csr;
  }
  client::ApiResult CreateAs(client::ApiClient* who, const api::CertificateSigningRequest& csr) {
    return c.api.Await([&](client::ApiClient::Done d) { who->Create(CsrKind(), csr, std::move(d)); });
  }
  api::CertificateSigningRequest Get(const std::string& name) {
    auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Get(CsrKind(), "", name, std::move(d)); });
    api::CertificateSigningRequest csr;
    EXPECT_TRUE(r.ok() && csr.ParseFromString(r.body)) << r.Describe();
    return csr;
  }
  // What `kubectl certificate approve` does.
  void Approve(const std::string& name) {
    api::CertificateSigningRequest csr = Get(name);
    auto* cond = csr.mutable_status()->add_conditions();
    cond->set_type("Approved");
    cond->set_status("True");
    cond->set_reason("KubectlApprove");
    auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Update(CsrKind(), csr, std::move(d), "status"); });
    ASSERT_TRUE(r.ok()) << r.Describe();
  }
  const api::CertificateSigningRequestCondition* Cond(const api::CertificateSigningRequest& csr, const std::string& type) {
    for (const auto& cond : csr.status().conditions()) {
      if (cond.type() == type) return &cond;
    }
    return nullptr;
  }

  CmCluster c;
  std::string ca_cert, ca_key;
  client::ApiClient* bootstrap = nullptr;
  client::ApiClient* bob = nullptr;
};

TEST_F(CsrTest, ABootstrapTokenUsersNodeClientCsrIsApprovedAndSigned) {
  Start();
  auto csr = MakeCsr("node-csr-1", "system:node:worker-1", "system:nodes", kKubeletClientSigner,
                     {"digital signature", "client auth"});
  csr.mutable_spec()->set_username("system:node:worker-1");  // a claim the apiserver overwrites
  auto r = CreateAs(bootstrap, csr);
  ASSERT_TRUE(r.ok()) << r.Describe();
  c.Run(Seconds(2));
  const auto got = Get("node-csr-1");
  EXPECT_EQ(got.spec().username(), kBootstrapUser);
  const auto* approved = Cond(got, "Approved");
  ASSERT_NE(approved, nullptr);
  EXPECT_EQ(approved->reason(), "AutoApproved");
  EXPECT_EQ(approved->message(), "Auto approving kubelet client certificate after SubjectAccessReview.");
  ASSERT_FALSE(got.status().certificate().empty());
  const Cert cert = ReadCert(got.status().certificate(), ca_cert);
  EXPECT_EQ(cert.cn, "system:node:worker-1");
  EXPECT_EQ(cert.o, "system:nodes");
  EXPECT_EQ(cert.issuer_cn, "kubernetes");
  EXPECT_TRUE(cert.verifies);
  EXPECT_TRUE(cert.client_auth);
  EXPECT_FALSE(cert.server_auth);
  EXPECT_TRUE(cert.digital_signature);
  EXPECT_FALSE(cert.is_ca);
  EXPECT_EQ(cert.lifetime, 365 * 86400 + 300) << "--cluster-signing-duration, backdated 5 minutes";
  EXPECT_TRUE(c.violations.empty());
}

TEST_F(CsrTest, OthersAndOtherSubjectsAreNotAutoApproved) {
  Start();
  ASSERT_TRUE(CreateAs(bob, MakeCsr("from-bob", "system:node:worker-1", "system:nodes", kKubeletClientSigner,
                                    {"digital signature", "client auth"}))
                  .ok());
  ASSERT_TRUE(CreateAs(bootstrap, MakeCsr("wrong-org", "system:node:worker-1", "system:masters", kKubeletClientSigner,
                                          {"digital signature", "client auth"}))
                  .ok());
  ASSERT_TRUE(CreateAs(bootstrap, MakeCsr("server-usage", "system:node:worker-1", "system:nodes",
                                          kKubeletClientSigner, {"digital signature", "server auth"}))
                  .ok());
  c.Run(Seconds(30));
  for (const char* name : {"from-bob", "wrong-org", "server-usage"}) {
    const auto got = Get(name);
    EXPECT_EQ(Cond(got, "Approved"), nullptr) << name;
    EXPECT_TRUE(got.status().certificate().empty()) << name;
  }
  EXPECT_EQ(Get("from-bob").spec().username(), "bob");
  // Approved by hand, bob's request is signed: the signer does not care who asked.
  Approve("from-bob");
  c.Run(Seconds(2));
  EXPECT_FALSE(Get("from-bob").status().certificate().empty());
  // An approved request the signer's rules refuse fails.
  Approve("wrong-org");
  c.Run(Seconds(2));
  const auto failed = Get("wrong-org");
  ASSERT_NE(Cond(failed, "Failed"), nullptr);
  EXPECT_EQ(Cond(failed, "Failed")->reason(), "SignerValidationFailure");
  EXPECT_EQ(Cond(failed, "Failed")->message(), "subject organization is not system:nodes");
  EXPECT_TRUE(failed.status().certificate().empty());
}

TEST_F(CsrTest, KubeletServingNeedsASanAndExpirationSecondsShortensTheLifetime) {
  Start();
  auto serving = MakeCsr("serving", "system:node:worker-1", "system:nodes", kKubeletServingSigner,
                         {"digital signature", "key encipherment", "server auth"}, {"worker-1.example"});
  serving.mutable_spec()->set_expiration_seconds(3600);
  ASSERT_TRUE(c.Create(serving).ok());
  ASSERT_TRUE(c.Create(MakeCsr("no-san", "system:node:worker-1", "system:nodes", kKubeletServingSigner,
                               {"digital signature", "server auth"}))
                  .ok());
  c.Run(Seconds(5));
  EXPECT_EQ(Cond(Get("serving"), "Approved"), nullptr) << "serving certificates are approved by hand";
  Approve("serving");
  Approve("no-san");
  c.Run(Seconds(2));
  const auto got = Get("serving");
  ASSERT_FALSE(got.status().certificate().empty());
  const Cert cert = ReadCert(got.status().certificate(), ca_cert);
  EXPECT_TRUE(cert.server_auth);
  EXPECT_FALSE(cert.client_auth);
  EXPECT_EQ(cert.dns, std::vector<std::string>{"worker-1.example"});
  EXPECT_EQ(cert.lifetime, 3600 + 300);
  EXPECT_TRUE(cert.verifies);
  const auto no_san = Get("no-san");
  ASSERT_NE(Cond(no_san, "Failed"), nullptr);
  EXPECT_EQ(Cond(no_san, "Failed")->message(), "DNS or IP subjectAltName is required");
}

// The leader dies before the request arrives; the other replica approves and signs it with
// the same CA (both were given the same files).
TEST_F(CsrTest, AFailoverSignsWithTheSameCa) {
  Start(2);
  const int leader = c.Leader();
  ASSERT_NE(leader, 0);
  c.ManagerHost(leader).CrashProcess("controller-manager");
  ASSERT_TRUE(CreateAs(bootstrap, MakeCsr("node-csr-2", "system:node:worker-2", "system:nodes", kKubeletClientSigner,
                                          {"digital signature", "key encipherment", "client auth"}))
                  .ok());
  c.Run(Seconds(30));
  const auto got = Get("node-csr-2");
  ASSERT_FALSE(got.status().certificate().empty());
  EXPECT_TRUE(ReadCert(got.status().certificate(), ca_cert).verifies);
  EXPECT_TRUE(c.violations.empty());
}

TEST(CertSigner, SameSeedSameCertificateBytes) {
  std::string pems[2];
  for (auto& pem : pems) {
    SeededEntropy e(42);
    std::string ca, key, csr;
    ASSERT_TRUE(GenerateCa(e, "kubernetes", 1'700'000'000, 3650, &ca, &key).ok());
    ASSERT_TRUE(GenerateCsr(e, "system:node:n", {"system:nodes"}, {}, &csr).ok());
    Status s;
    auto signer = CertSigner::Load(ca, key, &s);
    ASSERT_NE(signer, nullptr) << s.message();
    SignParams p{{"digital signature", "client auth"}, 1'700'000'000, 1'700'003'600, 1, 2};
    ASSERT_TRUE(signer->Sign(csr, p, &pem).ok());
  }
  EXPECT_EQ(pems[0], pems[1]);
  Status s;
  EXPECT_EQ(CertSigner::Load("junk", "junk", &s), nullptr);
  EXPECT_EQ(s.message(), "--cluster-signing-cert-file: no PEM certificate");
}

}  // namespace
}  // namespace ksim::controllers::testing
