// The StatefulSet controller against the API in the simulated world: one controller-manager
// replica and the fake node side (pod_runner.h), sampled every 200 ms.
#include <gtest/gtest.h>

#include <set>

#include "tests/cluster/controllers/sts_fixture.h"

namespace ksim::controllers::testing {
namespace {

class StatefulSetTest : public ::testing::Test, public StsFixture {
 public:
  // Runs `d` in 200 ms steps, calling `check` with the pods after each.
  void Watch(Nanos d, const std::function<void(const std::map<std::string, api::Pod>&)>& check) {
    for (Nanos t{0}; t < d; t += Milliseconds(200)) {
      c.Run(Milliseconds(200));
      check(Pods());
    }
  }
};

PodPlan Slow(Nanos ready_after, Nanos stop_after = Seconds(1)) {
  PodPlan p = PodPlan::On("n1");
  p.ready_after = ready_after;
  p.stop_after = stop_after;
  return p;
}

TEST_F(StatefulSetTest, OrderedReadyCreatesEachOrdinalOnlyAfterThePreviousIsReady) {
  c.AddPodRunner([](const api::Pod&) { return Slow(Seconds(3)); });
  StartManagers(1);
  ASSERT_TRUE(c.Create(MakeSts("web", 3)).ok());
  std::vector<std::string> order;
  Watch(Seconds(30), [&](const std::map<std::string, api::Pod>& pods) {
    for (int i = 0; i < 3; ++i) {
      const std::string name = "web-" + std::to_string(i);
      if (pods.count(name) == 0 || std::find(order.begin(), order.end(), name) != order.end()) continue;
      order.push_back(name);
      for (int j = 0; j < i; ++j) {
        auto it = pods.find("web-" + std::to_string(j));
        EXPECT_TRUE(it != pods.end() && ReadyPod(it->second)) << name << " created before web-" << j << " was Ready";
      }
    }
  });
  EXPECT_EQ(order, (std::vector<std::string>{"web-0", "web-1", "web-2"}));
  const api::StatefulSet set = GetSts("web");
  auto pods = Pods();
  ASSERT_EQ(pods.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const api::Pod& p = pods.at("web-" + std::to_string(i));
    EXPECT_EQ(p.metadata().labels().at(kStsPodNameLabel), p.metadata().name());
    EXPECT_EQ(p.metadata().labels().at(kStsPodIndexLabel), std::to_string(i));
    EXPECT_EQ(p.metadata().labels().at(kRevisionHashLabel), set.status().update_revision());
    EXPECT_EQ(p.spec().hostname(), p.metadata().name());
    EXPECT_EQ(p.spec().subdomain(), "web-svc");
    ASSERT_NE(ControllerRef(p.metadata()), nullptr);
    EXPECT_EQ(ControllerRef(p.metadata())->uid(), set.metadata().uid());
  }
  EXPECT_EQ(set.status().replicas(), 3);
  EXPECT_EQ(set.status().ready_replicas(), 3);
  EXPECT_EQ(set.status().available_replicas(), 3);
  EXPECT_EQ(set.status().updated_replicas(), 3);
  EXPECT_EQ(set.status().current_replicas(), 3);
  EXPECT_FALSE(set.status().update_revision().empty());
  EXPECT_EQ(set.status().current_revision(), set.status().update_revision());
  EXPECT_EQ(set.status().observed_generation(), set.metadata().generation());
  EXPECT_EQ(Revisions().size(), 1u);
  EXPECT_EQ(CountEvents("SuccessfulCreate", "create Pod web-0 in StatefulSet web successful"), 1);
  EXPECT_EQ(CountEvents("SuccessfulCreate", "create Pod "), 3);
  EXPECT_TRUE(c.violations.empty());
}

TEST_F(StatefulSetTest, OrderedReadyScalesDownHighestFirstOneAtATime) {
  c.AddPodRunner([](const api::Pod&) { return Slow(Seconds(0), Seconds(3)); });
  StartManagers(1);
  ASSERT_TRUE(c.Create(MakeSts("web", 4)).ok());
  c.Run(Seconds(30));
  ASSERT_EQ(Pods().size(), 4u);
  ASSERT_TRUE(UpdateSts("web", [](api::StatefulSet& s) { s.mutable_spec()->set_replicas(1); }));
  std::vector<std::string> deleted;
  Watch(Seconds(30), [&](const std::map<std::string, api::Pod>& pods) {
    int going = 0;
    for (int i = 1; i < 4; ++i) {
      const std::string name = "web-" + std::to_string(i);
      auto it = pods.find(name);
      const bool gone = it == pods.end() || it->second.metadata().has_deletion_timestamp();
      if (!gone) continue;
      going += it != pods.end() ? 1 : 0;
      if (std::find(deleted.begin(), deleted.end(), name) == deleted.end()) deleted.push_back(name);
      for (int j = i + 1; j < 4; ++j) {
        EXPECT_EQ(pods.count("web-" + std::to_string(j)), 0u) << name << " deleted while web-" << j << " exists";
      }
    }
    EXPECT_LE(going, 1) << "more than one pod terminating at once";
  });
  EXPECT_EQ(deleted, (std::vector<std::string>{"web-3", "web-2", "web-1"}));
  EXPECT_EQ(Pods().size(), 1u);
  EXPECT_EQ(GetSts("web").status().replicas(), 1);
  EXPECT_EQ(CountEvents("SuccessfulDelete", "delete Pod web-3 in StatefulSet web successful"), 1);
}

TEST_F(StatefulSetTest, ParallelCreatesAndDeletesAllAtOnce) {
  c.AddPodRunner([](const api::Pod&) { return Slow(Seconds(10), Seconds(5)); });
  StartManagers(1);
  api::StatefulSet s = MakeSts("web", 4);
  s.mutable_spec()->set_pod_management_policy("Parallel");
  ASSERT_TRUE(c.Create(s).ok());
  c.Run(Seconds(3));
  auto pods = Pods();
  EXPECT_EQ(pods.size(), 4u) << "all created before any is Ready";
  for (const auto& [name, p] : pods) EXPECT_FALSE(ReadyPod(p)) << name;
  c.Run(Seconds(20));
  ASSERT_TRUE(UpdateSts("web", [](api::StatefulSet& st) { st.mutable_spec()->set_replicas(1); }));
  c.Run(Seconds(2));
  int terminating = 0;
  for (const auto& [name, p] : Pods()) terminating += p.metadata().has_deletion_timestamp() ? 1 : 0;
  EXPECT_EQ(terminating, 3);
  c.Run(Seconds(10));
  EXPECT_EQ(Pods().size(), 1u);
}

TEST_F(StatefulSetTest, RollingUpdateWithPartitionUpdatesHighOrdinalsFromTheTop) {
  c.AddPodRunner([](const api::Pod&) { return Slow(Seconds(1), Seconds(2)); });
  StartManagers(1);
  api::StatefulSet s = MakeSts("web", 4);
  s.mutable_spec()->mutable_update_strategy()->mutable_rolling_update()->set_partition(2);
  ASSERT_TRUE(c.Create(s).ok());
  c.Run(Seconds(30));
  const std::string old_rev = GetSts("web").status().update_revision();
  ASSERT_FALSE(old_rev.empty());
  ASSERT_TRUE(UpdateSts("web", [](api::StatefulSet& st) {
    st.mutable_spec()->mutable_template_()->mutable_spec()->mutable_containers(0)->set_image("db:2");
  }));
  std::string new_rev;
  Watch(Seconds(40), [&](const std::map<std::string, api::Pod>& pods) {
    if (new_rev.empty()) {
      api::StatefulSet cur;
      if (GetSts("web", &cur) && cur.status().update_revision() != old_rev) new_rev = cur.status().update_revision();
    }
    // web-2 moves only once web-3 is updated; never more than one unavailable.
    auto rev = [&](const std::string& n) {
      auto it = pods.find(n);
      return it == pods.end() ? std::string("missing") : sts::RevisionOf(it->second);
    };
    if (!new_rev.empty() && rev("web-2") == new_rev) {
      EXPECT_EQ(rev("web-3"), new_rev);
    }
    int unavailable = 0;
    for (int i = 0; i < 4; ++i) {
      auto it = pods.find("web-" + std::to_string(i));
      unavailable += it == pods.end() || !ReadyPod(it->second) ? 1 : 0;
    }
    EXPECT_LE(unavailable, 1);
  });
  ASSERT_FALSE(new_rev.empty());
  auto pods = Pods();
  ASSERT_EQ(pods.size(), 4u);
  EXPECT_EQ(sts::RevisionOf(pods.at("web-0")), old_rev);
  EXPECT_EQ(sts::RevisionOf(pods.at("web-1")), old_rev);
  EXPECT_EQ(sts::RevisionOf(pods.at("web-2")), new_rev);
  EXPECT_EQ(sts::RevisionOf(pods.at("web-3")), new_rev);
  EXPECT_EQ(pods.at("web-3").spec().containers(0).image(), "db:2");
  EXPECT_EQ(pods.at("web-0").spec().containers(0).image(), "db:1");
  api::StatefulSet set = GetSts("web");
  EXPECT_EQ(set.status().current_revision(), old_rev);
  EXPECT_EQ(set.status().updated_replicas(), 2);
  EXPECT_EQ(set.status().current_replicas(), 2);
  // A deleted pod below the partition comes back at the old revision.
  ASSERT_TRUE(DeletePod("web-0").ok());
  c.Run(Seconds(15));
  EXPECT_EQ(sts::RevisionOf(Pods().at("web-0")), old_rev);
  // Partition 0: the rest follow, and the update revision becomes current.
  ASSERT_TRUE(UpdateSts("web", [](api::StatefulSet& st) {
    st.mutable_spec()->mutable_update_strategy()->mutable_rolling_update()->set_partition(0);
  }));
  c.Run(Seconds(40));
  for (const auto& [name, p] : Pods()) EXPECT_EQ(sts::RevisionOf(p), new_rev) << name;
  set = GetSts("web");
  EXPECT_EQ(set.status().current_revision(), new_rev);
  EXPECT_EQ(set.status().current_replicas(), 4);
  EXPECT_EQ(Revisions().size(), 2u);
  EXPECT_TRUE(c.violations.empty());
}

TEST_F(StatefulSetTest, OnDeleteUpdatesOnlyDeletedPods) {
  c.AddPodRunner([](const api::Pod&) { return Slow(Seconds(0)); });
  StartManagers(1);
  api::StatefulSet s = MakeSts("web", 2);
  s.mutable_spec()->mutable_update_strategy()->set_type("OnDelete");
  ASSERT_TRUE(c.Create(s).ok());
  c.Run(Seconds(20));
  const std::string old_rev = GetSts("web").status().update_revision();
  ASSERT_TRUE(UpdateSts("web", [](api::StatefulSet& st) {
    st.mutable_spec()->mutable_template_()->mutable_spec()->mutable_containers(0)->set_image("db:2");
  }));
  c.Run(Seconds(20));
  EXPECT_EQ(sts::RevisionOf(Pods().at("web-1")), old_rev);
  ASSERT_TRUE(DeletePod("web-1").ok());
  c.Run(Seconds(20));
  auto pods = Pods();
  EXPECT_NE(sts::RevisionOf(pods.at("web-1")), old_rev);
  EXPECT_EQ(pods.at("web-1").spec().containers(0).image(), "db:2");
  EXPECT_EQ(sts::RevisionOf(pods.at("web-0")), old_rev);
}

TEST_F(StatefulSetTest, ADeletedOrFailedPodComesBackWithTheSameName) {
  auto first = std::make_shared<std::string>();
  c.AddPodRunner([first](const api::Pod& p) {
    PodPlan plan = Slow(Seconds(0));
    // The first web-1 fails 5 s after starting.
    if (p.metadata().name() == "web-1" && first->empty()) *first = p.metadata().uid();
    if (p.metadata().uid() == *first) plan.exit_after = Seconds(5);
    plan.exit_code = 1;
    return plan;
  });
  StartManagers(1);
  ASSERT_TRUE(c.Create(MakeSts("web", 2)).ok());
  c.Run(Seconds(3));
  const std::string uid0 = Pods().at("web-0").metadata().uid();
  ASSERT_TRUE(DeletePod("web-0").ok());
  std::set<std::string> uids1;
  Watch(Seconds(30), [&](const std::map<std::string, api::Pod>& pods) {
    if (pods.count("web-1")) uids1.insert(pods.at("web-1").metadata().uid());
  });
  auto pods = Pods();
  ASSERT_EQ(pods.size(), 2u);
  EXPECT_NE(pods.at("web-0").metadata().uid(), uid0);
  EXPECT_GE(uids1.size(), 2u) << "failed web-1 recreated";
  EXPECT_EQ(pods.at("web-0").metadata().name(), "web-0");
}

TEST_F(StatefulSetTest, ClaimsAreCreatedBeforePodsAndOwnedPerRetentionPolicy) {
  c.AddPodRunner([](const api::Pod&) { return Slow(Seconds(0), Seconds(3)); });
  StartManagers(1);
  api::StatefulSet keep = MakeSts("keep", 2);
  AddClaimTemplate(&keep, "data");
  api::StatefulSet scaled = MakeSts("scaled", 2);
  AddClaimTemplate(&scaled, "data");
  scaled.mutable_spec()->mutable_persistent_volume_claim_retention_policy()->set_when_scaled("Delete");
  api::StatefulSet deleted = MakeSts("deleted", 1);
  AddClaimTemplate(&deleted, "data");
  deleted.mutable_spec()->mutable_persistent_volume_claim_retention_policy()->set_when_deleted("Delete");
  for (const auto* s : {&keep, &scaled, &deleted}) ASSERT_TRUE(c.Create(*s).ok());
  c.Run(Seconds(20));
  auto claims = Claims();
  auto pods = Pods();
  for (const char* name : {"data-keep-0", "data-keep-1", "data-scaled-0", "data-scaled-1", "data-deleted-0"}) {
    ASSERT_EQ(claims.count(name), 1u) << name;
    EXPECT_EQ(claims.at(name).metadata().labels().at("app"), std::string(name).substr(5, std::string(name).size() - 7));
  }
  bool found = false;
  for (const auto& v : pods.at("keep-1").spec().volumes()) {
    if (v.name() == "data") found = v.persistent_volume_claim().claim_name() == "data-keep-1";
  }
  EXPECT_TRUE(found) << "the pod mounts its claim";
  EXPECT_EQ(claims.at("data-keep-0").metadata().owner_references_size(), 0);
  EXPECT_EQ(claims.at("data-scaled-1").metadata().owner_references_size(), 0);
  ASSERT_EQ(claims.at("data-deleted-0").metadata().owner_references_size(), 1);
  EXPECT_EQ(claims.at("data-deleted-0").metadata().owner_references(0).kind(), "StatefulSet");
  EXPECT_EQ(claims.at("data-deleted-0").metadata().owner_references(0).uid(), GetSts("deleted").metadata().uid());

  const std::string pod_uid = pods.at("scaled-1").metadata().uid();
  for (const char* name : {"keep", "scaled"}) {
    ASSERT_TRUE(UpdateSts(name, [](api::StatefulSet& s) { s.mutable_spec()->set_replicas(1); }));
  }
  c.Run(Seconds(20));
  claims = Claims();
  EXPECT_EQ(Pods().count("scaled-1"), 0u);
  // whenScaled=Delete: the condemned pod owns its claim (the garbage collector removes it
  // with the pod); Retain: untouched.
  ASSERT_EQ(claims.at("data-scaled-1").metadata().owner_references_size(), 1);
  EXPECT_EQ(claims.at("data-scaled-1").metadata().owner_references(0).kind(), "Pod");
  EXPECT_EQ(claims.at("data-scaled-1").metadata().owner_references(0).uid(), pod_uid);
  EXPECT_EQ(claims.at("data-scaled-0").metadata().owner_references_size(), 0);
  EXPECT_EQ(claims.at("data-keep-1").metadata().owner_references_size(), 0);
  // Scaling up again: the claim is kept, the pod reference removed.
  ASSERT_TRUE(UpdateSts("scaled", [](api::StatefulSet& s) { s.mutable_spec()->set_replicas(2); }));
  c.Run(Seconds(20));
  EXPECT_EQ(Claims().at("data-scaled-1").metadata().owner_references_size(), 0);
  EXPECT_EQ(Claims().at("data-scaled-1").metadata().uid(), claims.at("data-scaled-1").metadata().uid());
}

// The safety rule: a pod deleted while its node side is dead stays terminating, and no
// second pod of its identity appears until it is force-deleted.
TEST_F(StatefulSetTest, NoReplacementWhileTheOldPodIsTerminatingOnAFrozenNode) {
  c.AddPodRunner([](const api::Pod&) { return Slow(Seconds(0)); });
  StartManagers(1);
  ASSERT_TRUE(c.Create(MakeSts("web", 2)).ok());
  c.Run(Seconds(20));
  const std::string uid = Pods().at("web-1").metadata().uid();
  c.RunnerHost().CrashProcess("pod-runner");
  ASSERT_TRUE(DeletePod("web-1").ok());
  Watch(Seconds(120), [&](const std::map<std::string, api::Pod>& pods) {
    ASSERT_EQ(pods.count("web-1"), 1u) << "the terminating pod stays until its kubelet confirms";
    EXPECT_EQ(pods.at("web-1").metadata().uid(), uid) << "a second web-1 appeared";
    EXPECT_TRUE(pods.at("web-1").metadata().has_deletion_timestamp());
    int ordinal1 = 0;  // pods of identity 1 under any name
    for (const auto& [name, p] : pods) ordinal1 += p.metadata().labels().at(kStsPodIndexLabel) == "1" ? 1 : 0;
    EXPECT_EQ(ordinal1, 1) << "a second pod of identity 1";
  });
  ASSERT_TRUE(DeletePod("web-1", 0).ok());  // force delete
  c.Run(Seconds(10));
  auto pods = Pods();
  ASSERT_EQ(pods.count("web-1"), 1u) << "replaced once gone";
  EXPECT_NE(pods.at("web-1").metadata().uid(), uid);
  EXPECT_FALSE(pods.at("web-1").metadata().has_deletion_timestamp());
}

}  // namespace
}  // namespace ksim::controllers::testing
