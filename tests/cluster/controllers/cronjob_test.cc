// The CronJob controller with the Job controller and the fake node side: the Kubernetes
// docs' "hello" CronJob (every minute), concurrency policies, history limits, suspend,
// missed schedules and time zones (unknown zones are the apiserver's: more_kinds_test).
#include <gtest/gtest.h>

#include "cluster/controllers/cronjob.h"
#include "tests/cluster/controllers/job_fixture.h"

namespace ksim::controllers::testing {
namespace {

const api::KindInfo& CronJobKind() { return Kind("batch", "cronjobs"); }

api::CronJob MakeCronJob(const std::string& name, const std::string& schedule) {
  api::CronJob cj;
  cj.mutable_metadata()->set_name(name);
  cj.mutable_metadata()->set_namespace_("default");
  cj.mutable_spec()->set_schedule(schedule);
  *cj.mutable_spec()->mutable_job_template()->mutable_spec() = MakeJob("x").spec();
  return cj;
}

class CronJobTest : public JobTest {
 public:
  void StartAll() {
    Start([](ControllerManagerOptions& o) { o.controllers.push_back(kCronJobControllerName); });
  }
  api::CronJob GetCronJob(const std::string& name) {
    auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Get(CronJobKind(), "default", name, std::move(d)); });
    api::CronJob cj;
    EXPECT_TRUE(r.ok() && cj.ParseFromString(r.body)) << r.Describe();
    return cj;
  }
  void Update(const api::CronJob& cj) {
    auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Update(CronJobKind(), cj, std::move(d)); });
    ASSERT_TRUE(r.ok()) << r.Describe();
  }
  std::map<std::string, api::Job> Jobs() {
    std::map<std::string, api::Job> out;
    auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->List(JobKind(), "default", {}, std::move(d)); });
    apiserver::ObjectList l;
    if (!r.ok() || !l.ParseFromString(r.body)) return out;
    for (const auto& item : l.items()) {
      api::Job j;
      if (j.ParseFromString(item)) out[j.metadata().name()] = j;
    }
    return out;
  }
  int64_t Wall() { return c.ManagerHost(1).WallNow().count() / 1'000'000'000; }
};

// The docs' hello CronJob: a Job every minute named after its schedule time; finished Jobs
// beyond successfulJobsHistoryLimit (3) are deleted.
TEST_F(CronJobTest, HelloEveryMinuteKeepsThreeSuccessfulJobs) {
  c.AddPodRunner([](const api::Pod&) { return Exits(Seconds(5)); });
  StartAll();
  ASSERT_TRUE(c.Create(MakeCronJob("hello", "* * * * *")).ok());
  const int64_t created = Wall();
  c.Run(Seconds(60 * 6 + 30));
  auto jobs = Jobs();
  EXPECT_EQ(jobs.size(), 3u);
  int64_t newest = 0;
  for (const auto& [name, j] : jobs) {
    EXPECT_TRUE(HasCondition(j, "Complete")) << name;
    const int64_t minutes = std::stoll(name.substr(std::string("hello-").size()));
    newest = std::max(newest, minutes);
    EXPECT_GT(minutes * 60, created);
    EXPECT_EQ(ControllerRef(j.metadata())->kind(), "CronJob");
    EXPECT_TRUE(j.metadata().annotations().count("batch.kubernetes.io/cronjob-scheduled-timestamp")) << name;
  }
  api::CronJob cj = GetCronJob("hello");
  EXPECT_EQ(cj.status().last_schedule_time().seconds(), newest * 60);
  EXPECT_GE(cj.status().last_successful_time().seconds(), newest * 60);
  EXPECT_EQ(cj.status().active_size(), 0);
  int created_jobs = 0, saw = 0;
  for (const auto& e : c.Events()) {
    if (e.involved_object().kind() != "CronJob") continue;
    created_jobs += e.reason() == "SuccessfulCreate" ? std::max(1, e.count()) : 0;
    saw += e.reason() == "SawCompletedJob" ? std::max(1, e.count()) : 0;
  }
  EXPECT_EQ(created_jobs, 6);
  EXPECT_EQ(saw, 6);
  EXPECT_TRUE(c.violations.empty());
}

// Forbid: a Job that never ends blocks the next ones.
TEST_F(CronJobTest, ForbidSkipsWhileAJobRuns) {
  c.AddPodRunner([](const api::Pod&) { return Exits(std::nullopt); });
  StartAll();
  api::CronJob cj = MakeCronJob("forbid", "* * * * *");
  cj.mutable_spec()->set_concurrency_policy("Forbid");
  ASSERT_TRUE(c.Create(cj).ok());
  c.Run(Seconds(60 * 3 + 30));
  EXPECT_EQ(Jobs().size(), 1u);
  EXPECT_EQ(GetCronJob("forbid").status().active_size(), 1);
  EXPECT_GE(CountReason("JobAlreadyActive"), 2);
}

