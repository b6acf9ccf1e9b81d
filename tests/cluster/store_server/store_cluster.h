// Test fixture: a replicated store on simulated hosts m1..mN, and client processes.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cluster/store/client/store_client.h"
#include "cluster/store/server/store_server.h"
#include "sim/host.h"
#include "sim/network.h"
#include "sim/world.h"
#include "tests/sim/test_process.h"

namespace ksim::storeserver::testing {

inline constexpr uint16_t kPort = 2379;

class StoreCluster {
 public:
  explicit StoreCluster(int members, uint64_t seed = 1, std::function<void(StoreServerOptions&)> tweak = nullptr)
      : world(seed) {
    std::map<uint64_t, Address> addrs;
    for (int i = 1; i <= members; ++i) addrs[static_cast<uint64_t>(i)] = Name(i) + ":" + std::to_string(kPort);
    for (int i = 1; i <= members; ++i) {
      StoreServerOptions o;
      o.id = static_cast<uint64_t>(i);
      o.members = addrs;
      o.port = kPort;
      if (tweak) tweak(o);
      sim::HostOptions ho;
      ho.disk.torn_writes = true;
      world.AddHost(Name(i), ho).AddProcess("store", [o](Env& env) { return std::make_unique<StoreServer>(env, o); });
      addresses.push_back(addrs[static_cast<uint64_t>(i)]);
    }
  }
  static std::string Name(int i) { return "m" + std::to_string(i); }
  StoreServer* Server(int i) { return world.host(static_cast<uint32_t>(i - 1)).Find<StoreServer>("store"); }
  int Leader() {
    int leader = 0;
    uint64_t term = 0;
    for (int i = 1; i <= static_cast<int>(addresses.size()); ++i) {
      StoreServer* s = Server(i);
      if (s && s->raft() && s->raft()->role() == raft::Role::kLeader && s->raft()->term() >= term) {
        leader = i;
        term = s->raft()->term();
      }
    }
    return leader;
  }
  bool WaitForLeader(Nanos within) {
    return world.RunUntilCondition([this] { return Leader() != 0; }, world.now() + within);
  }

  // A client process on its own host; the returned pointer lives as long as the world.
  storeclient::StoreClient* AddClient(const std::string& name, storeclient::StoreClientOptions o = {}) {
    auto holder = std::make_shared<std::unique_ptr<storeclient::StoreClient>>();
    clients_.push_back(holder);
    auto addrs = addresses;
    world.AddHost(name).AddProcess("client", sim::testing::Scripted([holder, addrs, o](sim::testing::ScriptedProcess& p) {
      *holder = std::make_unique<storeclient::StoreClient>(p.env(), addrs, o);
    }));
    world.RunFor(Milliseconds(1));
    return holder->get();
  }
  ~StoreCluster() {
    for (auto& c : clients_) c->reset();  // before their processes' Envs go away
  }

  sim::World world;
  std::vector<Address> addresses;

 private:
  std::vector<std::shared_ptr<std::unique_ptr<storeclient::StoreClient>>> clients_;
};

}  // namespace ksim::storeserver::testing
