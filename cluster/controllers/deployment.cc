// The Deployment controller: informers and handlers, claiming ReplicaSets, and running a
// PlanDeployment's writes in order (deployment_rolling.cc decides them).
#include "cluster/controllers/deployment.h"

#include <fmt/format.h>

#include <map>
#include <set>
#include <utility>

#include "cluster/api/label_selector.h"
#include "cluster/api/registry.h"
#include "cluster/controllers/replica_set.h"

namespace ksim::controllers {
namespace {

using client::ObjectPtr;
using deployment_internal::NewCondition;
using deployment_internal::SetCondition;

const api::KindInfo& DeploymentsKind() { return *api::Registry::Default().ByGroupResource("apps", "deployments"); }
const api::KindInfo& RsKind() { return *api::Registry::Default().ByGroupResource("apps", "replicasets"); }
const api::KindInfo& PodsKind() { return *api::Registry::Default().ByGroupResource("", "pods"); }
constexpr char kIndex[] = "deployment/namespace";
constexpr char kAbsent[] = "<absent>";

std::map<std::string, std::string> LabelsOf(const api::ObjectMeta& m) { return {m.labels().begin(), m.labels().end()}; }

// One sync's state, shared by the callbacks of its writes.
struct Run {
  std::string key;
  std::shared_ptr<const api::Deployment> d;
  DeploymentPlan plan;
  size_t next = 0;
  std::function<void(Status)> done;
};
using RunPtr = std::shared_ptr<Run>;

class DeploymentController final : public Controller {
 public:
  explicit DeploymentController(ControllerContext& ctx)
      : ctx_(ctx), deployments_(ctx.informers->For(DeploymentsKind())), rss_(ctx.informers->For(RsKind())),
        pods_(ctx.informers->For(PodsKind())) {
    recorder_ = ctx_.NewRecorder("deployment-controller");
    loop_ = std::make_unique<ReconcileLoop>(
        ctx_, kDeploymentControllerName,
        [this](const std::string& key, std::function<void(Status)> done) { Sync(key, std::move(done)); },
        ctx_.options.concurrent_deployment_syncs);
    loop_->OnSynced([this] {
      for (const auto& o : deployments_->List()) loop_->Add(client::Informer::KeyOf(*o));
    });
    const auto by_namespace = [](const google::protobuf::Message& m) {
      return std::vector<std::string>{api::GetMeta(m)->namespace_()};
    };
    deployments_->AddIndex(kIndex, by_namespace);
    rss_->AddIndex(kIndex, by_namespace);
    pods_->AddIndex(kIndex, by_namespace);
    const auto enqueue = [this](const ObjectPtr& o) { loop_->Add(client::Informer::KeyOf(*o)); };
    deployments_->AddHandlers({enqueue, [enqueue](const ObjectPtr&, const ObjectPtr& o) { enqueue(o); }, enqueue});
    rss_->AddHandlers({[this](const ObjectPtr& o) { OnRsAdd(*o); },
                       [this](const ObjectPtr& a, const ObjectPtr& b) { OnRsUpdate(*a, *b); },
                       [this](const ObjectPtr& o) { EnqueueOwner(*api::GetMeta(*o)); }});
    pods_->AddHandlers({nullptr, nullptr, [this](const ObjectPtr& o) { OnPodDelete(static_cast<const api::Pod&>(*o)); }});
  }
  ~DeploymentController() override { *alive_ = false; }

  // Like node IPAM, wait out the previous leader's writes (request timeout + 2 s) before
  // the first decision, so a lagging cache does not undo them.
  void Start() override {
    ++term_;
    start_timer_ = ctx_.env.clock->Schedule(ctx_.options.request_timeout + Seconds(2), [this, alive = alive_] {
      if (*alive) loop_->Start();
    });
  }
  void Stop() override {
    ++term_;
    ctx_.env.clock->Cancel(start_timer_);
    loop_->Stop();
    rs_overrides_.clear();
    d_overrides_.clear();
  }

