// The DaemonSet controller's process side: informers, the sync pipeline (history, claim,
// manage or roll, clean history, status) and its writes. Decisions are in
// daemonset_plan.cc and daemonset_nodes.cc.
#include "cluster/controllers/daemonset.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <utility>

#include "cluster/api/codec.h"
#include "cluster/api/label_selector.h"
#include "cluster/api/options.pb.h"
#include "cluster/api/registry.h"
#include "cluster/controllers/controller_ref_events.h"
#include "cluster/controllers/expectations.h"
#include "cluster/controllers/history.h"
#include "cluster/controllers/replica_set.h"
#include "cluster/env/wire.h"

namespace ksim::controllers {
namespace {

using client::ObjectPtr;

const api::KindInfo& K(const char* group, const char* resource) {
  return *api::Registry::Default().ByGroupResource(group, resource);
}
const api::KindInfo& PodsKind() { return K("", "pods"); }
const api::KindInfo& DsKind() { return K("apps", "daemonsets"); }
const api::KindInfo& RevisionsKind() { return K("apps", "controllerrevisions"); }
const api::KindInfo& NodesKind() { return K("", "nodes"); }
constexpr char kApiVersion[] = "apps/v1";
constexpr char kKind[] = "DaemonSet";
constexpr char kIndex[] = "daemonset/namespace";

DaemonPodPtr AsPod(const ObjectPtr& o) { return std::static_pointer_cast<const api::Pod>(o); }
std::string PodKey(const api::Pod& p) { return p.metadata().namespace_() + "/" + p.metadata().name(); }
std::map<std::string, std::string> LabelsOf(const api::ObjectMeta& m) { return {m.labels().begin(), m.labels().end()}; }
bool Terminal(const api::Pod& p) { return PodFailed(p) || PodSucceeded(p); }

// What about a node the controller looks at.
bool NodeChanged(const api::Node& a, const api::Node& b) {
  if (LabelsOf(a.metadata()) != LabelsOf(b.metadata()) || a.spec().unschedulable() != b.spec().unschedulable()) {
    return true;
  }
  if (a.spec().taints_size() != b.spec().taints_size()) return true;
  for (int i = 0; i < a.spec().taints_size(); ++i) {
    const auto &x = a.spec().taints(i), &y = b.spec().taints(i);
    if (x.key() != y.key() || x.value() != y.value() || x.effect() != y.effect()) return true;
  }
  return false;
}

// One sync's state, shared by the callbacks of its writes.
struct Run {
  std::string key;
  std::shared_ptr<const api::DaemonSet> ds;
  api::LabelMatcher selector;
  std::function<void(Status)> done;
  int pending = 0;
  Status error;  // first write failure
  std::vector<api::ControllerRevision> revisions;  // owned
  std::string hash;
  int32_t collision_count = 0;
  bool manage = true;
  std::vector<DaemonPodPtr> pods;  // owned
  std::map<std::string, NodeVerdict> nodes;
  NodePods by_node;
  std::vector<std::string> create_on;
  size_t next_create = 0;
  int batch = 1;
  bool create_failed = false;
  std::optional<Nanos> retry_after;
  void Fail(Status s) {
    if (error.ok()) error = std::move(s);
  }
};
using RunPtr = std::shared_ptr<Run>;

// flowcontrol.Backoff for failed pods: 1 s doubling to 15 min per DaemonSet and node.
struct FailedBackoff {
  Nanos delay{0};
  Nanos last{0};
};

class DaemonSetController final : public Controller {
 public:
  explicit DaemonSetController(ControllerContext& ctx)
      : ctx_(ctx), expectations_(ctx.options.expectations_timeout), dss_(ctx.informers->For(DsKind())),
        pods_(ctx.informers->For(PodsKind())), nodes_(ctx.informers->For(NodesKind())),
        revisions_(ctx.informers->For(RevisionsKind())) {
    recorder_ = ctx_.NewRecorder(kDaemonSetComponent);
    loop_ = std::make_unique<ReconcileLoop>(
        ctx_, kDaemonSetControllerName,
        [this](const std::string& key, std::function<void(Status)> done) { Sync(key, std::move(done)); },
        ctx_.options.concurrent_daemonset_syncs);
    loop_->OnSynced([this] { EnqueueAll(); });
    const auto by_namespace = [](const google::protobuf::Message& m) {
      return std::vector<std::string>{api::GetMeta(m)->namespace_()};
    };
    pods_->AddIndex(kIndex, by_namespace);
    dss_->AddIndex(kIndex, by_namespace);
    revisions_->AddIndex(kIndex, by_namespace);
    const auto enqueue = [this](const ObjectPtr& o) { loop_->Add(client::Informer::KeyOf(*o)); };
    dss_->AddHandlers({enqueue, [enqueue](const ObjectPtr&, const ObjectPtr& o) { enqueue(o); },
                       [this](const ObjectPtr& o) {
                         const std::string key = client::Informer::KeyOf(*o);
                         expectations_.Delete(key);
                         loop_->Add(key);
                       }});
    PodOwnerKind pod_owner;
    pod_owner.kind_name = kKind;
    pod_owner.owners = dss_;
    pod_owner.matching_owners = [this](const api::Pod& pod) { return MatchingDaemonSets(pod); };
    pod_owner.min_ready_seconds = [](const google::protobuf::Message& o) {
      return static_cast<const api::DaemonSet&>(o).spec().min_ready_seconds();
    };
    pod_events_ = std::make_unique<ControllerRefPodEvents>(std::move(pod_owner), &expectations_, loop_.get());
    pods_->AddHandlers(pod_events_->Handlers());
    nodes_->AddHandlers({[this](const ObjectPtr&) { EnqueueAll(); },
                         [this](const ObjectPtr& a, const ObjectPtr& b) {
                           if (NodeChanged(static_cast<const api::Node&>(*a), static_cast<const api::Node&>(*b))) {
                             EnqueueAll();
                           }
                         },
                         [this](const ObjectPtr&) { EnqueueAll(); }});
    const auto owner_of_revision = [this](const ObjectPtr& o) {
      const api::ObjectMeta& m = *api::GetMeta(*o);
      if (const auto* ref = ControllerRef(m); ref != nullptr && ref->kind() == kKind) {
        loop_->Add(m.namespace_() + "/" + ref->name());
      }
    };
    revisions_->AddHandlers({owner_of_revision, nullptr, owner_of_revision});
  }
  ~DaemonSetController() override { *alive_ = false; }

