// The control plane of the controller benchmarks (`ksim bench controllers`, `ksim bench
// rollout`): in one simulated world, a one-member store, one apiserver, a controller-manager
// on host "cm" running only the controllers asked for, and the benchmark's own client on
// host "bench" (system:masters). Node objects are created through the API; no kubelet or
// scheduler runs unless a benchmark adds a process of its own (the rollout's pod runner).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cluster/api/registry.h"
#include "cluster/apiserver/apiserver.pb.h"
#include "cluster/client/api_client.h"
#include "cluster/env/status.h"
#include "sim/world.h"

namespace ksim::controllers {
class ControllerManager;
}

namespace ksim::scenarios {

class BenchControlPlane {
 public:
  static constexpr char kNamespace[] = "bench";
  static constexpr int kWindow = 256;  // the benchmark client's requests in flight

  explicit BenchControlPlane(uint64_t seed);
  ~BenchControlPlane();
  BenchControlPlane(const BenchControlPlane&) = delete;
  BenchControlPlane& operator=(const BenchControlPlane&) = delete;

  // Store elected, apiserver answering, namespace "bench" created.
  Status Boot();
  // Creates `count` objects, make(i) each, kWindow in flight; the first failure, if any.
  Status CreateAll(const api::KindInfo& kind, int count,
                   const std::function<std::unique_ptr<google::protobuf::Message>(int)>& make);
  // `nodes` Ready Nodes (4 cpu, 32Gi, 110 pods) named NodeName(i).
  Status CreateNodes(int nodes);
  static std::string NodeName(int i);
  // Every object of `kind` in namespace "bench", by pages of 500, as serialized items.
  Status ListAll(const api::KindInfo& kind, std::vector<std::string>* items);
  // Starts the controller-manager (leader election on, these built-in controllers only) and
  // waits until it leads and its informers synced. `on_write` sees every write it sends.
  Status StartControllerManager(std::vector<std::string> controllers,
                                std::function<void(const apiserver::Request&)> on_write);
  // Runs until `done` or `within` of simulated time passed; whether `done`.
  bool RunUntil(const std::function<bool()>& done, Nanos within);

  sim::World& world() { return world_; }
  client::ApiClient& client() { return *client_; }
  Env& client_env() { return *client_env_; }
  const std::vector<Address>& endpoints() const { return endpoints_; }
  const std::string& token() const;
  controllers::ControllerManager* manager() const { return manager_; }

 private:
  sim::World world_;
  std::vector<Address> endpoints_;
  Env* client_env_ = nullptr;
  std::unique_ptr<client::ApiClient> client_;
  controllers::ControllerManager* manager_ = nullptr;
};

const api::KindInfo& BenchKind(const char* group, const char* resource);

}  // namespace ksim::scenarios