 private:
  // --- handlers ---
  ObjectPtr Resolve(const std::string& ns, const api::OwnerReference* ref) const {
    if (ref == nullptr || ref->kind() != "Deployment") return nullptr;
    ObjectPtr o = deployments_->Get(ns + "/" + ref->name());
    return o != nullptr && api::GetMeta(*o)->uid() == ref->uid() ? o : nullptr;
  }
  void EnqueueOwner(const api::ObjectMeta& m) {
    if (ObjectPtr d = Resolve(m.namespace_(), ControllerRef(m))) loop_->Add(client::Informer::KeyOf(*d));
  }
  void EnqueueMatching(const api::ObjectMeta& m) {
    for (const auto& o : deployments_->ByIndex(kIndex, m.namespace_())) {
      const auto& d = static_cast<const api::Deployment&>(*o);
      api::LabelMatcher sel;
      if (api::LabelMatcherFromProto(d.spec().has_selector(), d.spec().selector(), "spec.selector", &sel).ok() &&
          sel.Matches(LabelsOf(m))) {
        loop_->Add(client::Informer::KeyOf(d));
      }
    }
  }
  void OnRsAdd(const google::protobuf::Message& o) {
    const auto& m = *api::GetMeta(o);
    if (ControllerRef(m) != nullptr) return EnqueueOwner(m);
    EnqueueMatching(m);
  }
  void OnRsUpdate(const google::protobuf::Message& a, const google::protobuf::Message& b) {
    const auto& old = *api::GetMeta(a);
    const auto& cur = *api::GetMeta(b);
    const auto* old_ref = ControllerRef(old);
    const auto* cur_ref = ControllerRef(cur);
    const bool ref_changed = (old_ref == nullptr) != (cur_ref == nullptr) ||
                             (old_ref != nullptr && old_ref->uid() != cur_ref->uid());
    if (ref_changed) EnqueueOwner(old);
    if (cur_ref != nullptr) return EnqueueOwner(cur);
    if (ref_changed || LabelsOf(old) != LabelsOf(cur)) EnqueueMatching(cur);
  }
  // Recreate waits for old pods to be gone: a deleted pod may let it go on.
  void OnPodDelete(const api::Pod& pod) {
    const auto* ref = ControllerRef(pod.metadata());
    if (ref == nullptr || ref->kind() != "ReplicaSet") return;
    ObjectPtr rs = rss_->Get(pod.metadata().namespace_() + "/" + ref->name());
    if (rs == nullptr || api::GetMeta(*rs)->uid() != ref->uid()) return;
    ObjectPtr d = Resolve(pod.metadata().namespace_(), ControllerRef(*api::GetMeta(*rs)));
    if (d != nullptr && static_cast<const api::Deployment&>(*d).spec().strategy().type() == "Recreate") {
      loop_->Add(client::Informer::KeyOf(*d));
    }
  }

  // --- our own writes, until the informer shows them ---
  struct Override {
    std::string rv_before;  // the cached resourceVersion the write replaced (kAbsent: a create)
    ObjectPtr after;        // null: deleted
  };
  using Overrides = std::map<std::string, Override>;
  static std::string CachedRv(client::Informer* inf, const std::string& key) {
    ObjectPtr o = inf->Get(key);
    return o == nullptr ? kAbsent : api::GetMeta(*o)->resource_version();
  }
  // The cache with this controller's answered writes laid over it; an override goes once
  // the informer has moved past the version it replaced.
  static ObjectPtr Current(client::Informer* inf, Overrides& overrides, const std::string& key) {
    auto it = overrides.find(key);
    if (it == overrides.end()) return inf->Get(key);
    if (CachedRv(inf, key) != it->second.rv_before) {
      overrides.erase(it);
      return inf->Get(key);
    }
    return it->second.after;
  }

  std::vector<api::ReplicaSet> ReplicaSetsIn(const std::string& ns) {
    std::set<std::string> keys;
    for (const auto& o : rss_->ByIndex(kIndex, ns)) keys.insert(client::Informer::KeyOf(*o));
    for (const auto& [key, ov] : rs_overrides_) {
      if (key.rfind(ns + "/", 0) == 0) keys.insert(key);
    }
    std::vector<api::ReplicaSet> out;
    for (const auto& key : keys) {
      if (ObjectPtr cur = Current(rss_, rs_overrides_, key)) out.push_back(static_cast<const api::ReplicaSet&>(*cur));
    }
    return out;
  }

