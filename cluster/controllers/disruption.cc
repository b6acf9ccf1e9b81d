// The disruption controller's plumbing: informers, the queue of PDB keys, the scale
// finders, the status write (guarded by the PDB's resourceVersion, so it never overwrites
// an eviction it has not seen) and the fail-safe.
#include "cluster/controllers/disruption.h"

#include <fmt/format.h>

#include "cluster/api/apps.pb.h"
#include "cluster/api/label_selector.h"
#include "cluster/api/registry.h"
#include "cluster/controllers/replica_set.h"

namespace ksim::controllers {
namespace {

using client::ObjectPtr;

const api::KindInfo& KindFor(const char* group, const char* resource) {
  return *api::Registry::Default().ByGroupResource(group, resource);
}
std::map<std::string, std::string> Labels(const api::Pod& p) {
  return {p.metadata().labels().begin(), p.metadata().labels().end()};
}
std::string Group(const std::string& api_version) {
  const size_t slash = api_version.find('/');
  return slash == std::string::npos ? "" : api_version.substr(0, slash);
}
int32_t ReplicasOr1(bool has, int32_t n) { return has ? n : 1; }

class DisruptionController final : public Controller {
 public:
  explicit DisruptionController(ControllerContext& ctx)
      : ctx_(ctx), pdbs_(ctx.informers->For(KindFor("policy", "poddisruptionbudgets"))),
        pods_(ctx.informers->For(KindFor("", "pods"))),
        replica_sets_(ctx.informers->For(KindFor("apps", "replicasets"))),
        deployments_(ctx.informers->For(KindFor("apps", "deployments"))),
        stateful_sets_(ctx.informers->For(KindFor("apps", "statefulsets"))),
        rcs_(ctx.informers->For(KindFor("", "replicationcontrollers"))) {
    recorder_ = ctx_.NewRecorder("controllermanager");
    loop_ = std::make_unique<ReconcileLoop>(
        ctx_, kDisruptionControllerName,
        [this](const std::string& key, std::function<void(Status)> done) { Sync(key, std::move(done)); }, 1);
    loop_->OnSynced([this] {
      for (const auto& o : pdbs_->List()) loop_->Add(client::Informer::KeyOf(*o));
    });
    const auto by_namespace = [](const google::protobuf::Message& m) {
      return std::vector<std::string>{api::GetMeta(m)->namespace_()};
    };
    pods_->AddIndex(kIndex, by_namespace);
    pdbs_->AddIndex(kIndex, by_namespace);
    const auto add = [this](const ObjectPtr& o) { loop_->Add(client::Informer::KeyOf(*o)); };
    pdbs_->AddHandlers({add, [add](const ObjectPtr&, const ObjectPtr& o) { add(o); }, add});
    pods_->AddHandlers({[this](const ObjectPtr& o) { EnqueueFor(Pod(o)); },
                        [this](const ObjectPtr& a, const ObjectPtr& b) {
                          if (Labels(Pod(a)) != Labels(Pod(b))) EnqueueFor(Pod(a));
                          EnqueueFor(Pod(b));
                        },
                        [this](const ObjectPtr& o) { EnqueueFor(Pod(o)); }});
  }
  ~DisruptionController() override { *alive_ = false; }

  void Start() override { loop_->Start(); }
  void Stop() override { loop_->Stop(); }

 private:
  static constexpr char kIndex[] = "disruption/namespace";
  static const api::Pod& Pod(const ObjectPtr& o) { return static_cast<const api::Pod&>(*o); }

  // Every PDB of the pod's namespace whose selector matches it (Kubernetes queues the
  // first; a pod under several budgets is refused by the eviction API anyway).
  void EnqueueFor(const api::Pod& pod) {
    for (const auto& o : pdbs_->ByIndex(kIndex, pod.metadata().namespace_())) {
      const auto& pdb = static_cast<const api::PodDisruptionBudget&>(*o);
      api::LabelMatcher sel;
      if (api::LabelMatcherFromProto(pdb.spec().has_selector(), pdb.spec().selector(), "spec.selector", &sel).ok() &&
          sel.Matches(Labels(pod))) {
        loop_->Add(client::Informer::KeyOf(pdb));
      }
    }
  }

  template <typename T>
  const T* Lookup(client::Informer* informer, const std::string& ns, const api::OwnerReference& ref) const {
    ObjectPtr o = informer->Get(ns + "/" + ref.name());
    if (o == nullptr || api::GetMeta(*o)->uid() != ref.uid()) return nullptr;
    return static_cast<const T*>(o.get());
  }

