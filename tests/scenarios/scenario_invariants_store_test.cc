// The control plane's invariants: oneLeaderPerTerm, storeLinearizable, oneActingScheduler,
// quotaRespected. Each is caught on a deliberately broken world (or history) and quiet on a
// healthy three-control-plane run that also reaches its eventually conditions.
#include <gtest/gtest.h>

#include "cluster/api/core.pb.h"
#include "cluster/apiserver/apiserver.pb.h"
#include "cluster/apiserver/object_store.h"
#include "cluster/store/client/store_client.h"
#include "faults/election_safety.h"
#include "scenarios/checks/check.h"
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

const std::string kQuota = R"(
- inline: |
    apiVersion: v1
    kind: Namespace
    metadata: {name: team}
    ---
    apiVersion: v1
    kind: ResourceQuota
    metadata: {name: q, namespace: team}
    spec:
      hard: {pods: "2", requests.cpu: "1"}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: burst, namespace: team}
    spec:
      replicas: 4
      selector: {matchLabels: {app: burst}}
      template:
        metadata: {labels: {app: burst}}
        spec:
          containers: [{name: c, image: nginx, resources: {requests: {cpu: 200m}}}]
)";

// Healthy: three control-plane hosts, the store leader's host (and with it a scheduler and
// controller-manager) crashes and restarts, a quota'd namespace asks for more than it may.
const std::string kHealthy = kHeader + R"(phases: {safety: 40s, liveness: 40s}
cluster:
  controlPlane: {hosts: 3}
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
)" + kQuota + R"(
timeline:
- at: 10s
  crash: {host: cp-1, process: store}
- at: 12s
  scale: {name: web, replicas: 3}
- at: 20s
  restart: {host: cp-1, process: store}
- at: 25s
  crash: {host: cp-2, process: scheduler}
expectations:
  always:
  - oneLeaderPerTerm
  - storeLinearizable
  - oneActingScheduler
  - quotaRespected: {namespace: team}
  eventually:
  - deploymentAvailable: {name: web, replicas: 3}
    within: 30s
  - podCount: {selector: app=burst, namespace: team, count: 2}
    within: 30s
)";

TEST(ScenarioInvariantsStore, HealthyRunIsQuietAndReachesItsConditions) {
  const ScenarioResult r = RunScenario(Parse(kHealthy), 3);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_TRUE(r.passed) << Violations(r);
}

// Election Safety's rule on made-up observations (a real store cannot be made to elect two
// leaders without a Raft mutation; tests/cluster/store_server's mutation test does that).
TEST(ScenarioInvariantsStore, TwoLeadersOfOneTermAreCaught) {
  faults::ElectionSafety s(2);
  EXPECT_EQ(s.Leader(3, "cp-1"), "");
  EXPECT_EQ(s.Leader(3, "cp-1"), "");
  EXPECT_EQ(s.Leader(4, "cp-2"), "");
  EXPECT_EQ(s.Leader(3, "cp-3"), "election safety: 2 leaders in term 3 (cp-1, cp-3)");
  EXPECT_EQ(s.Leader(5, "cp-1"), "");  // forgets term 3 (window of 2)
  EXPECT_EQ(s.Leader(3, "cp-2"), "");
  EXPECT_EQ(s.terms_with_leader(), 3u);
}

// A stale read: a get that starts after a put of "b" completed still returns "a".
TEST(ScenarioInvariantsStore, AStaleReadIsNotLinearizable) {
  std::vector<std::string> h = {
      R"({:process 0, :type :invoke, :f :put, :key "/k", :value "a"})",
      R"({:process 0, :type :ok, :f :put, :key "/k", :value "a"})",
      R"({:process 0, :type :invoke, :f :put, :key "/k", :value "b"})",
      R"({:process 0, :type :ok, :f :put, :key "/k", :value "b"})",
      R"({:process 1, :type :invoke, :f :get, :key "/k", :value nil})",
      R"({:process 1, :type :ok, :f :get, :key "/k", :value "a"})",
  };
  std::vector<std::string> out;
  checks::JudgeStoreHistory(h, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NE(out[0].find("is not linearizable"), std::string::npos) << out[0];
  h.back() = R"({:process 1, :type :ok, :f :get, :key "/k", :value "b"})";
  out.clear();
  checks::JudgeStoreHistory(h, &out);
  EXPECT_TRUE(out.empty()) << out[0];
}

// A bad world: the third binding a scheduler sends claims it was sent while not acting.
TEST(ScenarioInvariantsStore, ASchedulerBindingWhileNotActingIsCaught) {
  const Scenario s = Parse(kHealthy);
  RunOptions o;
  o.adjust_cluster = [](SimClusterOptions* co) {
    auto real = co->on_scheduler_bind;
    auto count = std::make_shared<int>(0);
    co->on_scheduler_bind = [real, count](const std::string& host, const std::string& id, bool acting,
                                          const apiserver::Request& r) { real(host, id, acting && ++*count != 3, r); };
  };
  const ScenarioResult r = RunScenario(s, 3, o);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  const std::string v = Violations(r);
  EXPECT_NE(v.find("always oneActingScheduler: "), std::string::npos) << v;
  EXPECT_NE(v.find("_scheduler (cp-"), std::string::npos) << v;
  EXPECT_NE(v.find("bound while not acting: bind pod "), std::string::npos) << v;
}

// A bad world: a third pod written straight into the store (past admission) in a namespace
// whose quota allows two.
TEST(ScenarioInvariantsStore, APodPastTheQuotaIsCaught) {
  const Scenario s = Parse(kHeader + R"(duration: 30s
cluster:
  controlPlane: {hosts: 1}
  workerGroups: [{name: w, count: 2}]
workload:)" + kQuota + R"(
expectations:
  always:
  - quotaRespected: {namespace: team}
)");
  RunOptions o;
  std::unique_ptr<storeclient::StoreClient> store;
  o.at_start = [&store](SimCluster& c) {
    c.world().After(Seconds(15), [&c, &store] {
      store = std::make_unique<storeclient::StoreClient>(
          c.client_env(), std::vector<Address>{c.control_plane_hosts()[0] + ":" + std::to_string(SimCluster::kStorePort)});
      api::Pod p;
      p.mutable_metadata()->set_name("sneaky");
      p.mutable_metadata()->set_namespace_("team");
      p.mutable_metadata()->set_uid("sneaky-uid");
      auto* ctr = p.mutable_spec()->add_containers();
      ctr->set_name("c");
      ctr->set_image("nginx");
      (*ctr->mutable_resources()->mutable_requests())["cpu"] = "200m";
      store->Put(apiserver::ObjectKey("pods", "team", "sneaky"), p.SerializeAsString(),
                 [](Status st, const store::CommandResponse&) { EXPECT_TRUE(st.ok()) << st.message(); });
    });
  };
  o.at_end = [&store](SimCluster&) { store.reset(); };  // before the world it lives in goes
  const ScenarioResult r = RunScenario(s, 1, o);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  const std::string v = Violations(r);
  EXPECT_NE(v.find("always quotaRespected: namespace team: pods charge pods=3, over ResourceQuota q hard 2"),
            std::string::npos)
      << v;
  ASSERT_FALSE(r.violations.empty());
  EXPECT_GE(r.violations[0].at, Seconds(15));
}

}  // namespace
}  // namespace ksim::scenarios
