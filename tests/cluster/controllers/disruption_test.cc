// The disruption controller with the ReplicaSet controller and the fake node side
// (pod_runner.h): PDB status for minAvailable / maxUnavailable as ints and percents,
// unready pods, disruptedPods expiry, SyncFailed; and the eviction API driven by it.
#include <gtest/gtest.h>

#include "cluster/controllers/disruption.h"
#include "tests/cluster/controllers/pdb_helpers.h"

namespace ksim::controllers::testing {
namespace {

TEST(DisruptionArithmetic, ScaledValueRoundsPercentsAsKubernetes) {
  int32_t out = 0;
  ASSERT_TRUE(ScaledValue(api::MakeIntOrString(3), 10, true, &out).ok());
  EXPECT_EQ(out, 3);
  ASSERT_TRUE(ScaledValue(api::MakeIntOrString("50%"), 5, true, &out).ok());
  EXPECT_EQ(out, 3);
  ASSERT_TRUE(ScaledValue(api::MakeIntOrString("50%"), 5, false, &out).ok());
  EXPECT_EQ(out, 2);
  ASSERT_TRUE(ScaledValue(api::MakeIntOrString("0%"), 5, true, &out).ok());
  EXPECT_EQ(out, 0);
  EXPECT_FALSE(ScaledValue(api::MakeIntOrString("half"), 5, true, &out).ok());
  EXPECT_FALSE(ScaledValue(api::MakeIntOrString("%"), 5, true, &out).ok());
}

class DisruptionTest : public ::testing::Test {
 public:
  void Start(int replicas) {
    c.AddPodRunner(ReadyPlan);
    ASSERT_NO_FATAL_FAILURE(StartWebWithBudgets(c, replicas));
  }
  void SetReady(const std::string& pod, bool ready) {
    api::Pod p = c.List<api::Pod>("pods", "default").at(pod);
    for (auto& cond : *p.mutable_status()->mutable_conditions()) {
      if (cond.type() == "Ready") cond.set_status(ready ? "True" : "False");
    }
    auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Update(Kind("", "pods"), p, std::move(d), "status"); });
    ASSERT_TRUE(r.ok()) << r.Describe();
  }
  void ExpectStatus(int expected, int desired, int healthy, int allowed) {
    const api::PodDisruptionBudget pdb = GetPdb(c, "web");
    const auto& st = pdb.status();
    EXPECT_EQ(st.expected_pods(), expected);
    EXPECT_EQ(st.desired_healthy(), desired);
    EXPECT_EQ(st.current_healthy(), healthy);
    EXPECT_EQ(st.disruptions_allowed(), allowed);
    EXPECT_EQ(st.observed_generation(), pdb.metadata().generation());
    ASSERT_EQ(st.conditions_size(), 1);
    EXPECT_EQ(st.conditions(0).type(), "DisruptionAllowed");
    EXPECT_EQ(st.conditions(0).status(), allowed > 0 ? "True" : "False");
    EXPECT_EQ(st.conditions(0).reason(), allowed > 0 ? "SufficientPods" : "InsufficientPods");
  }
  CmCluster c;
};

TEST_F(DisruptionTest, MinAvailableIntCountsThePods) {
  Start(5);
  ASSERT_TRUE(c.Create(WebPdb("web", "3")).ok());
  c.Run(Seconds(2));
  ExpectStatus(5, 3, 5, 2);
  EXPECT_TRUE(c.violations.empty());
}

TEST_F(DisruptionTest, MinAvailablePercentRoundsUpOfTheControllersScale) {
  Start(5);
  ASSERT_TRUE(c.Create(WebPdb("web", "50%")).ok());
  c.Run(Seconds(2));
  ExpectStatus(5, 3, 5, 2);
}

TEST_F(DisruptionTest, MaxUnavailableIntAndPercent) {
  Start(5);
  ASSERT_TRUE(c.Create(WebPdb("web", "", "1")).ok());
  c.Run(Seconds(2));
  ExpectStatus(5, 4, 5, 1);
  // A spec change: generation 2, observed again; 40% of 5 = 2 unavailable.
  api::PodDisruptionBudget pdb = GetPdb(c, "web");
  pdb.mutable_spec()->mutable_max_unavailable()->set_str_val("40%");
  ASSERT_TRUE(c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Update(PdbKind(), pdb, std::move(d)); }).ok());
  c.Run(Seconds(2));
  EXPECT_EQ(GetPdb(c, "web").metadata().generation(), 2);
  ExpectStatus(5, 3, 5, 2);
}

