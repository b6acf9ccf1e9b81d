// ServiceAccountTokenManager: the kubelet's cache of bound service-account tokens
// (Kubernetes' pkg/kubelet/token.Manager). A projected serviceAccountToken volume asks it
// for a token of (namespace, account, audiences, expirationSeconds, pod uid); it answers
// from the cache until the token needs a refresh, else sends a TokenRequest through the
// kubelet's API client (the node's identity) and caches the answer.
//
// Refresh, as Kubernetes' requiresRefresh: once 80 % of the token's lifetime has passed,
// or it is older than 24 h. Times are the kubelet's monotonic clock from when the answer
// arrived (Kubernetes compares wall times; a host's wall clock may jump, and the lifetime
// is all that matters). A failed request backs off per key (500 ms doubling to 122 s, the
// volume manager's figures); meanwhile a cached token that has not expired is still
// handed out, as Kubernetes' manager does. See docs/KUBELET.md "Projected volumes".
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cluster/client/api_client.h"
#include "cluster/env/clock.h"
#include "cluster/env/logger.h"
#include "cluster/env/status.h"
#include "cluster/env/time.h"

namespace ksim::kubelet {

struct TokenManagerOptions {
  size_t max_tokens = 4096;                   // cached entries
  size_t max_token_bytes = size_t{16} << 20;  // their tokens' bytes together
  size_t max_waiters = 4096;                  // callers waiting on requests in flight
  Nanos max_ttl = Seconds(24 * 3600);         // refreshed at this age whatever its lifetime
  int refresh_percent = 80;                   // refreshed once this much of the lifetime passed
  Nanos backoff_initial = Milliseconds(500);
  Nanos backoff_max = Seconds(122);
};

// What one projected source asks for (Kubernetes' token request key).
struct TokenKey {
  std::string namespace_;
  std::string service_account;
  std::string audience;  // "": the apiserver's default audiences
  int64_t expiration_seconds = 3600;
  std::string pod_name;
  std::string pod_uid;
  std::string Key() const;
};

struct TokenManagerStats {
  uint64_t requests = 0;  // TokenRequests sent
  uint64_t failures = 0;  // answered with an error
  uint64_t refreshes = 0; // requests replacing a cached token
  uint64_t not_cached = 0;  // tokens handed out but over the cache's limits
};

class ServiceAccountTokenManager {
 public:
  using Done = std::function<void(Status, const std::string& token)>;

  ServiceAccountTokenManager(Clock* clock, client::ApiClient* client, Logger* log, TokenManagerOptions options = {});
  ~ServiceAccountTokenManager();
  ServiceAccountTokenManager(const ServiceAccountTokenManager&) = delete;
  ServiceAccountTokenManager& operator=(const ServiceAccountTokenManager&) = delete;

  // The token for `key`: cached, or requested. done runs on the event loop (maybe at once
  // for a cached token). Unavailable while a failed key backs off with nothing valid cached.
  void Get(const TokenKey& key, Done done);
  // Forgets every token bound to the pod (the pod went away).
  void ForgetPod(const std::string& pod_uid);
  // Drops expired tokens (Kubernetes' cleanup, every minute).
  void Cleanup();

  size_t size() const { return cache_.size(); }
  size_t bytes() const { return bytes_; }
  const TokenManagerStats& stats() const { return stats_; }
  // For tests: when the cached token of `key` wants a refresh (monotonic), 0 if none.
  Nanos RefreshAt(const TokenKey& key) const;

 private:
  struct Entry {
    std::string token;
    std::string pod_uid;
    Nanos refresh_at{0};  // monotonic
    Nanos expires_at{0};  // monotonic
  };
  struct Failing {
    Nanos delay{0};
    Nanos retry_at{0};  // monotonic
  };
  void Request(const std::string& k, const TokenKey& key);
  void Finish(const std::string& k, const Status& s, const std::string& token);
  void Store(const std::string& k, Entry e);
  void Erase(std::map<std::string, Entry>::iterator it);

  Clock* clock_;
  client::ApiClient* client_;
  Logger* log_;
  TokenManagerOptions options_;
  std::map<std::string, Entry> cache_;  // by TokenKey::Key()
  std::map<std::string, Failing> failing_;
  std::map<std::string, std::vector<Done>> in_flight_;
  size_t waiters_ = 0;
  size_t bytes_ = 0;
  TokenManagerStats stats_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ksim::kubelet
