// The scenario runner: actions executed and observed, a partition and heal, nemesis draws,
// each condition true and false, each invariant caught by a deliberately bad world and quiet
// on a healthy run, determinism of the whole run.
#include <gtest/gtest.h>

#include <algorithm>

#include "cluster/api/core.pb.h"
#include "cluster/apiserver/apiserver.pb.h"
#include "scenarios/checks/check.h"
#include "scenarios/scenario_loader.h"
#include "scenarios/scenario_record.h"
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

const std::string kHeader = R"(apiVersion: ksim.io/v1alpha1
kind: Scenario
name: t
)";

const std::string kWeb = R"(
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
        spec:
          containers: [{name: web, image: nginx, ports: [{containerPort: 80}]}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: web}
    spec:
      selector: {app: web}
      ports: [{port: 80, targetPort: 80}]
)";

// A healthy run with a timeline of API actions and a partition that heals: every
// expectation holds (the liveness floor of the invariants), and it replays.
const std::string kHealthy = kHeader + R"(phases: {safety: 40s, liveness: 40s}
cluster:
  controlPlane: {hosts: 1}
  workerGroups: [{name: w, count: 2}]
)" + kWeb + R"(
timeline:
- at: 5s
  scale: {name: web, replicas: 3}
- at: 8s
  patch: {kind: Deployment, name: web, type: merge, patch: {metadata: {labels: {patched: "yes"}}}}
- at: 10s
  partition: {groups: [[cp-1, worker-1], [worker-2]]}
- at: 25s
  heal:
expectations:
  always:
  - noPodOnTwoNodes
  - podsBoundOnce
  - oneActingControllerManager
  - statefulSetIdentityUnique
  - nodeCapacityRespected
  eventually:
  - deploymentAvailable: {name: web, replicas: 3}
    within: 30s
  - serviceAnswers: {name: web}
    within: 30s
  - dnsResolves: {name: web.default.svc.cluster.local}
    within: 30s
  - nodeReady: {}
    within: 30s
  atEnd:
  - podCount: {selector: app=web, count: 3}
  - noPendingPods
)";

bool HasEvent(const ScenarioResult& r, const std::string& text) {
  return std::any_of(r.events.begin(), r.events.end(),
                     [&](const RunEvent& e) { return e.what.find(text) != std::string::npos; });
}

std::string Violations(const ScenarioResult& r) {
  std::string out = r.status.ok() ? "" : "status: " + r.status.message() + "\n";
  for (const Violation& v : r.violations) out += v.expectation + ": " + v.message + "\n";
  return out;
}

TEST(ScenarioRunner, HealthyRunPassesExecutesTheTimelineAndReplays) {
  const Scenario s = Parse(kHealthy);
  const ScenarioResult a = RunScenario(s, 7);
  ASSERT_TRUE(a.status.ok()) << a.status.message();
  EXPECT_TRUE(a.passed) << Violations(a);
  EXPECT_TRUE(HasEvent(a, "scale Deployment default/web to 3")) << a.events.size();
  EXPECT_TRUE(HasEvent(a, "patch (merge) Deployment default/web"));
  EXPECT_FALSE(HasEvent(a, "FAILED"));
  EXPECT_TRUE(HasEvent(a, "timeline: partition"));
  EXPECT_TRUE(HasEvent(a, "timeline: heal"));
  EXPECT_TRUE(HasEvent(a, "safety phase over"));
  ASSERT_EQ(a.faults.size(), 2u);
  EXPECT_EQ(a.faults[0].at, Seconds(10));
  EXPECT_EQ(a.simulated, Seconds(80));
  // As a report's seed run: the partition is a band from 10 s to its heal at 25 s.
  const reports::SeedRun run = ToSeedRun(s, a, "t.yaml");
  EXPECT_EQ(run.verdict, reports::Verdict::kPass);
  ASSERT_EQ(run.faults.size(), 1u);
  EXPECT_EQ(run.faults[0].kind, "partition");
  EXPECT_EQ(run.faults[0].start_ns, Seconds(10).count());
  EXPECT_EQ(run.faults[0].end_ns, Seconds(25).count());
  EXPECT_EQ(run.faults[0].origin, "timeline");
  EXPECT_EQ(run.expectations.size(), s.expectations.size());
  EXPECT_EQ(run.coverage.at("fault.partition"), 1u);
  EXPECT_EQ(run.replay_command, "ksim run t.yaml --seed 7");
  const ScenarioResult b = RunScenario(s, 7);
  EXPECT_EQ(a.trace_hash, b.trace_hash);
  EXPECT_EQ(a.events.size(), b.events.size());
  EXPECT_EQ(a.passed, b.passed);
}

