#include "cluster/apiserver/auth/authn.h"

#include <algorithm>

namespace ksim::apiserver {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// One CSV record of a single line, split the way Go's encoding/csv reads it with
// TrimLeadingSpace (what Kubernetes' token file reader uses); quoted fields may hold
// commas and doubled quotes but, unlike Go, not line breaks. Returns an empty string on
// success, else the reason.
std::string SplitCsvLine(std::string_view line, std::vector<std::string>* fields) {
  fields->clear();
  size_t i = 0;
  const size_t n = line.size();
  while (true) {
    while (i < n && IsBlank(line[i])) ++i;
    const size_t field_number = fields->size() + 1;
    std::string field;
    if (i < n && line[i] == '"') {
      ++i;
      bool closed = false;
      while (i < n) {
        if (line[i] != '"') {
          field.push_back(line[i++]);
          continue;
        }
        if (i + 1 < n && line[i + 1] == '"') {
          field.push_back('"');
          i += 2;
          continue;
        }
        ++i;
        closed = true;
        break;
      }
      if (!closed) {
        return "quoted field not closed before the end of the line (field " + std::to_string(field_number) + ")";
      }
      if (i < n && line[i] != ',') {
        return "extraneous or missing \" in quoted field (field " + std::to_string(field_number) + ")";
      }
    } else {
      while (i < n && line[i] != ',') {
        if (line[i] == '"') return "bare \" in unquoted field (field " + std::to_string(field_number) + ")";
        field.push_back(line[i++]);
      }
    }
    fields->push_back(std::move(field));
    if (i >= n) return "";
    ++i;  // the comma
  }
}

void AddGroupOnce(std::vector<std::string>* groups, std::string_view group) {
  if (std::find(groups->begin(), groups->end(), group) == groups->end()) groups->emplace_back(group);
}

}  // namespace

std::string ServiceAccountUserName(std::string_view namespace_, std::string_view name) {
  std::string user(kServiceAccountUserPrefix);
  user.append(namespace_).append(":").append(name);
  return user;
}

Status TokenAuthenticator::ParseTokenFile(std::string_view text, std::string_view source, TokenAuthenticator* out) {
  std::map<std::string, UserInfo, std::less<>> tokens;
  std::map<std::string, int, std::less<>> defined_on_line;
  std::vector<std::string> fields;
  int line_number = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') continue;

    auto fail = [&](const std::string& reason) {
      return Status::InvalidArgument(std::string(source) + ":" + std::to_string(line_number) + ": " + reason);
    };
    if (std::string reason = SplitCsvLine(line, &fields); !reason.empty()) return fail(reason);
    if (fields.size() < 3) {
      return fail("want at least 3 columns (token, user name, uid), found " + std::to_string(fields.size()));
    }
    if (fields.size() > 4) {
      return fail("want at most 4 columns (token, user name, uid, groups), found " + std::to_string(fields.size()));
    }
    // Tokens are secrets: messages point at lines, never quote a token.
    if (fields[0].empty()) return fail("empty token");
    if (fields[1].empty()) return fail("missing user name");
    if (auto it = defined_on_line.find(fields[0]); it != defined_on_line.end()) {
      return fail("duplicate token (first defined on line " + std::to_string(it->second) + ")");
    }
    UserInfo user{fields[1], fields[2], {}, {}};
    if (fields.size() == 4) {
      std::string_view groups = fields[3];
      while (!groups.empty()) {
        const size_t comma = groups.find(',');
        const std::string_view group = groups.substr(0, comma);
        // An empty name ("a,,b", a trailing comma) is no group at all.
        if (!group.empty()) AddGroupOnce(&user.groups, group);
        if (comma == std::string_view::npos) break;
        groups.remove_prefix(comma + 1);
      }
    }
    defined_on_line.emplace(fields[0], line_number);
    tokens.emplace(fields[0], std::move(user));
  }
  out->static_tokens_ = std::move(tokens);
  return Status::Ok();
}

bool TokenAuthenticator::AddStaticToken(std::string token, UserInfo user) {
  if (token.empty() || user.name.empty()) return false;
  static_tokens_.insert_or_assign(std::move(token), std::move(user));
  return true;
}

