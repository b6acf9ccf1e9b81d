#include "cluster/controllers/cert_signer.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <set>

namespace ksim::controllers {
namespace {

template <typename T, void (*F)(T*)>
struct Free {
  void operator()(T* p) const { F(p); }
};
using Bio = std::unique_ptr<BIO, Free<BIO, BIO_free_all>>;
using Pkey = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Free<X509, X509_free>>;
using Req = std::unique_ptr<X509_REQ, Free<X509_REQ, X509_REQ_free>>;
using Bn = std::unique_ptr<BIGNUM, Free<BIGNUM, BN_free>>;
void FreeNames(GENERAL_NAMES* n) { GENERAL_NAMES_free(n); }
using Names = std::unique_ptr<GENERAL_NAMES, Free<GENERAL_NAMES, FreeNames>>;
void FreeExts(STACK_OF(X509_EXTENSION) * e) { sk_X509_EXTENSION_pop_free(e, X509_EXTENSION_free); }
using Exts = std::unique_ptr<STACK_OF(X509_EXTENSION), Free<STACK_OF(X509_EXTENSION), FreeExts>>;

Bio MemBio(const std::string& s) { return Bio(BIO_new_mem_buf(s.data(), static_cast<int>(s.size()))); }
std::string BioString(BIO* b) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  return std::string(data, static_cast<size_t>(n));
}

Pkey Ed25519FromEntropy(Entropy& entropy) {
  std::array<unsigned char, 32> seed{};
  for (size_t i = 0; i < seed.size(); i += 8) {
    uint64_t v = entropy.Next64();
    for (size_t j = 0; j < 8; ++j) seed[i + j] = static_cast<unsigned char>(v >> (8 * j));
  }
  return Pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
}

// Ed25519 signs without a digest; other keys with SHA-256.
const EVP_MD* DigestFor(EVP_PKEY* key) { return EVP_PKEY_id(key) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256(); }

void SetSerial(X509* x, uint64_t hi, uint64_t lo) {
  std::array<unsigned char, 16> b{};
  for (int i = 0; i < 8; ++i) {
    b[static_cast<size_t>(i)] = static_cast<unsigned char>(hi >> (56 - 8 * i));
    b[static_cast<size_t>(8 + i)] = static_cast<unsigned char>(lo >> (56 - 8 * i));
  }
  b[0] &= 0x7f;  // positive
  Bn bn(BN_bin2bn(b.data(), static_cast<int>(b.size()), nullptr));
  BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(x));
}

bool AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

std::string Text(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<size_t>(ASN1_STRING_length(s)));
}

Status ParseRequest(const std::string& pem, Req* out) {
  Bio b = MemBio(pem);
  Req req(PEM_read_bio_X509_REQ(b.get(), nullptr, nullptr, nullptr));
  if (req == nullptr) return Status::InvalidArgument("PEM block type must be CERTIFICATE REQUEST");
  EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());
  if (key == nullptr || X509_REQ_verify(req.get(), key) != 1) return Status::InvalidArgument("invalid request signature");
  *out = std::move(req);
  return Status::Ok();
}

int64_t AsnSeconds(const ASN1_TIME* t) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  // Days from civil (UTC), avoiding timegm's environment (TZ) lookups.
  int64_t y = tm.tm_year + 1900;
  const int64_t m = tm.tm_mon + 1;
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + tm.tm_mday - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = era * 146097 + doe - 719468;
  return days * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
}

}  // namespace

struct CertSigner::Impl {
  X509Ptr cert;
  Pkey key;
};

CertSigner::~CertSigner() = default;

