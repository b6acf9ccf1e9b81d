// The CronJob controller (Kubernetes' cronjob_controllerv2): per CronJob, forget finished
// or vanished Jobs from status.active, create the Job of the most recent missed schedule
// (if not too late and the concurrency policy allows), record it, prune history, and look
// again at the next schedule time. Job names are deterministic (<cronjob>-<minutes since
// the epoch>), so a replica that takes over can never start one schedule twice.
#include "cluster/controllers/cronjob.h"

#include <fmt/format.h>

#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <vector>

#include "cluster/api/batch.pb.h"
#include "cluster/api/options.pb.h"
#include "cluster/api/registry.h"
#include "cluster/controllers/cron_schedule.h"
#include "cluster/controllers/job_util.h"
#include "cluster/controllers/replica_set.h"

namespace ksim::controllers {
namespace {

using client::ObjectPtr;
using JobPtr = std::shared_ptr<const api::Job>;

const api::KindInfo& JobsKind() { return *api::Registry::Default().ByGroupResource("batch", "jobs"); }
const api::KindInfo& CronJobsKind() { return *api::Registry::Default().ByGroupResource("batch", "cronjobs"); }

std::string Rfc3339(int64_t t) {
  const int64_t day = t >= 0 ? t / 86400 : (t - 86399) / 86400;
  const int64_t sec = t - day * 86400;
  const std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{day}}};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                     static_cast<unsigned>(ymd.day()), sec / 3600, sec / 60 % 60, sec % 60);
}

// Kubernetes: more missed start times than this and a TooManyMissedTimes warning.
constexpr int kMaxMissed = 100;

struct Step {
  std::optional<api::Job> create;
  std::vector<JobPtr> remove;   // Replace: active Jobs; history beyond the limits
  api::CronJobStatus status;
  std::vector<std::tuple<std::string, std::string, std::string>> events;
  // Recorded only once the status that goes with them is written (a stale view writes nothing).
  std::vector<std::tuple<std::string, std::string, std::string>> status_events;
  int64_t next = -1;            // wall seconds of the next schedule, -1 none
};

class CronJobController final : public Controller {
 public:
  explicit CronJobController(ControllerContext& ctx)
      : ctx_(ctx), cronjobs_(ctx.informers->For(CronJobsKind())), jobs_(ctx.informers->For(JobsKind())) {
    recorder_ = ctx_.NewRecorder("cronjob-controller");
    loop_ = std::make_unique<ReconcileLoop>(
        ctx_, kCronJobControllerName,
        [this](const std::string& key, std::function<void(Status)> done) { Sync(key, std::move(done)); },
        ctx_.options.concurrent_cron_job_syncs);
    loop_->OnSynced([this] {
      for (const auto& o : cronjobs_->List()) loop_->Add(client::Informer::KeyOf(*o));
    });
    const auto by_namespace = [](const google::protobuf::Message& m) {
      return std::vector<std::string>{api::GetMeta(m)->namespace_()};
    };
    jobs_->AddIndex(kIndex, by_namespace);
    const auto add = [this](const ObjectPtr& o) { loop_->Add(client::Informer::KeyOf(*o)); };
    cronjobs_->AddHandlers({add, [add](const ObjectPtr&, const ObjectPtr& o) { add(o); }, nullptr});
    const auto job_changed = [this](const ObjectPtr& o) {
      const auto* ref = ControllerRef(*api::GetMeta(*o));
      if (ref != nullptr && ref->kind() == "CronJob") loop_->Add(api::GetMeta(*o)->namespace_() + "/" + ref->name());
    };
    jobs_->AddHandlers({job_changed, [job_changed](const ObjectPtr&, const ObjectPtr& o) { job_changed(o); }, job_changed});
  }
  ~CronJobController() override { *alive_ = false; }
  void Start() override { loop_->Start(); }
  void Stop() override { loop_->Stop(); }

 private:
  static constexpr char kIndex[] = "cronjob/namespace";

