// One case per kind of error the loader reports: the exact file:line:column, field path
// and reason, and that nothing is returned.
#include <gtest/gtest.h>

#include "scenarios/scenario_loader.h"

namespace ksim::scenarios {
namespace {

const std::string kHead = "apiVersion: ksim.io/v1alpha1\nkind: Scenario\nname: m\n";
const std::string kCluster = "cluster:\n  workerGroups: [{name: w, count: 2}]\n";  // lines 5-6 after a duration
const std::string kBase = kHead + "duration: 1m\n" + kCluster;                      // appended text starts at line 7

struct Case {
  std::string name;
  std::string text;
  std::string error;  // the whole message; "..." at the end: a prefix
};

std::vector<Case> Cases() {
  return {
      // --- the file
      {"syntax", kHead + "duration: [1m\n", "t.yaml:5:1: invalid YAML: end of sequence flow not found"},
      {"not utf8", kHead + "description: \xff\n", "t.yaml:4:14: invalid UTF-8 or a control character"},
      {"two documents", kBase + "---\nname: x\n", "t.yaml:8:1: a scenario file holds one YAML document"},
      {"empty", "# nothing\n", "t.yaml:1:1: the file holds no scenario"},
      {"not a map", "[1, 2]\n", "t.yaml:1:1: expected an object, got a list"},
      // --- keys
      {"unknown key", kBase + "nemesys: []\n", "t.yaml:7:1: nemesys: unknown field \"nemesys\" (known: apiVersion, ..."},
      {"unknown nested key", kBase + "  network: {latency: 1ms, jiter: 1ms}\n",
       "t.yaml:7:27: cluster.network.jiter: unknown field \"jiter\" (known: latency, jitter, loss, duplicate, reorder)"},
      {"unknown action argument", kBase + "timeline: [{at: 1s, crash: {host: cp-1, proces: store}}]\n",
       "t.yaml:7:41: timeline[0].crash.proces: unknown field \"proces\" (known: host, process)"},
      {"duplicate key", kBase + "name: again\n", "t.yaml:7:1: name: duplicate field"},
      {"missing required", "apiVersion: ksim.io/v1alpha1\nkind: Scenario\nduration: 1m\n" + kCluster,
       "t.yaml:1:1: name: required field is missing"},
      {"api version", "apiVersion: v1\nkind: Scenario\nname: m\nduration: 1m\n" + kCluster,
       "t.yaml:1:13: apiVersion: must be ksim.io/v1alpha1"},
      {"name not a label", "apiVersion: ksim.io/v1alpha1\nkind: Scenario\nname: My_Scenario\nduration: 1m\n" + kCluster,
       "t.yaml:3:7: name: must be a lowercase DNS label (a-z, 0-9, '-', at most 63)"},
      // --- values
      {"duration type", kHead + "duration: 5\n" + kCluster,
       "t.yaml:4:11: duration: expected a duration such as 30s, 1m30s or 250ms, got integer 5"},
      {"no duration", kHead + kCluster, "t.yaml:1:1: duration: required field is missing (or give phases)"},
      {"phases sum", kHead + "duration: 1m\nphases: {safety: 40s, liveness: 30s}\n" + kCluster,
       "t.yaml:4:11: duration: 1m is not the phases' sum 1m10s (leave it out to use the sum)"},
      {"quantity", kHead + "duration: 1m\ncluster:\n  workerGroups: [{name: w, cpu: 4x}]\n",
       "t.yaml:6:33: cluster.workerGroups[0].cpu: quantity \"4x\": ..."},
      {"int range", kHead + "duration: 1m\ncluster:\n  workerGroups: [{name: w, pods: 0}]\n",
       "t.yaml:6:34: cluster.workerGroups[0].pods: must be in 1..10000"},
      {"probability", kBase + "  network: {loss: 1.5}\n", "t.yaml:7:19: cluster.network.loss: must be in 0..1"},
      {"bool", kBase + "  serviceNetwork: yes\n", "t.yaml:7:19: cluster.serviceNetwork: expected true or false, got string yes"},
      {"reserved group", kHead + "duration: 1m\ncluster:\n  workerGroups: [{name: workers}]\n",
       "t.yaml:6:25: cluster.workerGroups[0].name: \"workers\" is reserved for host names and selectors"},
      {"duplicate group", kHead + "duration: 1m\ncluster:\n  workerGroups: [{name: w}, {name: w}]\n",
       "t.yaml:6:29: cluster.workerGroups[1].name: duplicate group name \"w\""},
      {"taint effect", kHead + "duration: 1m\ncluster:\n  workerGroups: [{name: w, taints: [{key: k, effect: Never}]}]\n",
       "t.yaml:6:54: cluster.workerGroups[0].taints[0].effect: must be NoSchedule, PreferNoSchedule or NoExecute"},
      {"control plane", kBase + "  controlPlane: {hosts: 3, apiservers: 2}\n",
       "t.yaml:7:40: cluster.controlPlane.apiservers: SimCluster runs an apiserver on every control-plane host: must be 3 (hosts)"},
      {"schedulers", kBase + "  controlPlane: {hosts: 3, schedulers: 1}\n",
       "t.yaml:7:40: cluster.controlPlane.schedulers: SimCluster runs a scheduler (or none) on every control-plane host: must be 0 or 3 (hosts)"},
      // --- timeline
      {"unknown host", kBase + "timeline: [{at: 1s, powerOff: {host: cp-9}}]\n",
       "t.yaml:7:38: timeline[0].powerOff.host: no host or group \"cp-9\" in this cluster (known: control-plane, workers, all, w, cp-1..cp-3, worker-1..worker-2, lb, client)"},
      {"not a worker", kBase + "timeline: [{at: 1s, cordon: {node: cp-1}}]\n",
       "t.yaml:7:36: timeline[0].cordon.node: cp-1 is not a worker"},
      {"unknown process", kBase + "timeline: [{at: 1s, crash: {host: w-1, process: store}}]\n",
       "t.yaml:7:49: timeline[0].crash.process: worker-1 runs no process \"store\" (it runs: kubelet, kube-proxy)"},
      {"at beyond duration", kBase + "timeline: [{at: 2m, heal: }]\n",
       "t.yaml:7:17: timeline[0].at: 2m is after the end of the run (1m)"},
      {"fault in liveness", kHead + "phases: {safety: 1m, liveness: 1m}\n" + kCluster + "timeline: [{at: 1m, pause: {host: cp-1}}]\n",
       "t.yaml:7:17: timeline[0].at: pause is in the liveness phase (from 1m), where faults have stopped"},
      {"two actions", kBase + "timeline: [{at: 1s, heal: , linkClear: }]\n",
       "t.yaml:7:12: timeline[0]: has two actions, heal and linkClear: give each its own entry"},
      {"no action", kBase + "timeline: [{at: 1s}]\n", "t.yaml:7:12: timeline[0]: needs one action: apply, ..."},
      {"unknown action", kBase + "timeline: [{at: 1s, explode: {}}]\n",
       "t.yaml:7:21: timeline[0].explode: unknown field \"explode\" (known: at)"},
      {"partition overlap", kBase + "timeline: [{at: 1s, partition: {groups: [[cp-1, w], [worker-2]]}}]\n",
       "t.yaml:7:53: timeline[0].partition.groups[1]: worker-2 is also in timeline[0].partition.groups[0]"},
      {"bridge via", kBase + "timeline: [{at: 1s, bridge: {left: cp-1, right: cp-2, via: cp-2}}]\n",
       "t.yaml:7:60: timeline[0].bridge.via: cp-2 bridges the sides, so it is in neither"},
      {"pod name", kBase + "timeline: [{at: 1s, containerCrash: {host: w-1, pod: web}}]\n",
       "t.yaml:7:54: timeline[0].containerCrash.pod: must be namespace/name"},
      {"patch shape", kBase + "timeline: [{at: 1s, patch: {kind: Pod, name: p, type: json, patch: {a: 1}}}]\n",
       "t.yaml:7:68: timeline[0].patch.patch: a json patch is a list of operations"},
      {"scale kind", kBase + "timeline: [{at: 1s, scale: {kind: Pod, name: p, replicas: 2}}]\n",
       "t.yaml:7:35: timeline[0].scale.kind: must be Deployment, ReplicaSet, StatefulSet or ReplicationController"},
      {"manifest one of", kBase + "workload: [{}]\n", "t.yaml:7:12: workload[0]: needs exactly one of path and inline"},
      {"manifest content", kBase + "workload: [{inline: \"kind: Pod\"}]\n",
       "t.yaml:7:21: workload[0].inline: t.yaml:7:1: a document without apiVersion and kind"},
      // --- nemesis
      {"nemesis kind", kBase + "nemesis: [{faults: [heal]}]\n",
       "t.yaml:7:21: nemesis[0].faults[0]: \"heal\" is not a fault a nemesis draws (crash, ..."},
      {"nemesis rate twice", kBase + "nemesis: [{faults: [crash], every: 1s, perMinute: 3}]\n",
       "t.yaml:7:51: nemesis[0].perMinute: give every or perMinute, not both"},
      {"nemesis targets", kBase + "nemesis: [{faults: [partition], targets: cp-1}]\n",
       "t.yaml:7:42: nemesis[0].targets: partition needs at least 2 target hosts"},
      {"nemesis process", kBase + "nemesis: [{faults: [crash], targets: workers, processes: [store]}]\n",
       "t.yaml:7:58: nemesis[0].processes[0]: no target host runs a process \"store\""},
      // --- expectations
      {"unknown invariant", kBase + "expectations: {always: [noPodOnThreeNodes]}\n",
       "t.yaml:7:25: expectations.always[0]: unknown \"noPodOnThreeNodes\" (endpointsOnlyReadyPods, ..."},
      {"condition as invariant", kBase + "expectations: {always: [deploymentAvailable: {name: web}]}\n",
       "t.yaml:7:25: expectations.always[0].deploymentAvailable: not an invariant: \"deploymentAvailable\" (endpointsOnlyReadyPods, ..."},
      {"param type", kBase + "expectations: {atEnd: [deploymentAvailable: {name: web, replicas: three}]}\n",
       "t.yaml:7:67: expectations.atEnd[0].deploymentAvailable.replicas: expected an integer, got string three"},
      {"unknown param", kBase + "expectations: {atEnd: [nodeReady: {nodes: w-1}]}\n",
       "t.yaml:7:36: expectations.atEnd[0].nodeReady.nodes: nodeReady has no parameter \"nodes\" (parameters: node)"},
      {"missing param", kBase + "expectations: {atEnd: [deploymentAvailable: ]}\n",
       "t.yaml:7:24: expectations.atEnd[0].deploymentAvailable.name: required parameter is missing"},
      {"param host", kBase + "expectations: {atEnd: [nodeReady: {node: cp-1}]}\n",
       "t.yaml:7:42: expectations.atEnd[0].nodeReady.node: cp-1 is not a worker"},
      {"within missing", kBase + "expectations: {eventually: [nodeReady]}\n",
       "t.yaml:7:29: expectations.eventually[0].within: required field is missing"},
      {"within too long", kHead + "phases: {safety: 1m, liveness: 1m}\n" + kCluster +
                              "expectations: {eventually: [{nodeReady: , within: 90s}]}\n",
       "t.yaml:7:51: expectations.eventually[0].within: 1m30s from the liveness phase's start at 1m ends after the run (2m)"},
      {"within on always", kBase + "expectations: {always: [{noPodOnTwoNodes: , within: 1s}]}\n",
       "t.yaml:7:53: expectations.always[0].within: only eventually: entries take within"},
      // --- swarm
      {"swarm path", kBase + "swarm: [{path: cluster.workers, range: [1, 2]}]\n",
       "t.yaml:7:16: swarm[0].path: \"cluster.workers\" cannot be drawn (fields: cluster.workerGroups[].count, ..."},
      {"swarm index", kBase + "swarm: [{path: \"cluster.workerGroups[1].count\", range: [1, 2]}]\n",
       "t.yaml:7:16: swarm[0].path: index 1 is out of range (the file has 1)"},
      {"swarm order", kBase + "swarm: [{path: cluster.network.latency, range: [2ms, 1ms]}]\n",
       "t.yaml:7:48: swarm[0].range: min is greater than max"},
      {"swarm value type", kBase + "swarm: [{path: cluster.network.loss, choices: [0, 2]}]\n",
       "t.yaml:7:51: swarm[0].choices[1]: must be in 0..1"},
  };
}

TEST(ScenarioErrors, EachKindNamesLineColumnFieldAndReason) {
  for (const Case& c : Cases()) {
    Scenario out;
    out.name = "untouched";
    const Status s = ParseScenario(c.text, "t.yaml", "", &out);
    if (s.ok()) {
      ADD_FAILURE() << c.name << ": loaded";
      continue;
    }
    EXPECT_TRUE(s.Is(Status::Code::kInvalidArgument)) << c.name;
    EXPECT_EQ(out.name, "untouched") << c.name;  // nothing returned on error
    const bool prefix = c.error.size() > 3 && c.error.substr(c.error.size() - 3) == "...";
    if (prefix) {
      const std::string want = c.error.substr(0, c.error.size() - 3);
      EXPECT_EQ(s.message().substr(0, want.size()), want) << c.name << "\n  whole: " << s.message();
    } else {
      EXPECT_EQ(s.message(), c.error) << c.name;
    }
  }
}

}  // namespace
}  // namespace ksim::scenarios
