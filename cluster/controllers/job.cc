// The Job controller: informer plumbing, the per-key sync (live list on a new term,
// expectations) and the writes. The decisions are in job_plan.cc.
#include "cluster/controllers/job.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "cluster/api/label_selector.h"
#include "cluster/api/options.pb.h"
#include "cluster/api/registry.h"
#include "cluster/controllers/controller_ref_events.h"
#include "cluster/controllers/expectations.h"
#include "cluster/controllers/job_plan.h"
#include "cluster/controllers/replica_set.h"

namespace ksim::controllers {
namespace {

using client::ObjectPtr;

const api::KindInfo& PodsKind() { return *api::Registry::Default().ByGroupResource("", "pods"); }
const api::KindInfo& JobsKind() { return *api::Registry::Default().ByGroupResource("batch", "jobs"); }
JobPodPtr AsPod(const ObjectPtr& o) { return std::static_pointer_cast<const api::Pod>(o); }
std::string PodKey(const api::Pod& p) { return p.metadata().namespace_() + "/" + p.metadata().name(); }
// Keys of the work queue: "<ns>/<job>" for a Job, "pod:<ns>/<pod>" for an orphaned pod
// that still carries our finalizer.
constexpr char kOrphanPrefix[] = "pod:";

// One sync's writes, answered asynchronously.
struct JobRun {
  std::string key;
  std::shared_ptr<const api::Job> job;
  JobPlan plan;
  std::function<void(Status)> done;
  Status error;
  int pending = 0;
};
using JobRunPtr = std::shared_ptr<JobRun>;

class JobController final : public Controller {
 public:
  explicit JobController(ControllerContext& ctx)
      : ctx_(ctx), expectations_(ctx.options.expectations_timeout), jobs_(ctx.informers->For(JobsKind())),
        pods_(ctx.informers->For(PodsKind())) {
    recorder_ = ctx_.NewRecorder("job-controller");
    loop_ = std::make_unique<ReconcileLoop>(
        ctx_, kJobControllerName,
        [this](const std::string& key, std::function<void(Status)> done) { Sync(key, std::move(done)); },
        ctx_.options.concurrent_job_syncs);
    loop_->OnSynced([this] {
      for (const auto& o : jobs_->List()) loop_->Add(client::Informer::KeyOf(*o));
      for (const auto& o : pods_->List()) MaybeOrphan(*AsPod(o));
    });
    const auto by_namespace = [](const google::protobuf::Message& m) {
      return std::vector<std::string>{api::GetMeta(m)->namespace_()};
    };
    pods_->AddIndex(kIndex, by_namespace);
    jobs_->AddHandlers({[this](const ObjectPtr& o) { loop_->Add(client::Informer::KeyOf(*o)); },
                        [this](const ObjectPtr&, const ObjectPtr& o) { loop_->Add(client::Informer::KeyOf(*o)); },
                        [this](const ObjectPtr& o) {
                          const std::string key = client::Informer::KeyOf(*o);
                          expectations_.Delete(key);
                          backoff_.erase(key);
                          for (const auto& p : pods_->ByIndex(kIndex, api::GetMeta(*o)->namespace_())) {
                            MaybeOrphan(*AsPod(p));
                          }
                        }});
    // No adoption of orphans (ksim's Jobs do not adopt); an orphan that still carries our
    // finalizer is queued to have it removed.
    PodOwnerKind pod_owner;
    pod_owner.kind_name = "Job";
    pod_owner.owners = jobs_;
    pod_owner.on_unowned = [this](const api::Pod& pod) { MaybeOrphan(pod); };
    pod_owner.terminating_add_is_create = true;
    pod_events_ = std::make_unique<ControllerRefPodEvents>(std::move(pod_owner), &expectations_, loop_.get());
    pods_->AddHandlers(pod_events_->Handlers());
  }
  ~JobController() override { *alive_ = false; }

  void Start() override {
    lead_start_ = ctx_.env.clock->MonotonicNow();
    verified_.clear();
    loop_->Start();
  }
  void Stop() override {
    loop_->Stop();
    expectations_ = Expectations(ctx_.options.expectations_timeout);
    backoff_.clear();
  }

 private:
  static constexpr char kIndex[] = "job/namespace";

