// The pod garbage collector (Kubernetes' podgc controller), one pass every 20 s while
// acting: terminated pods beyond --terminated-pod-gc-threshold (evicted first, then oldest
// by creation); pods bound to nodes that no longer exist (after a 40 s quarantine and a
// live GET of the node); terminating pods on not-ready nodes with the out-of-service
// taint; terminating pods never scheduled. Pods not yet terminal are marked Failed first
// (orphans with the DisruptionTarget condition), then deleted with grace 0.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "cluster/api/codec.h"
#include "cluster/api/core.pb.h"
#include "cluster/api/options.pb.h"
#include "cluster/controllers/garbage_collector.h"

namespace ksim::controllers {
namespace {

using Done = std::function<void(Status)>;
using PodPtr = std::shared_ptr<const api::Pod>;

constexpr char kTick[] = "podgc";
constexpr Nanos kCheckPeriod = Seconds(20);
constexpr Nanos kQuarantine = Seconds(40);
constexpr char kOutOfServiceTaint[] = "node.kubernetes.io/out-of-service";

const api::KindInfo& PodsKind() { return *api::Registry::Default().ByGroupResource("", "pods"); }
const api::KindInfo& NodesKind() { return *api::Registry::Default().ByGroupResource("", "nodes"); }

bool Terminated(const api::Pod& p) { return p.status().phase() == "Succeeded" || p.status().phase() == "Failed"; }

bool NodeReady(const api::Node& n) {
  for (const auto& c : n.status().conditions()) {
    if (c.type() == "Ready") return c.status() == "True";
  }
  return false;
}

// Kubernetes' byEvictionAndCreationTimestamp: evicted pods first, then oldest.
bool CollectBefore(const PodPtr& a, const PodPtr& b) {
  const bool ea = a->status().reason() == "Evicted", eb = b->status().reason() == "Evicted";
  if (ea != eb) return ea;
  const auto& ta = a->metadata().creation_timestamp();
  const auto& tb = b->metadata().creation_timestamp();
  if (ta.seconds() != tb.seconds()) return ta.seconds() < tb.seconds();
  if (ta.nanos() != tb.nanos()) return ta.nanos() < tb.nanos();
  return client::Informer::KeyOf(*a) < client::Informer::KeyOf(*b);
}

class PodGcController final : public Controller {
 public:
  explicit PodGcController(ControllerContext& ctx)
      : ctx_(ctx), pods_(ctx.informers->For(PodsKind())), nodes_(ctx.informers->For(NodesKind())) {
    loop_ = std::make_unique<ReconcileLoop>(ctx_, "podgc", [this](const std::string&, Done d) { Pass(std::move(d)); }, 1);
    loop_->OnSynced([this] { loop_->Add(kTick); });
  }
  ~PodGcController() override { *alive_ = false; }
  void Start() override { loop_->Start(); }
  void Stop() override {
    loop_->Stop();
    missing_since_.clear();  // a new term quarantines afresh
  }

 private:
  struct PassRun {
    int pending = 1;
    Status error;
    Done done;
  };
  using RunPtr = std::shared_ptr<PassRun>;

  void Pass(Done done) {
    auto run = std::make_shared<PassRun>();
    run->done = [this, done](Status s) {
      loop_->AddAfter(kTick, kCheckPeriod);
      done(s.ok() ? s : Status::Ok());  // the next pass retries; no rate-limited storm
    };
    std::vector<PodPtr> pods;
    for (const auto& o : pods_->List()) pods.push_back(std::static_pointer_cast<const api::Pod>(o));
    std::set<std::string> collected;  // one action per pod per pass
    GcTerminated(run, pods, &collected);
    GcTerminating(run, pods, &collected);
    GcUnscheduledTerminating(run, pods, &collected);
    GcOrphaned(run, pods, collected);
    Finish(run);
  }

  void Finish(const RunPtr& run) {
    if (--run->pending == 0) run->done(run->error);
  }

  void GcTerminated(const RunPtr& run, const std::vector<PodPtr>& pods, std::set<std::string>* collected) {
    const int threshold = ctx_.options.terminated_pod_gc_threshold;
    if (threshold <= 0) return;
    std::vector<PodPtr> terminated;
    for (const auto& p : pods) {
      if (Terminated(*p)) terminated.push_back(p);
    }
    const int excess = static_cast<int>(terminated.size()) - threshold;
    if (excess <= 0) return;
    std::sort(terminated.begin(), terminated.end(), CollectBefore);
    for (int i = 0; i < excess; ++i) {
      collected->insert(terminated[static_cast<size_t>(i)]->metadata().uid());
      MarkFailedAndDelete(run, terminated[static_cast<size_t>(i)], nullptr);
    }
  }

  // Terminating pods on a node that is not ready and declared out of service.
  void GcTerminating(const RunPtr& run, const std::vector<PodPtr>& pods, std::set<std::string>* collected) {
    for (const auto& p : pods) {
      if (!p->metadata().has_deletion_timestamp() || p->spec().node_name().empty()) continue;
      if (collected->count(p->metadata().uid()) > 0) continue;
      auto n = nodes_->Get(p->spec().node_name());
      if (n == nullptr) continue;
      const auto& node = static_cast<const api::Node&>(*n);
      const bool out_of_service = std::any_of(node.spec().taints().begin(), node.spec().taints().end(),
                                              [](const api::Taint& t) { return t.key() == kOutOfServiceTaint; });
      if (NodeReady(node) || !out_of_service) continue;
      collected->insert(p->metadata().uid());
      MarkFailedAndDelete(run, p, nullptr);
    }
  }

