#include "cluster/apiserver/handler.h"

#include <fmt/format.h>
#include <google/protobuf/arena.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <utility>

#include "cluster/env/wire.h"
#include "cluster/api/apps.pb.h"
#include "cluster/api/autoscaling.pb.h"
#include "cluster/api/core.pb.h"
#include "cluster/api/machinery/patch.h"
#include "cluster/apiserver/admission.h"
#include "cluster/apiserver/auth/bootstrap.h"
#include "cluster/apiserver/pod_projection.h"
#include "cluster/apiserver/strategy/strategy.h"
#include "cluster/api/rbac.pb.h"

namespace ksim::apiserver {

namespace gp = google::protobuf;

namespace {

constexpr char kJson[] = "application/json";
constexpr char kProtobuf[] = "application/vnd.ksim.protobuf";


bool WantsJson(const std::string& accept) { return accept.find("json") != std::string::npos; }

std::string Base64Encode(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
  return out;
}

bool Base64Decode(std::string_view in, std::string* out) {
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '-') v = 62;
    else if (c == '_') v = 63;
    else return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}


std::string QueryValue(const Request& r, const std::string& key) {
  auto it = r.query().find(key);
  return it == r.query().end() ? std::string() : it->second;
}

// Seconds-precision wall time, as Kubernetes' metav1.Time.
void SetTime(gp::Timestamp* t, Nanos wall) {
  t->set_seconds(wall.count() / 1'000'000'000);
  t->set_nanos(0);
}

bool HasField(const gp::Message& m, const char* name) { return m.GetDescriptor()->FindFieldByName(name) != nullptr; }

// Copies field `name` (a sub-message such as spec or status) from `from` into `to`.
void CopyField(const gp::Message& from, gp::Message* to, const char* name) {
  const gp::FieldDescriptor* f = from.GetDescriptor()->FindFieldByName(name);
  if (f == nullptr) return;
  const gp::Reflection* rf = from.GetReflection();
  const gp::Reflection* rt = to->GetReflection();
  if (f->cpp_type() == gp::FieldDescriptor::CPPTYPE_MESSAGE && !f->is_repeated()) {
    if (rf->HasField(from, f)) {
      rt->MutableMessage(to, f)->CopyFrom(rf->GetMessage(from, f));
    } else {
      rt->ClearField(to, f);
    }
  }
}

std::string FieldBytes(const gp::Message& m, const char* name) {
  const gp::FieldDescriptor* f = m.GetDescriptor()->FindFieldByName(name);
  if (f == nullptr || f->cpp_type() != gp::FieldDescriptor::CPPTYPE_MESSAGE || f->is_repeated()) return {};
  return SerializeDeterministic(m.GetReflection()->GetMessage(m, f));
}

// The protobuf bytes that, appended to an object's bytes, set its resourceVersion:
// protobuf merges repeated occurrences of a sub-message, so the stored bytes need no
// decode and re-encode on the way out. Written by hand (it runs for every object sent):
// the kind's metadata field, length-delimited, holding ObjectMeta.resource_version.
std::string RevisionSuffix(const api::KindInfo& info, int64_t revision) {
  const gp::FieldDescriptor* meta = info.descriptor->FindFieldByName("metadata");
  static const int kResourceVersionField =
      api::ObjectMeta::descriptor()->FindFieldByName("resource_version")->number();
  const std::string rv = std::to_string(revision);
  std::string inner;
  AppendLengthPrefix(kResourceVersionField, rv.size(), &inner);
  inner += rv;
  std::string out;
  AppendLengthPrefix(meta->number(), inner.size(), &out);
  out += inner;
  return out;
}

// The last frame of a watch that cannot continue: an ERROR event carrying a 410 Expired
// Status, which clients answer by listing again.
Response GoneFrame(uint64_t id, const std::string& message) {
  api::ApiStatus st;
  st.set_kind("Status");
  st.set_api_version("v1");
  st.set_status("Failure");
  st.set_code(410);
  st.set_reason("Expired");
  st.set_message(message);
  Response frame;
  frame.set_id(id);
  frame.set_code(200);
  WatchEvent* out = frame.add_events();
  out->set_type("ERROR");
  out->set_object(SerializeDeterministic(st));
  frame.set_end(true);
  return frame;
}

}  // namespace

std::string QualifiedResource(const api::KindInfo& info) {
  return info.group.empty() ? info.resource : info.resource + "." + info.group;
}

// --- one call in flight -------------------------------------------------------------------

struct ApiHandler::Call {
  Request request;
  Reply reply;
  const api::KindInfo* info = nullptr;
  std::string key;  // the object's key (verbs with a name)
  uint64_t watch_handle = 0;
};

namespace {

// What authorization reads, kept current from the watch caches.
const char* const kAuthResources[][2] = {
    {"", "secrets"},
    {"rbac.authorization.k8s.io", "roles"},
    {"rbac.authorization.k8s.io", "clusterroles"},
    {"rbac.authorization.k8s.io", "rolebindings"},
    {"rbac.authorization.k8s.io", "clusterrolebindings"},
};
constexpr int kAuthResourceCount = 5;

}  // namespace

struct ApiHandler::ResourceCache {
  const api::KindInfo* info = nullptr;
  WatchCache cache;
  std::unique_ptr<storeclient::StoreWatch> watch;
  bool loading = false;
  bool feeds_auth = false;  // its objects feed the authenticator or the authorizer
  std::vector<std::function<void(ResourceCache&)>> waiting;
  explicit ResourceCache(WatchCacheOptions o) : cache(std::move(o)) {}
};

ApiHandler::ApiHandler(Env& env, storeclient::StoreClient* store, HandlerOptions options)
    : env_(env), store_client_(store), store_(store), options_(std::move(options)) {}

ApiHandler::~ApiHandler() { *alive_ = false; }

const WatchCache* ApiHandler::cache(const std::string& resource) const {
  auto it = caches_.find(resource);
  return it == caches_.end() ? nullptr : &it->second->cache;
}

uint64_t ApiHandler::Handle(Request request, Reply reply) {
  ++stats_.requests;
  auto call = std::make_shared<Call>();
  call->request = std::move(request);
  call->reply = std::move(reply);
  call->info = api::Registry::Default().ByGroupResource(call->request.group(), call->request.resource());
  if (call->info == nullptr) {
    ReplyStatus(*call, 404, "NotFound",
                fmt::format("the server could not find the requested resource ({} {})", call->request.group(),
                            call->request.resource()));
    return 0;
  }
  const api::KindInfo& info = *call->info;
  std::string ns = info.namespaced ? call->request.namespace_() : std::string();
  if (!call->request.name().empty()) call->key = ObjectKey(info.resource, ns, call->request.name());
  const std::string& verb = call->request.verb();
  const std::string& sub = call->request.subresource();
  const bool scalable = info.resource == "deployments" || info.resource == "replicasets" ||
                        info.resource == "statefulsets" || info.resource == "replicationcontrollers";
  if (!sub.empty() && sub != "status" && !(sub == "binding" && info.resource == "pods") &&
      !(sub == "scale" && scalable)) {
    ReplyStatus(*call, 404, "NotFound", fmt::format("{} has no subresource \"{}\"", QualifiedResource(info), sub));
    return 0;
  }
  const bool needs_name = verb == "get" || verb == "update" || verb == "patch" || verb == "delete" ||
                          (verb == "create" && !sub.empty());
  if (needs_name && call->request.name().empty()) {
    ReplyStatus(*call, 405, "MethodNotAllowed", fmt::format("{} needs a resource name", verb));
    return 0;
  }
  if (info.namespaced && call->request.namespace_().empty() &&
      (needs_name || verb == "create" || verb == "deletecollection")) {
    ReplyStatus(*call, 400, "BadRequest", "a namespace is required for " + QualifiedResource(info));
    return 0;
  }
  if (verb == "watch") {
    call->watch_handle = next_watch_handle_++;
    watches_[call->watch_handle] = WatchRef{info.resource, 0, false};
  }
  const uint64_t handle = call->watch_handle;
  Admit(std::move(call));
  return handle;
}

// --- authentication and authorization ---------------------------------------------------

Status ApiHandler::Start() {
  Status s;
  if (!options_.token_file.empty()) s = TokenAuthenticator::ParseTokenFile(options_.token_file, "token file", &authenticator_);
  if (options_.system_namespaces) WriteSystemNamespaces();
  if (options_.authenticate) {
    WriteBootstrapPolicy();
    LoadAuthCaches();
  }
  return s;
}

void ApiHandler::WriteSystemNamespaces() {
  // Kubernetes' apiserver keeps these four namespaces in existence; components (leader
  // election in kube-system, node leases in kube-node-lease) assume them. Every apiserver
  // writes them at start; whoever is second finds them there (AlreadyExists).
  for (const char* name : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
    api::Namespace ns;
    api::ObjectMeta* meta = ns.mutable_metadata();
    meta->set_name(name);
    meta->set_uid(NewUid(std::string("bootstrap/namespaces/") + name));
    SetTime(meta->mutable_creation_timestamp(), env_.clock->WallNow());
    ns.mutable_spec()->add_finalizers("kubernetes");
    ns.mutable_status()->set_phase("Active");
    api::SetTypeMeta(ns);
    store_.Create(ObjectKey("namespaces", "", name), SerializeDeterministic(ns), {}, [](const WriteResult&) {});
  }
}

void ApiHandler::WriteBootstrapPolicy() {
  // Every apiserver writes it at start; whoever is second finds it there (AlreadyExists).
  const BootstrapPolicy policy = DefaultBootstrapPolicy();
  auto write = [this](const std::string& resource, gp::Message& object) {
    api::ObjectMeta* meta = api::MutableMeta(object);
    meta->set_uid(NewUid("bootstrap/" + resource + "/" + meta->name()));
    SetTime(meta->mutable_creation_timestamp(), env_.clock->WallNow());
    api::SetTypeMeta(object);
    store_.Create(ObjectKey(resource, "", meta->name()), SerializeDeterministic(object), {},
                  [](const WriteResult&) {});
  };
  for (api::ClusterRole role : policy.cluster_roles) write("clusterroles", role);
  for (api::ClusterRoleBinding binding : policy.cluster_role_bindings) write("clusterrolebindings", binding);
}

void ApiHandler::LoadAuthCaches() {
  for (const auto& gr : kAuthResources) {
    const api::KindInfo* info = api::Registry::Default().ByGroupResource(gr[0], gr[1]);
    EnsureCache(*info, [this](ResourceCache& rc) {
      rc.feeds_auth = true;
      OnAuthReset(rc);
      if (++auth_caches_loaded_ < kAuthResourceCount || auth_ready_) return;
      auth_ready_ = true;
      std::vector<std::shared_ptr<Call>> waiting;
      waiting.swap(waiting_for_auth_);
      for (auto& call : waiting) Admit(std::move(call));
    });
  }
}

void ApiHandler::OnAuthReset(ResourceCache& rc) {
  const std::string& resource = rc.info->resource;
  std::set<std::string> old = std::move(auth_keys_[resource]);
  auth_keys_[resource].clear();
  for (const std::string& key : old) OnAuthObject(resource, key, nullptr);
  for (const CachedObjectPtr& o : rc.cache.List(WatchFilter{})) OnAuthObject(resource, o->key, o);
}

void ApiHandler::OnAuthObject(const std::string& resource, const std::string& key, const CachedObjectPtr& object) {
  std::set<std::string>& keys = auth_keys_[resource];
  std::string ns;
  std::string name;
  if (object != nullptr) {
    keys.insert(key);
    ns = object->namespace_;
    name = object->name;
  } else {
    keys.erase(key);
    // The key is /registry/<resource>/[<namespace>/]<name>.
    std::string rest = key.substr(ResourcePrefix(resource, "").size());
    const size_t slash = rest.find('/');
    if (slash == std::string::npos) {
      name = rest;
    } else {
      ns = rest.substr(0, slash);
      name = rest.substr(slash + 1);
    }
  }
  auto parse = [&object](gp::Message& m) { return object != nullptr && m.ParseFromString(object->bytes); };
  if (resource == "secrets") {
    authenticator_.RemoveSecret(ns, name);
    api::Secret secret;
    if (parse(secret)) authenticator_.AddSecret(secret);
  } else if (resource == "roles") {
    authorizer_.RemoveRole(ns, name);
    api::Role role;
    if (parse(role)) authorizer_.AddRole(role);
  } else if (resource == "clusterroles") {
    authorizer_.RemoveClusterRole(name);
    api::ClusterRole role;
    if (parse(role)) authorizer_.AddClusterRole(role);
  } else if (resource == "rolebindings") {
    authorizer_.RemoveRoleBinding(ns, name);
    api::RoleBinding binding;
    if (parse(binding)) authorizer_.AddRoleBinding(binding);
  } else if (resource == "clusterrolebindings") {
    authorizer_.RemoveClusterRoleBinding(name);
    api::ClusterRoleBinding binding;
    if (parse(binding)) authorizer_.AddClusterRoleBinding(binding);
  }
}

void ApiHandler::Admit(std::shared_ptr<Call> call) {
  if (!options_.authenticate) return Dispatch(std::move(call));
  if (!auth_ready_) {
    if (waiting_for_auth_.size() >= 100000) {
      return ReplyStatus(*call, 503, "ServiceUnavailable", "the apiserver is still loading its authorization data");
    }
    waiting_for_auth_.push_back(std::move(call));
    return;
  }
  std::optional<UserInfo> user = authenticator_.Authenticate(call->request.token());
  if (!user) {
    if (call->watch_handle != 0) watches_.erase(call->watch_handle);
    return ReplyStatus(*call, 401, "Unauthorized", "Unauthorized");
  }
  Attributes a;
  a.user = *user;
  a.verb = call->request.verb();
  a.api_group = call->info->group;
  a.resource = call->info->resource;
  a.subresource = call->request.subresource();
  a.namespace_ = call->info->namespaced ? call->request.namespace_() : "";
  a.name = call->request.name();
  const Decision d = authorizer_.Authorize(a);
  if (!d.allowed) {
    if (call->watch_handle != 0) watches_.erase(call->watch_handle);
    return ReplyStatus(*call, 403, "Forbidden", ForbiddenMessage(a));
  }
  Dispatch(std::move(call));
}

void ApiHandler::Dispatch(std::shared_ptr<Call> call) {
  const std::string& verb = call->request.verb();
  const std::string& sub = call->request.subresource();
  if (verb == "create" && sub == "binding") {
    Bind(call, 0);
  } else if (sub == "scale" && (verb == "get" || verb == "update")) {
    Scale(call);
  } else if (sub == "scale") {
    ReplyStatus(*call, 405, "MethodNotAllowed", "the scale subresource supports get and update");
  } else if (verb == "create") {
    Create(call);
  } else if (verb == "get") {
    Get(call);
  } else if (verb == "list") {
    List(call);
  } else if (verb == "update") {
    Update(call);
  } else if (verb == "patch") {
    Patch(call, 0);
  } else if (verb == "delete") {
    Delete(call);
  } else if (verb == "deletecollection") {
    DeleteCollection(call);
  } else if (verb == "watch") {
    Watch(call);
  } else {
    ReplyStatus(*call, 405, "MethodNotAllowed", "unknown verb \"" + verb + "\"");
  }
}

// --- replies ------------------------------------------------------------------------------

std::string ApiHandler::ObjectBody(const Call& call, const std::string& bytes, int64_t revision) const {
  if (!WantsJson(call.request.accept())) return bytes + RevisionSuffix(*call.info, revision);
  auto m = call.info->New();
  m->ParseFromString(bytes);
  api::MutableMeta(*m)->set_resource_version(std::to_string(revision));
  api::SetTypeMeta(*m);
  return api::EncodeJson(*m);
}

void ApiHandler::ReplyObject(const Call& call, int code, const std::string& bytes, int64_t revision) const {
  Response r;
  r.set_id(call.request.id());
  r.set_code(code);
  r.set_content_type(WantsJson(call.request.accept()) ? kJson : kProtobuf);
  r.set_body(ObjectBody(call, bytes, revision));
  call.reply(std::move(r));
}

void ApiHandler::ReplyStatus(const Call& call, int code, const std::string& reason, const std::string& message,
                             std::vector<api::StatusCause> causes) const {
  api::ApiStatus s;
  s.set_api_version("v1");
  s.set_kind("Status");
  s.set_status(code < 400 ? "Success" : "Failure");
  s.set_message(message);
  s.set_reason(reason);
  s.set_code(code);
  if (call.info != nullptr) {
    s.mutable_details()->set_name(call.request.name());
    s.mutable_details()->set_group(call.info->group);
    s.mutable_details()->set_kind(call.info->resource);
  }
  for (api::StatusCause& c : causes) *s.mutable_details()->add_causes() = std::move(c);
  Response r;
  r.set_id(call.request.id());
  r.set_code(code);
  if (WantsJson(call.request.accept())) {
    r.set_content_type(kJson);
    r.set_body(api::EncodeJson(s));
  } else {
    r.set_content_type(kProtobuf);
    r.set_body(SerializeDeterministic(s));
  }
  call.reply(std::move(r));
}

void ApiHandler::ReplyNotFound(const Call& call) const {
  ReplyStatus(call, 404, "NotFound",
              fmt::format("{} \"{}\" not found", QualifiedResource(*call.info), call.request.name()));
}

void ApiHandler::ReplyConflict(const Call& call) const {
  ReplyStatus(call, 409, "Conflict",
              fmt::format("Operation cannot be fulfilled on {} \"{}\": the object has been modified; please apply "
                          "your changes to the latest version and try again",
                          QualifiedResource(*call.info), call.request.name()));
}

void ApiHandler::ReplyStoreError(const Call& call, const Status& status) const {
  if (status.Is(Status::Code::kTimeout)) {
    ReplyStatus(call, 504, "Timeout", "the store did not answer in time: " + status.message());
  } else {
    ReplyStatus(call, 503, "ServiceUnavailable", "the store is unavailable: " + status.message());
  }
}

std::string ApiHandler::NewUid(const std::string& request_id) const {
  // A retried create carries the same request id, so it gets the same uid and the
  // apiserver can tell "my earlier attempt created it" from "someone else did".
  uint64_t hi;
  uint64_t lo;
  if (!request_id.empty()) {
    const XXH128_hash_t h = XXH3_128bits(request_id.data(), request_id.size());
    hi = h.high64;
    lo = h.low64;
  } else {
    hi = env_.random->Next64();
    lo = env_.random->Next64();
  }
  hi = (hi & ~0xF000ull) | 0x4000ull;                                // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;        // variant 1
  // 8-4-4-4-12 lowercase hex digits (RFC 4122 §3), written directly: every create makes
  // one, and formatting through fmt cost more than the hash.
  static constexpr char kHex[] = "0123456789abcdef";
  std::string uid(36, '-');
  size_t pos = 0;
  auto put = [&](uint64_t v, int digits) {
    for (int i = digits - 1; i >= 0; --i) uid[pos++] = kHex[(v >> (4 * i)) & 0xF];
    ++pos;  // over the dash
  };
  put(hi >> 32, 8);
  put((hi >> 16) & 0xFFFF, 4);
  put(hi & 0xFFFF, 4);
  put(lo >> 48, 4);
  put(lo & 0xFFFFFFFFFFFFull, 12);
  return uid;
}

// --- decoding a body ----------------------------------------------------------------------

namespace {

// A request's object, on an arena that lives exactly as long as the object: a Pod is
// dozens of allocations, and freeing them one by one cost more than decoding them.
std::shared_ptr<gp::Message> NewRequestObject(const api::KindInfo& info) {
  gp::ArenaOptions options;
  options.start_block_size = 4096;  // a typical Pod, decoded and defaulted, in one block
  auto arena = std::make_shared<gp::Arena>(options);
  gp::Message* m = info.prototype->New(arena.get());
  return std::shared_ptr<gp::Message>(std::move(arena), m);  // shares the arena's lifetime
}

Status DecodeBody(const Request& r, const api::KindInfo& info, gp::Message* out) {
  const std::string& ct = r.content_type();
  if (ct.empty() || ct == kProtobuf) {
    if (!out->ParseFromString(r.body())) return Status::InvalidArgument("the body is not a protobuf " + info.kind);
    return Status::Ok();
  }
  return api::DecodeInto(r.body(), "request body", out);
}

std::vector<api::StatusCause> Causes(const std::vector<FieldError>& errors) {
  std::vector<api::StatusCause> causes;
  for (const FieldError& e : errors) {
    api::StatusCause c;
    c.set_field(e.field);
    c.set_reason(e.reason);
    c.set_message(e.message);
    causes.push_back(std::move(c));
  }
  return causes;
}

std::string InvalidMessage(const api::KindInfo& info, const std::string& name, const std::vector<FieldError>& errors) {
  std::string msg = fmt::format("{} \"{}\" is invalid: ", info.kind, name);
  for (size_t i = 0; i < errors.size(); ++i) {
    if (i > 0) msg += ", ";
    msg += errors[i].field + ": " + errors[i].message;
  }
  return msg;
}

constexpr char kNameAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";  // Kubernetes' generateName alphabet

}  // namespace

// --- create -------------------------------------------------------------------------------

void ApiHandler::Create(std::shared_ptr<Call> call) {
  const api::KindInfo& info = *call->info;
  std::shared_ptr<gp::Message> obj = NewRequestObject(info);
  if (Status s = DecodeBody(call->request, info, obj.get()); !s.ok()) {
    return ReplyStatus(*call, 400, "BadRequest", s.message());
  }
  api::ObjectMeta* meta = api::MutableMeta(*obj);
  if (info.namespaced) {
    if (meta->namespace_().empty()) meta->set_namespace_(call->request.namespace_());
    if (meta->namespace_() != call->request.namespace_()) {
      return ReplyStatus(*call, 400, "BadRequest",
                         "the namespace of the provided object does not match the namespace sent on the request");
    }
  } else {
    meta->clear_namespace_();
  }
  if (meta->name().empty() && !meta->generate_name().empty()) {
    std::string name = meta->generate_name();
    for (int i = 0; i < 5; ++i) name += kNameAlphabet[env_.random->Uniform(sizeof(kNameAlphabet) - 1)];
    meta->set_name(name);
  }
  meta->set_uid(NewUid(call->request.request_id()));
  meta->clear_resource_version();
  meta->set_generation(1);
  meta->clear_deletion_timestamp();
  meta->clear_deletion_grace_period_seconds();
  SetTime(meta->mutable_creation_timestamp(), env_.clock->WallNow());
  api::SetTypeMeta(*obj);
  ApplyDefaults(*obj);
  auto create = [this, call, obj = std::move(obj)]() { AdmitCreate(call, obj); };
  // NamespaceLifecycle: objects go only into namespaces that exist and are not terminating.
  if (!info.namespaced) return create();
  const std::string namespace_key = ObjectKey("namespaces", "", call->request.namespace_());
  EnsureCache(*api::Registry::Default().ByGroupResource("", "namespaces"),
              [this, call, create, namespace_key](ResourceCache& namespaces) {
                auto check = [this, call, create](const std::string* phase) {
                  if (phase == nullptr) {
                    return ReplyStatus(*call, 404, "NotFound",
                                       fmt::format("namespaces \"{}\" not found", call->request.namespace_()));
                  }
                  if (*phase == "Terminating") {
                    return ReplyStatus(*call, 403, "Forbidden",
                                       fmt::format("unable to create new content in namespace {} because it is "
                                                   "being terminated",
                                                   call->request.namespace_()));
                  }
                  create();
                };
                if (CachedObjectPtr n = namespaces.cache.Get(namespace_key)) {
                  const std::string phase(n->Field("status.phase"));
                  return check(&phase);
                }
                // The cache may lag a namespace created a moment ago: ask the store.
                store_.Get(namespace_key, [this, call, check, alive = alive_](Status s, const StoredObject* o) {
                  if (!*alive) return;
                  if (!s.ok()) return ReplyStoreError(*call, s);
                  if (o == nullptr) return check(nullptr);
                  api::Namespace n;
                  n.ParseFromString(o->value);
                  const std::string phase = n.status().phase();
                  check(&phase);
                });
              });
}

// Mutating admission (LimitRanger defaults, ServiceAccount), validation, validating
// admission (LimitRanger limits), then the write with quota charged in the same
// transaction.
void ApiHandler::AdmitCreate(std::shared_ptr<Call> call, std::shared_ptr<gp::Message> obj) {
  auto* pod = dynamic_cast<api::Pod*>(obj.get());
  auto validate_and_write = [this, call, obj, pod](std::vector<api::LimitRange> ranges) {
    const api::ObjectMeta& meta = *api::GetMeta(*obj);
    if (pod != nullptr) {
      ApplyLimitRangeDefaults(ranges, pod->mutable_spec());
      ApplyServiceAccountDefault(pod->mutable_spec());
    }
    if (std::vector<FieldError> errors = ValidateCreate(*obj); !errors.empty()) {
      return ReplyStatus(*call, 422, "Invalid", InvalidMessage(*call->info, meta.name(), errors), Causes(errors));
    }
    if (pod != nullptr) {
      if (std::string why = CheckLimitRanges(ranges, pod->spec()); !why.empty()) {
        return ReplyStatus(*call, 403, "Forbidden", fmt::format("pods \"{}\" is forbidden: {}", meta.name(), why));
      }
    }
    if (!call->info->namespaced) return WriteCreate(call, obj, {}, 0);
    WithNamespaceQuotas(call->request.namespace_(), [this, call, obj](std::vector<StoredObject> quotas) {
      WriteCreate(call, obj, std::move(quotas), 0);
    });
  };
  if (pod == nullptr) return validate_and_write({});
  EnsureCache(*api::Registry::Default().ByGroupResource("", "limitranges"),
              [call, validate_and_write](ResourceCache& rc) {
                WatchFilter f;
                f.namespace_ = call->request.namespace_();
                std::vector<api::LimitRange> ranges;
                for (const CachedObjectPtr& o : rc.cache.List(f)) {
                  api::LimitRange lr;
                  if (lr.ParseFromString(o->bytes)) ranges.push_back(std::move(lr));
                }
                validate_and_write(std::move(ranges));
              });
}

namespace {

// Charges (or releases) `usage` on every quota that limits part of it; the side writes
// carry the quotas' new status guarded by the revision they were read at.
std::string QuotaSideWrites(const std::vector<StoredObject>& quotas, const std::map<std::string, api::Quantity>& usage,
                            bool charge, std::vector<SideWrite>* side) {
  for (const StoredObject& q : quotas) {
    api::ResourceQuota quota;
    if (!quota.ParseFromString(q.value)) continue;
    api::ResourceQuota updated;
    if (charge) {
      if (std::string why = Charge(quota, usage, &updated); !why.empty()) return why;
    } else {
      Release(quota, usage, &updated);
    }
    std::string bytes = SerializeDeterministic(updated);
    if (bytes != q.value) side->push_back(SideWrite{q.key, std::move(bytes), q.mod_revision});
  }
  return {};
}

constexpr int kMaxQuotaRetries = 20;

}  // namespace

void ApiHandler::WriteCreate(std::shared_ptr<Call> call, std::shared_ptr<gp::Message> obj,
                             std::vector<StoredObject> quotas, int attempt) {
  const api::ObjectMeta& meta = *api::GetMeta(*obj);
  const std::string key = ObjectKey(call->info->resource, meta.namespace_(), meta.name());
  std::vector<SideWrite> side;
  if (!quotas.empty()) {
    if (std::string why = QuotaSideWrites(quotas, QuotaUsage(*call->info, *obj), true, &side); !why.empty()) {
      return ReplyStatus(*call, 403, "Forbidden",
                         fmt::format("{} \"{}\" is forbidden: {}", QualifiedResource(*call->info), meta.name(), why));
    }
  }
  std::string bytes = SerializeDeterministic(*obj);
  const std::string uid = meta.uid();
  const std::string name = meta.name();
  store_.Create(key, bytes, std::move(side),
                [this, call, obj, uid, name, bytes, attempt, alive = alive_](const WriteResult& w) {
                  if (!*alive) return;
                  if (!w.status.ok()) return ReplyStoreError(*call, w.status);
                  if (w.outcome == WriteOutcome::kExists) {
                    // Our own earlier attempt (same request id, same uid) succeeded: answer as it would have.
                    auto existing = call->info->New();
                    if (existing->ParseFromString(w.current.value) && api::GetMeta(*existing)->uid() == uid) {
                      return ReplyObject(*call, 201, w.current.value, w.current.mod_revision);
                    }
                    return ReplyStatus(*call, 409, "AlreadyExists",
                                       fmt::format("{} \"{}\" already exists", QualifiedResource(*call->info), name));
                  }
                  if (w.outcome == WriteOutcome::kQuotaChanged) {
                    // Another create charged a quota first: read the quotas again and retry.
                    if (attempt + 1 >= kMaxQuotaRetries) {
                      return ReplyStatus(*call, 409, "Conflict", "resource quota kept changing; try again");
                    }
                    return ReadQuotas(call->request.namespace_(), [this, call, obj, attempt](Status s, std::vector<StoredObject> q) {
                      if (!s.ok()) return ReplyStoreError(*call, s);
                      WriteCreate(call, obj, std::move(q), attempt + 1);
                    });
                  }
                  ++stats_.creates;
                  ReplyObject(*call, 201, bytes, w.revision);
                });
}

void ApiHandler::ReadQuotas(const std::string& ns, std::function<void(Status, std::vector<StoredObject>)> done) {
  const std::string prefix = ResourcePrefix("resourcequotas", ns);
  store_.List(prefix, PrefixEnd(prefix), 0, 0, [done = std::move(done), alive = alive_](ListPage p) {
    if (!*alive) return;
    done(p.status, std::move(p.items));
  });
}

// --- get and list -------------------------------------------------------------------------

void ApiHandler::Get(std::shared_ptr<Call> call) {
  if (!call->request.subresource().empty() && call->request.subresource() != "status") {
    return ReplyStatus(*call, 405, "MethodNotAllowed", "get is not supported on this subresource");
  }
  store_.Get(call->key, [this, call, alive = alive_](Status s, const StoredObject* o) {
    if (!*alive) return;
    if (!s.ok()) return ReplyStoreError(*call, s);
    if (o == nullptr) {
      return ReplyNotFound(*call);
    }
    ReplyObject(*call, 200, o->value, o->mod_revision);
  });
}

namespace {

// Parses labelSelector/fieldSelector into a filter; the error names the parameter.
Status ParseFilter(const Request& r, const api::KindInfo& info, WatchFilter* f) {
  f->namespace_ = info.namespaced ? r.namespace_() : "";
  if (Status s = api::LabelMatcher::Parse(QueryValue(r, "labelSelector"), &f->labels); !s.ok()) {
    return Status::InvalidArgument("labelSelector: " + s.message());
  }
  if (Status s = api::FieldSelector::Parse(QueryValue(r, "fieldSelector"), &f->fields); !s.ok()) {
    return Status::InvalidArgument("fieldSelector: " + s.message());
  }
  for (const std::string& field : f->fields.Fields()) {
    if (!IsSelectableField(info, field)) {
      return Status::InvalidArgument(
          fmt::format("fieldSelector: field label not supported: \"{}\" for {}", field, info.kind));
    }
  }
  return Status::Ok();
}

}  // namespace

void ApiHandler::List(std::shared_ptr<Call> call) {
  const Request& r = call->request;
  WatchFilter filter;
  if (Status s = ParseFilter(r, *call->info, &filter); !s.ok()) return ReplyStatus(*call, 400, "BadRequest", s.message());
  int64_t limit = 0;
  if (const std::string l = QueryValue(r, "limit"); !l.empty() && !api::ParseResourceVersion(l, &limit)) {
    return ReplyStatus(*call, 400, "BadRequest", "limit: \"" + l + "\" is not a non-negative integer");
  }
  const std::string cont = QueryValue(r, "continue");
  const std::string rv = QueryValue(r, "resourceVersion");
  if (cont.empty() && rv == "0" && limit == 0) {
    // resourceVersion=0: any recent state will do, so the cache answers (informers' lists).
    return EnsureCache(*call->info, [this, call, filter](ResourceCache& rc) {
      const std::vector<CachedObjectPtr> items = rc.cache.List(filter);
      api::ListMeta meta;
      meta.set_resource_version(std::to_string(rc.cache.revision()));
      std::vector<std::pair<std::string_view, int64_t>> views;
      views.reserve(items.size());
      for (const CachedObjectPtr& o : items) views.emplace_back(o->bytes, o->resource_version);
      ReplyList(*call, meta, views);
    });
  }
  int64_t revision = 0;
  std::string start = ResourcePrefix(call->info->resource, filter.namespace_);
  if (!cont.empty()) {
    std::string raw;
    ContinueToken token;
    if (!Base64Decode(cont, &raw) || !token.ParseFromString(raw) || token.revision() <= 0 ||
        token.start_key().compare(0, start.size(), start) != 0) {
      return ReplyStatus(*call, 400, "BadRequest", "continue: the token is malformed");
    }
    revision = token.revision();
    start = token.start_key();
  } else if (!rv.empty() && rv != "0" && !api::ParseResourceVersion(rv, &revision)) {
    return ReplyStatus(*call, 400, "BadRequest", "resourceVersion: \"" + rv + "\" is not a resource version");
  }
  ListFromStore(call, std::move(filter), revision, start, limit, {});
}

void ApiHandler::ListFromStore(std::shared_ptr<Call> call, WatchFilter filter, int64_t revision, std::string start_key,
                               int64_t limit, std::vector<StoredObject> acc) {
  const std::string end = PrefixEnd(ResourcePrefix(call->info->resource, filter.namespace_));
  const int64_t page = limit > 0 ? std::min(options_.max_list_page, limit - static_cast<int64_t>(acc.size()) + 1)
                                 : options_.max_list_page;
  store_.List(start_key, end, revision, page,
              [this, call, filter, limit, revision, acc = std::move(acc), alive = alive_](ListPage p) mutable {
                if (!*alive) return;
                // The store's header carries its current revision; a read at a past
                // revision keeps that one for the whole list.
                if (revision != 0 && p.status.ok()) p.revision = revision;
                if (!p.status.ok()) {
                  if (p.compacted) {
                    return ReplyStatus(*call, 410, "Expired",
                                       "The provided continue parameter is too old to display a consistent list "
                                       "result. You can start a new list without the continue parameter.");
                  }
                  return ReplyStoreError(*call, p.status);
                }
                std::string next_key;
                bool more = p.more;
                for (StoredObject& o : p.items) {
                  if (limit > 0 && static_cast<int64_t>(acc.size()) == limit) {
                    next_key = o.key;  // the first key of the next page
                    more = true;
                    break;
                  }
                  if (filter.labels.Empty() && filter.fields.Empty()) {
                    acc.push_back(std::move(o));
                  } else if (CachedObjectPtr c = ToCached(*call->info, o.key, o.value, o.mod_revision);
                             filter.Matches(*c)) {
                    acc.push_back(std::move(o));
                  }
                }
                if (next_key.empty() && p.more && !p.items.empty()) next_key = p.items.back().key + '\0';
                const bool full = limit > 0 && static_cast<int64_t>(acc.size()) >= limit;
                if (p.more && !full && !next_key.empty()) {
                  // Keep reading at the same revision until the page is full or the range ends.
                  return ListFromStore(call, std::move(filter), p.revision, next_key, limit, std::move(acc));
                }
                api::ListMeta lm;
                lm.set_resource_version(std::to_string(p.revision));
                if (more && !next_key.empty()) {
                  ContinueToken token;
                  token.set_revision(p.revision);
                  token.set_start_key(next_key);
                  lm.set_continue_(Base64Encode(SerializeDeterministic(token)));
                }
                std::vector<std::pair<std::string_view, int64_t>> views;
                views.reserve(acc.size());
                for (const StoredObject& o : acc) views.emplace_back(o.value, o.mod_revision);
                ReplyList(*call, lm, views);
              });
}

void ApiHandler::ReplyList(const Call& call, const api::ListMeta& meta,
                           const std::vector<std::pair<std::string_view, int64_t>>& items) const {
  Response resp;
  resp.set_id(call.request.id());
  resp.set_code(200);
  if (WantsJson(call.request.accept())) {
    std::vector<std::unique_ptr<gp::Message>> owned;
    std::vector<const gp::Message*> ptrs;
    for (const auto& [bytes, revision] : items) {
      auto m = call.info->New();
      m->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
      api::MutableMeta(*m)->set_resource_version(std::to_string(revision));
      ptrs.push_back(m.get());
      owned.push_back(std::move(m));
    }
    resp.set_content_type(kJson);
    resp.set_body(api::EncodeJsonList(*call.info, meta, ptrs));
  } else {
    ObjectList list;
    *list.mutable_metadata() = meta;
    for (const auto& [bytes, revision] : items) {
      std::string* item = list.add_items();
      item->assign(bytes);
      *item += RevisionSuffix(*call.info, revision);
    }
    resp.set_content_type(kProtobuf);
    resp.set_body(SerializeDeterministic(list));
  }
  call.reply(std::move(resp));
}

// --- update, patch, status ----------------------------------------------------------------

void ApiHandler::Update(std::shared_ptr<Call> call) {
  auto obj = call->info->New();
  if (Status s = DecodeBody(call->request, *call->info, obj.get()); !s.ok()) {
    return ReplyStatus(*call, 400, "BadRequest", s.message());
  }
  api::ObjectMeta* meta = api::MutableMeta(*obj);
  if (meta->name() != call->request.name()) {
    return ReplyStatus(*call, 400, "BadRequest",
                       fmt::format("the name of the object ({}) does not match the name on the URL ({})", meta->name(),
                                   call->request.name()));
  }
  if (call->info->namespaced) {
    if (meta->namespace_().empty()) meta->set_namespace_(call->request.namespace_());
    if (meta->namespace_() != call->request.namespace_()) {
      return ReplyStatus(*call, 400, "BadRequest",
                         "the namespace of the provided object does not match the namespace sent on the request");
    }
  }
  int64_t expected = 0;
  if (!meta->resource_version().empty() && !api::ParseResourceVersion(meta->resource_version(), &expected)) {
    return ReplyStatus(*call, 400, "BadRequest", "metadata.resourceVersion: \"" + meta->resource_version() +
                                                     "\" is not a resource version");
  }
  auto shared = std::shared_ptr<gp::Message>(std::move(obj));
  store_.Get(call->key, [this, call, shared, expected, alive = alive_](Status s, const StoredObject* current) {
    if (!*alive) return;
    if (!s.ok()) return ReplyStoreError(*call, s);
    if (current == nullptr) {
      return ReplyNotFound(*call);
    }
    if (expected != 0 && expected != current->mod_revision) {
      ++stats_.conflicts;
      return ReplyConflict(*call);
    }
    auto updated = call->info->New();
    updated->CopyFrom(*shared);
    const StoredObject cur = *current;
    WriteUpdate(call, std::move(updated), cur, [this, call] {
      ++stats_.conflicts;
      ReplyConflict(*call);
    });
  });
}

void ApiHandler::WriteUpdate(std::shared_ptr<Call> call, std::unique_ptr<gp::Message> updated,
                             const StoredObject& current, std::function<void()> on_conflict) {
  const api::KindInfo& info = *call->info;
  auto old = info.New();
  if (!old->ParseFromString(current.value)) return ReplyStatus(*call, 500, "InternalError", "stored object is corrupt");
  const api::ObjectMeta& old_meta = *api::GetMeta(*old);
  api::ObjectMeta* meta = api::MutableMeta(*updated);
  const bool status_write = call->request.subresource() == "status";
  if (status_write) {
    // The status subresource changes status only: everything else stays as stored.
    auto merged = info.New();
    merged->CopyFrom(*old);
    CopyField(*updated, merged.get(), "status");
    updated = std::move(merged);
    meta = api::MutableMeta(*updated);
  } else if (HasField(*updated, "status") && HasField(*updated, "spec")) {
    CopyField(*old, updated.get(), "status");  // the main resource does not write status
  }
  // What the server owns.
  meta->set_uid(old_meta.uid());
  *meta->mutable_creation_timestamp() = old_meta.creation_timestamp();
  meta->set_generate_name(old_meta.generate_name());
  if (old_meta.has_deletion_timestamp()) *meta->mutable_deletion_timestamp() = old_meta.deletion_timestamp();
  if (old_meta.has_deletion_grace_period_seconds()) {
    meta->set_deletion_grace_period_seconds(old_meta.deletion_grace_period_seconds());
  }
  meta->clear_resource_version();
  meta->set_generation(old_meta.generation());
  if (!status_write && FieldBytes(*updated, "spec") != FieldBytes(*old, "spec")) {
    meta->set_generation(old_meta.generation() + 1);
  }
  api::SetTypeMeta(*updated);
  if (!status_write) ApplyDefaults(*updated);
  if (std::vector<FieldError> errors = ValidateUpdate(*updated, *old); !errors.empty()) {
    return ReplyStatus(*call, 422, "Invalid", InvalidMessage(info, meta->name(), errors), Causes(errors));
  }
  // The last finalizer of an object being deleted is gone: the object goes now (a pod in
  // graceful termination waits for its kubelet's final delete instead).
  const bool graceful = meta->has_deletion_grace_period_seconds() && meta->deletion_grace_period_seconds() > 0;
  if (meta->has_deletion_timestamp() && meta->finalizers_size() == 0 && old_meta.finalizers_size() > 0 &&
      !(info.resource == "pods" && graceful)) {
    return DeleteNow(call, current);
  }
  // A Terminating namespace goes once its spec.finalizers (the namespace controller's
  // "kubernetes") and metadata.finalizers are all removed.
  if (const auto* ns = dynamic_cast<const api::Namespace*>(updated.get());
      ns != nullptr && meta->has_deletion_timestamp() && meta->finalizers_size() == 0 &&
      ns->spec().finalizers_size() == 0) {
    return DeleteNow(call, current);
  }
  std::string bytes = SerializeDeterministic(*updated);
  if (bytes == current.value) return ReplyObject(*call, 200, current.value, current.mod_revision);  // no-op
  store_.Update(call->key, bytes, current.mod_revision, {},
                [this, call, bytes, on_conflict = std::move(on_conflict), alive = alive_](const WriteResult& w) {
                  if (!*alive) return;
                  if (!w.status.ok()) return ReplyStoreError(*call, w.status);
                  if (w.outcome == WriteOutcome::kConflict) {
                    if (w.current.mod_revision == 0) {
                      return ReplyNotFound(*call);
                    }
                    return on_conflict();
                  }
                  ReplyObject(*call, 200, bytes, w.revision);
                });
}

void ApiHandler::Patch(std::shared_ptr<Call> call, int attempt) {
  api::PatchType type;
  if (Status s = api::PatchTypeFromContentType(call->request.content_type(), &type); !s.ok()) {
    return ReplyStatus(*call, 415, "UnsupportedMediaType", s.message());
  }
  nlohmann::json patch = nlohmann::json::parse(call->request.body(), nullptr, false);
  if (patch.is_discarded()) return ReplyStatus(*call, 400, "BadRequest", "the patch is not valid JSON");
  store_.Get(call->key, [this, call, type, patch, attempt, alive = alive_](Status s, const StoredObject* current) {
    if (!*alive) return;
    if (!s.ok()) return ReplyStoreError(*call, s);
    if (current == nullptr) {
      return ReplyNotFound(*call);
    }
    auto old = call->info->New();
    old->ParseFromString(current->value);
    api::MutableMeta(*old)->set_resource_version(std::to_string(current->mod_revision));
    api::SetTypeMeta(*old);
    nlohmann::json doc = nlohmann::json::parse(api::EncodeJson(*old), nullptr, false);
    nlohmann::json patched;
    if (Status ps = api::ApplyPatch(type, doc, patch, call->info->kind, &patched); !ps.ok()) {
      return ReplyStatus(*call, 422, "Invalid", ps.message());
    }
    auto updated = call->info->New();
    if (Status ds = api::DecodeInto(patched.dump(), "patched object", updated.get()); !ds.ok()) {
      return ReplyStatus(*call, 422, "Invalid", ds.message());
    }
    // A resourceVersion in the patch is a precondition.
    const std::string& rv = api::GetMeta(*updated)->resource_version();
    if (rv != std::to_string(current->mod_revision)) {
      ++stats_.conflicts;
      return ReplyConflict(*call);
    }
    const StoredObject cur = *current;
    WriteUpdate(call, std::move(updated), cur, [this, call, attempt] {
      // Someone wrote in between: a patch applies to whatever is current, so retry.
      if (attempt + 1 >= options_.max_update_retries) {
        ++stats_.conflicts;
        return ReplyStatus(*call, 409, "Conflict", "the object kept changing; the patch was not applied");
      }
      Patch(call, attempt + 1);
    });
  });
}

// --- delete -------------------------------------------------------------------------------

void ApiHandler::Delete(std::shared_ptr<Call> call) {
  store_.Get(call->key, [this, call, alive = alive_](Status s, const StoredObject* current) {
    if (!*alive) return;
    if (!s.ok()) return ReplyStoreError(*call, s);
    if (current == nullptr) {
      return ReplyNotFound(*call);
    }
    auto obj = call->info->New();
    obj->ParseFromString(current->value);
    api::ObjectMeta* meta = api::MutableMeta(*obj);
    const std::string policy = QueryValue(call->request, "propagationPolicy");
    int64_t grace = -1;
    if (const std::string g = QueryValue(call->request, "gracePeriodSeconds"); !g.empty() && !api::ParseResourceVersion(g, &grace)) {
      return ReplyStatus(*call, 400, "BadRequest", "gracePeriodSeconds: \"" + g + "\" is not a non-negative integer");
    }
    bool changed = false;
    auto add_finalizer = [&](const std::string& f) {
      if (std::find(meta->finalizers().begin(), meta->finalizers().end(), f) == meta->finalizers().end()) {
        meta->add_finalizers(f);
        changed = true;
      }
    };
    if (policy == "Orphan") add_finalizer("orphan");
    if (policy == "Foreground") add_finalizer("foregroundDeletion");
    if (!policy.empty() && policy != "Orphan" && policy != "Foreground" && policy != "Background") {
      return ReplyStatus(*call, 422, "Invalid", "propagationPolicy: Unsupported value: \"" + policy +
                                                    "\": supported values: \"Background\", \"Foreground\", \"Orphan\"");
    }
    // A bound pod is deleted gracefully: the kubelet stops it and then deletes it with grace 0.
    int64_t pod_grace = 0;
    if (auto* pod = dynamic_cast<api::Pod*>(obj.get()); pod != nullptr && !pod->spec().node_name().empty()) {
      pod_grace = grace >= 0 ? grace
                             : (pod->spec().has_termination_grace_period_seconds()
                                    ? pod->spec().termination_grace_period_seconds()
                                    : 30);
      const bool terminal = pod->status().phase() == "Succeeded" || pod->status().phase() == "Failed";
      if (terminal) pod_grace = 0;
    }
    // A namespace with spec.finalizers becomes Terminating: no new content, and the
    // namespace controller empties it before removing its finalizer.
    if (auto* ns = dynamic_cast<api::Namespace*>(obj.get()); ns != nullptr && ns->spec().finalizers_size() > 0) {
      if (ns->status().phase() != "Terminating") {
        ns->mutable_status()->set_phase("Terminating");
        changed = true;
      }
    } else if (meta->finalizers_size() == 0 && pod_grace == 0) {
      return DeleteNow(call, *current);
    }
    if (!meta->has_deletion_timestamp() || pod_grace > 0) {
      const Nanos now = env_.clock->WallNow();
      if (!meta->has_deletion_timestamp()) SetTime(meta->mutable_deletion_timestamp(), now + Seconds(pod_grace));
      meta->set_deletion_grace_period_seconds(pod_grace);
      changed = true;
    }
    if (!changed) return ReplyObject(*call, 200, current->value, current->mod_revision);
    std::string bytes = SerializeDeterministic(*obj);
    store_.Update(call->key, bytes, current->mod_revision, {},
                  [this, call, bytes, alive = alive_](const WriteResult& w) {
                    if (!*alive) return;
                    if (!w.status.ok()) return ReplyStoreError(*call, w.status);
                    if (w.outcome == WriteOutcome::kConflict) return Delete(call);  // re-read and decide again
                    ReplyObject(*call, 200, bytes, w.revision);
                  });
  });
}

void ApiHandler::DeleteNow(std::shared_ptr<Call> call, const StoredObject& current) {
  if (!call->info->namespaced) return WriteDelete(call, current, {}, 0);
  WithNamespaceQuotas(call->request.namespace_(), [this, call, current](std::vector<StoredObject> quotas) {
    WriteDelete(call, current, std::move(quotas), 0);
  });
}

void ApiHandler::WithNamespaceQuotas(const std::string& ns, std::function<void(std::vector<StoredObject>)> then) {
  EnsureCache(*api::Registry::Default().ByGroupResource("", "resourcequotas"),
              [ns, then = std::move(then)](ResourceCache& rc) {
                WatchFilter f;
                f.namespace_ = ns;
                std::vector<StoredObject> quotas;
                for (const CachedObjectPtr& q : rc.cache.List(f)) {
                  quotas.push_back({q->key, q->bytes, q->resource_version, 0});
                }
                then(std::move(quotas));
              });
}

void ApiHandler::WriteDelete(std::shared_ptr<Call> call, const StoredObject& current, std::vector<StoredObject> quotas,
                             int attempt) {
  std::vector<SideWrite> side;
  if (!quotas.empty() && call->info->resource != "resourcequotas") {
    auto obj = call->info->New();
    obj->ParseFromString(current.value);
    (void)QuotaSideWrites(quotas, QuotaUsage(*call->info, *obj), false, &side);  // a release never fails
  }
  const std::string bytes = current.value;
  store_.Delete(call->key, current.mod_revision, std::move(side),
                [this, call, current, bytes, attempt, alive = alive_](const WriteResult& w) {
                  if (!*alive) return;
                  if (!w.status.ok()) return ReplyStoreError(*call, w.status);
                  if (w.outcome == WriteOutcome::kQuotaChanged && attempt + 1 < kMaxQuotaRetries) {
                    return ReadQuotas(call->request.namespace_(),
                                      [this, call, current, attempt](Status s, std::vector<StoredObject> q) {
                                        if (!s.ok()) return ReplyStoreError(*call, s);
                                        WriteDelete(call, current, std::move(q), attempt + 1);
                                      });
                  }
                  if (w.outcome != WriteOutcome::kDone) {
                    if (w.current.mod_revision == 0) {
                      return ReplyNotFound(*call);
                    }
                    return Delete(call);  // changed meanwhile (a finalizer added?): decide again
                  }
                  ReplyObject(*call, 200, bytes, w.revision);
                });
}

void ApiHandler::DeleteCollection(std::shared_ptr<Call> call) {
  // List what matches, then delete each through the ordinary delete path (finalizers and
  // graceful deletion apply to each). The caller was authorized for deletecollection:
  // the inner list and deletes run as part of it, without authorizing again.
  auto inner = [call](const std::string& verb, const std::string& name, Reply reply) {
    auto c = std::make_shared<Call>(*call);
    c->request.set_verb(verb);
    c->request.set_name(name);
    c->request.set_accept("");
    c->key = name.empty() ? "" : ObjectKey(call->info->resource, call->info->namespaced ? call->request.namespace_() : "", name);
    c->reply = std::move(reply);
    return c;
  };
  List(inner("list", "", [this, call, inner, alive = alive_](Response r) {
    if (!*alive) return false;
    if (r.code() != 200) {
      call->reply(std::move(r));
      return false;
    }
    ObjectList items;
    items.ParseFromString(r.body());
    auto remaining = std::make_shared<size_t>(static_cast<size_t>(items.items_size()));
    if (*remaining == 0) {
      ReplyStatus(*call, 200, "", "");
      return false;
    }
    for (const std::string& bytes : items.items()) {
      auto obj = call->info->New();
      obj->ParseFromString(bytes);
      Delete(inner("delete", api::GetMeta(*obj)->name(), [this, call, remaining](Response) {
        if (--*remaining == 0) ReplyStatus(*call, 200, "", "");
        return false;
      }));
    }
    return false;
  }));
}

// --- scale --------------------------------------------------------------------------------

namespace {

const gp::Message* SubMessage(const gp::Message& m, const char* name) {
  const gp::FieldDescriptor* f = m.GetDescriptor()->FindFieldByName(name);
  if (f == nullptr || f->cpp_type() != gp::FieldDescriptor::CPPTYPE_MESSAGE || f->is_repeated()) return nullptr;
  return &m.GetReflection()->GetMessage(m, f);
}

int32_t Int32Field(const gp::Message* m, const char* name) {
  if (m == nullptr) return 0;
  const gp::FieldDescriptor* f = m->GetDescriptor()->FindFieldByName(name);
  if (f == nullptr || f->cpp_type() != gp::FieldDescriptor::CPPTYPE_INT32) return 0;
  return m->GetReflection()->GetInt32(*m, f);
}

// The workload's selector as a string ("app=web,tier in (a,b)").
std::string SelectorString(const gp::Message& spec) {
  const gp::FieldDescriptor* f = spec.GetDescriptor()->FindFieldByName("selector");
  if (f == nullptr) return {};
  std::vector<std::string> parts;
  if (f->is_map()) {  // ReplicationController: map<string,string>
    const auto* rc = dynamic_cast<const api::ReplicationControllerSpec*>(&spec);
    if (rc != nullptr) {
      for (const auto& [k, v] : std::map<std::string, std::string>(rc->selector().begin(), rc->selector().end())) {
        parts.push_back(k + "=" + v);
      }
    }
  } else if (const auto* sel = dynamic_cast<const api::LabelSelector*>(SubMessage(spec, "selector"))) {
    for (const auto& [k, v] : std::map<std::string, std::string>(sel->match_labels().begin(), sel->match_labels().end())) {
      parts.push_back(k + "=" + v);
    }
    for (const api::LabelSelectorRequirement& r : sel->match_expressions()) {
      std::string values;
      for (const std::string& v : r.values()) values += (values.empty() ? "" : ",") + v;
      if (r.operator_() == "In") parts.push_back(r.key() + " in (" + values + ")");
      if (r.operator_() == "NotIn") parts.push_back(r.key() + " notin (" + values + ")");
      if (r.operator_() == "Exists") parts.push_back(r.key());
      if (r.operator_() == "DoesNotExist") parts.push_back("!" + r.key());
    }
  }
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : ",") + p;
  return out;
}

api::Scale ScaleOf(const gp::Message& object, int64_t revision) {
  api::Scale scale;
  scale.set_api_version("autoscaling/v1");
  scale.set_kind("Scale");
  const api::ObjectMeta& meta = *api::GetMeta(object);
  scale.mutable_metadata()->set_name(meta.name());
  scale.mutable_metadata()->set_namespace_(meta.namespace_());
  scale.mutable_metadata()->set_uid(meta.uid());
  scale.mutable_metadata()->set_resource_version(std::to_string(revision));
  *scale.mutable_metadata()->mutable_creation_timestamp() = meta.creation_timestamp();
  const gp::Message* spec = SubMessage(object, "spec");
  scale.mutable_spec()->set_replicas(Int32Field(spec, "replicas"));
  scale.mutable_status()->set_replicas(Int32Field(SubMessage(object, "status"), "replicas"));
  if (spec != nullptr) scale.mutable_status()->set_selector(SelectorString(*spec));
  return scale;
}

}  // namespace

