// Workload invariants (`always:`): rollingUpdateBounds reads the API through the checkers'
// informers; noEvictionBeforeToleration reads the controller-managers' writes as they are
// sent (WorldHooks::controller_write_listeners) beside the pod informer. Allowances for
// lag are documented in docs/SCENARIOS.md ("The runner").
#include <fmt/format.h>

#include <map>
#include <optional>
#include <set>

#include "cluster/api/apps.pb.h"
#include "cluster/api/core.pb.h"
#include "cluster/api/discovery.pb.h"
#include "cluster/api/options.pb.h"
#include "cluster/api/codec.h"
#include "cluster/api/registry.h"
#include "cluster/api/label_selector.h"
#include "cluster/apiserver/apiserver.pb.h"
#include "cluster/controllers/deployment.h"
#include "cluster/controllers/gc_rules.h"
#include "cluster/controllers/node_health.h"
#include "cluster/controllers/replica_set.h"
#include "cluster/controllers/rollout_bounds.h"
#include "scenarios/checks/check_internal.h"
#include "sim/world.h"

namespace ksim::scenarios::checks {
namespace {

constexpr size_t kMaxPending = 100;  // violations waiting for the next observation

std::map<std::string, std::string> Labels(const api::ObjectMeta& m) { return {m.labels().begin(), m.labels().end()}; }

// rollingUpdateBounds: while a RollingUpdate Deployment's pods span more than one
// pod-template-hash (a rollout), active pods <= replicas + maxSurge always; available pods
// >= replicas - maxUnavailable while nothing else fails: every worker up and every Node
// Ready, no pod of the Deployment went from Ready to not Ready (a crash, a probe, a lost
// node) and spec.replicas unchanged, each for the last kQuiet. Counted on the pod
// informer's cache, which is one store revision (a consistent prefix), so lag shows an
// older true state, never a mix.
class RollingUpdateBounds final : public Check {
 public:
  static constexpr Nanos kQuiet = Seconds(60);
  RollingUpdateBounds(const Expectation& e, ClusterView& v) : ns_(Str(e, "namespace")), name_(Str(e, "deployment")) {
    if (ns_.empty()) ns_ = "default";
    client::EventHandlers h;
    h.on_update = [this, &v](const client::ObjectPtr& before, const client::ObjectPtr& after) {
      const auto* a = dynamic_cast<const api::Pod*>(before.get());
      const auto* b = dynamic_cast<const api::Pod*>(after.get());
      if (a != nullptr && b != nullptr && controllers::PodReady(*a) && !controllers::PodReady(*b)) {
        last_failure_ = v.cluster().now();
      }
      if (a != nullptr && b != nullptr && !a->metadata().has_deletion_timestamp() && b->metadata().has_deletion_timestamp()) {
        DeletedBy(v, *b);
      }
    };
    h.on_delete = [this, &v](const client::ObjectPtr& o) {
      const auto* p = dynamic_cast<const api::Pod*>(o.get());
      if (p != nullptr && !p->metadata().has_deletion_timestamp()) DeletedBy(v, *p);
    };
    v.pods().AddHandlers(std::move(h));
    // Pod deletes the controller-managers send (the ReplicaSets' scale-downs): any other
    // delete (by hand, a drain's eviction, the kubelet) is something else failing.
    v.hooks().controller_write_listeners.push_back([this](const std::string&, const apiserver::Request& r) {
      if (r.resource() == "pods" && r.verb() == "delete" && controller_deletes_.size() < kMaxControllerDeletes) {
        controller_deletes_.insert(r.namespace_() + "/" + r.name());
      }
    });
  }

