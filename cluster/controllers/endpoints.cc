// The Endpoints controller's plumbing (Kubernetes' pkg/controller/endpoint): informers,
// the queue of Service keys, the write of each Service's Endpoints (guarded by the
// cached resourceVersion, so a stale cache costs a conflict and a retry, never a lost
// write) and the delete of a deleted Service's Endpoints. The plan is endpoints_plan.cc.
#include <fmt/format.h>

#include "cluster/api/codec.h"
#include "cluster/api/registry.h"
#include "cluster/controllers/endpoints.h"
#include "cluster/controllers/endpointslice.h"
#include "cluster/controllers/service_endpoints.h"

namespace ksim::controllers {
namespace {

using client::ObjectPtr;

const api::KindInfo& KindFor(const char* group, const char* resource) {
  return *api::Registry::Default().ByGroupResource(group, resource);
}
const api::KindInfo& EndpointsKind() { return KindFor("", "endpoints"); }
// Endpoints of a leader-election lock (client-go's old endpoints lock) are not leftovers.
constexpr char kLeaderAnnotation[] = "control-plane.alpha.kubernetes.io/leader";

class EndpointsController final : public Controller {
 public:
  explicit EndpointsController(ControllerContext& ctx)
      : ctx_(ctx), services_(ctx.informers->For(KindFor("", "services"))),
        pods_(ctx.informers->For(KindFor("", "pods"))), endpoints_(ctx.informers->For(EndpointsKind())) {
    recorder_ = ctx_.NewRecorder("endpoint-controller");
    loop_ = std::make_unique<ReconcileLoop>(
        ctx_, kEndpointsControllerName,
        [this](const std::string& key, std::function<void(Status)> done) { Sync(key, std::move(done)); },
        ctx_.options.concurrent_endpoint_syncs);
    // Every Service, and Endpoints left over from Services deleted while no replica led
    // (Kubernetes' checkLeftoverEndpoints).
    loop_->OnSynced([this] {
      for (const auto& o : services_->List()) loop_->Add(client::Informer::KeyOf(*o));
      for (const auto& o : endpoints_->List()) {
        const std::string key = client::Informer::KeyOf(*o);
        if (services_->Get(key) == nullptr && api::GetMeta(*o)->annotations().count(kLeaderAnnotation) == 0) {
          loop_->Add(key);
        }
      }
    });
    const auto by_namespace = [](const google::protobuf::Message& m) {
      return std::vector<std::string>{api::GetMeta(m)->namespace_()};
    };
    pods_->AddIndex(kNamespaceIndex, by_namespace);
    services_->AddIndex(kNamespaceIndex, by_namespace);
    const auto add = [this](const ObjectPtr& o) { loop_->Add(client::Informer::KeyOf(*o)); };
    services_->AddHandlers({add, [add](const ObjectPtr&, const ObjectPtr& o) { add(o); }, add});
    pods_->AddHandlers({[this](const ObjectPtr& o) { EnqueueFor(Pod(o)); },
                        [this](const ObjectPtr& a, const ObjectPtr& b) {
                          EnqueueFor(Pod(a));
                          EnqueueFor(Pod(b));
                        },
                        [this](const ObjectPtr& o) { EnqueueFor(Pod(o)); }});
    // A deleted Endpoints is put back (Kubernetes watches only deletes).
    endpoints_->AddHandlers({nullptr, nullptr, add});
  }
  ~EndpointsController() override { *alive_ = false; }

  void Start() override { loop_->Start(); }
  void Stop() override { loop_->Stop(); }

 private:
  static constexpr char kNamespaceIndex[] = "endpoints/namespace";
  static const api::Pod& Pod(const ObjectPtr& o) { return static_cast<const api::Pod&>(*o); }

  void EnqueueFor(const api::Pod& pod) {
    for (const auto& o : services_->ByIndex(kNamespaceIndex, pod.metadata().namespace_())) {
      const auto& svc = static_cast<const api::Service&>(*o);
      if (ServiceSelectsPod(svc, pod)) loop_->Add(client::Informer::KeyOf(svc));
    }
  }

  void Sync(const std::string& key, std::function<void(Status)> done) {
    const size_t slash = key.find('/');
    const std::string ns = key.substr(0, slash);
    const std::string name = key.substr(slash + 1);
    ObjectPtr o = services_->Get(key);
    if (o == nullptr) {
      // The Service is gone: so is its Endpoints (sent even if the cache has none, as
      // Kubernetes does; a 404 is success).
      if (!ctx_.acting()) return done(Status::Unavailable("not acting"));
      ctx_.client->Delete(EndpointsKind(), ns, name, [alive = alive_, done](const client::ApiResult& r) {
        if (!*alive) return;
        done(r.ok() || r.code == 404 ? Status::Ok() : Status::Unavailable(r.Describe()));
      });
      return;
    }
    const auto& svc = static_cast<const api::Service&>(*o);
    if (!ServiceWantsEndpoints(svc)) return done(Status::Ok());
    std::vector<const api::Pod*> pods;
    const std::vector<ObjectPtr> pod_objects = pods_->ByIndex(kNamespaceIndex, ns);
    for (const ObjectPtr& p : pod_objects) pods.push_back(&Pod(p));
    ObjectPtr current = endpoints_->Get(key);
    api::Endpoints next;
    if (!DesiredEndpoints(svc, pods, static_cast<const api::Endpoints*>(current.get()), &next)) {
      return done(Status::Ok());
    }
    if (!ctx_.acting()) return done(Status::Unavailable("not acting"));
    const bool create = current == nullptr;
    auto answered = [this, alive = alive_, done, create, o, key](const client::ApiResult& r) {
      if (!*alive) return;
      if (r.ok()) return done(Status::Ok());
      if (create) {
        recorder_->Event(*o, "Warning", "FailedToCreateEndpoint",
                         fmt::format("Failed to create endpoint for service {}: {}", key, r.Describe()));
      } else {
        recorder_->Event(*o, "Warning", "FailedToUpdateEndpoint",
                         fmt::format("Failed to update endpoint {}: {}", key, r.Describe()));
      }
      done(Status::Unavailable(r.Describe()));
    };
    if (create) {
      ctx_.client->Create(EndpointsKind(), next, answered);
    } else {
      ctx_.client->Update(EndpointsKind(), next, answered);
    }
  }

  ControllerContext& ctx_;
  client::Informer* services_;
  client::Informer* pods_;
  client::Informer* endpoints_;
  std::unique_ptr<client::EventRecorder> recorder_;
  std::unique_ptr<ReconcileLoop> loop_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

std::unique_ptr<Controller> NewEndpointsController(ControllerContext& ctx) {
  return std::make_unique<EndpointsController>(ctx);
}

}  // namespace ksim::controllers