  void Start() override {
    // A write the previous leader sent has landed or failed by then, so the first sync does
    // not act on a cache that misses it (fewer duplicate pods after a failover).
    ready_at_ = ctx_.env.clock->MonotonicNow() + ctx_.options.request_timeout + Seconds(2);
    loop_->Start();
  }
  void Stop() override {
    loop_->Stop();
    expectations_ = Expectations(ctx_.options.expectations_timeout);
  }

 private:
  void EnqueueAll() {
    for (const auto& o : dss_->List()) loop_->Add(client::Informer::KeyOf(*o));
  }
  std::vector<ObjectPtr> MatchingDaemonSets(const api::Pod& pod) const {
    std::vector<ObjectPtr> out;
    for (const auto& o : dss_->ByIndex(kIndex, pod.metadata().namespace_())) {
      const auto& ds = static_cast<const api::DaemonSet&>(*o);
      api::LabelMatcher sel;
      if (api::LabelMatcherFromProto(ds.spec().has_selector(), ds.spec().selector(), "spec.selector", &sel).ok() &&
          sel.Matches(LabelsOf(pod.metadata()))) {
        out.push_back(o);
      }
    }
    return out;
  }

  // ------------------------------------------------------------ sync

  void Sync(const std::string& key, std::function<void(Status)> done) {
    ObjectPtr obj = dss_->Get(key);
    if (obj == nullptr) {
      expectations_.Delete(key);
      return done(Status::Ok());
    }
    const Nanos now = ctx_.env.clock->MonotonicNow();
    if (now < ready_at_) {
      loop_->AddAfter(key, ready_at_ - now);
      return done(Status::Ok());
    }
    auto run = std::make_shared<Run>();
    run->key = key;
    run->ds = std::static_pointer_cast<const api::DaemonSet>(obj);
    run->done = std::move(done);
    run->collision_count = run->ds->status().collision_count();
    const api::DaemonSet& ds = *run->ds;
    if (Status s = api::LabelMatcherFromProto(ds.spec().has_selector(), ds.spec().selector(), "spec.selector",
                                              &run->selector);
        !s.ok() || ds.metadata().has_deletion_timestamp()) {
      return run->done(Status::Ok());  // nothing to do until the object changes
    }
    ClaimRevisions(run);
  }