  void Observe(ClusterView& v, std::vector<std::string>* out) override {
    const Nanos now = v.cluster().now();
    const auto* d = dynamic_cast<const api::Deployment*>(v.deployments().Get(ns_ + "/" + name_).get());
    if (d == nullptr || d->spec().strategy().type() == "Recreate") return;
    const int replicas = d->spec().replicas();
    if (replicas != last_replicas_) {
      if (last_replicas_ >= 0) replicas_changed_ = now;  // a scale, not the first sight
      last_replicas_ = replicas;
    }
    if (!NothingFails(v)) last_failure_ = now;
    api::LabelMatcher selector;
    if (!api::LabelMatcherFromProto(d->spec().has_selector(), d->spec().selector(), "spec.selector", &selector).ok()) return;
    int active = 0, available = 0;
    std::set<std::string> hashes;
    for (const client::ObjectPtr& o : v.pods().List()) {
      const auto* p = dynamic_cast<const api::Pod*>(o.get());
      if (p == nullptr || p->metadata().namespace_() != ns_ || !selector.Matches(Labels(p->metadata()))) continue;
      if (p->status().phase() == "Succeeded" || p->status().phase() == "Failed") continue;
      if (p->metadata().has_deletion_timestamp()) continue;
      ++active;
      available += controllers::PodReady(*p) ? 1 : 0;
      auto h = p->metadata().labels().find("pod-template-hash");
      hashes.insert(h == p->metadata().labels().end() ? "" : h->second);
    }
    if (hashes.size() < 2 || now - replicas_changed_ < kQuiet) return;  // no rollout, or a scale settling
    const int surge = controllers::MaxSurge(*d);
    // The lower bound only while nothing else fails: an unavailable ceiling no pod can break.
    const bool judge_lower = last_failure_ == Nanos::min() || now - last_failure_ >= kQuiet;
    const std::string wrong =
        controllers::RolloutBoundsViolation(active, judge_lower ? available : replicas, replicas, surge,
                                            controllers::MaxUnavailable(*d));
    if (!wrong.empty()) out->push_back(fmt::format("deployment {}/{}: {}", ns_, name_, wrong));
  }

 private:
  void DeletedBy(ClusterView& v, const api::Pod& p) {
    const std::string key = p.metadata().namespace_() + "/" + p.metadata().name();
    if (controller_deletes_.erase(key) == 0 && p.metadata().namespace_() == ns_) last_failure_ = v.cluster().now();
  }
  static bool NothingFails(ClusterView& v) {
    for (const std::string& w : v.cluster().worker_hosts()) {
      sim::Host* h = v.cluster().world().FindHost(w);
      if (h == nullptr || !h->is_up()) return false;
      const auto* n = dynamic_cast<const api::Node*>(v.nodes().Get(w).get());
      if (n == nullptr) return false;
      bool ready = false;
      for (const auto& c : n->status().conditions()) ready = ready || (c.type() == "Ready" && c.status() == "True");
      if (!ready) return false;
    }
    return true;
  }

  std::string ns_, name_;
  int last_replicas_ = -1;
  Nanos replicas_changed_ = Nanos::min() / 2;
  Nanos last_failure_ = Nanos::min();
  static constexpr size_t kMaxControllerDeletes = 10000;
  std::set<std::string> controller_deletes_;  // ns/name, until the informer shows the delete
};

// The seconds `pod` tolerates a NoExecute taint `key` (nullopt: forever; 0: not at all),
// as the node lifecycle controller reads tolerations (effect "" or NoExecute; Exists with
// an empty key tolerates every taint).
std::optional<int64_t> ToleratedSeconds(const api::Pod& pod, const std::string& key) {
  std::optional<int64_t> best = 0;
  bool found = false;
  for (const api::Toleration& t : pod.spec().tolerations()) {
    if (!t.effect().empty() && t.effect() != "NoExecute") continue;
    const bool matches = t.operator_() == "Exists" ? (t.key().empty() || t.key() == key) : t.key() == key;
    if (!matches) continue;
    if (!t.has_toleration_seconds()) return std::nullopt;
    best = found ? std::max(*best, t.toleration_seconds()) : t.toleration_seconds();
    found = true;
  }
  return std::max<int64_t>(*best, 0);
}

// noEvictionBeforeToleration: a pod delete a controller-manager sends for a pod bound to a
// node under node.kubernetes.io/not-ready or unreachable (NoExecute) comes no earlier than
// the taint's start plus the pod's tolerationSeconds (the least over those taints). The
// taint's start is when a controller-manager first SENT a Node update carrying it (the
// controller can only have seen it later, so this errs towards passing); a Node update
// without it ends it. Force deletes (gracePeriodSeconds 0: pod GC) and deletes with a
// propagationPolicy (the garbage collector) are not evictions. Allowance: kSlack for the
// controllers' timers on drifting host clocks.
class NoEvictionBeforeToleration final : public Check {
 public:
  static constexpr Nanos kSlack = Seconds(1);
  explicit NoEvictionBeforeToleration(ClusterView& v) {
    v.hooks().controller_write_listeners.push_back(
        [this, &v](const std::string& host, const apiserver::Request& r) { OnWrite(v, host, r); });
  }
  void Observe(ClusterView&, std::vector<std::string>* out) override {
    out->insert(out->end(), pending_.begin(), pending_.end());
    pending_.clear();
  }