void ApiHandler::Scale(std::shared_ptr<Call> call) {
  api::Scale wanted;
  const bool update = call->request.verb() == "update";
  if (update) {
    const api::KindInfo* scale_kind = api::Registry::Default().ByApiVersionKind("autoscaling/v1", "Scale");
    if (Status s = DecodeBody(call->request, *scale_kind, &wanted); !s.ok()) {
      return ReplyStatus(*call, 400, "BadRequest", s.message());
    }
    if (wanted.spec().replicas() < 0) {
      return ReplyStatus(*call, 422, "Invalid", "spec.replicas: Invalid value: " +
                                                    std::to_string(wanted.spec().replicas()) +
                                                    ": must be greater than or equal to 0");
    }
  }
  store_.Get(call->key, [this, call, wanted, update, alive = alive_](Status s, const StoredObject* current) {
    if (!*alive) return;
    if (!s.ok()) return ReplyStoreError(*call, s);
    if (current == nullptr) {
      return ReplyNotFound(*call);
    }
    auto obj = call->info->New();
    obj->ParseFromString(current->value);
    auto reply_scale = [this, call](const gp::Message& o, int64_t revision) {
      const api::Scale scale = ScaleOf(o, revision);
      Response r;
      r.set_id(call->request.id());
      r.set_code(200);
      if (WantsJson(call->request.accept())) {
        r.set_content_type(kJson);
        r.set_body(api::EncodeJson(scale));
      } else {
        r.set_content_type(kProtobuf);
        r.set_body(SerializeDeterministic(scale));
      }
      call->reply(std::move(r));
    };
    if (!update) return reply_scale(*obj, current->mod_revision);
    const std::string& rv = wanted.metadata().resource_version();
    if (!rv.empty() && rv != std::to_string(current->mod_revision)) {
      ++stats_.conflicts;
      return ReplyConflict(*call);
    }
    gp::Message* spec = obj->GetReflection()->MutableMessage(obj.get(), obj->GetDescriptor()->FindFieldByName("spec"));
    const gp::FieldDescriptor* replicas = spec->GetDescriptor()->FindFieldByName("replicas");
    spec->GetReflection()->SetInt32(spec, replicas, wanted.spec().replicas());
    // The write answers with the object; the scale call answers with its Scale.
    auto scale_call = std::make_shared<Call>(*call);
    scale_call->request.set_accept("");
    scale_call->reply = [reply_scale, info = call->info, call](Response r) {
      if (r.code() != 200) return call->reply(std::move(r));
      auto written = info->New();
      written->ParseFromString(r.body());
      reply_scale(*written, std::stoll(api::GetMeta(*written)->resource_version()));
      return false;
    };
    const StoredObject cur = *current;
    WriteUpdate(scale_call, std::move(obj), cur, [this, call] {
      ++stats_.conflicts;
      ReplyStatus(*call, 409, "Conflict", "the object changed while scaling; try again");
    });
  });
}