  void Sync(const std::string& key, std::function<void(Status)> done) {
    auto o = cronjobs_->Get(key);
    if (o == nullptr) return done(Status::Ok());
    auto cj = std::static_pointer_cast<const api::CronJob>(o);
    std::vector<JobPtr> owned;
    for (const auto& j : jobs_->ByIndex(kIndex, cj->metadata().namespace_())) {
      const auto* ref = ControllerRef(*api::GetMeta(*j));
      if (ref != nullptr && ref->uid() == cj->metadata().uid()) owned.push_back(std::static_pointer_cast<const api::Job>(j));
    }
    std::sort(owned.begin(), owned.end(), [](const JobPtr& a, const JobPtr& b) { return a->metadata().name() < b->metadata().name(); });
    const int64_t now = ctx_.env.clock->WallNow().count() / 1'000'000'000;
    auto step = std::make_shared<Step>(Plan(*cj, owned, now));
    if (step->next >= 0) loop_->AddAfter(key, Seconds(std::max<int64_t>(1, step->next - now)) + Milliseconds(100));
    if (!ctx_.acting()) return done(Status::Unavailable("not acting"));
    for (const auto& [type, reason, msg] : step->events) recorder_->Event(*cj, type, reason, msg);
    DeleteJobs(cj, step, std::move(done));
  }

  Step Plan(const api::CronJob& cj, const std::vector<JobPtr>& owned, int64_t now) const {
    Step s;
    s.status = cj.status();
    const api::CronJobSpec& spec = cj.spec();
    std::map<std::string, JobPtr> by_name;
    for (const auto& j : owned) by_name[j->metadata().name()] = j;
    // Active list: keep the Jobs still running; a finished one updates lastSuccessfulTime.
    s.status.clear_active();
    std::vector<JobPtr> running;
    for (const auto& ref : cj.status().active()) {
      auto it = by_name.find(ref.name());
      if (it == by_name.end() || it->second->metadata().uid() != ref.uid()) continue;  // gone
      if (!JobFinished(*it->second)) *s.status.add_active() = ref;
    }
    for (const auto& j : owned) {
      if (JobFinished(*j)) continue;
      running.push_back(j);
      bool listed = false;
      for (const auto& ref : s.status.active()) listed = listed || ref.uid() == j->metadata().uid();
      if (!listed) *s.status.add_active() = Ref(*j);  // ours but not recorded (a lost status write)
    }
    for (const auto& j : owned) {
      const auto* c = JobConditionTrue(*j, "Complete");
      if (c == nullptr) continue;
      const int64_t at = j->status().has_completion_time() ? j->status().completion_time().seconds() : c->last_transition_time().seconds();
      if (!s.status.has_last_successful_time() || s.status.last_successful_time().seconds() < at) {
        s.status.mutable_last_successful_time()->set_seconds(at);
      }
    }
    for (const auto& ref : cj.status().active()) {
      auto it = by_name.find(ref.name());
      if (it != by_name.end() && JobFinished(*it->second)) {
        s.status_events.emplace_back("Normal", "SawCompletedJob",
                              fmt::format("Saw completed job: {}, condition: {}", ref.name(),
                                          JobConditionTrue(*it->second, "Complete") ? "Complete" : "Failed"));
      }
    }
    Prune(spec, owned, &s);
    if (cj.metadata().has_deletion_timestamp()) return s;
    // Validation rejects unknown zones, but the tz database can differ from the apiserver's
    // (or lose a zone after an upgrade): Kubernetes then warns and does nothing.
    CronTimeZone zone;
    if (spec.has_time_zone()) {
      if (Status st = CronTimeZone::Load(spec.time_zone(), &zone); !st.ok()) {
        s.events.emplace_back("Warning", "UnknownTimeZone", fmt::format("invalid timeZone: \"{}\": {}", spec.time_zone(), st.message()));
        return s;
      }
    }
    if (spec.has_suspend() && spec.suspend()) return s;
    CronSchedule sched;
    if (Status st = CronSchedule::Parse(spec.schedule(), &sched); !st.ok()) {
      s.events.emplace_back("Warning", "UnparseableSchedule", fmt::format("unparseable schedule: \"{}\" : {}", spec.schedule(), st.message()));
      return s;
    }
    // The most recent schedule time in (earliest, now], counting the ones skipped.
    int64_t earliest = cj.status().has_last_schedule_time() ? cj.status().last_schedule_time().seconds()
                                                            : cj.metadata().creation_timestamp().seconds();
    if (spec.has_starting_deadline_seconds()) earliest = std::max(earliest, now - spec.starting_deadline_seconds());
    int64_t scheduled = -1;
    int missed = 0;
    for (auto t = sched.Next(earliest, zone); t && *t <= now; t = sched.Next(*t, zone)) {
      scheduled = *t;
      if (++missed > kMaxMissed + 1) {
        // Jump to the latest one directly: step back from now.
        for (auto u = sched.Next(now - 366 * 86400, zone); u && *u <= now; u = sched.Next(*u, zone)) scheduled = *u;
        break;
      }
    }
    if (missed > kMaxMissed) {
      s.events.emplace_back("Warning", "TooManyMissedTimes",
                            "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew");
    }
    if (auto n = sched.Next(now, zone)) s.next = *n;
    if (scheduled < 0) return s;
    if (spec.has_starting_deadline_seconds() && scheduled + spec.starting_deadline_seconds() < now) {
      s.events.emplace_back("Warning", "MissSchedule", fmt::format("Missed scheduled time to start a job: {}", Rfc3339(scheduled)));
      return s;
    }
    const std::string name = fmt::format("{}-{}", cj.metadata().name(), scheduled / 60);
    if (by_name.count(name) != 0) return s;  // this schedule's Job exists (maybe done)
    if (!running.empty() && spec.concurrency_policy() == "Forbid") {
      s.events.emplace_back("Normal", "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid");
      return s;
    }
    if (!running.empty() && spec.concurrency_policy() == "Replace") {
      for (const auto& j : running) s.remove.push_back(j);
    }
    s.create = NewJob(cj, name, scheduled, zone);
    s.status.mutable_last_schedule_time()->set_seconds(scheduled);
    return s;
  }