  // Kubernetes' finders, in its order: a ReplicaSet not owned by a Deployment, the
  // Deployment of a ReplicaSet, a ReplicationController, a StatefulSet. Other kinds would
  // go through their /scale; none of ksim's other kinds has one, so they are "not found".
  std::optional<ControllerScale> FindScale(const std::string& ns, const api::OwnerReference& ref) const {
    const std::string group = Group(ref.api_version());
    if (ref.kind() == "ReplicaSet" && group == "apps") {
      const auto* rs = Lookup<api::ReplicaSet>(replica_sets_, ns, ref);
      if (rs == nullptr) return std::nullopt;
      const api::OwnerReference* owner = ControllerRef(rs->metadata());
      if (owner != nullptr && owner->kind() == "Deployment" && Group(owner->api_version()) == "apps") {
        const auto* d = Lookup<api::Deployment>(deployments_, ns, *owner);
        if (d == nullptr) return std::nullopt;
        return ControllerScale{d->metadata().uid(), ReplicasOr1(d->spec().has_replicas(), d->spec().replicas())};
      }
      return ControllerScale{rs->metadata().uid(), ReplicasOr1(rs->spec().has_replicas(), rs->spec().replicas())};
    }
    if (ref.kind() == "ReplicationController" && group.empty()) {
      const auto* rc = Lookup<api::ReplicationController>(rcs_, ns, ref);
      if (rc == nullptr) return std::nullopt;
      return ControllerScale{rc->metadata().uid(), ReplicasOr1(rc->spec().has_replicas(), rc->spec().replicas())};
    }
    if (ref.kind() == "StatefulSet" && group == "apps") {
      const auto* ss = Lookup<api::StatefulSet>(stateful_sets_, ns, ref);
      if (ss == nullptr) return std::nullopt;
      return ControllerScale{ss->metadata().uid(), ReplicasOr1(ss->spec().has_replicas(), ss->spec().replicas())};
    }
    return std::nullopt;
  }

