// The namespace controller (Kubernetes' NamespacedResourcesDeleter): a namespace with a
// deletionTimestamp has every namespaced object in it deleted (pods gracefully), its
// deletion conditions kept, and once nothing is left its `kubernetes` spec finalizer
// removed through the finalize subresource, so the apiserver deletes it.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "cluster/api/codec.h"
#include "cluster/api/core.pb.h"
#include "cluster/api/options.pb.h"
#include "cluster/api/resource_verbs.h"
#include "cluster/controllers/garbage_collector.h"

namespace ksim::controllers {
namespace {

using Done = std::function<void(Status)>;

constexpr char kKubernetesFinalizer[] = "kubernetes";
// Namespace events are looked at this long after they happen, so every apiserver's cache
// has seen the namespace Terminating (and refuses new content) before the sweep.
constexpr Nanos kDeletionGracePeriod = Seconds(5);
// How long content held by finalizers is given before the next look.
constexpr int64_t kFinalizerEstimateSeconds = 15;

const api::KindInfo& NamespacesKind() { return *api::Registry::Default().ByGroupResource("", "namespaces"); }

// One sweep of one namespace.
struct Sweep {
  std::string ns;
  api::Namespace latest;
  std::vector<const api::KindInfo*> kinds;
  size_t next = 0;
  std::map<std::string, int> remaining;            // "resource.group" -> objects left
  std::map<std::string, int> finalizers;           // finalizer -> objects holding it
  std::vector<std::string> errors;
  int64_t estimate = 0;                            // seconds until the next look
  Done done;
};
using SweepPtr = std::shared_ptr<Sweep>;

class NamespaceController final : public Controller {
 public:
  explicit NamespaceController(ControllerContext& ctx) : ctx_(ctx), namespaces_(ctx.informers->For(NamespacesKind())) {
    loop_ = std::make_unique<ReconcileLoop>(
        ctx_, "namespace", [this](const std::string& k, Done d) { Sync(k, std::move(d)); },
        std::max(1, ctx_.options.concurrent_namespace_syncs));
    loop_->OnSynced([this] {
      for (const auto& o : namespaces_->List()) Enqueue(*o, Nanos(0));
    });
    namespaces_->AddHandlers({[this](const client::ObjectPtr& o) { Enqueue(*o, kDeletionGracePeriod); },
                              [this](const client::ObjectPtr&, const client::ObjectPtr& o) {
                                Enqueue(*o, kDeletionGracePeriod);
                              },
                              nullptr});
    for (const api::KindInfo& k : api::Registry::Default().All()) {
      // Kinds that cannot be listed and deleted (metrics.k8s.io) hold nothing to delete.
      if (k.namespaced && !k.resource.empty() && k.resource != "bindings" && api::ServesVerbs(k, {"list", "delete"})) {
        kinds_.push_back(&k);
      }
    }
  }
  ~NamespaceController() override { *alive_ = false; }
  void Start() override { loop_->Start(); }
  void Stop() override { loop_->Stop(); }

 private:
  void Enqueue(const google::protobuf::Message& o, Nanos delay) {
    const api::ObjectMeta& m = *api::GetMeta(o);
    if (!m.has_deletion_timestamp()) return;  // only namespaces being deleted
    loop_->AddAfter(m.name(), delay);
  }

  void Sync(const std::string& name, Done done) {
    ctx_.client->Get(NamespacesKind(), "", name, [this, alive = alive_, name, done](const client::ApiResult& r) {
      if (!*alive) return;
      if (r.code == 404) return done(Status::Ok());
      if (!r.ok()) return done(Status::Unavailable(r.Describe()));
      auto sweep = std::make_shared<Sweep>();
      if (!sweep->latest.ParseFromString(r.body)) return done(Status::Unavailable("undecodable namespace"));
      if (!sweep->latest.metadata().has_deletion_timestamp()) return done(Status::Ok());
      const auto& f = sweep->latest.spec().finalizers();
      if (std::find(f.begin(), f.end(), kKubernetesFinalizer) == f.end()) return done(Status::Ok());  // ours is done
      sweep->ns = name;
      sweep->kinds = kinds_;
      sweep->done = done;
      NextKind(sweep);
    });
  }

