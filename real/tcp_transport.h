// TcpTransport: ksim::Transport over TCP sockets on an EventLoop.
//
// Wire format: each frame is a 4-byte big-endian payload length followed by the payload.
// A peer announcing more than kMaxFrameBytes is treated as corrupt: its connection breaks
// with Corruption before any of that frame is buffered.
//
// Dead peers. TCP alone may take ~15 minutes to notice a peer that vanished. Every socket
// therefore gets, by default (see TcpTransportOptions):
//   SO_KEEPALIVE with TCP_KEEPIDLE 2 s, TCP_KEEPINTVL 1 s, TCP_KEEPCNT 3, and
//   TCP_USER_TIMEOUT 5 s,
// so an idle connection to a dead host breaks ~5 s after the peer was last heard from,
// and a connection with unacknowledged data breaks once data stays unacknowledged for
// 5 s. This matches the simulated network's connection_timeout (sim/network.h), so
// failure detection above the transport behaves alike in both worlds. Such a break is
// reported as Timeout, like the simulator's.
//
// Lifetimes. A Connection handle is a std::shared_ptr; its state lives in an internal
// object shared by the handle and, while its socket is open, the transport. Dropping the
// last handle closes the connection, exactly like calling Close() (as closing a socket
// would; the simulator does the same). After Close() or after the last handle is gone no
// handler runs again; the socket may linger inside the transport while queued output is
// flushed (bounded by close_flush_timeout). Epoll callbacks and timers find the state
// through weak references, so nothing runs against freed memory. Destroying the
// transport closes every socket at once without running any handler; handles that
// outlive it report is_open() == false and Send returns Closed.
//
// Not thread-safe: every call must be made on the loop's thread.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "cluster/env/time.h"
#include "cluster/env/transport.h"
#include "real/event_loop.h"

namespace ksim::real {

struct TcpTransportOptions {
  // The local address listeners bind to. "0.0.0.0" accepts on every interface.
  std::string bind_ip = "0.0.0.0";
  int listen_backlog = 128;

  // How long Connect may take before the attempt fails with Unavailable.
  Nanos connect_timeout = Seconds(3);

  // Dead-peer detection (see the file comment). The keepalive times are rounded to whole
  // seconds (the kernel's unit), at least 1. keepalive_idle <= 0 turns keepalive off and
  // user_timeout <= 0 leaves TCP_USER_TIMEOUT unset; interval/probes <= 0 keep the
  // kernel's defaults.
  Nanos keepalive_idle = Seconds(2);
  Nanos keepalive_interval = Seconds(1);
  int keepalive_probes = 3;
  Nanos user_timeout = Seconds(5);

  // How long a closed connection keeps trying to flush queued output before the socket
  // is closed anyway (pending bytes are then dropped).
  Nanos close_flush_timeout = Seconds(5);

  // Bound on bytes queued for sending on one connection. A peer that reads slower than
  // we send would otherwise grow memory without limit; exceeding it breaks the
  // connection (on_closed gets Unavailable) and Send returns Closed. Must exceed
  // kMaxFrameBytes + 4 so any single frame fits.
  size_t max_output_bytes = 64u << 20;
};

struct TcpTransportStats {
  uint64_t connects_started = 0;
  uint64_t connects_failed = 0;
  uint64_t connections_accepted = 0;
  uint64_t accept_errors = 0;
  uint64_t frames_sent = 0;      // queued by Send
  uint64_t frames_received = 0;  // delivered to on_frame
  uint64_t bytes_received = 0;
  uint64_t connections_broken = 0;  // on_closed-worthy breaks (reported or not)
};

class TcpTransport final : public Transport {
 public:
  using AcceptFn = std::function<void(std::shared_ptr<Connection>)>;

  // `advertise_host` is what LocalAddress reports: an IP or name other hosts can use to
  // reach this one (e.g. "127.0.0.1" or the host's netns address).
  // REQUIRES: `loop` outlives the transport.
  TcpTransport(EventLoop* loop, std::string advertise_host, TcpTransportOptions options = {});
  // Closes every listener and connection without running any handler.
  ~TcpTransport() override;
  TcpTransport(const TcpTransport&) = delete;
  TcpTransport& operator=(const TcpTransport&) = delete;

