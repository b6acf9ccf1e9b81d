#include "cluster/controllers/root_ca_publisher.h"

#include <map>
#include <string>
#include <utility>

#include "cluster/api/codec.h"
#include "cluster/api/registry.h"

namespace ksim::controllers {
namespace {

using client::ObjectPtr;

// Kubernetes' text, so tools that read it see the same.
constexpr char kDescription[] =
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the "
    "internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes "
    "clusters.";

const api::KindInfo& Core(const char* resource) { return *api::Registry::Default().ByGroupResource("", resource); }

bool Terminating(const api::Namespace& ns) {
  return ns.metadata().has_deletion_timestamp() || ns.status().phase() == "Terminating";
}

// One worker (Kubernetes runs it with 1), key = namespace.
class RootCaPublisher final : public Controller {
 public:
  explicit RootCaPublisher(ControllerContext& ctx)
      : ctx_(ctx), namespaces_(ctx.informers->For(Core("namespaces"))),
        config_maps_(ctx.informers->For(Core("configmaps"))) {
    root_ca_ = !ctx.options.root_ca_pem.empty() ? ctx.options.root_ca_pem : ctx.options.cluster_signing_cert_pem;
    loop_ = std::make_unique<ReconcileLoop>(
        ctx_, kRootCaPublisherControllerName,
        [this](const std::string& key, std::function<void(Status)> done) { Sync(key, std::move(done)); }, 1);
    loop_->OnSynced([this] {
      for (const auto& o : namespaces_->List()) loop_->Add(api::GetMeta(*o)->name());
    });
    const auto by_name = [this](const ObjectPtr& o) { loop_->Add(api::GetMeta(*o)->name()); };
    namespaces_->AddHandlers({by_name, [by_name](const ObjectPtr&, const ObjectPtr& o) { by_name(o); }, nullptr});
    // Only our ConfigMap's changes and deletions matter (its add is our own create).
    const auto ours = [this](const ObjectPtr& o) {
      const api::ObjectMeta& m = *api::GetMeta(*o);
      if (m.name() == kRootCaConfigMap) loop_->Add(m.namespace_());
    };
    config_maps_->AddHandlers({nullptr, [ours](const ObjectPtr&, const ObjectPtr& o) { ours(o); }, ours});
  }
  ~RootCaPublisher() override { *alive_ = false; }
  void Start() override { loop_->Start(); }
  void Stop() override { loop_->Stop(); }

 private:
  void Sync(const std::string& ns, std::function<void(Status)> done) {
    if (root_ca_.empty()) return done(Status::Ok());
    ObjectPtr n = namespaces_->Get(ns);
    if (n == nullptr || Terminating(static_cast<const api::Namespace&>(*n))) return done(Status::Ok());
    ObjectPtr cached = config_maps_->Get(ns + "/" + kRootCaConfigMap);
    if (cached == nullptr) return Create(ns, std::move(done));
    const auto& cm = static_cast<const api::ConfigMap&>(*cached);
    const std::map<std::string, std::string> want = {{"ca.crt", root_ca_}};
    const std::map<std::string, std::string> have(cm.data().begin(), cm.data().end());
    auto description = cm.metadata().annotations().find(kRootCaDescriptionAnnotation);
    if (have == want && description != cm.metadata().annotations().end() && !description->second.empty()) {
      return done(Status::Ok());
    }
    api::ConfigMap updated = cm;
    updated.mutable_data()->clear();
    (*updated.mutable_data())["ca.crt"] = root_ca_;
    (*updated.mutable_metadata()->mutable_annotations())[kRootCaDescriptionAnnotation] = kDescription;
    // Guarded by the cached resourceVersion: a 409 syncs again from a fresher cache.
    ctx_.client->Update(Core("configmaps"), updated, [alive = alive_, done = std::move(done)](const client::ApiResult& r) {
      if (!*alive) return;
      if (r.ok() || r.code == 404) return done(Status::Ok());  // deleted meanwhile: its delete queues us
      done(Status::Unavailable("update kube-root-ca.crt: " + r.Describe()));
    });
  }

  void Create(const std::string& ns, std::function<void(Status)> done) {
    api::ConfigMap cm;
    cm.mutable_metadata()->set_name(kRootCaConfigMap);
    cm.mutable_metadata()->set_namespace_(ns);
    (*cm.mutable_metadata()->mutable_annotations())[kRootCaDescriptionAnnotation] = kDescription;
    (*cm.mutable_data())["ca.crt"] = root_ca_;
    ctx_.client->Create(Core("configmaps"), cm, [alive = alive_, done = std::move(done)](const client::ApiResult& r) {
      if (!*alive) return;
      // The namespace is gone or terminating: nothing to publish there.
      if (r.ok() || r.code == 403 || r.code == 404) return done(Status::Ok());
      // 409: one exists that the cache has not shown yet; it is checked once it has.
      done(Status::Unavailable("create kube-root-ca.crt: " + r.Describe()));
    });
  }

  ControllerContext& ctx_;
  client::Informer* namespaces_;
  client::Informer* config_maps_;
  std::string root_ca_;
  std::unique_ptr<ReconcileLoop> loop_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

std::unique_ptr<Controller> NewRootCaPublisher(ControllerContext& ctx) { return std::make_unique<RootCaPublisher>(ctx); }

}  // namespace ksim::controllers
