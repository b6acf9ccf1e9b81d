// The controller-manager's workload controllers end to end in SimCluster: apiservers,
// scheduler, kubelets and the controller-manager on one simulated network.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "scenarios/sim_cluster.h"

namespace ksim::scenarios {
namespace {

constexpr char kReplicaSet[] = R"(apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx, resources: {requests: {cpu: 100m, memory: 64Mi}}}]
)";

bool RunningReady(const api::Pod& p) {
  if (p.metadata().has_deletion_timestamp() || p.status().phase() != "Running") return false;
  for (const auto& c : p.status().conditions()) {
    if (c.type() == "Ready") return c.status() == "True";
  }
  return false;
}

// The pods of app=web that are Running and Ready (and not terminating).
std::vector<api::Pod> Serving(SimCluster& c) {
  std::vector<api::Pod> pods, out;
  if (!c.ListPods("default", "app=web", &pods).ok()) return out;
  for (const auto& p : pods) {
    if (RunningReady(p)) out.push_back(p);
  }
  return out;
}

TEST(SimClusterControllers, AReplicaSetGetsRunningPodsAndReplacesThoseOfADeadWorker) {
  SimClusterOptions o;
  o.seed = 1;
  o.control_plane = 1;
  o.workers = 3;
  SimCluster c(o);
  ASSERT_TRUE(c.runs_kubelets());
  ASSERT_TRUE(c.Bootstrap().ok());
  ASSERT_TRUE(c.Apply(kReplicaSet, "rs.yaml").ok());
  std::vector<api::Pod> pods;
  ASSERT_TRUE(c.RunUntil([&] { return (pods = Serving(c)).size() == 3; }, Seconds(60)));
  for (const auto& p : pods) EXPECT_EQ(p.metadata().owner_references(0).kind(), "ReplicaSet");

  // A deleted pod is replaced.
  ASSERT_TRUE(c.DeletePod("default", pods[0].metadata().name()).ok());
  const std::string deleted = pods[0].metadata().name();
  ASSERT_TRUE(c.RunUntil(
      [&] {
        pods = Serving(c);
        return pods.size() == 3 && std::none_of(pods.begin(), pods.end(), [&](const api::Pod& p) {
                 return p.metadata().name() == deleted;
               });
      },
      Seconds(60)));

  // A worker powered off: its pods are evicted after the unreachable taint's 300 s and
  // replaced on the others.
  const std::string dead = pods[0].spec().node_name();
  ASSERT_TRUE(c.PowerOff(dead).ok());
  ASSERT_TRUE(c.RunUntil(
      [&] {
        pods = Serving(c);
        return pods.size() == 3 && std::none_of(pods.begin(), pods.end(), [&](const api::Pod& p) {
                 return p.spec().node_name() == dead;
               });
      },
      Seconds(600)));
  std::vector<api::Pod> all;
  ASSERT_TRUE(c.ListPods("default", "app=web", &all).ok());
  int active = 0;
  for (const auto& p : all) active += p.metadata().has_deletion_timestamp() ? 0 : 1;
  EXPECT_EQ(active, 3) << "no extra pods";
}


// Every workload kind through the controller-manager's own identity (RBAC included): each
// controller creates what Kubernetes' does (ControllerRevisions before StatefulSet and
// DaemonSet pods, Jobs from a CronJob, ReplicaSets from a Deployment).
constexpr char kEveryKind[] = R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: dep}
spec:
  replicas: 2
  selector: {matchLabels: {app: dep}}
  template:
    metadata: {labels: {app: dep}}
    spec: {containers: [{name: c, image: nginx}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: c, image: nginx}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: c, image: nginx}]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  template:
    metadata: {labels: {app: once}}
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: tick}}
        spec:
          restartPolicy: Never
          containers: [{name: c, image: busybox}]
)";

int CountPods(SimCluster& c, const std::string& selector) {
  std::vector<api::Pod> pods;
  if (!c.ListPods("default", selector, &pods).ok()) return -1;
  return static_cast<int>(pods.size());
}

TEST(SimClusterControllers, EveryWorkloadKindGetsItsPodsThroughTheControllerManagersIdentity) {
  SimClusterOptions o;
  o.seed = 2;
  o.control_plane = 1;
  o.workers = 3;
  SimCluster c(o);
  ASSERT_TRUE(c.Bootstrap().ok());
  ASSERT_TRUE(c.Apply(kEveryKind, "every-kind.yaml").ok());
  EXPECT_TRUE(c.RunUntil([&] { return CountPods(c, "app=dep") == 2; }, Seconds(60))) << "Deployment";
  EXPECT_TRUE(c.RunUntil([&] { return CountPods(c, "app=db") == 2; }, Seconds(120))) << "StatefulSet";
  EXPECT_TRUE(c.RunUntil([&] { return CountPods(c, "app=agent") == 3; }, Seconds(60))) << "DaemonSet";
  EXPECT_TRUE(c.RunUntil([&] { return CountPods(c, "app=once") >= 1; }, Seconds(60))) << "Job";
  EXPECT_TRUE(c.RunUntil([&] { return CountPods(c, "app=tick") >= 1; }, Seconds(150))) << "CronJob";
}

}  // namespace
}  // namespace ksim::scenarios
