// JSON Web Tokens (RFC 7519) in JWS compact form (RFC 7515) for bound service-account
// tokens: base64url (RFC 4648 §5), the parser, and a key that signs and verifies with
// RS256, ES256 or EdDSA (Ed25519, RFC 8037) over OpenSSL. See docs/AUTH.md.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <string_view>

#include "cluster/env/entropy.h"
#include "cluster/env/status.h"

namespace ksim::apiserver {

// The longest token Parse accepts: Kubernetes' tokens are under 2 KiB; a bound is what
// keeps a hostile header from costing the apiserver a large JSON parse per request.
inline constexpr size_t kMaxJwtBytes = 16 << 10;

// Base64url without padding. Decode is strict: no padding, no other alphabet, and unused
// low bits of the last character must be zero, so one byte string has one encoding.
std::string Base64UrlEncode(std::string_view bytes);
bool Base64UrlDecode(std::string_view text, std::string* bytes);

// A compact JWS split and decoded, its signature not yet checked.
struct Jws {
  std::string signing_input;  // "<header>.<payload>" as sent
  nlohmann::json header;      // a JSON object with a string "alg"
  nlohmann::json claims;      // the payload: a JSON object
  std::string signature;      // raw bytes
};

// Parses `token`; the error says which part is malformed (never quoting the token).
Status ParseJws(std::string_view token, Jws* out);

class JwtKey {
 public:
  ~JwtKey();
  // A private key in PEM (PKCS#8, or PKCS#1 RSA / SEC1 EC), what
  // --service-account-signing-key-file holds: RSA (≥ 2048 bits) signs RS256, EC P-256
  // ES256, Ed25519 EdDSA. Null and *status set otherwise.
  static std::unique_ptr<JwtKey> FromPem(const std::string& pem, Status* status);
  // An Ed25519 key from 32 bytes of entropy (the simulated world, tests).
  static std::unique_ptr<JwtKey> Ed25519FromEntropy(Entropy& entropy);

  const std::string& alg() const { return alg_; }
  // Kubernetes' key id: base64url(SHA-256(the public key's PKIX DER)).
  const std::string& key_id() const { return key_id_; }
  // The private key as PKCS#8 PEM (to hand the same key to every apiserver).
  std::string PrivateKeyPem() const;

  // A token carrying `claims`, with header {"alg","kid"}. RS256 and EdDSA give the same
  // bytes for the same key and claims; ES256 (OpenSSL's ECDSA) does not.
  Status Sign(const nlohmann::json& claims, std::string* token) const;
  // True when the header's alg is this key's (no "none", no algorithm substitution), its
  // kid (if any) is this key's, and the signature verifies over the signing input.
  bool Verify(const Jws& jws) const;

 private:
  JwtKey() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string alg_;
  std::string key_id_;
};

}  // namespace ksim::apiserver
