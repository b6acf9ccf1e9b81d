// The workload invariants (scenarios/checks/invariants_workloads.cc): each caught in a
// deliberately broken world and quiet in a healthy run that also reaches its eventually
// conditions (the liveness floor). Broken controller writes are reported through the same
// hook the controller-managers report theirs (SimClusterOptions::on_controller_write).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <memory>

#include "cluster/api/core.pb.h"
#include "cluster/api/discovery.pb.h"
#include "cluster/api/meta.pb.h"
#include "cluster/api/options.pb.h"
#include "cluster/apiserver/apiserver.pb.h"
#include "scenarios/scenario_loader.h"
#include "scenarios/scenario_runner.h"
#include "sim/world.h"

namespace ksim::scenarios {
namespace {

Scenario Parse(const std::string& text) {
  Scenario s;
  const Status st = ParseScenario(text, "t.yaml", "", &s);
  EXPECT_TRUE(st.ok()) << st.message();
  return s;
}

std::string Violations(const ScenarioResult& r) {
  std::string out = r.status.ok() ? "" : "status: " + r.status.message() + "\n";
  for (const Violation& v : r.violations) out += v.expectation + ": " + v.message + "\n";
  return out;
}

const std::string kHeader = R"(apiVersion: ksim.io/v1alpha1
kind: Scenario
name: t
)";

using WriteHook = std::function<void(const std::string&, const std::string&, bool, const apiserver::Request&)>;

// Wraps the runner's controller-write hook: `extra(real, cluster, request)` runs after each
// real write is reported, and may report made-up writes through `real`.
RunOptions Wrap(std::function<void(const WriteHook& real, SimCluster& c, const apiserver::Request&)> extra) {
  RunOptions o;
  auto cluster = std::make_shared<SimCluster*>(nullptr);
  o.at_start = [cluster](SimCluster& c) { *cluster = &c; };
  o.adjust_cluster = [cluster, extra](SimClusterOptions* co) {
    WriteHook real = co->on_controller_write;
    co->on_controller_write = [real, cluster, extra](const std::string& host, const std::string& id, bool acting,
                                                     const apiserver::Request& r) {
      real(host, id, acting, r);
      if (*cluster != nullptr) extra(real, **cluster, r);
    };
  };
  return o;
}

// A rollout (maxSurge 1, maxUnavailable 0) of 4 replicas; the broken world adds three bare
// pods matching the Deployment's selector during it (a scale past maxSurge by hand).
std::string RolloutScenario(bool extra_pods) {
  std::string s = kHeader + R"(phases: {safety: 40s, liveness: 60s}
cluster:
  controlPlane: {hosts: 1}
  workerGroups: [{name: w, count: 3}]
workload:
- inline: |
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: 4
      strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec: {containers: [{name: web, image: "nginx:1.25"}]}
timeline:
- at: 15s
  patch:
    kind: Deployment
    name: web
    patch: {spec: {template: {spec: {containers: [{name: web, image: "nginx:1.26"}]}}}}
)";
  if (extra_pods) {
    for (int i = 1; i <= 3; ++i) {
      s += fmt::format(R"(- at: 16s
  apply:
    inline: |
      apiVersion: v1
      kind: Pod
      metadata: {{name: byhand-{}, labels: {{app: web, pod-template-hash: byhand}}}}
      spec: {{containers: [{{name: web, image: "nginx:1.26"}}]}}
)",
                       i);
    }
  }
  return s + R"(expectations:
  always:
  - rollingUpdateBounds: {deployment: web}
  eventually:
  - deploymentAvailable: {name: web, replicas: 4}
    within: 50s
)";
}

TEST(WorkloadInvariants, RollingUpdatePastMaxSurgeIsCaughtAndAHealthyRolloutIsQuiet) {
  const ScenarioResult bad = RunScenario(Parse(RolloutScenario(true)), 1);
  ASSERT_TRUE(bad.status.ok()) << bad.status.message();
  const std::string v = Violations(bad);
  EXPECT_NE(v.find("always rollingUpdateBounds: deployment default/web: "), std::string::npos) << v;
  EXPECT_NE(v.find(" active pods > 4 + 1"), std::string::npos) << v;
  const ScenarioResult healthy = RunScenario(Parse(RolloutScenario(false)), 1);
  EXPECT_TRUE(healthy.passed) << Violations(healthy);
}

