#include "cluster/kubelet/pod_status_manager.h"

#include <fmt/format.h>

#include "cluster/api/codec.h"
#include "cluster/api/registry.h"
#include "cluster/kubelet/pod_status.h"

namespace ksim::kubelet {
namespace {

const api::KindInfo& PodKind() { return *api::Registry::Default().ByGroupResource("", "pods"); }

int64_t VersionOf(const api::Pod& pod) {
  int64_t v = 0;
  return api::ParseResourceVersion(pod.metadata().resource_version(), &v) ? v : 0;
}

}  // namespace

PodStatusManager::PodStatusManager(Env& env, client::ApiClient* client, Compute compute, OnIdle on_idle,
                                   size_t max_in_flight, Nanos retry_delay)
    : env_(env),
      client_(client),
      compute_(std::move(compute)),
      on_idle_(std::move(on_idle)),
      max_in_flight_(max_in_flight),
      retry_delay_(retry_delay) {}

PodStatusManager::~PodStatusManager() {
  *alive_ = false;
  if (flush_timer_ != 0) env_.clock->Cancel(flush_timer_);
}

void PodStatusManager::Observe(const api::Pod& pod) {
  Entry& e = pods_[pod.metadata().uid()];
  const int64_t v = VersionOf(pod);
  if (v >= e.version) {
    e.pod = pod;
    e.version = v;
  }
}

void PodStatusManager::MarkDirty(const std::string& uid) {
  const auto it = pods_.find(uid);
  if (it == pods_.end()) return;
  it->second.dirty = true;
  dirty_.insert(uid);
  ScheduleFlush(Nanos(0));
}

void PodStatusManager::Forget(const std::string& uid) {
  pods_.erase(uid);
  dirty_.erase(uid);
}

bool PodStatusManager::Idle(const std::string& uid) const {
  const auto it = pods_.find(uid);
  return it == pods_.end() || (!it->second.dirty && !it->second.in_flight);
}

const api::Pod* PodStatusManager::Latest(const std::string& uid) const {
  const auto it = pods_.find(uid);
  return it == pods_.end() ? nullptr : &it->second.pod;
}

void PodStatusManager::ScheduleFlush(Nanos delay) {
  if (flush_timer_ != 0) return;
  flush_timer_ = env_.clock->Schedule(delay, [this, alive = alive_] {
    if (!*alive) return;
    flush_timer_ = 0;
    Flush();
  });
}

void PodStatusManager::Flush() {
  std::vector<std::string> idle;
  for (auto it = dirty_.begin(); it != dirty_.end() && in_flight_ < max_in_flight_;) {
    const std::string uid = *it;
    auto e = pods_.find(uid);
    if (e == pods_.end()) {
      it = dirty_.erase(it);
      continue;
    }
    if (e->second.in_flight) {  // written again when the write in flight is answered
      ++it;
      continue;
    }
    it = dirty_.erase(it);
    e->second.dirty = false;
    std::optional<api::PodStatus> status = compute_(e->second.pod);
    if (!status) {
      pods_.erase(e);
      continue;
    }
    if (SameStatus(*status, e->second.pod.status())) {
      ++stats_.unchanged;
      idle.push_back(uid);
      continue;
    }
    Write(uid, e->second, std::move(*status));
  }
  for (const std::string& uid : idle) {
    if (on_idle_ && Idle(uid)) on_idle_(uid);
  }
}

void PodStatusManager::Write(const std::string& uid, Entry& e, api::PodStatus status) {
  api::Pod pod = e.pod;
  *pod.mutable_status() = std::move(status);
  e.in_flight = true;
  ++in_flight_;
  ++stats_.writes;
  client_->Update(PodKind(), pod, [this, alive = alive_, uid](const client::ApiResult& r) {
    if (*alive) OnWritten(uid, r);
  }, "status");
}

void PodStatusManager::OnWritten(const std::string& uid, const client::ApiResult& r) {
  --in_flight_;
  auto it = pods_.find(uid);
  if (it == pods_.end()) return ScheduleFlush(Nanos(0));
  Entry& e = it->second;
  e.in_flight = false;
  if (r.ok()) {
    if (auto obj = client::ApiClient::DecodeObject(PodKind(), r)) Observe(static_cast<const api::Pod&>(*obj));
  } else if (r.status.ok() && r.code == 404) {
    pods_.erase(it);
    return ScheduleFlush(Nanos(0));
  } else if (r.status.ok() && r.code == 409) {
    ++stats_.conflicts;
    e.dirty = true;
    const api::Pod& p = e.pod;
    client_->Get(PodKind(), p.metadata().namespace_(), p.metadata().name(),
                 [this, alive = alive_, uid](const client::ApiResult& got) {
                   if (!*alive) return;
                   if (got.ok()) {
                     auto obj = client::ApiClient::DecodeObject(PodKind(), got);
                     const auto* pod = static_cast<const api::Pod*>(obj.get());
                     if (pod != nullptr && pod->metadata().uid() == uid) Observe(*pod);  // not a namesake
                   }
                   MarkDirty(uid);
                 });
    return;
  } else {
    ++stats_.errors;
    e.dirty = true;
    dirty_.insert(uid);
    return ScheduleFlush(retry_delay_);
  }
  if (e.dirty) {
    dirty_.insert(uid);
    ScheduleFlush(Nanos(0));
  } else if (on_idle_) {
    on_idle_(uid);
  }
  if (!dirty_.empty()) ScheduleFlush(Nanos(0));
}

}  // namespace ksim::kubelet