  void MaybeOrphan(const api::Pod& pod) {
    const auto* ref = ControllerRef(pod.metadata());
    if (ref != nullptr && ref->kind() == "Job" && HasJobFinalizer(pod) &&
        pod_events_->Resolve(pod.metadata().namespace_(), ref) == nullptr) {
      loop_->Add(kOrphanPrefix + PodKey(pod));
    }
  }
  void Sync(const std::string& key, std::function<void(Status)> done) {
    if (key.rfind(kOrphanPrefix, 0) == 0) return SyncOrphan(key.substr(sizeof(kOrphanPrefix) - 1), std::move(done));
    auto obj = jobs_->Get(key);
    if (obj == nullptr) {
      expectations_.Delete(key);
      return done(Status::Ok());
    }
    // A write the previous leader sent may still land for request_timeout: wait that out
    // once per term before acting (as node IPAM does), so it cannot be repeated.
    const Nanos now = ctx_.env.clock->MonotonicNow();
    const Nanos settle = lead_start_ + ctx_.options.request_timeout + Seconds(2);
    if (now < settle) {
      loop_->AddAfter(key, settle - now);
      return done(Status::Ok());
    }
    auto run = std::make_shared<JobRun>();
    run->key = key;
    run->job = std::static_pointer_cast<const api::Job>(obj);
    run->done = std::move(done);
    const auto state = expectations_.Check(key, now);
    if (state == Expectations::State::kPending) return run->done(Status::Ok());  // pod events requeue
    const api::Job& job = *run->job;
    if (state == Expectations::State::kSatisfied && verified_.count(job.metadata().uid()) != 0) {
      std::vector<JobPodPtr> pods;
      for (const auto& o : pods_->ByIndex(kIndex, job.metadata().namespace_())) {
        const auto* ref = ControllerRef(AsPod(o)->metadata());
        if (ref != nullptr && ref->uid() == job.metadata().uid()) pods.push_back(AsPod(o));
      }
      return Decide(run, std::move(pods));
    }
    // First sync of this Job in this term (or expectations expired): the cache may miss
    // the previous leader's writes, so the pods are read from the apiserver.
    expectations_.Delete(key);
    std::map<std::string, std::string> query;
    query["labelSelector"] = std::string(kJobControllerUid) + "=" + job.metadata().uid();
    ctx_.client->List(PodsKind(), job.metadata().namespace_(), std::move(query),
                      [this, alive = alive_, run](const client::ApiResult& r) {
                        if (!*alive) return;
                        apiserver::ObjectList list;
                        if (!r.ok() || !list.ParseFromString(r.body)) {
                          return run->done(Status::Unavailable("list pods: " + r.Describe()));
                        }
                        std::vector<JobPodPtr> pods;
                        for (const auto& item : list.items()) {
                          auto p = std::make_shared<api::Pod>();
                          const auto* ref = p->ParseFromString(item) ? ControllerRef(p->metadata()) : nullptr;
                          if (ref != nullptr && ref->uid() == run->job->metadata().uid()) pods.push_back(std::move(p));
                        }
                        ExpectUnseen(run->key, *run->job, pods);
                        verified_.insert(run->job->metadata().uid());
                        Decide(run, std::move(pods));
                      });
  }

  // Our pods the live list shows and the cache does not are expected as creates (and the
  // reverse as deletes), so later syncs wait for the cache to catch up.
  void ExpectUnseen(const std::string& key, const api::Job& job, const std::vector<JobPodPtr>& live) {
    std::set<std::string> cached, listed;
    for (const auto& o : pods_->ByIndex(kIndex, job.metadata().namespace_())) {
      const auto* ref = ControllerRef(AsPod(o)->metadata());
      if (ref != nullptr && ref->uid() == job.metadata().uid()) cached.insert(PodKey(*AsPod(o)));
    }
    for (const auto& p : live) listed.insert(PodKey(*p));
    expectations_.ExpectCacheToCatchUp(key, cached, listed, ctx_.env.clock->MonotonicNow());
  }

  void Decide(const JobRunPtr& run, std::vector<JobPodPtr> pods) {
    std::sort(pods.begin(), pods.end(), [](const JobPodPtr& a, const JobPodPtr& b) { return PodKey(*a) < PodKey(*b); });
    JobPlanInput in;
    in.job = run->job.get();
    in.pods = std::move(pods);
    in.now_seconds = ctx_.env.clock->WallNow().count() / 1'000'000'000;
    in.now = ctx_.env.clock->MonotonicNow();
    auto b = backoff_.find(run->key);
    if (b != backoff_.end()) in.backoff = b->second;
    run->plan = PlanJob(in);
    for (const auto& msg : run->plan.log) Log(run->key + ": " + msg);
    WriteStatus(run);
  }

