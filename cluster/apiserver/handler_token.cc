// ApiHandler: the serviceaccounts/token subresource (Kubernetes' TokenREST). An
// authentication.k8s.io/v1 TokenRequest asks for a JWT for the account, optionally bound
// to a Pod or Secret; the token is signed with the apiserver's service-account key and
// stops authenticating when it expires or the account or bound object is gone (authn.h).
#include <fmt/format.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include "cluster/api/authentication.pb.h"
#include "cluster/apiserver/auth/bound_token.h"
#include "cluster/apiserver/handler_internal.h"
#include "cluster/env/wire.h"

namespace ksim::apiserver {

using namespace handler_internal;  // NOLINT: this file's own helpers

namespace {

// Kubernetes' defaults and bounds for spec.expirationSeconds.
constexpr int64_t kDefaultExpirationSeconds = 3600;
constexpr int64_t kMinExpirationSeconds = 600;
constexpr int64_t kMaxExpirationSeconds = int64_t{1} << 32;
// Audiences per request and bytes per audience: the token carries them all.
constexpr int kMaxAudiences = 32;
constexpr size_t kMaxAudienceBytes = 1024;

FieldError Invalid(std::string field, std::string message) {
  return FieldError{std::move(field), "FieldValueInvalid", std::move(message)};
}

std::vector<FieldError> ValidateTokenRequest(const api::TokenRequest& r) {
  std::vector<FieldError> errs;
  const api::TokenRequestSpec& spec = r.spec();
  if (spec.has_expiration_seconds()) {
    const int64_t s = spec.expiration_seconds();
    if (s < kMinExpirationSeconds) {
      errs.push_back(Invalid("spec.expirationSeconds", fmt::format("{}: may not specify a duration less than 10 minutes", s)));
    } else if (s > kMaxExpirationSeconds) {
      errs.push_back(Invalid("spec.expirationSeconds", fmt::format("{}: may not specify a duration larger than 2^32 seconds", s)));
    }
  }
  if (spec.audiences_size() > kMaxAudiences) {
    errs.push_back(FieldError{"spec.audiences", "FieldValueTooMany",
                              fmt::format("must have at most {} items", kMaxAudiences)});
  }
  for (int i = 0; i < spec.audiences_size(); ++i) {
    if (spec.audiences(i).empty() || spec.audiences(i).size() > kMaxAudienceBytes) {
      errs.push_back(Invalid(fmt::format("spec.audiences[{}]", i),
                             fmt::format("must be 1 to {} bytes", kMaxAudienceBytes)));
    }
  }
  const api::BoundObjectReference& ref = spec.bound_object_ref();
  if (r.spec().has_bound_object_ref() && !ref.kind().empty() && ref.name().empty()) {
    errs.push_back(FieldError{"spec.boundObjectRef.name", "FieldValueRequired", "Required value"});
  }
  return errs;
}

// The node a request comes from (user system:node:<name> in group system:nodes), else "".
std::string NodeOf(const UserInfo& user) {
  constexpr std::string_view kPrefix = "system:node:";
  if (!user.name.starts_with(kPrefix)) return "";
  for (const std::string& g : user.groups) {
    if (g == "system:nodes") return user.name.substr(kPrefix.size());
  }
  return "";
}

// Kubernetes' NodeRestriction for TokenRequests: a node's token must be bound, by uid, to a
// pod; that the pod runs on the node is checked once it is read.
std::string NodeRefusal(const api::BoundObjectReference& ref) {
  if (ref.api_version() != "v1" || ref.kind() != "Pod" || ref.name().empty()) {
    return "node requested token not bound to a pod";
  }
  if (ref.uid().empty()) return "node requested token with a pod binding without a uid";
  return "";
}

}  // namespace

// The metadata (field 3 of every kind) of stored bytes, without decoding the rest: the
// authenticator reads pods this way on every bound-token request.
bool ParseStoredMeta(std::string_view bytes, api::ObjectMeta* meta) {
  namespace io = google::protobuf::io;
  using google::protobuf::internal::WireFormatLite;
  io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()), static_cast<int>(bytes.size()));
  while (const uint32_t tag = in.ReadTag()) {
    if (WireFormatLite::GetTagFieldNumber(tag) == 3 &&
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      std::string value;
      uint32_t len = 0;
      if (!in.ReadVarint32(&len) || !in.ReadString(&value, static_cast<int>(len))) return false;
      return meta->ParseFromString(value);
    }
    if (!WireFormatLite::SkipField(&in, tag)) return false;
  }
  return false;
}

