#include "real/tcp_transport.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <deque>
#include <utility>
#include <vector>

namespace ksim::real {
namespace {

constexpr size_t kHeaderBytes = 4;
constexpr size_t kReadChunkBytes = 64u << 10;
// A connection gets at most this much reading per readiness event, so one busy peer
// cannot starve the others (epoll is level-triggered: the rest is read next iteration).
constexpr size_t kReadBudgetBytes = 4u << 20;
// An idle connection's input buffer is released above this size (after a large frame).
constexpr size_t kKeepInputBufferBytes = 1u << 20;
constexpr int kMaxIovecs = 64;
constexpr int kMaxAcceptsPerEvent = 64;
constexpr Nanos kAcceptPauseAfterFdExhaustion = Milliseconds(100);

uint32_t DecodeLength(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | uint32_t{u[3]};
}

std::string EncodeLength(uint32_t n) {
  std::string h(kHeaderBytes, '\0');
  h[0] = static_cast<char>((n >> 24) & 0xff);
  h[1] = static_cast<char>((n >> 16) & 0xff);
  h[2] = static_cast<char>((n >> 8) & 0xff);
  h[3] = static_cast<char>(n & 0xff);
  return h;
}

std::string ErrnoText(int err) { return std::strerror(err); }

// How a failure of an established connection is reported, matching the simulator:
// resets and peer closes are Closed, keepalive/user-timeout expiry is Timeout.
Status BrokenStatus(int err, const Address& peer) {
  switch (err) {
    case ECONNRESET:
    case EPIPE:
      return Status::Closed("connection to " + peer + " reset by peer");
    case ETIMEDOUT:
      return Status::Timeout("connection to " + peer + " timed out: peer unreachable");
    case EHOSTUNREACH:
    case ENETUNREACH:
    case ENETDOWN:
    case EHOSTDOWN:
      return Status::Unavailable("connection to " + peer + ": " + ErrnoText(err));
    default:
      return Status::IOError("connection to " + peer + ": " + ErrnoText(err));
  }
}

std::string FormatHost(const sockaddr_storage& addr) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (addr.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(addr).sin_addr, buf, sizeof(buf));
    return buf;
  }
  if (addr.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(addr).sin6_addr, buf, sizeof(buf));
    return "[" + std::string(buf) + "]";
  }
  return "?";
}

// Parses an IP literal (IPv6 may be bracketed) into `out`.
bool ParseIp(const std::string& host, uint16_t port, sockaddr_storage* out, socklen_t* len) {
  std::string h = host;
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  *out = sockaddr_storage{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(out);
  if (inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    *len = sizeof(sockaddr_in);
    return true;
  }
  *out = sockaddr_storage{};
  auto* v6 = reinterpret_cast<sockaddr_in6*>(out);
  if (inet_pton(AF_INET6, h.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    *len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

// IP literals directly; names through getaddrinfo (see Connect's contract), preferring
// IPv4 because listeners bind IPv4 addresses by default.
Status Resolve(const std::string& host, uint16_t port, sockaddr_storage* out, socklen_t* len) {
  if (ParseIp(host, port, out, len)) return Status::Ok();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* results = nullptr;
  const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &results);
  if (rc != 0) return Status::Unavailable("resolve '" + host + "': " + gai_strerror(rc));
  const addrinfo* pick = nullptr;
  for (const addrinfo* ai = results; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family == AF_INET) {
      pick = ai;
      break;
    }
    if (pick == nullptr && ai->ai_family == AF_INET6) pick = ai;
  }
  if (pick == nullptr) {
    freeaddrinfo(results);
    return Status::Unavailable("resolve '" + host + "': no IPv4 or IPv6 address");
  }
  *out = sockaddr_storage{};
  std::memcpy(out, pick->ai_addr, pick->ai_addrlen);
  *len = pick->ai_addrlen;
  if (pick->ai_family == AF_INET) {
    reinterpret_cast<sockaddr_in*>(out)->sin_port = htons(port);
  } else {
    reinterpret_cast<sockaddr_in6*>(out)->sin6_port = htons(port);
  }
  freeaddrinfo(results);
  return Status::Ok();
}

bool SameEndpoint(const sockaddr_storage& a, socklen_t alen, const sockaddr_storage& b, socklen_t blen) {
  return alen == blen && std::memcmp(&a, &b, alen) == 0;
}

int SocketError(int fd) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}

}  // namespace

