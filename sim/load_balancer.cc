#include "sim/load_balancer.h"

#include <fmt/format.h>

#include <cassert>
#include <utility>

namespace ksim::sim {

LoadBalancer::LoadBalancer(Env& env, LoadBalancerOptions options) : env_(env), options_(std::move(options)) {
  assert(!options_.backends.empty() && options_.fall >= 1 && options_.rise >= 1);
  for (const Address& a : options_.backends) backends_.push_back(BackendState{.address = a});
  checks_.resize(backends_.size());
}

LoadBalancer::~LoadBalancer() {
  if (check_timer_ != 0) env_.clock->Cancel(check_timer_);
  for (Check& c : checks_) {
    if (c.timeout != 0) env_.clock->Cancel(c.timeout);
    if (c.conn) c.conn->Close();
  }
  for (auto& [id, s] : sessions_) {
    if (s.client) s.client->Close();
    if (s.backend) s.backend->Close();
  }
}

void LoadBalancer::Start() {
  Status listening = env_.transport->Listen(options_.port, [this](std::shared_ptr<Connection> c) { OnAccept(std::move(c)); });
  if (!listening.ok()) env_.log->Log(LogLevel::kError, "lb", "listen: " + listening.message());
  check_timer_ = env_.clock->Schedule(options_.check_interval, [this] { RunChecks(); });
}

std::vector<Address> LoadBalancer::UpBackends() const {
  std::vector<Address> up;
  for (const BackendState& b : backends_) {
    if (b.up) up.push_back(b.address);
  }
  return up;
}

int LoadBalancer::Pick(const std::vector<bool>& tried) {
  const size_t n = backends_.size();
  if (options_.balance == Balance::kLeastConnections) {
    int best = -1;
    for (size_t k = 0; k < n; ++k) {  // ties go round robin, from next_backend_
      const size_t i = (next_backend_ + k) % n;
      if (!backends_[i].up || tried[i]) continue;
      if (best < 0 || backends_[i].sessions_now < backends_[static_cast<size_t>(best)].sessions_now) {
        best = static_cast<int>(i);
      }
    }
    if (best >= 0) next_backend_ = (static_cast<size_t>(best) + 1) % n;
    return best;
  }
  for (size_t k = 0; k < n; ++k) {
    const size_t i = (next_backend_ + k) % n;
    if (backends_[i].up && !tried[i]) {
      next_backend_ = (i + 1) % n;
      return static_cast<int>(i);
    }
  }
  return -1;
}

void LoadBalancer::OnAccept(std::shared_ptr<Connection> client) {
  if (sessions_.size() >= options_.max_sessions) {
    ++stats_.refused;
    client->Close();
    return;
  }
  const uint64_t id = next_session_++;
  ++stats_.sessions;
  Session& s = sessions_[id];
  s.client = client;
  client->SetHandlers(ConnectionHandlers{
      .on_frame = [this, id](std::string_view frame) { OnClientFrame(id, frame); },
      .on_closed = [this, id](const Status&) { EndSession(id, false); },
  });
  ConnectBackend(id, std::vector<bool>(backends_.size(), false));
}

void LoadBalancer::ConnectBackend(uint64_t id, std::vector<bool> tried) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  Session& s = it->second;
  const int pick = Pick(tried);
  if (pick < 0) {
    ++stats_.refused;
    EndSession(id, false);
    return;
  }
  const size_t index = static_cast<size_t>(pick);
  tried[index] = true;
  if (s.tries++ > 0) ++stats_.redispatched;
  s.backend_index = index;
  s.backend_open = false;
  ++backends_[index].sessions_now;
  ++backends_[index].sessions_total;
  s.backend = env_.transport->Connect(
      backends_[index].address,
      ConnectionHandlers{
          .on_frame =
              [this, id](std::string_view frame) {
                auto found = sessions_.find(id);
                if (found == sessions_.end()) return;
                ++stats_.frames_forwarded;
                (void)found->second.client->Send(std::string(frame));
              },
          .on_closed = [this, id, tried](const Status&) { OnBackendClosed(id, tried); },
      },
      [this, id] { OnBackendOpen(id); });
  if (!s.backend) OnBackendClosed(id, tried);  // a malformed backend address: try the next
}