// Conditions that cannot hold fail with their reason; API actions that fail are logged,
// not fatal.
TEST(ScenarioRunner, FalseConditionsFailWithTheirReason) {
  const Scenario s = Parse(kHeader + R"(duration: 20s
cluster:
  controlPlane: {hosts: 1}
  workerGroups: [{name: w, count: 1}]
)" + kWeb + R"(
timeline:
- at: 2s
  delete: {kind: Deployment, name: missing}
expectations:
  eventually:
  - deploymentAvailable: {name: web, replicas: 5}
    within: 10s
  - statefulSetReady: {name: db}
    within: 10s
  - daemonSetReady: {name: ds}
    within: 10s
  - jobComplete: {name: job}
    within: 10s
  - podPhase: {name: nope}
    within: 10s
  - serviceAnswers: {name: nope}
    within: 10s
  - dnsResolves: {name: nope.default.svc.cluster.local}
    within: 10s
  - nodeReady: {node: worker-1}
    within: 10s
  atEnd:
  - podCount: {selector: app=web, count: 7}
  - noPendingPods
)");
  const ScenarioResult r = RunScenario(s, 3);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_FALSE(r.passed);
  const std::string v = Violations(r);
  EXPECT_NE(v.find("eventually deploymentAvailable: not true within 10s of the start: "), std::string::npos) << v;
  EXPECT_NE(v.find("statefulSetReady: not true within 10s of the start: statefulset default/db not found"),
            std::string::npos) << v;
  EXPECT_NE(v.find("daemonset default/ds not found"), std::string::npos) << v;
  EXPECT_NE(v.find("job default/job not found"), std::string::npos) << v;
  EXPECT_NE(v.find("pod default/nope not found"), std::string::npos) << v;
  EXPECT_NE(v.find("service default/nope not found"), std::string::npos) << v;
  EXPECT_NE(v.find("no A record for nope.default.svc.cluster.local"), std::string::npos) << v;
  EXPECT_NE(v.find("atEnd podCount: at the end: 2 ready pods match \"app=web\", want 7"), std::string::npos) << v;
  // True ones stay quiet.
  EXPECT_EQ(v.find("nodeReady"), std::string::npos) << v;
  EXPECT_EQ(v.find("noPendingPods"), std::string::npos) << v;
  EXPECT_TRUE(HasEvent(r, "delete Deployment default/missing")) << v;
  EXPECT_TRUE(HasEvent(r, "FAILED"));
}

// Each workload kind's condition holds once it converges; cordon, drain and apply act.
// (statefulSetReady and daemonSetReady have only their false case here: in a SimCluster the
// controller-manager's RBAC role lacks create on apps/controllerrevisions, so those two
// controllers never create pods; reported to the lead, cluster/apiserver is not ours.)
TEST(ScenarioRunner, WorkloadConditionsHoldAndNodeActionsAct) {
  const Scenario s = Parse(kHeader + R"(duration: 60s
cluster:
  controlPlane: {hosts: 1}
  workerGroups: [{name: w, count: 2}]
workload:
- inline: |
    apiVersion: batch/v1
    kind: Job
    metadata: {name: job}
    spec:
      template:
        metadata: {annotations: {sim.ksim.io/work: exitAfter=2s}}
        spec:
          restartPolicy: Never
          containers: [{name: work, image: busybox}]
timeline:
- at: 20s
  cordon: {node: worker-1}
- at: 21s
  apply:
    inline: |
      apiVersion: v1
      kind: Pod
      metadata: {name: late}
      spec: {containers: [{name: c, image: nginx}]}
- at: 30s
  uncordon: {node: worker-1}
- at: 31s
  drain: {node: worker-2}
expectations:
  always:
  - noPodOnTwoNodes
  - statefulSetIdentityUnique
  eventually:
  - jobComplete: {name: job}
    within: 40s
  - podPhase: {name: late, node: worker-2}
    within: 40s
)");
  const ScenarioResult r = RunScenario(s, 5);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_TRUE(r.passed) << Violations(r);
  EXPECT_TRUE(HasEvent(r, "cordon worker-1"));
  EXPECT_TRUE(HasEvent(r, "apply Pod default/late (created)"));
  EXPECT_TRUE(HasEvent(r, "uncordon worker-1"));
  // kubectl's drain refuses the bare pod "late" on worker-2 (no --force).
  EXPECT_TRUE(HasEvent(r, "drain worker-2")) << r.events.size();
}