// The state of one connection, shared by its Handle and (while the socket is open) the
// transport. Epoll callbacks, timers and posted tasks reach it through weak references.
struct TcpTransport::Conn {
  enum class Phase { kConnecting, kOpen, kDone };

  // Non-null exactly while the socket is open; cleared by Teardown (and hence by the
  // transport's destructor), so a handle never reaches a destroyed transport.
  TcpTransport* transport = nullptr;
  uint64_t id = 0;
  int fd = -1;
  Phase phase = Phase::kConnecting;
  // True until the user closes it or on_closed has been delivered. Handlers run only
  // while active. An inactive connection with an open socket is flushing after Close.
  bool active = true;
  bool flush_posted = false;
  bool dispatch_posted = false;
  uint32_t interest = 0;
  Address peer;
  // Shared so a handler can replace the handlers while it runs.
  std::shared_ptr<ConnectionHandlers> handlers;
  std::function<void()> on_open;
  TimerId connect_timer = 0;
  TimerId flush_timer = 0;

  // Output: length headers and payloads as separate chunks (payloads are moved in, not
  // copied); written with sendmsg gathering up to kMaxIovecs chunks.
  std::deque<std::string> out;
  size_t out_front_offset = 0;
  size_t out_bytes = 0;

  // Input: bytes [in_begin, in_end) of `in` are received but not yet delivered. Only
  // ReadInput changes this buffer, never while a handler runs, so the string_view given
  // to on_frame stays valid for the whole call even if the handler closes the connection.
  std::vector<char> in;
  size_t in_begin = 0;
  size_t in_end = 0;

  bool wants_frames() const { return handlers && handlers->on_frame; }
};

// What the user holds. Dropping the last reference closes the connection.
class TcpTransport::Handle final : public Connection {
 public:
  explicit Handle(std::shared_ptr<Conn> c) : c_(std::move(c)) {}
  ~Handle() override { Close(); }

  Status Send(std::string frame) override {
    if (c_->transport == nullptr || !c_->active) {
      return Status::Closed("send on a closed connection to " + c_->peer);
    }
    return c_->transport->SendOn(c_, std::move(frame));
  }

  void Close() override {
    if (c_->transport != nullptr) {
      c_->transport->CloseConn(c_);
      return;
    }
    c_->active = false;  // suppresses a pending on_closed notification
    c_->handlers.reset();
    c_->on_open = nullptr;
  }

  bool is_open() const override { return c_->active && c_->phase != Conn::Phase::kDone; }

  const Address& peer() const override { return c_->peer; }

  void SetHandlers(ConnectionHandlers handlers) override {
    if (c_->transport != nullptr) {
      c_->transport->SetHandlersOn(c_, std::move(handlers));
    } else if (c_->active) {
      // Broken but not yet reported: the pending notification uses the new on_closed.
      c_->handlers = std::make_shared<ConnectionHandlers>(std::move(handlers));
    }
  }

 private:
  std::shared_ptr<Conn> c_;
};

TcpTransport::TcpTransport(EventLoop* loop, std::string advertise_host, TcpTransportOptions options)
    : loop_(loop), advertise_host_(std::move(advertise_host)), options_(std::move(options)) {
  assert(options_.max_output_bytes >= kMaxFrameBytes + kHeaderBytes);
}

TcpTransport::~TcpTransport() {
  for (auto& [port, listener] : listeners_) {
    if (listener.resume_timer != 0) loop_->CancelTimer(listener.resume_timer);
    loop_->RemoveFd(listener.fd);
    close(listener.fd);
  }
  listeners_.clear();
  // Teardown erases from conns_, so iterate over a copy.
  std::map<uint64_t, std::shared_ptr<Conn>> conns = conns_;
  for (auto& [id, c] : conns) {
    c->active = false;
    c->handlers.reset();
    c->on_open = nullptr;
    Teardown(*c);
  }
}

Address TcpTransport::LocalAddress(uint16_t port) const { return advertise_host_ + ":" + std::to_string(port); }

void TcpTransport::ConfigureSocket(int fd) const {
  // Best effort: a failure leaves the kernel default, which is slower but still correct.
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  auto whole_seconds = [](Nanos n) {
    return static_cast<int>(std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(n).count()));
  };
  if (options_.keepalive_idle > Nanos(0)) {
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    const int idle = whole_seconds(options_.keepalive_idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    if (options_.keepalive_interval > Nanos(0)) {
      const int interval = whole_seconds(options_.keepalive_interval);
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof(interval));
    }
    if (options_.keepalive_probes > 0) {
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &options_.keepalive_probes, sizeof(options_.keepalive_probes));
    }
  }
  if (options_.user_timeout > Nanos(0)) {
    const auto ms = static_cast<unsigned>(
        std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::milliseconds>(options_.user_timeout).count()));
    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof(ms));
  }
}

