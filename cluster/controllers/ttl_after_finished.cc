// The TTL-after-finished controller (Kubernetes' pkg/controller/ttlafterfinished): a Job
// with ttlSecondsAfterFinished is deleted (background propagation) that long after it
// finished. The expiry is confirmed on a fresh read of the Job before the delete.
#include <fmt/format.h>

#include "cluster/api/options.pb.h"
#include "cluster/api/registry.h"
#include "cluster/controllers/job.h"

namespace ksim::controllers {
namespace {

const api::KindInfo& JobsKind() { return *api::Registry::Default().ByGroupResource("batch", "jobs"); }

// When the Job finished (its Complete or Failed condition's transition), or -1.
int64_t FinishedAt(const api::Job& job) {
  for (const char* type : {"Complete", "Failed"}) {
    if (const auto* c = JobConditionTrue(job, type)) {
      if (type == std::string("Complete") && job.status().has_completion_time()) return job.status().completion_time().seconds();
      return c->last_transition_time().seconds();
    }
  }
  return -1;
}

// Seconds until `job` expires (<= 0: expired), or nullopt if it never does.
std::optional<int64_t> TimeLeft(const api::Job& job, int64_t now) {
  if (!job.spec().has_ttl_seconds_after_finished() || job.metadata().has_deletion_timestamp()) return std::nullopt;
  const int64_t at = FinishedAt(job);
  if (at < 0) return std::nullopt;
  return at + job.spec().ttl_seconds_after_finished() - now;
}

class TtlAfterFinishedController final : public Controller {
 public:
  explicit TtlAfterFinishedController(ControllerContext& ctx) : ctx_(ctx), jobs_(ctx.informers->For(JobsKind())) {
    loop_ = std::make_unique<ReconcileLoop>(
        ctx_, kTtlAfterFinishedControllerName,
        [this](const std::string& key, std::function<void(Status)> done) { Sync(key, std::move(done)); },
        ctx_.options.concurrent_ttl_after_finished_syncs);
    loop_->OnSynced([this] {
      for (const auto& o : jobs_->List()) loop_->Add(client::Informer::KeyOf(*o));
    });
    jobs_->AddHandlers({[this](const client::ObjectPtr& o) { loop_->Add(client::Informer::KeyOf(*o)); },
                        [this](const client::ObjectPtr&, const client::ObjectPtr& o) { loop_->Add(client::Informer::KeyOf(*o)); },
                        nullptr});
  }
  ~TtlAfterFinishedController() override { *alive_ = false; }
  void Start() override { loop_->Start(); }
  void Stop() override { loop_->Stop(); }

 private:
  int64_t Now() const { return ctx_.env.clock->WallNow().count() / 1'000'000'000; }

  void Sync(const std::string& key, std::function<void(Status)> done) {
    auto o = jobs_->Get(key);
    if (o == nullptr) return done(Status::Ok());
    const auto& cached = static_cast<const api::Job&>(*o);
    const auto left = TimeLeft(cached, Now());
    if (!left) return done(Status::Ok());
    if (*left > 0) {
      loop_->AddAfter(key, Seconds(*left));
      return done(Status::Ok());
    }
    // The cache may be stale (the TTL changed): decide on the Job as the apiserver has it.
    ctx_.client->Get(JobsKind(), cached.metadata().namespace_(), cached.metadata().name(),
                     [this, alive = alive_, key, done](const client::ApiResult& r) {
                       if (!*alive) return;
                       if (r.code == 404) return done(Status::Ok());
                       api::Job job;
                       if (!r.ok() || !job.ParseFromString(r.body)) return done(Status::Unavailable(r.Describe()));
                       const auto fresh_left = TimeLeft(job, Now());
                       if (!fresh_left) return done(Status::Ok());
                       if (*fresh_left > 0) {
                         loop_->AddAfter(key, Seconds(*fresh_left));
                         return done(Status::Ok());
                       }
                       if (!ctx_.acting()) return done(Status::Unavailable("not acting"));
                       api::DeleteOptions options;
                       options.set_propagation_policy("Background");
                       options.mutable_preconditions()->set_uid(job.metadata().uid());
                       options.mutable_preconditions()->set_resource_version(job.metadata().resource_version());
                       ctx_.client->Delete(JobsKind(), job.metadata().namespace_(), job.metadata().name(), options,
                                           [alive, done](const client::ApiResult& d) {
                                             if (!*alive) return;
                                             done(d.ok() || d.code == 404 ? Status::Ok() : Status::Unavailable(d.Describe()));
                                           });
                     });
  }

  ControllerContext& ctx_;
  client::Informer* jobs_;
  std::unique_ptr<ReconcileLoop> loop_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

std::unique_ptr<Controller> NewTtlAfterFinishedController(ControllerContext& ctx) {
  return std::make_unique<TtlAfterFinishedController>(ctx);
}

}  // namespace ksim::controllers