  // Kubernetes' constructHistory: adopt/release revisions, then find or create the one for
  // the current template (the update revision) and make it the newest.
  void ClaimRevisions(const RunPtr& run) {
    std::vector<api::ControllerRevision> all;
    for (const auto& o : revisions_->ByIndex(kIndex, run->ds->metadata().namespace_())) {
      all.push_back(static_cast<const api::ControllerRevision&>(*o));
    }
    history::Claim claim = history::ClaimRevisions(all, run->ds->metadata(), kApiVersion, kKind, run->selector);
    run->revisions = std::move(claim.owned);
    std::vector<std::pair<api::ControllerRevision, bool>> writes;
    for (auto& r : claim.adopt) writes.emplace_back(std::move(r), true);
    for (auto& r : claim.release) writes.emplace_back(std::move(r), false);
    if (writes.empty()) return UpdateRevision(run);
    run->pending = static_cast<int>(writes.size());
    for (auto& [rev, adopting] : writes) {
      auto copy = std::make_shared<api::ControllerRevision>(rev);
      ctx_.client->Update(RevisionsKind(), rev, [this, alive = alive_, run, copy, adopting = adopting](const client::ApiResult& r) {
        if (!*alive) return;
        if (r.ok() && adopting) {
          api::ControllerRevision updated;
          run->revisions.push_back(updated.ParseFromString(r.body) ? updated : *copy);
        } else if (!r.ok() && r.code != 404) {
          run->Fail(Status::Unavailable("claim revision: " + r.Describe()));
        }
        if (--run->pending == 0) {
          if (!run->error.ok()) return run->done(run->error);
          UpdateRevision(run);
        }
      });
    }
  }

  void UpdateRevision(const RunPtr& run) {
    const api::DaemonSet& ds = *run->ds;
    google::protobuf::Struct data;
    if (Status s = history::TemplateData(ds.spec().template_(), &data); !s.ok()) return run->done(s);
    history::SortRevisions(&run->revisions);
    const int64_t next = history::NextRevision(run->revisions);
    api::ControllerRevision wanted = history::NewRevision(ds.metadata(), kApiVersion, kKind,
                                                          LabelsOf(ds.spec().template_().metadata()), std::move(data),
                                                          next, run->collision_count);
    auto equal = history::FindEqualRevisions(run->revisions, wanted);
    if (!equal.empty()) {
      const api::ControllerRevision& found = *equal.back();  // the newest of equals
      run->hash = found.metadata().labels().count(history::kHashLabel) != 0
                      ? found.metadata().labels().at(history::kHashLabel)
                      : history::HashRevision(found, std::nullopt);
      if (found.revision() == next - 1) return Manage(run);
      // A rollback to an older template: that revision becomes the newest.
      api::ControllerRevision bumped = found;
      bumped.set_revision(next);
      ctx_.client->Update(RevisionsKind(), bumped, [this, alive = alive_, run](const client::ApiResult& r) {
        if (!*alive) return;
        if (!r.ok()) return run->done(Status::Unavailable("update revision: " + r.Describe()));
        api::ControllerRevision updated;
        if (updated.ParseFromString(r.body)) {
          for (auto& rev : run->revisions) {
            if (rev.metadata().name() == updated.metadata().name()) rev = updated;
          }
        }
        Manage(run);
      });
      return;
    }
    history::CreateRevision(ctx_.client, ds.metadata().name(), std::move(wanted), run->collision_count,
                            [this, alive = alive_, run](Status s, api::ControllerRevision rev, int32_t count) {
                              if (!*alive) return;
                              run->collision_count = count;
                              if (!s.ok()) {
                                run->Fail(s);
                                return WriteStatus(run);  // keeps the collision count
                              }
                              run->hash = rev.metadata().labels().at(history::kHashLabel);
                              run->revisions.push_back(std::move(rev));
                              Manage(run);
                            });
  }