// --- listening ---------------------------------------------------------------------

Status TcpTransport::Listen(uint16_t port, AcceptFn on_accept) {
  uint16_t bound = 0;
  return Listen(port, std::move(on_accept), &bound);
}

Status TcpTransport::Listen(uint16_t port, AcceptFn on_accept, uint16_t* bound_port) {
  assert(on_accept);
  const std::string where = options_.bind_ip + ":" + std::to_string(port);
  if (port != 0 && listeners_.count(port) != 0) return Status::AlreadyExists("listen on " + where + ": already listening");
  sockaddr_storage addr;
  socklen_t addr_len = 0;
  if (!ParseIp(options_.bind_ip, port, &addr, &addr_len)) {
    return Status::InvalidArgument("listen: bind_ip '" + options_.bind_ip + "' is not an IP address");
  }
  const int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IOError("listen on " + where + ": socket: " + ErrnoText(errno));
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), addr_len) != 0 || listen(fd, options_.listen_backlog) != 0) {
    const int err = errno;
    close(fd);
    if (err == EADDRINUSE) return Status::AlreadyExists("listen on " + where + ": address in use");
    return Status::IOError("listen on " + where + ": " + ErrnoText(err));
  }
  sockaddr_storage local{};
  socklen_t local_len = sizeof(local);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0) {
    const int err = errno;
    close(fd);
    return Status::IOError("listen on " + where + ": getsockname: " + ErrnoText(err));
  }
  const uint16_t actual = ntohs(local.ss_family == AF_INET ? reinterpret_cast<sockaddr_in&>(local).sin_port
                                                           : reinterpret_cast<sockaddr_in6&>(local).sin6_port);
  if (listeners_.count(actual) != 0) {  // cannot happen: the kernel would refuse the bind
    close(fd);
    return Status::AlreadyExists("listen on " + where + ": already listening");
  }
  if (Status s = loop_->AddFd(fd, EPOLLIN, [this, actual](uint32_t) { OnListenerReady(actual); }); !s.ok()) {
    close(fd);
    return s;
  }
  Listener& l = listeners_[actual];
  l.fd = fd;
  l.on_accept = std::make_shared<AcceptFn>(std::move(on_accept));
  *bound_port = actual;
  return Status::Ok();
}

void TcpTransport::StopListening(uint16_t port) {
  auto it = listeners_.find(port);
  if (it == listeners_.end()) return;
  if (it->second.resume_timer != 0) loop_->CancelTimer(it->second.resume_timer);
  loop_->RemoveFd(it->second.fd);
  close(it->second.fd);
  listeners_.erase(it);
}

void TcpTransport::OnListenerReady(uint16_t port) {
  for (int i = 0; i < kMaxAcceptsPerEvent; ++i) {
    auto it = listeners_.find(port);
    if (it == listeners_.end()) return;  // the accept callback stopped the listener
    sockaddr_storage addr{};
    socklen_t addr_len = sizeof(addr);
    const int fd = accept4(it->second.fd, reinterpret_cast<sockaddr*>(&addr), &addr_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      const int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) return;
      ++stats_.accept_errors;
      if (err == ECONNABORTED || err == EPROTO || err == EPERM) continue;  // that one client's problem
      // EMFILE/ENFILE/ENOBUFS/ENOMEM: the connection stays queued and the listener stays
      // readable, so back off instead of spinning.
      PauseListener(port);
      return;
    }
    ConfigureSocket(fd);
    auto c = std::make_shared<Conn>();
    c->transport = this;
    c->id = next_conn_id_++;
    c->fd = fd;
    c->phase = Conn::Phase::kOpen;
    c->peer = FormatHost(addr) + ":0";
    // Reading stays off until handlers with on_frame are set: frames that arrive before
    // are held by the kernel (bounded by TCP flow control), not dropped.
    Register(c);
    if (c->fd < 0) continue;  // registration failed; the socket was closed
    ++stats_.connections_accepted;
    std::shared_ptr<AcceptFn> on_accept = it->second.on_accept;
    (*on_accept)(std::make_shared<Handle>(c));
  }
}

