#include "cluster/net/peer_link.h"

#include <algorithm>

namespace ksim {

PeerLink::PeerLink(Env& env, Address to, PeerLinkOptions options, std::function<void(std::string_view)> on_frame)
    : env_(env), to_(std::move(to)), options_(options), on_frame_(std::move(on_frame)),
      backoff_(options.initial_backoff) {}

PeerLink::~PeerLink() {
  if (redial_timer_) env_.clock->Cancel(redial_timer_);
  if (conn_) conn_->Close();
}

void PeerLink::Start() {
  if (started_) return;
  started_ = true;
  Dial();
}

void PeerLink::Dial() {
  redial_timer_ = 0;
  ++dials_;
  ConnectionHandlers handlers;
  handlers.on_frame = [this](std::string_view frame) {
    if (on_frame_) on_frame_(frame);
  };
  handlers.on_closed = [this](const Status& why) { OnBroken(why); };
  conn_ = env_.transport->Connect(to_, std::move(handlers), [this] {
    connected_ = true;
    backoff_ = options_.initial_backoff;
  });
  if (!conn_) OnBroken(Status::InvalidArgument("bad address " + to_));
}

void PeerLink::OnBroken(const Status& why) {
  if (connected_) ++disconnects_;
  connected_ = false;
  conn_.reset();
  // Full jitter: a random delay in [backoff/2, backoff], so peers that lost each other at
  // the same instant do not redial in lockstep.
  const int64_t high = backoff_.count();
  const Nanos delay(env_.random->Range(high / 2, high));
  backoff_ = std::min(backoff_ * 2, options_.max_backoff);
  redial_timer_ = env_.clock->Schedule(delay, [this] { Dial(); });
}

Status PeerLink::Send(std::string frame) {
  if (!connected_ || !conn_) return Status::Unavailable("not connected to " + to_);
  return conn_->Send(std::move(frame));
}

}  // namespace ksim
