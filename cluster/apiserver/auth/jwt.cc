#include "cluster/apiserver/auth/jwt.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <array>
#include <vector>

namespace ksim::apiserver {
namespace {

template <typename T, void (*F)(T*)>
struct Free {
  void operator()(T* p) const { F(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY, EVP_PKEY_free>>;
using Bio = std::unique_ptr<BIO, Free<BIO, BIO_free_all>>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, Free<EVP_MD_CTX, EVP_MD_CTX_free>>;
using EcdsaSig = std::unique_ptr<ECDSA_SIG, Free<ECDSA_SIG, ECDSA_SIG_free>>;

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr size_t kEs256Half = 32;  // P-256: r and s are 32 bytes each in a JWS

int DecodeChar(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// ECDSA signatures: OpenSSL speaks DER, JWS (RFC 7518 §3.4) the fixed-width r || s.
bool DerToRaw(const std::string& der, std::string* raw) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  EcdsaSig sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) return false;
  raw->assign(2 * kEs256Half, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw->data());
  return BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out, kEs256Half) == kEs256Half &&
         BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out + kEs256Half, kEs256Half) == kEs256Half;
}

bool RawToDer(const std::string& raw, std::string* der) {
  if (raw.size() != 2 * kEs256Half) return false;
  const auto* in = reinterpret_cast<const unsigned char*>(raw.data());
  EcdsaSig sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(in, kEs256Half, nullptr);
  BIGNUM* s = BN_bin2bn(in + kEs256Half, kEs256Half, nullptr);
  if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return false;
  }
  unsigned char* buf = nullptr;
  const int n = i2d_ECDSA_SIG(sig.get(), &buf);
  if (n <= 0) return false;
  der->assign(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
  OPENSSL_free(buf);
  return true;
}

}  // namespace

struct JwtKey::Impl {
  Pkey key;
};

JwtKey::~JwtKey() = default;

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                       (uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8) | static_cast<unsigned char>(bytes[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(kAlphabet[(v >> shift) & 63]);
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t{static_cast<unsigned char>(bytes[i])} << 16;
    if (rest == 2) v |= uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    if (rest == 2) out.push_back(kAlphabet[(v >> 6) & 63]);
  }
  return out;
}

bool Base64UrlDecode(std::string_view text, std::string* bytes) {
  bytes->clear();
  if (text.size() % 4 == 1) return false;  // no whole byte ends there
  bytes->reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const int v = DecodeChar(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // Leftover bits must be zero: otherwise two texts would decode to the same bytes.
  return (acc & ((1u << bits) - 1)) == 0;
}

Status ParseJws(std::string_view token, Jws* out) {
  if (token.size() > kMaxJwtBytes) return Status::InvalidArgument("token longer than " + std::to_string(kMaxJwtBytes) + " bytes");
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Status::InvalidArgument("not three dot-separated parts");
  }
  std::string header, payload;
  if (!Base64UrlDecode(token.substr(0, dot1), &header)) return Status::InvalidArgument("header is not base64url");
  if (!Base64UrlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1), &payload)) {
    return Status::InvalidArgument("payload is not base64url");
  }
  if (!Base64UrlDecode(token.substr(dot2 + 1), &out->signature)) return Status::InvalidArgument("signature is not base64url");
  out->header = nlohmann::json::parse(header, nullptr, false);
  if (!out->header.is_object()) return Status::InvalidArgument("header is not a JSON object");
  const auto alg = out->header.find("alg");
  if (alg == out->header.end() || !alg->is_string()) return Status::InvalidArgument("header has no string \"alg\"");
  out->claims = nlohmann::json::parse(payload, nullptr, false);
  if (!out->claims.is_object()) return Status::InvalidArgument("payload is not a JSON object");
  out->signing_input = std::string(token.substr(0, dot2));
  return Status::Ok();
}