void TcpTransport::PauseListener(uint16_t port) {
  auto it = listeners_.find(port);
  if (it == listeners_.end() || it->second.resume_timer != 0) return;
  loop_->ModifyFd(it->second.fd, 0);
  it->second.resume_timer = loop_->RunAfter(kAcceptPauseAfterFdExhaustion, [this, port] {
    auto found = listeners_.find(port);
    if (found == listeners_.end()) return;
    found->second.resume_timer = 0;
    loop_->ModifyFd(found->second.fd, EPOLLIN);
  });
}

// --- connecting --------------------------------------------------------------------

std::shared_ptr<Connection> TcpTransport::Connect(const Address& to, ConnectionHandlers handlers,
                                                  std::function<void()> on_open) {
  std::string host;
  uint16_t port = 0;
  if (!ParseAddress(to, &host, &port).ok()) return nullptr;
  auto c = std::make_shared<Conn>();
  c->id = next_conn_id_++;
  c->peer = to;
  c->handlers = std::make_shared<ConnectionHandlers>(std::move(handlers));
  c->on_open = std::move(on_open);
  auto handle = std::make_shared<Handle>(c);
  ++stats_.connects_started;

  auto fail_later = [this, &c](Status why) {
    ++stats_.connects_failed;
    c->phase = Conn::Phase::kDone;
    loop_->Post([c, why = std::move(why)] { Notify(c, why); });
  };
  sockaddr_storage addr;
  socklen_t addr_len = 0;
  if (Status s = Resolve(host, port, &addr, &addr_len); !s.ok()) {
    fail_later(Status::Unavailable("connect to " + to + ": " + s.message()));
    return handle;
  }
  const int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    fail_later(Status::Unavailable("connect to " + to + ": socket: " + ErrnoText(errno)));
    return handle;
  }
  ConfigureSocket(fd);
  int rc;
  do {
    rc = connect(fd, reinterpret_cast<sockaddr*>(&addr), addr_len);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0 && errno != EINPROGRESS) {
    const int err = errno;
    close(fd);
    fail_later(Status::Unavailable("connect to " + to + ": " + ErrnoText(err)));
    return handle;
  }
  // Even an immediate success is reported through EPOLLOUT, so on_open never runs
  // inside Connect.
  c->transport = this;
  c->fd = fd;
  Register(c);
  if (c->fd < 0) {
    c->transport = nullptr;
    fail_later(Status::Unavailable("connect to " + to + ": cannot watch the socket"));
    return handle;
  }
  std::weak_ptr<Conn> weak = c;
  c->connect_timer = loop_->RunAfter(options_.connect_timeout, [weak] {
    auto conn = weak.lock();
    if (conn && conn->transport != nullptr) conn->transport->OnConnectTimeout(conn);
  });
  return handle;
}

void TcpTransport::OnConnectDone(const std::shared_ptr<Conn>& c) {
  const int err = SocketError(c->fd);
  if (err != 0) {
    Break(c, Status::Unavailable("connect to " + c->peer + ": " + ErrnoText(err)), true);
    return;
  }
  sockaddr_storage local{}, remote{};
  socklen_t local_len = sizeof(local), remote_len = sizeof(remote);
  if (getpeername(c->fd, reinterpret_cast<sockaddr*>(&remote), &remote_len) != 0) {
    Break(c, Status::Unavailable("connect to " + c->peer + ": " + ErrnoText(errno)), true);
    return;
  }
  // Connecting to a free port in the ephemeral range can "succeed" by TCP simultaneous
  // open with itself when the kernel picks that same port as the source port.
  if (getsockname(c->fd, reinterpret_cast<sockaddr*>(&local), &local_len) == 0 &&
      SameEndpoint(local, local_len, remote, remote_len)) {
    Break(c, Status::Unavailable("connect to " + c->peer + ": nothing listens there (self-connect)"), true);
    return;
  }
  loop_->CancelTimer(c->connect_timer);
  c->connect_timer = 0;
  c->phase = Conn::Phase::kOpen;
  if (c->active && c->on_open) {
    std::function<void()> on_open = std::move(c->on_open);
    c->on_open = nullptr;
    on_open();
  }
  if (c->fd < 0) return;  // closed (with nothing queued) inside on_open
  if (Status s = FlushOutput(*c); !s.ok()) {
    Break(c, s, true);
    return;
  }
  AfterOutputProgress(c);
}