  // Finished Jobs beyond successfulJobsHistoryLimit (3) / failedJobsHistoryLimit (1), oldest first.
  static void Prune(const api::CronJobSpec& spec, const std::vector<JobPtr>& owned, Step* s) {
    for (const char* type : {"Complete", "Failed"}) {
      const bool ok = std::string(type) == "Complete";
      const int32_t limit = ok ? (spec.has_successful_jobs_history_limit() ? spec.successful_jobs_history_limit() : 3)
                               : (spec.has_failed_jobs_history_limit() ? spec.failed_jobs_history_limit() : 1);
      std::vector<JobPtr> done;
      for (const auto& j : owned) {
        if (JobConditionTrue(*j, type) != nullptr && !j->metadata().has_deletion_timestamp()) done.push_back(j);
      }
      std::sort(done.begin(), done.end(), [](const JobPtr& a, const JobPtr& b) {
        const int64_t ta = a->status().start_time().seconds(), tb = b->status().start_time().seconds();
        return ta != tb ? ta < tb : a->metadata().name() < b->metadata().name();
      });
      for (size_t i = 0; i + static_cast<size_t>(std::max(0, limit)) < done.size(); ++i) s->remove.push_back(done[i]);
    }
  }

  static api::ObjectReference Ref(const api::Job& j) {
    api::ObjectReference r;
    r.set_kind("Job");
    r.set_api_version("batch/v1");
    r.set_namespace_(j.metadata().namespace_());
    r.set_name(j.metadata().name());
    r.set_uid(j.metadata().uid());
    r.set_resource_version(j.metadata().resource_version());
    return r;
  }

