// The catalogue's invariants (`always:`). Where the property is about what really runs,
// the source is the simulated world: the ready pod sandboxes of every worker's runtime
// (hosts that are powered off run nothing). podsBoundOnce reads the API (a binding is an
// API fact); oneActingControllerManager reads the controller-managers' own reports of
// every write they send (ControllerManagerOptions::on_write, through SimCluster).
#include <fmt/format.h>

#include <map>
#include <set>

#include "cluster/api/apps.pb.h"
#include "cluster/api/core.pb.h"
#include "cluster/scheduler/framework/resources.h"
#include "scenarios/checks/check_internal.h"
#include "sim/world.h"

namespace ksim::scenarios::checks {
namespace {

struct RunningSandbox {
  std::string host;
  std::string ns, name, uid;
};

// Ready sandboxes on every worker that is up, in worker order.
std::vector<RunningSandbox> RunningSandboxes(SimCluster& c) {
  std::vector<RunningSandbox> out;
  for (const std::string& w : c.worker_hosts()) {
    sim::Host* h = c.world().FindHost(w);
    if (h == nullptr || !h->is_up()) continue;
    for (const PodSandboxStatus& s : h->runtime().SandboxSnapshot()) {
      if (s.state != SandboxState::kReady) continue;
      out.push_back({w, s.metadata.namespace_, s.metadata.name, s.metadata.uid});
    }
  }
  return out;
}

std::string Join(const std::set<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// No pod, by UID or by namespace/name, has a ready sandbox on two workers.
class NoPodOnTwoNodes final : public Check {
 public:
  void Observe(ClusterView& v, std::vector<std::string>* out) override {
    std::map<std::string, std::set<std::string>> by_uid, by_name;
    for (const RunningSandbox& s : RunningSandboxes(v.cluster())) {
      by_uid[s.uid].insert(s.host);
      by_name[s.ns + "/" + s.name].insert(s.host);
    }
    for (const auto& [uid, hosts] : by_uid) {
      if (hosts.size() > 1) out->push_back(fmt::format("pod uid {} runs on {}", uid, Join(hosts)));
    }
    for (const auto& [name, hosts] : by_name) {
      if (hosts.size() > 1) out->push_back(fmt::format("pod {} runs on {}", name, Join(hosts)));
    }
  }
};

// spec.nodeName, once set for a pod UID, never changes (seen through the pod informer,
// re-lists included).
class PodsBoundOnce final : public Check {
 public:
  explicit PodsBoundOnce(ClusterView& v) {
    client::EventHandlers h;
    h.on_add = [this](const client::ObjectPtr& o) { Seen(o); };
    h.on_update = [this](const client::ObjectPtr&, const client::ObjectPtr& o) { Seen(o); };
    h.on_delete = [this](const client::ObjectPtr& o) {
      if (const auto* p = dynamic_cast<const api::Pod*>(o.get())) log_.Forget(p->metadata().uid());
    };
    v.pods().AddHandlers(std::move(h));
  }
  void Observe(ClusterView&, std::vector<std::string>* out) override {
    out->insert(out->end(), pending_.begin(), pending_.end());
    pending_.clear();
  }

 private:
  void Seen(const client::ObjectPtr& o) {
    const auto* p = dynamic_cast<const api::Pod*>(o.get());
    if (p == nullptr) return;
    std::string wrong = log_.Seen(p->metadata().uid(), p->metadata().namespace_() + "/" + p->metadata().name(),
                                  p->spec().node_name());
    if (!wrong.empty()) pending_.push_back(std::move(wrong));
  }
  BindingLog log_;
  std::vector<std::string> pending_;
};

// Every write a controller-manager sends is sent while it acts (holds the lease) and while
// no other replica acts; SimCluster reports each write into WorldHooks.
class OneActingControllerManager final : public Check {
 public:
  void Observe(ClusterView& v, std::vector<std::string>* out) override {
    auto& w = v.hooks().controller_writes_not_acting;
    out->insert(out->end(), w.begin(), w.end());
    w.clear();
  }
};

// No two distinct pods (UIDs) named <set>-<ordinal> of one StatefulSet run at once.
class StatefulSetIdentityUnique final : public Check {
 public:
  explicit StatefulSetIdentityUnique(const Expectation& e) : ns_(Str(e, "namespace")), name_(Str(e, "name")) {}
  void Observe(ClusterView& v, std::vector<std::string>* out) override {
    std::set<std::string> sets;  // "ns/name" of the StatefulSets in scope
    for (const client::ObjectPtr& o : v.statefulsets().List()) {
      const auto* s = dynamic_cast<const api::StatefulSet*>(o.get());
      if (s == nullptr || (!ns_.empty() && s->metadata().namespace_() != ns_)) continue;
      if (!name_.empty() && s->metadata().name() != name_) continue;
      sets.insert(s->metadata().namespace_() + "/" + s->metadata().name());
    }
    std::map<std::string, std::set<std::string>> uids;  // "ns/pod" -> uids running
    std::map<std::string, std::set<std::string>> where;
    for (const RunningSandbox& s : RunningSandboxes(v.cluster())) {
      const size_t dash = s.name.rfind('-');
      if (dash == std::string::npos || dash + 1 == s.name.size()) continue;
      if (s.name.find_first_not_of("0123456789", dash + 1) != std::string::npos) continue;
      if (sets.count(s.ns + "/" + s.name.substr(0, dash)) == 0) continue;
      uids[s.ns + "/" + s.name].insert(s.uid);
      where[s.ns + "/" + s.name].insert(s.host);
    }
    for (const auto& [pod, set] : uids) {
      if (set.size() > 1) {
        out->push_back(fmt::format("{} pods hold identity {} (on {})", set.size(), pod, Join(where[pod])));
      }
    }
  }

 private:
  std::string ns_, name_;
};

}  // namespace

std::string BindingLog::Seen(const std::string& uid, const std::string& pod, const std::string& node) {
  if (node.empty()) return "";
  auto [it, inserted] = bound_.emplace(uid, node);
  if (inserted || it->second == node) return "";
  std::string wrong = fmt::format("pod {} (uid {}) bound to {}, then to {}", pod, uid, it->second, node);
  it->second = node;
  return wrong;
}

namespace {

}  // namespace

namespace {

// The requests of pods bound to a node and not terminated never exceed the node's
// allocatable (cpu, memory, pod count): the scheduler's NodeResourcesFit promise, judged on
// the API's view. A pod's request: its containers' sum, raised to any init container's.
class NodeCapacityRespected final : public Check {
 public:
  void Observe(ClusterView& v, std::vector<std::string>* out) override {
    std::map<std::string, scheduler::Resources> used;
    std::map<std::string, int64_t> pods;
    for (const client::ObjectPtr& o : v.pods().List()) {
      const auto* p = dynamic_cast<const api::Pod*>(o.get());
      if (p == nullptr || p->spec().node_name().empty()) continue;
      if (p->status().phase() == "Succeeded" || p->status().phase() == "Failed") continue;
      scheduler::Resources sum, init;
      for (const auto& c : p->spec().containers()) {
        scheduler::Resources r;
        if (scheduler::Resources::FromResourceList(c.resources().requests(), "requests", &r).ok()) sum.Add(r);
      }
      for (const auto& c : p->spec().init_containers()) {
        scheduler::Resources r;
        if (scheduler::Resources::FromResourceList(c.resources().requests(), "requests", &r).ok()) sum.SetMax(r);
      }
      used[p->spec().node_name()].Add(sum);
      ++pods[p->spec().node_name()];
    }
    for (const auto& [node, u] : used) {
      const auto* n = dynamic_cast<const api::Node*>(v.nodes().Get(node).get());
      scheduler::Resources alloc;
      if (n == nullptr || !scheduler::Resources::FromResourceList(n->status().allocatable(), "allocatable", &alloc).ok()) {
        continue;
      }
      if (u.milli_cpu > alloc.milli_cpu || u.memory_bytes > alloc.memory_bytes || pods[node] > alloc.pods) {
        out->push_back(fmt::format("node {}: pods request cpu={}m memory={} pods={}, allocatable cpu={}m memory={} pods={}",
                                   node, u.milli_cpu, u.memory_bytes, pods[node], alloc.milli_cpu, alloc.memory_bytes,
                                   alloc.pods));
      }
    }
  }
};

template <typename T>
Status Plain(const Expectation&, ClusterView&, std::unique_ptr<Check>* out) {
  *out = std::make_unique<T>();
  return Status::Ok();
}
Status MakePodsBoundOnce(const Expectation&, ClusterView& v, std::unique_ptr<Check>* out) {
  *out = std::make_unique<PodsBoundOnce>(v);
  return Status::Ok();
}
Status MakeIdentity(const Expectation& e, ClusterView&, std::unique_ptr<Check>* out) {
  *out = std::make_unique<StatefulSetIdentityUnique>(e);
  return Status::Ok();
}

}  // namespace

const std::map<std::string_view, InvariantFactory>& InvariantFactories() {
  static const std::map<std::string_view, InvariantFactory> table = [] {
    std::map<std::string_view, InvariantFactory> t = WorkloadInvariantFactories();
    t.insert({
      {"nodeCapacityRespected", Plain<NodeCapacityRespected>},
      {"noPodOnTwoNodes", Plain<NoPodOnTwoNodes>},
      {"oneActingControllerManager", Plain<OneActingControllerManager>},
      {"podsBoundOnce", MakePodsBoundOnce},
      {"statefulSetIdentityUnique", MakeIdentity},
    });
    t.insert(StoreInvariantFactories().begin(), StoreInvariantFactories().end());  // invariants_store.cc
    return t;
  }();
  return table;
}

Status CheckImplemented(const Expectation& e) {
  const bool known = e.when == Expectation::When::kAlways ? InvariantFactories().count(e.name) > 0
                                                          : ConditionFactories().count(e.name) > 0;
  if (known) return Status::Ok();
  return Status::NotSupported(fmt::format("{}: not implemented yet: {}", Where(e), e.name));
}

Status MakeCheck(const Expectation& e, ClusterView& view, std::unique_ptr<Check>* out) {
  if (e.when == Expectation::When::kAlways) {
    auto it = InvariantFactories().find(e.name);
    if (it != InvariantFactories().end()) return it->second(e, view, out);
  } else {
    auto it = ConditionFactories().find(e.name);
    if (it != ConditionFactories().end()) return it->second(e, out);
  }
  return Status::NotSupported(fmt::format("{}: not implemented yet: {}", Where(e), e.name));
}

}  // namespace ksim::scenarios::checks
