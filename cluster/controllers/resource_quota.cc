#include "cluster/controllers/resource_quota.h"

#include <fmt/format.h>

#include <set>
#include <utility>
#include <vector>

#include "cluster/api/codec.h"
#include "cluster/api/registry.h"
#include "cluster/apiserver/admission.h"

namespace ksim::controllers {
namespace {

using client::ObjectPtr;
using api::Quantity;
using QuotaPtr = std::shared_ptr<const api::ResourceQuota>;

const api::KindInfo& Core(const char* resource) { return *api::Registry::Default().ByGroupResource("", resource); }
QuotaPtr AsQuota(const ObjectPtr& o) { return std::static_pointer_cast<const api::ResourceQuota>(o); }

// Kinds whose deletes (and, for pods, turning terminal) change usage: their informers
// queue the namespace's quotas. Other count/<resource> kinds are recounted on resync.
constexpr const char* kWatched[] = {"pods", "services", "configmaps", "secrets", "persistentvolumeclaims",
                                    "replicationcontrollers"};

// Protobuf maps iterate in an unspecified order: walk a sorted copy.
std::map<std::string, std::string> Sorted(const google::protobuf::Map<std::string, std::string>& m) {
  return {m.begin(), m.end()};
}

Quantity ParseOrZero(const std::string& text) {
  Quantity q;
  return Quantity::Parse(text, &q).ok() ? q : Quantity::FromValue(0);
}

// One sync's state, shared by the callbacks of its lists.
struct QuotaRun {
  std::string key;
  QuotaPtr quota;
  Nanos started{};  // when the lists were sent (linearizable reads from here on)
  std::function<void(Status)> done;
  std::map<std::string, Quantity> used;  // by hard name
  int pending = 0;
  Status error;
};
using RunPtr = std::shared_ptr<QuotaRun>;

class ResourceQuotaController final : public Controller {
 public:
  explicit ResourceQuotaController(ControllerContext& ctx)
      : ctx_(ctx), quotas_(ctx.informers->For(Core("resourcequotas"))) {
    loop_ = std::make_unique<ReconcileLoop>(
        ctx_, kResourceQuotaControllerName,
        [this](const std::string& key, std::function<void(Status)> done) { Sync(key, std::move(done)); },
        ctx_.options.concurrent_resource_quota_syncs);
    loop_->OnSynced([this] { EnqueueAll(); });
    quotas_->AddIndex(kIndex, [](const google::protobuf::Message& m) {
      return std::vector<std::string>{api::GetMeta(m)->namespace_()};
    });
    quotas_->AddHandlers({[this](const ObjectPtr& o) { OnQuota(nullptr, AsQuota(o)); },
                          [this](const ObjectPtr& a, const ObjectPtr& b) { OnQuota(AsQuota(a), AsQuota(b)); },
                          [this](const ObjectPtr& o) { seen_.erase(client::Informer::KeyOf(*o)); }});
    for (const char* resource : kWatched) {
      const api::KindInfo& kind = Core(resource);
      ctx.informers->For(kind)->AddHandlers(
          {nullptr,
           [this, &kind](const ObjectPtr& a, const ObjectPtr& b) {
             if (CountsAgainstQuota(kind, *a) != CountsAgainstQuota(kind, *b)) EnqueueNamespace(*b);
           },
           [this](const ObjectPtr& o) { EnqueueNamespace(*o); }});
    }
  }
  ~ResourceQuotaController() override {
    *alive_ = false;
    if (resync_timer_ != 0) ctx_.env.clock->Cancel(resync_timer_);
  }

  void Start() override {
    loop_->Start();
    ScheduleResync();
  }
  void Stop() override {
    loop_->Stop();
    if (resync_timer_ != 0) ctx_.env.clock->Cancel(resync_timer_);
    resync_timer_ = 0;
  }

 private:
  static constexpr char kIndex[] = "resourcequota/namespace";

  void EnqueueAll() {
    for (const auto& o : quotas_->List()) loop_->Add(client::Informer::KeyOf(*o));
  }
  void EnqueueNamespace(const google::protobuf::Message& object) {
    for (const auto& q : quotas_->ByIndex(kIndex, api::GetMeta(object)->namespace_())) {
      loop_->Add(client::Informer::KeyOf(*q));
    }
  }
  void ScheduleResync() {
    if (ctx_.options.resource_quota_sync_period <= Nanos(0)) return;
    resync_timer_ = ctx_.env.clock->Schedule(ctx_.options.resource_quota_sync_period, [this, alive = alive_] {
      if (!*alive) return;
      resync_timer_ = 0;
      EnqueueAll();
      ScheduleResync();
    });
  }