  bool Acting(const JobRunPtr& run) {
    if (ctx_.acting()) return true;
    run->done(Status::Unavailable("not acting"));
    return false;
  }

  // 1. The status (accounting, conditions), guarded by the Job's resourceVersion: a stale
  //    view of the Job writes nothing and nothing below happens.
  void WriteStatus(const JobRunPtr& run) {
    if (!run->plan.status_changed) return ReleaseFinalizers(run);
    if (!Acting(run)) return;
    api::Job updated = *run->job;
    *updated.mutable_status() = run->plan.status;
    ctx_.client->Update(JobsKind(), updated, [this, alive = alive_, run](const client::ApiResult& r) {
      if (!*alive) return;
      if (!r.ok()) return run->done(Status::Unavailable("job status: " + r.Describe()));
      const JobPlan& p = run->plan;
      if (p.new_failures > 0) {
        auto& b = backoff_[run->key];
        b.failures += p.new_failures;
        b.last_failure = ctx_.env.clock->MonotonicNow();
      }
      if (p.new_successes > 0) backoff_[run->key].failures = 0;
      for (const auto& [type, reason, message] : p.events) recorder_->Event(*run->job, type, reason, message);
      ReleaseFinalizers(run);
    }, "status");
  }

  // 2. Pods now recorded in the status (or of a finished Job) lose the finalizer.
  void ReleaseFinalizers(const JobRunPtr& run) {
    if (run->plan.release.empty()) return DeletePods(run);
    if (!Acting(run)) return;
    run->pending = static_cast<int>(run->plan.release.size());
    for (const auto& pod : run->plan.release) {
      RemoveFinalizer(*pod, [this, run](const client::ApiResult& r) {
        if (!r.ok() && r.code != 404 && run->error.ok()) run->error = Status::Unavailable("finalizer: " + r.Describe());
        if (--run->pending == 0) DeletePods(run);
      });
    }
  }

  void RemoveFinalizer(const api::Pod& pod, client::ApiClient::Done done) {
    api::Pod updated = pod;
    auto* f = updated.mutable_metadata()->mutable_finalizers();
    for (int i = f->size() - 1; i >= 0; --i) {
      if (f->Get(i) == kJobTrackingFinalizer) f->DeleteSubrange(i, 1);
    }
    ctx_.client->Update(PodsKind(), updated, [alive = alive_, done = std::move(done)](const client::ApiResult& r) {
      if (*alive) done(r);
    });
  }

  // 3. Pods to remove (surplus, suspended, finished Job): finalizer first, so a pod the
  //    controller removes is never counted as a failure (Kubernetes' deleteJobPods).
  void DeletePods(const JobRunPtr& run) {
    if (run->plan.remove.empty()) return CreatePods(run);
    if (!Acting(run)) return;
    std::set<std::string> keys;
    for (const auto& p : run->plan.remove) keys.insert(PodKey(*p));
    expectations_.ExpectDeletions(run->key, keys, ctx_.env.clock->MonotonicNow());
    run->pending = static_cast<int>(run->plan.remove.size());
    for (const auto& pod : run->plan.remove) {
      auto del = [this, alive = alive_, run, pod] {
        api::DeleteOptions options;
        options.mutable_preconditions()->set_uid(pod->metadata().uid());
        ctx_.client->Delete(PodsKind(), pod->metadata().namespace_(), pod->metadata().name(), options,
                            [this, alive, run, pod](const client::ApiResult& r) {
                              if (!*alive) return;
                              if (r.ok()) {
                                recorder_->Event(*run->job, "Normal", "SuccessfulDelete",
                                                 "Deleted pod: " + pod->metadata().name());
                              } else {
                                expectations_.DeletionObserved(run->key, PodKey(*pod));
                                if (r.code != 404 && run->error.ok()) run->error = Status::Unavailable(r.Describe());
                              }
                              if (--run->pending == 0) CreatePods(run);
                            });
      };
      if (!HasJobFinalizer(*pod)) {
        del();
        continue;
      }
      RemoveFinalizer(*pod, [this, run, pod, del](const client::ApiResult& r) {
        if (r.ok()) return del();
        expectations_.DeletionObserved(run->key, PodKey(*pod));
        if (r.code != 404 && run->error.ok()) run->error = Status::Unavailable("finalizer: " + r.Describe());
        if (--run->pending == 0) CreatePods(run);
      });
    }
  }

