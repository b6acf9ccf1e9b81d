#include "cluster/controllers/replica_set.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include "cluster/api/codec.h"
#include "cluster/api/options.pb.h"
#include "cluster/api/registry.h"
#include "cluster/controllers/controller_ref_events.h"
#include "cluster/controllers/expectations.h"

namespace ksim::controllers {
namespace {

using client::ObjectPtr;
using PodPtr = std::shared_ptr<const api::Pod>;

const api::KindInfo& PodsKind() { return *api::Registry::Default().ByGroupResource("", "pods"); }
PodPtr AsPod(const ObjectPtr& o) { return std::static_pointer_cast<const api::Pod>(o); }
std::string PodKey(const api::Pod& p) { return p.metadata().namespace_() + "/" + p.metadata().name(); }
std::string OwnedKey(const std::string& uid) { return "uid/" + uid; }
std::string OrphanKey(const std::string& ns) { return "orphan/" + ns; }
std::map<std::string, std::string> Labels(const api::Pod& p) {
  return {p.metadata().labels().begin(), p.metadata().labels().end()};
}

// The created pod's name, from its metadata alone: the Event needs nothing else, and parsing
// the whole pod per create was 6% of `ksim bench controllers`.
std::string CreatedPodName(const std::string& bytes) {
  using google::protobuf::internal::WireFormatLite;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  for (uint32_t tag = in.ReadTag(); tag != 0; tag = in.ReadTag()) {
    if (WireFormatLite::GetTagFieldNumber(tag) == api::Pod::kMetadataFieldNumber &&
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      uint32_t length = 0;
      std::string meta_bytes;
      api::ObjectMeta meta;
      if (!in.ReadVarint32(&length) || !in.ReadString(&meta_bytes, static_cast<int>(length))) return "";
      return meta.ParseFromString(meta_bytes) ? meta.name() : "";
    }
    if (!WireFormatLite::SkipField(&in, tag)) return "";
  }
  return "";
}

// One sync's state, shared by the callbacks of its writes.
struct SyncRun {
  std::string key;
  ObjectPtr owner;
  api::LabelMatcher selector;
  bool manage = true;
  std::function<void(Status)> done;
  std::vector<PodPtr> owned;
  int32_t terminating = 0;   // owned pods being deleted that have not ended
  int pending = 0;           // writes of the current step still unanswered
  Status claim_error;        // first adoption/release failure
  Status manage_error;       // first create/delete failure
  bool create_failed = false;
  int to_create = 0;         // creates not yet sent
  int batch = 1;             // slow start: 1, 2, 4, ...
};
using RunPtr = std::shared_ptr<SyncRun>;

class ReplicaController final : public Controller {
 public:
  ReplicaController(ControllerContext& ctx, std::unique_ptr<ReplicaKind> kind)
      : ctx_(ctx), kind_(std::move(kind)), expectations_(ctx.options.expectations_timeout),
        owners_(ctx.informers->For(kind_->kind())), pods_(ctx.informers->For(PodsKind())),
        pod_index_(kind_->controller_name() + "/namespace"), owner_index_(kind_->controller_name() + "/owner") {
    recorder_ = ctx_.NewRecorder(kind_->component());
    loop_ = std::make_unique<ReconcileLoop>(
        ctx_, kind_->controller_name(),
        [this](const std::string& key, std::function<void(Status)> done) { Sync(key, std::move(done)); },
        kind_->workers(ctx_.options));
    loop_->OnSynced([this] {
      for (const auto& o : owners_->List()) loop_->Add(client::Informer::KeyOf(*o));
    });
    const auto by_namespace = [](const google::protobuf::Message& m) {
      return std::vector<std::string>{api::GetMeta(m)->namespace_()};
    };
    // Pods by controller UID, orphans by namespace (Kubernetes' FilterPodsByOwner): a sync
    // reads its own pods and the orphans it may adopt, not the whole namespace.
    pods_->AddIndex(owner_index_, [](const google::protobuf::Message& m) {
      const api::ObjectMeta& meta = *api::GetMeta(m);
      const api::OwnerReference* ref = ControllerRef(meta);
      return std::vector<std::string>{ref != nullptr ? OwnedKey(ref->uid()) : OrphanKey(meta.namespace_())};
    });
    owners_->AddIndex(pod_index_, by_namespace);
    owners_->AddHandlers({[this](const ObjectPtr& o) { loop_->Add(client::Informer::KeyOf(*o)); },
                          [this](const ObjectPtr&, const ObjectPtr& o) { loop_->Add(client::Informer::KeyOf(*o)); },
                          [this](const ObjectPtr& o) {
                            const std::string key = client::Informer::KeyOf(*o);
                            expectations_.Delete(key);
                            loop_->Add(key);
                          }});
    PodOwnerKind pod_owner;
    pod_owner.kind_name = kind_->kind_name();
    pod_owner.owners = owners_;
    pod_owner.matching_owners = [this](const api::Pod& pod) { return MatchingOwners(pod); };
    pod_owner.min_ready_seconds = [this](const google::protobuf::Message& o) { return kind_->MinReadySeconds(o); };
    pod_events_ = std::make_unique<ControllerRefPodEvents>(std::move(pod_owner), &expectations_, loop_.get());
    pods_->AddHandlers(pod_events_->Handlers());
  }
  ~ReplicaController() override { *alive_ = false; }

