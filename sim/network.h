// Network: the simulated network between hosts.
//
// Topology is a Boost.Graph adjacency matrix over hosts: an edge u->v means packets from
// u reach v. Every host starts linked to every other; partitions remove edges (split
// into groups, isolate one host, one-way cuts, bridges) and Heal restores them all. A
// pair of hosts can exchange packets when both edges exist and both hosts are powered.
//
// Connections have TCP's semantics on top of that: frames arrive in order, once each.
// Loss costs a retransmission timeout (doubling per consecutive loss; too many and the
// connection breaks), reordering costs head-of-line delay, duplicates are discarded by
// the receiver. Frames sent while the path is cut wait to be retransmitted; if the path
// stays cut for `connection_timeout`, both ends see the connection break, as TCP's user
// timeout or keepalive would. A crashed process's kernel closes its sockets (the peer
// sees a close); a powered-off host closes nothing (the peer times out, or is reset when
// the host is back and has forgotten the connection).
#pragma once

#include <boost/graph/adjacency_matrix.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cluster/env/random.h"
#include "cluster/env/transport.h"
#include "sim/event_queue.h"
#include "sim/host.h"

namespace ksim::sim {

class World;

struct LinkParams {
  Nanos latency_min = Microseconds(100);
  Nanos latency_jitter = Microseconds(200);  // uniform extra delay in [0, jitter]
  double loss = 0.0;       // probability a segment is lost (and retransmitted)
  double duplicate = 0.0;  // probability a segment is duplicated (the receiver drops it)
  double reorder = 0.0;    // probability a segment is delayed by up to reorder_max
  Nanos reorder_max = Milliseconds(5);
};

struct NetworkOptions {
  LinkParams default_link;
  Nanos connect_timeout = Seconds(3);
  Nanos connection_timeout = Seconds(5);    // a path cut this long breaks the connection
  Nanos retransmit_timeout = Milliseconds(200);  // first RTO after a loss
  int max_retransmits = 8;                   // consecutive losses of one segment
  Nanos syn_retry = Seconds(1);
};

struct NetworkStats {
  uint64_t frames_sent = 0;
  uint64_t frames_delivered = 0;
  uint64_t bytes_delivered = 0;
  uint64_t frames_dropped = 0;  // arrived at a closed or forgotten end
  uint64_t retransmits = 0;
  uint64_t duplicates_discarded = 0;
  uint64_t connections_opened = 0;
  uint64_t connections_refused = 0;
  uint64_t connect_timeouts = 0;
  uint64_t connections_broken = 0;
  uint64_t connections_reset = 0;
};

// The handlers of one connection end, shared by the end and the handle the process
// holds. `active` turns false when the process closes or drops its handle, after which
// nothing of it is called.
struct HandlerBox {
  ConnectionHandlers handlers;
  std::function<void()> on_open;
  std::deque<std::string> held;  // frames that arrived before handlers were set
  bool active = true;
};

class Network {
 public:
  using AcceptFn = std::function<void(std::shared_ptr<Connection>)>;

  Network(World* world, Random random, const NetworkOptions& options);
  ~Network();

  NetworkOptions& options() { return options_; }
  const NetworkStats& stats() const { return stats_; }

  // --- topology (host ids are World host ids) ---
  void AddHost(uint32_t host);
  bool HasLink(uint32_t from, uint32_t to) const;
  // Both directions linked and both hosts powered on.
  bool Reachable(uint32_t a, uint32_t b) const;
  // Removes every link between hosts of different groups. Hosts in no group keep theirs.
  void Partition(const std::vector<std::vector<uint32_t>>& groups);
  // Removes every link to and from `host`.
  void Isolate(uint32_t host);
  // Removes the links from each of `from` to each of `to` (the reverse direction stays).
  void CutOneWay(const std::vector<uint32_t>& from, const std::vector<uint32_t>& to);
  // Splits `a` from `b`; `bridge` (in neither) keeps its links to both sides.
  void Bridge(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b, uint32_t bridge);
  // Restores every link.
  void Heal();
  // Groups of hosts that can all reach each other both ways (strong components of the
  // link graph restricted to powered hosts), each sorted, ordered by first member.
  std::vector<std::vector<uint32_t>> Components() const;
  // Overrides the link parameters between a and b (both directions).
  void SetLinkParams(uint32_t a, uint32_t b, const LinkParams& params);
  LinkParams& default_link() { return options_.default_link; }

  // --- host power (called by Host) ---
  void OnHostDown(uint32_t host);
  void OnHostUp(uint32_t host);

  // --- addresses ---
  // Makes the IPv4 address `ip` another name of `host` (a node IP; the runtime adds its
  // ready pod sandboxes' IPs). InvalidArgument if `ip` is not an IPv4 address,
  // AlreadyExists if another host holds it; adding an alias twice to one host is fine.
  Status AddAlias(const std::string& ip, uint32_t host);
  // Forgets an alias (no-op if unknown). Connections already made stay up.
  void RemoveAlias(const std::string& ip);
  // The host's aliases, in address-text order.
  std::vector<std::string> AliasesOf(uint32_t host) const;
  // The address a host's own processes connect from: its first alias that is not a pod
  // IP of its runtime, or its name when it has none (the source seen by ClientIP affinity).
  std::string AddressOf(uint32_t host) const;
  // The host a name (host name or alias) designates, or kNoHost.
  uint32_t Resolve(std::string_view name) const;

