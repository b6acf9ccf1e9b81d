// ContainerRuntime: runs a host's pods, in the shape of Kubernetes' CRI (RuntimeService and
// ImageService). A pod is a sandbox (a network namespace with an IP from the node's pod
// CIDR, a hostname, DNS configuration, port mappings) holding containers.
//
// Every call is asynchronous: it returns at once and `done` runs later on the calling
// process's event loop, never inside the call. Sandboxes, containers and images belong to
// the host, not to the process that made them: they survive the crash of that process,
// and a new process finds them with the List calls. They stop only when asked, when they
// exit on their own, or when the host powers off.
//
// Everything here maps onto containerd's CRI plugin plus CNI plugins on a real host
// (docs/KUBELET.md lists the mapping); nothing here may be something only a simulator
// can do.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cluster/env/status.h"
#include "cluster/env/time.h"

namespace ksim {

// --- limits (every backend enforces them, answering InvalidArgument) ---
inline constexpr size_t kMaxRuntimeLabels = 64;          // labels or annotations per object
inline constexpr size_t kMaxRuntimeLabelBytes = 64 << 10;  // all labels+annotations of one object
inline constexpr size_t kMaxContainerLogBytes = 1 << 20;   // kept per container (oldest dropped)
inline constexpr size_t kMaxExecOutputBytes = 64 << 10;    // ExecSync output is truncated to this
inline constexpr size_t kMaxCommandArgs = 256;

// --- pod sandboxes ---

struct PortMapping {
  std::string protocol = "TCP";  // TCP, UDP or SCTP
  uint16_t container_port = 0;
  uint16_t host_port = 0;  // 0: not published on the host
  std::string host_ip;     // "": every host address
};

struct DnsConfig {
  std::vector<std::string> servers;   // nameserver addresses (the kube-dns ClusterIP)
  std::vector<std::string> searches;  // search domains, in order
  std::vector<std::string> options;   // e.g. "ndots:5"
};

// CRI's PodSandboxMetadata: the pod this sandbox is for. `attempt` counts sandboxes made
// for the same pod uid (a new one after the old one died).
struct SandboxMetadata {
  std::string name;
  std::string namespace_;
  std::string uid;
  uint32_t attempt = 0;
};

struct PodSandboxConfig {
  SandboxMetadata metadata;
  std::string hostname;
  // The node's spec.podCIDR; the sandbox's IP comes from it (CNI host-local IPAM).
  // Ignored with host_network (the sandbox then has the host's address).
  std::string pod_cidr;
  bool host_network = false;
  DnsConfig dns;
  std::vector<PortMapping> port_mappings;
  std::string cgroup_parent;  // e.g. "kubepods-burstable-pod<uid>.slice"
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
};

enum class SandboxState { kReady, kNotReady };

struct PodSandboxStatus {
  std::string id;
  SandboxMetadata metadata;
  SandboxState state = SandboxState::kNotReady;
  Nanos created_at{0};  // host monotonic time
  std::string ip;       // "" once the sandbox is stopped
  std::string hostname;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
};

// --- containers ---

struct ContainerConfig {
  std::string name;      // unique among the sandbox's containers with the same attempt
  uint32_t attempt = 0;  // restart count of this container in this pod
  std::string image;     // as the pod names it; must have been pulled
  std::vector<std::string> command;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  int64_t memory_limit_bytes = 0;  // 0: unlimited; the runtime OOM-kills above it
  int64_t cpu_limit_millis = 0;    // 0: unlimited
  int64_t cpu_request_millis = 0;  // cgroup weight
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
};

enum class ContainerState { kCreated, kRunning, kExited, kUnknown };

struct ContainerStatus {
  std::string id;
  std::string sandbox_id;
  std::string name;
  uint32_t attempt = 0;
  std::string image;      // as configured
  std::string image_ref;  // the pulled image's id ("sha256:..."), for status.imageID
  ContainerState state = ContainerState::kCreated;
  Nanos created_at{0};   // host monotonic time
  Nanos started_at{0};   // 0 if never started
  Nanos finished_at{0};  // 0 if not exited
  int exit_code = 0;
  std::string reason;   // "Completed", "Error", "OOMKilled", ...
  std::string message;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
};

enum class ContainerEventType { kCreated, kStarted, kExited, kDeleted };

// One change of a container. An OOM kill is kExited with reason "OOMKilled".
struct ContainerEvent {
  ContainerEventType type = ContainerEventType::kCreated;
  std::string container_id;
  std::string sandbox_id;
  int exit_code = 0;
  std::string reason;
  Nanos at{0};  // host monotonic time
};

struct ContainerStats {
  std::string id;
  std::string sandbox_id;
  int64_t cpu_usage_millis = 0;  // recent CPU use, in millicores
  int64_t memory_working_set_bytes = 0;
};

struct ExecResult {
  int exit_code = 0;
  std::string output;  // stdout then stderr, at most kMaxExecOutputBytes
};

// --- images ---

struct ImageInfo {
  std::string id;                      // "sha256:..."
  std::vector<std::string> repo_tags;  // normalized: "docker.io/library/nginx:latest"
  int64_t size_bytes = 0;
};

// Normalizes an image reference as containerd does: "nginx" -> "docker.io/library/nginx:latest".
std::string NormalizeImageName(const std::string& image);

class ContainerRuntime {
 public:
  virtual ~ContainerRuntime() = default;