  void Start() override { loop_->Start(); }
  void Stop() override {
    loop_->Stop();
    // Writes of the last term may still land; a new term starts from the cache.
    expectations_ = Expectations(ctx_.options.expectations_timeout);
  }

 private:
  // Orphans: every owner in the namespace whose selector matches.
  std::vector<ObjectPtr> MatchingOwners(const api::Pod& pod) const {
    std::vector<ObjectPtr> out;
    for (const auto& o : owners_->ByIndex(pod_index_, pod.metadata().namespace_())) {
      api::LabelMatcher sel;
      if (kind_->Selector(*o, &sel).ok() && sel.Matches(Labels(pod))) out.push_back(o);
    }
    return out;
  }

  void Sync(const std::string& key, std::function<void(Status)> done) {
    ObjectPtr owner = owners_->Get(key);
    if (owner == nullptr) {
      expectations_.Delete(key);
      return done(Status::Ok());
    }
    auto run = std::make_shared<SyncRun>();
    run->key = key;
    run->owner = owner;
    run->done = std::move(done);
    if (Status s = kind_->Selector(*owner, &run->selector); !s.ok()) {
      Log(fmt::format("{}: invalid selector: {}", key, s.message()));
      return run->done(Status::Ok());  // nothing to retry until the object changes
    }
    const auto state = ctx_.options.replica_expectations
                           ? expectations_.Check(key, ctx_.env.clock->MonotonicNow())
                           : Expectations::State::kSatisfied;
    if (state != Expectations::State::kExpired) {
      run->manage = state == Expectations::State::kSatisfied;
      return Claim(run, CachedPods(*api::GetMeta(*owner)));
    }
    // Expired: our writes have not shown in the cache for the whole timeout, so the cache
    // is not trusted (Kubernetes trusts it: issue #129795). Read the pods from the
    // apiserver instead; acting on that list cannot repeat a write that landed.
    expectations_.Delete(key);
    std::map<std::string, std::string> query;
    if (!run->selector.MatchesNothing()) query["labelSelector"] = run->selector.String();
    ctx_.client->List(PodsKind(), api::GetMeta(*owner)->namespace_(), std::move(query),
                      [this, alive = alive_, run](const client::ApiResult& r) {
                        if (!*alive) return;
                        apiserver::ObjectList list;
                        if (!r.ok() || !list.ParseFromString(r.body)) {
                          return run->done(Status::Unavailable("list pods: " + r.Describe()));
                        }
                        std::vector<PodPtr> pods;
                        for (const auto& item : list.items()) {
                          auto p = std::make_shared<api::Pod>();
                          if (p->ParseFromString(item)) pods.push_back(std::move(p));
                        }
                        ++stats_live_lists_;
                        ExpectUnseen(run->key, *run->owner, pods);
                        Claim(run, std::move(pods));
                      });
  }