 private:
  void OnWrite(ClusterView& v, const std::string& host, const apiserver::Request& r) {
    const Nanos now = v.cluster().now();
    if (r.resource() == "nodes" && r.subresource().empty() && r.verb() == "update" && r.content_type().empty()) {
      api::Node n;
      if (!n.ParseFromString(r.body())) return;
      for (const char* key : {controllers::kTaintNotReady, controllers::kTaintUnreachable}) {
        bool has = false;
        for (const api::Taint& t : n.spec().taints()) has = has || (t.key() == key && t.effect() == "NoExecute");
        auto& starts = tainted_[n.metadata().name()];
        if (!has) {
          starts.erase(key);
        } else {
          starts.emplace(key, now);
        }
        if (starts.empty()) tainted_.erase(n.metadata().name());
      }
      return;
    }
    if (r.resource() != "pods" || r.verb() != "delete" || !r.subresource().empty()) return;
    api::DeleteOptions opts;
    if (!r.body().empty() && r.content_type().empty() && opts.ParseFromString(r.body())) {
      if ((opts.has_grace_period_seconds() && opts.grace_period_seconds() == 0) || !opts.propagation_policy().empty()) {
        return;
      }
    }
    const auto* p = dynamic_cast<const api::Pod*>(v.pods().Get(r.namespace_() + "/" + r.name()).get());
    if (p == nullptr) return;  // not in the cache yet: nothing known to judge by
    if (opts.has_preconditions() && !opts.preconditions().uid().empty() && opts.preconditions().uid() != p->metadata().uid()) {
      return;
    }
    auto node = tainted_.find(p->spec().node_name());
    if (node == tainted_.end()) return;
    std::optional<Nanos> due;
    std::string why;
    for (const auto& [key, start] : node->second) {
      const std::optional<int64_t> s = ToleratedSeconds(*p, key);
      const Nanos at = s ? start + Seconds(*s) : Nanos::max();
      if (!due || at < *due) {
        due = at;
        why = s ? fmt::format("{} since {}s, tolerated {}s", key, start.count() / 1000000000, *s)
                : fmt::format("{} tolerated forever", key);
      }
    }
    if (due && now + kSlack < *due && pending_.size() < kMaxPending) {
      pending_.push_back(fmt::format("{} deleted pod {}/{} on {} at {}s: {}", host, r.namespace_(), r.name(),
                                     p->spec().node_name(), now.count() / 1000000000, why));
    }
  }

  std::map<std::string, std::map<std::string, Nanos>> tainted_;  // node -> taint key -> start
  std::vector<std::string> pending_;
};

// Per pod UID (the pod informer's events): since when it is not Ready and since when its
// labels are what they are; forgotten when the pod is deleted, so bounded by live pods.
class PodHistory {
 public:
  explicit PodHistory(ClusterView& v) {
    client::EventHandlers h;
    h.on_add = [this, &v](const client::ObjectPtr& o) { Seen(v.cluster().now(), nullptr, o.get()); };
    h.on_update = [this, &v](const client::ObjectPtr& a, const client::ObjectPtr& b) {
      Seen(v.cluster().now(), a.get(), b.get());
    };
    h.on_delete = [this](const client::ObjectPtr& o) {
      if (const auto* p = dynamic_cast<const api::Pod*>(o.get())) pods_.erase(p->metadata().uid());
    };
    v.pods().AddHandlers(std::move(h));
  }
  struct Times {
    Nanos unready_since = Nanos::max();  // max: Ready
    Nanos labels_since{0};
  };
  const Times* Find(const std::string& uid) const {
    auto it = pods_.find(uid);
    return it == pods_.end() ? nullptr : &it->second;
  }

