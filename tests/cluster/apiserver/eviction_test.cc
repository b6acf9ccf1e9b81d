// The pods/eviction subresource end to end, with PodDisruptionBudget status written by the
// test (the disruption controller's part): which pods go without the budget, the guarded
// decrement, Kubernetes' refusals, and concurrent evictions through three apiservers.
#include <gtest/gtest.h>

#include "cluster/api/policy.pb.h"
#include "cluster/client/drain.h"
#include "tests/cluster/apiserver/api_cluster.h"

namespace ksim::apiserver::testing {
namespace {

using client::ApiClient;
using client::ApiResult;

const api::KindInfo& Pods() { return Kind("", "pods"); }
const api::KindInfo& Pdbs() { return Kind("policy", "poddisruptionbudgets"); }

api::PodDisruptionBudget MakePdb(const std::string& name, const std::string& app, int min_available) {
  api::PodDisruptionBudget pdb;
  pdb.mutable_metadata()->set_namespace_("default");
  pdb.mutable_metadata()->set_name(name);
  (*pdb.mutable_spec()->mutable_selector()->mutable_match_labels())["app"] = app;
  pdb.mutable_spec()->mutable_min_available()->set_int_val(min_available);
  return pdb;
}

class EvictionFixture {
 public:
  explicit EvictionFixture(int apiservers, uint64_t seed = 1) : cluster(apiservers, seed) {
    for (int i = 1; i <= apiservers; ++i) clients.push_back(cluster.AddClient("client" + std::to_string(i), i));
    c = clients[0];
    EXPECT_EQ(Await([&](ApiClient::Done d) { c->Create(Kind("", "namespaces"), MakeNamespace("default"), d); }).code,
              201);
  }
  ApiResult Await(const std::function<void(ApiClient::Done)>& start) { return cluster.Await(start); }

  // A bound pod, Running, Ready as asked.
  void RunningPod(const std::string& name, const std::string& app, bool ready = true, const std::string& phase = "Running") {
    ApiResult r = Await([&](ApiClient::Done d) { c->Create(Pods(), MakePod("default", name, {{"app", app}}, "n1"), d); });
    ASSERT_EQ(r.code, 201) << r.Describe();
    api::Pod p;
    p.ParseFromString(r.body);
    p.mutable_status()->set_phase(phase);
    auto* cond = p.mutable_status()->add_conditions();
    cond->set_type("Ready");
    cond->set_status(ready ? "True" : "False");
    r = Await([&](ApiClient::Done d) { c->Update(Pods(), p, d, "status"); });
    ASSERT_EQ(r.code, 200) << r.Describe();
  }
  // A budget with the status the controller would have written.
  void Budget(api::PodDisruptionBudget pdb, int expected, int healthy, int desired, int allowed, bool observed = true) {
    ApiResult r = Await([&](ApiClient::Done d) { c->Create(Pdbs(), pdb, d); });
    ASSERT_EQ(r.code, 201) << r.Describe();
    pdb.ParseFromString(r.body);
    auto* st = pdb.mutable_status();
    st->set_expected_pods(expected);
    st->set_current_healthy(healthy);
    st->set_desired_healthy(desired);
    st->set_disruptions_allowed(allowed);
    st->set_observed_generation(observed ? pdb.metadata().generation() : 0);
    r = Await([&](ApiClient::Done d) { c->Update(Pdbs(), pdb, d, "status"); });
    ASSERT_EQ(r.code, 200) << r.Describe();
  }
  api::PodDisruptionBudget GetPdb(const std::string& name) {
    const ApiResult r = Await([&](ApiClient::Done d) { c->Get(Pdbs(), "default", name, d); });
    api::PodDisruptionBudget pdb;
    EXPECT_TRUE(r.ok() && pdb.ParseFromString(r.body)) << r.Describe();
    return pdb;
  }
  // 404, or whether the pod is being deleted.
  int PodState(const std::string& name) {
    const ApiResult r = Await([&](ApiClient::Done d) { c->Get(Pods(), "default", name, d); });
    if (r.code == 404) return 404;
    api::Pod p;
    p.ParseFromString(r.body);
    return p.metadata().has_deletion_timestamp() ? 1 : 0;
  }
  ApiResult Evict(const std::string& name, api::DeleteOptions o = {}, ApiClient* via = nullptr) {
    return Await([&](ApiClient::Done d) { client::EvictPod(via != nullptr ? *via : *c, "default", name, o, d); });
  }

