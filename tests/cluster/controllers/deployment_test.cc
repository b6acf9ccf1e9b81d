// The Deployment controller against the API in the simulated world, with the ReplicaSet
// controller and a pod runner (fake scheduler + kubelet) making pods Ready.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/cluster/controllers/deployment_fixture.h"

namespace ksim::controllers::testing {
namespace {

// --- pure helpers ---

TEST(DeploymentUtil, FencepostsRoundSurgeUpAndUnavailableDown) {
  const auto pct = [](const char* s) { return api::MakeIntOrString(std::string(s)); };
  Fenceposts f = ResolveFenceposts(pct("25%"), pct("25%"), 10);
  EXPECT_EQ(f.surge, 3);        // 2.5 up
  EXPECT_EQ(f.unavailable, 2);  // 2.5 down
  f = ResolveFenceposts(pct("25%"), pct("25%"), 1);
  EXPECT_EQ(f.surge, 1);
  EXPECT_EQ(f.unavailable, 0);
  f = ResolveFenceposts(pct("0%"), pct("10%"), 5);  // both round to 0: unavailable 1
  EXPECT_EQ(f.surge, 0);
  EXPECT_EQ(f.unavailable, 1);
  f = ResolveFenceposts(api::MakeIntOrString(3), api::MakeIntOrString(0), 10);
  EXPECT_EQ(f.surge, 3);
  EXPECT_EQ(f.unavailable, 0);
  api::Deployment d = MakeDeployment("web", 2, "a");
  SetRolling(d, pct("50%"), pct("100%"));
  EXPECT_EQ(MaxUnavailable(d), 2);
  d.mutable_spec()->mutable_strategy()->set_type("Recreate");
  EXPECT_EQ(MaxSurge(d), 0);
  EXPECT_EQ(MaxUnavailable(d), 0);
}

TEST(DeploymentUtil, TemplateHashIsStableAndSafe) {
  api::Deployment d = MakeDeployment("web", 1, "a");
  const std::string h = TemplateHash(d.spec().template_(), std::nullopt);
  EXPECT_EQ(h, TemplateHash(d.spec().template_(), std::nullopt));
  EXPECT_NE(h, TemplateHash(d.spec().template_(), 1));
  EXPECT_EQ(h.find_first_not_of("bcdfghjklmnpqrstvwxz2456789"), std::string::npos) << h;
  api::PodTemplateSpec other = d.spec().template_();
  other.mutable_spec()->mutable_containers(0)->set_image("b");
  EXPECT_NE(h, TemplateHash(other, std::nullopt));
  (*other.mutable_metadata()->mutable_labels())[kPodTemplateHashLabel] = "x";
  other.mutable_spec()->mutable_containers(0)->set_image("a");
  EXPECT_TRUE(TemplatesEqualIgnoringHash(other, d.spec().template_()));
}

// --- in the simulated cluster ---

class DeploymentTest : public ::testing::Test, public DeploymentFixture {};

TEST_F(DeploymentTest, CreateMakesAHashNamedReplicaSetWhosePodsBecomeAvailable) {
  ASSERT_TRUE(c.Create(MakeDeployment("web", 3, "a")).ok());
  ASSERT_TRUE(WaitRolledOut("web", Seconds(30)));
  const api::Deployment d = Get("web");
  auto rss = ReplicaSets();
  ASSERT_EQ(rss.size(), 1u);
  const api::ReplicaSet& rs = rss.begin()->second;
  const std::string hash = TemplateHash(d.spec().template_(), std::nullopt);
  EXPECT_EQ(rs.metadata().name(), "web-" + hash);
  EXPECT_EQ(rs.metadata().labels().at(kPodTemplateHashLabel), hash);
  EXPECT_EQ(rs.spec().selector().match_labels().at(kPodTemplateHashLabel), hash);
  EXPECT_EQ(rs.spec().template_().metadata().labels().at(kPodTemplateHashLabel), hash);
  const auto* ref = ControllerRef(rs.metadata());
  ASSERT_NE(ref, nullptr);
  EXPECT_EQ(ref->kind(), "Deployment");
  EXPECT_EQ(ref->uid(), d.metadata().uid());
  EXPECT_TRUE(ref->block_owner_deletion());
  EXPECT_EQ(rs.metadata().annotations().at(kRevisionAnnotation), "1");
  EXPECT_EQ(rs.metadata().annotations().at(kDesiredReplicasAnnotation), "3");
  EXPECT_EQ(rs.metadata().annotations().at(kMaxReplicasAnnotation), "4");  // 3 + ceil(25% of 3)
  EXPECT_EQ(d.metadata().annotations().at(kRevisionAnnotation), "1");
  EXPECT_EQ(d.status().replicas(), 3);
  EXPECT_EQ(d.status().updated_replicas(), 3);
  EXPECT_EQ(d.status().ready_replicas(), 3);
  EXPECT_EQ(d.status().available_replicas(), 3);
  EXPECT_EQ(d.status().unavailable_replicas(), 0);
  EXPECT_EQ(d.status().observed_generation(), d.metadata().generation());
  ASSERT_TRUE(Condition(d, "Available").has_value());
  EXPECT_EQ(Condition(d, "Available")->reason(), "MinimumReplicasAvailable");
  ASSERT_TRUE(Condition(d, "Progressing").has_value());
  EXPECT_EQ(Condition(d, "Progressing")->reason(), "NewReplicaSetAvailable");
  EXPECT_EQ(Count("web").available, 3);
  bool scaled = false;
  for (const auto& e : c.Events()) {
    scaled = scaled || e.message() == "Scaled up replica set web-" + hash + " from 0 to 3";
  }
  EXPECT_TRUE(scaled);
  EXPECT_TRUE(c.violations.empty());
}

// Watches a rolling update at every 100 ms: never more than replicas + maxSurge active
// pods, never fewer than replicas - maxUnavailable available; done within `limit`.
void RollWithinBounds(DeploymentFixture& f, int replicas, api::IntOrString surge, api::IntOrString unavailable,
                      int max_pods, int min_available) {
  api::Deployment d = MakeDeployment("web", replicas, "a");
  SetRolling(d, surge, unavailable);
  ASSERT_TRUE(f.c.Create(d).ok());
  ASSERT_TRUE(f.WaitRolledOut("web", Seconds(30)));
  f.SetImage("web", "b");
  int most = 0, fewest = replicas;
  const bool done = f.RunUntil(
      [&] {
        const api::Deployment cur = f.Get("web");
        return cur.metadata().generation() == 2 && DeploymentFixture::RolledOut(cur);
      },
      Seconds(60),
      [&] {
        const PodCounts n = f.Count("web");
        most = std::max(most, n.active);
        fewest = std::min(fewest, n.available);
      });
  EXPECT_TRUE(done) << "the rollout did not finish within 60 s";
  EXPECT_LE(most, max_pods);
  EXPECT_GE(fewest, min_available);
  EXPECT_EQ(most, max_pods) << "the surge was used";
  const api::Deployment cur = f.Get("web");
  EXPECT_EQ(cur.metadata().annotations().at(kRevisionAnnotation), "2");
  EXPECT_EQ(f.RsWithImage("b")->metadata().annotations().at(kRevisionAnnotation), "2");
  EXPECT_EQ(f.RsWithImage("a")->spec().replicas(), 0);
  f.c.Run(Seconds(3));  // the last old pods finish terminating
  EXPECT_EQ(f.Count("web").running_by_image["a"], 0);
  EXPECT_TRUE(f.c.violations.empty());
}

TEST_F(DeploymentTest, RollingUpdateStaysWithinIntegerBounds) {
  RollWithinBounds(*this, 10, api::MakeIntOrString(3), api::MakeIntOrString(2), 13, 8);
}

TEST_F(DeploymentTest, RollingUpdateStaysWithinDefaultPercentBounds) {
  // 25% of 4: surge 1 (rounded up), unavailable 1 (rounded down).
  RollWithinBounds(*this, 4, api::MakeIntOrString(std::string("25%")), api::MakeIntOrString(std::string("25%")), 5, 3);
}

TEST_F(DeploymentTest, RollingUpdateWithZeroUnavailableKeepsEveryReplica) {
  RollWithinBounds(*this, 3, api::MakeIntOrString(1), api::MakeIntOrString(0), 4, 3);
}

TEST_F(DeploymentTest, RecreateNeverRunsOldAndNewPodsTogether) {
  api::Deployment d = MakeDeployment("web", 3, "a");
  d.mutable_spec()->mutable_strategy()->set_type("Recreate");
  ASSERT_TRUE(c.Create(d).ok());
  ASSERT_TRUE(WaitRolledOut("web", Seconds(30)));
  SetImage("web", "b");
  bool mixed = false;
  const bool done = RunUntil([&] { return Get("web").metadata().generation() == 2 && RolledOut(Get("web")); },
                             Seconds(60), [&] {
                               auto n = Count("web");
                               mixed = mixed || (n.running_by_image["a"] > 0 && n.running_by_image["b"] > 0);
                             });
  EXPECT_TRUE(done);
  EXPECT_FALSE(mixed) << "old and new pods ran at once";
  EXPECT_EQ(Count("web").running_by_image["b"], 3);
  EXPECT_EQ(RsWithImage("a")->spec().replicas(), 0);
}

// `kubectl rollout undo` writes the old template back: the old RS is reused, revision 3.
TEST_F(DeploymentTest, RollbackReusesTheOldReplicaSetWithTheNextRevision) {
  ASSERT_TRUE(c.Create(MakeDeployment("web", 3, "a")).ok());
  ASSERT_TRUE(WaitRolledOut("web", Seconds(30)));
  const api::ReplicaSet first = *RsWithImage("a");
  SetImage("web", "b");
  ASSERT_TRUE(RunUntil([&] { return Get("web").metadata().generation() == 2 && RolledOut(Get("web")); }, Seconds(60)));
  SetImage("web", "a");
  ASSERT_TRUE(RunUntil([&] { return Get("web").metadata().generation() == 3 && RolledOut(Get("web")); }, Seconds(60)));
  EXPECT_EQ(ReplicaSets().size(), 2u) << "no third ReplicaSet";
  const api::ReplicaSet again = *RsWithImage("a");
  EXPECT_EQ(again.metadata().uid(), first.metadata().uid());
  EXPECT_EQ(again.metadata().annotations().at(kRevisionAnnotation), "3");
  EXPECT_EQ(again.spec().replicas(), 3);
  EXPECT_EQ(RsWithImage("b")->spec().replicas(), 0);
  EXPECT_EQ(Get("web").metadata().annotations().at(kRevisionAnnotation), "3");
}

TEST_F(DeploymentTest, PauseHoldsTheRolloutButNotScalingAndResumeFinishesIt) {
  ASSERT_TRUE(c.Create(MakeDeployment("web", 3, "a")).ok());
  ASSERT_TRUE(WaitRolledOut("web", Seconds(30)));
  Change("web", [](api::Deployment& d) { d.mutable_spec()->set_paused(true); });
  c.Run(Seconds(2));
  SetImage("web", "b");
  c.Run(Seconds(20));
  EXPECT_EQ(ReplicaSets().size(), 1u) << "no new ReplicaSet while paused";
  api::Deployment d = Get("web");
  ASSERT_TRUE(Condition(d, "Progressing").has_value());
  EXPECT_EQ(Condition(d, "Progressing")->reason(), "DeploymentPaused");
  EXPECT_EQ(Condition(d, "Progressing")->status(), "Unknown");
  Change("web", [](api::Deployment& dd) { dd.mutable_spec()->set_replicas(5); });
  c.Run(Seconds(15));
  EXPECT_EQ(RsWithImage("a")->spec().replicas(), 5) << "scaling applies while paused";
  EXPECT_EQ(Count("web").available, 5);
  Change("web", [](api::Deployment& dd) { dd.mutable_spec()->set_paused(false); });
  c.Run(Seconds(1));
  d = Get("web");
  ASSERT_TRUE(Condition(d, "Progressing").has_value());
  EXPECT_EQ(Condition(d, "Progressing")->reason() == "DeploymentResumed" ||
                Condition(d, "Progressing")->reason() == "ReplicaSetUpdated",
            true)
      << Condition(d, "Progressing")->reason();
  ASSERT_TRUE(RunUntil([&] { return RolledOut(Get("web")); }, Seconds(60)));
  EXPECT_EQ(Count("web").running_by_image["b"], 5);
  EXPECT_EQ(Condition(Get("web"), "Progressing")->reason(), "NewReplicaSetAvailable");
}

TEST_F(DeploymentTest, ANeverReadyTemplateExceedsTheProgressDeadline) {
  api::Deployment d = MakeDeployment("web", 4, "a");
  d.mutable_spec()->set_progress_deadline_seconds(30);
  ASSERT_TRUE(c.Create(d).ok());
  ASSERT_TRUE(WaitRolledOut("web", Seconds(30)));
  SetImage("web", "never");
  const Nanos changed = c.Now();
  int fewest = 4;
  ASSERT_TRUE(RunUntil(
      [&] {
        const auto cond = Condition(Get("web"), "Progressing");
        return cond && cond->reason() == "ProgressDeadlineExceeded";
      },
      Seconds(60), [&] { fewest = std::min(fewest, Count("web").available); }));
  const Nanos took = c.Now() - changed;
  EXPECT_GE(took, Seconds(30));
  EXPECT_LE(took, Seconds(35));
  const api::Deployment cur = Get("web");
  EXPECT_EQ(Condition(cur, "Progressing")->status(), "False");
  EXPECT_EQ(fewest, 3) << "old pods kept within maxUnavailable";
  EXPECT_EQ(Condition(cur, "Available")->status(), "True");
}

// Kubernetes' arithmetic: 10 replicas, surge 3, unavailable 2, the new template never
// Ready: old 8 + new 5 = 13. Scaled to 20 (allowed 23): old 8*23/13 -> 14, new 5*23/13 -> 9.
TEST_F(DeploymentTest, ScalingMidRolloutIsProportional) {
  api::Deployment d = MakeDeployment("web", 10, "a");
  SetRolling(d, api::MakeIntOrString(3), api::MakeIntOrString(2));
  ASSERT_TRUE(c.Create(d).ok());
  ASSERT_TRUE(WaitRolledOut("web", Seconds(30)));
  SetImage("web", "never");
  c.Run(Seconds(20));
  ASSERT_EQ(RsWithImage("a")->spec().replicas(), 8);
  ASSERT_EQ(RsWithImage("never")->spec().replicas(), 5);
  Change("web", [](api::Deployment& dd) { dd.mutable_spec()->set_replicas(20); });
  c.Run(Seconds(10));
  EXPECT_EQ(RsWithImage("a")->spec().replicas(), 14);
  EXPECT_EQ(RsWithImage("never")->spec().replicas(), 9);
  EXPECT_EQ(RsWithImage("never")->metadata().annotations().at(kDesiredReplicasAnnotation), "20");
  EXPECT_EQ(RsWithImage("a")->metadata().annotations().at(kMaxReplicasAnnotation), "23");
}

TEST_F(DeploymentTest, RevisionHistoryLimitPrunesTheOldestRevisions) {
  api::Deployment d = MakeDeployment("web", 2, "v1");
  d.mutable_spec()->set_revision_history_limit(2);
  ASSERT_TRUE(c.Create(d).ok());
  ASSERT_TRUE(WaitRolledOut("web", Seconds(30)));
  for (int v = 2; v <= 5; ++v) {
    SetImage("web", "v" + std::to_string(v));
    ASSERT_TRUE(RunUntil([&] { return Get("web").metadata().generation() == v && RolledOut(Get("web")); }, Seconds(60)));
    c.Run(Seconds(2));
  }
  std::vector<std::string> images;
  for (const auto& [name, rs] : ReplicaSets()) images.push_back(rs.spec().template_().spec().containers(0).image());
  std::sort(images.begin(), images.end());
  EXPECT_EQ(images, (std::vector<std::string>{"v3", "v4", "v5"}));
}

// A ReplicaSet not ours already holds the name: collisionCount goes up and the new
// ReplicaSet gets another hash. (Created paused, so the defaulted template is known first.)
TEST_F(DeploymentTest, AHashCollisionBumpsCollisionCount) {
  api::Deployment d = MakeDeployment("web", 1, "a");
  d.mutable_spec()->set_paused(true);
  ASSERT_TRUE(c.Create(d).ok());
  c.Run(Seconds(2));
  const api::PodTemplateSpec tmpl = Get("web").spec().template_();
  api::ReplicaSet squatter;
  squatter.mutable_metadata()->set_name("web-" + TemplateHash(tmpl, std::nullopt));
  squatter.mutable_metadata()->set_namespace_("default");
  squatter.mutable_spec()->set_replicas(0);
  (*squatter.mutable_spec()->mutable_selector()->mutable_match_labels())["app"] = "other";
  *squatter.mutable_spec()->mutable_template_() = MakeDeployment("other", 1, "x").spec().template_();
  ASSERT_TRUE(c.Create(squatter).ok());
  Change("web", [](api::Deployment& dd) { dd.mutable_spec()->set_paused(false); });
  ASSERT_TRUE(RunUntil([&] { return RolledOut(Get("web")); }, Seconds(30)));
  const api::Deployment cur = Get("web");
  EXPECT_EQ(cur.status().collision_count(), 1);
  EXPECT_TRUE(ReplicaSets().count("web-" + TemplateHash(tmpl, 1)) == 1);
  EXPECT_EQ(ReplicaSets().at(squatter.metadata().name()).metadata().owner_references_size(), 0);
}

}  // namespace
}  // namespace ksim::controllers::testing
