// libFuzzer target: the JWT reader of bound service-account tokens (base64url, the
// compact-form parser, claim decoding, and the authenticator's whole check). Invariants:
// no crash; a decodable base64url text re-encodes to itself (one encoding per byte
// string); nothing the fuzzer makes authenticates (it cannot forge the signature).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "cluster/apiserver/auth/authn.h"

namespace {

const ksim::apiserver::TokenAuthenticator& Authenticator() {
  static const auto* const auth = [] {
    auto* a = new ksim::apiserver::TokenAuthenticator();
    ksim::SeededEntropy entropy(1);
    std::shared_ptr<const ksim::apiserver::JwtKey> key = ksim::apiserver::JwtKey::Ed25519FromEntropy(entropy);
    a->EnableBoundTokens(key, "https://kubernetes.default.svc.cluster.local", {"https://kubernetes.default.svc.cluster.local"},
                         [](std::string_view, std::string_view, std::string_view) {
                           return std::optional<ksim::apiserver::BoundObjectState>(
                               ksim::apiserver::BoundObjectState{"uid", 0});
                         });
    return a;
  }();
  return *auth;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::string bytes;
  if (ksim::apiserver::Base64UrlDecode(text, &bytes) && ksim::apiserver::Base64UrlEncode(bytes) != text) std::abort();
  ksim::apiserver::Jws jws;
  if (ksim::apiserver::ParseJws(text, &jws).ok()) {
    ksim::apiserver::BoundTokenClaims claims;
    (void)ksim::apiserver::DecodeBoundTokenClaims(jws.claims, &claims);
  }
  // The payload alone, as claims (reaches the claim decoder without a valid JWS around it).
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_object()) {
    ksim::apiserver::BoundTokenClaims claims;
    (void)ksim::apiserver::DecodeBoundTokenClaims(j, &claims);
  }
  if (Authenticator().Authenticate(text, 1'800'000'000).has_value()) std::abort();
  return 0;
}