  ApiCluster cluster;
  std::vector<ApiClient*> clients;
  ApiClient* c = nullptr;
};

class EvictionTest : public ::testing::Test {
 protected:
  EvictionFixture f{1};
};

TEST_F(EvictionTest, WithoutABudgetThePodIsDeleted) {
  f.RunningPod("web-1", "web");
  const ApiResult r = f.Evict("web-1");
  EXPECT_EQ(r.code, 201) << r.Describe();
  EXPECT_EQ(f.PodState("web-1"), 1) << "bound: graceful deletion";
  EXPECT_EQ(f.Evict("nope").code, 404);
}

TEST_F(EvictionTest, ABudgetIsDecrementedAndRecordsThePodThenRefuses) {
  for (const char* n : {"web-1", "web-2", "web-3"}) f.RunningPod(n, "web");
  f.Budget(MakePdb("web", "web", 2), 3, 3, 2, 1);
  ApiResult r = f.Evict("web-1");
  ASSERT_EQ(r.code, 201) << r.Describe();
  EXPECT_EQ(f.PodState("web-1"), 1);
  const api::PodDisruptionBudget pdb = f.GetPdb("web");
  EXPECT_EQ(pdb.status().disruptions_allowed(), 0);
  ASSERT_EQ(pdb.status().disrupted_pods().count("web-1"), 1u);
  ASSERT_EQ(pdb.status().conditions_size(), 1);
  EXPECT_EQ(pdb.status().conditions(0).type(), "DisruptionAllowed");
  EXPECT_EQ(pdb.status().conditions(0).status(), "False");
  EXPECT_EQ(pdb.status().conditions(0).reason(), "InsufficientPods");

  r = f.Evict("web-2");
  EXPECT_EQ(r.code, 429);
  EXPECT_EQ(r.error.reason(), "TooManyRequests");
  EXPECT_EQ(r.error.message(), "Cannot evict pod as it would violate the pod's disruption budget.");
  ASSERT_EQ(r.error.details().causes_size(), 1);
  EXPECT_EQ(r.error.details().causes(0).reason(), "DisruptionBudget");
  EXPECT_EQ(r.error.details().causes(0).message(), "The disruption budget web needs 2 healthy pods and has 3 currently");
  EXPECT_EQ(f.PodState("web-2"), 0);
}

TEST_F(EvictionTest, AnUnobservedGenerationIsRefused) {
  f.RunningPod("web-1", "web");
  f.Budget(MakePdb("web", "web", 0), 1, 1, 0, 1, /*observed=*/false);
  const ApiResult r = f.Evict("web-1");
  EXPECT_EQ(r.code, 429);
  ASSERT_EQ(r.error.details().causes_size(), 1);
  EXPECT_EQ(r.error.details().causes(0).message(), "The disruption budget web is still being processed by the server.");
}

TEST_F(EvictionTest, TwoBudgetsAreAnInternalError) {
  f.RunningPod("web-1", "web");
  f.Budget(MakePdb("a", "web", 0), 1, 1, 0, 1);
  f.Budget(MakePdb("b", "web", 0), 1, 1, 0, 1);
  const ApiResult r = f.Evict("web-1");
  EXPECT_EQ(r.code, 500);
  EXPECT_EQ(r.error.message(), "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.");
  EXPECT_EQ(f.PodState("web-1"), 0);
}

TEST_F(EvictionTest, PendingTerminalAndTerminatingPodsIgnoreTheBudget) {
  f.RunningPod("pending", "web", false, "Pending");
  f.RunningPod("done", "web", false, "Succeeded");
  f.RunningPod("going", "web");
  f.Budget(MakePdb("web", "web", 5), 3, 1, 5, 0);
  api::DeleteOptions slow;
  slow.set_grace_period_seconds(600);
  ASSERT_EQ(f.Await([&](ApiClient::Done d) { f.c->Delete(Pods(), "default", "going", slow, d); }).code, 200);
  EXPECT_EQ(f.Evict("pending").code, 201);
  EXPECT_EQ(f.Evict("done").code, 201);
  EXPECT_EQ(f.Evict("going").code, 201);
  EXPECT_EQ(f.PodState("pending"), 1);
  EXPECT_EQ(f.PodState("done"), 404) << "terminal: deleted at once";
  EXPECT_EQ(f.GetPdb("web").status().disrupted_pods_size(), 0);
}

TEST_F(EvictionTest, UnreadyPodsFollowTheUnhealthyPodEvictionPolicy) {
  for (const char* n : {"a-1", "a-2"}) f.RunningPod(n, "a");
  f.RunningPod("a-sick", "a", false);
  // IfHealthyBudget (default), budget met: the unready pod goes, the budget is untouched.
  f.Budget(MakePdb("a", "a", 2), 3, 2, 2, 0);
  EXPECT_EQ(f.Evict("a-sick").code, 201);
  EXPECT_EQ(f.GetPdb("a").status().disruptions_allowed(), 0);

  for (const char* n : {"b-1"}) f.RunningPod(n, "b");
  f.RunningPod("b-sick", "b", false);
  // IfHealthyBudget, budget not met: refused like a healthy pod.
  f.Budget(MakePdb("b", "b", 2), 2, 1, 2, 0);
  EXPECT_EQ(f.Evict("b-sick").code, 429);
  // AlwaysAllow: the unready pod goes anyway.
  f.RunningPod("c-sick", "c", false);
  api::PodDisruptionBudget c = MakePdb("c", "c", 2);
  c.mutable_spec()->set_unhealthy_pod_eviction_policy("AlwaysAllow");
  f.Budget(c, 1, 0, 2, 0);
  EXPECT_EQ(f.Evict("c-sick").code, 201);
  EXPECT_EQ(f.PodState("c-sick"), 1);
}

TEST_F(EvictionTest, DryRunAndBadRequests) {
  f.RunningPod("web-1", "web");
  f.Budget(MakePdb("web", "web", 0), 1, 1, 0, 1);
  api::DeleteOptions dry;
  dry.add_dry_run("All");
  EXPECT_EQ(f.Evict("web-1", dry).code, 201);
  EXPECT_EQ(f.PodState("web-1"), 0);
  EXPECT_EQ(f.GetPdb("web").status().disruptions_allowed(), 1);

  api::Eviction e;
  e.mutable_metadata()->set_name("other");
  Request r;
  r.set_verb("create");
  r.set_version("v1");
  r.set_resource("pods");
  r.set_subresource("eviction");
  r.set_namespace_("default");
  r.set_name("web-1");
  r.set_body(e.SerializeAsString());
  const ApiResult bad = f.Await([&](ApiClient::Done d) { f.c->Do(r, d); });
  EXPECT_EQ(bad.code, 400);
  EXPECT_EQ(bad.error.message(), "name in URL does not match name in Eviction object");
  r.set_verb("get");
  EXPECT_EQ(f.Await([&](ApiClient::Done d) { f.c->Do(r, d); }).code, 405);
}

TEST_F(EvictionTest, NeedsCreatePodsEviction) {
  f.RunningPod("web-1", "web");
  ApiClient* bob = f.cluster.AddClient("bob", 0, "bob-token");
  const ApiResult r = f.Evict("web-1", {}, bob);
  EXPECT_EQ(r.code, 403);
  EXPECT_EQ(r.error.message(),
            "pods \"web-1\" is forbidden: User \"bob\" cannot create resource \"pods/eviction\" in API group \"\" in "
            "the namespace \"default\"");
}

// Concurrent evictions of every pod through three apiservers: exactly disruptionsAllowed
// succeed, whatever the interleaving, because each decrement is guarded by the budget's
// revision and a loser decides again on the fresh budget.
TEST(EvictionConcurrency, ThreeApiserversNeverTakeMoreThanAllowed) {
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    EvictionFixture f(3, seed);
    const int pods = 8;
    for (int i = 0; i < pods; ++i) f.RunningPod("web-" + std::to_string(i), "web");
    f.Budget(MakePdb("web", "web", 5), pods, pods, 5, 3);
    std::vector<int> codes;
    for (int i = 0; i < pods; ++i) {
      client::EvictPod(*f.clients[static_cast<size_t>((i + static_cast<int>(seed)) % 3)], "default",
                       "web-" + std::to_string(i), {}, [&codes](const ApiResult& r) { codes.push_back(r.code); });
    }
    f.cluster.store.world.RunUntilCondition([&] { return codes.size() == pods; }, f.cluster.store.world.now() + Seconds(60));
    ASSERT_EQ(codes.size(), static_cast<size_t>(pods));
    int ok = 0;
    int refused = 0;
    int deleting = 0;
    for (int code : codes) {
      ok += code == 201 ? 1 : 0;
      refused += code == 429 ? 1 : 0;
    }
    for (int i = 0; i < pods; ++i) deleting += f.PodState("web-" + std::to_string(i)) == 1 ? 1 : 0;
    EXPECT_EQ(ok, 3) << "seed " << seed;
    EXPECT_EQ(refused, pods - 3) << "seed " << seed;
    EXPECT_EQ(deleting, 3) << "seed " << seed;
    const api::PodDisruptionBudget pdb = f.GetPdb("web");
    EXPECT_EQ(pdb.status().disruptions_allowed(), 0);
    EXPECT_EQ(pdb.status().disrupted_pods_size(), 3);
  }
}

}  // namespace
}  // namespace ksim::apiserver::testing
