#include "sim/network.h"

#include <boost/graph/strong_components.hpp>

#include <algorithm>
#include <cassert>

#include "sim/ipv4.h"
#include "sim/trace.h"
#include "sim/world.h"

namespace ksim::sim {
namespace {

// The handle a process holds for one end of a connection. Dropping the last reference
// closes that end, as closing a socket would.
class SimConnection final : public Connection {
 public:
  SimConnection(Network* net, uint64_t id, int side, std::shared_ptr<HandlerBox> box, Address peer)
      : net_(net), id_(id), side_(side), box_(std::move(box)), peer_(std::move(peer)) {}
  ~SimConnection() override { Close(); }

  Status Send(std::string frame) override {
    // Refused in every build, exactly as TcpTransport refuses it (it used to be an assert).
    if (Status s = CheckFrameSize(frame.size()); !s.ok()) return s;
    return net_->Send(id_, side_, std::move(frame));
  }
  void Close() override {
    if (!box_->active) return;
    box_->active = false;
    box_->handlers = {};
    box_->on_open = nullptr;
    box_->held.clear();
    net_->Close(id_, side_);
  }
  bool is_open() const override { return box_->active && net_->IsOpen(id_, side_); }
  const Address& peer() const override { return peer_; }
  void SetHandlers(ConnectionHandlers handlers) override;

