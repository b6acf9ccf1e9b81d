// Scenario: one scenario file (docs/SCENARIOS.md) as plain values, every reference
// resolved and every value checked by the loader (scenario_loader.h), so that the runner
// maps it onto SimClusterOptions and faults::Fault without judging it again.
//
// Hosts are SimCluster's names: cp-1..cp-N, worker-1..worker-M, lb, client. Worker
// groups take consecutive worker numbers in file order; "<group>-<k>" in a file is an
// alias the loader resolves to the worker-i name (docs/SCENARIOS.md, "Hosts").
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cluster/env/time.h"
#include "faults/fault.h"

namespace ksim::scenarios {

// Where a value came from, for the runner's messages ("rolling.yaml:31:5").
struct SourcePos {
  std::string file;
  int line = 0;    // 1-based
  int column = 0;  // 1-based
};

struct ControlPlaneSpec {
  // SimCluster runs a store member and an apiserver on every control-plane host, and a
  // scheduler and controller-manager on all of them or on none: stores == apiservers ==
  // hosts, schedulers and controller_managers each 0 or hosts (checked at load).
  int hosts = 3;
  int stores = 3;
  int apiservers = 3;
  int schedulers = 3;
  int controller_managers = 3;
};

struct Taint {
  std::string key;
  std::string value;
  std::string effect;  // NoSchedule, PreferNoSchedule, NoExecute
};

struct WorkerGroup {
  std::string name;
  int count = 1;
  std::string cpu = "4";         // a Kubernetes quantity, checked
  std::string memory = "16Gi";  // a Kubernetes quantity, checked
  int pods = 110;
  std::map<std::string, std::string> labels;
  // SimCluster's WorkerSpec has no taints: the runner sets them on the Nodes after
  // bootstrap, before the workload is applied.
  std::vector<Taint> taints;
  // Worker k of the group (0-based) gets zones[k % size]; empty: no zone label.
  std::vector<std::string> zones;
  int first_worker = 1;  // the group's workers are worker-<first_worker>..
};

struct NetworkSpec {  // sim::LinkParams of every link
  Nanos latency = Microseconds(100);  // latency_min
  Nanos jitter = Microseconds(200);   // latency_jitter
  double loss = 0, duplicate = 0, reorder = 0;
};

struct ClusterSpec {
  ControlPlaneSpec control_plane;
  std::vector<WorkerGroup> worker_groups;
  NetworkSpec network;
  bool service_network = true;  // kube-proxy and cluster DNS
  int workers() const;          // the sum of the groups' counts
};

// One multi-document YAML text, exactly as `kubectl apply -f` takes it.
struct Manifest {
  std::string source;  // the file it came from, or "<scenario>:<line>" for inline text
  std::string text;
};

enum class ActionKind {
  // The API, as kubectl would do it.
  kApply,
  kDelete,
  kScale,
  kPatch,
  kCordon,
  kUncordon,
  kDrain,
  // Faults, carried out through SimCluster::Inject.
  kCrash,
  kRestart,
  kPowerOff,
  kPowerOn,
  kPause,
  kResume,
  kPartition,
  kIsolate,
  kOneWay,
  kBridge,
  kHeal,
  kClockSkew,
  kClockJump,
  kClockDrift,
  kSlowDisk,
  kDiskErrors,
  kDiskHeal,
  kLinkFaults,
  kLinkClear,
  kContainerCrash,
  kImagePullFailure,
  kImagePullHeal,
  kCpuLoad,
  kCpuLoadClear,
};

// The file's key for an action ("powerOff").
std::string_view ActionKindName(ActionKind kind);

// An API action's arguments (the fields a kind does not use stay empty).
struct ApiAction {
  Manifest manifest;          // apply
  std::string kind;           // delete, scale, patch: "Deployment", "Pod", ...
  std::string namespace_name = "default";
  std::string name;
  int64_t replicas = 0;       // scale
  std::string patch_type;     // patch: "merge", "strategic" or "json"
  std::string patch_json;     // patch: the patch as JSON text
  std::string node;           // cordon, uncordon, drain: a worker host name
  Nanos grace_period{-1};     // drain: -1 = each pod's own terminationGracePeriodSeconds
};

struct TimelineEntry {
  Nanos at{0};
  ActionKind action = ActionKind::kHeal;
  SourcePos pos;
  bool is_fault = false;
  ApiAction api;                     // when !is_fault
  std::vector<faults::Fault> faults;  // when is_fault: applied in order (a host selector expands)
};

struct NemesisSpec {
  std::string name;                      // for reports; default "nemesis[i]"
  std::vector<ActionKind> faults;        // the kinds it draws from (each has an undo)
  Nanos mean_interval = Seconds(30);     // `every:` or 60 s / `perMinute:`
  Nanos fault_duration = Seconds(10);    // how long each fault lasts before it is undone
  std::vector<std::string> targets;      // resolved host names, sorted as SimCluster lists them
  std::vector<std::string> processes;    // crash/restart: which processes (empty: any on the host)
  bool must_fire = false;                // the run fails unless each kind fired at least once
  SourcePos pos;
};

// A parameter value of an expectation, typed by the catalogue.
struct ParamValue {
  enum class Type { kString, kInt, kNumber, kBool, kDuration, kHost } type = Type::kString;
  std::string text;  // kString, kHost (resolved host name); the canonical text otherwise
  int64_t integer = 0;
  double number = 0;
  bool boolean = false;
  Nanos duration{0};
};

struct Expectation {
  enum class When { kAlways, kEventually, kAtEnd } when = When::kAlways;
  std::string name;                          // a catalogue name (expectation_catalogue.h)
  std::map<std::string, ParamValue> params;  // defaults filled in
  Nanos within{0};                           // kEventually: from the start of the liveness phase
  SourcePos pos;
};

struct Phases {
  Nanos safety{0};    // faults (timeline and nemesis) happen in [0, safety)
  Nanos liveness{0};  // [safety, duration): faults healed, the cluster must converge
};

// A field that swarm runs draw a value for, from [min, max] (or from `choices`).
struct SwarmRange {
  enum class Field {
    kWorkerGroupCount,  // cluster.workerGroups[index].count
    kNetworkLatency,
    kNetworkJitter,
    kNetworkLoss,
    kNetworkDuplicate,
    kNetworkReorder,
    kNemesisEvery,      // nemesis[index].every
    kNemesisDuration,   // nemesis[index].duration
  } field = Field::kNetworkLoss;
  int index = 0;
  std::string path;  // as written, e.g. "cluster.workerGroups[0].count"
  // Integers and numbers in min/max; durations in nanoseconds.
  double min = 0, max = 0;
  std::vector<double> choices;  // non-empty: draw one of these instead
  SourcePos pos;
};

struct Scenario {
  std::string name;
  std::string description;
  SourcePos source;  // the file (line 1, column 1)
  Nanos duration{0};
  ClusterSpec cluster;
  std::vector<Manifest> workload;
  std::vector<TimelineEntry> timeline;  // sorted by `at` (stable: file order within a time)
  std::vector<NemesisSpec> nemesis;
  std::vector<Expectation> expectations;
  Phases phases;
  std::vector<SwarmRange> swarm;
};

}  // namespace ksim::scenarios
