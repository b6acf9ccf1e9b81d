// LoadBalancer: a simulated HAProxy in TCP mode, the way kubeadm's HA guide puts one in
// front of the apiservers. It is an ordinary Process on its own host: it accepts client
// connections on one port, opens one backend connection per client connection and
// forwards frames both ways, unchanged.
//
// Backends are checked actively every `check_interval`: a fresh connection, the check
// frame (HAProxy's `tcp-check send` / `expect`), an answer within `check_timeout`. A
// backend is taken out after `fall` failed checks in a row and put back after `rise`
// good ones (HAProxy's defaults: inter 2s, fall 3, rise 2). Backends start up.
// When a backend connection breaks, its client connection is closed (the client
// reconnects and lands on a live backend); when a backend is marked down, every session
// on it is shut down (`on-marked-down shutdown-sessions`). A backend that refuses a new
// session is skipped and the session redispatched to the next one (`option redispatch`).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/env/env.h"
#include "cluster/env/process.h"

namespace ksim::sim {

enum class Balance { kRoundRobin, kLeastConnections };

struct LoadBalancerOptions {
  uint16_t port = 6443;
  std::vector<Address> backends;  // "host:port"
  Balance balance = Balance::kRoundRobin;
  Nanos check_interval = Seconds(2);
  Nanos check_timeout = Seconds(1);
  int fall = 3;
  int rise = 2;
  // The check: `check_send` is sent on a new connection and the first frame back must
  // satisfy `check_expect`. Without check_send the check is a TCP connect.
  std::string check_send;
  std::function<bool(std::string_view reply)> check_expect;
  bool shutdown_sessions_on_down = true;
  size_t max_sessions = 100000;          // further clients are refused (closed at once)
  size_t max_buffered_frames = 1024;     // per session, while its backend connects
  size_t max_buffered_bytes = 16u << 20;
};

struct BackendState {
  Address address;
  bool up = true;
  int consecutive_ok = 0;
  int consecutive_failed = 0;
  uint64_t checks_ok = 0;
  uint64_t checks_failed = 0;
  uint64_t went_down = 0;
  uint64_t went_up = 0;
  uint64_t sessions_total = 0;
  size_t sessions_now = 0;
};

struct LoadBalancerStats {
  uint64_t sessions = 0;
  uint64_t refused = 0;       // no backend up, or over max_sessions
  uint64_t redispatched = 0;  // a backend refused; the session moved to another
  uint64_t frames_forwarded = 0;
  uint64_t sessions_shut_down = 0;  // closed because their backend died or went down
};

class LoadBalancer : public Process {
 public:
  // REQUIRES: options.backends non-empty; fall, rise >= 1; env outlives the object.
  LoadBalancer(Env& env, LoadBalancerOptions options);
  ~LoadBalancer() override;
  void Start() override;

  const std::vector<BackendState>& backends() const { return backends_; }
  const LoadBalancerStats& stats() const { return stats_; }
  size_t sessions_now() const { return sessions_.size(); }
  // Backends that are up, in configuration order.
  std::vector<Address> UpBackends() const;

 private:
  struct Session {
    std::shared_ptr<Connection> client;
    std::shared_ptr<Connection> backend;
    size_t backend_index = 0;
    bool backend_open = false;
    size_t tries = 0;
    std::vector<std::string> buffered;  // client frames until the backend opens
    size_t buffered_bytes = 0;
  };
  struct Check {
    std::shared_ptr<Connection> conn;
    TimerId timeout = 0;
    bool done = true;
  };

  void OnAccept(std::shared_ptr<Connection> client);
  // Picks an up backend not in `tried`, or -1.
  int Pick(const std::vector<bool>& tried);
  void ConnectBackend(uint64_t id, std::vector<bool> tried);
  void OnClientFrame(uint64_t id, std::string_view frame);
  void OnBackendOpen(uint64_t id);
  void OnBackendClosed(uint64_t id, std::vector<bool> tried);
  void EndSession(uint64_t id, bool shut_down);
  void RunChecks();
  void StartCheck(size_t index);
  void FinishCheck(size_t index, bool ok);

  Env& env_;
  LoadBalancerOptions options_;
  std::vector<BackendState> backends_;
  std::vector<Check> checks_;
  std::map<uint64_t, Session> sessions_;
  uint64_t next_session_ = 1;
  size_t next_backend_ = 0;  // round robin
  TimerId check_timer_ = 0;
  LoadBalancerStats stats_;
};

}  // namespace ksim::sim