void TcpTransport::OnConnectTimeout(const std::shared_ptr<Conn>& c) {
  c->connect_timer = 0;
  if (c->phase != Conn::Phase::kConnecting) return;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(options_.connect_timeout).count();
  Break(c, Status::Unavailable("connect to " + c->peer + ": no answer within " + std::to_string(ms) + " ms"), true);
}

// --- events ------------------------------------------------------------------------

void TcpTransport::Register(const std::shared_ptr<Conn>& c) {
  std::weak_ptr<Conn> weak = c;
  const uint32_t interest = c->phase == Conn::Phase::kConnecting ? static_cast<uint32_t>(EPOLLOUT) : 0u;
  Status s = loop_->AddFd(c->fd, interest, [this, weak](uint32_t events) {
    auto conn = weak.lock();  // always succeeds while registered; defensive
    if (conn) OnConnEvents(conn, events);
  });
  if (!s.ok()) {
    close(c->fd);
    c->fd = -1;
    c->phase = Conn::Phase::kDone;
    return;
  }
  c->interest = interest;
  conns_[c->id] = c;
}

void TcpTransport::UpdateInterest(Conn& c) {
  if (c.fd < 0) return;
  uint32_t want = 0;
  if (c.phase == Conn::Phase::kConnecting) {
    want = EPOLLOUT;
  } else {
    // Read while someone takes frames, or (after Close) to discard input and notice the
    // peer's close. Otherwise leave input in the kernel: that is how frames are held
    // until handlers are set, with TCP flow control as the bound.
    if (!c.active || c.wants_frames()) want |= EPOLLIN;
    if (c.out_bytes > 0) want |= EPOLLOUT;
  }
  if (want != c.interest && loop_->ModifyFd(c.fd, want).ok()) c.interest = want;
}

void TcpTransport::OnConnEvents(const std::shared_ptr<Conn>& c, uint32_t events) {
  if (c->fd < 0) return;
  if (c->phase == Conn::Phase::kConnecting) {
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) OnConnectDone(c);
    return;
  }
  if (c->interest & EPOLLIN) {
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) ReadInput(c);  // read() reports EOF and errors
  } else if (events & (EPOLLERR | EPOLLHUP)) {
    const int err = SocketError(c->fd);
    Break(c, err != 0 ? BrokenStatus(err, c->peer) : Status::Closed("peer closed the connection"), true);
    return;
  }
  if (c->fd < 0) return;
  if ((events & EPOLLOUT) && c->out_bytes > 0) {
    if (Status s = FlushOutput(*c); !s.ok()) {
      Break(c, s, true);
      return;
    }
    AfterOutputProgress(c);
    return;
  }
  UpdateInterest(*c);
}

