// The garbage collector (Kubernetes' garbagecollector controller): a dependency graph over
// every kind that can carry ownerReferences, and two queues. attemptToDelete looks at one
// uid: a virtual owner is verified by a live GET; a dependent whose owners are all gone
// (each checked live, never from the cache alone) is deleted with a uid precondition; an
// owner deleting in the foreground is finalized once its blocking dependents are gone.
// attemptToOrphan takes an orphaning owner's reference off its dependents, then its
// `orphan` finalizer.
#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "cluster/api/codec.h"
#include "cluster/api/options.pb.h"
#include "cluster/api/resource_verbs.h"
#include "cluster/controllers/garbage_collector.h"
#include "cluster/controllers/garbage_collector_graph.h"

namespace ksim::controllers {
namespace {

using client::ObjectPtr;
using gc::Identity;
using Done = std::function<void(Status)>;
using Message = google::protobuf::Message;

// What a reference's owner turned out to be.
enum class OwnerState { kSolid, kDangling, kWaiting };

struct DeleteRun {
  std::string uid;
  Identity id;
  std::unique_ptr<Message> latest;
  std::vector<OwnerState> states;
  int pending = 0;
  Status error;
  Done done;
};
using DeleteRunPtr = std::shared_ptr<DeleteRun>;

class GarbageCollectorImpl final : public GarbageCollector {
 public:
  explicit GarbageCollectorImpl(ControllerContext& ctx) : ctx_(ctx) {
    recorder_ = ctx_.NewRecorder("garbage-collector-controller");
    const int workers = std::max(1, ctx_.options.concurrent_gc_syncs);
    delete_loop_ = std::make_unique<ReconcileLoop>(
        ctx_, "garbagecollector-delete", [this](const std::string& k, Done d) { AttemptToDelete(k, std::move(d)); },
        workers);
    orphan_loop_ = std::make_unique<ReconcileLoop>(
        ctx_, "garbagecollector-orphan", [this](const std::string& k, Done d) { AttemptToOrphan(k, std::move(d)); },
        workers);
    delete_loop_->OnSynced([this] { Rebuild(); });
    // Every listable kind but Events (Kubernetes ignores them too) and non-resources; kinds
    // that cannot be watched and deleted (metrics.k8s.io) are skipped, as discovery does.
    for (const api::KindInfo& kind : api::Registry::Default().All()) {
      if (kind.resource.empty() || kind.resource == "bindings" || kind.resource == "events") continue;
      if (!api::ServesVerbs(kind, {"list", "watch", "delete"})) continue;
      client::Informer* inf = ctx_.informers->For(kind);
      informers_.push_back(inf);
      inf->AddHandlers({[this](const ObjectPtr& o) { OnChange(o); },
                        [this](const ObjectPtr&, const ObjectPtr& o) { OnChange(o); },
                        [this](const ObjectPtr& o) {
                          gc::Effects fx;
                          graph_.Remove(*o, &fx);
                          Apply(fx);
                        }});
    }
  }
  ~GarbageCollectorImpl() override { *alive_ = false; }

  void Start() override {
    delete_loop_->Start();
    orphan_loop_->Start();
  }
  void Stop() override {
    delete_loop_->Stop();
    orphan_loop_->Stop();
  }
  const GarbageCollectorStats& stats() const override { return stats_; }
  size_t graph_size() const override { return graph_.size(); }

 private:
  void OnChange(const ObjectPtr& o) {
    gc::Effects fx;
    graph_.Observe(o, &fx);
    Apply(fx);
  }

  // The graph is built again from the caches on every Start: what changed while this
  // replica was down or not leading (an owner deleted meanwhile) shows as virtual nodes.
  void Rebuild() {
    ++stats_.graph_rebuilds;
    graph_.Clear();
    gc::Effects fx;
    for (client::Informer* inf : informers_) {
      for (const ObjectPtr& o : inf->List()) graph_.Observe(o, &fx);
    }
    for (const std::string& uid : graph_.VirtualNodes()) fx.attempt_delete.insert(uid);
    Apply(fx);
  }

  void Apply(gc::Effects& fx) {
    for (const std::string& uid : fx.attempt_delete) delete_loop_->Add(uid);
    for (const std::string& uid : fx.attempt_orphan) orphan_loop_->Add(uid);
    for (const auto& [obj, ref] : fx.invalid_namespace) ReportInvalidNamespace(*obj, ref);
  }

