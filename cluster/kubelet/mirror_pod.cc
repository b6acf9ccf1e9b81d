#include "cluster/kubelet/mirror_pod.h"

#include <fmt/format.h>

#include <utility>

#include "cluster/api/options.pb.h"
#include "cluster/kubelet/api_objects.h"
#include "cluster/kubelet/static_pod.h"
#include "cluster/kubelet/timestamps.h"

namespace ksim::kubelet {
namespace {

std::string KeyOf(const api::Pod& pod) { return pod.metadata().namespace_() + "/" + pod.metadata().name(); }

std::string Annotation(const api::Pod& pod, const char* key) {
  const auto& a = pod.metadata().annotations();
  const auto it = a.find(key);
  return it == a.end() ? "" : it->second;
}

}  // namespace

bool IsMirrorPod(const api::Pod& pod) { return pod.metadata().annotations().contains(kConfigMirrorAnnotation); }

api::Pod MirrorPodOf(const api::Pod& static_pod, const std::string& node_name, const std::string& node_uid) {
  api::Pod mirror = static_pod;
  api::ObjectMeta* meta = mirror.mutable_metadata();
  meta->clear_uid();
  meta->clear_resource_version();
  meta->clear_creation_timestamp();
  (*meta->mutable_annotations())[kConfigMirrorAnnotation] = Annotation(static_pod, kConfigHashAnnotation);
  meta->clear_owner_references();
  api::OwnerReference* owner = meta->add_owner_references();
  owner->set_api_version("v1");
  owner->set_kind("Node");
  owner->set_name(node_name);
  owner->set_uid(node_uid);
  owner->set_controller(true);
  mirror.clear_status();
  return mirror;
}

MirrorPodManager::MirrorPodManager(Env& env, client::ApiClient* client, MirrorPodOptions options,
                                   std::function<std::string()> node_uid)
    : env_(env), client_(client), options_(std::move(options)), node_uid_(std::move(node_uid)) {}

MirrorPodManager::~MirrorPodManager() {
  *alive_ = false;
  if (timer_) env_.clock->Cancel(timer_);
}

void MirrorPodManager::Start() {
  if (timer_) env_.clock->Cancel(timer_);
  timer_ = env_.clock->Schedule(options_.sync_period, [this] {
    timer_ = 0;
    Sync();
    Start();
  });
}

void MirrorPodManager::SetStaticPod(const std::shared_ptr<const api::Pod>& pod) { static_pods_[KeyOf(*pod)] = pod; }

void MirrorPodManager::RemoveStaticPod(const std::string& key) { static_pods_.erase(key); }

void MirrorPodManager::OnApiPod(const std::shared_ptr<const api::Pod>& pod) {
  const std::string key = KeyOf(*pod);
  if (IsMirrorPod(*pod)) {
    mirrors_[key] = pod;
    others_.erase(key);
  } else if (static_pods_.count(key) || others_.size() < kMaxOthers) {
    mirrors_.erase(key);
    others_.insert(key);  // a regular pod holds the name: no mirror pod can be made
  }
}

void MirrorPodManager::OnApiPodDeleted(const std::shared_ptr<const api::Pod>& pod) {
  if (!IsMirrorPod(*pod)) others_.erase(KeyOf(*pod));
  const auto it = mirrors_.find(KeyOf(*pod));
  // A late event about an older mirror pod must not hide the one we just created.
  if (it != mirrors_.end() && it->second->metadata().uid() == pod->metadata().uid()) mirrors_.erase(it);
}

void MirrorPodManager::Sync() {
  const std::string node_uid = node_uid_ ? node_uid_() : "";
  for (const auto& [key, pod] : static_pods_) {
    if (in_flight_.count(key) || in_flight_.size() >= options_.max_in_flight) continue;
    const auto it = mirrors_.find(key);
    if (it == mirrors_.end()) {
      if (!node_uid.empty() && !others_.count(key)) Create(key, *pod, node_uid);
      continue;
    }
    const api::Pod& mirror = *it->second;
    // Stale (the manifest changed) or deleted through the API (it has a deletionTimestamp):
    // delete it now, without grace; the next pass creates it again.
    if (Annotation(mirror, kConfigMirrorAnnotation) != Annotation(*pod, kConfigHashAnnotation) ||
        mirror.metadata().has_deletion_timestamp()) {
      Delete(key, mirror);
    }
  }
  std::vector<std::pair<std::string, std::shared_ptr<const api::Pod>>> orphans;
  for (const auto& [key, mirror] : mirrors_) {
    if (!static_pods_.count(key) && !in_flight_.count(key)) orphans.emplace_back(key, mirror);
  }
  for (const auto& [key, mirror] : orphans) {
    if (in_flight_.size() >= options_.max_in_flight) break;
    Delete(key, *mirror);
  }
}

void MirrorPodManager::Create(const std::string& key, const api::Pod& static_pod, const std::string& node_uid) {
  in_flight_.insert(key);
  auto alive = alive_;
  client_->Create(PodKind(), MirrorPodOf(static_pod, options_.node_name, node_uid),
                  [this, alive, key](const client::ApiResult& r) {
                    if (!*alive) return;
                    in_flight_.erase(key);
                    if (auto pod = r.ok() ? DecodeAs<api::Pod>(PodKind(), r) : nullptr) {
                      ++stats_.creates;
                      mirrors_[key] = std::move(pod);
                      return;
                    }
                    ++stats_.failures;
                    LogTo(env_, LogLevel::kWarning, fmt::format("creating mirror pod {} failed: {}", key, r.Describe()));
                  });
}

void MirrorPodManager::Delete(const std::string& key, const api::Pod& mirror) {
  in_flight_.insert(key);
  api::DeleteOptions options;
  options.set_grace_period_seconds(0);
  options.mutable_preconditions()->set_uid(mirror.metadata().uid());
  auto alive = alive_;
  const std::string uid = mirror.metadata().uid();
  client_->Delete(PodKind(), mirror.metadata().namespace_(), mirror.metadata().name(), options,
                  [this, alive, key, uid](const client::ApiResult& r) {
                    if (!*alive) return;
                    in_flight_.erase(key);
                    const bool gone = r.ok() || (r.status.ok() && r.code == 404);
                    if (!gone) {
                      ++stats_.failures;
                      LogTo(env_, LogLevel::kWarning,
                            fmt::format("deleting mirror pod {} failed: {}", key, r.Describe()));
                      return;
                    }
                    if (r.ok()) ++stats_.deletes;
                    const auto it = mirrors_.find(key);
                    if (it != mirrors_.end() && it->second->metadata().uid() == uid) mirrors_.erase(it);
                  });
}

void MirrorPodManager::PostNodeEvent(const std::string& reason, const std::string& message) {
  LogTo(env_, LogLevel::kWarning, fmt::format("node {} event {}: {}", options_.node_name, reason, message));
  const Nanos now = env_.clock->MonotonicNow();
  if (now - event_window_start_ >= Seconds(60)) {
    event_window_start_ = now;
    events_in_window_ = 0;
  }
  if (events_in_window_ >= options_.max_events_per_minute) return;
  ++events_in_window_;
  api::Event e;
  const Nanos wall = env_.clock->WallNow();
  e.mutable_metadata()->set_name(fmt::format("{}.{:x}{:04x}", options_.node_name, wall.count(), ++event_seq_ & 0xffff));
  e.mutable_metadata()->set_namespace_("default");
  api::ObjectReference* ref = e.mutable_involved_object();
  ref->set_kind("Node");
  ref->set_name(options_.node_name);
  ref->set_uid(options_.node_name);  // the kubelet's node reference uses the name as uid
  e.set_reason(reason);
  e.set_message(message.size() > 1024 ? message.substr(0, 1024) : message);
  e.mutable_source()->set_component("kubelet");
  e.mutable_source()->set_host(options_.node_name);
  SetTime(e.mutable_first_timestamp(), wall);
  SetTime(e.mutable_last_timestamp(), wall);
  e.set_count(1);
  e.set_type("Warning");
  e.set_reporting_component("kubelet");
  e.set_reporting_instance(options_.node_name);
  auto alive = alive_;
  client_->Create(EventKind(), e, [this, alive](const client::ApiResult& r) {
    if (!*alive) return;
    if (r.ok()) {
      ++stats_.events;
    } else {
      ++stats_.failures;
    }
  });
}

}  // namespace ksim::kubelet