void TcpTransport::ReadInput(const std::shared_ptr<Conn>& c) {
  size_t budget = kReadBudgetBytes;
  while (budget > 0 && c->fd >= 0) {
    if (!c->active) {
      // Closed locally and flushing: input has no reader any more; discard it and
      // finish as soon as the peer closes.
      char scratch[16u << 10];
      const ssize_t n = read(c->fd, scratch, sizeof(scratch));
      if (n > 0) {
        budget -= std::min(budget, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      Teardown(*c);  // peer closed or the socket failed: nothing more can be flushed
      return;
    }
    if (!c->wants_frames()) break;  // paused: input stays in the kernel
    // Make room: enough for the frame in progress if its header is here, else a chunk.
    if (c->in_begin == c->in_end) {
      c->in_begin = c->in_end = 0;
      if (c->in.size() > kKeepInputBufferBytes) std::vector<char>().swap(c->in);
    }
    const size_t avail = c->in_end - c->in_begin;
    size_t want = kReadChunkBytes;
    if (avail >= kHeaderBytes) {
      const size_t len = DecodeLength(c->in.data() + c->in_begin);
      if (len <= kMaxFrameBytes) want = std::max(want, kHeaderBytes + len - std::min(avail, kHeaderBytes + len));
    }
    if (c->in.size() - c->in_end < want) {
      if (c->in_begin > 0) {
        std::memmove(c->in.data(), c->in.data() + c->in_begin, avail);
        c->in_begin = 0;
        c->in_end = avail;
      }
      if (c->in.size() - c->in_end < want) c->in.resize(c->in_end + want);
    }
    const ssize_t n = read(c->fd, c->in.data() + c->in_end, c->in.size() - c->in_end);
    if (n > 0) {
      c->in_end += static_cast<size_t>(n);
      stats_.bytes_received += static_cast<uint64_t>(n);
      budget -= std::min(budget, static_cast<size_t>(n));
      DispatchInput(c);
      continue;
    }
    if (n == 0) {
      Break(c,
            Status::Closed(c->in_end > c->in_begin ? "peer closed the connection in the middle of a frame"
                                                   : "peer closed the connection"),
            true);
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    Break(c, BrokenStatus(errno, c->peer), true);
    return;
  }
  UpdateInterest(*c);
}

void TcpTransport::DispatchInput(const std::shared_ptr<Conn>& c) {
  while (c->active && c->phase == Conn::Phase::kOpen && c->fd >= 0) {
    std::shared_ptr<ConnectionHandlers> handlers = c->handlers;  // the handler may replace them
    if (!handlers || !handlers->on_frame) break;
    const size_t avail = c->in_end - c->in_begin;
    if (avail < kHeaderBytes) break;
    const uint32_t len = DecodeLength(c->in.data() + c->in_begin);
    if (len > kMaxFrameBytes) {
      Break(c,
            Status::Corruption("peer " + c->peer + " announced a frame of " + std::to_string(len) +
                               " bytes; the limit is " + std::to_string(kMaxFrameBytes)),
            true);
      return;
    }
    if (avail < kHeaderBytes + len) break;
    const std::string_view frame(c->in.data() + c->in_begin + kHeaderBytes, len);
    c->in_begin += kHeaderBytes + len;
    ++stats_.frames_received;
    handlers->on_frame(frame);
  }
  UpdateInterest(*c);  // reading pauses if on_frame was cleared
}

void TcpTransport::PostDispatch(const std::shared_ptr<Conn>& c) {
  if (c->dispatch_posted) return;
  c->dispatch_posted = true;
  std::weak_ptr<Conn> weak = c;
  loop_->Post([weak] {
    auto conn = weak.lock();
    if (!conn) return;
    conn->dispatch_posted = false;
    if (conn->transport != nullptr) conn->transport->DispatchInput(conn);
  });
}

// --- output ------------------------------------------------------------------------

Status TcpTransport::FlushOutput(Conn& c) {
  while (c.out_bytes > 0) {
    iovec iov[kMaxIovecs];
    int count = 0;
    size_t offset = c.out_front_offset;
    for (auto it = c.out.begin(); it != c.out.end() && count < kMaxIovecs; ++it) {
      iov[count].iov_base = it->data() + offset;
      iov[count].iov_len = it->size() - offset;
      offset = 0;
      ++count;
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(count);
    const ssize_t n = sendmsg(c.fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Status::Ok();
      return BrokenStatus(errno, c.peer);
    }
    size_t written = static_cast<size_t>(n);
    c.out_bytes -= written;
    while (written > 0) {
      const size_t rest = c.out.front().size() - c.out_front_offset;
      if (written >= rest) {
        written -= rest;
        c.out.pop_front();
        c.out_front_offset = 0;
      } else {
        c.out_front_offset += written;
        written = 0;
      }
    }
  }
  return Status::Ok();
}

void TcpTransport::AfterOutputProgress(const std::shared_ptr<Conn>& c) {
  if (c->fd < 0) return;
  if (!c->active && c->out_bytes == 0 && c->phase == Conn::Phase::kOpen) {
    FinishClose(*c);
    return;
  }
  UpdateInterest(*c);
}

Status TcpTransport::SendOn(const std::shared_ptr<Conn>& c, std::string frame) {
  if (Status s = CheckFrameSize(frame.size()); !s.ok()) return s;
  if (!c->active || c->phase == Conn::Phase::kDone) return Status::Closed("send on a closed connection to " + c->peer);
  if (c->out_bytes + kHeaderBytes + frame.size() > options_.max_output_bytes) {
    Break(c,
          Status::Unavailable("connection to " + c->peer + ": more than " + std::to_string(options_.max_output_bytes) +
                              " bytes queued; the peer reads too slowly"),
          false);
    return Status::Closed("connection to " + c->peer + " broke: send queue full");
  }
  c->out_bytes += kHeaderBytes + frame.size();
  c->out.push_back(EncodeLength(static_cast<uint32_t>(frame.size())));
  if (!frame.empty()) c->out.push_back(std::move(frame));
  ++stats_.frames_sent;
  // Write from a posted task rather than here: frames sent in one callback leave in one
  // sendmsg, and a write error is reported from the loop, not inside the caller's Send.
  if (c->phase == Conn::Phase::kOpen && !(c->interest & EPOLLOUT) && !c->flush_posted) {
    c->flush_posted = true;
    std::weak_ptr<Conn> weak = c;
    loop_->Post([weak] {
      auto conn = weak.lock();
      if (!conn) return;
      conn->flush_posted = false;
      TcpTransport* self = conn->transport;
      if (self == nullptr || conn->phase != Conn::Phase::kOpen || conn->out_bytes == 0) return;
      if (Status s = self->FlushOutput(*conn); !s.ok()) {
        self->Break(conn, s, true);
        return;
      }
      self->AfterOutputProgress(conn);
    });
  }
  return Status::Ok();
}

// --- closing -----------------------------------------------------------------------

void TcpTransport::CloseConn(const std::shared_ptr<Conn>& c) {
  c->handlers.reset();
  c->on_open = nullptr;
  if (!c->active) return;
  c->active = false;
  if (c->fd < 0) return;
  if (c->out_bytes == 0) {
    FinishClose(*c);
    return;
  }
  // Keep the socket until the queued frames are written (or the connect fails), but no
  // longer than close_flush_timeout.
  std::weak_ptr<Conn> weak = c;
  c->flush_timer = loop_->RunAfter(options_.close_flush_timeout, [weak] {
    auto conn = weak.lock();
    if (!conn) return;
    conn->flush_timer = 0;
    if (conn->transport != nullptr) conn->transport->Teardown(*conn);
  });
  UpdateInterest(*c);
}

void TcpTransport::FinishClose(Conn& c) {
  // Linux answers close() on a socket with unread input with a reset instead of a FIN,
  // which can destroy data still in flight to the peer; read what is there first.
  char scratch[16u << 10];
  for (int i = 0; i < 64; ++i) {
    const ssize_t n = recv(c.fd, scratch, sizeof(scratch), MSG_DONTWAIT);
    if (n > 0 || (n < 0 && errno == EINTR)) continue;
    break;
  }
  Teardown(c);
}

void TcpTransport::Teardown(Conn& c) {
  if (c.fd >= 0) {
    loop_->RemoveFd(c.fd);
    close(c.fd);
    c.fd = -1;
  }
  if (c.connect_timer != 0) loop_->CancelTimer(c.connect_timer);
  if (c.flush_timer != 0) loop_->CancelTimer(c.flush_timer);
  c.connect_timer = c.flush_timer = 0;
  c.phase = Conn::Phase::kDone;
  c.interest = 0;
  c.out.clear();
  c.out_bytes = 0;
  c.out_front_offset = 0;
  c.transport = nullptr;
  // Last: this may release the final reference to `c` held by the transport; every
  // caller holds its own reference.
  conns_.erase(c.id);
}

void TcpTransport::Break(const std::shared_ptr<Conn>& c, const Status& why, bool notify_now) {
  if (c->phase == Conn::Phase::kConnecting) ++stats_.connects_failed;
  ++stats_.connections_broken;
  Teardown(*c);
  if (!c->active) return;
  if (notify_now) {
    Notify(c, why);
  } else {
    loop_->Post([c, why] { Notify(c, why); });
  }
}

void TcpTransport::Notify(const std::shared_ptr<Conn>& c, const Status& why) {
  if (!c->active) return;  // closed locally in the meantime
  c->active = false;
  std::shared_ptr<ConnectionHandlers> handlers = std::move(c->handlers);
  c->handlers.reset();
  c->on_open = nullptr;
  if (handlers && handlers->on_closed) handlers->on_closed(why);
}

void TcpTransport::SetHandlersOn(const std::shared_ptr<Conn>& c, ConnectionHandlers handlers) {
  if (!c->active) return;  // closed: no handler may run again
  c->handlers = std::make_shared<ConnectionHandlers>(std::move(handlers));
  if (c->fd < 0 || c->phase != Conn::Phase::kOpen) return;
  UpdateInterest(*c);
  // Frames already buffered are delivered from the loop, not inside SetHandlers, so the
  // caller (typically an accept callback) finishes setting up before on_frame runs.
  if (c->wants_frames() && c->in_end > c->in_begin) PostDispatch(c);
}

}  // namespace ksim::real
