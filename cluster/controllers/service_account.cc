#include "cluster/controllers/service_account.h"

#include <fmt/format.h>

#include <string>
#include <utility>
#include <vector>

#include "cluster/api/codec.h"
#include "cluster/api/registry.h"
#include "cluster/apiserver/auth/authn.h"

namespace ksim::controllers {
namespace {

using client::ObjectPtr;

const api::KindInfo& Core(const char* resource) { return *api::Registry::Default().ByGroupResource("", resource); }
std::string Str(std::string_view s) { return std::string(s); }

bool NamespaceActive(const api::Namespace& ns) {
  return !ns.metadata().has_deletion_timestamp() && ns.status().phase() != "Terminating";
}

// ---- serviceaccount: one key per namespace.
class ServiceAccountController final : public Controller {
 public:
  explicit ServiceAccountController(ControllerContext& ctx)
      : ctx_(ctx), namespaces_(ctx.informers->For(Core("namespaces"))),
        accounts_(ctx.informers->For(Core("serviceaccounts"))) {
    loop_ = std::make_unique<ReconcileLoop>(
        ctx_, kServiceAccountControllerName,
        [this](const std::string& key, std::function<void(Status)> done) { Sync(key, std::move(done)); }, 1);
    loop_->OnSynced([this] {
      for (const auto& o : namespaces_->List()) loop_->Add(api::GetMeta(*o)->name());
    });
    const auto by_name = [this](const ObjectPtr& o) { loop_->Add(api::GetMeta(*o)->name()); };
    namespaces_->AddHandlers({by_name, [by_name](const ObjectPtr&, const ObjectPtr& o) { by_name(o); }, nullptr});
    accounts_->AddHandlers({nullptr, nullptr, [this](const ObjectPtr& o) {
                              const api::ObjectMeta& m = *api::GetMeta(*o);
                              if (m.name() == kDefaultServiceAccount) loop_->Add(m.namespace_());
                            }});
  }
  ~ServiceAccountController() override { *alive_ = false; }
  void Start() override { loop_->Start(); }
  void Stop() override { loop_->Stop(); }

 private:
  void Sync(const std::string& ns, std::function<void(Status)> done) {
    ObjectPtr o = namespaces_->Get(ns);
    if (o == nullptr || !NamespaceActive(static_cast<const api::Namespace&>(*o))) return done(Status::Ok());
    if (accounts_->Get(ns + "/" + kDefaultServiceAccount) != nullptr) return done(Status::Ok());
    api::ServiceAccount sa;
    sa.mutable_metadata()->set_name(kDefaultServiceAccount);
    sa.mutable_metadata()->set_namespace_(ns);
    ctx_.client->Create(Core("serviceaccounts"), sa, [alive = alive_, done](const client::ApiResult& r) {
      if (!*alive) return;
      // Exists already (a lagging cache), or the namespace is being deleted: nothing to do.
      if (r.ok() || r.code == 409 || r.code == 403 || r.code == 404) return done(Status::Ok());
      done(Status::Unavailable("create default serviceaccount: " + r.Describe()));
    });
  }

  ControllerContext& ctx_;
  client::Informer* namespaces_;
  client::Informer* accounts_;
  std::unique_ptr<ReconcileLoop> loop_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// ---- serviceaccount-token: one key per token Secret ("ns/name").
class TokenController final : public Controller {
 public:
  explicit TokenController(ControllerContext& ctx)
      : ctx_(ctx), accounts_(ctx.informers->For(Core("serviceaccounts"))), secrets_(ctx.informers->For(Core("secrets"))) {
    root_ca_ = !ctx.options.root_ca_pem.empty() ? ctx.options.root_ca_pem : ctx.options.cluster_signing_cert_pem;
    loop_ = std::make_unique<ReconcileLoop>(
        ctx_, kServiceAccountTokenControllerName,
        [this](const std::string& key, std::function<void(Status)> done) { Sync(key, std::move(done)); },
        ctx.options.concurrent_serviceaccount_token_syncs);
    loop_->OnSynced([this] {
      for (const auto& o : secrets_->List()) OnSecret(o);
    });
    secrets_->AddIndex(kIndex, [](const google::protobuf::Message& m) {
      const auto& s = static_cast<const api::Secret&>(m);
      auto it = s.metadata().annotations().find(Str(apiserver::kServiceAccountNameAnnotation));
      if (s.type() != apiserver::kServiceAccountTokenSecretType || it == s.metadata().annotations().end()) {
        return std::vector<std::string>{};
      }
      return std::vector<std::string>{s.metadata().namespace_() + "/" + it->second};
    });
    secrets_->AddHandlers({[this](const ObjectPtr& o) { OnSecret(o); },
                           [this](const ObjectPtr&, const ObjectPtr& o) { OnSecret(o); }, nullptr});
    // An account added or deleted: its token Secrets are checked again.
    const auto account = [this](const ObjectPtr& o) {
      for (const auto& s : secrets_->ByIndex(kIndex, client::Informer::KeyOf(*o))) OnSecret(s);
    };
    accounts_->AddHandlers({account, nullptr, account});
  }
  ~TokenController() override { *alive_ = false; }
  void Start() override { loop_->Start(); }
  void Stop() override { loop_->Stop(); }