// --- binding ------------------------------------------------------------------------------

void ApiHandler::Bind(std::shared_ptr<Call> call, int attempt) {
  api::Binding binding;
  if (Status s = DecodeBody(call->request, *api::Registry::Default().ByGroupResource("", "bindings"), &binding);
      !s.ok()) {
    return ReplyStatus(*call, 400, "BadRequest", s.message());
  }
  if (binding.target().name().empty()) {
    return ReplyStatus(*call, 422, "Invalid", "target.name: Required value");
  }
  store_.Get(call->key, [this, call, binding, attempt, alive = alive_](Status s, const StoredObject* current) {
    if (!*alive) return;
    if (!s.ok()) return ReplyStoreError(*call, s);
    if (current == nullptr) {
      return ReplyStatus(*call, 404, "NotFound", fmt::format("pods \"{}\" not found", call->request.name()));
    }
    api::Pod pod;
    pod.ParseFromString(current->value);
    if (!pod.spec().node_name().empty()) {
      return ReplyStatus(*call, 409, "Conflict",
                         fmt::format("Operation cannot be fulfilled on pods/binding \"{}\": pod {} is already "
                                     "assigned to node \"{}\"",
                                     call->request.name(), call->request.name(), pod.spec().node_name()));
    }
    if (pod.metadata().has_deletion_timestamp()) {
      return ReplyStatus(*call, 409, "Conflict",
                         fmt::format("pod {} is being deleted, cannot be assigned to a host", call->request.name()));
    }
    pod.mutable_spec()->set_node_name(binding.target().name());
    const std::string bytes = SerializeDeterministic(pod);
    store_.Update(call->key, bytes, current->mod_revision, {},
                  [this, call, attempt, alive = alive_](const WriteResult& w) {
                    if (!*alive) return;
                    if (!w.status.ok()) return ReplyStoreError(*call, w.status);
                    if (w.outcome == WriteOutcome::kConflict) {
                      if (attempt + 1 >= options_.max_update_retries) {
                        return ReplyStatus(*call, 409, "Conflict", "the pod kept changing; not bound");
                      }
                      return Bind(call, attempt + 1);  // e.g. a status update raced: bind again
                    }
                    ReplyStatus(*call, 201, "", "");
                  });
  });
}