// A scenario naming an invariant without a checker does not start.
// (Every catalogue entry has a checker now: the expectation is renamed after parsing.)
TEST(ScenarioRunner, UnimplementedInvariantStopsTheRunBeforeItStarts) {
  Scenario s = Parse(kHeader + R"(duration: 10s
cluster:
  workerGroups: [{name: w, count: 1}]
expectations:
  always: [noPodOnTwoNodes]
)");
  ASSERT_EQ(s.expectations.size(), 1u);
  s.expectations[0].name = "notACheckYet";
  const ScenarioResult r = RunScenario(s, 1);
  EXPECT_TRUE(r.status.Is(Status::Code::kNotSupported));
  EXPECT_NE(r.status.message().find("not implemented yet: notACheckYet"), std::string::npos) << r.status.message();
}

const std::string kSmall = kHeader + R"(duration: 30s
cluster:
  controlPlane: {hosts: 1}
  workerGroups: [{name: w, count: 2}]
workload:
- inline: |
    apiVersion: apps/v1
    kind: StatefulSet
    metadata: {name: db}
    spec:
      replicas: 1
      serviceName: db
      selector: {matchLabels: {app: db}}
      template:
        metadata: {labels: {app: db}}
        spec: {containers: [{name: db, image: nginx}]}
expectations:
  always:
  - noPodOnTwoNodes
  - statefulSetIdentityUnique
  - oneActingControllerManager
)";

// A bad world: two sandboxes of StatefulSet pod db-0 (two uids) started by hand, one on
// each worker.
TEST(ScenarioRunner, TwoRunningCopiesOfAStatefulSetPodAreCaught) {
  const Scenario s = Parse(kSmall);
  RunOptions o;
  o.at_start = [](SimCluster& c) {
    c.world().After(Seconds(15), [&c] {
      int n = 0;
      for (const std::string& w : c.worker_hosts()) {
        PodSandboxConfig config;
        config.metadata = {"db-0", "default", "impostor-uid-" + std::to_string(++n), 0};
        config.pod_cidr = "10.244." + std::to_string(90 + n) + ".0/24";
        c.world().FindHost(w)->runtime().RunPodSandbox(config, [](Status st, std::string) { EXPECT_TRUE(st.ok()); });
      }
    });
  };
  const ScenarioResult r = RunScenario(s, 2, o);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_FALSE(r.passed);
  const std::string v = Violations(r);
  // The two impostors, and the controller's own db-0 too when it has started by then.
  EXPECT_NE(v.find("always statefulSetIdentityUnique: "), std::string::npos) << v;
  EXPECT_NE(v.find(" pods hold identity default/db-0"), std::string::npos) << v;
  EXPECT_NE(v.find("always noPodOnTwoNodes: pod default/db-0 runs on worker-1, worker-2"), std::string::npos) << v;
  ASSERT_FALSE(r.violations.empty());
  EXPECT_GE(r.violations[0].at, Seconds(15));
  // Quiet without the impostor (same scenario, same seed).
  const ScenarioResult healthy = RunScenario(s, 2);
  EXPECT_TRUE(healthy.passed) << Violations(healthy);
}

