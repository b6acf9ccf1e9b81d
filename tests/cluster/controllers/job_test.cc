// The Job and TTL-after-finished controllers against the API in the simulated world, with
// the fake node side (pod_runner.h) running the pods; the cases follow the Kubernetes
// documentation's examples (pi, indexed, backoffLimit, podFailurePolicy, deadline,
// suspend, ttl).
#include <gtest/gtest.h>

#include <algorithm>

#include "cluster/api/batch.pb.h"
#include "cluster/controllers/job.h"
#include "tests/cluster/controllers/job_fixture.h"

namespace ksim::controllers::testing {
namespace {

// The docs' pi Job: one pod computes and exits 0.
TEST_F(JobTest, PiJobCompletesAndReleasesItsPod) {
  c.AddPodRunner([](const api::Pod&) { return Exits(Seconds(5)); });
  Start();
  ASSERT_TRUE(c.Create(MakeJob("pi")).ok());
  c.Run(Seconds(30));
  api::Job job = GetJob("pi");
  EXPECT_TRUE(HasCondition(job, "Complete")) << job.DebugString();
  EXPECT_TRUE(HasCondition(job, "SuccessCriteriaMet"));
  EXPECT_EQ(job.status().succeeded(), 1);
  EXPECT_EQ(job.status().failed(), 0);
  EXPECT_EQ(job.status().active(), 0);
  EXPECT_TRUE(job.status().has_start_time());
  EXPECT_TRUE(job.status().has_completion_time());
  EXPECT_EQ(job.status().uncounted_terminated_pods().succeeded_size(), 0);
  auto pods = Pods();
  ASSERT_EQ(pods.size(), 1u);
  const api::Pod& p = pods.begin()->second;
  EXPECT_EQ(p.metadata().name().rfind("pi-", 0), 0u);
  EXPECT_EQ(p.metadata().labels().at(kJobControllerUid), job.metadata().uid());
  EXPECT_EQ(p.metadata().labels().at(kJobName), "pi");
  EXPECT_EQ(p.metadata().finalizers_size(), 0) << "tracking finalizer removed once counted";
  EXPECT_EQ(ControllerRef(p.metadata())->kind(), "Job");
  EXPECT_EQ(CountReason("SuccessfulCreate"), 1);
  EXPECT_EQ(CountReason("Completed"), 1);
  EXPECT_TRUE(c.violations.empty());
}

// completions 5, parallelism 2: never more than two pods at once, exactly five successes.
TEST_F(JobTest, ParallelJobRunsAtMostParallelismPods) {
  c.AddPodRunner([](const api::Pod&) { return Exits(Seconds(5)); });
  Start();
  api::Job j = MakeJob("work");
  j.mutable_spec()->set_completions(5);
  j.mutable_spec()->set_parallelism(2);
  ASSERT_TRUE(c.Create(j).ok());
  int most = 0;
  for (int i = 0; i < 60; ++i) {
    c.Run(Seconds(1));
    most = std::max(most, ActivePods());
  }
  api::Job job = GetJob("work");
  EXPECT_TRUE(HasCondition(job, "Complete")) << job.status().DebugString();
  EXPECT_EQ(job.status().succeeded(), 5);
  EXPECT_EQ(most, 2);
  EXPECT_EQ(Pods().size(), 5u);
}

// The docs' indexed Job: completions 5, parallelism 3; one pod per index, named after it.
TEST_F(JobTest, IndexedJobCompletesEveryIndexOnce) {
  c.AddPodRunner([](const api::Pod&) { return Exits(Seconds(5)); });
  Start();
  api::Job j = MakeJob("indexed");
  j.mutable_spec()->set_completions(5);
  j.mutable_spec()->set_parallelism(3);
  j.mutable_spec()->set_completion_mode("Indexed");
  ASSERT_TRUE(c.Create(j).ok());
  c.Run(Seconds(60));
  api::Job job = GetJob("indexed");
  EXPECT_TRUE(HasCondition(job, "Complete")) << job.status().DebugString();
  EXPECT_EQ(job.status().completed_indexes(), "0-4");
  EXPECT_EQ(job.status().succeeded(), 5);
  std::set<std::string> indexes;
  for (const auto& [name, p] : Pods()) {
    const std::string ix = p.metadata().annotations().at(kJobCompletionIndex);
    EXPECT_EQ(name.rfind("indexed-" + ix + "-", 0), 0u) << name;
    EXPECT_EQ(p.metadata().labels().at(kJobCompletionIndex), ix);
    EXPECT_EQ(p.spec().hostname(), "indexed-" + ix);
    EXPECT_EQ(p.spec().containers(0).env(0).name(), "JOB_COMPLETION_INDEX");
    indexes.insert(ix);
  }
  EXPECT_EQ(indexes.size(), 5u);
  EXPECT_EQ(Pods().size(), 5u);
}

// backoffLimit 2: three failures fail the Job; replacements wait 10 s, then 20 s.
TEST_F(JobTest, BackoffLimitFailsTheJobAfterBackedOffRetries) {
  c.AddPodRunner([](const api::Pod&) { return Exits(Seconds(2), 1); });
  Start();
  api::Job j = MakeJob("flaky");
  j.mutable_spec()->set_backoff_limit(2);
  ASSERT_TRUE(c.Create(j).ok());
  c.Run(Seconds(120));
  api::Job job = GetJob("flaky");
  EXPECT_TRUE(HasCondition(job, "Failed")) << job.status().DebugString();
  EXPECT_TRUE(HasCondition(job, "FailureTarget"));
  EXPECT_EQ(ConditionReason(job, "Failed"), "BackoffLimitExceeded");
  EXPECT_EQ(job.status().failed(), 3);
  EXPECT_FALSE(HasCondition(job, "Complete"));
  std::vector<int64_t> created;
  for (const auto& [name, p] : Pods()) created.push_back(p.metadata().creation_timestamp().seconds());
  std::sort(created.begin(), created.end());
  ASSERT_EQ(created.size(), 3u);
  EXPECT_GE(created[1] - created[0], 2 + 1 + 10) << "first replacement after 10 s of back-off";
  EXPECT_GE(created[2] - created[1], 2 + 1 + 20) << "second after 20 s";
  EXPECT_EQ(CountReason("BackoffLimitExceeded"), 1);
}

// podFailurePolicy: exit code 42 fails the Job at once (FailJob); exit code 3 is ignored
// (not counted against backoffLimit, the pod is replaced).
TEST_F(JobTest, PodFailurePolicyFailJobAndIgnore) {
  auto n = std::make_shared<int>(0);
  c.AddPodRunner([n](const api::Pod& p) { return Exits(Seconds(2), ++*n <= 2 ? 3 : 42); });
  Start();
  api::Job j = MakeJob("pfp");
  j.mutable_spec()->set_backoff_limit(6);
  auto* policy = j.mutable_spec()->mutable_pod_failure_policy();
  auto* fail = policy->add_rules();
  fail->set_action("FailJob");
  fail->mutable_on_exit_codes()->set_operator_("In");
  fail->mutable_on_exit_codes()->add_values(42);
  auto* ignore = policy->add_rules();
  ignore->set_action("Ignore");
  ignore->mutable_on_exit_codes()->set_operator_("In");
  ignore->mutable_on_exit_codes()->add_values(3);
  ASSERT_TRUE(c.Create(j).ok());
  c.Run(Seconds(60));
  api::Job job = GetJob("pfp");
  EXPECT_TRUE(HasCondition(job, "Failed")) << job.status().DebugString();
  EXPECT_EQ(ConditionReason(job, "Failed"), "PodFailurePolicy");
  EXPECT_NE(ConditionMessage(job, "Failed").find("exit code 42 matching FailJob rule at index 0"), std::string::npos)
      << ConditionMessage(job, "Failed");
  EXPECT_EQ(job.status().failed(), 1) << "the two ignored failures are not counted";
  EXPECT_EQ(Pods().size(), 3u);
}

// activeDeadlineSeconds 30 with pods that never end: DeadlineExceeded, pods deleted.
TEST_F(JobTest, ActiveDeadlineFailsTheJobAndDeletesItsPods) {
  c.AddPodRunner([](const api::Pod&) { return Exits(std::nullopt); });
  Start();
  api::Job j = MakeJob("slow");
  j.mutable_spec()->set_parallelism(2);
  j.mutable_spec()->set_completions(2);
  j.mutable_spec()->set_active_deadline_seconds(30);
  ASSERT_TRUE(c.Create(j).ok());
  c.Run(Seconds(20));
  EXPECT_EQ(GetJob("slow").status().active(), 2);
  EXPECT_FALSE(HasCondition(GetJob("slow"), "Failed"));
  c.Run(Seconds(30));
  api::Job job = GetJob("slow");
  EXPECT_TRUE(HasCondition(job, "Failed")) << job.status().DebugString();
  EXPECT_EQ(ConditionReason(job, "Failed"), "DeadlineExceeded");
  EXPECT_EQ(job.status().active(), 0);
  EXPECT_EQ(job.status().failed(), 0) << "pods the controller deletes are not failures";
  EXPECT_EQ(Pods().size(), 0u);
  EXPECT_EQ(CountReason("DeadlineExceeded"), 1);
}

// Created suspended: no pods; resumed: pods and a fresh startTime; suspended again: the
// active pods are deleted.
TEST_F(JobTest, SuspendAndResume) {
  c.AddPodRunner([](const api::Pod&) { return Exits(std::nullopt); });
  Start();
  api::Job j = MakeJob("sus");
  j.mutable_spec()->set_parallelism(2);
  j.mutable_spec()->set_completions(4);
  j.mutable_spec()->set_suspend(true);
  ASSERT_TRUE(c.Create(j).ok());
  c.Run(Seconds(20));
  api::Job job = GetJob("sus");
  EXPECT_TRUE(HasCondition(job, "Suspended"));
  EXPECT_FALSE(job.status().has_start_time());
  EXPECT_EQ(Pods().size(), 0u);
  SetSuspend("sus", false);
  c.Run(Seconds(10));
  job = GetJob("sus");
  EXPECT_EQ(ConditionStatus(job, "Suspended"), "False");
  EXPECT_EQ(ConditionReason(job, "Suspended"), "JobResumed");
  EXPECT_TRUE(job.status().has_start_time());
  EXPECT_EQ(job.status().active(), 2);
  SetSuspend("sus", true);
  c.Run(Seconds(10));
  job = GetJob("sus");
  EXPECT_TRUE(HasCondition(job, "Suspended"));
  EXPECT_EQ(job.status().active(), 0);
  EXPECT_EQ(job.status().failed(), 0);
  EXPECT_EQ(Pods().size(), 0u);
}

// ttlSecondsAfterFinished 20: the finished Job is deleted 20 s after it completed.
TEST_F(JobTest, TtlAfterFinishedDeletesTheJob) {
  c.AddPodRunner([](const api::Pod&) { return Exits(Seconds(2)); });
  Start();
  api::Job j = MakeJob("short");
  j.mutable_spec()->set_ttl_seconds_after_finished(20);
  ASSERT_TRUE(c.Create(j).ok());
  c.Run(Seconds(10));
  api::Job job = GetJob("short");
  ASSERT_TRUE(HasCondition(job, "Complete"));
  const int64_t done_at = job.status().completion_time().seconds();
  const auto wall = [this] { return c.ManagerHost(1).WallNow().count() / 1'000'000'000; };
  c.Run(Seconds(done_at + 18 - wall()));
  EXPECT_TRUE(JobExists("short")) << "not before the TTL";
  c.Run(Seconds(4));
  EXPECT_FALSE(JobExists("short"));
}

// backoffLimitPerIndex 1, maxFailedIndexes 5: index 2 always fails, so after two tries it
// is a failed index; the others complete; the Job fails with FailedIndexes.
TEST_F(JobTest, BackoffLimitPerIndexFailsOneIndex) {
  c.AddPodRunner([](const api::Pod& p) {
    const auto ix = PodCompletionIndex(p);
    return Exits(Seconds(2), ix && *ix == 2 ? 1 : 0);
  });
  Start();
  api::Job j = MakeJob("per-index");
  j.mutable_spec()->set_completions(4);
  j.mutable_spec()->set_parallelism(4);
  j.mutable_spec()->set_completion_mode("Indexed");
  j.mutable_spec()->set_backoff_limit_per_index(1);
  j.mutable_spec()->set_max_failed_indexes(5);
  ASSERT_TRUE(c.Create(j).ok());
  c.Run(Seconds(90));
  api::Job job = GetJob("per-index");
  EXPECT_TRUE(HasCondition(job, "Failed")) << job.status().DebugString();
  EXPECT_EQ(ConditionReason(job, "Failed"), "FailedIndexes");
  EXPECT_EQ(job.status().completed_indexes(), "0-1,3");
  EXPECT_EQ(job.status().failed_indexes(), "2");
  EXPECT_EQ(job.status().failed(), 2);
}

TEST(JobUtil, IndexRangesRoundTrip) {
  EXPECT_EQ(FormatIndexes({1, 3, 4, 5}), "1,3-5");
  EXPECT_EQ(FormatIndexes({}), "");
  EXPECT_EQ(ParseIndexes("1,3-5"), (std::set<int32_t>{1, 3, 4, 5}));
  EXPECT_EQ(ParseIndexes("0-9", 3), (std::set<int32_t>{0, 1, 2}));
  EXPECT_EQ(ParseIndexes("x,2,5-3,-1"), (std::set<int32_t>{2}));
  EXPECT_EQ(JobBackoff(1), Seconds(10));
  EXPECT_EQ(JobBackoff(3), Seconds(40));
  EXPECT_EQ(JobBackoff(30), Seconds(360));
}

}  // namespace
}  // namespace ksim::controllers::testing