// A worker powers off; its pinned pod tolerates `unreachable` for 60 s. The broken world
// reports a controller-manager delete of that pod 5 s after the taint is written.
const std::string kWorkerDies = kHeader + R"(phases: {safety: 150s, liveness: 90s}
cluster:
  controlPlane: {hosts: 1}
  workerGroups: [{name: w, count: 3}]
workload:
- inline: |
    apiVersion: v1
    kind: Pod
    metadata: {name: pinned}
    spec:
      nodeName: worker-2
      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 60}
      containers: [{name: c, image: nginx}]
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: app}
    spec:
      replicas: 3
      selector: {matchLabels: {app: app}}
      template:
        metadata: {labels: {app: app}}
        spec:
          tolerations:
          - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 20}
          containers: [{name: app, image: nginx}]
timeline:
- at: 5s
  powerOff: {host: worker-2}
expectations:
  always: [noEvictionBeforeToleration]
  eventually:
  - deploymentAvailable: {name: app}
    within: 60s
  - podCount: {selector: app=app, count: 3}
    within: 60s
)";

bool TaintsWorker2(const apiserver::Request& r) {
  if (r.resource() != "nodes" || r.verb() != "update" || r.name() != "worker-2") return false;
  api::Node n;
  if (!n.ParseFromString(r.body())) return false;
  for (const auto& t : n.spec().taints()) {
    if (t.key() == "node.kubernetes.io/unreachable") return true;
  }
  return false;
}

TEST(WorkloadInvariants, AnEvictionBeforeTheTolerationIsCaughtAndTimelyOnesAreQuiet) {
  auto faked = std::make_shared<bool>(false);
  RunOptions o = Wrap([faked](const WriteHook& real, SimCluster& c, const apiserver::Request& r) {
    if (*faked || !TaintsWorker2(r)) return;
    *faked = true;
    c.world().After(Seconds(5), [real] {
      apiserver::Request del;
      del.set_verb("delete");
      del.set_resource("pods");
      del.set_namespace_("default");
      del.set_name("pinned");
      real("cp-1", "cp-1", true, del);
    });
  });
  const ScenarioResult bad = RunScenario(Parse(kWorkerDies), 1, o);
  ASSERT_TRUE(bad.status.ok()) << bad.status.message();
  EXPECT_TRUE(*faked);
  const std::string v = Violations(bad);
  EXPECT_NE(v.find("always noEvictionBeforeToleration: cp-1 deleted pod default/pinned on worker-2"), std::string::npos)
      << v;
  EXPECT_NE(v.find("node.kubernetes.io/unreachable since"), std::string::npos) << v;
  EXPECT_NE(v.find("tolerated 60s"), std::string::npos) << v;
  // The node lifecycle controller's own evictions (after 20 s and 60 s) are quiet.
  const ScenarioResult healthy = RunScenario(Parse(kWorkerDies), 1);
  EXPECT_TRUE(healthy.passed) << Violations(healthy);
}

// A Service over a Deployment that rolls; the broken world has a pod matching the selector
// that never starts (bound to a Node that does not exist) and reports an EndpointSlice
// write listing it ready 40 s after it was created.
const std::string kEndpoints = kHeader + R"(phases: {safety: 60s, liveness: 40s}
cluster:
  controlPlane: {hosts: 1}
  workerGroups: [{name: w, count: 2}]
workload:
- inline: |
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: 3
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec: {containers: [{name: web, image: "nginx:1.25", ports: [{containerPort: 80}]}]}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: web}
    spec:
      selector: {app: web}
      ports: [{port: 80, targetPort: 80}]
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: stuck, labels: {app: web}}
    spec:
      nodeName: nowhere
      containers: [{name: web, image: nginx}]
timeline:
- at: 10s
  patch:
    kind: Deployment
    name: web
    patch: {spec: {template: {spec: {containers: [{name: web, image: "nginx:1.26"}]}}}}
- at: 20s
  scale: {name: web, replicas: 5}
expectations:
  always:
  - endpointsOnlyReadyPods: {service: web}
  eventually:
  - deploymentAvailable: {name: web, replicas: 5}
    within: 40s
  - serviceAnswers: {name: web}
    within: 40s
)";

