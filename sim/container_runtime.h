// SimContainerRuntime: one host's container runtime, implementing the CRI-shaped
// ksim::ContainerRuntime by playing image behaviours (sim/image_behavior.h): pulls take
// time or fail, containers start late, become ready, turn unhealthy, crash, finish,
// grow into an OOM kill, burn CPU, write logs, serve HTTP on their pod IP and ignore
// SIGTERM when told to.
//
// Every call completes through the world's queue after a short latency, never inside the
// call; its effect happens at completion. Sandboxes, containers and images belong to the
// host: a process crash leaves them running; a power-off kills every container (exit
// 255, reason "Unknown", as containerd reports after a reboot) and takes every sandbox
// NotReady. A ready sandbox's IP is an alias of the host on the sim network, so
// connections to podIP:port reach the container serving that port.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cluster/env/container_runtime.h"
#include "cluster/env/random.h"
#include "cluster/env/transport.h"
#include "sim/image_behavior.h"

namespace ksim::sim {

class World;
class Host;
struct ProcessToken;

struct RuntimeStats {
  uint64_t pulls = 0;
  uint64_t pull_failures = 0;
  uint64_t sandboxes = 0;
  uint64_t starts = 0;
  uint64_t exits = 0;
  uint64_t oom_kills = 0;
  uint64_t http_requests = 0;
};

// Call latencies (world time); a container's start delay comes from its behaviour.
struct RuntimeLatencies {
  Nanos run_sandbox = Milliseconds(200);  // CNI ADD + the pause container
  Nanos stop_sandbox = Milliseconds(20);
  Nanos create_container = Milliseconds(20);
  Nanos remove = Milliseconds(5);
  Nanos query = Milliseconds(1);  // status, list, logs, stats, image status
  Nanos exec = Milliseconds(2);
};

class SimContainerRuntime final : public ContainerRuntime {
 public:
  SimContainerRuntime(World* world, Host* host);
  ~SimContainerRuntime() override;

  // --- ContainerRuntime (see cluster/env/container_runtime.h for each contract) ---
  void RunPodSandbox(const PodSandboxConfig& config, std::function<void(Status, std::string)> done) override;
  void StopPodSandbox(const std::string& id, std::function<void(Status)> done) override;
  void RemovePodSandbox(const std::string& id, std::function<void(Status)> done) override;
  void PodSandboxStatus(const std::string& id, std::function<void(Status, ksim::PodSandboxStatus)> done) override;
  void ListPodSandboxes(std::function<void(Status, std::vector<ksim::PodSandboxStatus>)> done) override;
  void CreateContainer(const std::string& sandbox_id, const ContainerConfig& config,
                       std::function<void(Status, std::string)> done) override;
  void StartContainer(const std::string& id, std::function<void(Status)> done) override;
  void StopContainer(const std::string& id, Nanos grace, std::function<void(Status)> done) override;
  void RemoveContainer(const std::string& id, std::function<void(Status)> done) override;
  void ContainerStatus(const std::string& id, std::function<void(Status, ksim::ContainerStatus)> done) override;
  void ListContainers(const std::string& sandbox_id,
                      std::function<void(Status, std::vector<ksim::ContainerStatus>)> done) override;
  void ContainerLogs(const std::string& id, size_t max_bytes, std::function<void(Status, std::string)> done) override;
  void ExecSync(const std::string& id, const std::vector<std::string>& command, Nanos timeout,
                std::function<void(Status, ExecResult)> done) override;
  void ListContainerStats(std::function<void(Status, std::vector<ContainerStats>)> done) override;
  void SubscribeEvents(std::function<void(const ContainerEvent&)> on_event) override;
  void PullImage(const std::string& image, std::function<void(Status, std::string)> done) override;
  void ImageStatus(const std::string& image, std::function<void(Status, std::optional<ImageInfo>)> done) override;
  void ListImages(std::function<void(Status, std::vector<ImageInfo>)> done) override;
  void RemoveImage(const std::string& image, std::function<void(Status)> done) override;