  // "<advertise_host>:<port>".
  Address LocalAddress(uint16_t port) const override;

  // Listens on bind_ip:port with SO_REUSEADDR (so a restarted daemon can rebind while old
  // connections sit in TIME_WAIT). AlreadyExists if the port is in use; IOError for
  // other socket failures. Port 0 lets the kernel choose; use the overload below to learn
  // which port it chose, since listeners are keyed by the port actually bound.
  Status Listen(uint16_t port, AcceptFn on_accept) override;

  // As Listen, and stores the port actually bound in *bound_port (equal to `port` unless
  // `port` is 0). StopListening takes that bound port.
  Status Listen(uint16_t port, AcceptFn on_accept, uint16_t* bound_port);

  // Closes the listener on `port` (the bound port). Accepted connections stay open.
  void StopListening(uint16_t port) override;

  // Non-blocking connect. `to` is "host:port" where host is an IPv4/IPv6 literal
  // ("[::1]" allowed) or a name. Names are resolved with getaddrinfo on the loop thread,
  // preferring IPv4; that call can block on DNS, so daemons should address each other
  // by IP or by names in /etc/hosts ("localhost" is resolved there). Only the first
  // address is tried. Exactly one of on_open() or handlers.on_closed(Unavailable) runs
  // later on the loop, unless the handle is closed or dropped first. Frames sent before
  // on_open are queued. Returns nullptr only if `to` is malformed.
  std::shared_ptr<Connection> Connect(const Address& to, ConnectionHandlers handlers,
                                      std::function<void()> on_open) override;

  const TcpTransportOptions& options() const { return options_; }
  const TcpTransportStats& stats() const { return stats_; }
  // Sockets currently open (including connections flushing after Close).
  size_t open_sockets() const { return conns_.size(); }

 private:
  class Handle;
  struct Conn;
  struct Listener {
    int fd = -1;
    std::shared_ptr<AcceptFn> on_accept;  // shared so the callback may stop its listener
    TimerId resume_timer = 0;             // set while paused after fd exhaustion
  };

  void ConfigureSocket(int fd) const;
  void OnListenerReady(uint16_t port);
  void PauseListener(uint16_t port);
  void Register(const std::shared_ptr<Conn>& c);
  void UpdateInterest(Conn& c);
  void OnConnEvents(const std::shared_ptr<Conn>& c, uint32_t events);
  void OnConnectDone(const std::shared_ptr<Conn>& c);
  void OnConnectTimeout(const std::shared_ptr<Conn>& c);
  void ReadInput(const std::shared_ptr<Conn>& c);
  void DispatchInput(const std::shared_ptr<Conn>& c);
  void PostDispatch(const std::shared_ptr<Conn>& c);
  // Writes queued output until done or EAGAIN. Returns non-OK if the socket failed.
  Status FlushOutput(Conn& c);
  void AfterOutputProgress(const std::shared_ptr<Conn>& c);
  // The connection broke: close the socket and report `why` through on_closed, either
  // now (inside a loop callback) or from a posted task (inside a user's call).
  void Break(const std::shared_ptr<Conn>& c, const Status& why, bool notify_now);
  // Closes the socket and forgets the connection; reports nothing.
  void Teardown(Conn& c);
  void FinishClose(Conn& c);

  // Called by Handle.
  Status SendOn(const std::shared_ptr<Conn>& c, std::string frame);
  void CloseConn(const std::shared_ptr<Conn>& c);
  void SetHandlersOn(const std::shared_ptr<Conn>& c, ConnectionHandlers handlers);

  static void Notify(const std::shared_ptr<Conn>& c, const Status& why);

  EventLoop* loop_;
  std::string advertise_host_;
  TcpTransportOptions options_;
  TcpTransportStats stats_;
  uint64_t next_conn_id_ = 1;
  std::map<uint16_t, Listener> listeners_;
  std::map<uint64_t, std::shared_ptr<Conn>> conns_;  // every connection with an open socket
};

}  // namespace ksim::real