  // --- endpoints (called by a process's SimTransport) ---
  Status Listen(const ProcessTokenPtr& token, uint16_t port, AcceptFn on_accept);
  void StopListening(uint32_t host, uint16_t port, const ProcessTokenPtr& token);
  // Starts a connection from the token's host to `to` ("name:port", already parsed into
  // name and port). A ClusterIP:port, or a NodePort on any node address, goes through the
  // client host's dataplane to one ready endpoint (refused if none is ready). A pod IP's
  // listeners are its running containers (the host's runtime decides); a host name or
  // node IP reaches the processes listening on the host. An unknown name fails like an
  // unresolvable address.
  std::shared_ptr<Connection> Connect(const ProcessTokenPtr& token, const std::string& name, uint16_t port,
                                      const Address& to, ConnectionHandlers handlers,
                                      std::function<void()> on_open);
  Status Send(uint64_t conn, int side, std::string frame);
  void Close(uint64_t conn, int side);
  bool IsOpen(uint64_t conn, int side) const;
  size_t open_connections() const { return live_conns_; }

  static constexpr uint32_t kNoHost = UINT32_MAX;

 private:
  using Graph = boost::adjacency_matrix<boost::directedS>;
  struct Segment {
    std::string data;
    bool fin = false;
  };
  struct End {
    ProcessTokenPtr token;
    uint32_t host = kNoHost;
    std::shared_ptr<HandlerBox> box;
    enum State { kOpen, kClosed, kGone } state = kClosed;
  };
  struct Direction {  // segments flowing from end[d] to end[1-d]
    std::deque<Segment> in_flight;  // scheduled for delivery, in order
    std::deque<Segment> waiting;    // not yet transmitted: path cut or not yet open
    int64_t last_arrival_ns = 0;
    // A segment ran out of retransmissions: nothing after it may arrive (TCP delivers in
    // order), and the connection breaks when the sender gives up.
    bool doomed = false;
  };
  struct Conn {
    uint64_t id = 0;
    End end[2];  // 0: the side that connected, 1: the side that accepted
    Direction dir[2];
    bool established = false;       // the server accepted
    bool client_open = false;        // the client saw the SYN-ACK
    uint16_t port = 0;
    std::string dest;  // the name or address connected to (a pod IP selects its container)
    int64_t connect_deadline_ns = 0;
    EventId break_check = 0;
  };
  struct Listener {
    ProcessTokenPtr token;
    std::shared_ptr<AcceptFn> on_accept;
  };

  void EnsureGraph() const;
  void SetAllLinks(bool linked);
  void RemoveLink(uint32_t from, uint32_t to);
  void MixFault(uint64_t code, uint64_t a = 0, uint64_t b = 0);
  const LinkParams& ParamsFor(uint32_t from, uint32_t to) const;
  Nanos SampleLatency(const LinkParams& p);

  Conn* Find(uint64_t id);
  std::shared_ptr<Connection> StartConnect(const ProcessTokenPtr& token, uint32_t to_host, const std::string& dest,
                                           uint16_t port, const Address& to, ConnectionHandlers handlers,
                                           std::function<void()> on_open, const Status& unresolved);
  void AttemptSyn(uint64_t id);
  void ArriveSyn(uint64_t id);
  void ArriveSynAck(uint64_t id);
  void FailConnect(uint64_t id, Status why, Nanos delay);
  void Transmit(Conn& c, int d, Segment segment);
  void Arrive(uint64_t id, int d);
  void ResetSender(Conn& c, int d);
  void Break(uint64_t id, const Status& why);
  void NotifyClosed(End& end, const Status& why);
  void MaybeErase(uint64_t id);
  void Reevaluate();
  void ReevaluateConn(Conn& c);
  void FlushWaiting(Conn& c, int d);

  World* world_;
  Random random_;
  NetworkOptions options_;
  NetworkStats stats_;
  uint32_t host_count_ = 0;
  mutable std::unique_ptr<Graph> graph_;
  mutable uint32_t graph_hosts_ = 0;
  std::map<std::pair<uint32_t, uint32_t>, LinkParams> link_params_;
  std::map<std::pair<uint32_t, uint16_t>, Listener> listeners_;
  std::map<std::string, uint32_t, std::less<>> aliases_;  // IPv4 text -> host
  Random route_random_;  // the dataplanes' endpoint choices
  // Indexed by id - 1 (ids are issued in order and never reused); null once erased. A
  // vector rather than a map: every frame arrival looks its connection up.
  std::vector<std::unique_ptr<Conn>> conns_;
  size_t live_conns_ = 0;
  uint64_t next_conn_id_ = 1;
};

}  // namespace ksim::sim