// A bad world: a pod placed by hand (spec.nodeName, no scheduler) asking for more CPU than
// its node has, while that node's kubelet is paused (so it cannot reject the pod yet).
TEST(ScenarioRunner, APodPlacedBeyondItsNodesCapacityIsCaught) {
  const Scenario s = Parse(kHeader + R"(duration: 20s
cluster:
  controlPlane: {hosts: 1}
  workerGroups: [{name: w, count: 1, cpu: "2"}]
timeline:
- at: 4s
  pause: {host: worker-1}
- at: 5s
  apply:
    inline: |
      apiVersion: v1
      kind: Pod
      metadata: {name: big}
      spec:
        nodeName: worker-1
        containers: [{name: c, image: nginx, resources: {requests: {cpu: "3"}}}]
expectations:
  always: [nodeCapacityRespected]
)");
  const ScenarioResult r = RunScenario(s, 1);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  const std::string v = Violations(r);
  EXPECT_NE(v.find("always nodeCapacityRespected: node worker-1: pods request cpu=3000m"), std::string::npos) << v;
}

// podsBoundOnce's rule on a made-up history (the apiserver refuses to rebind a pod, so no
// run can show it): a UID seen on a second node is reported once, re-seeing the same node,
// an unbound pod, or a deleted and re-created UID is not.
TEST(ScenarioRunner, PodsBoundOnceReportsARebinding) {
  checks::BindingLog log;
  EXPECT_EQ(log.Seen("u1", "default/a", ""), "");
  EXPECT_EQ(log.Seen("u1", "default/a", "worker-1"), "");
  EXPECT_EQ(log.Seen("u1", "default/a", "worker-1"), "");
  EXPECT_EQ(log.Seen("u2", "default/b", "worker-2"), "");
  EXPECT_EQ(log.Seen("u1", "default/a", "worker-2"), "pod default/a (uid u1) bound to worker-1, then to worker-2");
  EXPECT_EQ(log.Seen("u1", "default/a", "worker-2"), "");
  log.Forget("u2");
  EXPECT_EQ(log.Seen("u2", "default/b", "worker-1"), "");
}

// A bad world: one controller-manager write reported as sent while not acting.
TEST(ScenarioRunner, AControllerManagerWritingWhileNotActingIsCaught) {
  const Scenario s = Parse(kSmall);
  RunOptions o;
  o.adjust_cluster = [](SimClusterOptions* co) {
    auto real = co->on_controller_write;
    auto count = std::make_shared<int>(0);
    co->on_controller_write = [real, count](const std::string& host, const std::string& id, bool acting,
                                            const apiserver::Request& r) {
      real(host, id, acting && ++*count != 3, r);  // the third write claims not to act
    };
  };
  const ScenarioResult r = RunScenario(s, 2, o);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  const std::string v = Violations(r);
  EXPECT_NE(v.find("always oneActingControllerManager: "), std::string::npos) << v;
  EXPECT_NE(v.find("wrote while not acting"), std::string::npos) << v;
}