 private:
  void Seen(Nanos now, const google::protobuf::Message* before, const google::protobuf::Message* after) {
    const auto* b = dynamic_cast<const api::Pod*>(after);
    if (b == nullptr) return;
    const auto* a = dynamic_cast<const api::Pod*>(before);
    auto [it, fresh] = pods_.try_emplace(b->metadata().uid());
    Times& t = it->second;
    if (fresh || a == nullptr) t.labels_since = now;
    if (a != nullptr && Labels(a->metadata()) != Labels(b->metadata())) t.labels_since = now;
    if (controllers::PodReady(*b)) {
      t.unready_since = Nanos::max();
    } else if (t.unready_since == Nanos::max()) {
      t.unready_since = now;
    }
  }
  std::map<std::string, Times> pods_;
};

// endpointsOnlyReadyPods: every EndpointSlice a controller-manager writes (create or
// update) marks ready only pods that are Ready and match the Service's selector, judged
// when the write is sent against the pod informer, with kAllowance for the controller's own
// cache (a pod that stopped being Ready, or was relabelled, less than kAllowance ago may
// still be listed). Services with publishNotReadyAddresses and endpoints without a Pod
// targetRef (or naming a pod not in the cache) are not judged; a slice nobody rewrites (a
// controller cut off) is not judged either: the check is about what the controller writes.
class EndpointsOnlyReadyPods final : public Check {
 public:
  static constexpr Nanos kAllowance = Seconds(30);
  EndpointsOnlyReadyPods(const Expectation& e, ClusterView& v)
      : ns_(Str(e, "namespace")), service_(Str(e, "service")), history_(v) {
    v.hooks().controller_write_listeners.push_back(
        [this, &v](const std::string& host, const apiserver::Request& r) { OnWrite(v, host, r); });
  }
  void Observe(ClusterView&, std::vector<std::string>* out) override {
    out->insert(out->end(), pending_.begin(), pending_.end());
    pending_.clear();
  }

 private:
  void OnWrite(ClusterView& v, const std::string& host, const apiserver::Request& r) {
    if (r.resource() != "endpointslices" || (r.verb() != "create" && r.verb() != "update") || !r.content_type().empty()) {
      return;
    }
    api::EndpointSlice slice;
    if (!slice.ParseFromString(r.body())) return;
    const std::string ns = slice.metadata().namespace_().empty() ? r.namespace_() : slice.metadata().namespace_();
    auto label = slice.metadata().labels().find("kubernetes.io/service-name");
    if (label == slice.metadata().labels().end()) return;
    if ((!ns_.empty() && ns != ns_) || (!service_.empty() && label->second != service_)) return;
    const auto* svc = dynamic_cast<const api::Service*>(v.services().Get(ns + "/" + label->second).get());
    if (svc == nullptr || svc->spec().publish_not_ready_addresses()) return;
    const std::map<std::string, std::string> selector(svc->spec().selector().begin(), svc->spec().selector().end());
    const Nanos now = v.cluster().now();
    for (const api::Endpoint& ep : slice.endpoints()) {
      if (!ep.conditions().has_ready() || !ep.conditions().ready() || ep.target_ref().kind() != "Pod") continue;
      const auto* p = dynamic_cast<const api::Pod*>(v.pods().Get(ns + "/" + ep.target_ref().name()).get());
      if (p == nullptr || (!ep.target_ref().uid().empty() && ep.target_ref().uid() != p->metadata().uid())) continue;
      const PodHistory::Times* t = history_.Find(p->metadata().uid());
      if (t == nullptr) continue;
      std::string wrong;
      if (!controllers::PodReady(*p) && t->unready_since != Nanos::max() && now - t->unready_since >= kAllowance) {
        wrong = fmt::format("not Ready since {}s", t->unready_since.count() / 1000000000);
      } else if (!selector.empty() && now - t->labels_since >= kAllowance) {
        api::LabelMatcher m;
        api::LabelSelector ls;
        ls.mutable_match_labels()->insert(selector.begin(), selector.end());
        if (api::LabelMatcherFromProto(true, ls, "spec.selector", &m).ok() && !m.Matches(Labels(p->metadata()))) {
          wrong = "does not match the Service's selector";
        }
      }
      if (!wrong.empty() && pending_.size() < kMaxPending) {
        pending_.push_back(fmt::format("{} wrote {} endpointslice {}/{} with pod {} ready at {}s: it {}", host, r.verb(), ns,
                                       slice.metadata().name().empty() ? slice.metadata().generate_name()
                                                                       : slice.metadata().name(),
                                       ep.target_ref().name(), now.count() / 1000000000, wrong));
      }
    }
  }

