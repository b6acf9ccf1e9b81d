#include "cluster/proxy/endpointslice_controller.h"

#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <set>
#include <utility>

#include "cluster/api/registry.h"

namespace ksim::proxy {

namespace {

const api::KindInfo& Kind(const char* group, const char* resource) {
  return *api::Registry::Default().ByGroupResource(group, resource);
}

bool Selects(const api::Service& svc, const api::Pod& pod) {
  if (svc.spec().selector().empty() || pod.metadata().namespace_() != svc.metadata().namespace_()) return false;
  // A protobuf map's order is unspecified: walk a sorted copy (the answer is the same).
  const std::map<std::string, std::string> selector(svc.spec().selector().begin(), svc.spec().selector().end());
  for (const auto& [k, v] : selector) {
    auto it = pod.metadata().labels().find(k);
    if (it == pod.metadata().labels().end() || it->second != v) return false;
  }
  return true;
}

bool PodReady(const api::Pod& pod) {
  for (const api::PodCondition& c : pod.status().conditions()) {
    if (c.type() == "Ready") return c.status() == "True";
  }
  return false;
}

// The port a Service port reaches on `pod`, or 0 when a named targetPort names no
// container port of the pod (that pod then has no endpoint for this port).
int32_t TargetPort(const api::ServicePort& sp, const api::Pod& pod) {
  const std::string protocol = sp.protocol().empty() ? "TCP" : sp.protocol();
  if (sp.target_port().value_case() == api::IntOrString::kStrVal) {
    for (const api::Container& c : pod.spec().containers()) {
      for (const api::ContainerPort& p : c.ports()) {
        if (p.name() == sp.target_port().str_val() && (p.protocol().empty() ? "TCP" : p.protocol()) == protocol) {
          return p.container_port();
        }
      }
    }
    return 0;
  }
  if (sp.target_port().value_case() == api::IntOrString::kIntVal && sp.target_port().int_val() != 0) {
    return sp.target_port().int_val();
  }
  return sp.port();
}

std::string PortsKey(const std::vector<api::EndpointSlicePort>& ports) {
  std::string key;
  for (const api::EndpointSlicePort& p : ports) key += p.name() + "/" + p.protocol() + "/" + std::to_string(p.port()) + ";";
  return key;
}

}  // namespace

std::vector<api::EndpointSlice> DesiredEndpointSlices(const api::Service& svc, const std::vector<const api::Pod*>& pods,
                                                      const std::map<std::string, std::string>& node_zones,
                                                      size_t max_endpoints_per_slice) {
  // Pods grouped by the ports they resolve to (named targetPorts may differ per pod), in
  // a stable order: by the ports, then by pod name.
  std::map<std::string, std::pair<std::vector<api::EndpointSlicePort>, std::map<std::string, const api::Pod*>>> groups;
  const bool publish_not_ready = svc.spec().publish_not_ready_addresses();
  for (const api::Pod* pod : pods) {
    if (!Selects(svc, *pod) || pod->status().pod_ip().empty()) continue;
    if (pod->status().phase() == "Succeeded" || pod->status().phase() == "Failed") continue;
    std::vector<api::EndpointSlicePort> ports;
    for (const api::ServicePort& sp : svc.spec().ports()) {
      const int32_t target = TargetPort(sp, *pod);
      if (target <= 0) continue;
      api::EndpointSlicePort p;
      p.set_name(sp.name());
      p.set_protocol(sp.protocol().empty() ? "TCP" : sp.protocol());
      p.set_port(target);
      if (sp.has_app_protocol()) p.set_app_protocol(sp.app_protocol());
      ports.push_back(std::move(p));
    }
    if (ports.empty() && !svc.spec().ports().empty()) continue;
    auto& group = groups[PortsKey(ports)];
    group.first = std::move(ports);
    group.second[pod->metadata().name()] = pod;
  }
  std::vector<api::EndpointSlice> slices;
  for (const auto& [key, group] : groups) {
    const auto& [ports, members] = group;
    api::EndpointSlice* slice = nullptr;
    for (const auto& [name, pod] : members) {
      if (slice == nullptr || static_cast<size_t>(slice->endpoints_size()) >= max_endpoints_per_slice) {
        slice = &slices.emplace_back();
        api::ObjectMeta& meta = *slice->mutable_metadata();
        meta.set_namespace_(svc.metadata().namespace_());
        meta.set_name(svc.metadata().name() + "-" + std::to_string(slices.size() - 1));
        (*meta.mutable_labels())[kServiceNameLabel] = svc.metadata().name();
        (*meta.mutable_labels())[kManagedByLabel] = kManagedBy;
        api::OwnerReference& owner = *meta.add_owner_references();
        owner.set_api_version("v1");
        owner.set_kind("Service");
        owner.set_name(svc.metadata().name());
        owner.set_uid(svc.metadata().uid());
        owner.set_controller(true);
        owner.set_block_owner_deletion(true);
        slice->set_api_version("discovery.k8s.io/v1");
        slice->set_kind("EndpointSlice");
        slice->set_address_type("IPv4");
        for (const api::EndpointSlicePort& p : ports) *slice->add_ports() = p;
      }
      api::Endpoint& e = *slice->add_endpoints();
      e.add_addresses(pod->status().pod_ip());
      const bool terminating = pod->metadata().has_deletion_timestamp();
      const bool ready = PodReady(*pod);
      e.mutable_conditions()->set_ready(publish_not_ready || (ready && !terminating));
      e.mutable_conditions()->set_serving(publish_not_ready || ready);
      e.mutable_conditions()->set_terminating(terminating);
      if (!pod->spec().node_name().empty()) {
        e.set_node_name(pod->spec().node_name());
        auto zone = node_zones.find(pod->spec().node_name());
        if (zone != node_zones.end()) e.set_zone(zone->second);
      }
      if (!pod->spec().hostname().empty() && pod->spec().subdomain() == svc.metadata().name()) {
        e.set_hostname(pod->spec().hostname());
      }
      api::ObjectReference& ref = *e.mutable_target_ref();
      ref.set_kind("Pod");
      ref.set_namespace_(pod->metadata().namespace_());
      ref.set_name(pod->metadata().name());
      ref.set_uid(pod->metadata().uid());
    }
  }
  return slices;
}

EndpointSliceController::EndpointSliceController(Env& env, client::ApiClient* client,
                                                 EndpointSliceControllerOptions options)
    : env_(env), client_(client), options_(options), queue_(env.clock, options.max_queued_services) {}

EndpointSliceController::~EndpointSliceController() {
  *alive_ = false;
  queue_.ShutDown();
}

void EndpointSliceController::Start() {
  services_ = std::make_unique<client::Informer>(env_, client_, Kind("", "services"));
  pods_ = std::make_unique<client::Informer>(env_, client_, Kind("", "pods"));
  client::InformerOptions managed;
  managed.label_selector = std::string(kManagedByLabel) + "=" + kManagedBy;
  slices_ = std::make_unique<client::Informer>(env_, client_, Kind("discovery.k8s.io", "endpointslices"), managed);
  nodes_ = std::make_unique<client::Informer>(env_, client_, Kind("", "nodes"));
  pods_->AddIndex("namespace", [](const google::protobuf::Message& m) {
    return std::vector<std::string>{static_cast<const api::Pod&>(m).metadata().namespace_()};
  });
  services_->AddIndex("namespace", [](const google::protobuf::Message& m) {
    return std::vector<std::string>{static_cast<const api::Service&>(m).metadata().namespace_()};
  });
  slices_->AddIndex("service", [](const google::protobuf::Message& m) {
    const auto& s = static_cast<const api::EndpointSlice&>(m);
    auto it = s.metadata().labels().find(kServiceNameLabel);
    if (it == s.metadata().labels().end()) return std::vector<std::string>{};
    return std::vector<std::string>{s.metadata().namespace_() + "/" + it->second};
  });
  client::EventHandlers svc;
  svc.on_add = [this](const client::ObjectPtr& o) { EnqueueService(client::Informer::KeyOf(*o)); };
  svc.on_update = [this](const client::ObjectPtr&, const client::ObjectPtr& o) {
    EnqueueService(client::Informer::KeyOf(*o));
  };
  svc.on_delete = svc.on_add;
  services_->AddHandlers(svc);
  client::EventHandlers pod;
  pod.on_add = [this](const client::ObjectPtr& o) { EnqueueForPod(static_cast<const api::Pod&>(*o)); };
  pod.on_update = [this](const client::ObjectPtr& old, const client::ObjectPtr& o) {
    EnqueueForPod(static_cast<const api::Pod&>(*old));  // a relabelled pod leaves its old Services
    EnqueueForPod(static_cast<const api::Pod&>(*o));
  };
  pod.on_delete = pod.on_add;
  pods_->AddHandlers(pod);
  auto enqueue_slice = [this](const client::ObjectPtr& o) {
    const auto& s = static_cast<const api::EndpointSlice&>(*o);
    auto it = s.metadata().labels().find(kServiceNameLabel);
    if (it != s.metadata().labels().end()) EnqueueService(s.metadata().namespace_() + "/" + it->second);
  };
  // Every slice event re-checks its Service: a slice someone else changed or deleted is put
  // back, and one whose create was still in flight when the last reconcile read the
  // (lagging) informer is seen again — without the add, a pod deleted meanwhile kept it.
  client::EventHandlers slice;
  slice.on_add = enqueue_slice;
  slice.on_update = [enqueue_slice](const client::ObjectPtr&, const client::ObjectPtr& o) { enqueue_slice(o); };
  slice.on_delete = enqueue_slice;
  slices_->AddHandlers(slice);
  queue_.SetReadyCallback([this] { Work(); });
  services_->Start();
  pods_->Start();
  slices_->Start();
  nodes_->Start();
}

bool EndpointSliceController::Idle() const {
  return services_ && services_->HasSynced() && pods_->HasSynced() && slices_->HasSynced() && nodes_->HasSynced() &&
         queue_.Len() == 0 && in_flight_ == 0 && backing_off_.empty();
}

void EndpointSliceController::EnqueueService(const std::string& key) { queue_.Add(key); }

void EndpointSliceController::EnqueueForPod(const api::Pod& pod) {
  for (const client::ObjectPtr& o : services_->ByIndex("namespace", pod.metadata().namespace_())) {
    const auto& svc = static_cast<const api::Service&>(*o);
    if (Selects(svc, pod)) EnqueueService(client::Informer::KeyOf(svc));
  }
}

void EndpointSliceController::Work() {
  // Nothing is decided before every informer has listed (a partial pod list would shrink
  // slices); keys wait in the queue meanwhile.
  if (!services_->HasSynced() || !pods_->HasSynced() || !slices_->HasSynced() || !nodes_->HasSynced()) {
    env_.clock->Schedule(Milliseconds(100), [this, alive = alive_] {
      if (*alive) Work();
    });
    return;
  }
  while (std::optional<std::string> key = queue_.Get()) {
    backing_off_.erase(*key);
    Reconcile(*key);
  }
}

void EndpointSliceController::Reconcile(const std::string& key) {
  const size_t slash = key.find('/');
  const std::string ns = key.substr(0, slash);
  std::vector<api::EndpointSlice> desired;
  if (client::ObjectPtr o = services_->Get(key)) {
    const auto& svc = static_cast<const api::Service&>(*o);
    std::vector<const api::Pod*> pods;
    const std::vector<client::ObjectPtr> pod_objects = pods_->ByIndex("namespace", ns);
    for (const client::ObjectPtr& p : pod_objects) pods.push_back(static_cast<const api::Pod*>(p.get()));
    std::map<std::string, std::string> zones;
    for (const client::ObjectPtr& n : nodes_->List()) {
      const auto& node = static_cast<const api::Node&>(*n);
      auto z = node.metadata().labels().find(kZoneLabel);
      if (z != node.metadata().labels().end()) zones[node.metadata().name()] = z->second;
    }
    desired = DesiredEndpointSlices(svc, pods, zones, options_.max_endpoints_per_slice);
  }
  std::map<std::string, client::ObjectPtr> existing;
  for (const client::ObjectPtr& s : slices_->ByIndex("service", key)) {
    existing[static_cast<const api::EndpointSlice&>(*s).metadata().name()] = s;
  }
  // Writes of this key, then Done when the last answers.
  auto pending = std::make_shared<int>(1);
  auto ok = std::make_shared<bool>(true);
  auto answered = [this, key, pending, ok, alive = alive_](const client::ApiResult& r) {
    if (!*alive) return;
    if (!r.ok() && r.code != 404) *ok = false;
    if (--*pending == 0) Finished(key, *ok);
  };
  ++in_flight_;
  const api::KindInfo& kind = Kind("discovery.k8s.io", "endpointslices");
  for (api::EndpointSlice& want : desired) {
    auto it = existing.find(want.metadata().name());
    if (it == existing.end()) {
      ++*pending;
      ++writes_;
      client_->Create(kind, want, answered);
      continue;
    }
    const auto& have = static_cast<const api::EndpointSlice&>(*it->second);
    api::EndpointSlice compare = have;
    compare.mutable_metadata()->clear_resource_version();
    compare.mutable_metadata()->clear_uid();
    compare.mutable_metadata()->clear_creation_timestamp();
    compare.mutable_metadata()->clear_generation();
    existing.erase(it);
    if (google::protobuf::util::MessageDifferencer::Equals(compare, want)) continue;
    want.mutable_metadata()->set_resource_version(have.metadata().resource_version());  // a guarded update
    ++*pending;
    ++writes_;
    client_->Update(kind, want, answered);
  }
  for (const auto& [name, s] : existing) {
    ++*pending;
    ++writes_;
    client_->Delete(kind, ns, name, answered);
  }
  answered(client::ApiResult{Status::Ok(), 200, {}, {}});
}

void EndpointSliceController::Finished(const std::string& key, bool ok) {
  --in_flight_;
  if (ok) {
    queue_.Forget(key);
  } else if (queue_.AddRateLimited(key)) {
    backing_off_.insert(key);
  }
  queue_.Done(key);
}

}  // namespace ksim::proxy
