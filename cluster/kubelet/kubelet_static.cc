// Kubelet: static pods and their mirror pods. Static pods come from StaticPodSource
// (folder, URL, the endpoint) and run without the API: no admission (Kubernetes treats
// them as critical, and the Node may not even be registered yet), a worker keyed by the
// static pod's own uid (hashed from the manifest, so a restarted kubelet adopts it from
// the runtime). Their status is written to the mirror pod whose config.mirror matches
// their config.hash; deleting that mirror pod never touches the static pod.
#include <fmt/format.h>

#include "cluster/kubelet/kubelet.h"
#include "cluster/kubelet/pod_status.h"

namespace ksim::kubelet {
namespace {

std::string KeyOf(const api::Pod& pod) { return pod.metadata().namespace_() + "/" + pod.metadata().name(); }

std::string Annotation(const api::Pod& pod, const char* name) {
  const auto& a = pod.metadata().annotations();
  const auto it = a.find(name);
  return it == a.end() ? std::string() : it->second;
}

Nanos GraceOf(const api::Pod& pod) {
  return pod.spec().has_termination_grace_period_seconds() ? Seconds(pod.spec().termination_grace_period_seconds())
                                                           : Seconds(30);
}

}  // namespace

// After Recover(): what the sources hold now (the endpoint may have taken manifests
// before), then every change as it comes.
void Kubelet::StartStaticPods() {
  statics_->Start();
  for (const std::shared_ptr<const api::Pod>& pod : statics_->Pods()) OnStaticChange(PodChange::kAdd, pod);
  mirrors_->Start();
}

void Kubelet::OnStaticChange(PodChange change, const std::shared_ptr<const api::Pod>& pod) {
  if (!recovered_) return;  // taken from statics_->Pods() once the runtime is read
  if (change == PodChange::kRemove) {
    mirrors_->RemoveStaticPod(KeyOf(*pod));
    StopStatic(pod->metadata().uid());
    return;
  }
  mirrors_->SetStaticPod(pod);
  RunStatic(pod);
}

void Kubelet::RunStatic(const std::shared_ptr<const api::Pod>& pod) {
  const std::string& uid = pod->metadata().uid();
  if (auto it = workers_.find(uid); it != workers_.end() && !it->second.gone_from_api) return;
  // A changed manifest is a new pod (a new uid): the old one stops first, as Kubernetes
  // kills and recreates an updated static pod.
  std::vector<std::string> older;
  for (const auto& [other, h] : workers_) {
    if (h.is_static && h.key == KeyOf(*pod) && other != uid && !h.gone_from_api) older.push_back(other);
  }
  for (const std::string& other : older) StopStatic(other);
  if (workers_.count(uid) != 0) return;  // still stopping from an earlier removal: housekeeping reaps it first
  if (workers_.size() >= options_.max_workers) {
    ++stats_.refused;
    Log(LogLevel::kWarning, fmt::format("static pod {} refused: {} pods already", KeyOf(*pod), workers_.size()));
    return;
  }
  Log(LogLevel::kInfo, fmt::format("static pod {} ({}) from {}", KeyOf(*pod), uid,
                                   Annotation(*pod, kConfigSourceAnnotation)));
  AddWorker(*pod, true);
  ++stats_.static_pods_started;
  // Its mirror pod may exist already (a kubelet restart, a URL fetched late).
  if (pods_ != nullptr) {
    const client::ObjectPtr o = pods_->Get(KeyOf(*pod));
    const auto* mirror = static_cast<const api::Pod*>(o.get());
    if (mirror != nullptr && IsMirrorPod(*mirror)) OnMirrorPod(*mirror);
  }
}

void Kubelet::StopStatic(const std::string& uid) {
  const auto it = workers_.find(uid);
  if (it == workers_.end() || !it->second.is_static || it->second.gone_from_api) return;
  Handle& h = it->second;
  h.gone_from_api = true;
  if (!h.mirror_uid.empty()) status_->Forget(h.mirror_uid);
  h.mirror_uid.clear();
  Log(LogLevel::kInfo, fmt::format("static pod {} removed: stopping it", h.key));
  if (!h.worker->terminated()) h.worker->Kill(GraceOf(h.worker->pod()));
}

// A mirror pod from the informer: the static pod of the same name and config.hash
// writes its status there.
void Kubelet::OnMirrorPod(const api::Pod& mirror) {
  const std::string& uid = mirror.metadata().uid();
  Handle* owner = nullptr;
  for (auto& [suid, h] : workers_) {
    if (h.is_static && !h.gone_from_api && h.key == KeyOf(mirror) &&
        Annotation(*h.pod, kConfigHashAnnotation) == Annotation(mirror, kConfigMirrorAnnotation)) {
      owner = &h;
    }
  }
  if (owner == nullptr || mirror.metadata().has_deletion_timestamp()) {
    // Stale or being deleted: the mirror pod manager replaces it; nothing is written there.
    if (Handle* h = StaticByMirror(uid)) h->mirror_uid.clear();
    status_->Forget(uid);
    return;
  }
  if (owner->mirror_uid != uid) {
    if (!owner->mirror_uid.empty()) status_->Forget(owner->mirror_uid);
    owner->mirror_uid = uid;
  }
  status_->Observe(mirror);
  status_->MarkDirty(uid);
}

void Kubelet::OnMirrorPodGone(const api::Pod& mirror) {
  const std::string& uid = mirror.metadata().uid();
  if (Handle* h = StaticByMirror(uid)) h->mirror_uid.clear();
  status_->Forget(uid);
}

Kubelet::Handle* Kubelet::StaticByMirror(const std::string& mirror_uid) {
  for (auto& [uid, h] : workers_) {
    if (h.is_static && h.mirror_uid == mirror_uid) return &h;
  }
  return nullptr;
}

const Kubelet::Handle* Kubelet::StaticByMirror(const std::string& mirror_uid) const {
  for (const auto& [uid, h] : workers_) {
    if (h.is_static && h.mirror_uid == mirror_uid) return &h;
  }
  return nullptr;
}

// A worker's view changed: its API pod's status (a static pod's: its mirror pod's).
void Kubelet::MarkStatusDirty(const std::string& uid) {
  const auto it = workers_.find(uid);
  if (it != workers_.end() && it->second.is_static) {
    if (!it->second.mirror_uid.empty()) status_->MarkDirty(it->second.mirror_uid);
    return;
  }
  status_->MarkDirty(uid);
}

}  // namespace ksim::kubelet
