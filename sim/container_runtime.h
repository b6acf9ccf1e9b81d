// SimContainerRuntime: a host's container runtime playing scripted images. An image's
// script says how long a pull takes (or that it fails), how long a start takes, when the
// container becomes ready, when it crashes and with which exit code, so workloads can
// misbehave on purpose. Completions run through the world's queue, never inside a call.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cluster/env/container_runtime.h"

namespace ksim::sim {

class World;

struct ImageScript {
  Nanos pull_delay = Milliseconds(200);
  bool pull_fails = false;            // every pull fails with Unavailable
  Nanos start_delay = Milliseconds(50);
  Nanos ready_after{0};               // exec probes succeed this long after the start
  std::optional<Nanos> exit_after;    // the container exits this long after the start
  int exit_code = 0;                  // the exit code when it exits on its own
  Nanos stop_delay = Milliseconds(10);  // how long it takes to honour a stop request
  bool ignores_stop = false;          // stops only when killed at the end of the grace
  int64_t memory_bytes = 0;
  int64_t cpu_millis = 0;
};

struct RuntimeStats {
  uint64_t pulls = 0;
  uint64_t pull_failures = 0;
  uint64_t starts = 0;
  uint64_t exits = 0;
};

class SimContainerRuntime {
 public:
  using EventHandler = std::function<void(const ContainerEvent&)>;

  explicit SimContainerRuntime(World* world) : world_(world) {}

  // Calls mirror ksim::ContainerRuntime; `done` runs later via the world's queue.
  void PullImage(const std::string& image, std::function<void(Status)> done);
  void Create(const ContainerSpec& spec, std::function<void(Status, std::string)> done);
  void Start(const std::string& id, std::function<void(Status)> done);
  void Stop(const std::string& id, Nanos grace, std::function<void(Status)> done);
  void Remove(const std::string& id, std::function<void(Status)> done);
  void Inspect(const std::string& id, std::function<void(Status, ContainerStatus)> done);
  void List(std::function<void(Status, std::vector<ContainerStatus>)> done);
  void Logs(const std::string& id, std::function<void(Status, std::string)> done);
  void Exec(const std::string& id, const std::vector<std::string>& command, Nanos timeout,
            std::function<void(Status, ExecResult)> done);
  void SetEventHandler(EventHandler handler) { handler_ = std::move(handler); }

  // Host power failure: running containers die (exit code 137, reason "HostPowerOff");
  // pulled images survive (they are on disk).
  void PowerOff();

  // Forces a running container to exit now with `exit_code` (the "container crash" fault).
  Status Kill(const std::string& id, int exit_code, const std::string& reason);

  const RuntimeStats& stats() const { return stats_; }
  // Synchronous view for tests and checkers.
  std::vector<ContainerStatus> Snapshot() const;

 private:
  struct Container {
    ContainerStatus status;
    ImageScript script;
    std::string logs;
    uint64_t run = 0;  // bumps at each start/exit so stale scheduled exits are ignored
    std::vector<std::function<void(Status)>> stop_waiters;
  };
  Nanos Now() const;
  void Exit(Container& c, int exit_code, const std::string& reason);
  template <typename Fn>
  void Later(Nanos delay, Fn fn);

  World* world_;
  std::set<std::string> pulled_;
  std::map<std::string, Container> containers_;  // by id
  uint64_t next_id_ = 1;
  EventHandler handler_;
  RuntimeStats stats_;
};

}  // namespace ksim::sim