Status ParseCsr(const std::string& pem, CsrInfo* out) {
  Req req;
  if (Status s = ParseRequest(pem, &req); !s.ok()) return s;
  *out = CsrInfo{};
  X509_NAME* subject = X509_REQ_get_subject_name(req.get());
  for (int i = 0; i < X509_NAME_entry_count(subject); ++i) {
    X509_NAME_ENTRY* e = X509_NAME_get_entry(subject, i);
    const int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
    if (nid == NID_commonName) out->common_name = Text(X509_NAME_ENTRY_get_data(e));
    if (nid == NID_organizationName) out->organizations.push_back(Text(X509_NAME_ENTRY_get_data(e)));
  }
  Exts exts(X509_REQ_get_extensions(req.get()));
  if (exts != nullptr) {
    Names names(static_cast<GENERAL_NAMES*>(X509V3_get_d2i(exts.get(), NID_subject_alt_name, nullptr, nullptr)));
    for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names.get()); ++i) {
      const GENERAL_NAME* n = sk_GENERAL_NAME_value(names.get(), i);
      if (n->type == GEN_DNS) {
        out->dns_names.push_back(Text(n->d.dNSName));
      } else if (n->type == GEN_IPADD) {
        ASN1_OCTET_STRING* ip = n->d.iPAddress;
        std::string s;
        if (ASN1_STRING_length(ip) == 4) {
          const unsigned char* d = ASN1_STRING_get0_data(ip);
          s = std::to_string(d[0]) + "." + std::to_string(d[1]) + "." + std::to_string(d[2]) + "." + std::to_string(d[3]);
        } else {
          s = "ipv6";
        }
        out->ip_addresses.push_back(s);
      } else {
        ++out->other_sans;
      }
    }
  }
  return Status::Ok();
}