  void GcUnscheduledTerminating(const RunPtr& run, const std::vector<PodPtr>& pods, std::set<std::string>* collected) {
    for (const auto& p : pods) {
      if (!p->metadata().has_deletion_timestamp() || !p->spec().node_name().empty()) continue;
      if (!collected->insert(p->metadata().uid()).second) continue;
      MarkFailedAndDelete(run, p, nullptr);
    }
  }

  // Pods bound to nodes the cache lacks: each such node is quarantined 40 s, then looked
  // up live; only a node the apiserver does not have has its pods collected.
  void GcOrphaned(const RunPtr& run, const std::vector<PodPtr>& pods, const std::set<std::string>& collected) {
    const Nanos now = ctx_.env.clock->MonotonicNow();
    std::map<std::string, std::vector<PodPtr>> by_missing_node;
    for (const auto& p : pods) {
      const std::string& node = p->spec().node_name();
      if (node.empty() || nodes_->Get(node) != nullptr || collected.count(p->metadata().uid()) > 0) continue;
      by_missing_node[node].push_back(p);
    }
    for (auto it = missing_since_.begin(); it != missing_since_.end();) {
      it = by_missing_node.count(it->first) == 0 ? missing_since_.erase(it) : std::next(it);
    }
    for (auto& [node, node_pods] : by_missing_node) {
      auto [it, fresh] = missing_since_.emplace(node, now);
      if (fresh || now - it->second < kQuarantine) continue;
      ++run->pending;
      ctx_.client->Get(NodesKind(), "", node, [this, alive = alive_, run, node, node_pods](const client::ApiResult& r) {
        if (!*alive) return;
        if (r.ok()) {
          missing_since_.erase(node);  // it exists: the cache lags
        } else if (r.code == 404) {
          api::PodCondition cond;
          cond.set_type("DisruptionTarget");
          cond.set_status("True");
          cond.set_reason("DeletionByPodGC");
          cond.set_message("PodGC: node no longer exists");
          for (const auto& p : node_pods) MarkFailedAndDelete(run, p, &cond);
        } else if (run->error.ok()) {
          run->error = Status::Unavailable(r.Describe());
        }
        Finish(run);
      });
    }
  }

  // A pod not yet terminal is marked Failed (with `cond`, if any) before the delete, as
  // Kubernetes' markFailedAndDeletePodWithCondition; the delete has grace 0 and the uid.
  void MarkFailedAndDelete(const RunPtr& run, const PodPtr& pod, const api::PodCondition* cond) {
    ++run->pending;
    if (Terminated(*pod)) return ForceDelete(run, pod);
    api::Pod failed = *pod;
    failed.mutable_status()->set_phase("Failed");
    if (cond != nullptr) {
      api::PodCondition c = *cond;
      c.mutable_last_transition_time()->set_seconds(ctx_.env.clock->WallNow().count() / 1'000'000'000);
      auto* conds = failed.mutable_status()->mutable_conditions();
      auto it = std::find_if(conds->begin(), conds->end(), [&c](const api::PodCondition& x) { return x.type() == c.type(); });
      if (it != conds->end()) {
        *it = c;
      } else {
        *conds->Add() = c;
      }
    }
    ctx_.client->Update(PodsKind(), failed, [this, alive = alive_, run, pod](const client::ApiResult& r) {
      if (!*alive) return;
      if (!r.ok() && r.code != 404) {
        if (run->error.ok()) run->error = Status::Unavailable("status: " + r.Describe());
        return Finish(run);  // a conflict: the next pass sees the pod again
      }
      if (r.code == 404) return Finish(run);
      ForceDelete(run, pod);
    }, "status");
  }

  void ForceDelete(const RunPtr& run, const PodPtr& pod) {
    api::DeleteOptions opts;
    opts.set_grace_period_seconds(0);
    opts.mutable_preconditions()->set_uid(pod->metadata().uid());
    ctx_.client->Delete(PodsKind(), pod->metadata().namespace_(), pod->metadata().name(), opts,
                        [this, alive = alive_, run](const client::ApiResult& r) {
                          if (!*alive) return;
                          if (r.ok()) ++deletes_;
                          if (!r.ok() && r.code != 404 && r.code != 409 && run->error.ok()) {
                            run->error = Status::Unavailable("delete: " + r.Describe());
                          }
                          Finish(run);
                        });
  }

  ControllerContext& ctx_;
  client::Informer* pods_;
  client::Informer* nodes_;
  std::unique_ptr<ReconcileLoop> loop_;
  std::map<std::string, Nanos> missing_since_;  // node -> when the cache first lacked it
  uint64_t deletes_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

std::unique_ptr<Controller> NewPodGcController(ControllerContext& ctx) { return std::make_unique<PodGcController>(ctx); }

}  // namespace ksim::controllers
