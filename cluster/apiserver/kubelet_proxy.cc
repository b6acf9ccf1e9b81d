#include "cluster/apiserver/kubelet_proxy.h"

#include <utility>

#include "cluster/env/wire.h"

namespace ksim::apiserver {

KubeletProxy::KubeletProxy(Env& env, KubeletProxyOptions options) : env_(env), options_(options) {}

KubeletProxy::~KubeletProxy() {
  *alive_ = false;
  for (auto& [id, p] : calls_) {
    if (p.timer != 0) env_.clock->Cancel(p.timer);
    if (p.conn) p.conn->Close();
  }
}

void KubeletProxy::Call(const Address& address, kubelet::KubeletRequest request, Nanos timeout, Done done) {
  if (calls_.size() >= options_.max_in_flight) {
    return done(KubeletCallResult{429, "too many calls to kubelets in flight; try again", {}});
  }
  const uint64_t id = next_id_++;
  request.set_id(id);
  Pending& p = calls_[id];
  p.address = address;
  p.done = std::move(done);
  ConnectionHandlers h;
  h.on_frame = [this, alive = alive_, id](std::string_view frame) {
    if (!*alive) return;
    kubelet::KubeletResponse r;
    if (!r.ParseFromArray(frame.data(), static_cast<int>(frame.size())) || r.id() != id) {
      return Finish(id, KubeletCallResult{502, "the kubelet answered with a malformed frame", {}});
    }
    KubeletCallResult result;
    result.code = r.code();
    result.message = r.message();
    result.response = std::move(r);
    Finish(id, std::move(result));
  };
  h.on_closed = [this, alive = alive_, id](const Status& why) {
    if (!*alive) return;
    auto it = calls_.find(id);
    if (it == calls_.end()) return;
    it->second.conn.reset();  // closed already
    if (it->second.opened) {
      return Finish(id, KubeletCallResult{502, "the kubelet at " + it->second.address +
                                                   " closed the connection: " + why.ToString(), {}});
    }
    Finish(id, KubeletCallResult{503, "unable to reach the kubelet at " + it->second.address + ": " + why.ToString(),
                                 {}});
  };
  p.conn = env_.transport->Connect(address, std::move(h), [this, alive = alive_, id] {
    if (!*alive) return;
    if (auto it = calls_.find(id); it != calls_.end()) it->second.opened = true;
  });
  if (p.conn == nullptr) {
    return Finish(id, KubeletCallResult{503, "bad kubelet address \"" + address + "\"", {}});
  }
  if (Status s = p.conn->Send(SerializeDeterministic(request)); !s.ok()) {
    return Finish(id, KubeletCallResult{503, "sending to the kubelet at " + address + ": " + s.ToString(), {}});
  }
  p.timer = env_.clock->Schedule(timeout, [this, alive = alive_, id] {
    if (!*alive) return;
    auto it = calls_.find(id);
    if (it == calls_.end()) return;
    it->second.timer = 0;
    Finish(id, KubeletCallResult{504, "no answer from the kubelet at " + it->second.address + " in time", {}});
  });
}

void KubeletProxy::Finish(uint64_t id, KubeletCallResult result) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;
  Pending p = std::move(it->second);
  calls_.erase(it);
  if (p.timer != 0) env_.clock->Cancel(p.timer);
  if (p.conn) p.conn->Close();
  p.done(std::move(result));
}

}  // namespace ksim::apiserver
