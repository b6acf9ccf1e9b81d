// Simulated network throughput: 1,000 hosts, one process each, every process listening on
// a port and connected to a few peers; over every established connection a fixed window
// of small frames (plain 32-byte strings) bounces back and forth forever. Setup runs the
// world until every connection is open; only the steady-state exchange is timed.
// items/s = frames delivered (NetworkStats::frames_delivered) per wall second, one core.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cluster/env/env.h"
#include "cluster/env/process.h"
#include "cluster/env/transport.h"
#include "sim/host.h"
#include "sim/network.h"
#include "sim/world.h"

namespace ksim::sim {
namespace {

constexpr uint16_t kPort = 7000;
constexpr size_t kPayloadBytes = 32;

struct MeshCounters {
  uint64_t opened = 0;  // client ends that saw on_open
  uint64_t closed = 0;  // failed listens or connects, and ends that saw on_closed: must stay 0
};

// Echoes every frame it receives on any connection, accepted or initiated; on each
// connection it initiates, it starts `window` frames circulating.
class PingPongProcess final : public Process {
 public:
  PingPongProcess(Env& env, std::vector<Address> peers, int window, MeshCounters* counters)
      : env_(env), peers_(std::move(peers)), window_(window), counters_(counters) {}

  void Start() override {
    Status s = env_.transport->Listen(kPort, [this](std::shared_ptr<Connection> conn) {
      Connection* raw = conn.get();
      conn->SetHandlers(Handlers(raw));
      accepted_.push_back(std::move(conn));
    });
    if (!s.ok()) ++counters_->closed;
    for (const Address& peer : peers_) {
      MeshCounters* counters = counters_;
      std::shared_ptr<Connection> conn =
          env_.transport->Connect(peer, ConnectionHandlers{}, [counters] { ++counters->opened; });
      if (conn == nullptr) {
        ++counters_->closed;
        continue;
      }
      Connection* raw = conn.get();
      conn->SetHandlers(Handlers(raw));
      // Frames sent before the connection opens are queued and go out with the SYN-ACK.
      for (int i = 0; i < window_; ++i) {
        (void)raw->Send(std::string(kPayloadBytes, static_cast<char>('a' + i % 26)));
      }
      initiated_.push_back(std::move(conn));
    }
  }

 private:
  ConnectionHandlers Handlers(Connection* raw) {
    ConnectionHandlers h;
    h.on_frame = [raw](std::string_view frame) { (void)raw->Send(std::string(frame)); };
    h.on_closed = [counters = counters_](const Status&) { ++counters->closed; };
    return h;
  }

  Env& env_;
  std::vector<Address> peers_;
  int window_;
  MeshCounters* counters_;
  std::vector<std::shared_ptr<Connection>> accepted_;
  std::vector<std::shared_ptr<Connection>> initiated_;
};

std::string HostName(int i) { return "h" + std::to_string(i); }

struct Mesh {
  std::unique_ptr<World> world;
  MeshCounters counters;
  uint64_t connections = 0;
};

// hosts x peers_per_host connections; host i connects to i+1 .. i+peers_per_host (mod n),
// so every host has peers_per_host outgoing and peers_per_host incoming connections.
bool BuildMesh(Mesh& mesh, int hosts, int peers_per_host, int window, std::string* error) {
  mesh.world = std::make_unique<World>(1);
  World& world = *mesh.world;
  for (int i = 0; i < hosts; ++i) {
    std::vector<Address> peers;
    for (int d = 1; d <= peers_per_host; ++d) peers.push_back(HostName((i + d) % hosts) + ":" + std::to_string(kPort));
    MeshCounters* counters = &mesh.counters;
    world.AddHost(HostName(i)).AddProcess("pingpong", [peers, window, counters](Env& env) {
      return std::make_unique<PingPongProcess>(env, peers, window, counters);
    });
  }
  mesh.connections = static_cast<uint64_t>(hosts) * static_cast<uint64_t>(peers_per_host);
  // Run until every client end saw on_open (one round trip of ~0.3 ms), then one more
  // simulated millisecond so every window is circulating.
  const NetworkStats& stats = world.network().stats();
  bool ok = world.RunUntilCondition([&] { return mesh.counters.opened == mesh.connections; }, Seconds(10));
  world.RunFor(Milliseconds(1));
  ok = ok && stats.connections_opened == mesh.connections;
  if (!ok || mesh.counters.closed != 0 || world.network().open_connections() != mesh.connections) {
    *error = "mesh did not come up: opened=" + std::to_string(mesh.counters.opened) +
             " closed=" + std::to_string(mesh.counters.closed) +
             " open=" + std::to_string(world.network().open_connections());
    return false;
  }
  return true;
}

void BM_Network_PingPong(benchmark::State& state) {
  const int hosts = static_cast<int>(state.range(0));
  const int peers = static_cast<int>(state.range(1));
  const int window = static_cast<int>(state.range(2));
  Mesh mesh;
  std::string error;
  if (!BuildMesh(mesh, hosts, peers, window, &error)) {
    state.SkipWithError(error.c_str());
    return;
  }
  World& world = *mesh.world;
  const NetworkStats& stats = world.network().stats();
  const uint64_t frames_before = stats.frames_delivered;
  const uint64_t events_before = world.events_run();
  const Nanos sim_before = world.now();
  for (auto _ : state) world.RunFor(Milliseconds(1));
  const uint64_t frames = stats.frames_delivered - frames_before;
  const uint64_t events = world.events_run() - events_before;
  if (mesh.counters.closed != 0) state.SkipWithError("a connection closed during the exchange");
  state.SetItemsProcessed(static_cast<int64_t>(frames));
  state.counters["connections"] = static_cast<double>(mesh.connections);
  state.counters["in_flight"] = static_cast<double>(mesh.connections * static_cast<uint64_t>(window));
  state.counters["events_per_s"] = benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
  state.counters["sim_s_per_wall_s"] = benchmark::Counter(
      static_cast<double>((world.now() - sim_before).count()) / 1e9, benchmark::Counter::kIsRate);
}
// Args: hosts, outgoing connections per host, frames circulating on each connection.
BENCHMARK(BM_Network_PingPong)
    ->ArgNames({"hosts", "peers", "window"})
    ->Args({1000, 4, 1})
    ->Args({1000, 4, 8})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace ksim::sim