  // The owner's pods and the namespace's orphans, as the cache has them.
  std::vector<PodPtr> CachedPods(const api::ObjectMeta& om) const {
    std::vector<PodPtr> pods;
    for (const auto& o : pods_->ByIndex(owner_index_, OwnedKey(om.uid()))) pods.push_back(AsPod(o));
    for (const auto& o : pods_->ByIndex(owner_index_, OrphanKey(om.namespace_()))) pods.push_back(AsPod(o));
    return pods;
  }

  // Our pods the live list shows and the cache does not are expected as creates, and the
  // reverse as deletes, so later syncs wait for the cache to catch up.
  void ExpectUnseen(const std::string& key, const google::protobuf::Message& owner, const std::vector<PodPtr>& live) {
    const std::string& uid = api::GetMeta(owner)->uid();
    const auto ours = [&uid](const api::Pod& p) {
      const auto* ref = ControllerRef(p.metadata());
      return PodActive(p) && ref != nullptr && ref->uid() == uid;
    };
    std::set<std::string> cached, listed;
    for (const auto& o : pods_->ByIndex(owner_index_, OwnedKey(uid))) {
      if (ours(*AsPod(o))) cached.insert(PodKey(*AsPod(o)));
    }
    for (const auto& p : live) {
      if (ours(*p)) listed.insert(PodKey(*p));
    }
    expectations_.ExpectCacheToCatchUp(key, cached, listed, ctx_.env.clock->MonotonicNow());
  }

  // Adopts matching orphans and releases owned pods that no longer match (ClaimPods).
  void Claim(const RunPtr& run, std::vector<PodPtr> pods) {
    const api::ObjectMeta& om = *api::GetMeta(*run->owner);
    const bool deleting = om.has_deletion_timestamp();
    std::vector<api::Pod> changes;
    for (auto& pod : pods) {
      if (!PodActive(*pod)) {
        const auto* ref = ControllerRef(pod->metadata());
        const std::string& phase = pod->status().phase();
        if (ref != nullptr && ref->uid() == om.uid() && pod->metadata().has_deletion_timestamp() &&
            phase != "Succeeded" && phase != "Failed") {
          ++run->terminating;
        }
        continue;
      }
      const bool matches = run->selector.Matches(Labels(*pod));
      const auto* ref = ControllerRef(pod->metadata());
      if (ref != nullptr) {
        if (ref->uid() != om.uid()) continue;
        if (matches || deleting) {
          run->owned.push_back(pod);
          continue;
        }
        api::Pod released = *pod;  // release: drop our controllerRef
        auto* refs = released.mutable_metadata()->mutable_owner_references();
        for (int i = 0; i < refs->size(); ++i) {
          if (refs->Get(i).uid() == om.uid()) {
            refs->DeleteSubrange(i, 1);
            break;
          }
        }
        changes.push_back(std::move(released));
      } else if (matches && !deleting) {
        api::Pod adopted = *pod;
        *adopted.mutable_metadata()->add_owner_references() = OwnerRef(om);
        changes.push_back(std::move(adopted));
      }
    }
    if (changes.empty()) return Manage(run);
    const bool adopts = std::any_of(changes.begin(), changes.end(),
                                    [](const api::Pod& p) { return ControllerRef(p.metadata()) != nullptr; });
    if (!adopts) return SendClaims(run, std::move(changes));
    // Before adopting, read the owner itself (RecheckDeletionTimestamp): the cache may not
    // show yet that it is being deleted, and a pod adopted then would be collected with it.
    ctx_.client->Get(kind_->kind(), om.namespace_(), om.name(),
                     [this, alive = alive_, run, changes = std::move(changes)](const client::ApiResult& r) mutable {
                       if (!*alive) return;
                       auto live = client::ApiClient::DecodeObject(kind_->kind(), r);
                       const api::ObjectMeta* meta = live != nullptr ? api::GetMeta(*live) : nullptr;
                       const std::string& uid = api::GetMeta(*run->owner)->uid();
                       if (meta == nullptr || meta->uid() != uid || meta->has_deletion_timestamp()) {
                         std::erase_if(changes, [](const api::Pod& p) { return ControllerRef(p.metadata()) != nullptr; });
                         run->claim_error = Status::Unavailable(
                             fmt::format("{}: not adopting, the owner is {}", run->key,
                                         r.ok() || r.code == 404 ? "gone or being deleted" : "unreadable: " + r.Describe()));
                       }
                       SendClaims(run, std::move(changes));
                     });
  }