// Nemesis schedules: deterministic per seed, inside the safety phase, inject/undo pairs
// that do not overlap, one entry's draws independent of another entry's presence.
TEST(ScenarioRunner, NemesisDrawsAreDeterministicAndInsideTheSafetyPhase) {
  const std::string base = kHeader + R"(phases: {safety: 5m, liveness: 1m}
cluster:
  controlPlane: {hosts: 3}
  workerGroups: [{name: w, count: 3}]
nemesis:
- name: a
  faults: [crash, partition, powerOff, clockSkew, linkFaults]
  every: 20s
  duration: 7s
  targets: control-plane
  processes: [apiserver]
)";
  const std::string more = base + R"(- name: b
  faults: [pause]
  every: 10s
  targets: workers
)";
  const std::vector<std::pair<std::string, std::vector<std::string>>> hosts = {
      {"cp-1", {"apiserver", "store"}}, {"cp-2", {"apiserver", "store"}}, {"cp-3", {"apiserver", "store"}}};
  std::vector<std::pair<std::string, std::vector<faults::TimedFault>>> x, y, z, w;
  ASSERT_TRUE(NemesisSchedule(Parse(base), 11, hosts, &x).ok());
  ASSERT_TRUE(NemesisSchedule(Parse(base), 11, hosts, &y).ok());
  ASSERT_TRUE(NemesisSchedule(Parse(base), 12, hosts, &z).ok());
  ASSERT_TRUE(NemesisSchedule(Parse(more), 11, hosts, &w).ok());
  ASSERT_EQ(x.size(), 1u);
  const auto& sched = x[0].second;
  ASSERT_GE(sched.size(), 10u);  // ~15 faults expected in 5 minutes at one per 20 s + 7 s
  ASSERT_EQ(sched.size() % 2, 0u);
  std::vector<std::string> ax, ay, az, aw;
  for (const auto& f : sched) ax.push_back(f.Describe());
  for (const auto& f : y[0].second) ay.push_back(f.Describe());
  for (const auto& f : z[0].second) az.push_back(f.Describe());
  for (const auto& f : w[0].second) aw.push_back(f.Describe());
  EXPECT_EQ(ax, ay);
  EXPECT_NE(ax, az);
  EXPECT_EQ(ax, aw);  // entry b does not change entry a's draws
  ASSERT_EQ(w.size(), 2u);
  EXPECT_FALSE(w[1].second.empty());
  for (size_t i = 0; i < sched.size(); i += 2) {
    EXPECT_GE(sched[i].at, Nanos(0));
    EXPECT_LE(sched[i + 1].at, Seconds(300));
    EXPECT_EQ(sched[i + 1].at - sched[i].at, Seconds(7));
    if (i + 2 < sched.size()) {
      EXPECT_GE(sched[i + 2].at, sched[i + 1].at);  // no overlap
    }
    if (sched[i].fault.kind == faults::FaultKind::kCrashProcess) {
      EXPECT_EQ(sched[i].fault.process, "apiserver");
      EXPECT_EQ(sched[i + 1].fault.kind, faults::FaultKind::kRestartProcess);
    }
    EXPECT_NE(sched[i].fault.host.rfind("worker", 0), 0u);  // targets: control-plane only
  }
}

// A short run with a nemesis: its faults fire, are undone, and a mustFire that cannot be
// met (a kind drawn too rarely in 1 s) fails the run.
TEST(ScenarioRunner, NemesisFaultsFireInTheRun) {
  const Scenario s = Parse(kHeader + R"(phases: {safety: 60s, liveness: 20s}
cluster:
  controlPlane: {hosts: 1}
  workerGroups: [{name: w, count: 2}]
nemesis:
- name: n
  faults: [pause, isolate]
  every: 10s
  duration: 3s
  targets: workers
  mustFire: true
expectations:
  eventually:
  - nodeReady: {}
    within: 20s
)");
  const ScenarioResult r = RunScenario(s, 4);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  ASSERT_EQ(r.nemesis_fired.size(), 1u);
  EXPECT_GT(r.nemesis_fired[0].second, 0);
  EXPECT_TRUE(HasEvent(r, "nemesis n: "));
  for (const auto& f : r.faults) EXPECT_LE(f.at, Seconds(60));
  const std::string v = Violations(r);
  // Either both kinds fired (pass) or mustFire names the one that did not.
  if (!r.passed) {
    EXPECT_NE(v.find("mustFire: no "), std::string::npos) << v;
  }
}

// A nemesis that crashes only processes SimCluster adds at Bootstrap (the controller-manager)
// fires: the runner lists a host's processes after Bootstrap, not before.
TEST(ScenarioRunner, NemesisCrashesProcessesThatBootstrapAdds) {
  const Scenario s = Parse(kHeader + R"(phases: {safety: 60s, liveness: 20s}
cluster:
  controlPlane: {hosts: 1}
  workerGroups: [{name: w, count: 1}]
nemesis:
- name: cm
  faults: [crash]
  processes: [controller-manager]
  every: 10s
  duration: 3s
  targets: control-plane
  mustFire: true
expectations:
  eventually:
  - nodeReady: {}
    within: 20s
)");
  const ScenarioResult r = RunScenario(s, 3);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  ASSERT_EQ(r.nemesis_fired.size(), 1u);
  EXPECT_GT(r.nemesis_fired[0].second, 0) << Violations(r);
  EXPECT_TRUE(r.passed) << Violations(r);
}

}  // namespace
}  // namespace ksim::scenarios
