#include "cluster/apiserver/auth/bound_token.h"

#include <algorithm>

namespace ksim::apiserver {
namespace {

constexpr char kKubernetesClaim[] = "kubernetes.io";

// A string member of `o`; false if missing or not a string.
bool GetString(const nlohmann::json& o, const char* key, std::string* out) {
  const auto it = o.find(key);
  if (it == o.end() || !it->is_string()) return false;
  *out = it->get<std::string>();
  return true;
}

bool GetSeconds(const nlohmann::json& o, const char* key, int64_t* out) {
  const auto it = o.find(key);
  if (it == o.end() || !it->is_number_integer()) return false;
  *out = it->get<int64_t>();
  return true;
}

bool GetRef(const nlohmann::json& o, const char* key, std::string* name, std::string* uid) {
  const auto it = o.find(key);
  return it != o.end() && it->is_object() && GetString(*it, "name", name) && GetString(*it, "uid", uid);
}

std::string CheckObject(const BoundObjectLookup& lookup, std::string_view resource, const std::string& ns,
                        const std::string& name, const std::string& uid, int64_t now_s) {
  const std::optional<BoundObjectState> state = lookup(resource, ns, name);
  const std::string what = std::string(resource) + " \"" + ns + "/" + name + "\"";
  if (!state) return what + " no longer exists";
  if (state->uid != uid) return what + " has uid " + state->uid + ", the token names " + uid;
  // Kubernetes: "consider things deleted prior to now()-leeway to be invalid".
  if (state->deletion_s != 0 && state->deletion_s < now_s - kBoundTokenLeewaySeconds) return what + " is being deleted";
  return "";
}

}  // namespace

nlohmann::json EncodeBoundTokenClaims(const BoundTokenClaims& c) {
  nlohmann::json k = {{"namespace", c.namespace_},
                      {"serviceaccount", {{"name", c.service_account_name}, {"uid", c.service_account_uid}}}};
  if (c.bound_kind == "Pod") k["pod"] = {{"name", c.bound_name}, {"uid", c.bound_uid}};
  if (c.bound_kind == "Secret") k["secret"] = {{"name", c.bound_name}, {"uid", c.bound_uid}};
  return {{"iss", c.issuer},
          {"sub", "system:serviceaccount:" + c.namespace_ + ":" + c.service_account_name},
          {"aud", c.audiences},
          {"exp", c.expires_at_s},
          {"iat", c.issued_at_s},
          {"nbf", c.not_before_s.value_or(c.issued_at_s)},
          {"jti", c.jti},
          {kKubernetesClaim, std::move(k)}};
}

Status DecodeBoundTokenClaims(const nlohmann::json& claims, BoundTokenClaims* out) {
  *out = BoundTokenClaims{};
  auto missing = [](const char* claim) { return Status::InvalidArgument(std::string("claim ") + claim + " missing or malformed"); };
  if (!GetString(claims, "iss", &out->issuer)) return missing("iss");
  const auto aud = claims.find("aud");
  if (aud == claims.end()) return missing("aud");
  if (aud->is_string()) {  // RFC 7519 §4.1.3: a single audience may be a bare string
    out->audiences.push_back(aud->get<std::string>());
  } else if (aud->is_array()) {
    for (const auto& a : *aud) {
      if (!a.is_string()) return missing("aud");
      out->audiences.push_back(a.get<std::string>());
    }
  } else {
    return missing("aud");
  }
  if (!GetSeconds(claims, "exp", &out->expires_at_s)) return missing("exp");
  // nbf and iat are optional in RFC 7519; Kubernetes writes both, equal, and checks each.
  if (claims.contains("iat") && !GetSeconds(claims, "iat", &out->issued_at_s)) return missing("iat");
  if (claims.contains("nbf")) {
    int64_t nbf = 0;
    if (!GetSeconds(claims, "nbf", &nbf)) return missing("nbf");
    out->not_before_s = nbf;
  }
  GetString(claims, "jti", &out->jti);
  const auto k = claims.find(kKubernetesClaim);
  if (k == claims.end() || !k->is_object()) return missing(kKubernetesClaim);
  if (!GetString(*k, "namespace", &out->namespace_) || out->namespace_.empty()) return missing("kubernetes.io.namespace");
  if (!GetRef(*k, "serviceaccount", &out->service_account_name, &out->service_account_uid)) {
    return missing("kubernetes.io.serviceaccount");
  }
  const bool pod = k->contains("pod"), secret = k->contains("secret");
  if (pod && secret) return Status::InvalidArgument("claim kubernetes.io binds both a pod and a secret");
  if (pod) {
    out->bound_kind = "Pod";
    if (!GetRef(*k, "pod", &out->bound_name, &out->bound_uid)) return missing("kubernetes.io.pod");
  }
  if (secret) {
    out->bound_kind = "Secret";
    if (!GetRef(*k, "secret", &out->bound_name, &out->bound_uid)) return missing("kubernetes.io.secret");
  }
  std::string sub;
  if (!GetString(claims, "sub", &sub)) return missing("sub");
  if (sub != "system:serviceaccount:" + out->namespace_ + ":" + out->service_account_name) {
    return Status::InvalidArgument("claim sub does not name the service account of claim kubernetes.io");
  }
  return Status::Ok();
}

std::string CheckBoundTokenClaims(const BoundTokenClaims& c, const std::string& issuer,
                                  const std::vector<std::string>& audiences, int64_t now_s,
                                  const BoundObjectLookup& lookup) {
  if (c.issuer != issuer) return "issuer \"" + c.issuer + "\" is not this apiserver's";
  const bool audience_ok = std::any_of(c.audiences.begin(), c.audiences.end(), [&audiences](const std::string& a) {
    return std::find(audiences.begin(), audiences.end(), a) != audiences.end();
  });
  if (!audience_ok) return "token audiences are not among the apiserver's";
  // go-jose's order: nbf, exp, iat (see kBoundTokenLeewaySeconds).
  if (c.not_before_s && now_s + kBoundTokenLeewaySeconds < *c.not_before_s) return "token is not valid yet";
  if (now_s - kBoundTokenLeewaySeconds > c.expires_at_s) return "token has expired";
  if (c.issued_at_s != 0 && now_s + kBoundTokenLeewaySeconds < c.issued_at_s) return "token was issued in the future";
  if (std::string why = CheckObject(lookup, "serviceaccounts", c.namespace_, c.service_account_name,
                                    c.service_account_uid, now_s);
      !why.empty()) {
    return why;
  }
  if (c.bound_kind == "Pod") return CheckObject(lookup, "pods", c.namespace_, c.bound_name, c.bound_uid, now_s);
  if (c.bound_kind == "Secret") return CheckObject(lookup, "secrets", c.namespace_, c.bound_name, c.bound_uid, now_s);
  return "";
}

}  // namespace ksim::apiserver
