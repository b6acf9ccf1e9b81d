#include "scenarios/demo_run.h"

#include <fmt/format.h>

#include <cassert>

#include "cluster/demo/gossip_counter.h"
#include "faults/fault.h"
#include "faults/nemesis.h"
#include "sim/host.h"
#include "sim/world.h"

namespace ksim::scenarios {
namespace {

constexpr uint16_t kPort = 7000;
constexpr const char* kProcess = "counter";

std::string NodeName(int i) { return fmt::format("n{}", i); }

// Peers of node i: everyone in small meshes; in large ones a ring of neighbours plus a few
// seed-chosen long links, so the mesh stays connected without N^2 connections.
std::map<std::string, Address> PeersOf(int i, int n, Random& random) {
  std::map<std::string, Address> peers;
  auto add = [&](int j) {
    if (j != i) peers[NodeName(j)] = NodeName(j) + ":" + std::to_string(kPort);
  };
  if (n <= 16) {
    for (int j = 0; j < n; ++j) add(j);
    return peers;
  }
  for (int d = 1; d <= 3; ++d) {
    add((i + d) % n);
    add((i - d + n) % n);
  }
  for (int k = 0; k < 2; ++k) add(static_cast<int>(random.Uniform(static_cast<uint64_t>(n))));
  return peers;
}

bool Converged(sim::World& world, int n) {
  std::map<std::string, uint64_t> reference;
  for (int i = 0; i < n; ++i) {
    auto* node = world.host(static_cast<uint32_t>(i)).Find<demo::GossipCounterNode>(kProcess);
    if (node == nullptr) return false;
    reference[NodeName(i)] = node->own_value();
  }
  for (int i = 0; i < n; ++i) {
    auto* node = world.host(static_cast<uint32_t>(i)).Find<demo::GossipCounterNode>(kProcess);
    if (node->Known() != reference) return false;
  }
  return true;
}

// A node that just came back (its Start ran, its first increment has not) must hold a
// value at least as large as any peer heard from it: announced implies durable.
void CheckRecovered(sim::World& world, int n, uint32_t host, std::vector<std::string>* violations) {
  auto* node = world.host(host).Find<demo::GossipCounterNode>(kProcess);
  if (node == nullptr) return;
  for (int i = 0; i < n; ++i) {
    auto* peer = world.host(static_cast<uint32_t>(i)).Find<demo::GossipCounterNode>(kProcess);
    if (peer == nullptr || peer == node) continue;
    const auto known = peer->Known();
    auto it = known.find(node->name());
    if (it != known.end() && it->second > node->own_value()) {
      violations->push_back(fmt::format("t={:.3f}s {} came back with {} but {} had heard {} from it",
                                        static_cast<double>(world.now().count()) / 1e9, node->name(),
                                        node->own_value(), peer->name(), it->second));
    }
  }
}

}  // namespace

DemoResult RunDemo(const DemoOptions& options) {
  assert(options.hosts >= 2 && options.duration >= Seconds(10));
  sim::WorldOptions world_options;
  world_options.echo_log = options.echo_log;
  sim::World world(options.seed, world_options, sim::NetworkOptions{});
  const int n = options.hosts;
  Random topology = world.ChildRandom("demo/topology");
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) {
    names.push_back(NodeName(i));
    sim::HostOptions host_options;
    host_options.disk.torn_writes = true;
    // Disk-like fsync latencies (2-10ms), so power failures catch writes in flight.
    host_options.disk.fsync_latency_min = Milliseconds(2);
    host_options.disk.fsync_latency_jitter = Milliseconds(8);
    sim::Host& host = world.AddHost(names.back(), host_options);
    demo::GossipCounterOptions node;
    node.name = names.back();
    node.listen_port = kPort;
    node.peers = PeersOf(i, n, topology);
    host.AddProcess(kProcess, [node](Env& env) { return std::make_unique<demo::GossipCounterNode>(env, node); });
  }

