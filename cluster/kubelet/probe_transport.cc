#include "cluster/kubelet/probe_transport.h"

#include <fmt/format.h>

#include "cluster/net/http1.h"

namespace ksim::kubelet {

struct TransportNetProber::Check {
  std::shared_ptr<Connection> conn;
  TimerId timer = 0;
  std::function<void(bool, std::string)> done;
};

TransportNetProber::~TransportNetProber() {
  *alive_ = false;
  for (auto& [id, c] : checks_) {
    if (c->timer != 0) env_.clock->Cancel(c->timer);
    if (c->conn) c->conn->Close();
  }
}

void TransportNetProber::Finish(uint64_t id, bool ok, std::string detail) {
  const auto it = checks_.find(id);
  if (it == checks_.end()) return;
  std::shared_ptr<Check> c = it->second;
  checks_.erase(it);
  if (c->timer != 0) env_.clock->Cancel(c->timer);
  if (c->conn) c->conn->Close();
  c->done(ok, std::move(detail));
}

uint64_t TransportNetProber::Begin(const std::string& host, int port, Nanos timeout,
                                   std::function<void(bool, std::string)> done) {
  const uint64_t id = next_id_++;
  auto c = std::make_shared<Check>();
  c->done = std::move(done);
  checks_[id] = c;
  c->timer = env_.clock->Schedule(timeout, [this, alive = alive_, id] {
    if (!*alive) return;
    if (auto it = checks_.find(id); it != checks_.end()) it->second->timer = 0;
    Finish(id, false, "timeout");
  });
  (void)host;
  (void)port;
  return id;
}

void TransportNetProber::TcpOpen(const std::string& host, int port, Nanos timeout,
                                 std::function<void(bool, std::string)> done) {
  const uint64_t id = Begin(host, port, timeout, std::move(done));
  ConnectionHandlers h;
  h.on_closed = [this, alive = alive_, id](const Status& why) {
    if (*alive) Finish(id, false, why.ToString());
  };
  auto conn = env_.transport->Connect(fmt::format("{}:{}", host, port), std::move(h), [this, alive = alive_, id] {
    if (*alive) Finish(id, true, "");
  });
  if (conn == nullptr) return Finish(id, false, "bad address");
  if (auto it = checks_.find(id); it != checks_.end()) it->second->conn = conn;
}

void TransportNetProber::HttpGet(const std::string& host, int port, const std::string& path, Nanos timeout,
                                 std::function<void(bool, std::string)> done) {
  const uint64_t id = Begin(host, port, timeout, std::move(done));
  ConnectionHandlers h;
  h.on_frame = [this, alive = alive_, id](std::string_view frame) {
    if (!*alive) return;
    http1::Response response;
    const Status parsed = http1::ParseResponse(frame, &response);
    if (!parsed.ok()) return Finish(id, false, parsed.ToString());
    Finish(id, response.status >= 200 && response.status < 400, fmt::format("HTTP {}", response.status));
  };
  h.on_closed = [this, alive = alive_, id](const Status& why) {
    if (*alive) Finish(id, false, why.ToString());
  };
  const std::string address = fmt::format("{}:{}", host, port);
  auto conn = env_.transport->Connect(address, std::move(h), [] {});
  if (conn == nullptr) return Finish(id, false, "bad address");
  if (auto it = checks_.find(id); it != checks_.end()) it->second->conn = conn;
  http1::Request request = http1::Get(address, path);
  request.headers.emplace_back("User-Agent", "kube-probe/ksim");
  const Status s = conn->Send(http1::FormatRequest(request));
  if (!s.ok()) Finish(id, false, s.ToString());
}

}  // namespace ksim::kubelet