std::optional<BoundObjectState> ApiHandler::CachedObjectState(std::string_view resource, std::string_view ns,
                                                              std::string_view name) const {
  const WatchCache* c = cache(std::string(resource));
  if (c == nullptr) return std::nullopt;
  const CachedObjectPtr o = c->Get(ObjectKey(resource, ns, name));
  api::ObjectMeta meta;
  if (o == nullptr || !ParseStoredMeta(o->bytes, &meta)) return std::nullopt;
  return BoundObjectState{meta.uid(), meta.has_deletion_timestamp() ? meta.deletion_timestamp().seconds() : 0};
}

void ApiHandler::RequestToken(std::shared_ptr<Call> call) {
  auto request = std::make_shared<api::TokenRequest>();
  const api::KindInfo* kind = api::Registry::Default().ByApiVersionKind("authentication.k8s.io/v1", "TokenRequest");
  if (Status s = DecodeBody(call->request, *kind, request.get()); !s.ok()) {
    return ReplyStatus(*call, 400, "BadRequest", s.message());
  }
  if (std::vector<FieldError> errs = ValidateTokenRequest(*request); !errs.empty()) {
    return ReplyStatus(*call, 422, "Invalid", InvalidMessage(*kind, call->request.name(), errs), Causes(errs));
  }
  const api::BoundObjectReference& wanted = request->spec().bound_object_ref();
  std::string bound_resource;
  if (!wanted.kind().empty() || !wanted.name().empty()) {
    // Kubernetes binds to core/v1 Pods and Secrets (Nodes too, not built here).
    const bool v1 = wanted.api_version().empty() || wanted.api_version() == "v1";
    if (v1 && wanted.kind() == "Pod") bound_resource = "pods";
    if (v1 && wanted.kind() == "Secret") bound_resource = "secrets";
    if (bound_resource.empty()) {
      return ReplyStatus(*call, 400, "BadRequest",
                         fmt::format("spec.boundObjectRef: cannot bind token for serviceaccount \"{}\" to object of "
                                     "type {}/{} (supported: v1 Pod, v1 Secret)",
                                     call->request.name(), wanted.api_version(), wanted.kind()));
    }
  }
  // Nodes (RBAC lets group system:nodes create tokens) only for the pods bound to them.
  const std::string node = NodeOf(call->user);
  if (!node.empty()) {
    if (std::string why = NodeRefusal(wanted); !why.empty()) {
      return ReplyStatus(*call, 403, "Forbidden",
                         fmt::format("serviceaccounts \"{}\" is forbidden: {}", call->request.name(), why));
    }
  }
  store_.Get(call->key, [this, call, request, bound_resource, node, alive = alive_](Status s, const StoredObject* sa) {
    if (!*alive) return;
    if (!s.ok()) return ReplyStoreError(*call, s);
    if (sa == nullptr) return ReplyNotFound(*call);
    api::ServiceAccount account;
    if (!account.ParseFromString(sa->value)) return ReplyStatus(*call, 500, "InternalError", "stored account is corrupt");
    if (bound_resource.empty()) return IssueToken(call, request, account.metadata(), nullptr);
    const std::string& bound_name = request->spec().bound_object_ref().name();
    store_.Get(ObjectKey(bound_resource, call->request.namespace_(), bound_name),
               [this, call, request, bound_resource, account, node, alive = alive_](Status got,
                                                                                     const StoredObject* bound) {
                 if (!*alive) return;
                 if (!got.ok()) return ReplyStoreError(*call, got);
                 const api::BoundObjectReference& ref = request->spec().bound_object_ref();
                 if (bound == nullptr) {
                   return ReplyStatus(*call, 404, "NotFound", fmt::format("{} \"{}\" not found", bound_resource, ref.name()));
                 }
                 api::ObjectMeta meta;
                 if (!ParseStoredMeta(bound->value, &meta)) {
                   return ReplyStatus(*call, 500, "InternalError", "stored object is corrupt");
                 }
                 if (!ref.uid().empty() && ref.uid() != meta.uid()) {
                   return ReplyStatus(*call, 409, "Conflict",
                                      fmt::format("the UID in the bound object reference ({}) does not match the UID "
                                                  "in record ({}). The object might have been deleted and then recreated",
                                                  ref.uid(), meta.uid()));
                 }
                 if (bound_resource == "pods") {
                   api::Pod pod;
                   pod.ParseFromString(bound->value);
                   const std::string& pod_sa =
                       pod.spec().service_account_name().empty() ? "default" : pod.spec().service_account_name();
                   if (!node.empty() && pod.spec().node_name() != node) {
                     return ReplyStatus(*call, 403, "Forbidden",
                                        fmt::format("serviceaccounts \"{}\" is forbidden: node requested token bound "
                                                    "to a pod scheduled on a different node",
                                                    account.metadata().name()));
                   }
                   if (pod_sa != account.metadata().name()) {
                     return ReplyStatus(*call, 400, "BadRequest",
                                        fmt::format("cannot bind token for serviceaccount \"{}\" to pod running with "
                                                    "different serviceaccount name.",
                                                    account.metadata().name()));
                   }
                 }
                 IssueToken(call, request, account.metadata(), &meta);
               });
  });
}

