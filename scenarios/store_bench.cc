#include "scenarios/store_bench.h"

#include <fmt/format.h>

#include <algorithm>
#include <memory>

#include "cluster/store/client/store_client.h"
#include "cluster/store/server/store_server.h"
#include "faults/fault.h"
#include "faults/nemesis.h"
#include "sim/host.h"
#include "sim/network.h"
#include "sim/world.h"

namespace ksim::scenarios {
namespace {

constexpr uint16_t kPort = 2379;

// A client process that keeps one write in flight at a time, forever.
class Writer final : public Process {
 public:
  Writer(Env& env, std::vector<Address> members, int keys, StoreBenchResult* result, std::vector<int64_t>* latencies)
      : env_(env), client_(env, std::move(members)), keys_(keys), result_(result), latencies_(latencies) {}
  void Start() override { Next(); }

 private:
  void Next() {
    const Nanos start = env_.clock->MonotonicNow();
    const std::string key = fmt::format("key{:05}", env_.random->Uniform(static_cast<uint64_t>(keys_)));
    client_.Put(key, fmt::format("value-{}", ++n_), [this, start](Status s, const store::CommandResponse&) {
      if (s.ok()) {
        ++result_->committed_writes;
        if (latencies_->size() < 1000000) latencies_->push_back((env_.clock->MonotonicNow() - start).count());
      } else {
        ++result_->failed_writes;
      }
      Next();
    });
  }
  Env& env_;
  storeclient::StoreClient client_;
  int keys_;
  StoreBenchResult* result_;
  std::vector<int64_t>* latencies_;
  uint64_t n_ = 0;
};

}  // namespace

StoreBenchResult RunStoreBench(const StoreBenchOptions& o) {
  sim::World world(o.seed);
  StoreBenchResult result;
  std::vector<int64_t> latencies;
  std::map<uint64_t, Address> addrs;
  std::vector<Address> members;
  std::vector<std::string> names;
  for (int i = 1; i <= o.members; ++i) {
    names.push_back(fmt::format("m{}", i));
    addrs[static_cast<uint64_t>(i)] = names.back() + ":" + std::to_string(kPort);
    members.push_back(addrs[static_cast<uint64_t>(i)]);
  }
  for (int i = 1; i <= o.members; ++i) {
    storeserver::StoreServerOptions so;
    so.id = static_cast<uint64_t>(i);
    so.members = addrs;
    so.port = kPort;
    so.snapshot_every_entries = 20000;
    so.auto_compact_retain_revisions = 10000;  // as a Kubernetes apiserver would compact
    world.AddHost(names[static_cast<size_t>(i - 1)])
        .AddProcess("store", [so](Env& env) { return std::make_unique<storeserver::StoreServer>(env, so); });
  }
  // Clients share a few hosts, as load generators would.
  const int client_hosts = std::max(1, o.clients / 25);
  for (int h = 0; h < client_hosts; ++h) world.AddHost(fmt::format("load{}", h));
  for (int c = 0; c < o.clients; ++c) {
    world.host(static_cast<uint32_t>(o.members + c % client_hosts))
        .AddProcess(fmt::format("writer{}", c), [members, &o, &result, &latencies](Env& env) {
          return std::make_unique<Writer>(env, members, o.keys, &result, &latencies);
        });
  }
  std::vector<std::string> applied;
  if (o.faults) {
    faults::NemesisOptions n;
    n.hosts = names;
    n.processes = {"store"};
    n.start = Seconds(1);
    n.end = o.duration > Seconds(2) ? o.duration - Seconds(1) : o.duration;
    n.disk_write_errors = false;
    Random r = world.ChildRandom("bench/nemesis");
    faults::ScheduleFaults(world, faults::GenerateSchedule(r, n), &applied);
  }
  world.RunUntil(o.duration);
  result.faults = applied.size();
  result.events = world.events_run();
  result.frames = world.network().stats().frames_delivered;
  result.trace_hash = world.trace().hash();
  for (int i = 1; i <= o.members; ++i) {
    if (auto* s = world.host(static_cast<uint32_t>(i - 1)).Find<storeserver::StoreServer>("store")) {
      result.elections = std::max<uint64_t>(result.elections, s->raft() ? s->raft()->term() : 0);
    }
  }
  if (!latencies.empty()) {
    std::sort(latencies.begin(), latencies.end());
    result.p50_latency_ms = static_cast<double>(latencies[latencies.size() / 2]) / 1e6;
    result.p99_latency_ms = static_cast<double>(latencies[latencies.size() * 99 / 100]) / 1e6;
  }
  return result;
}

}  // namespace ksim::scenarios
