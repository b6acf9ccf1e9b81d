// TransportNetProber: the kubelet's HTTP GET and TCP checks over the process's
// Transport. One connection per check, closed after it; a check not answered within its
// timeout fails. One frame is one HTTP/1.1 request or response (cluster/net/http1.h).
#pragma once

#include <map>
#include <memory>

#include "cluster/env/env.h"
#include "cluster/kubelet/probe.h"

namespace ksim::kubelet {

class TransportNetProber final : public NetProber {
 public:
  explicit TransportNetProber(Env& env) : env_(env) {}
  ~TransportNetProber() override;
  void HttpGet(const std::string& host, int port, const std::string& path, Nanos timeout,
               std::function<void(bool ok, std::string detail)> done) override;
  void TcpOpen(const std::string& host, int port, Nanos timeout,
               std::function<void(bool ok, std::string detail)> done) override;

 private:
  struct Check;
  void Finish(uint64_t id, bool ok, std::string detail);
  uint64_t Begin(const std::string& host, int port, Nanos timeout, std::function<void(bool, std::string)> done);

  Env& env_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, std::shared_ptr<Check>> checks_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ksim::kubelet
