// Simulated images are behaviours. An image's name picks its behaviour from a catalogue
// (docs/SIMULATION.md lists it); a pod overrides it per container with the annotation
// `sim.ksim.io/<container-name>: "crashAfter=30s,exitCode=1"`, which the kubelet passes
// to the sandbox's annotations as CRI does. Pull behaviour is per image only: CRI's
// PullImage sees no pod.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/env/status.h"
#include "cluster/env/time.h"

namespace ksim::sim {

inline constexpr std::string_view kBehaviorAnnotationPrefix = "sim.ksim.io/";
inline constexpr size_t kMaxBehaviorAnnotationBytes = 1024;

struct ImageBehavior {
  // --- the image (by name only) ---
  std::optional<Nanos> pull_time;  // unset: 200 ms + size at 50 MiB/s
  bool pull_fails = false;         // every pull fails with Unavailable (ErrImagePull)
  bool exists = true;              // false: the registry answers NotFound
  int64_t size_bytes = 0;          // 0: derived from the name (10..200 MiB)

  // --- each container (annotation key in brackets) ---
  Nanos start_delay = Milliseconds(50);         // [startDelay] create -> running
  Nanos ready_after{0};                         // [readyAfter] probes succeed from then on
  std::optional<Nanos> unhealthy_after;         // [unhealthyAfter] probes fail from then on
  std::optional<Nanos> crash_after;             // [crashAfter] exits with exit_code
  int exit_code = 1;                            // [exitCode] for crashAfter
  std::optional<Nanos> exit_after;              // [exitAfter] exits 0 (a Job's work is done)
  int64_t memory_bytes = 8 << 20;               // [memory] working set at start
  int64_t memory_growth_bytes_per_second = 0;   // [memoryGrowth] OOM-killed at the limit
  int64_t cpu_millis = 1;                       // [cpu] steady CPU use, capped by the limit
  bool serve_container_ports = true;            // [serveContainerPorts] HTTP on the pod's ports
  std::vector<uint16_t> http_ports;             // [httpPort] HTTP here whatever the pod says
  bool answers_exec = true;                     // [exec] false: exec fails (126)
  Nanos log_every{0};                           // [logEvery] one log line per period
  bool ignore_sigterm = false;                  // [ignoreSigterm] only SIGKILL stops it
  Nanos stop_delay = Milliseconds(10);          // [stopDelay] SIGTERM -> exit
};

// "docker.io/library/nginx:1.25" -> "docker.io/library/nginx" (tag and digest dropped).
std::string ImageRepository(const std::string& normalized);

// The catalogue's behaviour for an image (normalized or not): a built-in entry by
// repository, else the defaults of a plain image (serve the pod's ports, run forever).
ImageBehavior CatalogBehavior(const std::string& image);

// The repositories of the built-in catalogue, in order (for docs and tests).
std::vector<std::string> CatalogRepositories();

// The image's size: the behaviour's, else derived from the name.
int64_t ImageSizeBytes(const std::string& normalized, const ImageBehavior& behavior);
Nanos ImagePullTime(const std::string& normalized, const ImageBehavior& behavior);

// "sha256:" + 64 hex digits derived from the normalized name: stable across runs and hosts.
std::string ImageId(const std::string& normalized);

// Applies the override annotation for `container` from `annotations` (if any) onto
// *behavior. InvalidArgument naming the annotation, the key and the reason for a bad
// value; *behavior is unchanged then.
Status ApplyBehaviorAnnotation(const std::map<std::string, std::string>& annotations, const std::string& container,
                               ImageBehavior* behavior);

}  // namespace ksim::sim