  // --- faults ---
  // The "container crash" fault: a running container exits now with `exit_code`.
  Status Kill(const std::string& id, int exit_code, const std::string& reason);
  // The "image pull failure" fault: pulls of `image` (any name form; "" for every image)
  // fail with Unavailable until cleared.
  void SetPullFailure(const std::string& image, bool fail);
  void ClearPullFailures() { failing_pulls_.clear(); }
  // The "cpu-load" fault: the containers of pod `ns`/`pod` (those named `container`, ""
  // for all) use `millis` of CPU instead of their behaviour's, still capped by their
  // limit; a restarted container keeps it. nullopt clears it. Applies to pods that do
  // not exist yet too (a schedule drawn before they do).
  void SetCpuLoad(const std::string& ns, const std::string& pod, const std::string& container,
                  std::optional<int64_t> millis);
  void ClearCpuLoads() { cpu_loads_.clear(); }

  // --- the host (called by Host) ---
  void PowerOff();

  // --- the network (called by sim::Network) ---
  // Whether `ip` is one of this host's ready pod sandboxes.
  bool OwnsIp(const std::string& ip) const;
  // Where a TCP connection to this host's address `host_ip`:`port` goes when a ready pod
  // sandbox publishes `port` as a hostPort (CNI portmap's DNAT): the pod IP and container
  // port of the first such sandbox in id order, or nullopt.
  std::optional<std::pair<std::string, uint16_t>> HostPortTarget(const std::string& host_ip, uint16_t port) const;
  // The accept function of the running container serving HTTP on ip:port, or nullptr
  // (the connection is refused). Accepted connections are owned by the container and
  // close when it exits.
  std::function<void(std::shared_ptr<Connection>)> AcceptFor(const std::string& ip, uint16_t port);
  // The token for connection ends the runtime owns (alive while the host is up).
  std::shared_ptr<ProcessToken> token();

  // --- synchronous views for tests and checkers ---
  std::vector<ksim::ContainerStatus> Snapshot() const;
  std::vector<ksim::PodSandboxStatus> SandboxSnapshot() const;
  const RuntimeStats& stats() const { return stats_; }
  RuntimeLatencies& latencies() { return latencies_; }

 private:
  struct Sandbox;
  struct Container;
  struct CidrPool {
    std::set<uint32_t> used;
    uint64_t next = 0;  // host-local IPAM hands out addresses round-robin
  };

  template <typename Fn>
  void Later(Nanos delay, Fn fn);
  Nanos HostNow() const;
  std::string NewId();
  void Emit(ContainerEventType type, const Container& c);

  Status DoRunSandbox(const PodSandboxConfig& config, std::string* id);
  Status AllocateIp(const std::string& cidr, uint32_t* ip);
  void TakeDown(Sandbox& s);
  Status DoCreate(const std::string& sandbox_id, const ContainerConfig& config, std::string* id);
  void Started(const std::string& id, uint64_t run);
  void ScheduleExit(Container& c, Nanos after, int exit_code, const std::string& reason);
  void Exit(Container& c, int exit_code, const std::string& reason);
  void EraseContainer(const std::string& id);
  void AppendLog(Container& c, const std::string& line);
  void CatchUpLog(Container& c);
  int64_t MemoryNow(const Container& c) const;
  int64_t CpuNow(const Container& c) const;
  bool Ready(const Container& c) const;
  bool Healthy(const Container& c) const;
  ExecResult RunExec(const Container& c, const std::vector<std::string>& command, Nanos* takes) const;
  void ServeFrame(const std::string& container_id, const std::shared_ptr<Connection>& conn, std::string_view frame);
  ImageBehavior BehaviorFor(const std::string& normalized) const;
  const ImageInfo* FindImage(const std::string& image) const;

  World* world_;
  Host* host_;
  Random random_;
  RuntimeLatencies latencies_;
  RuntimeStats stats_;
  uint64_t epoch_ = 0;  // bumps at power-off: completions of an earlier epoch are dropped
  uint64_t next_seq_ = 1;
  std::shared_ptr<ProcessToken> token_;
  std::function<void(const ContainerEvent&)> handler_;
  std::map<std::string, std::unique_ptr<Sandbox>> sandboxes_;      // by id
  std::map<std::string, std::unique_ptr<Container>> containers_;  // by id
  std::map<std::string, std::string> sandbox_by_ip_;
  std::map<std::string, CidrPool> pools_;  // by CIDR text
  std::map<std::string, ImageInfo> images_;          // by id
  std::map<std::string, std::string> image_names_;   // normalized name -> id
  std::set<std::string> failing_pulls_;              // normalized names; "" = all
  std::map<std::vector<std::string>, int64_t> cpu_loads_;  // {namespace, pod, container or ""} -> millicores
};

}  // namespace ksim::sim