  // --- sync ---
  void Sync(const std::string& key, std::function<void(Status)> done) {
    ObjectPtr obj = Current(deployments_, d_overrides_, key);
    if (obj == nullptr) return done(Status::Ok());
    auto run = std::make_shared<Run>();
    run->key = key;
    run->d = std::static_pointer_cast<const api::Deployment>(obj);
    run->done = std::move(done);
    const api::Deployment& d = *run->d;
    api::LabelMatcher sel;
    if (Status s = api::LabelMatcherFromProto(d.spec().has_selector(), d.spec().selector(), "spec.selector", &sel);
        !s.ok() || sel.MatchesNothing()) {
      return run->done(Status::Ok());  // validation rejects these; nothing to retry
    }
    const bool deleting = d.metadata().has_deletion_timestamp();
    std::vector<api::ReplicaSet> owned;
    std::vector<api::ReplicaSet> claims;  // adoptions and releases
    for (auto& rs : ReplicaSetsIn(d.metadata().namespace_())) {
      const bool matches = sel.Matches(LabelsOf(rs.metadata()));
      const auto* ref = ControllerRef(rs.metadata());
      if (ref != nullptr) {
        if (ref->uid() != d.metadata().uid()) continue;
        if (matches || deleting) {
          owned.push_back(std::move(rs));
          continue;
        }
        auto* refs = rs.mutable_metadata()->mutable_owner_references();
        for (int i = 0; i < refs->size(); ++i) {
          if (refs->Get(i).uid() == d.metadata().uid()) {
            refs->DeleteSubrange(i, 1);
            break;
          }
        }
        claims.push_back(std::move(rs));
      } else if (matches && !deleting && !rs.metadata().has_deletion_timestamp()) {
        auto* ref2 = rs.mutable_metadata()->add_owner_references();
        ref2->set_api_version("apps/v1");
        ref2->set_kind("Deployment");
        ref2->set_name(d.metadata().name());
        ref2->set_uid(d.metadata().uid());
        ref2->set_controller(true);
        ref2->set_block_owner_deletion(true);
        claims.push_back(std::move(rs));
      }
    }
    if (!claims.empty()) {
      // Claims first; the sync that follows sees them.
      for (auto& rs : claims) run->plan.writes.push_back({DeploymentWrite::kUpdateRs, std::move(rs), {}});
      loop_->Add(key);
      return Next(run, term_);
    }
    std::vector<api::Pod> pods;
    if (d.spec().strategy().type() == "Recreate") {
      std::map<std::string, bool> uids;
      for (const auto& rs : owned) uids[rs.metadata().uid()] = true;
      for (const auto& o : pods_->ByIndex(kIndex, d.metadata().namespace_())) {
        const auto& p = static_cast<const api::Pod&>(*o);
        const auto* ref = ControllerRef(p.metadata());
        if (ref != nullptr && uids.count(ref->uid()) != 0 && sel.Matches(LabelsOf(p.metadata()))) pods.push_back(p);
      }
    }
    run->plan = PlanDeployment(d, std::move(owned), pods, ctx_.env.clock->WallNow().count() / 1'000'000'000);
    if (run->plan.requeue_after_s > 0) loop_->AddAfter(key, Seconds(run->plan.requeue_after_s));
    Next(run, term_);
  }

  bool StillActing(uint64_t term) const { return *alive_ && term == term_ && ctx_.acting(); }

  // Sends the plan's writes one after another; the first failure ends the sync.
  void Next(const RunPtr& run, uint64_t term) {
    if (!StillActing(term)) return run->done(Status::Unavailable("no longer leading"));
    if (run->next == run->plan.writes.size()) return WriteDeployment(run, term);
    const DeploymentWrite& w = run->plan.writes[run->next];
    const std::string rs_key = client::Informer::KeyOf(w.rs);
    const auto after = [this, alive = alive_, run, term, rs_key](const client::ApiResult& r) {
      if (!*alive) return;
      const DeploymentWrite& cur = run->plan.writes[run->next];
      if (!r.ok() && !(cur.kind == DeploymentWrite::kDeleteRs && r.code == 404)) return WriteFailed(run, term, r);
      if (cur.kind == DeploymentWrite::kDeleteRs) {
        rs_overrides_[rs_key] = Override{CachedRv(rss_, rs_key), nullptr};
      } else {
        auto rs = std::make_shared<api::ReplicaSet>();
        if (rs->ParseFromString(r.body)) {
          rs_overrides_[rs_key] = Override{CachedRv(rss_, rs_key), rs};
        }
      }
      for (const auto& [reason, msg] : cur.events) recorder_->Event(*run->d, "Normal", reason, msg);
      ++run->next;
      Next(run, term);
    };
    switch (w.kind) {
      case DeploymentWrite::kCreateRs: {
        api::ReplicaSet rs = w.rs;
        rs.mutable_metadata()->clear_creation_timestamp();
        return ctx_.client->Create(RsKind(), rs, after);
      }
      case DeploymentWrite::kUpdateRs: return ctx_.client->Update(RsKind(), w.rs, after);
      case DeploymentWrite::kDeleteRs: {
        api::DeleteOptions options;
        options.mutable_preconditions()->set_uid(w.rs.metadata().uid());
        return ctx_.client->Delete(RsKind(), w.rs.metadata().namespace_(), w.rs.metadata().name(), options, after);
      }
    }
  }

  void WriteFailed(const RunPtr& run, uint64_t term, const client::ApiResult& r) {
    const DeploymentWrite& w = run->plan.writes[run->next];
    const Status err = Status::Unavailable(fmt::format("{} replicaset {}: {}", w.kind == DeploymentWrite::kCreateRs
                                                           ? "create" : "write", w.rs.metadata().name(), r.Describe()));
    if (w.kind != DeploymentWrite::kCreateRs || !r.status.ok()) return run->done(err);
    if (r.code == 409) return OnCreateConflict(run, term, w.rs);
    // ReplicaSetCreateError: Progressing False, a Warning, and a retry.
    const std::string msg = fmt::format("Failed to create new replica set \"{}\": {}", w.rs.metadata().name(),
                                        r.error.message().empty() ? r.Describe() : r.error.message());
    recorder_->Event(*run->d, "Warning", "ReplicaSetCreateError", msg);
    api::Deployment d = *run->d;
    if (deployment_internal::HasProgressDeadline(d)) {
      SetCondition(*d.mutable_status(), NewCondition("Progressing", "False", "ReplicaSetCreateError", msg,
                                                     ctx_.env.clock->WallNow().count() / 1'000'000'000));
    }
    WriteStatusThen(d, run->key, term, [run, err](const client::ApiResult&) { run->done(err); });
  }

  // AlreadyExists: ours with this template (the cache lags) is fine; anything else is a
  // hash collision: collisionCount + 1 makes the next name differ.
  void OnCreateConflict(const RunPtr& run, uint64_t term, const api::ReplicaSet& want) {
    ctx_.client->Get(RsKind(), want.metadata().namespace_(), want.metadata().name(),
                     [this, alive = alive_, run, term, want](const client::ApiResult& r) {
                       if (!*alive) return;
                       api::ReplicaSet live;
                       if (!r.ok() || !live.ParseFromString(r.body)) {
                         return run->done(Status::Unavailable("get replicaset: " + r.Describe()));
                       }
                       const auto* ref = ControllerRef(live.metadata());
                       if (ref != nullptr && ref->uid() == run->d->metadata().uid() &&
                           TemplatesEqualIgnoringHash(live.spec().template_(), want.spec().template_())) {
                         loop_->Add(run->key);
                         return run->done(Status::Ok());
                       }
                       if (!StillActing(term)) return run->done(Status::Unavailable("no longer leading"));
                       api::Deployment d = *run->d;
                       d.mutable_status()->set_collision_count(d.status().collision_count() + 1);
                       WriteStatusThen(d, run->key, term, [run](const client::ApiResult&) {
                         run->done(Status::Unavailable("pod-template-hash collision"));
                       });
                     });
  }

  void WriteStatusThen(const api::Deployment& d, const std::string& key, uint64_t term,
                       std::function<void(const client::ApiResult&)> then) {
    if (!StillActing(term)) {
      client::ApiResult stopped;
      stopped.status = Status::Unavailable("no longer leading");
      return then(stopped);
    }
    ctx_.client->Update(DeploymentsKind(), d,
                        [this, alive = alive_, key, then = std::move(then)](const client::ApiResult& r) {
                          if (!*alive) return;
                          auto out = std::make_shared<api::Deployment>();
                          if (r.ok() && out->ParseFromString(r.body)) d_overrides_[key] = Override{CachedRv(deployments_, key), out};
                          then(r);
                        },
                        "status");
  }

  // The revision annotation (a metadata update), then the status subresource.
  void WriteDeployment(const RunPtr& run, uint64_t term) {
    const DeploymentPlan& p = run->plan;
    if (!p.metadata_changed && !p.status_changed) return run->done(Status::Ok());
    const auto finish = [run](const client::ApiResult& r) {
      run->done(r.ok() ? Status::Ok() : Status::Unavailable("deployment status: " + r.Describe()));
    };
    if (!p.metadata_changed) {
      api::Deployment d = *run->d;
      *d.mutable_status() = p.deployment.status();
      return WriteStatusThen(d, run->key, term, finish);
    }
    api::Deployment d = *run->d;
    *d.mutable_metadata()->mutable_annotations() = p.deployment.metadata().annotations();
    ctx_.client->Update(DeploymentsKind(), d, [this, alive = alive_, run, term, finish](const client::ApiResult& r) {
      if (!*alive) return;
      auto updated = std::make_shared<api::Deployment>();
      if (!r.ok() || !updated->ParseFromString(r.body)) {
        return run->done(Status::Unavailable("deployment annotations: " + r.Describe()));
      }
      d_overrides_[run->key] = Override{CachedRv(deployments_, run->key), updated};
      if (!run->plan.status_changed) return run->done(Status::Ok());
      api::Deployment next = *updated;
      *next.mutable_status() = run->plan.deployment.status();
      WriteStatusThen(next, run->key, term, finish);
    });
  }

  ControllerContext& ctx_;
  client::Informer* deployments_;
  client::Informer* rss_;
  client::Informer* pods_;
  std::unique_ptr<client::EventRecorder> recorder_;
  std::unique_ptr<ReconcileLoop> loop_;
  // "ns/name" -> our answered write not yet in the cache.
  Overrides rs_overrides_;
  Overrides d_overrides_;
  uint64_t term_ = 0;
  TimerId start_timer_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

std::unique_ptr<Controller> NewDeploymentController(ControllerContext& ctx) {
  return std::make_unique<DeploymentController>(ctx);
}

}  // namespace ksim::controllers