void LoadBalancer::OnClientFrame(uint64_t id, std::string_view frame) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  Session& s = it->second;
  if (s.backend_open) {
    ++stats_.frames_forwarded;
    (void)s.backend->Send(std::string(frame));
    return;
  }
  if (s.buffered.size() >= options_.max_buffered_frames || s.buffered_bytes + frame.size() > options_.max_buffered_bytes) {
    EndSession(id, false);  // a client that floods a connecting session loses it
    return;
  }
  s.buffered_bytes += frame.size();
  s.buffered.emplace_back(frame);
}

void LoadBalancer::OnBackendOpen(uint64_t id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  Session& s = it->second;
  s.backend_open = true;
  for (std::string& frame : s.buffered) {
    ++stats_.frames_forwarded;
    (void)s.backend->Send(std::move(frame));
  }
  s.buffered.clear();
  s.buffered_bytes = 0;
}

void LoadBalancer::OnBackendClosed(uint64_t id, std::vector<bool> tried) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  Session& s = it->second;
  --backends_[s.backend_index].sessions_now;
  s.backend.reset();
  if (!s.backend_open) {  // refused or unreachable before any frame went through: redispatch
    ConnectBackend(id, std::move(tried));
    return;
  }
  s.backend_open = false;
  EndSession(id, true);
}

void LoadBalancer::EndSession(uint64_t id, bool shut_down) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  Session s = std::move(it->second);
  sessions_.erase(it);
  if (shut_down) ++stats_.sessions_shut_down;
  if (s.backend) {
    --backends_[s.backend_index].sessions_now;
    s.backend->Close();
  }
  if (s.client) s.client->Close();
}

void LoadBalancer::RunChecks() {
  check_timer_ = env_.clock->Schedule(options_.check_interval, [this] { RunChecks(); });
  for (size_t i = 0; i < backends_.size(); ++i) {
    if (checks_[i].done) StartCheck(i);
  }
}

void LoadBalancer::StartCheck(size_t index) {
  Check& c = checks_[index];
  c.done = false;
  const bool l7 = !options_.check_send.empty();
  c.conn = env_.transport->Connect(
      backends_[index].address,
      ConnectionHandlers{
          .on_frame =
              [this, index](std::string_view reply) {
                FinishCheck(index, !options_.check_expect || options_.check_expect(reply));
              },
          .on_closed = [this, index](const Status&) { FinishCheck(index, false); },
      },
      [this, index, l7] {
        if (!l7) FinishCheck(index, true);
      });
  if (!c.conn) {
    FinishCheck(index, false);
    return;
  }
  if (l7) (void)c.conn->Send(options_.check_send);
  c.timeout = env_.clock->Schedule(options_.check_timeout, [this, index] {
    checks_[index].timeout = 0;
    FinishCheck(index, false);
  });
}

void LoadBalancer::FinishCheck(size_t index, bool ok) {
  Check& c = checks_[index];
  if (c.done) return;
  c.done = true;
  if (c.timeout != 0) env_.clock->Cancel(c.timeout);
  c.timeout = 0;
  if (c.conn) c.conn->Close();
  c.conn.reset();
  BackendState& b = backends_[index];
  if (ok) {
    ++b.checks_ok;
    ++b.consecutive_ok;
    b.consecutive_failed = 0;
    if (!b.up && b.consecutive_ok >= options_.rise) {
      b.up = true;
      ++b.went_up;
      env_.log->Log(LogLevel::kInfo, "lb", fmt::format("backend {} is UP", b.address));
    }
    return;
  }
  ++b.checks_failed;
  ++b.consecutive_failed;
  b.consecutive_ok = 0;
  if (!b.up || b.consecutive_failed < options_.fall) return;
  b.up = false;
  ++b.went_down;
  env_.log->Log(LogLevel::kWarning, "lb", fmt::format("backend {} is DOWN", b.address));
  if (!options_.shutdown_sessions_on_down) return;
  std::vector<uint64_t> victims;
  for (const auto& [id, s] : sessions_) {
    if (s.backend && s.backend_index == index) victims.push_back(id);
  }
  for (uint64_t id : victims) EndSession(id, true);
}

}  // namespace ksim::sim