  // Records when this replica first saw each quota revision (the settle rule below), and
  // queues quotas whose spec changed or whose status.hard is stale (not every charge).
  void OnQuota(const QuotaPtr& old, const QuotaPtr& cur) {
    const std::string key = client::Informer::KeyOf(*cur);
    Seen(key, cur->metadata().resource_version());
    if (old == nullptr || Sorted(old->spec().hard()) != Sorted(cur->spec().hard()) ||
        Sorted(cur->spec().hard()) != Sorted(cur->status().hard())) {
      loop_->Add(key);
    }
  }
  Nanos Seen(const std::string& key, const std::string& rv) {
    auto [it, inserted] = seen_.try_emplace(key, rv, ctx_.env.clock->MonotonicNow());
    if (!inserted && it->second.first != rv) it->second = {rv, ctx_.env.clock->MonotonicNow()};
    return it->second.second;
  }

  // The quota is read from the store (not the cache) before the objects are listed: a
  // decision to leave status alone is then never made against a stale status.used.
  void Sync(const std::string& key, std::function<void(Status)> done) {
    ObjectPtr cached = quotas_->Get(key);
    if (cached == nullptr) return done(Status::Ok());
    const api::ObjectMeta& meta = *api::GetMeta(*cached);
    ctx_.client->Get(Core("resourcequotas"), meta.namespace_(), meta.name(),
                     [this, alive = alive_, key, done = std::move(done)](const client::ApiResult& r) mutable {
                       if (!*alive) return;
                       if (r.code == 404) return done(Status::Ok());
                       auto q = std::make_shared<api::ResourceQuota>();
                       if (!r.ok() || !q->ParseFromString(r.body)) {
                         return done(Status::Unavailable("get quota: " + r.Describe()));
                       }
                       auto run = std::make_shared<QuotaRun>();
                       run->key = key;
                       run->quota = std::move(q);
                       run->done = std::move(done);
                       Seen(key, run->quota->metadata().resource_version());
                       ListObjects(run);
                     });
  }

  void ListObjects(const RunPtr& run) {
    run->started = ctx_.env.clock->MonotonicNow();
    std::map<std::string, const api::KindInfo*> kinds;  // by "group/resource"
    for (const auto& [name, hard] : Sorted(run->quota->spec().hard())) {
      if (const api::KindInfo* k = QuotaResourceKind(name)) kinds[k->group + "/" + k->resource] = k;
    }
    run->pending = static_cast<int>(kinds.size());
    if (run->pending == 0) return Finish(run);
    const std::string& ns = run->quota->metadata().namespace_();
    for (const auto& [_, kind] : kinds) {
      // A list without resourceVersion reads the store (linearizable), not a cache: the
      // settle rule below relies on seeing every object written before it was sent.
      ctx_.client->List(*kind, ns, {}, [this, alive = alive_, run, kind](const client::ApiResult& r) {
        if (!*alive) return;
        apiserver::ObjectList list;
        if (!r.ok() || !list.ParseFromString(r.body)) {
          if (run->error.ok()) run->error = Status::Unavailable(fmt::format("list {}: {}", kind->resource, r.Describe()));
        } else {
          const auto& hard = run->quota->spec().hard();
          for (const auto& item : list.items()) {
            auto obj = kind->New();
            if (!obj->ParseFromString(item) || !CountsAgainstQuota(*kind, *obj)) continue;
            for (const auto& [name, amount] : apiserver::QuotaUsage(*kind, *obj)) {
              if (hard.count(name) == 0) continue;
              auto it = run->used.emplace(name, Quantity::FromValue(0)).first;
              (void)it->second.Add(amount);
            }
          }
        }
        if (--run->pending == 0) Finish(run);
      });
    }
  }

