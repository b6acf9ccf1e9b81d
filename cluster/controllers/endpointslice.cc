// The EndpointSlice controller's plumbing: informers, the queue of Service keys, the
// staleness check, the writes and their bookkeeping. The plan is endpointslice_plan.cc.
#include "cluster/controllers/endpointslice.h"

#include <fmt/format.h>

#include <set>

#include "cluster/api/codec.h"
#include "cluster/api/registry.h"
#include "cluster/controllers/endpointslice_plan.h"
#include "cluster/controllers/endpointslice_tracker.h"
#include "cluster/controllers/service_endpoints.h"

namespace ksim::controllers {
namespace {

using client::ObjectPtr;

const api::KindInfo& KindFor(const char* group, const char* resource) {
  return *api::Registry::Default().ByGroupResource(group, resource);
}
const api::KindInfo& SliceKind() { return KindFor("discovery.k8s.io", "endpointslices"); }

// Kubernetes' endpointSliceChangeMinSyncDelay: a slice change re-syncs its Service after this.
constexpr Nanos kSliceChangeSyncDelay = Seconds(1);

bool ManagedByUs(const api::EndpointSlice& s) {
  auto it = s.metadata().labels().find(kManagedByLabel);
  return it != s.metadata().labels().end() && it->second == kEndpointSliceManagedBy;
}
// "namespace/service" of a slice, or "" if it names no Service.
std::string ServiceKeyOf(const api::EndpointSlice& s) {
  auto it = s.metadata().labels().find(kServiceNameLabel);
  if (it == s.metadata().labels().end() || it->second.empty()) return "";
  return s.metadata().namespace_() + "/" + it->second;
}

class EndpointSliceController final : public Controller {
 public:
  explicit EndpointSliceController(ControllerContext& ctx)
      : ctx_(ctx), services_(ctx.informers->For(KindFor("", "services"))),
        pods_(ctx.informers->For(KindFor("", "pods"))), slices_(ctx.informers->For(SliceKind())),
        nodes_(ctx.informers->For(KindFor("", "nodes"))), tracker_(ctx.options.expectations_timeout) {
    recorder_ = ctx_.NewRecorder("endpoint-slice-controller");
    loop_ = std::make_unique<ReconcileLoop>(
        ctx_, kEndpointSliceControllerName,
        [this](const std::string& key, std::function<void(Status)> done) { Sync(key, std::move(done)); },
        ctx_.options.concurrent_service_endpoint_syncs);
    loop_->OnSynced([this] {
      for (const auto& o : services_->List()) loop_->Add(client::Informer::KeyOf(*o));
    });
    const auto by_namespace = [](const google::protobuf::Message& m) {
      return std::vector<std::string>{api::GetMeta(m)->namespace_()};
    };
    pods_->AddIndex(kNamespaceIndex, by_namespace);
    services_->AddIndex(kNamespaceIndex, by_namespace);
    slices_->AddIndex(kServiceIndex, [](const google::protobuf::Message& m) {
      const std::string key = ServiceKeyOf(static_cast<const api::EndpointSlice&>(m));
      return key.empty() ? std::vector<std::string>{} : std::vector<std::string>{key};
    });
    const auto add = [this](const ObjectPtr& o) { loop_->Add(client::Informer::KeyOf(*o)); };
    services_->AddHandlers({add, [add](const ObjectPtr&, const ObjectPtr& o) { add(o); }, add});
    pods_->AddHandlers({[this](const ObjectPtr& o) { EnqueueFor(Pod(o)); },
                        [this](const ObjectPtr& a, const ObjectPtr& b) {
                          EnqueueFor(Pod(a));  // a relabelled pod leaves its old Services
                          EnqueueFor(Pod(b));
                        },
                        [this](const ObjectPtr& o) { EnqueueFor(Pod(o)); }});
    slices_->AddHandlers({[this](const ObjectPtr& o) { OnSliceChanged(Slice(o)); },
                          [this](const ObjectPtr& a, const ObjectPtr& b) {
                            if (ServiceKeyOf(Slice(a)) != ServiceKeyOf(Slice(b)) || ManagedByUs(Slice(a)) != ManagedByUs(Slice(b))) {
                              QueueForSlice(Slice(a));
                              QueueForSlice(Slice(b));
                              return;
                            }
                            OnSliceChanged(Slice(b));
                          },
                          [this](const ObjectPtr& o) { OnSliceDeleted(Slice(o)); }});
  }
  ~EndpointSliceController() override { *alive_ = false; }