  void ReportInvalidNamespace(const Message& obj, const api::OwnerReference& ref) {
    if (!ctx_.acting()) return;  // the acting replica reports it (again after a Start)
    const api::ObjectMeta& m = *api::GetMeta(obj);
    recorder_->Event(obj, "Warning", "OwnerRefInvalidNamespace",
                     fmt::format("ownerRef [{}/{}, namespace: {}, name: {}, uid: {}] does not exist in namespace \"{}\"",
                                 ref.api_version(), ref.kind(), m.namespace_(), ref.name(), ref.uid(), m.namespace_()));
  }

  // --- attemptToDelete -------------------------------------------------------------------

  void AttemptToDelete(const std::string& uid, Done done) {
    const gc::Node* n = graph_.Find(uid);
    if (n == nullptr) return done(Status::Ok());
    if (n->id.kind == nullptr) return done(Status::Ok());  // a kind we cannot look up: nothing to do
    if (n->being_deleted && !n->deleting_dependents) return done(Status::Ok());
    auto run = std::make_shared<DeleteRun>();
    run->uid = uid;
    run->id = n->id;
    run->done = std::move(done);
    const bool is_virtual = !n->observed;
    ctx_.client->Get(*run->id.kind, run->id.ns, run->id.name,
                     [this, alive = alive_, run, is_virtual](const client::ApiResult& r) {
                       if (!*alive) return;
                       if (!r.ok() && r.code != 404) return run->done(Status::Unavailable(r.Describe()));
                       if (r.ok()) run->latest = client::ApiClient::DecodeObject(*run->id.kind, r);
                       if (r.code == 404 || run->latest == nullptr || api::GetMeta(*run->latest)->uid() != run->uid) {
                         // Gone (or another object by that name): its dependents are looked at.
                         gc::Effects fx;
                         graph_.VirtualDelete(run->uid, /*observed_too=*/true, &fx);
                         Apply(fx);
                         return run->done(Status::Ok());
                       }
                       const gc::Node* node = graph_.Find(run->uid);
                       if (is_virtual || node == nullptr || !node->observed) {
                         // It exists but the informer has not shown it yet: look again later.
                         return run->done(Status::Unavailable("owner not observed yet"));
                       }
                       if (node->deleting_dependents) return ProcessDeletingDependents(run);
                       ClassifyOwners(run);
                     });
  }

  void ClassifyOwners(const DeleteRunPtr& run) {
    const api::ObjectMeta& m = *api::GetMeta(*run->latest);
    const int n = m.owner_references_size();
    if (n == 0) return run->done(Status::Ok());
    run->states.assign(static_cast<size_t>(n), OwnerState::kSolid);
    for (int i = 0; i < n; ++i) {
      const Identity owner = gc::OwnerIdentity(m.owner_references(i), m.namespace_());
      if (owner.kind == nullptr) return run->done(Status::Unavailable("unknown owner kind " + m.owner_references(i).kind()));
      if (owner.kind->namespaced && !run->id.kind->namespaced) {
        // A cluster-scoped object cannot have a namespaced owner: reported, never retried.
        ReportInvalidNamespace(*run->latest, m.owner_references(i));
        return run->done(Status::Ok());
      }
    }
    run->pending = n;
    for (int i = 0; i < n; ++i) {
      const api::OwnerReference ref = m.owner_references(i);
      const Identity oid = gc::OwnerIdentity(ref, m.namespace_());
      ++stats_.owner_lookups;
      ctx_.client->Get(*oid.kind, oid.ns, oid.name, [this, alive = alive_, run, i, ref](const client::ApiResult& r) {
        if (!*alive) return;
        const Identity owner = gc::OwnerIdentity(ref, api::GetMeta(*run->latest)->namespace_());
        auto& state = run->states[static_cast<size_t>(i)];
        if (r.code == 404) {
          state = OwnerState::kDangling;
        } else if (!r.ok()) {
          if (run->error.ok()) run->error = Status::Unavailable(r.Describe());
        } else if (auto o = client::ApiClient::DecodeObject(*owner.kind, r); o == nullptr) {
          if (run->error.ok()) run->error = Status::Unavailable("undecodable owner");
        } else {
          const api::ObjectMeta& om = *api::GetMeta(*o);
          if (om.uid() != ref.uid()) {
            state = OwnerState::kDangling;
          } else if (om.has_deletion_timestamp() && gc::HasFinalizer(om, gc::kForegroundFinalizer)) {
            state = OwnerState::kWaiting;
          }
        }
        if (--run->pending == 0) Decide(run);
      });
    }
  }