  // Claims pods (adopt matching orphans, release owned non-matching), then manages; from
  // the cache, or from a live list when the expectations expired.
  void Manage(const RunPtr& run) {
    const auto state = expectations_.Check(run->key, ctx_.env.clock->MonotonicNow());
    run->manage = state != Expectations::State::kPending;
    const api::ObjectMeta& om = run->ds->metadata();
    if (state != Expectations::State::kExpired) {
      std::vector<DaemonPodPtr> cached;
      for (const auto& o : pods_->ByIndex(kIndex, om.namespace_())) cached.push_back(AsPod(o));
      return ClaimPods(run, cached);
    }
    // Expired: our writes have not shown in the cache for the whole timeout, so it is not
    // trusted (as the ReplicaSet and Job controllers): the pods are read from the apiserver.
    expectations_.Delete(run->key);
    std::map<std::string, std::string> query;
    if (!run->selector.MatchesNothing()) query["labelSelector"] = run->selector.String();
    ctx_.client->List(PodsKind(), om.namespace_(), std::move(query), [this, alive = alive_, run](const client::ApiResult& r) {
      if (!*alive) return;
      apiserver::ObjectList list;
      if (!r.ok() || !list.ParseFromString(r.body)) return run->done(Status::Unavailable("list pods: " + r.Describe()));
      std::vector<DaemonPodPtr> live;
      for (const auto& item : list.items()) {
        auto p = std::make_shared<api::Pod>();
        if (p->ParseFromString(item)) live.push_back(std::move(p));
      }
      ExpectUnseen(*run, live);
      ClaimPods(run, live);
    });
  }

  // Our pods the live list shows and the cache does not are expected as creates (and the
  // reverse as deletes), so later syncs wait for the cache to catch up.
  void ExpectUnseen(const Run& run, const std::vector<DaemonPodPtr>& live) {
    const std::string& uid = run.ds->metadata().uid();
    const auto ours = [&uid](const api::Pod& p) {
      const auto* ref = ControllerRef(p.metadata());
      return PodActive(p) && ref != nullptr && ref->uid() == uid;
    };
    std::set<std::string> cached, listed;
    for (const auto& o : pods_->ByIndex(kIndex, run.ds->metadata().namespace_())) {
      if (ours(*AsPod(o))) cached.insert(PodKey(*AsPod(o)));
    }
    for (const auto& p : live) {
      if (ours(*p)) listed.insert(PodKey(*p));
    }
    expectations_.ExpectCacheToCatchUp(run.key, cached, listed, ctx_.env.clock->MonotonicNow());
  }

