// ServiceProxy: the service proxy of one worker (kube-proxy). Watches Services and
// EndpointSlices through informers and installs the node's Dataplane rules
// (rules.h) — ClusterIP, NodePort, session affinity, ready and terminating endpoints.
// Changes are coalesced: a sync runs at most once per `min_sync_period` (kube-proxy's
// --iptables-min-sync-period, 1 s) and at least every `sync_period` (30 s), installing the
// whole rule set at once. docs/NETWORKING.md.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cluster/client/api_client.h"
#include "cluster/client/informer.h"
#include "cluster/env/dataplane.h"
#include "cluster/env/env.h"
#include "cluster/env/process.h"

namespace ksim::proxy {

struct ProxyOptions {
  std::vector<Address> api_endpoints;  // when the proxy makes its own client
  std::string token;
  Nanos min_sync_period = Seconds(1);
  Nanos sync_period = Seconds(30);
  size_t max_rules = 100000;  // a sync that would install more installs none and logs why
};

struct ProxyStats {
  uint64_t syncs = 0;
  uint64_t sync_errors = 0;
  size_t rules = 0;
};

class ServiceProxy : public Process {
 public:
  // REQUIRES: env.dataplane non-null; options.api_endpoints non-empty.
  ServiceProxy(Env& env, ProxyOptions options);
  // With a client owned by the caller (a process that shares one).
  ServiceProxy(Env& env, client::ApiClient* client, ProxyOptions options);
  ~ServiceProxy() override;
  void Start() override;

  // Both informers have listed and the installed rules reflect everything they have seen.
  bool CaughtUp() const { return synced_once_ && !dirty_; }
  const ProxyStats& stats() const { return stats_; }

 private:
  void Changed();
  void Sync();

  Env& env_;
  ProxyOptions options_;
  std::unique_ptr<client::ApiClient> own_client_;
  client::ApiClient* client_;
  std::unique_ptr<client::Informer> services_;
  std::unique_ptr<client::Informer> slices_;
  TimerId sync_timer_ = 0;
  TimerId periodic_timer_ = 0;
  Nanos last_sync_{0};
  bool synced_once_ = false;
  bool dirty_ = true;
  ProxyStats stats_;
};

}  // namespace ksim::proxy