 private:
  Network* net_;
  uint64_t id_;
  int side_;
  std::shared_ptr<HandlerBox> box_;
  Address peer_;
};

void DeliverFrame(const std::shared_ptr<HandlerBox>& box, std::string data) {
  if (!box->active) return;
  if (!box->handlers.on_frame) {
    box->held.push_back(std::move(data));
    return;
  }
  auto keep = box;  // the handler may drop the connection handle
  keep->handlers.on_frame(data);
}

void SimConnection::SetHandlers(ConnectionHandlers handlers) {
  box_->handlers = std::move(handlers);
  if (!box_->active || !box_->handlers.on_frame) return;
  // Frames held before the handlers existed are delivered now, in order. Delivering
  // one may replace or clear the handlers; the rest stay held in that case.
  auto keep = box_;
  while (keep->active && keep->handlers.on_frame && !keep->held.empty()) {
    std::string data = std::move(keep->held.front());
    keep->held.pop_front();
    keep->handlers.on_frame(data);
  }
}

}  // namespace

Network::Network(World* world, Random random, const NetworkOptions& options)
    : world_(world), random_(std::move(random)), options_(options), route_random_(random_.Child("dataplane-routes")) {}

Network::~Network() = default;

// --- topology ---------------------------------------------------------------------

void Network::AddHost(uint32_t host) {
  assert(host == host_count_);
  ++host_count_;
}

void Network::EnsureGraph() const {
  if (graph_ && graph_hosts_ == host_count_) return;
  // Rebuilt lazily so that adding N hosts costs one O(N^2) build, not N of them.
  auto next = std::make_unique<Graph>(host_count_);
  for (uint32_t u = 0; u < host_count_; ++u) {
    for (uint32_t v = 0; v < host_count_; ++v) {
      if (u == v) continue;
      const bool old = u < graph_hosts_ && v < graph_hosts_;
      if (!old || boost::edge(u, v, *graph_).second) boost::add_edge(u, v, *next);
    }
  }
  graph_ = std::move(next);
  graph_hosts_ = host_count_;
}

bool Network::HasLink(uint32_t from, uint32_t to) const {
  if (from == to) return true;  // loopback never partitions
  EnsureGraph();
  return boost::edge(from, to, *graph_).second;
}

bool Network::Reachable(uint32_t a, uint32_t b) const {
  if (a == kNoHost || b == kNoHost) return false;
  if (!world_->host(a).is_up() || !world_->host(b).is_up()) return false;
  return HasLink(a, b) && HasLink(b, a);
}

void Network::RemoveLink(uint32_t from, uint32_t to) {
  if (from == to) return;
  EnsureGraph();
  boost::remove_edge(from, to, *graph_);
}

void Network::SetAllLinks(bool linked) {
  EnsureGraph();
  for (uint32_t u = 0; u < host_count_; ++u) {
    for (uint32_t v = 0; v < host_count_; ++v) {
      if (u == v) continue;
      if (linked) {
        if (!boost::edge(u, v, *graph_).second) boost::add_edge(u, v, *graph_);
      } else {
        boost::remove_edge(u, v, *graph_);
      }
    }
  }
}

void Network::MixFault(uint64_t code, uint64_t a, uint64_t b) {
  Trace& t = world_->trace();
  t.Mix(static_cast<uint64_t>(TraceTag::kFault));
  t.Mix(code);
  t.Mix(a);
  t.Mix(b);
}

void Network::Partition(const std::vector<std::vector<uint32_t>>& groups) {
  for (size_t i = 0; i < groups.size(); ++i) {
    for (size_t j = 0; j < groups.size(); ++j) {
      if (i == j) continue;
      for (uint32_t u : groups[i]) {
        for (uint32_t v : groups[j]) RemoveLink(u, v);
      }
    }
  }
  for (size_t i = 0; i < groups.size(); ++i) {
    for (uint32_t u : groups[i]) MixFault(1, i, u);
  }
  Reevaluate();
}

void Network::Isolate(uint32_t host) {
  for (uint32_t v = 0; v < host_count_; ++v) {
    RemoveLink(host, v);
    RemoveLink(v, host);
  }
  MixFault(2, host);
  Reevaluate();
}

void Network::CutOneWay(const std::vector<uint32_t>& from, const std::vector<uint32_t>& to) {
  for (uint32_t u : from) {
    for (uint32_t v : to) {
      RemoveLink(u, v);
      MixFault(3, u, v);
    }
  }
  Reevaluate();
}

void Network::Bridge(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b, uint32_t bridge) {
  for (uint32_t u : a) {
    for (uint32_t v : b) {
      if (u == bridge || v == bridge) continue;
      RemoveLink(u, v);
      RemoveLink(v, u);
    }
  }
  MixFault(4, bridge, a.size() * 1000 + b.size());
  Reevaluate();
}

void Network::Heal() {
  SetAllLinks(true);
  MixFault(5);
  Reevaluate();
}

std::vector<std::vector<uint32_t>> Network::Components() const {
  EnsureGraph();
  std::vector<int> component(host_count_, 0);
  boost::strong_components(*graph_, boost::make_iterator_property_map(
                                        component.begin(), boost::get(boost::vertex_index, *graph_)));
  std::map<int, std::vector<uint32_t>> by_component;
  for (uint32_t h = 0; h < host_count_; ++h) {
    if (world_->host(h).is_up()) by_component[component[h]].push_back(h);
  }
  std::vector<std::vector<uint32_t>> out;
  for (auto& [id, members] : by_component) out.push_back(std::move(members));
  std::sort(out.begin(), out.end());
  return out;
}

void Network::SetLinkParams(uint32_t a, uint32_t b, const LinkParams& params) {
  link_params_[{a, b}] = params;
  link_params_[{b, a}] = params;
}

const LinkParams& Network::ParamsFor(uint32_t from, uint32_t to) const {
  if (link_params_.empty()) return options_.default_link;
  auto it = link_params_.find({from, to});
  return it == link_params_.end() ? options_.default_link : it->second;
}

Nanos Network::SampleLatency(const LinkParams& p) {
  const int64_t jitter = p.latency_jitter.count();
  return p.latency_min + Nanos(jitter > 0 ? random_.Range(0, jitter) : 0);
}

// --- host power -------------------------------------------------------------------

void Network::OnHostDown(uint32_t host) {
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    it = it->first.first == host ? listeners_.erase(it) : std::next(it);
  }
  for (auto& slot : conns_) {
    if (!slot) continue;
    Conn& c = *slot;
    for (End& e : c.end) {
      if (e.host == host && e.state == End::kOpen) {
        e.state = End::kGone;
        if (e.box) e.box->active = false;
      }
    }
    // A half-made connection to the dead host can never be accepted now.
    if (!c.established && c.end[1].host == host) c.end[1].state = End::kGone;
  }
  for (uint64_t id = 1; id <= conns_.size(); ++id) MaybeErase(id);
  Reevaluate();
}

void Network::OnHostUp(uint32_t host) { Reevaluate(); }

// --- endpoints --------------------------------------------------------------------

Status Network::Listen(const ProcessTokenPtr& token, uint16_t port, AcceptFn on_accept) {
  const uint32_t host = token->host->id();
  auto key = std::make_pair(host, port);
  if (listeners_.count(key)) {
    return Status::AlreadyExists("listen on " + token->host->name() + ":" + std::to_string(port) +
                                 ": port in use");
  }
  listeners_[key] = Listener{token, std::make_shared<AcceptFn>(std::move(on_accept))};
  return Status::Ok();
}

