// The StatefulSet controller: informers and handlers, and one sync of a set as a chain of
// asynchronous steps: claim pods and revisions → the update revision → the plan's claim
// writes → its pod writes → status → history truncation. The decisions are in
// statefulset_plan.cc.
#include "cluster/controllers/statefulset.h"

#include <fmt/format.h>
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <set>
#include <utility>

#include "cluster/api/codec.h"
#include "cluster/api/label_selector.h"
#include "cluster/api/registry.h"
#include "cluster/controllers/expectations.h"
#include "cluster/controllers/history.h"
#include "cluster/controllers/replica_set.h"

namespace ksim::controllers {
namespace {

using client::ObjectPtr;
using PodPtr = std::shared_ptr<const api::Pod>;

const api::KindInfo& KindOf(const char* group, const char* resource) {
  return *api::Registry::Default().ByGroupResource(group, resource);
}
const api::KindInfo& SetsKind() { return KindOf("apps", "statefulsets"); }
const api::KindInfo& PodsKind() { return KindOf("", "pods"); }
const api::KindInfo& RevisionsKind() { return KindOf("apps", "controllerrevisions"); }
const api::KindInfo& ClaimsKind() { return KindOf("", "persistentvolumeclaims"); }

const api::Pod& AsPod(const ObjectPtr& o) { return static_cast<const api::Pod&>(*o); }
std::string PodKey(const api::Pod& p) { return p.metadata().namespace_() + "/" + p.metadata().name(); }
std::map<std::string, std::string> Labels(const api::ObjectMeta& m) { return {m.labels().begin(), m.labels().end()}; }
int64_t WallSeconds(Env& env) { return env.clock->WallNow().count() / 1'000'000'000; }

// One sync's state, shared by the callbacks of its writes.
struct Run {
  std::string key;
  std::shared_ptr<const api::StatefulSet> set;
  api::LabelMatcher selector;
  std::function<void(Status)> done;
  std::vector<PodPtr> pods;  // owned members
  std::vector<api::ControllerRevision> revisions;  // owned
  sts::Revision current, update;
  int32_t collision_count = 0;
  int pending = 0;
  Status error;
  std::set<std::string> failed_claims;
  void Fail(Status s) {
    if (error.ok()) error = std::move(s);
  }
};
using RunPtr = std::shared_ptr<Run>;

class StatefulSetController final : public Controller {
 public:
  explicit StatefulSetController(ControllerContext& ctx)
      : ctx_(ctx), expectations_(ctx.options.expectations_timeout), sets_(ctx.informers->For(SetsKind())),
        pods_(ctx.informers->For(PodsKind())), revisions_(ctx.informers->For(RevisionsKind())),
        claims_(ctx.informers->For(ClaimsKind())) {
    recorder_ = ctx_.NewRecorder("statefulset-controller");
    loop_ = std::make_unique<ReconcileLoop>(
        ctx_, kStatefulSetControllerName,
        [this](const std::string& key, std::function<void(Status)> done) { Sync(key, std::move(done)); },
        ctx_.options.concurrent_statefulset_syncs);
    loop_->OnSynced([this] {
      for (const auto& o : sets_->List()) loop_->Add(client::Informer::KeyOf(*o));
    });
    const auto by_namespace = [](const google::protobuf::Message& m) {
      return std::vector<std::string>{api::GetMeta(m)->namespace_()};
    };
    for (client::Informer* inf : {sets_, pods_, revisions_, claims_}) inf->AddIndex(kIndex, by_namespace);
    const auto enqueue = [this](const ObjectPtr& o) { loop_->Add(client::Informer::KeyOf(*o)); };
    sets_->AddHandlers({enqueue, [enqueue](const ObjectPtr&, const ObjectPtr& o) { enqueue(o); },
                        [this](const ObjectPtr& o) {
                          expectations_.Delete(client::Informer::KeyOf(*o));
                          loop_->Add(client::Informer::KeyOf(*o));
                        }});
    pods_->AddHandlers({[this](const ObjectPtr& o) { OnPodAdd(AsPod(o)); },
                        [this](const ObjectPtr& a, const ObjectPtr& b) { OnPodUpdate(AsPod(a), AsPod(b)); },
                        [this](const ObjectPtr& o) { OnPodDelete(AsPod(o)); }});
    const auto by_owner = [this](const ObjectPtr& o) { EnqueueOwner(*api::GetMeta(*o)); };
    revisions_->AddHandlers({by_owner, [by_owner](const ObjectPtr&, const ObjectPtr& o) { by_owner(o); }, by_owner});
    // A claim that goes away may unblock a pod waiting for it.
    claims_->AddHandlers({nullptr, nullptr, [this](const ObjectPtr& o) { EnqueueMatching(*api::GetMeta(*o)); }});
  }
  ~StatefulSetController() override { *alive_ = false; }

  void Start() override { loop_->Start(); }
  void Stop() override {
    loop_->Stop();
    expectations_ = Expectations(ctx_.options.expectations_timeout);
  }

 private:
  static constexpr char kIndex[] = "statefulset/namespace";

  ObjectPtr Resolve(const api::ObjectMeta& m) const {
    const auto* ref = ControllerRef(m);
    if (ref == nullptr || ref->kind() != "StatefulSet") return nullptr;
    ObjectPtr o = sets_->Get(m.namespace_() + "/" + ref->name());
    return o != nullptr && api::GetMeta(*o)->uid() == ref->uid() ? o : nullptr;
  }
  void EnqueueOwner(const api::ObjectMeta& m) {
    if (ObjectPtr o = Resolve(m)) loop_->Add(client::Informer::KeyOf(*o));
  }
  void EnqueueMatching(const api::ObjectMeta& m) {
    for (const auto& o : sets_->ByIndex(kIndex, m.namespace_())) {
      const auto& set = static_cast<const api::StatefulSet&>(*o);
      api::LabelMatcher sel;
      if (api::LabelMatcherFromProto(set.spec().has_selector(), set.spec().selector(), "spec.selector", &sel).ok() &&
          sel.Matches(Labels(m))) {
        loop_->Add(client::Informer::KeyOf(*o));
      }
    }
  }

  void OnPodAdd(const api::Pod& pod) {
    if (pod.metadata().has_deletion_timestamp()) return OnPodDelete(pod);
    if (ObjectPtr owner = Resolve(pod.metadata())) {
      const std::string key = client::Informer::KeyOf(*owner);
      expectations_.CreationObserved(key);
      loop_->Add(key);
      return;
    }
    if (ControllerRef(pod.metadata()) == nullptr) EnqueueMatching(pod.metadata());
  }
  void OnPodUpdate(const api::Pod& old, const api::Pod& cur) {
    if (cur.metadata().has_deletion_timestamp() && !old.metadata().has_deletion_timestamp()) {
      if (ObjectPtr owner = Resolve(cur.metadata())) expectations_.DeletionObserved(client::Informer::KeyOf(*owner), PodKey(cur));
    }
    EnqueueOwner(old.metadata());
    if (ObjectPtr owner = Resolve(cur.metadata())) {
      const std::string key = client::Informer::KeyOf(*owner);
      loop_->Add(key);
      const int32_t min_ready = static_cast<const api::StatefulSet&>(*owner).spec().min_ready_seconds();
      if (min_ready > 0 && !PodReady(old) && PodReady(cur)) loop_->AddAfter(key, Seconds(min_ready));
    } else if (ControllerRef(cur.metadata()) == nullptr) {
      EnqueueMatching(cur.metadata());
    }
  }
  void OnPodDelete(const api::Pod& pod) {
    if (ObjectPtr owner = Resolve(pod.metadata())) {
      const std::string key = client::Informer::KeyOf(*owner);
      expectations_.DeletionObserved(key, PodKey(pod));
      loop_->Add(key);
    }
  }

  // A step of a sync that started while leading writes nothing once this replica stops
  // acting (the lease may have passed to another replica meanwhile).
  bool Lost(const RunPtr& run) {
    if (ctx_.acting()) return false;
    run->done(Status::Unavailable("no longer acting"));
    return true;
  }

  // Calls `next` once every write of the current step is answered.
  void Step(const RunPtr& run, void (StatefulSetController::*next)(const RunPtr&)) {
    if (--run->pending == 0) (this->*next)(run);
  }

  void Sync(const std::string& key, std::function<void(Status)> done) {
    ObjectPtr o = sets_->Get(key);
    if (o == nullptr) {
      expectations_.Delete(key);
      return done(Status::Ok());
    }
    auto run = std::make_shared<Run>();
    run->key = key;
    run->set = std::static_pointer_cast<const api::StatefulSet>(o);
    run->done = std::move(done);
    const api::StatefulSet& set = *run->set;
    if (Status s = api::LabelMatcherFromProto(set.spec().has_selector(), set.spec().selector(), "spec.selector",
                                              &run->selector);
        !s.ok()) {
      Log(fmt::format("{}: invalid selector: {}", key, s.message()));
      return run->done(Status::Ok());
    }
    Claim(run);
  }

  // Adopts matching orphan members and releases owned pods that no longer match; the same
  // for ControllerRevisions (history.h).
  void Claim(const RunPtr& run) {
    const api::StatefulSet& set = *run->set;
    const api::ObjectMeta& sm = set.metadata();
    const bool deleting = sm.has_deletion_timestamp();
    std::vector<std::pair<const api::KindInfo*, std::shared_ptr<google::protobuf::Message>>> writes;
    for (const auto& o : pods_->ByIndex(kIndex, sm.namespace_())) {
      auto pod = std::static_pointer_cast<const api::Pod>(o);
      const bool member = sts::OrdinalOf(sm.name(), pod->metadata().name()).has_value();
      const bool matches = member && run->selector.Matches(Labels(pod->metadata()));
      const auto* ref = ControllerRef(pod->metadata());
      if (ref != nullptr) {
        if (ref->uid() != sm.uid()) continue;
        if (matches || (deleting && member)) {
          run->pods.push_back(pod);
          continue;
        }
        auto released = std::make_shared<api::Pod>(*pod);
        auto* refs = released->mutable_metadata()->mutable_owner_references();
        for (int i = refs->size() - 1; i >= 0; --i) {
          if (refs->Get(i).uid() == sm.uid()) refs->DeleteSubrange(i, 1);
        }
        writes.emplace_back(&PodsKind(), std::move(released));
      } else if (matches && !deleting && PodActive(*pod)) {
        auto adopted = std::make_shared<api::Pod>(*pod);
        auto* r = adopted->mutable_metadata()->add_owner_references();
        r->set_api_version("apps/v1");
        r->set_kind("StatefulSet");
        r->set_name(sm.name());
        r->set_uid(sm.uid());
        r->set_controller(true);
        r->set_block_owner_deletion(true);
        writes.emplace_back(&PodsKind(), std::move(adopted));
      }
    }
    std::vector<api::ControllerRevision> all;
    for (const auto& r : revisions_->ByIndex(kIndex, sm.namespace_())) {
      all.push_back(static_cast<const api::ControllerRevision&>(*r));
    }
    history::Claim rc = history::ClaimRevisions(all, sm, "apps/v1", "StatefulSet", run->selector);
    run->revisions = std::move(rc.owned);
    for (auto& r : rc.adopt) {
      run->revisions.push_back(r);
      writes.emplace_back(&RevisionsKind(), std::make_shared<api::ControllerRevision>(std::move(r)));
    }
    for (auto& r : rc.release) writes.emplace_back(&RevisionsKind(), std::make_shared<api::ControllerRevision>(std::move(r)));
    if (writes.empty()) return Revisions(run);
    run->pending = static_cast<int>(writes.size());
    for (auto& [kind, obj] : writes) {
      ctx_.client->Update(*kind, *obj, [this, alive = alive_, run, obj = obj](const client::ApiResult& r) {
        if (!*alive) return;
        if (!r.ok() && r.code != 404) run->Fail(Status::Unavailable("claim " + api::GetMeta(*obj)->name() + ": " + r.Describe()));
        Step(run, &StatefulSetController::AfterClaim);
      });
    }
  }
  // Pods adopted this sync are looked at next sync, from the cache.
  void AfterClaim(const RunPtr& run) {
    if (!run->error.ok()) return run->done(run->error);
    Revisions(run);
  }

  // The update revision is the set's template: an equal existing revision (moved to the
  // front with a new number if it is not the newest: a rollback) or a new one.
  void Revisions(const RunPtr& run) {
    if (Lost(run)) return;
    const api::StatefulSet& set = *run->set;
    history::SortRevisions(&run->revisions);
    run->collision_count = set.status().has_collision_count() ? set.status().collision_count() : 0;
    google::protobuf::Struct data;
    if (Status s = history::TemplateData(set.spec().template_(), &data); !s.ok()) return run->done(s);
    const std::map<std::string, std::string> labels(set.spec().template_().metadata().labels().begin(),
                                                    set.spec().template_().metadata().labels().end());
    api::ControllerRevision want = history::NewRevision(set.metadata(), "apps/v1", "StatefulSet", labels, data,
                                                        history::NextRevision(run->revisions), run->collision_count);
    auto equal = history::FindEqualRevisions(run->revisions, want);
    if (!equal.empty() && equal.back() == &run->revisions.back()) {
      return WithUpdate(run, *equal.back());
    }
    if (!equal.empty()) {
      api::ControllerRevision moved = *equal.back();
      moved.set_revision(want.revision());
      ctx_.client->Update(RevisionsKind(), moved, [this, alive = alive_, run](const client::ApiResult& r) {
        if (!*alive) return;
        api::ControllerRevision updated;
        if (!r.ok() || !updated.ParseFromString(r.body)) return run->done(Status::Unavailable("revision: " + r.Describe()));
        WithUpdate(run, updated);
      });
      return;
    }
    // Not in the cache: create it; if the name exists with equal data it is reused.
    history::CreateRevision(ctx_.client, set.metadata().name(), want, run->collision_count,
                            [this, alive = alive_, run](Status s, api::ControllerRevision rev, int32_t count) {
                              if (!*alive) return;
                              run->collision_count = count;
                              if (!s.ok()) return run->done(s);
                              WithUpdate(run, rev);
                            });
  }

  void WithUpdate(const RunPtr& run, const api::ControllerRevision& update) {
    const api::StatefulSet& set = *run->set;
    run->update = {update.metadata().name(), set.spec().template_()};
    run->current = run->update;
    bool found = false;
    for (auto& r : run->revisions) {
      if (r.metadata().name() == update.metadata().name()) {
        r = update;
        found = true;
      }
    }
    if (!found) run->revisions.push_back(update);
    const std::string& cur = set.status().current_revision();
    for (const auto& r : run->revisions) {
      if (r.metadata().name() != cur || cur == update.metadata().name()) continue;
      api::PodTemplateSpec tmpl;
      if (history::TemplateFromData(r.data(), &tmpl).ok()) run->current = {cur, std::move(tmpl)};
    }
    PlanAndWrite(run);
  }

  std::map<int, const api::Pod*> ByOrdinal(const RunPtr& run) const {
    std::map<int, const api::Pod*> out;
    for (const auto& p : run->pods) out[*sts::OrdinalOf(run->set->metadata().name(), p->metadata().name())] = p.get();
    return out;
  }

  void PlanAndWrite(const RunPtr& run) {
    if (Lost(run)) return;
    const api::StatefulSet& set = *run->set;
    const auto state = expectations_.Check(run->key, ctx_.env.clock->MonotonicNow());
    if (state == Expectations::State::kExpired) expectations_.Delete(run->key);  // names keep it safe
    if (state == Expectations::State::kPending || set.metadata().has_deletion_timestamp()) return WriteStatus(run);
    std::map<std::string, const api::PersistentVolumeClaim*> claims;
    std::vector<ObjectPtr> keep = claims_->ByIndex(kIndex, set.metadata().namespace_());
    for (const auto& c : keep) {
      claims[api::GetMeta(*c)->name()] = static_cast<const api::PersistentVolumeClaim*>(c.get());
    }
    auto plan = std::make_shared<sts::Plan>(
        sts::PlanSync(set, run->current, run->update, ByOrdinal(run), claims, WallSeconds(ctx_.env)));
    for (const auto& name : plan->blocked_claims) {
      run->Fail(Status::Unavailable(fmt::format("claim {} is being deleted", name)));
    }
    run->pending = static_cast<int>(plan->create_claims.size() + plan->update_claims.size()) + 1;
    for (const auto& c : plan->create_claims) {
      ctx_.client->Create(ClaimsKind(), c, [this, alive = alive_, run, plan, name = c.metadata().name()](const client::ApiResult& r) {
        if (!*alive) return;
        if (r.ok()) {
          recorder_->Event(*run->set, "Normal", "SuccessfulCreate",
                           fmt::format("create Claim {} in StatefulSet {} success", name, run->set->metadata().name()));
        } else if (r.code != 409) {
          run->failed_claims.insert(name);
          run->Fail(Status::Unavailable(fmt::format("create claim {}: {}", name, r.Describe())));
          recorder_->Event(*run->set, "Warning", "FailedCreate",
                           fmt::format("create Claim {} for StatefulSet {} failed error: {}", name,
                                       run->set->metadata().name(), r.Describe()));
        }
        Step(run, plan, &StatefulSetController::WritePods);
      });
    }
    for (const auto& c : plan->update_claims) {
      ctx_.client->Update(ClaimsKind(), c, [this, alive = alive_, run, plan, name = c.metadata().name()](const client::ApiResult& r) {
        if (!*alive) return;
        if (!r.ok() && r.code != 404) run->Fail(Status::Unavailable(fmt::format("update claim {}: {}", name, r.Describe())));
        Step(run, plan, &StatefulSetController::WritePods);
      });
    }
    Step(run, plan, &StatefulSetController::WritePods);
  }
  void Step(const RunPtr& run, const std::shared_ptr<sts::Plan>& plan,
            void (StatefulSetController::*next)(const RunPtr&, const std::shared_ptr<sts::Plan>&)) {
    if (--run->pending == 0) (this->*next)(run, plan);
  }

  bool ClaimsFailed(const RunPtr& run, const api::Pod& pod) const {
    for (const auto& v : pod.spec().volumes()) {
      if (v.has_persistent_volume_claim() && run->failed_claims.count(v.persistent_volume_claim().claim_name()) > 0) {
        return true;
      }
    }
    return false;
  }

  void WritePods(const RunPtr& run, const std::shared_ptr<sts::Plan>& plan) {
    if (Lost(run)) return;
    const std::string set_name = run->set->metadata().name();
    const Nanos now = ctx_.env.clock->MonotonicNow();
    std::vector<const api::Pod*> creates;
    for (const auto& p : plan->create_pods) {
      if (!ClaimsFailed(run, p)) creates.push_back(&p);
    }
    if (!creates.empty()) expectations_.ExpectCreations(run->key, static_cast<int>(creates.size()), now);
    std::set<std::string> deletes;
    for (const auto& p : plan->delete_pods) deletes.insert(PodKey(p));
    if (!deletes.empty()) expectations_.ExpectDeletions(run->key, deletes, now);
    run->pending = static_cast<int>(creates.size() + plan->delete_pods.size() + plan->update_pods.size()) + 1;
    for (const api::Pod* p : creates) {
      ctx_.client->Create(PodsKind(), *p, [this, alive = alive_, run, plan, set_name, name = p->metadata().name()](const client::ApiResult& r) {
        if (!*alive) return;
        if (r.ok()) {
          ++stats_creates_;
          recorder_->Event(*run->set, "Normal", "SuccessfulCreate",
                           fmt::format("create Pod {} in StatefulSet {} successful", name, set_name));
        } else if (r.status.ok()) {  // answered: no pod was made by this call
          expectations_.CreationObserved(run->key);
          if (r.code != 409) {  // 409: the name is still taken; the informer will show it
            run->Fail(Status::Unavailable(fmt::format("create pod {}: {}", name, r.Describe())));
            recorder_->Event(*run->set, "Warning", "FailedCreate",
                             fmt::format("create Pod {} in StatefulSet {} failed error: {}", name, set_name,
                                         r.error.message().empty() ? r.Describe() : r.error.message()));
          }
        } else {
          run->Fail(Status::Unavailable(fmt::format("create pod {}: {}", name, r.Describe())));
        }
        Step(run, plan, &StatefulSetController::AfterPods);
      });
    }
    for (const auto& p : plan->delete_pods) {
      api::DeleteOptions options;
      options.mutable_preconditions()->set_uid(p.metadata().uid());
      ctx_.client->Delete(PodsKind(), p.metadata().namespace_(), p.metadata().name(), options,
                          [this, alive = alive_, run, plan, set_name, key = PodKey(p), name = p.metadata().name()](const client::ApiResult& r) {
                            if (!*alive) return;
                            if (r.ok()) {
                              ++stats_deletes_;
                              recorder_->Event(*run->set, "Normal", "SuccessfulDelete",
                                               fmt::format("delete Pod {} in StatefulSet {} successful", name, set_name));
                            } else {
                              expectations_.DeletionObserved(run->key, key);
                              if (r.code != 404 && r.code != 409) {
                                run->Fail(Status::Unavailable(fmt::format("delete pod {}: {}", name, r.Describe())));
                                recorder_->Event(*run->set, "Warning", "FailedDelete",
                                                 fmt::format("delete Pod {} in StatefulSet {} failed error: {}", name,
                                                             set_name, r.Describe()));
                              }
                            }
                            Step(run, plan, &StatefulSetController::AfterPods);
                          });
    }
    for (const auto& p : plan->update_pods) {
      ctx_.client->Update(PodsKind(), p, [this, alive = alive_, run, plan, name = p.metadata().name()](const client::ApiResult& r) {
        if (!*alive) return;
        if (!r.ok() && r.code != 404) run->Fail(Status::Unavailable(fmt::format("update pod {}: {}", name, r.Describe())));
        Step(run, plan, &StatefulSetController::AfterPods);
      });
    }
    Step(run, plan, &StatefulSetController::AfterPods);
  }
  void AfterPods(const RunPtr& run, const std::shared_ptr<sts::Plan>&) { WriteStatus(run); }

  void WriteStatus(const RunPtr& run) {
    if (Lost(run)) return;
    const api::StatefulSet& set = *run->set;
    const api::StatefulSetStatus s = sts::ComputeStatus(set, run->current.name, run->update.name, run->collision_count,
                                                        ByOrdinal(run), WallSeconds(ctx_.env));
    if (set.spec().min_ready_seconds() > 0 && s.available_replicas() != s.ready_replicas()) {
      loop_->AddAfter(run->key, Seconds(set.spec().min_ready_seconds()));
    }
    if (google::protobuf::util::MessageDifferencer::Equals(s, set.status())) return Truncate(run);
    api::StatefulSet updated = set;
    *updated.mutable_status() = s;
    ctx_.client->Update(SetsKind(), updated, [this, alive = alive_, run](const client::ApiResult& r) {
      if (!*alive) return;
      if (!r.ok()) run->Fail(Status::Unavailable("status: " + r.Describe()));
      Truncate(run);
    }, "status");
  }

  // History beyond revisionHistoryLimit, not used by a pod or as current/update, is deleted.
  void Truncate(const RunPtr& run) {
    if (Lost(run)) return;
    const api::StatefulSet& set = *run->set;
    std::set<std::string> live = {run->current.name, run->update.name};
    for (const auto& p : run->pods) live.insert(sts::RevisionOf(*p));
    const int32_t limit = set.spec().has_revision_history_limit() ? set.spec().revision_history_limit()
                                                                  : history::kDefaultHistoryLimit;
    auto gone = history::TruncatePlan(run->revisions, live, limit);
    run->pending = static_cast<int>(gone.size()) + 1;
    for (const auto& r : gone) {
      api::DeleteOptions options;
      options.mutable_preconditions()->set_uid(r.metadata().uid());
      ctx_.client->Delete(RevisionsKind(), r.metadata().namespace_(), r.metadata().name(), options,
                          [this, alive = alive_, run](const client::ApiResult& res) {
                            if (!*alive) return;
                            if (!res.ok() && res.code != 404 && res.code != 409) {
                              run->Fail(Status::Unavailable("delete revision: " + res.Describe()));
                            }
                            Step(run, &StatefulSetController::Finish);
                          });
    }
    Step(run, &StatefulSetController::Finish);
  }
  void Finish(const RunPtr& run) { run->done(run->error); }

  void Log(const std::string& msg) {
    if (ctx_.env.log != nullptr) ctx_.env.log->Log(LogLevel::kInfo, kStatefulSetControllerName, msg);
  }

  ControllerContext& ctx_;
  Expectations expectations_;
  client::Informer* sets_;
  client::Informer* pods_;
  client::Informer* revisions_;
  client::Informer* claims_;
  std::unique_ptr<client::EventRecorder> recorder_;
  std::unique_ptr<ReconcileLoop> loop_;
  uint64_t stats_creates_ = 0;
  uint64_t stats_deletes_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

std::unique_ptr<Controller> NewStatefulSetController(ControllerContext& ctx) {
  return std::make_unique<StatefulSetController>(ctx);
}

}  // namespace ksim::controllers
