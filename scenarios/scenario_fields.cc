#include "scenarios/scenario_fields.h"

#include <algorithm>
#include <cassert>

namespace ksim::scenarios {

namespace {

using K = ValueKind;

std::vector<ObjectSpec> BuildObjects() {
  const KeySpec host{"host", K::kHosts, true, "", "a host, a group or a selector: applied to each host"};
  const KeySpec one_host{"host", K::kHost, true, "", ""};
  const KeySpec pod{"pod", K::kString, true, "", "namespace/name"};
  const KeySpec container{"container", K::kString, false, "", "default: every container of the pod"};
  std::vector<ObjectSpec> o = {
      {"scenario",
       {{"apiVersion", K::kString, true, "", "ksim.io/v1alpha1"},
        {"kind", K::kString, true, "", "Scenario"},
        {"name", K::kString, true, "", "a DNS label"},
        {"description", K::kString, false, "", ""},
        {"duration", K::kDuration, false, "", "simulated run time (default: the phases' sum)"},
        {"phases", K::kObject, false, "phases", ""},
        {"cluster", K::kObject, true, "cluster", ""},
        {"workload", K::kObjectList, false, "manifest", "applied in order once the cluster is up"},
        {"timeline", K::kObjectList, false, "timelineEntry", ""},
        {"nemesis", K::kObjectList, false, "nemesis", ""},
        {"expectations", K::kObject, false, "expectations", ""},
        {"swarm", K::kObjectList, false, "swarmRange", "fields that swarm runs draw"}},
       "a ksim scenario"},
      {"phases",
       {{"safety", K::kDuration, true, "", "faults happen in [0, safety)"},
        {"liveness", K::kDuration, true, "", "then every fault is healed and the cluster must converge"}},
       ""},
      {"cluster",
       {{"controlPlane", K::kObject, false, "controlPlane", ""},
        {"workerGroups", K::kObjectList, false, "workerGroup", "workers, numbered in file order"},
        {"network", K::kObject, false, "network", ""},
        {"serviceNetwork", K::kBool, false, "", "kube-proxy and cluster DNS (default true)"}},
       ""},
      {"controlPlane",
       {{"hosts", K::kInt, false, "", "cp-1..cp-N, 1..7 (default 3)"},
        {"stores", K::kInt, false, "", "must equal hosts"},
        {"apiservers", K::kInt, false, "", "must equal hosts"},
        {"schedulers", K::kInt, false, "", "0 or hosts"},
        {"controllerManagers", K::kInt, false, "", "0 or hosts"}},
       ""},
      {"workerGroup",
       {{"name", K::kString, true, "", "a DNS label; <name>-<k> names its k-th worker"},
        {"count", K::kInt, false, "", "default 1"},
        {"cpu", K::kQuantity, false, "", "default 4"},
        {"memory", K::kQuantity, false, "", "default 16Gi"},
        {"pods", K::kInt, false, "", "default 110"},
        {"labels", K::kStringMap, false, "", ""},
        {"taints", K::kObjectList, false, "taint", ""},
        {"zones", K::kStringList, false, "", "spread round-robin over the group's workers"}},
       ""},
      {"taint",
       {{"key", K::kString, true, "", ""},
        {"value", K::kString, false, "", ""},
        {"effect", K::kString, true, "", "NoSchedule, PreferNoSchedule or NoExecute"}},
       ""},
      {"network",
       {{"latency", K::kDuration, false, "", "every link's minimum latency (default 100us)"},
        {"jitter", K::kDuration, false, "", "uniform extra delay (default 200us)"},
        {"loss", K::kNumber, false, "", "0..1"},
        {"duplicate", K::kNumber, false, "", "0..1"},
        {"reorder", K::kNumber, false, "", "0..1"}},
       ""},
      {"manifest",
       {{"path", K::kString, false, "", "relative to the scenario file"},
        {"inline", K::kString, false, "", "multi-document YAML"}},
       "exactly one of path and inline"},
      {"timelineEntry", {{"at", K::kDuration, true, "", ""}}, "`at` and exactly one action key"},
      {"nemesis",
       {{"name", K::kString, false, "", ""},
        {"faults", K::kStringList, true, "", "fault actions with an undo"},
        {"every", K::kDuration, false, "", "mean interval between faults"},
        {"perMinute", K::kNumber, false, "", "mean faults per minute (instead of every)"},
        {"duration", K::kDuration, false, "", "each fault lasts this long, then is undone (default 10s)"},
        {"targets", K::kHosts, false, "", "default: all"},
        {"processes", K::kStringList, false, "", "crash, restart: which processes"},
        {"mustFire", K::kBool, false, "", "fail the run unless each kind fired"}},
       ""},
      {"expectations",
       {{"always", K::kObjectList, false, "expectation", "invariants"},
        {"eventually", K::kObjectList, false, "expectation", "conditions with within"},
        {"atEnd", K::kObjectList, false, "expectation", "conditions at the end of the run"}},
       ""},
      {"expectation",
       {{"within", K::kDuration, false, "", "eventually: from the liveness phase's start"}},
       "a catalogue name, or {name: {params}}"},
      {"swarmRange",
       {{"path", K::kString, true, "", "e.g. cluster.workerGroups[0].count"},
        {"range", K::kNumberList, false, "", "[min, max]"},
        {"choices", K::kNumberList, false, "", "values to draw from"}},
       "exactly one of range and choices"},
      // --- action arguments ---
      {"action.apply", {{"path", K::kString, false, "", ""}, {"inline", K::kString, false, "", ""}}, ""},
      {"action.delete",
       {{"kind", K::kString, true, "", ""},
        {"name", K::kString, true, "", ""},
        {"namespace", K::kString, false, "", "default: default"}},
       ""},
      {"action.scale",
       {{"kind", K::kString, false, "", "Deployment (default), ReplicaSet, StatefulSet, ReplicationController"},
        {"name", K::kString, true, "", ""},
        {"namespace", K::kString, false, "", ""},
        {"replicas", K::kInt, true, "", ""}},
       ""},
      {"action.patch",
       {{"kind", K::kString, true, "", ""},
        {"name", K::kString, true, "", ""},
        {"namespace", K::kString, false, "", ""},
        {"type", K::kString, false, "", "strategic (default), merge or json"},
        {"patch", K::kAny, true, "", ""}},
       ""},
      {"action.cordon", {{"node", K::kHost, true, "", "a worker"}}, ""},
      {"action.uncordon", {{"node", K::kHost, true, "", "a worker"}}, ""},
      {"action.drain",
       {{"node", K::kHost, true, "", "a worker"}, {"gracePeriod", K::kDuration, false, "", ""}},
       ""},
      {"action.crash", {host, {"process", K::kString, false, "", "default: every process of the host"}}, ""},
      {"action.restart", {host, {"process", K::kString, false, "", "default: every process of the host"}}, ""},
      {"action.powerOff", {host}, ""},
      {"action.powerOn", {host}, ""},
      {"action.pause", {host}, ""},
      {"action.resume", {host}, ""},
      {"action.partition", {{"groups", K::kHostGroups, true, "", "two or more disjoint groups"}}, ""},
      {"action.isolate", {one_host}, ""},
      {"action.oneWay",
       {{"from", K::kHosts, true, "", ""}, {"to", K::kHosts, true, "", "packets from `from` never reach `to`"}},
       ""},
      {"action.bridge",
       {{"left", K::kHosts, true, "", ""}, {"right", K::kHosts, true, "", ""}, {"via", K::kHost, true, "", ""}},
       ""},
      {"action.heal", {}, ""},
      {"action.clockSkew", {host, {"offset", K::kSignedDuration, true, "", ""}}, ""},
      {"action.clockJump", {host, {"by", K::kSignedDuration, true, "", ""}}, ""},
      {"action.clockDrift", {host, {"ppm", K::kInt, true, "", ""}}, ""},
      {"action.slowDisk", {host, {"fsyncDelay", K::kDuration, true, "", ""}}, ""},
      {"action.diskErrors", {host, {"rate", K::kNumber, true, "", "0..1"}}, ""},
      {"action.diskHeal", {host}, ""},
      {"action.linkFaults",
       {{"loss", K::kNumber, false, "", ""}, {"duplicate", K::kNumber, false, "", ""}, {"reorder", K::kNumber, false, "", ""}},
       ""},
      {"action.linkClear", {}, ""},
      {"action.containerCrash", {host, pod, container, {"exitCode", K::kInt, false, "", "default 137"}}, ""},
      {"action.imagePullFailure", {host, {"image", K::kString, false, "", "default: every image"}}, ""},
      {"action.imagePullHeal", {host, {"image", K::kString, false, "", ""}}, ""},
      {"action.cpuLoad", {host, pod, container, {"cpu", K::kQuantity, true, "", "e.g. 500m"}}, ""},
      {"action.cpuLoadClear", {host, pod, container}, ""},
  };
  std::sort(o.begin(), o.end(), [](const ObjectSpec& a, const ObjectSpec& b) { return a.name < b.name; });
  return o;
}

std::vector<ActionSpec> BuildActions() {
  using A = ActionKind;
  // {kind, key, fault, nemesis, heals, doc}
  return {
      {A::kApply, "apply", false, false, false, "kubectl apply of a manifest"},
      {A::kDelete, "delete", false, false, false, ""},
      {A::kScale, "scale", false, false, false, ""},
      {A::kPatch, "patch", false, false, false, ""},
      {A::kCordon, "cordon", false, false, false, ""},
      {A::kUncordon, "uncordon", false, false, false, ""},
      {A::kDrain, "drain", false, false, false, ""},
      {A::kCrash, "crash", true, true, false, ""},
      {A::kRestart, "restart", true, false, true, ""},
      {A::kPowerOff, "powerOff", true, true, false, ""},
      {A::kPowerOn, "powerOn", true, false, true, ""},
      {A::kPause, "pause", true, true, false, ""},
      {A::kResume, "resume", true, false, true, ""},
      {A::kPartition, "partition", true, true, false, ""},
      {A::kIsolate, "isolate", true, true, false, ""},
      {A::kOneWay, "oneWay", true, true, false, ""},
      {A::kBridge, "bridge", true, true, false, ""},
      {A::kHeal, "heal", true, false, true, ""},
      {A::kClockSkew, "clockSkew", true, true, false, ""},
      {A::kClockJump, "clockJump", true, true, false, ""},
      {A::kClockDrift, "clockDrift", true, true, false, ""},
      {A::kSlowDisk, "slowDisk", true, true, false, ""},
      {A::kDiskErrors, "diskErrors", true, true, false, ""},
      {A::kDiskHeal, "diskHeal", true, false, true, ""},
      {A::kLinkFaults, "linkFaults", true, true, false, ""},
      {A::kLinkClear, "linkClear", true, false, true, ""},
      {A::kContainerCrash, "containerCrash", true, true, false, ""},
      {A::kImagePullFailure, "imagePullFailure", true, true, false, ""},
      {A::kImagePullHeal, "imagePullHeal", true, false, true, ""},
      {A::kCpuLoad, "cpuLoad", true, true, false, ""},
      {A::kCpuLoadClear, "cpuLoadClear", true, false, true, ""},
  };
}

}  // namespace

const std::vector<ObjectSpec>& ObjectSpecs() {
  static const std::vector<ObjectSpec> specs = BuildObjects();
  return specs;
}

const ObjectSpec& FindObjectSpec(std::string_view name) {
  const auto& specs = ObjectSpecs();
  auto it = std::lower_bound(specs.begin(), specs.end(), name,
                             [](const ObjectSpec& s, std::string_view n) { return s.name < n; });
  assert(it != specs.end() && it->name == name);
  return *it;
}

const KeySpec* FindKey(const ObjectSpec& spec, std::string_view key) {
  for (const KeySpec& k : spec.keys) {
    if (k.key == key) return &k;
  }
  return nullptr;
}

const std::vector<ActionSpec>& ActionSpecs() {
  static const std::vector<ActionSpec> specs = BuildActions();
  return specs;
}

const ActionSpec* FindAction(std::string_view key) {
  for (const ActionSpec& a : ActionSpecs()) {
    if (a.key == key) return &a;
  }
  return nullptr;
}

const ActionSpec& ActionSpecOf(ActionKind kind) { return ActionSpecs().at(static_cast<size_t>(kind)); }

std::string_view ActionKindName(ActionKind kind) { return ActionSpecOf(kind).key; }

}  // namespace ksim::scenarios
