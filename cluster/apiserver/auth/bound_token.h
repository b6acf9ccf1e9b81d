// Bound service-account tokens (Kubernetes' TokenRequest tokens): the claims a token
// carries, and their validation against the apiserver's clock and caches. The JWT
// itself (signature, encoding) is jwt.h. See docs/AUTH.md.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/env/status.h"

namespace ksim::apiserver {

// go-jose's jwt.DefaultLeeway (1 minute). Kubernetes' service-account validator
// (pkg/serviceaccount/claims.go) calls Claims.Validate(jwt.Expected{Time: now}), which
// allows it on nbf (now+leeway < nbf: not valid yet), exp (now-leeway > exp: expired) and
// iat (now+leeway < iat: issued in the future), and counts a bound object (account, pod,
// secret) as deleted only once its deletionTimestamp is before now-leeway.
inline constexpr int64_t kBoundTokenLeewaySeconds = 60;
inline constexpr std::string_view kPodNameExtra = "authentication.kubernetes.io/pod-name";
inline constexpr std::string_view kPodUidExtra = "authentication.kubernetes.io/pod-uid";
inline constexpr std::string_view kCredentialIdExtra = "authentication.kubernetes.io/credential-id";

struct BoundTokenClaims {
  std::string issuer;
  std::vector<std::string> audiences;
  std::string namespace_;
  std::string service_account_name;
  std::string service_account_uid;
  std::string bound_kind;  // "Pod", "Secret", or "" (bound to the account only)
  std::string bound_name;
  std::string bound_uid;
  int64_t issued_at_s = 0;  // iat (0: absent)
  std::optional<int64_t> not_before_s;  // nbf; ksim's tokens write it equal to iat
  int64_t expires_at_s = 0;
  std::string jti;
};

// iss, sub, aud (a list), exp, iat, nbf, jti and the "kubernetes.io" claim.
nlohmann::json EncodeBoundTokenClaims(const BoundTokenClaims& c);
// The reverse; the error names the claim that is missing or of the wrong type.
Status DecodeBoundTokenClaims(const nlohmann::json& claims, BoundTokenClaims* out);

// An object a token names, as the apiserver's watch cache has it.
struct BoundObjectState {
  std::string uid;
  int64_t deletion_s = 0;  // metadata.deletionTimestamp in seconds, 0 when not set
};
// Looks up (resource, namespace, name): "serviceaccounts", "pods" or "secrets".
using BoundObjectLookup =
    std::function<std::optional<BoundObjectState>(std::string_view resource, std::string_view namespace_,
                                                  std::string_view name)>;

// Checks issuer, audience (one of `audiences`), the time window with the leeway, and that
// the account and the bound object still exist with the token's uids and are not past
// their deletion timestamp. Returns the reason the token is refused, "" if accepted.
std::string CheckBoundTokenClaims(const BoundTokenClaims& c, const std::string& issuer,
                                  const std::vector<std::string>& audiences, int64_t now_s,
                                  const BoundObjectLookup& lookup);

}  // namespace ksim::apiserver
