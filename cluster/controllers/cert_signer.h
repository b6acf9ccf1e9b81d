// X.509 for the CSR controllers, over OpenSSL: parse a PKCS#10 request, sign it with a
// cluster CA, and (for the simulated world and tests) make CAs and requests from Entropy.
// Generated keys are Ed25519, whose signatures are deterministic, so a simulated run that
// signs certificates replays byte for byte; a CA supplied as PEM may be any key type.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cluster/env/entropy.h"
#include "cluster/env/status.h"

namespace ksim::controllers {

// What the controllers check in a CertificateSigningRequest's spec.request.
struct CsrInfo {
  std::string common_name;
  std::vector<std::string> organizations;
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;  // text form
  int other_sans = 0;                     // email, URI, ... (never allowed for kubelet signers)
};
// Parses a PEM "CERTIFICATE REQUEST" and checks its self-signature.
Status ParseCsr(const std::string& pem, CsrInfo* out);

struct SignParams {
  std::vector<std::string> usages;  // Kubernetes' names: "digital signature", "client auth"...
  int64_t not_before = 0;           // seconds since the epoch
  int64_t not_after = 0;            // capped at the CA's own notAfter
  uint64_t serial_hi = 0, serial_lo = 0;
};

class CertSigner {
 public:
  ~CertSigner();
  // A CA from PEM certificate and private key (what --cluster-signing-cert-file and
  // --cluster-signing-key-file hold). Null and *status set when they do not parse or match.
  static std::unique_ptr<CertSigner> Load(const std::string& cert_pem, const std::string& key_pem, Status* status);
  // Signs the request (its subject, its DNS/IP SANs) as a leaf certificate with `params`.
  Status Sign(const std::string& csr_pem, const SignParams& params, std::string* cert_pem) const;
  const std::string& cert_pem() const { return cert_pem_; }
  int64_t not_after() const { return not_after_; }

 private:
  CertSigner() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string cert_pem_;
  int64_t not_after_ = 0;
};

// A self-signed CA (CN `common_name`, Ed25519 key from 32 bytes of entropy) valid from
// `not_before` for `days`: PEM certificate and PKCS#8 private key.
Status GenerateCa(Entropy& entropy, const std::string& common_name, int64_t not_before, int days,
                  std::string* cert_pem, std::string* key_pem);
// A request for CN/O with DNS SANs, signed by a fresh Ed25519 key from entropy (the
// kubelet's side, for tests and the simulated world). The key's PEM goes to *key_pem if set.
Status GenerateCsr(Entropy& entropy, const std::string& common_name, const std::vector<std::string>& organizations,
                   const std::vector<std::string>& dns_names, std::string* csr_pem, std::string* key_pem = nullptr);

}  // namespace ksim::controllers