TEST_F(DisruptionTest, DisruptionsAllowedGoesDownAsPodsBecomeUnready) {
  Start(5);
  ASSERT_TRUE(c.Create(WebPdb("web", "3")).ok());
  c.Run(Seconds(2));
  const auto pods = ReadyPods(c);
  SetReady(pods[0], false);
  c.Run(Seconds(1));
  ExpectStatus(5, 3, 4, 1);
  SetReady(pods[1], false);
  c.Run(Seconds(1));
  ExpectStatus(5, 3, 3, 0);
  SetReady(pods[2], false);
  c.Run(Seconds(1));
  ExpectStatus(5, 3, 2, 0);
  SetReady(pods[0], true);
  SetReady(pods[1], true);
  c.Run(Seconds(1));
  ExpectStatus(5, 3, 4, 1);
}

// An eviction whose delete did not happen (here: a wrong uid precondition after the budget
// was spent) keeps the pod out of currentHealthy for 2 minutes, then it counts again.
TEST_F(DisruptionTest, DisruptedPodsExpireAfterTwoMinutesOrWhenThePodGoes) {
  Start(5);
  ASSERT_TRUE(c.Create(WebPdb("web", "3")).ok());
  c.Run(Seconds(2));
  const auto pods = ReadyPods(c);
  api::DeleteOptions wrong;
  wrong.mutable_preconditions()->set_uid("not-it");
  EXPECT_EQ(EvictVia(c, c.kubectl, pods[0], wrong).code, 409);
  c.Run(Seconds(1));
  api::PodDisruptionBudget pdb = GetPdb(c, "web");
  EXPECT_EQ(pdb.status().disrupted_pods().count(pods[0]), 1u);
  ExpectStatus(5, 3, 4, 1);
  c.Run(Seconds(110));
  EXPECT_EQ(GetPdb(c, "web").status().disrupted_pods().count(pods[0]), 1u) << "kept for 2 minutes";
  c.Run(Seconds(15));
  EXPECT_EQ(GetPdb(c, "web").status().disrupted_pods_size(), 0) << "expired";
  ExpectStatus(5, 3, 5, 2);

  // A real eviction: the entry goes once the pod is terminating.
  ASSERT_EQ(EvictVia(c, c.kubectl, pods[1]).code, 201);
  c.Run(Seconds(1));
  EXPECT_EQ(GetPdb(c, "web").status().disrupted_pods_size(), 0);
  EXPECT_TRUE(c.violations.empty());
}

TEST_F(DisruptionTest, APodWithAnUnknownControllerIsSyncFailed) {
  Start(1);
  api::Pod p = c.List<api::Pod>("pods", "default").begin()->second;
  api::Pod job;
  job.mutable_metadata()->set_name("job-pod");
  job.mutable_metadata()->set_namespace_("default");
  (*job.mutable_metadata()->mutable_labels())["app"] = "web";
  auto* ref = job.mutable_metadata()->add_owner_references();
  ref->set_api_version("batch/v1");
  ref->set_kind("Job");
  ref->set_name("j");
  ref->set_uid("job-uid");
  ref->set_controller(true);
  *job.mutable_spec() = p.spec();
  job.mutable_spec()->clear_node_name();
  ASSERT_TRUE(c.Create(job).ok());
  ASSERT_TRUE(c.Create(WebPdb("web", "", "1")).ok());
  c.Run(Seconds(2));
  const api::PodDisruptionBudget pdb = GetPdb(c, "web");
  const auto& st = pdb.status();
  EXPECT_EQ(st.disruptions_allowed(), 0);
  ASSERT_EQ(st.conditions_size(), 1);
  EXPECT_EQ(st.conditions(0).status(), "False");
  EXPECT_EQ(st.conditions(0).reason(), "SyncFailed");
  EXPECT_EQ(st.conditions(0).message(), "found no controllers for pod \"job-pod\"");
}

// The eviction API against the live controller: evict until 429; once the replacement is
// Ready the controller allows the next one.
TEST_F(DisruptionTest, EvictUntilRefusedThenAgainOnceTheReplacementIsReady) {
  Start(3);
  ASSERT_TRUE(c.Create(WebPdb("web", "2")).ok());
  c.Run(Seconds(2));
  const auto pods = ReadyPods(c);
  ASSERT_EQ(EvictVia(c, c.kubectl, pods[0]).code, 201);
  const client::ApiResult refused = EvictVia(c, c.kubectl, pods[1]);
  ASSERT_EQ(refused.code, 429);
  ASSERT_EQ(refused.error.details().causes_size(), 1);
  EXPECT_EQ(refused.error.details().causes(0).reason(), "DisruptionBudget");
  c.Run(Seconds(5));  // the runner finishes the delete, the RS replaces it, it becomes Ready
  EXPECT_EQ(ReadyPods(c).size(), 3u);
  ExpectStatus(3, 2, 3, 1);
  EXPECT_EQ(EvictVia(c, c.kubectl, pods[1]).code, 201);
  EXPECT_TRUE(c.violations.empty());
}

}  // namespace
}  // namespace ksim::controllers::testing