  void Start() override { loop_->Start(); }
  void Stop() override { loop_->Stop(); }

 private:
  static constexpr char kNamespaceIndex[] = "endpointslice/namespace";
  static constexpr char kServiceIndex[] = "endpointslice/service";
  static const api::Pod& Pod(const ObjectPtr& o) { return static_cast<const api::Pod&>(*o); }
  static const api::EndpointSlice& Slice(const ObjectPtr& o) { return static_cast<const api::EndpointSlice&>(*o); }
  Nanos Now() const { return ctx_.env.clock->MonotonicNow(); }

  void EnqueueFor(const api::Pod& pod) {
    for (const auto& o : services_->ByIndex(kNamespaceIndex, pod.metadata().namespace_())) {
      const auto& svc = static_cast<const api::Service&>(*o);
      if (ServiceSelectsPod(svc, pod)) loop_->Add(client::Informer::KeyOf(svc));
    }
  }
  void QueueForSlice(const api::EndpointSlice& s) {
    const std::string key = ServiceKeyOf(s);
    if (!key.empty()) loop_->AddAfter(key, kSliceChangeSyncDelay);
  }
  // A slice that is not a write of ours (someone else's change) re-syncs its Service.
  void OnSliceChanged(const api::EndpointSlice& s) {
    if (!ManagedByUs(s)) return;
    if (WakeIfWaiting(ServiceKeyOf(s))) return;
    if (tracker_.ShouldSync(ServiceKeyOf(s), s)) QueueForSlice(s);
  }
  // A Service that found its cache behind its writes is synced again at once.
  bool WakeIfWaiting(const std::string& key) {
    if (waiting_for_cache_.erase(key) == 0) return false;
    loop_->Add(key);
    return true;
  }
  // Kubernetes re-syncs only for a tracked slice; ksim for any managed slice whose delete
  // was not its own (a new leader's tracker is empty, and the slice must come back).
  void OnSliceDeleted(const api::EndpointSlice& s) {
    if (!ManagedByUs(s)) return;
    const bool ours = tracker_.HandleDeletion(ServiceKeyOf(s), s);
    if (!WakeIfWaiting(ServiceKeyOf(s)) && !ours) QueueForSlice(s);
  }

  std::vector<const api::EndpointSlice*> CachedSlices(const std::string& key, std::vector<ObjectPtr>* hold) const {
    *hold = slices_->ByIndex(kServiceIndex, key);
    std::vector<const api::EndpointSlice*> out;
    for (const ObjectPtr& o : *hold) {
      const auto& s = Slice(o);
      if (ManagedByUs(s) && !s.metadata().has_deletion_timestamp()) out.push_back(&s);
    }
    return out;
  }

  void Sync(const std::string& key, std::function<void(Status)> done) {
    std::vector<ObjectPtr> hold;
    std::vector<const api::EndpointSlice*> cached = CachedSlices(key, &hold);
    ObjectPtr o = services_->Get(key);
    if (o == nullptr) {
      // Kubernetes leaves the slices to the garbage collector (they are owned by the
      // Service); ksim deletes them here too, so they go without one.
      tracker_.DeleteService(key);
      EndpointSlicePlan plan;
      for (const api::EndpointSlice* s : cached) plan.deletes.push_back(*s);
      return Write(key, nullptr, std::move(plan), std::move(done));
    }
    const auto& svc = static_cast<const api::Service&>(*o);
    if (!ServiceWantsEndpoints(svc)) return done(Status::Ok());
    if (tracker_.Stale(key, cached, Now())) {
      // Kubernetes retries with its 1 s-based backoff; ksim's queue backs off from 5 ms
      // and would soon wait long, so the Service waits for its next slice event instead
      // (and re-checks every second, for a write whose event never comes).
      waiting_for_cache_.insert(key);
      loop_->AddAfter(key, kSliceChangeSyncDelay);
      return done(Status::Ok());
    }
    waiting_for_cache_.erase(key);
    EndpointSliceInputs in;
    in.service = &svc;
    const std::vector<ObjectPtr> pods = pods_->ByIndex(kNamespaceIndex, svc.metadata().namespace_());
    for (const ObjectPtr& p : pods) in.pods.push_back(&Pod(p));
    for (const ObjectPtr& n : nodes_->List()) {
      const auto& node = static_cast<const api::Node&>(*n);
      auto zone = node.metadata().labels().find(kTopologyZoneLabel);
      in.node_zones[node.metadata().name()] = zone == node.metadata().labels().end() ? "" : zone->second;
    }
    in.existing = std::move(cached);
    in.max_endpoints_per_slice = static_cast<size_t>(ctx_.options.max_endpoints_per_slice);
    EndpointSlicePlan plan = PlanEndpointSlices(in);
    // A Service being deleted gets no new slices (Kubernetes' finalize).
    if (svc.metadata().has_deletion_timestamp()) plan.creates.clear();
    Write(key, o, std::move(plan), std::move(done));
  }