void Network::StopListening(uint32_t host, uint16_t port, const ProcessTokenPtr& token) {
  auto it = listeners_.find({host, port});
  if (it != listeners_.end() && it->second.token == token) listeners_.erase(it);
}

Network::Conn* Network::Find(uint64_t id) {
  return id >= 1 && id <= conns_.size() ? conns_[id - 1].get() : nullptr;
}

// --- addresses --------------------------------------------------------------------

Status Network::AddAlias(const std::string& ip, uint32_t host) {
  uint32_t parsed = 0;
  if (!ParseIpv4(ip, &parsed)) return Status::InvalidArgument("alias '" + ip.substr(0, 64) + "': not an IPv4 address");
  if (host >= host_count_) return Status::InvalidArgument("alias " + ip + ": no host " + std::to_string(host));
  auto [it, added] = aliases_.emplace(ip, host);
  if (!added && it->second != host) {
    return Status::AlreadyExists("alias " + ip + ": address in use by host " + world_->host(it->second).name());
  }
  return Status::Ok();
}

void Network::RemoveAlias(const std::string& ip) {
  auto it = aliases_.find(ip);
  if (it != aliases_.end()) aliases_.erase(it);
}

std::vector<std::string> Network::AliasesOf(uint32_t host) const {
  std::vector<std::string> out;
  for (const auto& [ip, h] : aliases_) {
    if (h == host) out.push_back(ip);
  }
  return out;
}

std::string Network::AddressOf(uint32_t host) const {
  const SimContainerRuntime& runtime = world_->host(host).runtime();
  for (const auto& [ip, h] : aliases_) {
    if (h == host && !runtime.OwnsIp(ip)) return ip;
  }
  return world_->host(host).name();
}

uint32_t Network::Resolve(std::string_view name) const {
  auto it = aliases_.find(name);
  if (it != aliases_.end()) return it->second;
  Host* host = world_->FindHost(name);
  return host ? host->id() : kNoHost;
}

// --- endpoints --------------------------------------------------------------------

std::shared_ptr<Connection> Network::Connect(const ProcessTokenPtr& token, const std::string& name, uint16_t port,
                                             const Address& to, ConnectionHandlers handlers,
                                             std::function<void()> on_open) {
  // What the client host's service rules (kube-proxy's NAT) do to the destination.
  SimDataplane& dp = token->host->dataplane();  // Route keeps ClientIP affinity state
  const uint32_t named = Resolve(name);
  const bool node_address = named != kNoHost && !world_->host(named).runtime().OwnsIp(name);
  if (!dp.rules().empty()) {
    bool matched = false;
    bool sticky = false;
    for (const ServiceRule& r : dp.rules()) {
      const bool hit = (!r.cluster_ip.empty() && r.cluster_ip == name && r.port == port) ||
                       (node_address && r.node_port != 0 && r.node_port == port);
      matched = matched || hit;
      sticky = sticky || (hit && r.session_affinity == "ClientIP");
    }
    if (matched) {
      // The source address matters only to ClientIP affinity; finding it scans aliases.
      const std::string client_ip = sticky ? AddressOf(token->host->id()) : std::string();
      const std::optional<ServiceEndpoint> ep = dp.Route(name, port, client_ip, world_->now(), route_random_);
      if (!ep) {
        return StartConnect(token, kNoHost, "", port, to, std::move(handlers), std::move(on_open),
                            Status::Unavailable("connect " + to + ": connection refused (no ready endpoint)"));
      }
      return StartConnect(token, Resolve(ep->ip), ep->ip, ep->port, to, std::move(handlers), std::move(on_open),
                          Status::Unavailable("connect " + to + " (endpoint " + ep->ip + "): no route to host"));
    }
  }
  // A node address and a pod's hostPort: the node's portmap rule sends it to the pod.
  if (node_address) {
    if (auto target = world_->host(named).runtime().HostPortTarget(name, port)) {
      return StartConnect(token, named, target->first, target->second, to, std::move(handlers), std::move(on_open),
                          Status::Unavailable("connect " + to + ": unknown host"));
    }
  }
  return StartConnect(token, named, name, port, to, std::move(handlers), std::move(on_open),
                      Status::Unavailable("connect " + to + ": unknown host"));
}