  // Adopts matching orphans and releases owned pods that no longer match, then acts.
  void ClaimPods(const RunPtr& run, const std::vector<DaemonPodPtr>& candidates) {
    const api::ObjectMeta& om = run->ds->metadata();
    std::vector<api::Pod> changes;
    for (const DaemonPodPtr& pod : candidates) {
      const bool matches = run->selector.Matches(LabelsOf(pod->metadata()));
      const auto* ref = ControllerRef(pod->metadata());
      if (ref != nullptr) {
        if (ref->uid() != om.uid()) continue;
        if (matches) {
          run->pods.push_back(pod);
          continue;
        }
        if (!PodActive(*pod)) continue;
        api::Pod released = *pod;
        auto* refs = released.mutable_metadata()->mutable_owner_references();
        for (int i = 0; i < refs->size(); ++i) {
          if (refs->Get(i).uid() == om.uid()) {
            refs->DeleteSubrange(i, 1);
            break;
          }
        }
        changes.push_back(std::move(released));
      } else if (matches && PodActive(*pod)) {
        api::Pod adopted = *pod;
        *adopted.mutable_metadata()->add_owner_references() = OwnerRef(om);
        changes.push_back(std::move(adopted));
      }
    }
    if (changes.empty()) return Act(run);
    run->pending = static_cast<int>(changes.size());
    for (auto& pod : changes) {
      const bool adopting = ControllerRef(pod.metadata()) != nullptr;
      ctx_.client->Update(PodsKind(), pod, [this, alive = alive_, run, adopting](const client::ApiResult& r) {
        if (!*alive) return;
        if (r.ok() && adopting) {
          auto updated = std::make_shared<api::Pod>();
          if (updated->ParseFromString(r.body)) run->pods.push_back(updated);
        } else if (!r.ok() && r.code != 404) {
          run->Fail(Status::Unavailable("claim pod: " + r.Describe()));
        }
        if (--run->pending == 0) {
          if (!run->error.ok()) return run->done(run->error);
          Act(run);
        }
      });
    }
  }

  api::OwnerReference OwnerRef(const api::ObjectMeta& om) const {
    api::OwnerReference ref;
    ref.set_api_version(kApiVersion);
    ref.set_kind(kKind);
    ref.set_name(om.name());
    ref.set_uid(om.uid());
    ref.set_controller(true);
    ref.set_block_owner_deletion(true);
    return ref;
  }

  std::optional<Nanos> FailedPodBackoff(const std::string& ds_uid, const std::string& node) {
    const Nanos now = ctx_.env.clock->MonotonicNow();
    const Nanos max = Seconds(15 * 60);
    auto [it, fresh] = backoff_.try_emplace(ds_uid + "/" + node);
    FailedBackoff& b = it->second;
    if (!fresh && now - b.last < b.delay) return b.delay - (now - b.last);
    b.delay = fresh || now - b.last > 2 * max ? Seconds(1) : std::min(b.delay * 2, max);
    b.last = now;
    return std::nullopt;
  }

  // Decides and sends this sync's creates and deletes (manage, else the rolling update).
  void Act(const RunPtr& run) {
    const api::DaemonSet& ds = *run->ds;
    const DaemonNodeCheck check(ds);
    for (const auto& o : nodes_->List()) {
      const auto& node = static_cast<const api::Node&>(*o);
      run->nodes[node.metadata().name()] = check.Check(node);
    }
    std::sort(run->pods.begin(), run->pods.end(), [](const auto& a, const auto& b) { return PodKey(*a) < PodKey(*b); });
    for (const auto& p : run->pods) {
      if (Terminal(*p) && p->metadata().has_deletion_timestamp()) continue;
      const std::string node = TargetNodeName(*p);
      if (!node.empty()) run->by_node[node].push_back(p);
    }
    if (!run->manage) return CleanHistory(run);
    const int64_t now_s = ctx_.env.clock->WallNow().count() / 1'000'000'000;
    const std::string uid = ds.metadata().uid();
    DaemonActions acts = ManagePlan(ds, run->nodes, run->by_node, run->hash, now_s,
                                    [this, &uid](const std::string& node) { return FailedPodBackoff(uid, node); });
    run->retry_after = acts.retry_after;  // a failed pod's back-off holds whatever runs next
    if (acts.empty()) acts = RollingUpdatePlan(ds, run->nodes, run->by_node, run->hash, now_s);
    for (const auto& p : acts.failed) {
      recorder_->Event(ds, "Warning", "FailedDaemonPod",
                       fmt::format("Found failed daemon pod {}/{} on node {}, will try to kill it",
                                   p->metadata().namespace_(), p->metadata().name(), TargetNodeName(*p)));
    }
    if (acts.create_on.size() > static_cast<size_t>(kDaemonSetBurst)) acts.create_on.resize(kDaemonSetBurst);
    if (acts.remove.size() > static_cast<size_t>(kDaemonSetBurst)) acts.remove.resize(kDaemonSetBurst);
    const Nanos now = ctx_.env.clock->MonotonicNow();
    if (!acts.create_on.empty()) expectations_.ExpectCreations(run->key, static_cast<int>(acts.create_on.size()), now);
    std::set<std::string> keys;
    for (const auto& p : acts.remove) keys.insert(PodKey(*p));
    if (!keys.empty()) expectations_.ExpectDeletions(run->key, keys, now);
    run->create_on = std::move(acts.create_on);
    DeletePods(run, std::move(acts.remove));
  }