  // Sends the plan's writes (creates, updates, deletes) and answers `done` when the last
  // is answered; a failure re-queues the Service and is reported as an Event on it.
  void Write(const std::string& key, ObjectPtr service, EndpointSlicePlan plan, std::function<void(Status)> done) {
    if (plan.empty() && plan.errors.empty()) return done(Status::Ok());
    if (!ctx_.acting()) return done(Status::Unavailable("not acting"));
    struct Pending {
      int left = 1;
      std::vector<std::string> errors;
    };
    auto pending = std::make_shared<Pending>();
    pending->errors = std::move(plan.errors);
    auto finish = [this, alive = alive_, key, service, pending, done]() {
      if (!*alive || --pending->left > 0) return;
      if (pending->errors.empty()) return done(Status::Ok());
      std::string message = pending->errors.front();
      for (size_t i = 1; i < pending->errors.size() && i < 5; ++i) message += "; " + pending->errors[i];
      if (service != nullptr) {
        recorder_->Event(*service, "Warning", "FailedToUpdateEndpointSlices",
                         fmt::format("Error updating Endpoint Slices for Service {}: {}", key, message));
      }
      done(Status::Unavailable(message));
    };
    const auto written = [this, alive = alive_, key, pending, finish](const char* verb, const std::string& name) {
      return [this, alive, key, pending, finish, verb, name](const client::ApiResult& r) {
        if (!*alive) return;
        api::EndpointSlice answer;
        if (r.ok() && answer.ParseFromString(r.body)) {
          tracker_.Update(key, answer, Now());
        } else if (!r.ok()) {
          pending->errors.push_back(fmt::format("failed to {} EndpointSlice {}: {}", verb, name, r.Describe()));
        }
        finish();
      };
    };
    for (const api::EndpointSlice& s : plan.creates) {
      ++pending->left;
      ctx_.client->Create(SliceKind(), s, written("create", s.metadata().generate_name()));
    }
    for (const api::EndpointSlice& s : plan.updates) {
      ++pending->left;
      ctx_.client->Update(SliceKind(), s, written("update", s.metadata().name()));
    }
    for (const api::EndpointSlice& s : plan.deletes) {
      ++pending->left;
      api::DeleteOptions options;
      options.mutable_preconditions()->set_uid(s.metadata().uid());
      ctx_.client->Delete(SliceKind(), s.metadata().namespace_(), s.metadata().name(), options,
                          [this, alive = alive_, key, pending, finish, s](const client::ApiResult& r) {
                            if (!*alive) return;
                            if (r.ok() || r.code == 404) {
                              tracker_.ExpectDeletion(key, s, Now());
                            } else {
                              pending->errors.push_back(fmt::format("failed to delete EndpointSlice {}: {}",
                                                                    s.metadata().name(), r.Describe()));
                            }
                            finish();
                          });
    }
    finish();
  }

  ControllerContext& ctx_;
  client::Informer* services_;
  client::Informer* pods_;
  client::Informer* slices_;
  client::Informer* nodes_;
  EndpointSliceTracker tracker_;
  std::set<std::string> waiting_for_cache_;  // Service keys whose cache missed their writes
  std::unique_ptr<client::EventRecorder> recorder_;
  std::unique_ptr<ReconcileLoop> loop_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

std::unique_ptr<Controller> NewEndpointSliceController(ControllerContext& ctx) {
  return std::make_unique<EndpointSliceController>(ctx);
}

}  // namespace ksim::controllers