  std::string ns_, service_;
  PodHistory history_;
  std::vector<std::string> pending_;
};

// garbageCollectorKeepsLiveOwners: a delete the garbage collector sends (a controller-
// manager DELETE with a propagationPolicy; Jobs excluded, as the CronJob and TTL controllers
// delete those the same way) of a pod or ReplicaSet whose ownerReferences name an owner
// that exists and is not being deleted (controllers::LiveOwnerOf). Owners are looked up by
// UID among the Deployments, ReplicaSets, StatefulSets, DaemonSets and Jobs the informers
// hold. Informers lag, so an owner seen alive when the delete is sent is only reported if
// it is still there, not being deleted, kConfirmAfter later.
class GarbageCollectorKeepsLiveOwners final : public Check {
 public:
  static constexpr Nanos kConfirmAfter = Seconds(30);
  explicit GarbageCollectorKeepsLiveOwners(ClusterView& v) {
    const api::KindInfo* rs = api::Registry::Default().ByGroupResource("apps", "replicasets");
    replicasets_ = std::make_unique<client::Informer>(v.cluster().client_env(), &v.cluster().admin(), *rs);
    replicasets_->Start();
    v.hooks().controller_write_listeners.push_back(
        [this, &v](const std::string& host, const apiserver::Request& r) { OnWrite(v, host, r); });
  }
  void Observe(ClusterView& v, std::vector<std::string>* out) override {
    const Nanos now = v.cluster().now();
    while (!suspects_.empty() && suspects_.front().confirm_at <= now) {
      const Suspect s = suspects_.front();
      suspects_.erase(suspects_.begin());
      if (Live(v, s.owner_uid)) out->push_back(s.message);
    }
  }

 private:
  struct Suspect {
    Nanos confirm_at{0};
    std::string owner_uid, message;
  };
  // Every informer's objects in a fixed order; `uid` exists and is not being deleted.
  bool Live(ClusterView& v, const std::string& uid) {
    client::Informer* all[] = {&v.deployments(), replicasets_.get(), &v.statefulsets(), &v.daemonsets(), &v.jobs()};
    for (client::Informer* i : all) {
      for (const client::ObjectPtr& o : i->List()) {
        const api::ObjectMeta* m = api::GetMeta(*o);
        if (m != nullptr && m->uid() == uid) return !m->has_deletion_timestamp();
      }
    }
    return false;
  }
  void OnWrite(ClusterView& v, const std::string& host, const apiserver::Request& r) {
    if (r.verb() != "delete" || !r.content_type().empty() || (r.resource() != "pods" && r.resource() != "replicasets")) {
      return;
    }
    api::DeleteOptions opts;
    if (!opts.ParseFromString(r.body()) || opts.propagation_policy().empty()) return;
    client::Informer& cache = r.resource() == "pods" ? v.pods() : *replicasets_;
    const client::ObjectPtr o = cache.Get(r.namespace_() + "/" + r.name());
    const api::ObjectMeta* m = o == nullptr ? nullptr : api::GetMeta(*o);
    if (m == nullptr || (opts.has_preconditions() && !opts.preconditions().uid().empty() &&
                         opts.preconditions().uid() != m->uid())) {
      return;
    }
    std::string live_uid;
    const std::string owner = controllers::LiveOwnerOf(*m, [&](const std::string& uid) {
      if (!Live(v, uid)) return false;
      live_uid = uid;
      return true;
    });
    if (owner.empty() || suspects_.size() >= kMaxPending) return;
    suspects_.push_back({v.cluster().now() + kConfirmAfter, live_uid,
                         fmt::format("{} deleted {} {}/{} ({}) at {}s while its owner {} (uid {}) exists", host,
                                     r.resource(), r.namespace_(), r.name(), opts.propagation_policy(),
                                     v.cluster().now().count() / 1000000000, owner, live_uid)});
  }

  std::unique_ptr<client::Informer> replicasets_;
  std::vector<Suspect> suspects_;  // in confirm_at order (sent in time order, one delay)
};

Status MakeRollingUpdateBounds(const Expectation& e, ClusterView& v, std::unique_ptr<Check>* out) {
  *out = std::make_unique<RollingUpdateBounds>(e, v);
  return Status::Ok();
}
Status MakeEndpoints(const Expectation& e, ClusterView& v, std::unique_ptr<Check>* out) {
  *out = std::make_unique<EndpointsOnlyReadyPods>(e, v);
  return Status::Ok();
}
Status MakeGcKeepsLiveOwners(const Expectation&, ClusterView& v, std::unique_ptr<Check>* out) {
  *out = std::make_unique<GarbageCollectorKeepsLiveOwners>(v);
  return Status::Ok();
}
Status MakeNoEviction(const Expectation&, ClusterView& v, std::unique_ptr<Check>* out) {
  *out = std::make_unique<NoEvictionBeforeToleration>(v);
  return Status::Ok();
}

}  // namespace

std::map<std::string_view, InvariantFactory> WorkloadInvariantFactories() {
  return {
      {"endpointsOnlyReadyPods", MakeEndpoints},
      {"garbageCollectorKeepsLiveOwners", MakeGcKeepsLiveOwners},
      {"noEvictionBeforeToleration", MakeNoEviction},
      {"rollingUpdateBounds", MakeRollingUpdateBounds},
  };
}

}  // namespace ksim::scenarios::checks