  void DeletePods(const RunPtr& run, std::vector<DaemonPodPtr> victims) {
    if (victims.empty()) return CreateBatch(run);
    run->pending = static_cast<int>(victims.size());
    for (const auto& v : victims) {
      api::DeleteOptions options;
      options.mutable_preconditions()->set_uid(v->metadata().uid());
      ctx_.client->Delete(PodsKind(), v->metadata().namespace_(), v->metadata().name(), options,
                          [this, alive = alive_, run, v](const client::ApiResult& r) {
                            if (!*alive) return;
                            if (r.ok()) {
                              recorder_->Event(*run->ds, "Normal", "SuccessfulDelete",
                                               fmt::format("Deleted pod: {}", v->metadata().name()));
                            } else {
                              expectations_.DeletionObserved(run->key, PodKey(*v));
                              if (r.code != 404) {
                                run->Fail(Status::Unavailable(r.Describe()));
                                recorder_->Event(*run->ds, "Warning", "FailedDelete",
                                                 fmt::format("Error deleting: {}", r.Describe()));
                              }
                            }
                            if (--run->pending == 0) CreateBatch(run);
                          });
    }
  }

  // Slow start: batches of 1, 2, 4, ...; a failure ends them and the rest are not expected.
  void CreateBatch(const RunPtr& run) {
    const size_t left = run->create_on.size() - run->next_create;
    if (left == 0 || run->create_failed) {
      for (size_t i = 0; i < left; ++i) expectations_.CreationObserved(run->key);
      run->next_create = run->create_on.size();
      return CleanHistory(run);
    }
    const size_t n = std::min(static_cast<size_t>(run->batch), left);
    run->batch *= 2;
    run->pending = static_cast<int>(n);
    const api::DaemonSet& ds = *run->ds;
    const api::PodTemplateSpec tmpl = DaemonPodTemplate(ds, run->hash);
    for (size_t i = 0; i < n; ++i) {
      const std::string& node = run->create_on[run->next_create++];
      api::Pod pod;
      auto* meta = pod.mutable_metadata();
      *meta->mutable_labels() = tmpl.metadata().labels();
      *meta->mutable_annotations() = tmpl.metadata().annotations();
      *meta->mutable_finalizers() = tmpl.metadata().finalizers();
      meta->set_generate_name(ds.metadata().name() + "-");
      meta->set_namespace_(ds.metadata().namespace_());
      *meta->add_owner_references() = OwnerRef(ds.metadata());
      *pod.mutable_spec() = tmpl.spec();
      SetNodeNameAffinity(pod.mutable_spec(), node);
      ctx_.client->Create(PodsKind(), pod, [this, alive = alive_, run](const client::ApiResult& r) {
        if (!*alive) return;
        if (r.ok()) {
          api::Pod created;
          (void)created.ParseFromString(r.body);
          recorder_->Event(*run->ds, "Normal", "SuccessfulCreate",
                           fmt::format("Created pod: {}", created.metadata().name()));
        } else {
          run->create_failed = true;
          // No answer: the pod may exist, so it stays expected (the informer will tell).
          if (r.status.ok()) expectations_.CreationObserved(run->key);
          const std::string msg = r.error.message().empty() ? r.Describe() : r.error.message();
          run->Fail(Status::Unavailable(msg));
          if (r.status.ok()) recorder_->Event(*run->ds, "Warning", "FailedCreate", "Error creating: " + msg);
        }
        if (--run->pending == 0) CreateBatch(run);
      });
    }
  }

