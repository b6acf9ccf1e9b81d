// PeerLink: a connection to one address that keeps itself up. It dials, and when the
// connection fails or breaks it dials again after an exponential back-off with jitter
// drawn from the process's Random (so a seed replays the same retry times). Built once
// here on top of Transport, so reconnection behaves identically in both worlds.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "cluster/env/env.h"

namespace ksim {

struct PeerLinkOptions {
  Nanos initial_backoff = Milliseconds(100);
  Nanos max_backoff = Seconds(2);
};

class PeerLink {
 public:
  // REQUIRES: env.clock, env.transport and env.random are non-null and outlive the link.
  PeerLink(Env& env, Address to, PeerLinkOptions options, std::function<void(std::string_view)> on_frame);
  ~PeerLink();
  PeerLink(const PeerLink&) = delete;
  PeerLink& operator=(const PeerLink&) = delete;

  // Begins dialling. Idempotent.
  void Start();

  // Sends one frame if the connection is open. Unavailable when it is not: the caller
  // decides whether to resend later (nothing is queued across reconnects, because the
  // peer may or may not have received frames in flight when a connection broke).
  Status Send(std::string frame);

  bool connected() const { return connected_; }
  const Address& address() const { return to_; }
  uint64_t dials() const { return dials_; }
  uint64_t disconnects() const { return disconnects_; }

 private:
  void Dial();
  void OnBroken(const Status& why);

  Env& env_;
  Address to_;
  PeerLinkOptions options_;
  std::function<void(std::string_view)> on_frame_;
  std::shared_ptr<Connection> conn_;
  bool started_ = false;
  bool connected_ = false;
  Nanos backoff_;
  TimerId redial_timer_ = 0;
  uint64_t dials_ = 0;
  uint64_t disconnects_ = 0;
};

}  // namespace ksim