std::shared_ptr<Connection> Network::StartConnect(const ProcessTokenPtr& token, uint32_t to_host,
                                                  const std::string& dest, uint16_t port, const Address& to,
                                                  ConnectionHandlers handlers, std::function<void()> on_open,
                                                  const Status& unresolved) {
  const uint64_t id = next_conn_id_++;
  conns_.push_back(std::make_unique<Conn>());
  ++live_conns_;
  Conn& c = *conns_.back();
  c.id = id;
  c.port = port;
  c.dest = dest;
  c.end[0].token = token;
  c.end[0].host = token->host->id();
  c.end[0].state = End::kOpen;
  c.end[0].box = std::make_shared<HandlerBox>();
  c.end[0].box->handlers = std::move(handlers);
  c.end[0].box->on_open = std::move(on_open);
  c.end[1].host = to_host;
  c.end[1].state = End::kClosed;  // until accepted
  c.connect_deadline_ns = world_->now().count() + options_.connect_timeout.count();
  auto handle = std::make_shared<SimConnection>(this, id, 0, c.end[0].box, to);
  if (to_host == kNoHost) {
    FailConnect(id, unresolved, Nanos(0));
  } else {
    AttemptSyn(id);
  }
  return handle;
}

void Network::FailConnect(uint64_t id, Status why, Nanos delay) {
  world_->After(delay, [this, id, why] {
    Conn* c = Find(id);
    if (c == nullptr || c->end[0].state != End::kOpen) return;
    NotifyClosed(c->end[0], why);
    MaybeErase(id);
  });
}

void Network::AttemptSyn(uint64_t id) {
  Conn* c = Find(id);
  if (c == nullptr || c->end[0].state != End::kOpen) return;
  const int64_t now = world_->now().count();
  if (now >= c->connect_deadline_ns) {
    ++stats_.connect_timeouts;
    FailConnect(id, Status::Unavailable("connect to " + world_->host(c->end[1].host).name() + ":" +
                                        std::to_string(c->port) + ": timed out"),
                Nanos(0));
    return;
  }
  if (!Reachable(c->end[0].host, c->end[1].host)) {
    const Nanos retry = std::min(options_.syn_retry, Nanos(c->connect_deadline_ns - now));
    world_->After(retry, [this, id] { AttemptSyn(id); });
    return;
  }
  world_->After(SampleLatency(ParamsFor(c->end[0].host, c->end[1].host)), [this, id] { ArriveSyn(id); });
}

void Network::ArriveSyn(uint64_t id) {
  Conn* c = Find(id);
  if (c == nullptr || c->end[0].state != End::kOpen) return;
  const uint32_t server = c->end[1].host;
  if (!Reachable(c->end[0].host, server)) {  // cut while the SYN was in flight: retransmit
    world_->After(options_.syn_retry, [this, id] { AttemptSyn(id); });
    return;
  }
  const Nanos back = SampleLatency(ParamsFor(server, c->end[0].host));
  // A pod IP's listeners are its running containers; anything else is the host's processes.
  std::shared_ptr<AcceptFn> on_accept;
  ProcessTokenPtr token;
  SimContainerRuntime& runtime = world_->host(server).runtime();
  if (runtime.OwnsIp(c->dest)) {
    if (AcceptFn fn = runtime.AcceptFor(c->dest, c->port)) {
      on_accept = std::make_shared<AcceptFn>(std::move(fn));
      token = runtime.token();
    }
  } else if (auto it = listeners_.find({server, c->port}); it != listeners_.end() && it->second.token->alive) {
    on_accept = it->second.on_accept;
    token = it->second.token;
  }
  if (!on_accept) {
    ++stats_.connections_refused;
    const std::string where = c->dest.empty() ? world_->host(server).name() : c->dest;
    FailConnect(id, Status::Unavailable("connect to " + where + ":" + std::to_string(c->port) + ": connection refused"),
                back);
    return;
  }
  ++stats_.connections_opened;
  world_->trace().Mix(static_cast<uint64_t>(TraceTag::kConnectionOpened) ^ (id << 8));
  c->established = true;
  c->end[1].token = token;
  c->end[1].state = End::kOpen;
  c->end[1].box = std::make_shared<HandlerBox>();
  auto handle = std::make_shared<SimConnection>(this, id, 1, c->end[1].box,
                                                world_->host(c->end[0].host).name() + ":0");
  world_->After(back, [this, id] { ArriveSynAck(id); });
  token->host->RunInProcess(token, [on_accept, handle]() mutable { (*on_accept)(std::move(handle)); });
}