  static api::Job NewJob(const api::CronJob& cj, const std::string& name, int64_t scheduled, const CronTimeZone& zone) {
    const api::JobTemplateSpec& t = cj.spec().job_template();
    api::Job j;
    auto* m = j.mutable_metadata();
    m->set_name(name);
    m->set_namespace_(cj.metadata().namespace_());
    *m->mutable_labels() = t.metadata().labels();
    *m->mutable_annotations() = t.metadata().annotations();
    // In the CronJob's zone, as Kubernetes writes it; status times stay UTC.
    (*m->mutable_annotations())["batch.kubernetes.io/cronjob-scheduled-timestamp"] = zone.Rfc3339(scheduled);
    auto* ref = m->add_owner_references();
    ref->set_api_version("batch/v1");
    ref->set_kind("CronJob");
    ref->set_name(cj.metadata().name());
    ref->set_uid(cj.metadata().uid());
    ref->set_controller(true);
    ref->set_block_owner_deletion(true);
    *j.mutable_spec() = t.spec();
    return j;
  }

  void DeleteJobs(const std::shared_ptr<const api::CronJob>& cj, const std::shared_ptr<Step>& step,
                  std::function<void(Status)> done) {
    if (step->remove.empty()) return CreateJob(cj, step, std::move(done));
    auto pending = std::make_shared<int>(static_cast<int>(step->remove.size()));
    auto error = std::make_shared<Status>();
    for (const auto& j : step->remove) {
      api::DeleteOptions options;
      options.set_propagation_policy("Background");
      options.mutable_preconditions()->set_uid(j->metadata().uid());
      ctx_.client->Delete(JobsKind(), j->metadata().namespace_(), j->metadata().name(), options,
                          [this, alive = alive_, cj, step, j, pending, error, done](const client::ApiResult& r) {
                            if (!*alive) return;
                            if (r.ok()) {
                              recorder_->Event(*cj, "Normal", "SuccessfulDelete", "Deleted job " + j->metadata().name());
                            } else if (r.code != 404 && error->ok()) {
                              *error = Status::Unavailable("delete job: " + r.Describe());
                            }
                            if (--*pending > 0) return;
                            if (!error->ok()) return done(*error);
                            CreateJob(cj, step, done);
                          });
    }
  }

  void CreateJob(const std::shared_ptr<const api::CronJob>& cj, const std::shared_ptr<Step>& step,
                 std::function<void(Status)> done) {
    if (!step->create) return WriteStatus(cj, step, std::move(done));
    if (!ctx_.acting()) return done(Status::Unavailable("not acting"));
    ctx_.client->Create(JobsKind(), *step->create, [this, alive = alive_, cj, step, done](const client::ApiResult& r) {
      if (!*alive) return;
      if (r.ok()) {
        api::Job created;
        (void)created.ParseFromString(r.body);
        recorder_->Event(*cj, "Normal", "SuccessfulCreate", "Created job " + created.metadata().name());
        *step->status.add_active() = Ref(created);
      } else if (r.code != 409) {  // 409: this schedule's Job exists; the informer will show it
        if (r.status.ok()) recorder_->Event(*cj, "Warning", "FailedCreate", "Error creating job: " + r.Describe());
        return done(Status::Unavailable("create job: " + r.Describe()));
      }
      WriteStatus(cj, step, done);
    });
  }

  void WriteStatus(const std::shared_ptr<const api::CronJob>& cj, const std::shared_ptr<Step>& step,
                   std::function<void(Status)> done) {
    if (google::protobuf::util::MessageDifferencer::Equals(step->status, cj->status())) return done(Status::Ok());
    if (!ctx_.acting()) return done(Status::Unavailable("not acting"));
    api::CronJob updated = *cj;
    *updated.mutable_status() = step->status;
    ctx_.client->Update(CronJobsKind(), updated, [this, alive = alive_, cj, step, done](const client::ApiResult& r) {
      if (!*alive) return;
      if (r.ok()) {
        for (const auto& [type, reason, msg] : step->status_events) recorder_->Event(*cj, type, reason, msg);
      }
      done(r.ok() ? Status::Ok() : Status::Unavailable("cronjob status: " + r.Describe()));
    }, "status");
  }

  ControllerContext& ctx_;
  client::Informer* cronjobs_;
  client::Informer* jobs_;
  std::unique_ptr<client::EventRecorder> recorder_;
  std::unique_ptr<ReconcileLoop> loop_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

std::unique_ptr<Controller> NewCronJobController(ControllerContext& ctx) { return std::make_unique<CronJobController>(ctx); }

}  // namespace ksim::controllers