  // Kind by kind: list, delete each object (uid precondition; pods with their grace
  // period), list again to count what remains and the finalizers holding it.
  void NextKind(const SweepPtr& s) {
    if (s->next == s->kinds.size()) return Conclude(s);
    const api::KindInfo& kind = *s->kinds[s->next++];
    ctx_.client->List(kind, s->ns, {}, [this, alive = alive_, s, &kind](const client::ApiResult& r) {
      if (!*alive) return;
      std::vector<std::unique_ptr<google::protobuf::Message>> items;
      if (!ParseList(kind, r, &items)) {
        s->errors.push_back(fmt::format("list {}: {}", kind.resource, r.Describe()));
        return NextKind(s);
      }
      auto pending = std::make_shared<int>(1);
      auto after = [this, s, &kind, pending] {
        if (--*pending == 0) Recount(s, kind);
      };
      for (const auto& item : items) {
        const api::ObjectMeta& m = *api::GetMeta(*item);
        if (m.has_deletion_timestamp()) continue;  // already going (finalizers or grace)
        ++*pending;
        api::DeleteOptions opts;
        opts.mutable_preconditions()->set_uid(m.uid());
        ctx_.client->Delete(kind, s->ns, m.name(), opts, [alive, s, &kind, after, name = m.name()](const client::ApiResult& d) {
          if (!*alive) return;
          if (!d.ok() && d.code != 404 && d.code != 409) {
            s->errors.push_back(fmt::format("delete {} {}: {}", kind.resource, name, d.Describe()));
          }
          after();
        });
      }
      after();
    });
  }

  void Recount(const SweepPtr& s, const api::KindInfo& kind) {
    ctx_.client->List(kind, s->ns, {}, [this, alive = alive_, s, &kind](const client::ApiResult& r) {
      if (!*alive) return;
      std::vector<std::unique_ptr<google::protobuf::Message>> items;
      if (!ParseList(kind, r, &items)) {
        s->errors.push_back(fmt::format("list {}: {}", kind.resource, r.Describe()));
        return NextKind(s);
      }
      if (!items.empty()) {
        s->remaining[kind.resource + "." + kind.group] = static_cast<int>(items.size());
        s->estimate = std::max(s->estimate, kFinalizerEstimateSeconds);
      }
      for (const auto& item : items) {
        for (const std::string& f : api::GetMeta(*item)->finalizers()) ++s->finalizers[f];
        if (kind.resource != "pods") continue;
        // Kubernetes' estimate for pods: the longest grace period of those still running.
        const auto& pod = static_cast<const api::Pod&>(*item);
        if (pod.status().phase() == "Succeeded" || pod.status().phase() == "Failed") continue;
        const int64_t grace = pod.metadata().has_deletion_grace_period_seconds()
                                  ? pod.metadata().deletion_grace_period_seconds()
                                  : pod.spec().has_termination_grace_period_seconds()
                                        ? pod.spec().termination_grace_period_seconds()
                                        : 30;
        s->estimate = std::max(s->estimate, grace);
      }
      NextKind(s);
    });
  }

  static bool ParseList(const api::KindInfo& kind, const client::ApiResult& r,
                        std::vector<std::unique_ptr<google::protobuf::Message>>* out) {
    apiserver::ObjectList list;
    if (!r.ok() || !list.ParseFromString(r.body)) return false;
    for (const auto& bytes : list.items()) {
      auto m = kind.New();
      if (m->ParseFromString(bytes)) out->push_back(std::move(m));
    }
    return true;
  }

