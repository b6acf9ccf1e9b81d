// Fault: one thing that goes wrong (or is put right) in a simulated run, named by host
// and process names so that a schedule reads like a story and shrinks to one a person
// can follow: "t=12.500s partition [n0 n1] | [n2 n3 n4]".
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "cluster/env/status.h"
#include "cluster/env/time.h"

namespace ksim::sim {
class World;
}

namespace ksim::faults {

enum class FaultKind {
  kPartition,      // groups: split the network between groups
  kIsolate,        // host: cut every link to and from one host
  kOneWay,         // groups[0] -> groups[1]: packets from the first group never arrive
  kBridge,         // groups[0] | groups[1], host sees both sides
  kHeal,           // restore every link
  kCrashProcess,   // host, process
  kRestartProcess, // host, process
  kPowerOff,       // host: unsynced writes may be lost
  kPowerOn,        // host
  kPause,          // host
  kResume,         // host
  kClockJump,      // host, amount: step the wall clock
  kClockSkew,      // host, amount: set the wall clock offset
  kClockDrift,     // host, ppm: clocks run fast or slow
  kLinkFaults,     // loss, duplicate, reorder probabilities on every link
  kLinkClear,      // back to the default link parameters
  kSlowDisk,       // host, amount: extra fsync latency
  kDiskErrors,     // host, rate: probability that a write fails
  kDiskHeal,       // host: disk back to normal
  // The runtime's faults (sim/container_runtime.h), by pod rather than container id so a
  // schedule drawn before the pods exist still means something.
  kContainerCrash,     // host, pod ("ns/name"), container ("" = any), exit_code: it exits now
  kImagePullFailure,   // host, image (one name:tag; "" = every image): pulls fail until healed
  kImagePullHeal,      // host, image: pulls of it succeed again
  // host, pod, container ("" = every container), cpu_millis: the pod's containers on that
  // host use this much CPU (capped by their limit) until cleared, restarts included.
  kCpuLoad,
  kCpuLoadClear,       // host, pod, container: back to the image's behaviour
};

struct Fault {
  FaultKind kind = FaultKind::kHeal;
  std::vector<std::vector<std::string>> groups;
  std::string host;
  std::string process;
  Nanos amount{0};
  int64_t ppm = 0;
  double loss = 0, duplicate = 0, reorder = 0, rate = 0;
  std::string pod;        // "namespace/name"
  std::string container;  // a container name of `pod`; "" = its first running one
  std::string image;
  int exit_code = 137;
  int64_t cpu_millis = 0;  // kCpuLoad

  // One line, e.g. "partition [n0 n1] | [n2 n3 n4]" or "crash n2/counter".
  std::string Describe() const;
};

struct TimedFault {
  Nanos at{0};
  Fault fault;
  std::string Describe() const;  // "t=12.500s <fault>"
};

std::string_view FaultKindName(FaultKind kind);

// Printing for test frameworks (RapidCheck shows shrunk schedules with these).
inline std::ostream& operator<<(std::ostream& os, const Fault& f) { return os << f.Describe(); }
inline std::ostream& operator<<(std::ostream& os, const TimedFault& f) { return os << f.Describe(); }

// Applies `fault` to the world now. InvalidArgument naming the unknown host or process;
// NotFound for a container crash when the pod has no running container (of that name);
// InvalidArgument for a cpu-load with a negative amount or a pod that is not "ns/name".
Status ApplyFault(sim::World& world, const Fault& fault);

// Puts everything right: links restored and default, every host powered on, resumed,
// clocks nominal, disks healthy, image pulls succeeding, every registered process running.
void HealAll(sim::World& world);

// Schedules each fault at its time (relative to now) and records its description in
// `log` as it is applied (if non-null); `on_applied` (if set) runs after each one, so a
// checker can look at the system right after a fault. REQUIRES: `log` outlives the run.
void ScheduleFaults(sim::World& world, const std::vector<TimedFault>& schedule, std::vector<std::string>* log,
                    std::function<void(const Fault&)> on_applied = nullptr);

}  // namespace ksim::faults