  void SendClaims(const RunPtr& run, std::vector<api::Pod> changes) {
    if (changes.empty()) return Manage(run);
    run->pending = static_cast<int>(changes.size());
    for (auto& pod : changes) {
      const bool adopting = ControllerRef(pod.metadata()) != nullptr;
      auto copy = std::make_shared<api::Pod>(pod);
      // The update is guarded by the pod's resourceVersion: a changed pod is looked at again.
      ctx_.client->Update(PodsKind(), pod, [this, alive = alive_, run, copy, adopting](const client::ApiResult& r) {
        if (!*alive) return;
        if (r.ok() && adopting) {
          auto updated = std::make_shared<api::Pod>();
          run->owned.push_back(updated->ParseFromString(r.body) ? updated : copy);
        } else if (!r.ok() && r.code != 404 && run->claim_error.ok()) {
          run->claim_error = Status::Unavailable(fmt::format("claim pod {}: {}", PodKey(*copy), r.Describe()));
        }
        if (--run->pending == 0) Manage(run);
      });
    }
  }

  api::OwnerReference OwnerRef(const api::ObjectMeta& om) const {
    api::OwnerReference ref;
    ref.set_api_version(kind_->api_version());
    ref.set_kind(kind_->kind_name());
    ref.set_name(om.name());
    ref.set_uid(om.uid());
    ref.set_controller(true);
    ref.set_block_owner_deletion(true);
    return ref;
  }

  void Manage(const RunPtr& run) {
    if (!run->claim_error.ok()) return run->done(run->claim_error);
    // By namespace/name, without building the keys (this sort was 16% of `ksim bench rollout`).
    std::sort(run->owned.begin(), run->owned.end(), [](const PodPtr& a, const PodPtr& b) {
      return std::tie(a->metadata().namespace_(), a->metadata().name()) <
             std::tie(b->metadata().namespace_(), b->metadata().name());
    });
    const api::ObjectMeta& om = *api::GetMeta(*run->owner);
    if (!run->manage || om.has_deletion_timestamp()) return WriteStatus(run);
    const int diff = static_cast<int>(run->owned.size()) - kind_->Replicas(*run->owner);
    const Nanos now = ctx_.env.clock->MonotonicNow();
    if (diff < 0) {
      run->to_create = std::min(-diff, ctx_.options.replica_burst);
      expectations_.ExpectCreations(run->key, run->to_create, now);
      return CreateBatch(run);
    }
    if (diff > 0) {
      std::vector<PodPtr> victims = run->owned;
      // Doubled-up pods first: how many of this owner's pods share each one's node.
      std::map<std::string, int> per_node;
      for (const auto& p : run->owned) {
        if (!p->spec().node_name().empty()) ++per_node[p->spec().node_name()];
      }
      const auto co_located = [&per_node](const api::Pod& p) {
        auto it = per_node.find(p.spec().node_name());
        return it == per_node.end() ? 0 : it->second;
      };
      std::sort(victims.begin(), victims.end(), [&co_located](const PodPtr& a, const PodPtr& b) {
        return DeleteBefore(*a, *b, co_located(*a), co_located(*b));
      });
      victims.resize(static_cast<size_t>(std::min(diff, ctx_.options.replica_burst)));
      std::set<std::string> keys;
      for (const auto& v : victims) keys.insert(PodKey(*v));
      expectations_.ExpectDeletions(run->key, keys, now);
      return DeletePods(run, std::move(victims));
    }
    WriteStatus(run);
  }