// Replace: each schedule deletes the running Job and starts a new one.
TEST_F(CronJobTest, ReplaceDeletesTheRunningJob) {
  c.AddPodRunner([](const api::Pod&) { return Exits(std::nullopt); });
  StartAll();
  api::CronJob cj = MakeCronJob("replace", "* * * * *");
  cj.mutable_spec()->set_concurrency_policy("Replace");
  ASSERT_TRUE(c.Create(cj).ok());
  c.Run(Seconds(60 * 3 + 30));
  auto jobs = Jobs();
  ASSERT_EQ(jobs.size(), 1u);
  api::CronJob got = GetCronJob("replace");
  ASSERT_EQ(got.status().active_size(), 1);
  EXPECT_EQ(got.status().active(0).name(), jobs.begin()->first);
  EXPECT_EQ(CountReason("SuccessfulDelete"), 2);
}

// Allow (the default) with Jobs that never end: one more every minute.
TEST_F(CronJobTest, AllowRunsConcurrently) {
  c.AddPodRunner([](const api::Pod&) { return Exits(std::nullopt); });
  StartAll();
  ASSERT_TRUE(c.Create(MakeCronJob("allow", "* * * * *")).ok());
  c.Run(Seconds(60 * 3 + 30));
  EXPECT_EQ(Jobs().size(), 3u);
  EXPECT_EQ(GetCronJob("allow").status().active_size(), 3);
}

// Suspended for 110 minutes, then resumed: more than 100 missed schedules is a
// TooManyMissedTimes warning, and only the most recent schedule runs. With
// startingDeadlineSeconds the old misses are not looked at.
TEST_F(CronJobTest, MissedSchedulesAfterSuspend) {
  c.AddPodRunner([](const api::Pod&) { return Exits(Seconds(5)); });
  StartAll();
  api::CronJob a = MakeCronJob("late", "* * * * *");
  a.mutable_spec()->set_suspend(true);
  api::CronJob b = MakeCronJob("deadline", "* * * * *");
  b.mutable_spec()->set_suspend(true);
  b.mutable_spec()->set_starting_deadline_seconds(200);
  ASSERT_TRUE(c.Create(a).ok());
  ASSERT_TRUE(c.Create(b).ok());
  c.Run(Seconds(110 * 60));
  EXPECT_EQ(Jobs().size(), 0u) << "nothing while suspended";
  for (const char* name : {"late", "deadline"}) {
    api::CronJob cj = GetCronJob(name);
    cj.mutable_spec()->set_suspend(false);
    Update(cj);
  }
  c.Run(Seconds(20));
  EXPECT_GE(CountReason("TooManyMissedTimes"), 1) << "for late only";
  for (const auto& e : c.Events()) {
    if (e.reason() == "TooManyMissedTimes") {
      EXPECT_EQ(e.involved_object().name(), "late");
    }
  }
  auto jobs = Jobs();
  EXPECT_EQ(jobs.size(), 2u) << "one Job each, for the most recent schedule";
  const int64_t minute = Wall() / 60;
  EXPECT_TRUE(jobs.count("late-" + std::to_string(minute)) || jobs.count("late-" + std::to_string(minute - 1)));
}

// spec.timeZone: the world starts at 2026-01-01T00:00:00Z, which is 05:30 in Asia/Kolkata,
// so "31 5 * * *" there fires a minute in (and in UTC not for hours). The Job's
// scheduled-timestamp annotation is in the zone, as Kubernetes writes it; the name and
// status.lastScheduleTime stay UTC.
TEST_F(CronJobTest, TimeZoneSchedulesInWallTimeOfTheZone) {
  StartAll();
  api::CronJob kolkata = MakeCronJob("kolkata", "31 5 * * *");
  kolkata.mutable_spec()->set_time_zone("Asia/Kolkata");
  api::CronJob utc = MakeCronJob("utc", "31 5 * * *");
  utc.mutable_spec()->set_time_zone("Etc/UTC");
  ASSERT_TRUE(c.Create(kolkata).ok());
  ASSERT_TRUE(c.Create(utc).ok());
  c.Run(Seconds(90));
  const int64_t scheduled = 1767225660;  // 2026-01-01T00:01:00Z = 05:31 IST
  auto jobs = Jobs();
  ASSERT_EQ(jobs.size(), 1u);
  const std::string name = "kolkata-" + std::to_string(scheduled / 60);
  ASSERT_EQ(jobs.count(name), 1u) << jobs.begin()->first;
  EXPECT_EQ(jobs[name].metadata().annotations().at("batch.kubernetes.io/cronjob-scheduled-timestamp"),
            "2026-01-01T05:31:00+05:30");
  EXPECT_EQ(GetCronJob("kolkata").status().last_schedule_time().seconds(), scheduled);
  EXPECT_FALSE(GetCronJob("utc").status().has_last_schedule_time());
  EXPECT_EQ(CountReason("UnknownTimeZone"), 0);
}

}  // namespace
}  // namespace ksim::controllers::testing