  // 4. New pods, in slow-start batches (1, 2, 4, ...); a failure stops the rest.
  void CreatePods(const JobRunPtr& run) {
    auto& creates = run->plan.create;
    if (creates.empty() || !run->error.ok()) return Finish(run);
    if (!Acting(run)) return;
    expectations_.ExpectCreations(run->key, static_cast<int>(creates.size()), ctx_.env.clock->MonotonicNow());
    CreateBatch(run, 0, 1);
  }

  void CreateBatch(const JobRunPtr& run, size_t from, size_t batch) {
    auto& creates = run->plan.create;
    if (from >= creates.size() || !run->error.ok() || !ctx_.acting()) {
      for (size_t i = from; i < creates.size(); ++i) expectations_.CreationObserved(run->key);
      return Finish(run);
    }
    const size_t n = std::min(batch, creates.size() - from);
    run->pending = static_cast<int>(n);
    for (size_t i = from; i < from + n; ++i) {
      ctx_.client->Create(PodsKind(), creates[i], [this, alive = alive_, run, from, n, batch](const client::ApiResult& r) {
        if (!*alive) return;
        if (r.ok()) {
          api::Pod created;
          (void)created.ParseFromString(r.body);
          recorder_->Event(*run->job, "Normal", "SuccessfulCreate", "Created pod: " + created.metadata().name());
        } else {
          // No answer: the pod may exist; the next sync reads the pods live to find out.
          expectations_.CreationObserved(run->key);
          if (!r.status.ok()) verified_.erase(run->job->metadata().uid());
          const std::string msg = r.error.message().empty() ? r.Describe() : r.error.message();
          if (run->error.ok()) run->error = Status::Unavailable(msg);
          if (r.status.ok()) recorder_->Event(*run->job, "Warning", "FailedCreate", "Error creating: " + msg);
        }
        if (--run->pending == 0) CreateBatch(run, from + n, batch * 2);
      });
    }
  }

  void Finish(const JobRunPtr& run) {
    if (run->error.ok() && run->plan.requeue_after > Nanos(0)) loop_->AddAfter(run->key, run->plan.requeue_after);
    run->done(run->error);
  }

  // A pod with our finalizer whose Job is gone: confirm with the apiserver (the cache may
  // lag), then release the pod.
  void SyncOrphan(const std::string& pod_key, std::function<void(Status)> done) {
    auto o = pods_->Get(pod_key);
    if (o == nullptr || !HasJobFinalizer(*AsPod(o))) return done(Status::Ok());
    JobPodPtr pod = AsPod(o);
    const auto* ref = ControllerRef(pod->metadata());
    if (ref == nullptr) return done(Status::Ok());
    ctx_.client->Get(JobsKind(), pod->metadata().namespace_(), ref->name(),
                     [this, alive = alive_, pod, uid = ref->uid(), done](const client::ApiResult& r) {
                       if (!*alive) return;
                       api::Job job;
                       const bool gone = r.code == 404 || (r.ok() && job.ParseFromString(r.body) && job.metadata().uid() != uid);
                       if (!gone) return done(r.ok() ? Status::Ok() : Status::Unavailable(r.Describe()));
                       if (!ctx_.acting()) return done(Status::Unavailable("not acting"));
                       RemoveFinalizer(*pod, [done](const client::ApiResult& u) {
                         done(u.ok() || u.code == 404 ? Status::Ok() : Status::Unavailable(u.Describe()));
                       });
                     });
  }

  void Log(const std::string& msg) {
    if (ctx_.env.log != nullptr) ctx_.env.log->Log(LogLevel::kInfo, kJobControllerName, msg);
  }

  ControllerContext& ctx_;
  Expectations expectations_;
  client::Informer* jobs_;
  client::Informer* pods_;
  std::unique_ptr<client::EventRecorder> recorder_;
  std::unique_ptr<ReconcileLoop> loop_;
  std::unique_ptr<ControllerRefPodEvents> pod_events_;
  Nanos lead_start_{0};
  std::set<std::string> verified_;              // Job uids read live this term
  std::map<std::string, JobBackoffRecord> backoff_;  // in memory, as in Kubernetes
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

std::unique_ptr<Controller> NewJobController(ControllerContext& ctx) { return std::make_unique<JobController>(ctx); }

}  // namespace ksim::controllers