 private:
  static constexpr char kIndex[] = "serviceaccount-token/account";

  void OnSecret(const ObjectPtr& o) {
    if (static_cast<const api::Secret&>(*o).type() == apiserver::kServiceAccountTokenSecretType) {
      loop_->Add(client::Informer::KeyOf(*o));
    }
  }

  void Sync(const std::string& key, std::function<void(Status)> done) {
    ObjectPtr o = secrets_->Get(key);
    if (o == nullptr) return done(Status::Ok());
    auto secret = std::static_pointer_cast<const api::Secret>(o);
    if (secret->metadata().has_deletion_timestamp()) return done(Status::Ok());
    const auto& ann = secret->metadata().annotations();
    auto name = ann.find(Str(apiserver::kServiceAccountNameAnnotation));
    if (name == ann.end() || name->second.empty()) return done(Status::Ok());  // validation refuses these
    const std::string sa_key = secret->metadata().namespace_() + "/" + name->second;
    auto uid = ann.find(Str(apiserver::kServiceAccountUidAnnotation));
    const std::string want_uid = uid == ann.end() ? "" : uid->second;
    ObjectPtr cached = accounts_->Get(sa_key);
    if (cached != nullptr && (want_uid.empty() || api::GetMeta(*cached)->uid() == want_uid)) {
      return Fill(secret, static_cast<const api::ServiceAccount&>(*cached), std::move(done));
    }
    // A cache miss or another uid may be the cache lagging: ask the apiserver before deleting.
    ctx_.client->Get(Core("serviceaccounts"), secret->metadata().namespace_(), name->second,
                     [this, alive = alive_, secret, want_uid, done = std::move(done)](const client::ApiResult& r) mutable {
                       if (!*alive) return;
                       api::ServiceAccount sa;
                       if (r.ok() && sa.ParseFromString(r.body) &&
                           (want_uid.empty() || sa.metadata().uid() == want_uid)) {
                         return Fill(secret, sa, std::move(done));
                       }
                       if (r.ok() || r.code == 404) return Delete(secret, std::move(done));
                       done(Status::Unavailable("get serviceaccount: " + r.Describe()));
                     });
  }

  // The account is gone (or was replaced): its token must stop working.
  void Delete(const std::shared_ptr<const api::Secret>& secret, std::function<void(Status)> done) {
    api::DeleteOptions options;
    options.mutable_preconditions()->set_uid(secret->metadata().uid());
    ctx_.client->Delete(Core("secrets"), secret->metadata().namespace_(), secret->metadata().name(), options,
                        [alive = alive_, done = std::move(done)](const client::ApiResult& r) {
                          if (!*alive) return;
                          if (r.ok() || r.code == 404 || r.code == 409) return done(Status::Ok());
                          done(Status::Unavailable("delete token secret: " + r.Describe()));
                        });
  }

  // Token (kept once set), ca.crt (the root CA, updated when it changes), namespace, and the
  // account's uid annotation, by an update guarded by the Secret's resourceVersion.
  void Fill(const std::shared_ptr<const api::Secret>& secret, const api::ServiceAccount& sa,
            std::function<void(Status)> done) {
    api::Secret updated = *secret;
    auto& data = *updated.mutable_data();
    const std::string& ns = secret->metadata().namespace_();
    bool changed = false;
    const auto set = [&](const std::string& k, const std::string& v) {
      auto it = data.find(k);
      if (it == data.end() || it->second != v) {
        data[k] = v;
        changed = true;
      }
    };
    auto token = data.find(Str(apiserver::kServiceAccountTokenKey));
    if (token == data.end() || token->second.empty()) {
      set(Str(apiserver::kServiceAccountTokenKey), apiserver::TokenAuthenticator::NewServiceAccountToken(*ctx_.env.entropy));
    }
    if (!root_ca_.empty()) set("ca.crt", root_ca_);
    set("namespace", ns);
    auto& ann = *updated.mutable_metadata()->mutable_annotations();
    const std::string uid_key = Str(apiserver::kServiceAccountUidAnnotation);
    if (ann[uid_key] != sa.metadata().uid()) {
      ann[uid_key] = sa.metadata().uid();
      changed = true;
    }
    if (!changed) return done(Status::Ok());
    ctx_.client->Update(Core("secrets"), updated, [alive = alive_, done = std::move(done)](const client::ApiResult& r) {
      if (!*alive) return;
      if (r.ok() || r.code == 404) return done(Status::Ok());
      done(Status::Unavailable("update token secret: " + r.Describe()));  // 409: synced again
    });
  }

  ControllerContext& ctx_;
  client::Informer* accounts_;
  client::Informer* secrets_;
  std::string root_ca_;
  std::unique_ptr<ReconcileLoop> loop_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

std::unique_ptr<Controller> NewServiceAccountController(ControllerContext& ctx) {
  return std::make_unique<ServiceAccountController>(ctx);
}
std::unique_ptr<Controller> NewServiceAccountTokenController(ControllerContext& ctx) {
  return std::make_unique<TokenController>(ctx);
}

}  // namespace ksim::controllers