  google::protobuf::Timestamp Now() const {
    google::protobuf::Timestamp t;
    t.set_seconds(ctx_.env.clock->WallNow().count() / 1'000'000'000);
    return t;
  }

  void Sync(const std::string& key, std::function<void(Status)> done) {
    ObjectPtr o = pdbs_->Get(key);
    if (o == nullptr) return done(Status::Ok());
    const auto& pdb = static_cast<const api::PodDisruptionBudget&>(*o);
    DisruptionInputs in;
    in.pdb = &pdb;
    in.now_seconds = Now().seconds();
    in.find_scale = [this](const std::string& ns, const api::OwnerReference& ref) { return FindScale(ns, ref); };
    api::LabelMatcher sel;
    Status sel_status =
        api::LabelMatcherFromProto(pdb.spec().has_selector(), pdb.spec().selector(), "spec.selector", &sel);
    std::vector<ObjectPtr> keep;  // the pods `in` points into
    if (sel_status.ok()) {
      for (const auto& p : pods_->ByIndex(kIndex, pdb.metadata().namespace_())) {
        if (sel.Matches(Labels(Pod(p)))) {
          keep.push_back(p);
          in.pods.push_back(&Pod(p));
        }
      }
      if (in.pods.empty()) recorder_->Event(pdb, "Normal", "NoPods", "No matching pods found");
    }
    DisruptionResult r;
    if (!sel_status.ok()) {
      r.status = sel_status;
    } else {
      r = ComputeDisruption(in);
    }
    if (!r.status.ok()) {
      recorder_->Event(pdb, "Warning", "CalculateExpectedPodCountFailed",
                       "Failed to calculate the number of expected pods: " + r.status.message());
      return FailSafe(pdb, r.status.message(), std::move(done));
    }
    if (!r.unmanaged.empty()) {
      recorder_->Event(pdb, "Warning", "UnmanagedPods",
                       "Pods selected by this PodDisruptionBudget were found to be unmanaged. As a result, the "
                       "status of the PDB cannot be calculated correctly, which may result in undefined behavior. "
                       "To account for these pods please set \".spec.minAvailable\" field of the PDB to an integer "
                       "value.");
    }
    if (r.recheck_seconds != 0) {
      // Look again when the first kept entry expires (+1 s: the entry is kept through its second).
      loop_->AddAfter(key, Seconds(r.recheck_seconds - in.now_seconds + 1));
    }
    const api::PodDisruptionBudgetStatus& cur = pdb.status();
    api::PodDisruptionBudget updated = pdb;
    api::PodDisruptionBudgetStatus* st = updated.mutable_status();
    st->set_expected_pods(r.expected);
    st->set_desired_healthy(r.desired_healthy);
    st->set_current_healthy(r.current_healthy);
    st->set_disruptions_allowed(r.disruptions_allowed);
    st->set_observed_generation(pdb.metadata().generation());
    st->clear_disrupted_pods();
    for (const auto& [name, t] : r.disrupted_pods) (*st->mutable_disrupted_pods())[name] = t;
    SetDisruptionAllowedCondition(st, Now());
    if (SameStatus(cur, *st)) return done(Status::Ok());
    ctx_.client->Update(KindFor("policy", "poddisruptionbudgets"), updated,
                        [alive = alive_, done = std::move(done)](const client::ApiResult& res) {
                          if (!*alive) return;
                          // A conflict (an eviction wrote first) is retried from the cache.
                          done(res.ok() ? Status::Ok() : Status::Unavailable("status: " + res.Describe()));
                        },
                        "status");
  }

  // What the status write would change, ignoring transition times.
  static bool SameStatus(const api::PodDisruptionBudgetStatus& a, const api::PodDisruptionBudgetStatus& b) {
    if (a.expected_pods() != b.expected_pods() || a.desired_healthy() != b.desired_healthy() ||
        a.current_healthy() != b.current_healthy() || a.disruptions_allowed() != b.disruptions_allowed() ||
        a.observed_generation() != b.observed_generation() || a.conditions_size() != b.conditions_size() ||
        a.disrupted_pods_size() != b.disrupted_pods_size()) {
      return false;
    }
    // Compared in key order (a protobuf map's own order is unspecified).
    const std::map<std::string, google::protobuf::Timestamp> am(a.disrupted_pods().begin(), a.disrupted_pods().end());
    const std::map<std::string, google::protobuf::Timestamp> bm(b.disrupted_pods().begin(), b.disrupted_pods().end());
    for (const auto& [name, t] : am) {
      auto it = bm.find(name);
      if (it == bm.end() || it->second.seconds() != t.seconds()) return false;
    }
    for (int i = 0; i < a.conditions_size(); ++i) {
      const api::Condition& x = a.conditions(i);
      const api::Condition& y = b.conditions(i);
      if (x.type() != y.type() || x.status() != y.status() || x.reason() != y.reason() || x.message() != y.message() ||
          x.observed_generation() != y.observed_generation()) {
        return false;
      }
    }
    return true;
  }

  // Kubernetes' failSafe: no disruptions until a sync succeeds.
  void FailSafe(const api::PodDisruptionBudget& pdb, const std::string& why, std::function<void(Status)> done) {
    api::PodDisruptionBudget updated = pdb;
    api::PodDisruptionBudgetStatus* st = updated.mutable_status();
    st->set_disruptions_allowed(0);
    api::Condition* cond = nullptr;
    for (api::Condition& c : *st->mutable_conditions()) {
      if (c.type() == "DisruptionAllowed") cond = &c;
    }
    if (cond == nullptr) {
      cond = st->add_conditions();
      cond->set_type("DisruptionAllowed");
    }
    if (cond->status() != "False") *cond->mutable_last_transition_time() = Now();
    cond->set_status("False");
    cond->set_reason("SyncFailed");
    cond->set_message(why);
    cond->set_observed_generation(st->observed_generation());
    if (SameStatus(pdb.status(), *st)) return done(Status::Unavailable(why));
    ctx_.client->Update(KindFor("policy", "poddisruptionbudgets"), updated,
                        [alive = alive_, why, done = std::move(done)](const client::ApiResult& res) {
                          if (!*alive) return;
                          done(Status::Unavailable(res.ok() ? why : "status: " + res.Describe()));
                        },
                        "status");
  }

  ControllerContext& ctx_;
  client::Informer* pdbs_;
  client::Informer* pods_;
  client::Informer* replica_sets_;
  client::Informer* deployments_;
  client::Informer* stateful_sets_;
  client::Informer* rcs_;
  std::unique_ptr<client::EventRecorder> recorder_;
  std::unique_ptr<ReconcileLoop> loop_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

std::unique_ptr<Controller> NewDisruptionController(ControllerContext& ctx) {
  return std::make_unique<DisruptionController>(ctx);
}

}  // namespace ksim::controllers
