// Bearer-token authentication: Kubernetes' static token file and its legacy,
// secret-based service-account tokens. The apiserver feeds Secrets in through
// AddSecret/RemoveSecret as its watch cache changes and asks Authenticate on every
// request. See docs/AUTH.md.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster/api/core.pb.h"
#include "cluster/apiserver/auth/bound_token.h"
#include "cluster/apiserver/auth/jwt.h"
#include "cluster/env/entropy.h"
#include "cluster/env/status.h"

namespace ksim::apiserver {

// Who a request comes from, as Kubernetes' user.Info.
struct UserInfo {
  std::string name;
  std::string uid;
  std::vector<std::string> groups;
  std::map<std::string, std::vector<std::string>> extra;  // bound tokens: the pod, the token's id

  friend bool operator==(const UserInfo&, const UserInfo&) = default;
};

inline constexpr std::string_view kAuthenticatedGroup = "system:authenticated";
inline constexpr std::string_view kServiceAccountsGroup = "system:serviceaccounts";
inline constexpr std::string_view kServiceAccountUserPrefix = "system:serviceaccount:";
inline constexpr std::string_view kServiceAccountTokenSecretType = "kubernetes.io/service-account-token";
inline constexpr std::string_view kServiceAccountNameAnnotation = "kubernetes.io/service-account.name";
inline constexpr std::string_view kServiceAccountUidAnnotation = "kubernetes.io/service-account.uid";
inline constexpr std::string_view kServiceAccountTokenKey = "token";

// "system:serviceaccount:<namespace>:<name>".
std::string ServiceAccountUserName(std::string_view namespace_, std::string_view name);

class TokenAuthenticator {
 public:
  // Parses Kubernetes' static token file: CSV lines `token,user,uid[,"group1,group2"]`
  // (the uid column may be empty; blank lines and lines starting with `#` are skipped).
  // Errors name `source`, the line and the reason, e.g.
  //   tokens.csv:3: duplicate token (first defined on line 1)
  // On success the static tokens of *out are replaced; on error *out is unchanged.
  static Status ParseTokenFile(std::string_view text, std::string_view source, TokenAuthenticator* out);

  // Adds or replaces the static token `token` (what one line of a token file declares).
  // Returns false (and changes nothing) if the token or user name is empty.
  bool AddStaticToken(std::string token, UserInfo user);

  // Tracks a Secret from the apiserver's cache. A Secret of type
  // kubernetes.io/service-account-token naming its service account in the
  // kubernetes.io/service-account.name annotation, with a non-empty data["token"] and no
  // deletion timestamp, makes that token authenticate as the service account. Any other
  // Secret replaces (and so withdraws) what an earlier version of it carried.
  void AddSecret(const api::Secret& secret);
  void RemoveSecret(std::string_view namespace_, std::string_view name);

  // The user a bearer token authenticates as, or nullopt. A token claimed by more than
  // one identity (two Secrets, or a Secret and the token file) authenticates nobody: an
  // ambiguous credential is refused rather than resolved by an arbitrary rule.
  std::optional<UserInfo> Authenticate(std::string_view bearer_token) const;
  // The same, and then (for a token no static or Secret entry claims) a bound
  // service-account JWT checked against `now_s` (the apiserver's wall clock) and the
  // lookup set with EnableBoundTokens.
  std::optional<UserInfo> Authenticate(std::string_view bearer_token, int64_t now_s) const;

  // Accepts JWTs signed by `key` with issuer `issuer` for one of `audiences`, whose
  // account and bound object `lookup` still finds with the same uids.
  void EnableBoundTokens(std::shared_ptr<const JwtKey> key, std::string issuer, std::vector<std::string> audiences,
                         BoundObjectLookup lookup);
  // Why the last bound token was refused (tests, logs); never part of a reply.
  const std::string& last_bound_token_refusal() const { return last_refusal_; }

  // A fresh opaque token: 256 bits of Entropy as 64 lower-case hex digits. Real hosts
  // draw them from getrandom(2), never from a logged seed; the simulated world replays.
  static std::string NewServiceAccountToken(Entropy& entropy);

  size_t static_token_count() const { return static_tokens_.size(); }
  size_t service_account_token_count() const { return secret_by_token_.size(); }

 private:
  using SecretKey = std::pair<std::string, std::string>;  // (namespace, name)

  std::optional<UserInfo> AuthenticateBoundToken(std::string_view token, int64_t now_s) const;

  std::map<std::string, UserInfo, std::less<>> static_tokens_;
  std::shared_ptr<const JwtKey> bound_key_;
  std::string issuer_;
  std::vector<std::string> audiences_;
  BoundObjectLookup lookup_;
  mutable std::string last_refusal_;
  // The identity each tracked Secret grants, and the reverse index from token to the
  // Secrets holding it (more than one means ambiguous).
  struct SecretToken {
    std::string token;
    UserInfo user;
  };
  std::map<SecretKey, SecretToken> tokens_by_secret_;
  std::map<std::string, std::set<SecretKey>, std::less<>> secret_by_token_;
};

}  // namespace ksim::apiserver
