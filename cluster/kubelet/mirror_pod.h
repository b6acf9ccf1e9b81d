// MirrorPodManager: a static pod's face in the API. For every static pod it keeps one
// mirror pod (the same pod, annotation kubernetes.io/config.mirror = the static pod's
// config.hash, owned by the Node): creates it when missing, deletes and re-creates it when
// it is stale (another hash) or being deleted through the API, and deletes mirror pods of
// static pods that are gone. The static pods themselves never depend on it: with every
// apiserver down they run, and their mirror pods appear once the API answers.
//
// The manager watches nothing itself: the kubelet feeds it the static pods (from
// StaticPodSource) and the pods bound to its node (from its own pod informer), so one watch
// serves both. It also posts the Events the kubelet's node side reports on its Node.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "cluster/api/core.pb.h"
#include "cluster/client/api_client.h"
#include "cluster/env/env.h"

namespace ksim::kubelet {

struct MirrorPodOptions {
  std::string node_name;
  Nanos sync_period = Seconds(2);  // Kubernetes' housekeeping period
  size_t max_in_flight = 32;       // API calls at once
  size_t max_events_per_minute = 12;
};

struct MirrorPodStats {
  uint64_t creates = 0;
  uint64_t deletes = 0;
  uint64_t failures = 0;
  uint64_t events = 0;
};

// Whether `pod` is a mirror pod (has kubernetes.io/config.mirror).
bool IsMirrorPod(const api::Pod& pod);

// The mirror pod of a static pod: a copy without uid, resourceVersion and status, with
// config.mirror = config.hash and an ownerReference to the Node (controller).
api::Pod MirrorPodOf(const api::Pod& static_pod, const std::string& node_name, const std::string& node_uid);

class MirrorPodManager {
 public:
  // `node_uid` returns the Node's uid, "" while it is not registered: mirror pods are
  // created only once it is known (they are owned by the Node).
  // REQUIRES: env and client outlive the manager.
  MirrorPodManager(Env& env, client::ApiClient* client, MirrorPodOptions options,
                   std::function<std::string()> node_uid);
  ~MirrorPodManager();
  MirrorPodManager(const MirrorPodManager&) = delete;
  MirrorPodManager& operator=(const MirrorPodManager&) = delete;

  // Syncs every sync_period from now on.
  void Start();

  // From StaticPodSource: a static pod was added or changed / removed.
  void SetStaticPod(const std::shared_ptr<const api::Pod>& pod);
  void RemoveStaticPod(const std::string& key);  // "namespace/name"

  // From the kubelet's informer on pods with spec.nodeName = this node (any pod; only
  // mirror pods are kept).
  void OnApiPod(const std::shared_ptr<const api::Pod>& pod);
  void OnApiPodDeleted(const std::shared_ptr<const api::Pod>& pod);

  // A Warning Event on the Node (involvedObject kind Node, uid = the node's name, as the
  // kubelet does), e.g. reason "FailedStaticPodManifest". At most max_events_per_minute;
  // the rest are only logged.
  void PostNodeEvent(const std::string& reason, const std::string& message);

  // Runs one sync pass now.
  void Sync();

  const MirrorPodStats& stats() const { return stats_; }

 private:
  void Create(const std::string& key, const api::Pod& static_pod, const std::string& node_uid);
  void Delete(const std::string& key, const api::Pod& mirror);

  Env& env_;
  client::ApiClient* client_;
  MirrorPodOptions options_;
  std::function<std::string()> node_uid_;
  std::map<std::string, std::shared_ptr<const api::Pod>> static_pods_;  // by "ns/name"
  std::map<std::string, std::shared_ptr<const api::Pod>> mirrors_;      // API mirror pods by "ns/name"
  std::set<std::string> in_flight_;
  static constexpr size_t kMaxOthers = 4096;
  std::set<std::string> others_;  // API pods that are not mirror pods (a name a static pod cannot take)
  TimerId timer_ = 0;
  Nanos event_window_start_{0};
  size_t events_in_window_ = 0;
  uint64_t event_seq_ = 0;
  MirrorPodStats stats_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ksim::kubelet