// --- watch --------------------------------------------------------------------------------

void ApiHandler::Watch(std::shared_ptr<Call> call) {
  const uint64_t handle = call->watch_handle;
  WatchFilter filter;
  if (Status s = ParseFilter(call->request, *call->info, &filter); !s.ok()) {
    watches_.erase(handle);
    return ReplyStatus(*call, 400, "BadRequest", s.message());
  }
  if (!call->request.name().empty()) filter.name = call->request.name();
  int64_t from = 0;
  const std::string rv = QueryValue(call->request, "resourceVersion");
  if (!rv.empty() && !api::ParseResourceVersion(rv, &from)) {
    watches_.erase(handle);
    return ReplyStatus(*call, 400, "BadRequest", "resourceVersion: \"" + rv + "\" is not a resource version");
  }
  const bool bookmarks = QueryValue(call->request, "allowWatchBookmarks") == "true";
  EnsureCache(*call->info, [this, call, filter, from, bookmarks, handle](ResourceCache& rc) {
    auto ref = watches_.find(handle);
    if (ref == watches_.end() || ref->second.canceled) {
      watches_.erase(handle);
      return;
    }
    // The stream opens with a 200; events follow, one frame per event.
    Response open;
    open.set_id(call->request.id());
    open.set_code(200);
    open.set_content_type(kProtobuf);
    if (!call->reply(std::move(open))) {
      watches_.erase(handle);
      return;
    }
    const api::KindInfo* info = call->info;
    WatchSink sink = [this, call, info, bookmarks, handle](const WatcherEvent& e) {
      if (e.type == WatchEventType::kBookmark && !bookmarks) return true;
      if (e.type == WatchEventType::kError) {
        ++stats_.watch_events_sent;
        ++stats_.watch_frames_sent;
        if (!FlushWatchFrame(handle)) return false;  // what came before goes first
        return call->reply(GoneFrame(call->request.id(), "the watch cache was re-listed; watch again from a fresh list"));
      }
      PendingWatchFrame& pending = pending_watch_frames_[handle];
      if (pending.frame.events().empty()) {
        pending.call = call;
        pending.frame.set_id(call->request.id());
        pending.frame.set_code(200);
      }
      WatchEvent* out = pending.frame.add_events();
      out->set_type(std::string(WatchEventTypeName(e.type)));
      if (e.type == WatchEventType::kBookmark) {
        out->set_resource_version(e.revision);
      } else {
        out->set_object(e.object->bytes + RevisionSuffix(*info, e.object->resource_version));
        out->set_resource_version(e.object->resource_version);
        pending.bytes += out->object().size();
      }
      ++stats_.watch_events_sent;
      const bool room = pending.frame.events_size() < kMaxWatchFrameEvents && pending.bytes < kMaxWatchFrameBytes;
      if (gathering_watch_frames_ && room) return true;  // sent when OnStoreEvents ends
      return FlushWatchFrame(handle);
    };
    int64_t id = 0;
    Status s = rc.cache.Watch(filter, from, std::move(sink), &id);
    if (!s.ok()) {
      Response gone = GoneFrame(call->request.id(), s.message());
      call->reply(std::move(gone));
      watches_.erase(handle);
      return;
    }
    ref->second.cache_watch_id = id;
  });
}

