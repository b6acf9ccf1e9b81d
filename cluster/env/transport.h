// Transport: ordered, reliable byte-frame connections between processes, with TCP's
// semantics: frames sent on one connection arrive in order, at most once, complete; a
// connection can break, and frames in flight when it breaks may or may not have arrived.
// Frames carry serialized protobuf messages (see cluster/env/wire.h).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "cluster/env/status.h"

namespace ksim {

// "host:port". In the simulated world `host` is a host's name; on real hosts it is an
// IPv4 address or a name the resolver knows.
using Address = std::string;

// Splits "host:port". Returns InvalidArgument naming the address if it is malformed.
Status ParseAddress(std::string_view address, std::string* host, uint16_t* port);

// The largest frame a transport accepts. A peer that announces a larger frame is treated
// as corrupt and its connection is closed.
inline constexpr size_t kMaxFrameBytes = 16u << 20;

// What Connection::Send answers for a frame of `bytes`: OK, or InvalidArgument naming the
// size and the limit. Every Transport calls it, in every build, so a sender sees the same
// Status in the simulated world and over TCP.
Status CheckFrameSize(size_t bytes);

struct ConnectionHandlers {
  // Called once per received frame, in the order the peer sent them.
  std::function<void(std::string_view frame)> on_frame;
  // Called at most once, when the connection breaks or the peer closes it. Not called
  // after this side calls Close() itself.
  std::function<void(const Status& why)> on_closed;
};

class Connection {
 public:
  virtual ~Connection() = default;

  // Queues one frame for delivery after every frame sent before it on this connection.
  // Returns CheckFrameSize's InvalidArgument for a frame over kMaxFrameBytes (nothing is
  // sent; the connection stays open), else Closed if the connection is already closed or
  // broken (the frame is dropped).
  virtual Status Send(std::string frame) = 0;

  // Closes this side. Frames already queued are still delivered if the network allows,
  // then the peer sees on_closed. No handler of this side runs after Close returns.
  virtual void Close() = 0;

  virtual bool is_open() const = 0;

  // The address of the other side (for an accepted connection: the peer host with port 0).
  virtual const Address& peer() const = 0;

  // Replaces the handlers. For an accepted connection, call this inside the accept
  // callback; frames that arrive before handlers are set are held, not dropped.
  virtual void SetHandlers(ConnectionHandlers handlers) = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;

  // The address other processes use to reach this process's listener on `port`.
  virtual Address LocalAddress(uint16_t port) const = 0;

  // Accepts connections on `port`; each accepted connection is handed to on_accept on
  // the event loop. Returns AlreadyExists if the port is taken on this host.
  virtual Status Listen(uint16_t port, std::function<void(std::shared_ptr<Connection>)> on_accept) = 0;

  // Stops accepting on `port`. Connections already accepted stay open.
  virtual void StopListening(uint16_t port) = 0;

  // Starts connecting to `to`. Exactly one of on_open() or handlers.on_closed(error) runs
  // later on the event loop: Unavailable if nothing listens there or the host cannot be
  // reached within the connect timeout. Send may be called before on_open: frames queue.
  // Returns nullptr only if `to` is malformed.
  virtual std::shared_ptr<Connection> Connect(const Address& to, ConnectionHandlers handlers,
                                              std::function<void()> on_open) = 0;
};

}  // namespace ksim
