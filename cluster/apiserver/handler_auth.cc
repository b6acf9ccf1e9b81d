// ApiHandler: authentication and authorization, and what an apiserver writes at start.
#include "cluster/apiserver/handler_internal.h"

#include <fmt/format.h>

#include "cluster/api/rbac.pb.h"
#include "cluster/apiserver/auth/bootstrap.h"

namespace ksim::apiserver {

namespace gp = google::protobuf;
using namespace handler_internal;  // NOLINT: this file's own helpers

// --- authentication and authorization ---------------------------------------------------

Status ApiHandler::Start() {
  Status s;
  if (!options_.token_file.empty()) s = TokenAuthenticator::ParseTokenFile(options_.token_file, "token file", &authenticator_);
  if (token_key_ != nullptr) {
    authenticator_.EnableBoundTokens(token_key_, options_.service_account_issuer, token_audiences_,
                                     [this](std::string_view resource, std::string_view ns, std::string_view name) {
                                       return CachedObjectState(resource, ns, name);
                                     });
  }
  if (s.ok() && !token_key_error_.ok()) s = token_key_error_;
  if (options_.system_namespaces) WriteSystemNamespaces();
  if (options_.authenticate) {
    WriteBootstrapPolicy();
    LoadAuthCaches();
  }
  return allocator_error_.ok() ? s : allocator_error_;
}

void ApiHandler::WriteSystemNamespaces() {
  // Kubernetes' apiserver keeps these four namespaces in existence; components (leader
  // election in kube-system, node leases in kube-node-lease) assume them. Every apiserver
  // writes them at start; whoever is second finds them there (AlreadyExists).
  for (const char* name : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
    api::Namespace ns;
    api::ObjectMeta* meta = ns.mutable_metadata();
    meta->set_name(name);
    meta->set_uid(NewUid(""));  // from Entropy: a re-created namespace gets a new uid
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
    meta->set_uid(NewUid(""));  // from Entropy: a re-created object gets a new uid
    SetTime(meta->mutable_creation_timestamp(), env_.clock->WallNow());
    api::SetTypeMeta(object);
    store_.Create(ObjectKey(resource, "", meta->name()), SerializeDeterministic(object), {},
                  [](const WriteResult&) {});
  };
  for (api::ClusterRole role : policy.cluster_roles) write("clusterroles", role);
  for (api::ClusterRoleBinding binding : policy.cluster_role_bindings) write("clusterrolebindings", binding);
}

void ApiHandler::LoadAuthCaches() {
  std::vector<const api::KindInfo*> kinds = AuthInputKinds();
  if (token_key_ != nullptr) {
    // A bound token is checked against the cached account and pod (secrets are loaded
    // anyway): requests wait for those caches as for RBAC's.
    for (const char* resource : {"serviceaccounts", "pods"}) {
      kinds.push_back(api::Registry::Default().ByGroupResource("", resource));
    }
  }
  for (const api::KindInfo* info : kinds) {
    EnsureCache(*info, [this, count = kinds.size()](ResourceCache& rc) {
      // Accounts and pods are only looked up (bound tokens), never fed.
      rc.feeds_auth = ResourceStrategyOf(*rc.info).feed_auth != nullptr;
      if (rc.feeds_auth) OnAuthReset(rc);
      if (++auth_caches_loaded_ < static_cast<int>(count) || auth_ready_) return;
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
  for (const std::string& key : old) OnAuthObject(*rc.info, key, nullptr);
  for (const CachedObjectPtr& o : rc.cache.List(WatchFilter{})) OnAuthObject(*rc.info, o->key, o);
}

void ApiHandler::OnAuthObject(const api::KindInfo& info, const std::string& key, const CachedObjectPtr& object) {
  const std::string& resource = info.resource;
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
  AuthSinks sinks{&authenticator_, &authorizer_};
  ResourceStrategyOf(info).feed_auth(sinks, ns, name, object != nullptr ? &object->bytes : nullptr);
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
  std::optional<UserInfo> user =
      authenticator_.Authenticate(call->request.token(), env_.clock->WallNow().count() / 1'000'000'000);
  if (!user) {
    if (call->watch_handle != 0) watches_.erase(call->watch_handle);
    return ReplyStatus(*call, 401, "Unauthorized", "Unauthorized");
  }
  call->user = *user;
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

}  // namespace ksim::apiserver