bool ApiHandler::FlushWatchFrame(uint64_t handle) {
  auto it = pending_watch_frames_.find(handle);
  if (it == pending_watch_frames_.end()) return true;
  PendingWatchFrame pending = std::move(it->second);
  pending_watch_frames_.erase(it);
  ++stats_.watch_frames_sent;
  return pending.call->reply(std::move(pending.frame));
}

void ApiHandler::FlushWatchFrames() {
  while (!pending_watch_frames_.empty()) {
    const uint64_t handle = pending_watch_frames_.begin()->first;
    if (FlushWatchFrame(handle)) continue;
    // The watcher cannot take more: the cache drops it, as when its sink refuses.
    auto ref = watches_.find(handle);
    if (ref == watches_.end()) continue;
    auto rc = caches_.find(ref->second.resource);
    if (rc != caches_.end()) rc->second->cache.CancelWatch(ref->second.cache_watch_id);
  }
}

void ApiHandler::CancelWatch(uint64_t handle) {
  pending_watch_frames_.erase(handle);
  auto it = watches_.find(handle);
  if (it == watches_.end()) return;
  if (it->second.cache_watch_id == 0) {
    it->second.canceled = true;  // still waiting for the cache; dropped when it is ready
    return;
  }
  auto rc = caches_.find(it->second.resource);
  if (rc != caches_.end()) rc->second->cache.CancelWatch(it->second.cache_watch_id);
  watches_.erase(it);
}