std::unique_ptr<JwtKey> JwtKey::FromPem(const std::string& pem, Status* status) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Pkey key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) {
    *status = Status::InvalidArgument("service account signing key: not a PEM private key");
    return nullptr;
  }
  std::string alg;
  if (EVP_PKEY_get_id(key.get()) == EVP_PKEY_ED25519) {
    alg = "EdDSA";
  } else if (EVP_PKEY_get_id(key.get()) == EVP_PKEY_RSA) {
    if (EVP_PKEY_get_bits(key.get()) < 2048) {
      *status = Status::InvalidArgument("service account signing key: RSA keys must have at least 2048 bits");
      return nullptr;
    }
    alg = "RS256";
  } else if (EVP_PKEY_get_id(key.get()) == EVP_PKEY_EC) {
    std::array<char, 64> group{};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(key.get(), group.data(), group.size(), &len) != 1 ||
        std::string_view(group.data(), len) != "prime256v1") {
      *status = Status::InvalidArgument("service account signing key: EC keys must be on P-256 (ES256)");
      return nullptr;
    }
    alg = "ES256";
  } else {
    *status = Status::InvalidArgument("service account signing key: want an RSA, EC P-256 or Ed25519 key");
    return nullptr;
  }
  auto out = std::unique_ptr<JwtKey>(new JwtKey());
  unsigned char* der = nullptr;
  const int n = i2d_PUBKEY(key.get(), &der);
  if (n <= 0) {
    *status = Status::NotSupported("service account signing key: cannot encode the public key");
    return nullptr;
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_len = 0;
  EVP_Digest(der, static_cast<size_t>(n), digest.data(), &digest_len, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  out->key_id_ = Base64UrlEncode(std::string_view(reinterpret_cast<char*>(digest.data()), digest_len));
  out->alg_ = std::move(alg);
  out->impl_ = std::make_unique<Impl>();
  out->impl_->key = std::move(key);
  *status = Status::Ok();
  return out;
}

std::unique_ptr<JwtKey> JwtKey::Ed25519FromEntropy(Entropy& entropy) {
  std::array<unsigned char, 32> seed{};
  for (size_t i = 0; i < seed.size(); i += 8) {
    uint64_t v = entropy.Next64();
    for (size_t j = 0; j < 8; ++j, v >>= 8) seed[i + j] = static_cast<unsigned char>(v & 0xff);
  }
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  Bio bio(BIO_new(BIO_s_mem()));
  if (!key || !bio || PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return nullptr;
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  Status ignored;
  return FromPem(std::string(data, static_cast<size_t>(len)), &ignored);
}

std::string JwtKey::PrivateKeyPem() const {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), impl_->key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return {};
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

Status JwtKey::Sign(const nlohmann::json& claims, std::string* token) const {
  const nlohmann::json header = {{"alg", alg_}, {"kid", key_id_}};
  // dump() writes object keys in sorted order: the same claims give the same bytes.
  std::string input = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims.dump());
  MdCtx ctx(EVP_MD_CTX_new());
  const EVP_MD* md = alg_ == "EdDSA" ? nullptr : EVP_sha256();  // Ed25519 hashes internally
  size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, impl_->key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, in, input.size()) != 1) {
    return Status::NotSupported("cannot sign the token");
  }
  std::string signature(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len, in, input.size()) != 1) {
    return Status::NotSupported("cannot sign the token");
  }
  signature.resize(len);
  if (alg_ == "ES256") {
    std::string raw;
    if (!DerToRaw(signature, &raw)) return Status::NotSupported("cannot encode the ECDSA signature");
    signature = std::move(raw);
  }
  *token = std::move(input) + "." + Base64UrlEncode(signature);
  return Status::Ok();
}

bool JwtKey::Verify(const Jws& jws) const {
  if (jws.header.value("alg", "") != alg_) return false;
  if (const auto kid = jws.header.find("kid"); kid != jws.header.end() && (!kid->is_string() || *kid != key_id_)) {
    return false;
  }
  std::string signature = jws.signature;
  if (alg_ == "ES256") {
    std::string der;
    if (!RawToDer(jws.signature, &der)) return false;
    signature = std::move(der);
  }
  MdCtx ctx(EVP_MD_CTX_new());
  const EVP_MD* md = alg_ == "EdDSA" ? nullptr : EVP_sha256();
  return ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, impl_->key.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(jws.signing_input.data()),
                          jws.signing_input.size()) == 1;
}

}  // namespace ksim::apiserver