  // Slow start (Kubernetes' slowStartBatch): batches of 1, 2, 4, ...; a failure stops the
  // rest, which are then not expected.
  void CreateBatch(const RunPtr& run) {
    if (run->to_create == 0 || run->create_failed) {
      for (; run->to_create > 0; --run->to_create) expectations_.CreationObserved(run->key);
      return WriteStatus(run);
    }
    const int n = std::min(run->batch, run->to_create);
    run->to_create -= n;
    run->batch *= 2;
    run->pending = n;
    const api::ObjectMeta& om = *api::GetMeta(*run->owner);
    const api::PodTemplateSpec& tmpl = kind_->Template(*run->owner);
    api::Pod pod;
    auto* meta = pod.mutable_metadata();
    *meta->mutable_labels() = tmpl.metadata().labels();
    *meta->mutable_annotations() = tmpl.metadata().annotations();
    *meta->mutable_finalizers() = tmpl.metadata().finalizers();
    meta->set_generate_name(om.name() + "-");
    meta->set_namespace_(om.namespace_());
    *meta->add_owner_references() = OwnerRef(om);
    *pod.mutable_spec() = tmpl.spec();
    for (int i = 0; i < n; ++i) {
      ctx_.client->Create(PodsKind(), pod, [this, alive = alive_, run](const client::ApiResult& r) {
        if (!*alive) return;
        if (r.ok()) {
          ++stats_creates_;
          recorder_->Event(*run->owner, "Normal", "SuccessfulCreate",
                           fmt::format("Created pod: {}", CreatedPodName(r.body)));
        } else if (!r.status.ok()) {
          // No answer: the pod may exist; the informer (or the expiry's live list) will tell.
          run->create_failed = true;
          if (run->manage_error.ok()) run->manage_error = Status::Unavailable(r.Describe());
        } else {
          run->create_failed = true;
          expectations_.CreationObserved(run->key);
          const std::string msg = r.error.message().empty() ? r.Describe() : r.error.message();
          if (run->manage_error.ok()) run->manage_error = Status::Unavailable(msg);
          recorder_->Event(*run->owner, "Warning", "FailedCreate", "Error creating: " + msg);
        }
        if (--run->pending == 0) CreateBatch(run);
      });
    }
  }

  void DeletePods(const RunPtr& run, std::vector<PodPtr> victims) {
    run->pending = static_cast<int>(victims.size());
    for (const auto& v : victims) {
      api::DeleteOptions options;
      options.mutable_preconditions()->set_uid(v->metadata().uid());
      ctx_.client->Delete(PodsKind(), v->metadata().namespace_(), v->metadata().name(), options,
                          [this, alive = alive_, run, v](const client::ApiResult& r) {
                            if (!*alive) return;
                            if (r.ok()) {
                              ++stats_deletes_;
                              recorder_->Event(*run->owner, "Normal", "SuccessfulDelete",
                                               fmt::format("Deleted pod: {}", v->metadata().name()));
                            } else {
                              expectations_.DeletionObserved(run->key, PodKey(*v));
                              if (r.code != 404) {
                                if (run->manage_error.ok()) run->manage_error = Status::Unavailable(r.Describe());
                                recorder_->Event(*run->owner, "Warning", "FailedDelete",
                                                 fmt::format("Error deleting: {}", r.Describe()));
                              }
                            }
                            if (--run->pending == 0) WriteStatus(run);
                          });
    }
  }