void ApiHandler::IssueToken(std::shared_ptr<Call> call, std::shared_ptr<api::TokenRequest> request,
                            const api::ObjectMeta& account, const api::ObjectMeta* bound) {
  api::TokenRequestSpec* spec = request->mutable_spec();
  if (!spec->has_expiration_seconds()) spec->set_expiration_seconds(kDefaultExpirationSeconds);
  if (spec->audiences_size() == 0) {
    for (const std::string& a : token_audiences_) spec->add_audiences(a);
  }
  const int64_t now_s = env_.clock->WallNow().count() / 1'000'000'000;
  BoundTokenClaims c;
  c.issuer = options_.service_account_issuer;
  c.audiences.assign(spec->audiences().begin(), spec->audiences().end());
  c.namespace_ = account.namespace_();
  c.service_account_name = account.name();
  c.service_account_uid = account.uid();
  if (bound != nullptr) {
    c.bound_kind = spec->bound_object_ref().kind();
    c.bound_name = bound->name();
    c.bound_uid = bound->uid();
    spec->mutable_bound_object_ref()->set_uid(bound->uid());
    spec->mutable_bound_object_ref()->set_api_version("v1");
  }
  c.issued_at_s = now_s;
  c.expires_at_s = now_s + spec->expiration_seconds();
  c.jti = NewUid("");  // from Entropy: never repeated, even by a restarted apiserver
  std::string token;
  if (Status s = token_key_->Sign(EncodeBoundTokenClaims(c), &token); !s.ok()) {
    return ReplyStatus(*call, 500, "InternalError", s.message());
  }
  api::ObjectMeta* meta = request->mutable_metadata();
  meta->set_name(account.name());
  meta->set_namespace_(account.namespace_());
  SetTime(meta->mutable_creation_timestamp(), env_.clock->WallNow());
  request->mutable_status()->set_token(std::move(token));
  request->mutable_status()->mutable_expiration_timestamp()->set_seconds(c.expires_at_s);
  request->set_api_version("authentication.k8s.io/v1");
  request->set_kind("TokenRequest");
  Response r;
  r.set_id(call->request.id());
  r.set_code(201);
  if (WantsJson(call->request.accept())) {
    r.set_content_type(kJson);
    r.set_body(api::EncodeJson(*request));
  } else {
    r.set_content_type(kProtobuf);
    r.set_body(SerializeDeterministic(*request));
  }
  call->reply(std::move(r));
}

}  // namespace ksim::apiserver