  // --- sandboxes (CRI RunPodSandbox ... ListPodSandbox) ---

  // Creates the pod's network namespace, gives it an IP from config.pod_cidr and publishes
  // its ports; done gets the sandbox id. InvalidArgument if the CIDR is malformed or
  // exhausted, AlreadyExists if a ready sandbox has the same metadata (name, namespace,
  // uid, attempt).
  virtual void RunPodSandbox(const PodSandboxConfig& config, std::function<void(Status, std::string id)> done) = 0;

  // Kills every container of the sandbox at once (no grace: the caller stops them first)
  // and releases its IP. Idempotent: stopping a stopped sandbox succeeds. NotFound if
  // there is no such sandbox.
  virtual void StopPodSandbox(const std::string& id, std::function<void(Status)> done) = 0;

  // Removes a sandbox and all its containers (running ones are killed first). Removing a
  // sandbox that does not exist succeeds (CRI: idempotent).
  virtual void RemovePodSandbox(const std::string& id, std::function<void(Status)> done) = 0;

  virtual void PodSandboxStatus(const std::string& id,
                                std::function<void(Status, ksim::PodSandboxStatus)> done) = 0;

  // Every sandbox on the host that is not removed, ordered by id.
  virtual void ListPodSandboxes(std::function<void(Status, std::vector<ksim::PodSandboxStatus>)> done) = 0;

  // --- containers (CRI CreateContainer ... ExecSync) ---

  // Creates a container in a ready sandbox. NotFound if the sandbox or the image is
  // missing, InvalidArgument if the sandbox is not ready or a limit is exceeded.
  virtual void CreateContainer(const std::string& sandbox_id, const ContainerConfig& config,
                               std::function<void(Status, std::string id)> done) = 0;

  // Starts a created container. done runs once its process has started (or failed to:
  // the container is then exited with a reason).
  virtual void StartContainer(const std::string& id, std::function<void(Status)> done) = 0;

  // Sends SIGTERM, SIGKILL after `grace`, and runs done once the container exited.
  // Stopping an exited container succeeds at once.
  virtual void StopContainer(const std::string& id, Nanos grace, std::function<void(Status)> done) = 0;

  // Removes a created or exited container. InvalidArgument if it is running. Removing a
  // container that does not exist succeeds.
  virtual void RemoveContainer(const std::string& id, std::function<void(Status)> done) = 0;

  virtual void ContainerStatus(const std::string& id, std::function<void(Status, ksim::ContainerStatus)> done) = 0;

  // Containers that are not removed, ordered by id; only the sandbox's if sandbox_id is
  // not empty.
  virtual void ListContainers(const std::string& sandbox_id,
                              std::function<void(Status, std::vector<ksim::ContainerStatus>)> done) = 0;

  // The last `max_bytes` of the container's output (at most kMaxContainerLogBytes are
  // kept). Readable after the container exited, until it is removed.
  virtual void ContainerLogs(const std::string& id, size_t max_bytes, std::function<void(Status, std::string)> done) = 0;

  // Runs `command` in a running container and waits for it. Timeout if it does not finish
  // within `timeout`; InvalidArgument if the container is not running.
  virtual void ExecSync(const std::string& id, const std::vector<std::string>& command, Nanos timeout,
                        std::function<void(Status, ExecResult)> done) = 0;

  // Resource use of every running container, ordered by id (the kubelet's summary API
  // and the metrics the HPA reads).
  virtual void ListContainerStats(std::function<void(Status, std::vector<ContainerStats>)> done) = 0;

  // Registers the one handler receiving every container event on the host, in the order
  // they happened, replacing any earlier one; an empty function unsubscribes. Events
  // before subscription are not replayed: a new subscriber lists first.
  virtual void SubscribeEvents(std::function<void(const ContainerEvent&)> on_event) = 0;

  // --- images (CRI ImageService) ---

  // Pulls `image`; done gets the image's id. Unavailable (the kubelet's ErrImagePull) if
  // the registry refuses it or cannot be reached; NotFound if it does not exist.
  virtual void PullImage(const std::string& image, std::function<void(Status, std::string image_id)> done) = 0;

  // The image if present on the host (by name or id), else nullopt.
  virtual void ImageStatus(const std::string& image, std::function<void(Status, std::optional<ImageInfo>)> done) = 0;

  // Every image on the host, ordered by id.
  virtual void ListImages(std::function<void(Status, std::vector<ImageInfo>)> done) = 0;

  // Removes an image. InvalidArgument if a container that is not removed uses it;
  // removing an absent image succeeds.
  virtual void RemoveImage(const std::string& image, std::function<void(Status)> done) = 0;
};

}  // namespace ksim