  void Decide(const DeleteRunPtr& run) {
    if (!run->error.ok()) return run->done(run->error);
    const api::ObjectMeta& m = *api::GetMeta(*run->latest);
    std::set<std::string> dangling, waiting;
    bool solid = false;
    for (int i = 0; i < m.owner_references_size(); ++i) {
      switch (run->states[static_cast<size_t>(i)]) {
        case OwnerState::kSolid: solid = true; break;
        case OwnerState::kDangling: dangling.insert(m.owner_references(i).uid()); break;
        case OwnerState::kWaiting: waiting.insert(m.owner_references(i).uid()); break;
      }
    }
    if (solid) {
      // A live owner remains: the object stays; references to gone or foreground-deleting
      // owners are taken off.
      if (dangling.empty() && waiting.empty()) return run->done(Status::Ok());
      std::set<std::string> drop = dangling;
      drop.insert(waiting.begin(), waiting.end());
      return Mutate(run->id, [drop](api::ObjectMeta& meta) { return RemoveRefs(meta, drop); },
                    [this, run](Status s) {
                      if (s.ok()) ++stats_.ref_removals;
                      run->done(s);
                    });
    }
    const gc::Node* node = graph_.Find(run->uid);
    if (!waiting.empty() && node != nullptr && !node->dependents.empty()) {
      // An owner waits for this object, which has dependents of its own: delete it in the
      // foreground too. If one of those is itself deleting dependents (a cycle?), unblock
      // our references first so the owner does not wait on us forever.
      bool cycle = false;
      for (const std::string& d : node->dependents) {
        const gc::Node* dn = graph_.Find(d);
        cycle = cycle || (dn != nullptr && dn->deleting_dependents);
      }
      if (cycle) {
        return Mutate(run->id, [](api::ObjectMeta& meta) {
                        bool changed = false;
                        for (auto& ref : *meta.mutable_owner_references()) {
                          if (ref.block_owner_deletion()) {
                            ref.set_block_owner_deletion(false);
                            changed = true;
                          }
                        }
                        return changed;
                      },
                      [this, run](Status s) {
                        if (!s.ok()) return run->done(s);
                        DeleteObject(run, "Foreground");
                      });
      }
      return DeleteObject(run, "Foreground");
    }
    // No live owner: collected, by the policy its own finalizers ask for.
    const char* policy = gc::HasFinalizer(m, gc::kOrphanFinalizer)        ? "Orphan"
                         : gc::HasFinalizer(m, gc::kForegroundFinalizer) ? "Foreground"
                                                                          : "Background";
    DeleteObject(run, policy);
  }

  void DeleteObject(const DeleteRunPtr& run, const std::string& policy) {
    api::DeleteOptions opts;
    opts.mutable_preconditions()->set_uid(run->uid);
    opts.set_propagation_policy(policy);
    ctx_.client->Delete(*run->id.kind, run->id.ns, run->id.name, opts, [this, alive = alive_, run](const client::ApiResult& r) {
      if (!*alive) return;
      if (r.ok()) ++stats_.deletes;
      // 404: gone already; 409: the uid precondition failed (another object by that name).
      if (r.ok() || r.code == 404 || r.code == 409) return run->done(Status::Ok());
      run->done(Status::Unavailable("delete: " + r.Describe()));
    });
  }

  // Foreground: the owner goes once no dependent blocks it; until then its blocking
  // dependents are deleted (their deletes queue the owner again).
  void ProcessDeletingDependents(const DeleteRunPtr& run) {
    const std::vector<std::string> blocking = graph_.BlockingDependents(run->uid);
    if (blocking.empty()) return RemoveFinalizer(run->id, gc::kForegroundFinalizer, run->done);
    for (const std::string& d : blocking) {
      const gc::Node* dn = graph_.Find(d);
      if (dn != nullptr && !dn->deleting_dependents) delete_loop_->Add(d);
    }
    run->done(Status::Ok());
  }

