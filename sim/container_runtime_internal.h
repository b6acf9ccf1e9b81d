// The records SimContainerRuntime keeps per sandbox and container; shared by its two
// source files only.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sim/container_runtime.h"
#include "sim/world.h"

namespace ksim::sim {

struct SimContainerRuntime::Sandbox {
  ksim::PodSandboxStatus status;
  PodSandboxConfig config;
  uint32_t ip = 0;
  bool has_ip = false;                  // holds an address of config.pod_cidr
  std::vector<std::string> containers;  // ids, in creation order
};

struct SimContainerRuntime::Container {
  ksim::ContainerStatus status;
  ContainerConfig config;
  ImageBehavior behavior;
  uint64_t seq = 0;        // creation order on the host
  uint64_t run = 0;        // bumps at each transition so stale scheduled events are ignored
  bool starting = false;   // StartContainer called, the process not up yet (reported Created)
  Nanos started_world{0};  // world time, for the behaviour's clocks
  Nanos finished_world{0};
  std::string log;
  int64_t log_ticks = 0;  // periodic lines written so far
  std::function<void(Status)> start_done;
  std::vector<std::function<void(Status)>> stop_waiters;
  std::vector<std::shared_ptr<Connection>> conns;  // accepted HTTP connections
};

// Runs fn after `delay` unless the host lost power meanwhile.
template <typename Fn>
void SimContainerRuntime::Later(Nanos delay, Fn fn) {
  world_->After(delay, [this, epoch = epoch_, fn = std::move(fn)]() mutable {
    if (epoch == epoch_) fn();
  });
}

}  // namespace ksim::sim