void Network::ArriveSynAck(uint64_t id) {
  Conn* c = Find(id);
  if (c == nullptr || c->end[0].state != End::kOpen) return;
  c->client_open = true;
  FlushWaiting(*c, 0);
  auto box = c->end[0].box;
  ProcessTokenPtr token = c->end[0].token;
  token->host->RunInProcess(token, [box] {
    if (!box->active || !box->on_open) return;
    auto open = std::move(box->on_open);
    box->on_open = nullptr;
    open();
  });
}

Status Network::Send(uint64_t id, int side, std::string frame) {
  Conn* c = Find(id);
  if (c == nullptr || c->end[side].state != End::kOpen) {
    return Status::Closed("send on a closed connection");
  }
  ++stats_.frames_sent;
  Segment segment{std::move(frame), false};
  if (side == 0 && !c->client_open) {
    c->dir[0].waiting.push_back(std::move(segment));
    return Status::Ok();
  }
  Transmit(*c, side, std::move(segment));
  return Status::Ok();
}

void Network::Transmit(Conn& c, int d, Segment segment) {
  Direction& dir = c.dir[d];
  const uint32_t from = c.end[d].host;
  const uint32_t to = c.end[1 - d].host;
  if (!dir.waiting.empty() || !Reachable(from, to)) {
    dir.waiting.push_back(std::move(segment));
    ReevaluateConn(c);
    return;
  }
  if (dir.doomed) return;  // waiting for the break; the receiver would never see it
  const LinkParams& p = ParamsFor(from, to);
  Nanos delay = SampleLatency(p);
  if (p.loss > 0) {
    Nanos rto = options_.retransmit_timeout;
    int losses = 0;
    while (random_.Bernoulli(p.loss)) {
      ++stats_.retransmits;
      if (++losses > options_.max_retransmits) {
        dir.doomed = true;
        const uint64_t id = c.id;
        world_->After(delay, [this, id] { Break(id, Status::Timeout("too many retransmissions")); });
        return;
      }
      delay += rto;
      rto *= 2;
    }
  }
  if (p.reorder > 0 && random_.Bernoulli(p.reorder)) {
    delay += Nanos(random_.Range(0, p.reorder_max.count()));
  }
  if (p.duplicate > 0 && random_.Bernoulli(p.duplicate)) {
    ++stats_.duplicates_discarded;  // TCP's sequence numbers drop the copy
    world_->trace().Mix(static_cast<uint64_t>(TraceTag::kFrameDuplicate) ^ (c.id << 8));
  }
  const int64_t arrival = std::max(world_->now().count() + delay.count(), dir.last_arrival_ns);
  dir.last_arrival_ns = arrival;
  dir.in_flight.push_back(std::move(segment));
  // Two words, so std::function keeps the closure inline: no allocation per frame.
  const uint64_t key = (c.id << 1) | static_cast<uint64_t>(d);
  world_->At(Nanos(arrival), [this, key] { Arrive(key >> 1, static_cast<int>(key & 1)); });
}

void Network::Arrive(uint64_t id, int d) {
  Conn* c = Find(id);
  if (c == nullptr || c->dir[d].in_flight.empty()) return;
  Segment segment = std::move(c->dir[d].in_flight.front());
  c->dir[d].in_flight.pop_front();
  End& receiver = c->end[1 - d];
  Trace& trace = world_->trace();
  trace.Mix(static_cast<uint64_t>(TraceTag::kFrameDelivered) ^ (id << 8) ^ static_cast<uint64_t>(d));
  trace.MixBytes(segment.data);
  if (receiver.state != End::kOpen) {
    ++stats_.frames_dropped;
    if (!segment.fin && c->end[d].state == End::kOpen) ResetSender(*c, d);
    return;
  }
  if (segment.fin) {
    NotifyClosed(receiver, Status::Closed("peer closed the connection"));
    MaybeErase(id);
    return;
  }
  ++stats_.frames_delivered;
  stats_.bytes_delivered += segment.data.size();
  auto box = receiver.box;
  const ProcessTokenPtr& token = receiver.token;
  if (token->alive && !token->host->is_paused()) {
    DeliverFrame(box, std::move(segment.data));  // the common case, without a closure
  } else {
    token->host->RunInProcess(token, [box, data = std::move(segment.data)]() mutable {
      DeliverFrame(box, std::move(data));
    });
  }
}

