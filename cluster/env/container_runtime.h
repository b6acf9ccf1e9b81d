// ContainerRuntime: runs a host's containers. Every call is asynchronous: it returns at
// once and its completion runs later on the calling process's event loop. Containers
// belong to the host, not to the process that created them: they keep running when that
// process crashes, and stop only when asked or when the host powers off.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "cluster/env/status.h"
#include "cluster/env/time.h"

namespace ksim {

struct ContainerSpec {
  std::string name;  // unique on the host among containers that are not removed
  std::string image;
  std::vector<std::string> command;
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  std::map<std::string, std::string> labels;
  int64_t memory_limit_bytes = 0;  // 0: unlimited
  int64_t cpu_limit_millis = 0;    // 0: unlimited
};

enum class ContainerState { kCreated, kRunning, kExited };

struct ContainerStatus {
  std::string id;
  std::string name;
  std::string image;
  ContainerState state = ContainerState::kCreated;
  int exit_code = 0;
  std::string reason;        // e.g. "Completed", "Error", "OOMKilled", "Killed"
  Nanos started_at{0};       // host monotonic time; 0 if never started
  Nanos finished_at{0};      // host monotonic time; 0 if not exited
  std::map<std::string, std::string> labels;
};

struct ContainerEvent {
  std::string id;
  ContainerState state = ContainerState::kCreated;
  int exit_code = 0;
  std::string reason;
};

struct ExecResult {
  int exit_code = 0;
  std::string output;
};

class ContainerRuntime {
 public:
  virtual ~ContainerRuntime() = default;

  // Makes `image` available on the host. Unavailable if the registry refuses it.
  virtual void PullImage(const std::string& image, std::function<void(Status)> done) = 0;

  // Creates a container from a pulled image. NotFound if the image is not pulled,
  // AlreadyExists if the name is taken. On success done gets the container's id.
  virtual void Create(const ContainerSpec& spec, std::function<void(Status, std::string id)> done) = 0;

  // Starts a created container. done runs once its process has started.
  virtual void Start(const std::string& id, std::function<void(Status)> done) = 0;

  // Asks the container to stop, kills it after `grace`, and runs done once it exited.
  // Stopping an exited container succeeds at once.
  virtual void Stop(const std::string& id, Nanos grace, std::function<void(Status)> done) = 0;

  // Removes an exited or created container. InvalidArgument if it is running.
  virtual void Remove(const std::string& id, std::function<void(Status)> done) = 0;

  // The container's current status. NotFound if there is no such container.
  virtual void Inspect(const std::string& id, std::function<void(Status, ContainerStatus)> done) = 0;

  // All containers on the host that are not removed, ordered by id.
  virtual void List(std::function<void(Status, std::vector<ContainerStatus>)> done) = 0;

  // The container's output so far.
  virtual void Logs(const std::string& id, std::function<void(Status, std::string)> done) = 0;

  // Runs `command` inside a running container (probes use this). Timeout if it does not
  // finish within `timeout`; InvalidArgument if the container is not running.
  virtual void Exec(const std::string& id, const std::vector<std::string>& command, Nanos timeout,
                    std::function<void(Status, ExecResult)> done) = 0;

  // Registers the one handler that receives state changes (started, exited) of every
  // container on the host, replacing any earlier one. Events arrive in the order they
  // happened. An empty function unsubscribes.
  virtual void SubscribeEvents(std::function<void(const ContainerEvent&)> on_event) = 0;
};

}  // namespace ksim