  // Kubernetes' cleanupHistory: revisions no pod uses and not the update revision, beyond
  // revisionHistoryLimit, are deleted oldest first.
  void CleanHistory(const RunPtr& run) {
    if (!run->manage) return WriteStatus(run);
    std::set<std::string> hashes = {run->hash};
    for (const auto& p : run->pods) {
      auto it = p->metadata().labels().find(kPodRevisionHashLabel);
      if (it != p->metadata().labels().end()) hashes.insert(it->second);
    }
    std::set<std::string> live;
    for (const auto& r : run->revisions) {
      auto it = r.metadata().labels().find(history::kHashLabel);
      if (it != r.metadata().labels().end() && hashes.count(it->second) != 0) live.insert(r.metadata().name());
    }
    const int32_t limit = run->ds->spec().has_revision_history_limit() ? run->ds->spec().revision_history_limit()
                                                                        : history::kDefaultHistoryLimit;
    auto doomed = history::TruncatePlan(run->revisions, live, limit);
    if (doomed.empty()) return WriteStatus(run);
    run->pending = static_cast<int>(doomed.size());
    for (const auto& r : doomed) {
      api::DeleteOptions options;
      options.mutable_preconditions()->set_uid(r.metadata().uid());
      ctx_.client->Delete(RevisionsKind(), r.metadata().namespace_(), r.metadata().name(), options,
                          [this, alive = alive_, run](const client::ApiResult& res) {
                            if (!*alive) return;
                            if (!res.ok() && res.code != 404) {
                              run->Fail(Status::Unavailable("delete revision: " + res.Describe()));
                            }
                            if (--run->pending == 0) WriteStatus(run);
                          });
    }
  }

  void WriteStatus(const RunPtr& run) {
    const api::DaemonSet& ds = *run->ds;
    const int64_t now_s = ctx_.env.clock->WallNow().count() / 1'000'000'000;
    api::DaemonSetStatus s;
    if (!run->hash.empty()) {
      s = StatusCounts(ds, run->nodes, run->by_node, run->hash, now_s);
    } else {
      s = ds.status();  // no update revision (its create failed): counts unknown
    }
    // observedGeneration moves only when this sync acted on the generation.
    s.set_observed_generation(run->manage && run->error.ok() ? ds.metadata().generation()
                                                             : ds.status().observed_generation());
    if (run->collision_count != 0 || ds.status().has_collision_count()) s.set_collision_count(run->collision_count);
    *s.mutable_conditions() = ds.status().conditions();
    const int32_t min_ready = ds.spec().min_ready_seconds();
    if (min_ready > 0 && s.number_ready() != s.number_available()) loop_->AddAfter(run->key, Seconds(min_ready));
    if (run->retry_after) loop_->AddAfter(run->key, *run->retry_after);
    std::string a, b;
    SerializeDeterministic(s, &a);
    SerializeDeterministic(ds.status(), &b);
    if (a == b) return run->done(run->error);
    api::DaemonSet updated = ds;
    *updated.mutable_status() = std::move(s);
    ctx_.client->Update(DsKind(), updated, [alive = alive_, run](const client::ApiResult& r) {
      if (!*alive) return;
      if (!r.ok() && run->error.ok()) return run->done(Status::Unavailable("status: " + r.Describe()));
      run->done(run->error);
    }, "status");
  }

  ControllerContext& ctx_;
  Expectations expectations_;
  client::Informer* dss_;
  client::Informer* pods_;
  client::Informer* nodes_;
  client::Informer* revisions_;
  std::unique_ptr<client::EventRecorder> recorder_;
  std::unique_ptr<ReconcileLoop> loop_;
  std::unique_ptr<ControllerRefPodEvents> pod_events_;
  std::map<std::string, FailedBackoff> backoff_;
  Nanos ready_at_{0};
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

std::unique_ptr<Controller> NewDaemonSetController(ControllerContext& ctx) {
  return std::make_unique<DaemonSetController>(ctx);
}

}  // namespace ksim::controllers