void TokenAuthenticator::AddSecret(const api::Secret& secret) {
  const std::string& namespace_ = secret.metadata().namespace_();
  const std::string& name = secret.metadata().name();
  RemoveSecret(namespace_, name);
  if (secret.type() != kServiceAccountTokenSecretType) return;
  // A Secret being deleted no longer vouches for anyone, as in Kubernetes.
  if (secret.metadata().has_deletion_timestamp()) return;
  const auto& annotations = secret.metadata().annotations();
  const auto sa_name = annotations.find(std::string(kServiceAccountNameAnnotation));
  if (sa_name == annotations.end() || sa_name->second.empty() || namespace_.empty()) return;
  const auto token = secret.data().find(std::string(kServiceAccountTokenKey));
  if (token == secret.data().end() || token->second.empty()) return;

  UserInfo user;
  user.name = ServiceAccountUserName(namespace_, sa_name->second);
  if (const auto uid = annotations.find(std::string(kServiceAccountUidAnnotation)); uid != annotations.end()) {
    user.uid = uid->second;
  }
  user.groups = {std::string(kServiceAccountsGroup), std::string(kServiceAccountsGroup) + ":" + namespace_,
                 std::string(kAuthenticatedGroup)};
  SecretKey key{namespace_, name};
  secret_by_token_[token->second].insert(key);
  tokens_by_secret_.emplace(std::move(key), SecretToken{token->second, std::move(user)});
}

void TokenAuthenticator::RemoveSecret(std::string_view namespace_, std::string_view name) {
  const auto it = tokens_by_secret_.find(SecretKey{std::string(namespace_), std::string(name)});
  if (it == tokens_by_secret_.end()) return;
  const auto holders = secret_by_token_.find(it->second.token);
  if (holders != secret_by_token_.end()) {
    holders->second.erase(it->first);
    if (holders->second.empty()) secret_by_token_.erase(holders);
  }
  tokens_by_secret_.erase(it);
}

std::optional<UserInfo> TokenAuthenticator::Authenticate(std::string_view bearer_token) const {
  if (bearer_token.empty()) return std::nullopt;
  const auto static_hit = static_tokens_.find(bearer_token);
  const auto secret_hit = secret_by_token_.find(bearer_token);
  const size_t claims = (static_hit != static_tokens_.end() ? 1 : 0) +
                        (secret_hit != secret_by_token_.end() ? secret_hit->second.size() : 0);
  if (claims != 1) return std::nullopt;
  if (static_hit != static_tokens_.end()) {
    UserInfo user = static_hit->second;
    AddGroupOnce(&user.groups, kAuthenticatedGroup);
    return user;
  }
  return tokens_by_secret_.at(*secret_hit->second.begin()).user;
}

std::optional<UserInfo> TokenAuthenticator::Authenticate(std::string_view bearer_token, int64_t now_s) const {
  if (bearer_token.empty()) return std::nullopt;
  const bool claimed = static_tokens_.count(bearer_token) != 0 || secret_by_token_.count(bearer_token) != 0;
  if (claimed || bound_key_ == nullptr) return Authenticate(bearer_token);
  return AuthenticateBoundToken(bearer_token, now_s);
}

void TokenAuthenticator::EnableBoundTokens(std::shared_ptr<const JwtKey> key, std::string issuer,
                                           std::vector<std::string> audiences, BoundObjectLookup lookup) {
  bound_key_ = std::move(key);
  issuer_ = std::move(issuer);
  audiences_ = std::move(audiences);
  lookup_ = std::move(lookup);
}

std::optional<UserInfo> TokenAuthenticator::AuthenticateBoundToken(std::string_view token, int64_t now_s) const {
  Jws jws;
  if (Status s = ParseJws(token, &jws); !s.ok()) {
    last_refusal_ = s.message();
    return std::nullopt;
  }
  if (!bound_key_->Verify(jws)) {
    last_refusal_ = "signature, algorithm or key id does not match the service account key";
    return std::nullopt;
  }
  BoundTokenClaims c;
  if (Status s = DecodeBoundTokenClaims(jws.claims, &c); !s.ok()) {
    last_refusal_ = s.message();
    return std::nullopt;
  }
  if (std::string why = CheckBoundTokenClaims(c, issuer_, audiences_, now_s, lookup_); !why.empty()) {
    last_refusal_ = std::move(why);
    return std::nullopt;
  }
  last_refusal_.clear();
  UserInfo user;
  user.name = ServiceAccountUserName(c.namespace_, c.service_account_name);
  user.uid = c.service_account_uid;
  user.groups = {std::string(kServiceAccountsGroup), std::string(kServiceAccountsGroup) + ":" + c.namespace_,
                 std::string(kAuthenticatedGroup)};
  if (c.bound_kind == "Pod") {
    user.extra[std::string(kPodNameExtra)] = {c.bound_name};
    user.extra[std::string(kPodUidExtra)] = {c.bound_uid};
  }
  if (!c.jti.empty()) user.extra[std::string(kCredentialIdExtra)] = {"JTI=" + c.jti};
  return user;
}

std::string TokenAuthenticator::NewServiceAccountToken(Entropy& entropy) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  token.reserve(64);
  for (int word = 0; word < 4; ++word) {
    uint64_t bits = entropy.Next64();
    for (int nibble = 0; nibble < 16; ++nibble) {
      token.push_back(kHex[bits & 0xf]);
      bits >>= 4;
    }
  }
  return token;
}

}  // namespace ksim::apiserver