  // Conditions as Kubernetes sets them, then either a later look or the finalize.
  void Conclude(const SweepPtr& s) {
    api::Namespace ns = s->latest;
    auto* st = ns.mutable_status();
    const bool phase_changed = st->phase() != "Terminating";
    st->set_phase("Terminating");
    auto join = [](const std::map<std::string, int>& m, const char* fmt_one) {
      std::vector<std::string> parts;
      for (const auto& [k, n] : m) parts.push_back(fmt::format(fmt::runtime(fmt_one), k, n));
      return fmt::format("{}", fmt::join(parts, ", "));
    };
    bool changed = phase_changed;
    changed |= SetCondition(st, "NamespaceDeletionDiscoveryFailure", false, "ResourcesDiscovered",
                            "All resources successfully discovered", "", "");
    changed |= SetCondition(st, "NamespaceDeletionGroupVersionParsingFailure", false, "ParsedGroupVersions",
                            "All legacy kube types successfully parsed", "", "");
    changed |= SetCondition(st, "NamespaceDeletionContentFailure", !s->errors.empty(), "ContentDeleted",
                            "All content successfully deleted, may be waiting on finalization", "ContentDeletionFailed",
                            fmt::format("Failed to delete all resource types, {} remaining: {}", s->errors.size(),
                                        fmt::join(s->errors, ", ")));
    changed |= SetCondition(st, "NamespaceContentRemaining", !s->remaining.empty(), "ContentRemoved",
                            "All content successfully removed", "SomeResourcesRemain",
                            "Some resources are remaining: " + join(s->remaining, "{} has {} resource instances"));
    changed |= SetCondition(st, "NamespaceFinalizersRemaining", !s->finalizers.empty(), "ContentHasNoFinalizers",
                            "All content-preserving finalizers finished", "SomeFinalizersRemain",
                            "Some content in the namespace has finalizers remaining: " +
                                join(s->finalizers, "{} in {} resource instances"));
    auto next = [this, s]() {
      if (!s->errors.empty()) return s->done(Status::Unavailable(s->errors.front()));
      if (!s->remaining.empty()) {
        loop_->AddAfter(s->ns, Seconds(std::max<int64_t>(1, s->estimate)));
        return s->done(Status::Ok());
      }
      Finalize(s);
    };
    if (!changed) return next();
    ctx_.client->Update(NamespacesKind(), ns, [alive = alive_, s, next](const client::ApiResult& r) {
      if (!*alive) return;
      if (!r.ok() && r.code != 404) return s->done(Status::Unavailable("status: " + r.Describe()));
      next();
    }, "status");
  }

  bool SetCondition(api::NamespaceStatus* st, const std::string& type, bool on, const std::string& ok_reason,
                    const std::string& ok_message, const std::string& bad_reason, const std::string& bad_message) {
    api::NamespaceCondition want;
    want.set_type(type);
    want.set_status(on ? "True" : "False");
    want.set_reason(on ? bad_reason : ok_reason);
    want.set_message(on ? bad_message : ok_message);
    for (auto& c : *st->mutable_conditions()) {
      if (c.type() != type) continue;
      if (c.status() == want.status() && c.reason() == want.reason() && c.message() == want.message()) return false;
      if (c.status() != want.status()) c.mutable_last_transition_time()->set_seconds(ctx_.env.clock->WallNow().count() / 1'000'000'000);
      c.set_status(want.status());
      c.set_reason(want.reason());
      c.set_message(want.message());
      return true;
    }
    want.mutable_last_transition_time()->set_seconds(ctx_.env.clock->WallNow().count() / 1'000'000'000);
    *st->add_conditions() = want;
    return true;
  }

  // Everything is gone: our spec finalizer goes through /finalize (read again: the status
  // write changed the resourceVersion).
  void Finalize(const SweepPtr& s) {
    ctx_.client->Get(NamespacesKind(), "", s->ns, [this, alive = alive_, s](const client::ApiResult& r) {
      if (!*alive) return;
      api::Namespace ns;
      if (r.code == 404) return s->done(Status::Ok());
      if (!r.ok() || !ns.ParseFromString(r.body)) return s->done(Status::Unavailable(r.Describe()));
      if (ns.metadata().uid() != s->latest.metadata().uid()) return s->done(Status::Ok());
      auto* f = ns.mutable_spec()->mutable_finalizers();
      for (int i = f->size() - 1; i >= 0; --i) {
        if (f->Get(i) == kKubernetesFinalizer) f->DeleteSubrange(i, 1);
      }
      ctx_.client->Update(NamespacesKind(), ns, [alive, s](const client::ApiResult& w) {
        if (!*alive) return;
        if (w.ok() || w.code == 404) return s->done(Status::Ok());
        s->done(Status::Unavailable("finalize: " + w.Describe()));
      }, "finalize");
    });
  }

  ControllerContext& ctx_;
  client::Informer* namespaces_;
  std::vector<const api::KindInfo*> kinds_;
  std::unique_ptr<ReconcileLoop> loop_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

std::unique_ptr<Controller> NewNamespaceController(ControllerContext& ctx) {
  return std::make_unique<NamespaceController>(ctx);
}

}  // namespace ksim::controllers