  void WriteStatus(const RunPtr& run) {
    const google::protobuf::Message& owner = *run->owner;
    const api::PodTemplateSpec& tmpl = kind_->Template(owner);
    const int32_t min_ready = kind_->MinReadySeconds(owner);
    const Nanos wall = ctx_.env.clock->WallNow();
    const int64_t now_s = wall.count() / 1'000'000'000;
    const ReplicaStatus old = kind_->GetStatus(owner);
    ReplicaStatus s = old;
    s.replicas = static_cast<int32_t>(run->owned.size());
    s.fully_labeled_replicas = s.ready_replicas = s.available_replicas = 0;
    const std::map<std::string, std::string> want(tmpl.metadata().labels().begin(), tmpl.metadata().labels().end());
    for (const auto& p : run->owned) {
      bool full = true;
      for (const auto& [k, v] : want) {
        auto it = p->metadata().labels().find(k);
        full = full && it != p->metadata().labels().end() && it->second == v;
      }
      s.fully_labeled_replicas += full ? 1 : 0;
      s.ready_replicas += PodReady(*p) ? 1 : 0;
      s.available_replicas += PodAvailable(*p, min_ready, now_s) ? 1 : 0;
    }
    s.observed_generation = api::GetMeta(owner)->generation();
    s.terminating_replicas = run->terminating;
    const bool short_of_pods = s.replicas < kind_->Replicas(owner);
    if (run->create_failed && short_of_pods && !run->manage_error.ok()) {
      s.failure = true;
      s.failure_reason = "FailedCreate";
      s.failure_message = run->manage_error.message();
    } else if (run->manage_error.ok()) {
      s.failure = false;
      s.failure_reason.clear();
      s.failure_message.clear();
    }
    // Ready but not yet available: look again when minReadySeconds has passed.
    if (run->manage_error.ok() && min_ready > 0 && s.ready_replicas == kind_->Replicas(owner) &&
        s.available_replicas != s.ready_replicas) {
      loop_->AddAfter(run->key, Seconds(min_ready));
    }
    if (s == old) return run->done(run->manage_error);
    google::protobuf::Timestamp ts;
    ts.set_seconds(now_s);
    auto updated = kind_->WithStatus(owner, s, ts);
    ctx_.client->Update(kind_->kind(), *updated, [alive = alive_, run](const client::ApiResult& r) {
      if (!*alive) return;
      if (!r.ok() && run->manage_error.ok()) return run->done(Status::Unavailable("status: " + r.Describe()));
      run->done(run->manage_error);
    }, "status");
  }

  void Log(const std::string& msg) {
    if (ctx_.env.log != nullptr) ctx_.env.log->Log(LogLevel::kInfo, kind_->controller_name(), msg);
  }

  ControllerContext& ctx_;
  std::unique_ptr<ReplicaKind> kind_;
  Expectations expectations_;
  client::Informer* owners_;
  client::Informer* pods_;
  std::string pod_index_;    // owners by namespace
  std::string owner_index_;  // pods by controller UID or, orphans, by namespace
  std::unique_ptr<client::EventRecorder> recorder_;
  std::unique_ptr<ReconcileLoop> loop_;
  std::unique_ptr<ControllerRefPodEvents> pod_events_;
  uint64_t stats_creates_ = 0;
  uint64_t stats_deletes_ = 0;
  uint64_t stats_live_lists_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

std::unique_ptr<Controller> NewReplicaController(ControllerContext& ctx, std::unique_ptr<ReplicaKind> kind) {
  return std::make_unique<ReplicaController>(ctx, std::move(kind));
}

}  // namespace ksim::controllers