  // Usage only goes down once the quota's revision has stood, as this replica saw it, for
  // `resource_quota_settle` before the lists were sent: a create charged at that revision
  // has had its object written (or given up) by then, so the lists count it. Charges after
  // that revision make the guarded write fail. Raising usage is always safe.
  void Finish(const RunPtr& run) {
    if (!run->error.ok()) return run->done(run->error);
    const api::ResourceQuota& q = *run->quota;
    const Nanos seen = Seen(run->key, q.metadata().resource_version());
    const bool settled = run->started >= seen + ctx_.options.resource_quota_settle;
    api::ResourceQuota updated = q;
    auto* status = updated.mutable_status();
    status->clear_hard();
    status->clear_used();
    bool lowering_held = false;
    for (const auto& [name, hard] : Sorted(q.spec().hard())) {
      (*status->mutable_hard())[name] = hard;
      auto it = run->used.find(name);
      Quantity used = it == run->used.end() ? Quantity::FromValue(0) : it->second;
      auto old = q.status().used().find(name);
      if (old != q.status().used().end() && ParseOrZero(old->second) > used && !settled) {
        lowering_held = true;
        (*status->mutable_used())[name] = old->second;
        continue;
      }
      (*status->mutable_used())[name] = used.String();
    }
    if (lowering_held) {
      ++held_;
      const Nanos wait = seen + ctx_.options.resource_quota_settle - run->started;
      loop_->AddAfter(run->key, wait + Milliseconds(100));
    }
    if (SameStatus(q.status(), *status)) return run->done(Status::Ok());
    // Guarded by the revision read: a charge or release since then makes it fail (409),
    // and the key is synced again.
    ctx_.client->Update(Core("resourcequotas"), updated, [alive = alive_, run, this](const client::ApiResult& r) {
      if (!*alive) return;
      if (!r.ok()) return run->done(Status::Unavailable("status: " + r.Describe()));
      ++writes_;
      run->done(Status::Ok());
    }, "status");
  }

  static bool SameStatus(const api::ResourceQuotaStatus& a, const api::ResourceQuotaStatus& b) {
    const auto same = [](const google::protobuf::Map<std::string, std::string>& x,
                         const google::protobuf::Map<std::string, std::string>& y, bool quantities) {
      if (x.size() != y.size()) return false;
      for (const auto& [k, v] : Sorted(x)) {
        auto it = y.find(k);
        if (it == y.end()) return false;
        if (quantities ? ParseOrZero(v) != ParseOrZero(it->second) : v != it->second) return false;
      }
      return true;
    };
    return same(a.hard(), b.hard(), false) && same(a.used(), b.used(), true);
  }

  ControllerContext& ctx_;
  client::Informer* quotas_;
  std::unique_ptr<ReconcileLoop> loop_;
  std::map<std::string, std::pair<std::string, Nanos>> seen_;  // key -> (resourceVersion, first seen)
  TimerId resync_timer_ = 0;
  uint64_t writes_ = 0;
  uint64_t held_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

const api::KindInfo* QuotaResourceKind(const std::string& name) {
  static const std::set<std::string> kPodResources = {"pods",   "requests.cpu",    "cpu",        "requests.memory",
                                                      "memory", "limits.cpu",      "limits.memory"};
  static const std::set<std::string> kCounts = {"services", "configmaps", "secrets", "persistentvolumeclaims",
                                                "replicationcontrollers", "resourcequotas"};
  const api::Registry& reg = api::Registry::Default();
  if (kPodResources.contains(name)) return reg.ByGroupResource("", "pods");
  if (kCounts.contains(name)) return reg.ByGroupResource("", name);
  if (name.rfind("count/", 0) != 0) return nullptr;
  const std::string rest = name.substr(6);
  const size_t dot = rest.find('.');
  const std::string resource = rest.substr(0, dot);
  const std::string group = dot == std::string::npos ? "" : rest.substr(dot + 1);
  return reg.ByGroupResource(group, resource);
}

bool CountsAgainstQuota(const api::KindInfo& kind, const google::protobuf::Message& object) {
  if (kind.group.empty() && kind.resource == "pods") {
    const auto& pod = static_cast<const api::Pod&>(object);
    return pod.status().phase() != "Succeeded" && pod.status().phase() != "Failed";
  }
  return true;
}

std::unique_ptr<Controller> NewResourceQuotaController(ControllerContext& ctx) {
  return std::make_unique<ResourceQuotaController>(ctx);
}

}  // namespace ksim::controllers