TEST(WorkloadInvariants, AReadyEndpointForAnUnreadyPodIsCaughtAndTheControllersSlicesAreQuiet) {
  auto armed = std::make_shared<bool>(false);
  RunOptions o = Wrap([armed](const WriteHook& real, SimCluster& c, const apiserver::Request&) {
    if (*armed) return;
    *armed = true;
    c.world().After(Seconds(40), [real] {
      api::EndpointSlice s;
      s.mutable_metadata()->set_name("web-byhand");
      s.mutable_metadata()->set_namespace_("default");
      (*s.mutable_metadata()->mutable_labels())["kubernetes.io/service-name"] = "web";
      api::Endpoint* ep = s.add_endpoints();
      ep->add_addresses("10.244.9.9");
      ep->mutable_conditions()->set_ready(true);
      ep->mutable_target_ref()->set_kind("Pod");
      ep->mutable_target_ref()->set_name("stuck");
      apiserver::Request w;
      w.set_verb("create");
      w.set_resource("endpointslices");
      w.set_namespace_("default");
      w.set_body(s.SerializeAsString());
      real("cp-1", "cp-1", true, w);
    });
  });
  const ScenarioResult bad = RunScenario(Parse(kEndpoints), 1, o);
  ASSERT_TRUE(bad.status.ok()) << bad.status.message();
  const std::string v = Violations(bad);
  EXPECT_NE(v.find("always endpointsOnlyReadyPods: cp-1 wrote create endpointslice default/web-byhand with pod stuck "
                   "ready"),
            std::string::npos)
      << v;
  EXPECT_NE(v.find("not Ready since"), std::string::npos) << v;
  const ScenarioResult healthy = RunScenario(Parse(kEndpoints), 1);
  EXPECT_TRUE(healthy.passed) << Violations(healthy);
}

// The Deployment is deleted at 60 s (the collector then takes its ReplicaSet and pods);
// the broken world reports a collector's delete (propagationPolicy Background) of one of
// its running pods at 25 s, while the pod's ReplicaSet lives.
const std::string kGc = kHeader + R"(phases: {safety: 70s, liveness: 40s}
cluster:
  controlPlane: {hosts: 1}
  workerGroups: [{name: w, count: 2}]
workload:
- inline: |
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: 2
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec: {containers: [{name: web, image: nginx}]}
timeline:
- at: 60s
  delete: {kind: Deployment, name: web}
expectations:
  always: [garbageCollectorKeepsLiveOwners]
  eventually:
  - podCount: {selector: app=web, count: 0, ready: false}
    within: 40s
)";

TEST(WorkloadInvariants, ACollectorDeleteWithALiveOwnerIsCaughtAndTheCollectorsOwnAreQuiet) {
  auto victim = std::make_shared<std::string>();
  auto real = std::make_shared<WriteHook>();
  RunOptions o;
  o.adjust_cluster = [real](SimClusterOptions* co) { *real = co->on_controller_write; };
  o.at_start = [real, victim](SimCluster& c) {
    c.world().After(Seconds(25), [real, victim, &c] {
      for (const std::string& w : c.worker_hosts()) {
        for (const PodSandboxStatus& sb : c.world().FindHost(w)->runtime().SandboxSnapshot()) {
          if (sb.metadata.name.rfind("web-", 0) != 0 || !victim->empty()) continue;
          *victim = sb.metadata.name;
          api::DeleteOptions opts;
          opts.set_propagation_policy("Background");
          opts.mutable_preconditions()->set_uid(sb.metadata.uid);
          apiserver::Request del;
          del.set_verb("delete");
          del.set_resource("pods");
          del.set_namespace_("default");
          del.set_name(sb.metadata.name);
          del.set_body(opts.SerializeAsString());
          (*real)("cp-1", "cp-1", true, del);
        }
      }
    });
  };
  const ScenarioResult bad = RunScenario(Parse(kGc), 1, o);
  ASSERT_TRUE(bad.status.ok()) << bad.status.message();
  ASSERT_FALSE(victim->empty());
  const std::string v = Violations(bad);
  EXPECT_NE(v.find("always garbageCollectorKeepsLiveOwners: cp-1 deleted pods default/" + *victim +
                   " (Background) at "),
            std::string::npos)
      << v;
  EXPECT_NE(v.find("while its owner ReplicaSet/web-"), std::string::npos) << v;
  // The collector's own deletes of the ReplicaSet and pods, after the Deployment went.
  const ScenarioResult healthy = RunScenario(Parse(kGc), 1);
  EXPECT_TRUE(healthy.passed) << Violations(healthy);
}

}  // namespace
}  // namespace ksim::scenarios