void ApiHandler::Bookmark() {
  for (auto& [resource, rc] : caches_) {
    if (rc->cache.ready()) rc->cache.Bookmark();
  }
}

// --- the watch caches ---------------------------------------------------------------------

CachedObjectPtr ApiHandler::ToCached(const api::KindInfo& info, const std::string& key, const std::string& bytes,
                                     int64_t revision) const {
  auto o = std::make_shared<CachedObject>();
  o->key = key;
  o->bytes = bytes;
  o->resource_version = revision;
  if (info.descriptor == api::Pod::descriptor()) {
    (void)ProjectPod(bytes, o.get());  // an unparsable value is cached without fields, as below
    return o;
  }
  // Parsed on an arena: the message lives only long enough to read its fields.
  gp::Arena arena;
  gp::Message* m = info.prototype->New(&arena);
  if (m->ParseFromString(bytes)) {
    const api::ObjectMeta& meta = *api::GetMeta(*m);
    o->namespace_ = meta.namespace_();
    o->name = meta.name();
    o->labels.insert(meta.labels().begin(), meta.labels().end());
    o->SetFields(SelectableFields(*m));
  }
  return o;
}

void ApiHandler::EnsureCache(const api::KindInfo& info, std::function<void(ResourceCache&)> then) {
  auto it = caches_.find(info.resource);
  if (it == caches_.end()) {
    WatchCacheOptions o;
    o.key_prefix = ResourcePrefix(info.resource, "");
    o.window_events = options_.watch_window_events;
    it = caches_.emplace(info.resource, std::make_unique<ResourceCache>(std::move(o))).first;
    it->second->info = &info;
  }
  ResourceCache& rc = *it->second;
  if (rc.cache.ready()) return then(rc);
  rc.waiting.push_back(std::move(then));
  if (rc.loading) return;
  rc.loading = true;
  LoadCache(rc, ResourcePrefix(info.resource, ""), 0, {});
}

