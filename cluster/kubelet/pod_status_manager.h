// PodStatusManager: writes the kubelet's pod statuses through the status subresource,
// only when they changed. It keeps the newest copy of each pod it has seen (from the
// informer or from its own writes' answers); a write is an update guarded by that copy's
// resourceVersion, and a 409 Conflict re-reads the pod and computes again. See
// docs/KUBELET.md "Status".
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "cluster/api/core.pb.h"
#include "cluster/client/api_client.h"
#include "cluster/env/env.h"

namespace ksim::kubelet {

struct PodStatusManagerStats {
  uint64_t writes = 0;      // status updates sent
  uint64_t unchanged = 0;   // computations that matched the stored status: nothing sent
  uint64_t conflicts = 0;   // 409s (re-read and retried)
  uint64_t errors = 0;      // no answer or another error (retried after retry_delay)
};

class PodStatusManager {
 public:
  // The status `base` (the newest copy of the pod) should have now; nullopt if the pod
  // is no longer the kubelet's.
  using Compute = std::function<std::optional<api::PodStatus>(const api::Pod& base)>;
  // The pod's status is written and nothing more is pending.
  using OnIdle = std::function<void(const std::string& uid)>;

  PodStatusManager(Env& env, client::ApiClient* client, Compute compute, OnIdle on_idle,
                   size_t max_in_flight = 64, Nanos retry_delay = Seconds(1));
  ~PodStatusManager();
  PodStatusManager(const PodStatusManager&) = delete;
  PodStatusManager& operator=(const PodStatusManager&) = delete;

  // A copy of the pod from the API; kept if newer (by resourceVersion) than the one held.
  void Observe(const api::Pod& pod);
  // The pod's status may have changed: computed and, if different, written soon.
  void MarkDirty(const std::string& uid);
  void Forget(const std::string& uid);
  // Nothing to write and nothing in flight for the pod.
  bool Idle(const std::string& uid) const;
  const api::Pod* Latest(const std::string& uid) const;
  const PodStatusManagerStats& stats() const { return stats_; }

 private:
  struct Entry {
    api::Pod pod;
    int64_t version = 0;
    bool dirty = false;
    bool in_flight = false;
  };
  void ScheduleFlush(Nanos delay);
  void Flush();
  void Write(const std::string& uid, Entry& e, api::PodStatus status);
  void OnWritten(const std::string& uid, const client::ApiResult& r);

  Env& env_;
  client::ApiClient* client_;
  Compute compute_;
  OnIdle on_idle_;
  size_t max_in_flight_;
  Nanos retry_delay_;
  std::map<std::string, Entry> pods_;  // by uid
  std::set<std::string> dirty_;
  size_t in_flight_ = 0;
  TimerId flush_timer_ = 0;
  PodStatusManagerStats stats_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ksim::kubelet