  // --- attemptToOrphan -------------------------------------------------------------------

  void AttemptToOrphan(const std::string& uid, Done done) {
    const gc::Node* n = graph_.Find(uid);
    if (n == nullptr || !n->observed || !n->orphaning) return done(Status::Ok());
    const Identity owner = n->id;
    std::vector<Identity> deps;
    for (const std::string& d : n->dependents) {
      const gc::Node* dn = graph_.Find(d);
      if (dn != nullptr && dn->observed && dn->id.kind != nullptr) deps.push_back(dn->id);
    }
    auto pending = std::make_shared<int>(static_cast<int>(deps.size()) + 1);
    auto error = std::make_shared<Status>();
    auto finish = [this, owner, pending, error, done](Status s) {
      if (!s.ok() && error->ok()) *error = s;
      if (--*pending > 0) return;
      if (!error->ok()) return done(*error);
      RemoveFinalizer(owner, gc::kOrphanFinalizer, done);
    };
    const std::set<std::string> drop = {uid};
    for (const Identity& d : deps) {
      Mutate(d, [drop](api::ObjectMeta& meta) { return RemoveRefs(meta, drop); },
             [this, finish](Status s) {
               if (s.ok()) ++stats_.ref_removals;
               finish(s);
             });
    }
    finish(Status::Ok());
  }

  // --- writes ----------------------------------------------------------------------------

  static bool RemoveRefs(api::ObjectMeta& meta, const std::set<std::string>& uids) {
    auto* refs = meta.mutable_owner_references();
    const int before = refs->size();
    for (int i = refs->size() - 1; i >= 0; --i) {
      if (uids.count(refs->Get(i).uid()) > 0) refs->DeleteSubrange(i, 1);
    }
    return refs->size() != before;
  }

  void RemoveFinalizer(const Identity& id, const std::string& finalizer, Done done) {
    Mutate(id, [finalizer](api::ObjectMeta& meta) {
             auto* f = meta.mutable_finalizers();
             const int before = f->size();
             for (int i = f->size() - 1; i >= 0; --i) {
               if (f->Get(i) == finalizer) f->DeleteSubrange(i, 1);
             }
             return f->size() != before;
           },
           [this, done](Status s) {
             if (s.ok()) ++stats_.finalizers_removed;
             done(s);
           });
  }

  // Reads the object live, applies `change` to its metadata and writes it back guarded by
  // its resourceVersion (a conflict reads again, a few times). An object gone, or replaced
  // by another uid, is nothing to do.
  void Mutate(const Identity& id, std::function<bool(api::ObjectMeta&)> change, Done done, int attempt = 0) {
    ctx_.client->Get(*id.kind, id.ns, id.name, [this, alive = alive_, id, change, done, attempt](const client::ApiResult& r) {
      if (!*alive) return;
      if (r.code == 404) return done(Status::Ok());
      if (!r.ok()) return done(Status::Unavailable(r.Describe()));
      auto obj = client::ApiClient::DecodeObject(*id.kind, r);
      if (obj == nullptr || api::GetMeta(*obj)->uid() != id.uid) return done(Status::Ok());
      if (!change(*api::MutableMeta(*obj))) return done(Status::Ok());
      ctx_.client->Update(*id.kind, *obj, [this, alive, id, change, done, attempt](const client::ApiResult& w) {
        if (!*alive) return;
        if (w.ok() || w.code == 404) return done(Status::Ok());
        if (w.code == 409 && attempt < 3) return Mutate(id, change, done, attempt + 1);
        done(Status::Unavailable("update: " + w.Describe()));
      });
    });
  }

  ControllerContext& ctx_;
  gc::DependencyGraph graph_;
  std::vector<client::Informer*> informers_;
  std::unique_ptr<client::EventRecorder> recorder_;
  std::unique_ptr<ReconcileLoop> delete_loop_;
  std::unique_ptr<ReconcileLoop> orphan_loop_;
  GarbageCollectorStats stats_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

std::unique_ptr<Controller> NewGarbageCollector(ControllerContext& ctx) {
  return std::make_unique<GarbageCollectorImpl>(ctx);
}

}  // namespace ksim::controllers