std::unique_ptr<CertSigner> CertSigner::Load(const std::string& cert_pem, const std::string& key_pem, Status* status) {
  auto signer = std::unique_ptr<CertSigner>(new CertSigner());
  signer->impl_ = std::make_unique<Impl>();
  Bio cb = MemBio(cert_pem);
  signer->impl_->cert.reset(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
  Bio kb = MemBio(key_pem);
  signer->impl_->key.reset(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  if (signer->impl_->cert == nullptr) {
    *status = Status::InvalidArgument("--cluster-signing-cert-file: no PEM certificate");
    return nullptr;
  }
  if (signer->impl_->key == nullptr) {
    *status = Status::InvalidArgument("--cluster-signing-key-file: no PEM private key");
    return nullptr;
  }
  if (X509_check_private_key(signer->impl_->cert.get(), signer->impl_->key.get()) != 1) {
    *status = Status::InvalidArgument("--cluster-signing-key-file: the key does not match the certificate");
    return nullptr;
  }
  signer->cert_pem_ = cert_pem;
  signer->not_after_ = AsnSeconds(X509_get0_notAfter(signer->impl_->cert.get()));
  *status = Status::Ok();
  return signer;
}

Status CertSigner::Sign(const std::string& csr_pem, const SignParams& p, std::string* cert_pem) const {
  if (p.not_before >= not_after_) return Status::InvalidArgument("the signer has expired");
  Req req;
  if (Status s = ParseRequest(csr_pem, &req); !s.ok()) return s;
  X509Ptr x(X509_new());
  X509* ca = impl_->cert.get();
  X509_set_version(x.get(), 2);
  SetSerial(x.get(), p.serial_hi, p.serial_lo);
  X509_set_subject_name(x.get(), X509_REQ_get_subject_name(req.get()));
  X509_set_issuer_name(x.get(), X509_get_subject_name(ca));
  ASN1_TIME_set(X509_getm_notBefore(x.get()), static_cast<time_t>(p.not_before));
  ASN1_TIME_set(X509_getm_notAfter(x.get()), static_cast<time_t>(std::min(p.not_after, not_after_)));
  X509_set_pubkey(x.get(), X509_REQ_get0_pubkey(req.get()));
  std::set<std::string> usages(p.usages.begin(), p.usages.end());
  std::string ku = "critical";
  if (usages.count("digital signature")) ku += ",digitalSignature";
  if (usages.count("key encipherment")) ku += ",keyEncipherment";
  std::string eku;
  if (usages.count("client auth")) eku += "clientAuth";
  if (usages.count("server auth")) eku += std::string(eku.empty() ? "" : ",") + "serverAuth";
  bool ok = AddExt(x.get(), ca, NID_basic_constraints, "critical,CA:FALSE") &&
            (ku == "critical" || AddExt(x.get(), ca, NID_key_usage, ku.c_str())) &&
            (eku.empty() || AddExt(x.get(), ca, NID_ext_key_usage, eku.c_str())) &&
            AddExt(x.get(), ca, NID_authority_key_identifier, "keyid:always");
  Exts exts(X509_REQ_get_extensions(req.get()));
  if (ok && exts != nullptr) {
    Names names(static_cast<GENERAL_NAMES*>(X509V3_get_d2i(exts.get(), NID_subject_alt_name, nullptr, nullptr)));
    if (names != nullptr) ok = X509_add1_ext_i2d(x.get(), NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) == 1;
  }
  if (!ok) return Status::IOError("building the certificate's extensions failed");
  if (X509_sign(x.get(), impl_->key.get(), DigestFor(impl_->key.get())) == 0) return Status::IOError("signing failed");
  Bio out(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(out.get(), x.get());
  *cert_pem = BioString(out.get());
  return Status::Ok();
}

Status GenerateCa(Entropy& entropy, const std::string& common_name, int64_t not_before, int days, std::string* cert_pem,
                  std::string* key_pem) {
  Pkey key = Ed25519FromEntropy(entropy);
  X509Ptr x(X509_new());
  X509_set_version(x.get(), 2);
  const uint64_t hi = entropy.Next64(), lo = entropy.Next64();
  SetSerial(x.get(), hi, lo);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  ASN1_TIME_set(X509_getm_notBefore(x.get()), static_cast<time_t>(not_before));
  ASN1_TIME_set(X509_getm_notAfter(x.get()), static_cast<time_t>(not_before + int64_t{days} * 86400));
  X509_set_pubkey(x.get(), key.get());
  if (!AddExt(x.get(), x.get(), NID_basic_constraints, "critical,CA:TRUE") ||
      !AddExt(x.get(), x.get(), NID_key_usage, "critical,digitalSignature,keyCertSign") ||
      !AddExt(x.get(), x.get(), NID_subject_key_identifier, "hash")) {
    return Status::IOError("building the CA's extensions failed");
  }
  if (X509_sign(x.get(), key.get(), nullptr) == 0) return Status::IOError("signing the CA failed");
  Bio c(BIO_new(BIO_s_mem())), k(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(c.get(), x.get());
  PEM_write_bio_PrivateKey(k.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  *cert_pem = BioString(c.get());
  *key_pem = BioString(k.get());
  return Status::Ok();
}

Status GenerateCsr(Entropy& entropy, const std::string& common_name, const std::vector<std::string>& organizations,
                   const std::vector<std::string>& dns_names, std::string* csr_pem, std::string* key_pem) {
  Pkey key = Ed25519FromEntropy(entropy);
  Req req(X509_REQ_new());
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  for (const auto& o : organizations) {
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(o.c_str()), -1, -1, 0);
  }
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0);
  X509_REQ_set_pubkey(req.get(), key.get());
  if (!dns_names.empty()) {
    std::string sans;
    for (const auto& d : dns_names) sans += (sans.empty() ? "DNS:" : ",DNS:") + d;
    Exts exts(sk_X509_EXTENSION_new_null());
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, sans.c_str());
    if (ext == nullptr) return Status::InvalidArgument("bad DNS name");
    sk_X509_EXTENSION_push(exts.get(), ext);
    X509_REQ_add_extensions(req.get(), exts.get());
  }
  if (X509_REQ_sign(req.get(), key.get(), nullptr) == 0) return Status::IOError("signing the request failed");
  Bio out(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(out.get(), req.get());
  *csr_pem = BioString(out.get());
  if (key_pem != nullptr) {
    Bio k(BIO_new(BIO_s_mem()));
    PEM_write_bio_PrivateKey(k.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    *key_pem = BioString(k.get());
  }
  return Status::Ok();
}

}  // namespace ksim::controllers