void ApiHandler::LoadCache(ResourceCache& rc, std::string start_key, int64_t revision,
                           std::vector<CachedObjectPtr> acc) {
  const std::string end = PrefixEnd(ResourcePrefix(rc.info->resource, ""));
  store_.List(start_key, end, revision, options_.max_list_page,
              [this, &rc, revision, acc = std::move(acc), alive = alive_](ListPage p) mutable {
                if (!*alive) return;
                if (revision != 0 && p.status.ok()) p.revision = revision;  // the list's revision, not the header's
                if (!p.status.ok()) {
                  // Try again shortly (the store may be electing a leader); a compacted
                  // revision starts the list over.
                  env_.clock->Schedule(Milliseconds(200), [this, &rc, alive = alive_] {
                    if (*alive) LoadCache(rc, ResourcePrefix(rc.info->resource, ""), 0, {});
                  });
                  return;
                }
                for (const StoredObject& o : p.items) {
                  acc.push_back(ToCached(*rc.info, o.key, o.value, o.mod_revision));
                }
                if (p.more && !p.items.empty()) {
                  return LoadCache(rc, p.items.back().key + '\0', p.revision, std::move(acc));
                }
                rc.cache.Reset(std::move(acc), p.revision);
                if (rc.feeds_auth) OnAuthReset(rc);  // a re-list after compaction
                rc.loading = false;
                const std::string prefix = ResourcePrefix(rc.info->resource, "");
                rc.watch = std::make_unique<storeclient::StoreWatch>(
                    env_, options_.store_members, prefix, PrefixEnd(prefix), p.revision + 1,
                    [this, &rc](const std::vector<const store::Event*>& events) { OnStoreEvents(rc, events); },
                    [this, &rc](int64_t) {
                      // The store compacted past the cache: re-list (watchers get 410).
                      env_.clock->Schedule(Nanos(0), [this, &rc, alive = alive_] {
                        if (!*alive) return;
                        rc.watch.reset();
                        rc.loading = true;
                        LoadCache(rc, ResourcePrefix(rc.info->resource, ""), 0, {});
                      });
                    });
                rc.watch->Start();
                std::vector<std::function<void(ResourceCache&)>> waiting;
                waiting.swap(rc.waiting);
                for (auto& fn : waiting) fn(rc);
              });
}

void ApiHandler::OnStoreEvents(ResourceCache& rc, const std::vector<const store::Event*>& events) {
  gathering_watch_frames_ = true;
  for (const store::Event* e : events) {
    const int64_t revision = e->kv().mod_revision();
    if (revision <= rc.cache.revision()) continue;
    if (e->type() == store::Event::PUT) {
      CachedObjectPtr o = ToCached(*rc.info, e->kv().key(), e->kv().value(), revision);
      if (rc.feeds_auth) OnAuthObject(rc.info->resource, o->key, o);
      rc.cache.ApplyPut(std::move(o), revision);
    } else {
      if (rc.feeds_auth) OnAuthObject(rc.info->resource, e->kv().key(), nullptr);
      rc.cache.ApplyDelete(e->kv().key(), revision);
    }
  }
  gathering_watch_frames_ = false;
  FlushWatchFrames();
}

}  // namespace ksim::apiserver
