// Scenario texts shared by the loader's tests: a file that uses every key and action.
#pragma once

#include <string>

namespace ksim::scenarios::testing {

// Every key of every object and every action (scenario_schema_test checks that), with
// manifests inline so it loads without files.
inline const std::string kFullScenario = R"(apiVersion: ksim.io/v1alpha1
kind: Scenario
name: full
description: every key
duration: 10m
phases: {safety: 8m, liveness: 2m}
cluster:
  controlPlane: {hosts: 3, stores: 3, apiservers: 3, schedulers: 3, controllerManagers: 0}
  workerGroups:
  - name: web
    count: 2
    cpu: 2500m
    memory: 8Gi
    pods: 50
    labels: {tier: web}
    taints: [{key: dedicated, value: web, effect: NoSchedule}]
    zones: [a, b]
  - {name: db, count: 1}
  network: {latency: 1ms, jitter: 500us, loss: 0.01, duplicate: 0.002, reorder: 0.05}
  serviceNetwork: true
workload:
- inline: |
    apiVersion: v1
    kind: Namespace
    metadata: {name: shop}
timeline:
- at: 10s
  apply:
    inline: |
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: c}
- {at: 11s, delete: {kind: ConfigMap, name: c, namespace: default}}
- {at: 12s, scale: {kind: StatefulSet, name: db, namespace: shop, replicas: 3}}
- {at: 13s, patch: {kind: Deployment, name: web, namespace: default, type: merge, patch: {spec: {paused: true}}}}
- {at: 14s, cordon: {node: web-1}}
- {at: 15s, uncordon: {node: worker-1}}
- {at: 16s, drain: {node: db-1, gracePeriod: 5s}}
- {at: 17s, crash: {host: cp-1, process: apiserver}}
- {at: 18s, restart: {host: cp-1}}
- {at: 19s, powerOff: {host: web}}
- {at: 20s, powerOn: {host: [web-1, web-2]}}
- {at: 21s, pause: {host: cp-2}}
- {at: 22s, resume: {host: cp-2}}
- {at: 23s, partition: {groups: [[cp-1, web-1], [cp-2, cp-3]]}}
- {at: 24s, isolate: {host: cp-3}}
- {at: 25s, oneWay: {from: cp-1, to: [cp-2, cp-3]}}
- {at: 26s, bridge: {left: [cp-1], right: [cp-3], via: cp-2}}
- {at: 27s, heal: }
- {at: 28s, clockSkew: {host: cp-1, offset: -2s}}
- {at: 29s, clockJump: {host: cp-1, by: 1m}}
- {at: 30s, clockDrift: {host: workers, ppm: -200}}
- {at: 31s, slowDisk: {host: control-plane, fsyncDelay: 20ms}}
- {at: 32s, diskErrors: {host: cp-1, rate: 0.1}}
- {at: 33s, diskHeal: {host: all}}
- {at: 34s, linkFaults: {loss: 0.1, duplicate: 0.05, reorder: 0.2}}
- {at: 35s, linkClear: {}}
- {at: 36s, containerCrash: {host: web-1, pod: default/web-0, container: web, exitCode: 3}}
- {at: 37s, imagePullFailure: {host: db-1, image: "nginx:1.26"}}
- {at: 38s, imagePullHeal: {host: db-1, image: "nginx:1.26"}}
- {at: 39s, cpuLoad: {host: web-2, pod: default/web-1, container: web, cpu: 1500m}}
- {at: 40s, cpuLoadClear: {host: web-2, pod: default/web-1, container: web}}
- {at: 9m, heal: {}}
- {at: 5s, cordon: {node: web-2}}
nemesis:
- name: crashes
  faults: [crash, partition]
  every: 30s
  duration: 5s
  targets: [control-plane, db]
  processes: [store]
  mustFire: true
- {faults: [clockSkew], perMinute: 4}
expectations:
  always:
  - noPodOnTwoNodes
  - rollingUpdateBounds: {deployment: web}
  eventually:
  - deploymentAvailable: {name: web, namespace: default, replicas: 2}
    within: 90s
  - podPhase: {name: db-0, namespace: shop, phase: Running, node: db-1}
    within: 2m
  atEnd:
  - nodeReady:
  - podCount: {selector: app=web, count: 2, ready: false}
swarm:
- {path: "cluster.workerGroups[1].count", range: [1, 4]}
- {path: "nemesis[0].every", range: [10s, 1m]}
- {path: cluster.network.loss, choices: [0, 0.05]}
)";

}  // namespace ksim::scenarios::testing
