// KubeletProxy: the apiserver's calls to kubelet endpoints (pods/log, pods/exec), over the
// Transport with the kubelet's own protocol (cluster/kubelet/kubelet_api.proto). One
// connection per call: connect, one KubeletRequest, one KubeletResponse, close. Bounded:
// at most max_in_flight calls at once, each with a deadline. Knows nothing of the
// kubelet's internals, only its protocol.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "cluster/env/env.h"
#include "cluster/kubelet/kubelet_api.pb.h"

namespace ksim::apiserver {

struct KubeletProxyOptions {
  size_t max_in_flight = 64;
};

// The outcome of a call: code 200 with the kubelet's answer, the kubelet's own error code
// and message, or the proxy's: 429 too many calls, 502 the kubelet closed the connection
// or answered garbage, 503 the kubelet could not be reached, 504 no answer in time.
struct KubeletCallResult {
  int code = 0;
  std::string message;
  kubelet::KubeletResponse response;
};

class KubeletProxy {
 public:
  using Done = std::function<void(KubeletCallResult)>;
  // REQUIRES: env outlives the proxy.
  KubeletProxy(Env& env, KubeletProxyOptions options);
  ~KubeletProxy();  // closes every connection; pending `done`s are not called
  KubeletProxy(const KubeletProxy&) = delete;
  KubeletProxy& operator=(const KubeletProxy&) = delete;

  // Sends `request` to the kubelet at `address` ("ip:port"); `done` runs once, on the loop.
  void Call(const Address& address, kubelet::KubeletRequest request, Nanos timeout, Done done);

  size_t in_flight() const { return calls_.size(); }

 private:
  struct Pending {
    std::shared_ptr<Connection> conn;
    TimerId timer = 0;
    bool opened = false;
    Address address;
    Done done;
  };
  void Finish(uint64_t id, KubeletCallResult result);

  Env& env_;
  KubeletProxyOptions options_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Pending> calls_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ksim::apiserver