  // Timeline: faults in [2s, 60% of the run], heal at 60%, stop incrementing at 70%,
  // then the nodes must agree on every counter before the end.
  const Nanos heal_at = options.duration * 6 / 10;
  const Nanos quiesce_at = options.duration * 7 / 10;
  DemoResult result;
  if (options.faults) {
    faults::NemesisOptions nemesis;
    nemesis.hosts = names;
    nemesis.processes = {kProcess};
    nemesis.start = Seconds(2);
    nemesis.end = heal_at;
    Random fault_random = world.ChildRandom("demo/nemesis");
    faults::ScheduleFaults(world, faults::GenerateSchedule(fault_random, nemesis), &result.faults,
                           [&world, &result, n](const faults::Fault& f) {
                             if (f.kind != faults::FaultKind::kPowerOn && f.kind != faults::FaultKind::kRestartProcess) {
                               return;
                             }
                             const uint32_t host = world.FindHost(f.host)->id();
                             world.After(Milliseconds(1), [&world, &result, n, host] {
                               CheckRecovered(world, n, host, &result.recovery_violations);
                             });
                           });
  }
  world.At(heal_at, [&world, &result, n] {
    faults::HealAll(world);
    world.After(Milliseconds(1), [&world, &result, n] {
      for (int i = 0; i < n; ++i) CheckRecovered(world, n, static_cast<uint32_t>(i), &result.recovery_violations);
    });
    result.faults.push_back(fmt::format("t={:.3f}s heal-all", static_cast<double>(world.now().count()) / 1e9));
  });
  world.At(quiesce_at, [&world, n] {
    for (int i = 0; i < n; ++i) {
      if (auto* node = world.host(static_cast<uint32_t>(i)).Find<demo::GossipCounterNode>(kProcess)) {
        node->StopIncrementing();
      }
    }
  });
  world.RunUntil(quiesce_at);
  // Check convergence every 100ms of simulated time (checking costs O(hosts^2)); then run
  // out the clock so the trace covers the whole duration.
  const Nanos check_every = Milliseconds(100);
  for (Nanos t = quiesce_at + check_every; t <= options.duration; t += check_every) {
    world.RunUntil(t);
    if (Converged(world, n)) {
      result.converged = true;
      result.converged_at = world.now();
      break;
    }
  }
  world.RunUntil(options.duration);
  if (result.converged) result.converged = Converged(world, n);

  result.seed = options.seed;
  result.hosts = n;
  result.duration = options.duration;
  for (int i = 0; i < n; ++i) {
    sim::Host& host = world.host(static_cast<uint32_t>(i));
    result.disk_crashes += host.disk().stats().crashes;
    result.unsynced_ops_lost += host.disk().stats().ops_lost_at_crash;
    if (auto* node = host.Find<demo::GossipCounterNode>(kProcess)) {
      result.own_values[node->name()] = node->own_value();
      for (const std::string& v : node->violations()) result.violations.push_back(v);
    }
  }
  for (const std::string& v : result.recovery_violations) result.violations.push_back(v);
  result.events = world.events_run();
  result.network = world.network().stats();
  result.trace_hash = world.trace().hash();
  return result;
}

std::string FormatDemoSummary(const DemoResult& r) {
  std::string out;
  auto line = [&out](const std::string& s) { out += s + "\n"; };
  line(fmt::format("ksim demo: seed={} hosts={} duration={:.1f}s", r.seed, r.hosts,
                   static_cast<double>(r.duration.count()) / 1e9));
  line(fmt::format("faults: {} applied", r.faults.size()));
  const size_t shown = 40;
  for (size_t i = 0; i < r.faults.size() && i < shown; ++i) line("  " + r.faults[i]);
  if (r.faults.size() > shown) line(fmt::format("  ... {} more", r.faults.size() - shown));
  line(fmt::format("network: frames_delivered={} bytes={} connections_opened={} broken={} reset={} refused={} "
                   "retransmits={} duplicates_discarded={}",
                   r.network.frames_delivered, r.network.bytes_delivered, r.network.connections_opened,
                   r.network.connections_broken, r.network.connections_reset, r.network.connections_refused,
                   r.network.retransmits, r.network.duplicates_discarded));
  line(fmt::format("disks: power_failures={} unsynced_ops_lost={}", r.disk_crashes, r.unsynced_ops_lost));
  uint64_t total = 0;
  std::string values;
  size_t listed = 0;
  for (const auto& [node, v] : r.own_values) {
    total += v;
    if (listed++ < 16) values += fmt::format(" {}={}", node, v);
  }
  if (r.own_values.size() > 16) values += " ...";
  line(fmt::format("counters:{} total={}", values, total));
  line(fmt::format("check durability (no node heard more than was fsynced): {}",
                   r.violations.empty() ? "ok" : fmt::format("FAILED ({})", r.violations.size())));
  for (size_t i = 0; i < r.violations.size() && i < 10; ++i) line("  " + r.violations[i]);
  line(fmt::format("check convergence (all nodes agree after heal): {}",
                   r.converged ? fmt::format("ok at t={:.3f}s", static_cast<double>(r.converged_at.count()) / 1e9)
                               : "FAILED"));
  line(fmt::format("events={}", r.events));
  line(fmt::format("trace_hash={:016x}", r.trace_hash));
  return out;
}

}  // namespace ksim::scenarios
