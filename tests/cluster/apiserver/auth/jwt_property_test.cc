// Malformed bound tokens, as a RapidCheck property (the fuzz target fuzz_jwt explores the
// same reader with coverage guidance): a valid token with random bytes changed, cut or
// inserted never authenticates and never crashes the reader; unchanged, it does.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "cluster/apiserver/auth/authn.h"

namespace ksim::apiserver {
namespace {

constexpr char kIssuer[] = "https://kubernetes.default.svc.cluster.local";
constexpr int64_t kNow = 1'800'000'000;

RC_GTEST_PROP(JwtProperty, AChangedTokenNeverAuthenticates, ()) {
  SeededEntropy entropy(*rc::gen::arbitrary<uint64_t>());
  std::shared_ptr<const JwtKey> key = JwtKey::Ed25519FromEntropy(entropy);
  TokenAuthenticator auth;
  auth.EnableBoundTokens(key, kIssuer, {kIssuer}, [](std::string_view, std::string_view, std::string_view) {
    return std::optional<BoundObjectState>(BoundObjectState{"uid", 0});
  });
  BoundTokenClaims c;
  c.issuer = kIssuer;
  c.audiences = {kIssuer};
  c.namespace_ = "ns";
  c.service_account_name = "sa";
  c.service_account_uid = "uid";
  c.bound_kind = *rc::gen::element<std::string>("", "Pod", "Secret");
  c.bound_name = "x";
  c.bound_uid = "uid";
  c.issued_at_s = kNow;
  c.expires_at_s = kNow + 3600;
  std::string token;
  RC_ASSERT(key->Sign(EncodeBoundTokenClaims(c), &token).ok());
  RC_ASSERT(auth.Authenticate(token, kNow).has_value());

  std::string changed = token;
  const int edits = *rc::gen::inRange(1, 4);
  for (int i = 0; i < edits; ++i) {
    const size_t at = *rc::gen::inRange<size_t>(0, changed.size());
    switch (*rc::gen::inRange(0, 3)) {
      case 0:
        changed[at] = *rc::gen::arbitrary<char>();
        break;
      case 1:
        changed.erase(at, *rc::gen::inRange<size_t>(1, 8));
        break;
      default:
        changed.insert(at, 1, *rc::gen::element('.', '=', 'A', '_', '-', '{', '\0'));
        break;
    }
    if (changed.empty()) changed = ".";
  }
  RC_PRE(changed != token);
  // Base64url has slack only where the encoding is non-canonical, which decoding refuses;
  // any other change alters the signed bytes or the signature.
  RC_ASSERT(!auth.Authenticate(changed, kNow).has_value());
}

}  // namespace
}  // namespace ksim::apiserver
