#include "cluster/controllers/controller_ref_events.h"

#include <map>
#include <utility>

#include "cluster/api/codec.h"
#include "cluster/controllers/replica_set.h"

namespace ksim::controllers {
namespace {

std::string PodKey(const api::Pod& p) { return p.metadata().namespace_() + "/" + p.metadata().name(); }
std::map<std::string, std::string> Labels(const api::Pod& p) {
  return {p.metadata().labels().begin(), p.metadata().labels().end()};
}
bool RefChanged(const api::OwnerReference* a, const api::OwnerReference* b) {
  return (a == nullptr) != (b == nullptr) || (a != nullptr && a->uid() != b->uid());
}
const api::Pod& AsPod(const client::ObjectPtr& o) { return static_cast<const api::Pod&>(*o); }

}  // namespace

ControllerRefPodEvents::ControllerRefPodEvents(PodOwnerKind kind, Expectations* expectations, ReconcileLoop* loop)
    : kind_(std::move(kind)), expectations_(expectations), loop_(loop) {}

client::ObjectPtr ControllerRefPodEvents::Resolve(const std::string& ns, const api::OwnerReference* ref) const {
  if (ref == nullptr || ref->kind() != kind_.kind_name) return nullptr;
  client::ObjectPtr o = kind_.owners->Get(ns + "/" + ref->name());
  return o != nullptr && api::GetMeta(*o)->uid() == ref->uid() ? o : nullptr;
}

client::EventHandlers ControllerRefPodEvents::Handlers() {
  return {[this](const client::ObjectPtr& o) { OnAdd(AsPod(o)); },
          [this](const client::ObjectPtr& a, const client::ObjectPtr& b) { OnUpdate(AsPod(a), AsPod(b)); },
          [this](const client::ObjectPtr& o) { OnDelete(AsPod(o)); }};
}

void ControllerRefPodEvents::EnqueueMatching(const api::Pod& pod) {
  if (!kind_.matching_owners) return;
  for (const auto& o : kind_.matching_owners(pod)) loop_->Add(client::Informer::KeyOf(*o));
}

void ControllerRefPodEvents::OnAdd(const api::Pod& pod) {
  const auto* ref = ControllerRef(pod.metadata());
  client::ObjectPtr owner = Resolve(pod.metadata().namespace_(), ref);
  if (owner == nullptr && kind_.on_unowned) kind_.on_unowned(pod);
  if (pod.metadata().has_deletion_timestamp()) {
    // On a restart a pod can first show up already being deleted.
    if (owner != nullptr && kind_.terminating_add_is_create) expectations_->CreationObserved(client::Informer::KeyOf(*owner));
    return OnDelete(pod);
  }
  if (ref == nullptr) return EnqueueMatching(pod);
  if (owner == nullptr) return;
  const std::string key = client::Informer::KeyOf(*owner);
  expectations_->CreationObserved(key);
  loop_->Add(key);
}

void ControllerRefPodEvents::OnUpdate(const api::Pod& old, const api::Pod& cur) {
  const bool labels_changed = Labels(old) != Labels(cur);
  const auto* old_ref = ControllerRef(old.metadata());
  const auto* cur_ref = ControllerRef(cur.metadata());
  const bool ref_changed = RefChanged(old_ref, cur_ref);
  client::ObjectPtr owner = Resolve(cur.metadata().namespace_(), cur_ref);
  if (owner == nullptr && kind_.on_unowned) kind_.on_unowned(cur);
  if (cur.metadata().has_deletion_timestamp()) {
    OnDelete(cur);  // a terminating pod counts as deleted, as in Kubernetes
    if (labels_changed || ref_changed) OnDelete(old);
    return;
  }
  if (ref_changed) {
    if (client::ObjectPtr o = Resolve(old.metadata().namespace_(), old_ref)) loop_->Add(client::Informer::KeyOf(*o));
  }
  if (cur_ref == nullptr) {
    if (labels_changed || ref_changed) EnqueueMatching(cur);
    return;
  }
  if (owner == nullptr) return;
  const std::string key = client::Informer::KeyOf(*owner);
  loop_->Add(key);
  // Becoming available takes minReadySeconds more: look again then.
  const int32_t min_ready = kind_.min_ready_seconds ? kind_.min_ready_seconds(*owner) : 0;
  if (min_ready > 0 && !PodReady(old) && PodReady(cur)) loop_->AddAfter(key, Seconds(min_ready));
}

void ControllerRefPodEvents::OnDelete(const api::Pod& pod) {
  if (client::ObjectPtr owner = Resolve(pod.metadata().namespace_(), ControllerRef(pod.metadata()))) {
    const std::string key = client::Informer::KeyOf(*owner);
    expectations_->DeletionObserved(key, PodKey(pod));
    loop_->Add(key);
  }
}

}  // namespace ksim::controllers