void Network::ResetSender(Conn& c, int d) {
  // The receiver forgot the connection: its kernel answers with RST.
  const uint64_t id = c.id;
  const Nanos back = SampleLatency(ParamsFor(c.end[1 - d].host, c.end[d].host));
  world_->After(back, [this, id, d] {
    Conn* conn = Find(id);
    if (conn == nullptr || conn->end[d].state != End::kOpen) return;
    ++stats_.connections_reset;
    NotifyClosed(conn->end[d], Status::Closed("connection reset by peer"));
    MaybeErase(id);
  });
}

void Network::NotifyClosed(End& end, const Status& why) {
  end.state = End::kClosed;
  auto box = end.box;
  if (!box) return;
  world_->trace().Mix(static_cast<uint64_t>(TraceTag::kConnectionClosed) ^ static_cast<uint64_t>(why.code()));
  end.token->host->RunInProcess(end.token, [box, why] {
    if (!box->active) return;
    box->active = false;
    box->held.clear();
    auto handlers = std::move(box->handlers);
    box->handlers = {};
    box->on_open = nullptr;
    if (handlers.on_closed) handlers.on_closed(why);
  });
}

void Network::Close(uint64_t id, int side) {
  Conn* c = Find(id);
  if (c == nullptr || c->end[side].state != End::kOpen) return;
  c->end[side].state = End::kClosed;
  if (c->end[1 - side].state == End::kOpen) {
    if (side == 0 && !c->client_open) {
      c->dir[0].waiting.push_back(Segment{{}, true});
    } else {
      Transmit(*c, side, Segment{{}, true});
    }
  }
  MaybeErase(id);
}

bool Network::IsOpen(uint64_t id, int side) const {
  const Conn* c = id >= 1 && id <= conns_.size() ? conns_[id - 1].get() : nullptr;
  return c != nullptr && c->end[side].state == End::kOpen;
}

void Network::MaybeErase(uint64_t id) {
  Conn* c = Find(id);
  if (c == nullptr) return;
  if (c->end[0].state == End::kOpen || c->end[1].state == End::kOpen) return;
  if (c->break_check) world_->Cancel(c->break_check);
  conns_[id - 1].reset();
  --live_conns_;
}

void Network::Break(uint64_t id, const Status& why) {
  Conn* c = Find(id);
  if (c == nullptr) return;
  ++stats_.connections_broken;
  for (End& e : c->end) {
    if (e.state == End::kOpen) NotifyClosed(e, why);
  }
  c->dir[0] = Direction{};
  c->dir[1] = Direction{};
  MaybeErase(id);
}

void Network::FlushWaiting(Conn& c, int d) {
  std::deque<Segment> waiting = std::move(c.dir[d].waiting);
  c.dir[d].waiting.clear();
  for (Segment& s : waiting) Transmit(c, d, std::move(s));
}

void Network::ReevaluateConn(Conn& c) {
  if (!c.established) return;  // the SYN retry loop handles connections being made
  const bool reachable = Reachable(c.end[0].host, c.end[1].host);
  const bool gone = c.end[0].state == End::kGone || c.end[1].state == End::kGone;
  if (reachable && gone) {
    // The host came back and its kernel forgot the connection: the next segment (or
    // keepalive) is answered with a reset.
    for (int d = 0; d < 2; ++d) {
      if (c.end[d].state == End::kOpen) ResetSender(c, d);
    }
    return;
  }
  if (reachable) {
    if (c.break_check) {
      world_->Cancel(c.break_check);
      c.break_check = 0;
    }
    for (int d = 0; d < 2; ++d) {
      if (!c.dir[d].waiting.empty() && (d == 1 || c.client_open)) FlushWaiting(c, d);
    }
    return;
  }
  if (c.break_check == 0) {
    const uint64_t id = c.id;
    c.break_check = world_->After(options_.connection_timeout, [this, id] {
      Conn* conn = Find(id);
      if (conn == nullptr) return;
      conn->break_check = 0;
      if (Reachable(conn->end[0].host, conn->end[1].host)) {
        ReevaluateConn(*conn);
      } else {
        Break(id, Status::Timeout("peer unreachable for the connection timeout"));
      }
    });
  }
}

void Network::Reevaluate() {
  // In id order; a connection created meanwhile is evaluated when it is used.
  const uint64_t last = conns_.size();
  for (uint64_t id = 1; id <= last; ++id) {
    if (Conn* c = Find(id)) ReevaluateConn(*c);
  }
}

}  // namespace ksim::sim
