// Invariants about the control plane's own machinery: the store's Raft members
// (oneLeaderPerTerm, from the world), the schedulers' bindings (oneActingScheduler, from
// SchedulerOptions::on_bind through SimCluster), and ResourceQuota admission
// (quotaRespected, from the API through informers). storeLinearizable is in
// invariants_lincheck.cc.
#include <fmt/format.h>

#include <map>
#include <set>

#include "cluster/api/core.pb.h"
#include "cluster/apiserver/admission.h"
#include "cluster/scheduler/scheduler.h"
#include "cluster/store/server/store_server.h"
#include "faults/election_safety.h"
#include "scenarios/checks/check_internal.h"
#include "sim/world.h"

namespace ksim::scenarios::checks {
namespace {

// Raft §5.2 Election Safety: every member's role and term, sampled at each observation
// (each world step the runner checks), fed to the checker the store sweep uses. A stopped
// or powered-off member has no Raft state and leads nothing.
class OneLeaderPerTerm final : public Check {
 public:
  void Observe(ClusterView& v, std::vector<std::string>* out) override {
    for (const std::string& cp : v.cluster().control_plane_hosts()) {
      sim::Host* h = v.cluster().world().FindHost(cp);
      if (h == nullptr || !h->is_up()) continue;
      const auto* s = h->Find<storeserver::StoreServer>("store");
      if (s == nullptr || s->raft() == nullptr || s->raft()->role() != raft::Role::kLeader) continue;
      std::string unsafe = safety_.Leader(s->raft()->term(), cp);
      if (!unsafe.empty()) out->push_back(std::move(unsafe));
    }
  }

 private:
  faults::ElectionSafety safety_;
};

class OneActingScheduler final : public Check {
 public:
  void Observe(ClusterView& v, std::vector<std::string>* out) override {
    auto& w = v.hooks().scheduler_binds_not_acting;
    out->insert(out->end(), w.begin(), w.end());
    w.clear();
  }
};

// Pods that are not terminal (Succeeded/Failed), charged with the apiserver's own
// QuotaUsage, never exceed a ResourceQuota's spec.hard in the namespace. Judged on the pod
// informer's cache, which applies the watch stream in order (and replaces itself whole on a
// re-list): it is the namespace at one store revision, so informer lag shows an older
// state, never a mix that admission did not allow. A hard limit lowered below usage leaves
// existing pods (Kubernetes does not evict), so each resource is judged against the largest
// hard value seen. Only pod charges are counted (count/pods, pods, requests.*, limits.*,
// cpu, memory); other kinds a quota limits are not judged.
class QuotaRespected final : public Check {
 public:
  QuotaRespected(const Expectation& e, ClusterView& v) : ns_(Str(e, "namespace")) {
    const api::KindInfo* info = api::Registry::Default().ByGroupResource("", "resourcequotas");
    client::InformerOptions o;
    o.namespace_ = ns_;
    quotas_ = std::make_unique<client::Informer>(v.cluster().client_env(), &v.cluster().admin(), *info, o);
    quotas_->Start();
  }
  void Observe(ClusterView& v, std::vector<std::string>* out) override {
    if (!quotas_->HasSynced() || !v.pods().HasSynced()) return;
    for (const client::ObjectPtr& o : quotas_->List()) {
      const auto* q = dynamic_cast<const api::ResourceQuota*>(o.get());
      if (q == nullptr) continue;
      auto& hard = hard_[q->metadata().name()];
      const std::map<std::string, std::string> spec_hard(q->spec().hard().begin(), q->spec().hard().end());
      for (const auto& [name, text] : spec_hard) {
        api::Quantity h;
        if (!api::Quantity::Parse(text, &h).ok()) continue;
        auto [it, fresh] = hard.emplace(name, h);
        if (!fresh && it->second < h) it->second = h;
      }
    }
    if (hard_.empty()) return;
    const api::KindInfo& pods = *api::Registry::Default().ByGroupResource("", "pods");
    std::map<std::string, api::Quantity> used;
    for (const client::ObjectPtr& o : v.pods().List()) {
      const auto* p = dynamic_cast<const api::Pod*>(o.get());
      if (p == nullptr || p->metadata().namespace_() != ns_) continue;
      if (p->status().phase() == "Succeeded" || p->status().phase() == "Failed") continue;
      for (const auto& [name, q] : apiserver::QuotaUsage(pods, *p)) (void)used[name].Add(q);
    }
    for (const auto& [quota, hard] : hard_) {
      for (const auto& [name, h] : hard) {
        auto u = used.find(name);
        if (u == used.end() || u->second <= h) continue;
        out->push_back(fmt::format("namespace {}: pods charge {}={}, over ResourceQuota {} hard {}", ns_, name,
                                   u->second.String(), quota, h.String()));
      }
    }
  }

 private:
  std::string ns_;
  std::unique_ptr<client::Informer> quotas_;
  std::map<std::string, std::map<std::string, api::Quantity>> hard_;  // quota -> resource -> largest hard
};

template <typename T>
Status Plain(const Expectation&, ClusterView&, std::unique_ptr<Check>* out) {
  *out = std::make_unique<T>();
  return Status::Ok();
}
Status MakeQuotaRespected(const Expectation& e, ClusterView& v, std::unique_ptr<Check>* out) {
  *out = std::make_unique<QuotaRespected>(e, v);
  return Status::Ok();
}

}  // namespace

void OnSchedulerBind(SimCluster* cluster, WorldHooks* hooks, const std::string& host, const std::string& identity,
                     bool acting, const apiserver::Request& r) {
  const std::string what = fmt::format("bind pod {}/{}", r.namespace_(), r.name());
  if (!acting) {
    hooks->scheduler_binds_not_acting.push_back(fmt::format("{} ({}) bound while not acting: {}", identity, host, what));
    return;
  }
  if (cluster == nullptr) return;
  for (const std::string& cp : cluster->control_plane_hosts()) {
    if (cp == host) continue;
    sim::Host* h = cluster->world().FindHost(cp);
    auto* s = h != nullptr ? h->Find<scheduler::Scheduler>("scheduler") : nullptr;
    if (s != nullptr && s->IsLeader()) {
      hooks->scheduler_binds_not_acting.push_back(
          fmt::format("{} ({}) bound while {}_scheduler ({}) acts: {}", identity, host, cp, cp, what));
    }
  }
}

const std::map<std::string_view, InvariantFactory>& StoreInvariantFactories() {
  static const std::map<std::string_view, InvariantFactory> table = [] {
    std::map<std::string_view, InvariantFactory> t = {
        {"oneActingScheduler", Plain<OneActingScheduler>},
        {"oneLeaderPerTerm", Plain<OneLeaderPerTerm>},
        {"quotaRespected", MakeQuotaRespected},
    };
    t.insert(LincheckInvariantFactories().begin(), LincheckInvariantFactories().end());  // invariants_lincheck.cc
    return t;
  }();
  return table;
}

}  // namespace ksim::scenarios::checks
