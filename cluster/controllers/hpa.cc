#include "cluster/controllers/hpa.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "cluster/api/autoscaling.pb.h"
#include "cluster/api/machinery/quantity.h"
#include "cluster/api/registry.h"
#include "cluster/env/wire.h"

namespace ksim::controllers {
namespace {

using client::ObjectPtr;
using Hpa = api::HorizontalPodAutoscaler;

const api::KindInfo& HpaKind() {
  return *api::Registry::Default().ByGroupResource("autoscaling", "horizontalpodautoscalers");
}
const api::KindInfo& PodsKind() { return *api::Registry::Default().ByGroupResource("", "pods"); }

// The kinds with a /scale subresource.
const api::KindInfo* ScaleTargetKind(const api::CrossVersionObjectReference& ref) {
  static const std::map<std::string, std::pair<std::string, std::string>> kinds = {
      {"Deployment", {"apps", "deployments"}},
      {"ReplicaSet", {"apps", "replicasets"}},
      {"StatefulSet", {"apps", "statefulsets"}},
      {"ReplicationController", {"", "replicationcontrollers"}}};
  auto it = kinds.find(ref.kind());
  if (it == kinds.end()) return nullptr;
  return api::Registry::Default().ByGroupResource(it->second.first, it->second.second);
}

google::protobuf::Timestamp Ts(Nanos wall) {
  google::protobuf::Timestamp t;
  t.set_seconds(wall / Seconds(1));
  return t;
}

// Kubernetes' setCondition: the transition time moves only when the status changes.
void SetCondition(api::HorizontalPodAutoscalerStatus* st, const std::string& type, const std::string& status,
                  const std::string& reason, const std::string& message, const google::protobuf::Timestamp& now) {
  api::HorizontalPodAutoscalerCondition* c = nullptr;
  for (auto& existing : *st->mutable_conditions()) {
    if (existing.type() == type) c = &existing;
  }
  if (c == nullptr) {
    c = st->add_conditions();
    c->set_type(type);
  }
  if (c->status() != status) *c->mutable_last_transition_time() = now;
  c->set_status(status);
  c->set_reason(reason);
  c->set_message(message);
}

// One sync's state, shared by the callbacks of its calls.
struct HpaRun {
  std::string key;
  uint64_t term = 0;
  Hpa hpa;  // the copy being edited
  std::string original_status;
  std::function<void(Status)> done;
  const api::KindInfo* target = nullptr;
  api::Scale scale;
  api::LabelMatcher selector;
  std::vector<api::MetricSpec> metrics;
  size_t next = 0;
  int32_t proposal = -1;
  std::string metric_name;
  int invalid = 0;
  std::string first_error, invalid_reason, invalid_message;
  std::vector<api::MetricStatus> statuses;
};
using RunPtr = std::shared_ptr<HpaRun>;

// Per-HPA memory of this replica (Kubernetes keeps it in the process too).
struct HpaHistory {
  std::vector<Recommendation> recommendations;
  std::vector<ScaleEvent> up, down;
};

class NoMetricsSource final : public PodMetricsSource {
 public:
  void GetResourceMetric(const std::string&, const std::string&, const api::LabelMatcher&,
                         std::function<void(Status, PodMetrics)> done) override {
    done(Status::Unavailable("no metrics source configured"), {});
  }
};

class HpaController final : public Controller {
 public:
  explicit HpaController(ControllerContext& ctx)
      : ctx_(ctx), hpas_(ctx.informers->For(HpaKind())), pods_(ctx.informers->For(PodsKind())) {
    const auto& opt = ctx_.options;
    tuning_ = HpaTuning{opt.hpa_tolerance, opt.hpa_cpu_initialization_period, opt.hpa_initial_readiness_delay};
    metrics_ = opt.hpa_metrics_source ? opt.hpa_metrics_source(ctx_) : NewApiPodMetricsSource(ctx_);
    if (metrics_ == nullptr) metrics_ = std::make_unique<NoMetricsSource>();
    recorder_ = ctx_.NewRecorder("horizontal-pod-autoscaler");
    loop_ = std::make_unique<ReconcileLoop>(
        ctx_, kHpaControllerName,
        [this](const std::string& key, std::function<void(Status)> done) { Sync(key, std::move(done)); },
        opt.concurrent_hpa_syncs);
    loop_->OnSynced([this] {
      for (const auto& h : hpas_->List()) loop_->Add(client::Informer::KeyOf(*h));
    });
    pods_->AddIndex(kIndex, [](const google::protobuf::Message& m) {
      return std::vector<std::string>{api::GetMeta(m)->namespace_()};
    });
    // A new HPA is looked at at once; changes wait for the next period (Kubernetes adds
    // them rate-limited at the sync period), so our own status writes cause no extra sync.
    hpas_->AddHandlers({[this](const ObjectPtr& o) { loop_->Add(client::Informer::KeyOf(*o)); },
                        [this](const ObjectPtr&, const ObjectPtr& o) {
                          loop_->AddAfter(client::Informer::KeyOf(*o), ctx_.options.hpa_sync_period);
                        },
                        [this](const ObjectPtr& o) { history_.erase(client::Informer::KeyOf(*o)); }});
  }
  ~HpaController() override { *alive_ = false; }

  void Start() override {
    ++term_;
    loop_->Start();
  }
  void Stop() override {
    ++term_;
    loop_->Stop();
    // A replica that leads again starts afresh, as a new Kubernetes process does: its
    // first recommendation is the current size, so it never scales down within the
    // window after another leader's higher recommendation.
    history_.clear();
  }

 private:
  static constexpr char kIndex[] = "hpa/namespace";

  Nanos Mono() const { return ctx_.env.clock->MonotonicNow(); }
  google::protobuf::Timestamp WallTs() const { return Ts(ctx_.env.clock->WallNow()); }
  bool Current(const RunPtr& run) const { return *alive_ && run->term == term_ && ctx_.acting(); }
  void Log(const std::string& msg) { ctx_.env.log->Log(LogLevel::kInfo, "hpa-controller", msg); }
  api::HorizontalPodAutoscalerStatus* St(const RunPtr& run) { return run->hpa.mutable_status(); }

  void Sync(const std::string& key, std::function<void(Status)> done) {
    ObjectPtr obj = hpas_->Get(key);
    if (obj == nullptr) {
      history_.erase(key);
      return done(Status::Ok());
    }
    auto run = std::make_shared<HpaRun>();
    run->key = key;
    run->term = term_;
    run->hpa = static_cast<const Hpa&>(*obj);
    run->original_status = SerializeDeterministic(run->hpa.status());
    // Every HPA is looked at again one period later, whatever happens now.
    run->done = [this, key, done = std::move(done)](Status s) {
      loop_->AddAfter(key, ctx_.options.hpa_sync_period);
      if (!s.ok()) Log(fmt::format("{}: {}", key, s.message()));
      done(Status::Ok());
    };
    GetScale(run);
  }

  apiserver::Request ScaleRequest(const RunPtr& run, const std::string& verb) const {
    apiserver::Request r;
    r.set_verb(verb);
    r.set_group(run->target->group);
    r.set_version(run->target->version);
    r.set_resource(run->target->resource);
    r.set_namespace_(run->hpa.metadata().namespace_());
    r.set_name(run->hpa.spec().scale_target_ref().name());
    r.set_subresource("scale");
    return r;
  }

  void GetScale(const RunPtr& run) {
    const auto& ref = run->hpa.spec().scale_target_ref();
    run->target = ScaleTargetKind(ref);
    if (run->target == nullptr) {
      return FailedGetScale(run, fmt::format("no scale subresource for kind \"{}\"", ref.kind()));
    }
    ctx_.client->Do(ScaleRequest(run, "get"), [this, alive = alive_, run](const client::ApiResult& r) {
      if (!*alive) return;
      if (!Current(run)) return run->done(Status::Ok());
      if (!r.ok() || !run->scale.ParseFromString(r.body)) return FailedGetScale(run, r.Describe());
      SetCondition(St(run), "AbleToScale", "True", "SucceededGetScale",
                   "the HPA controller was able to get the target's current scale", WallTs());
      Decide(run);
    });
  }

  void FailedGetScale(const RunPtr& run, const std::string& err) {
    recorder_->Event(run->hpa, "Warning", "FailedGetScale", err);
    SetCondition(St(run), "AbleToScale", "False", "FailedGetScale",
                 "the HPA controller was unable to get the target's current scale: " + err, WallTs());
    UpdateStatus(run, Status::Unavailable("failed to query scale subresource: " + err));
  }

  void Decide(const RunPtr& run) {
    const int32_t current = run->scale.spec().replicas();
    HpaHistory& h = history_[run->key];
    if (h.recommendations.empty()) h.recommendations.push_back({current, Mono()});  // recordInitialRecommendation
    const auto& spec = run->hpa.spec();
    const int32_t min = spec.has_min_replicas() ? spec.min_replicas() : 1;
    if (current == 0 && min != 0) {
      SetCondition(St(run), "ScalingActive", "False", "ScalingDisabled",
                   "scaling is disabled since the replica count of the target is zero", WallTs());
      return Apply(run, 0, "");
    }
    if (current > spec.max_replicas()) return Apply(run, spec.max_replicas(), "Current number of replicas above Spec.MaxReplicas");
    if (current < min) return Apply(run, min, "Current number of replicas below Spec.MinReplicas");

    if (run->scale.status().selector().empty()) {
      recorder_->Event(run->hpa, "Warning", "SelectorRequired", "selector is required");
      SetCondition(St(run), "ScalingActive", "False", "InvalidSelector", "the HPA target's scale is missing a selector",
                   WallTs());
      return MetricsFailed(run, "selector is required");
    }
    if (Status s = api::LabelMatcher::Parse(run->scale.status().selector(), &run->selector); !s.ok()) {
      recorder_->Event(run->hpa, "Warning", "InvalidSelector", s.message());
      SetCondition(St(run), "ScalingActive", "False", "InvalidSelector",
                   "the HPA target's scale has an invalid selector: " + s.message(), WallTs());
      return MetricsFailed(run, s.message());
    }
    run->metrics.assign(spec.metrics().begin(), spec.metrics().end());
    if (run->metrics.empty()) {  // the API's default, should an object lack it
      api::MetricSpec m;
      m.set_type("Resource");
      m.mutable_resource()->set_name("cpu");
      m.mutable_resource()->mutable_target()->set_type("Utilization");
      m.mutable_resource()->mutable_target()->set_average_utilization(80);
      run->metrics.push_back(m);
    }
    NextMetric(run);
  }

  void Invalid(const RunPtr& run, const std::string& reason, const std::string& err) {
    if (run->invalid++ == 0) {
      run->first_error = err;
      run->invalid_reason = reason;
      run->invalid_message = "the HPA was unable to compute the replica count: " + err;
    }
    recorder_->Event(run->hpa, "Warning", reason, err);
  }

  // computeReplicasForMetrics, one metric at a time.
  void NextMetric(const RunPtr& run) {
    if (run->next == run->metrics.size()) return MetricsDone(run);
    const api::MetricSpec& m = run->metrics[run->next++];
    if (m.type() != "Resource") {
      Invalid(run, "InvalidMetricSourceType", fmt::format("invalid metric source type \"{}\"", m.type()));
      return NextMetric(run);
    }
    const std::string resource = m.resource().name();
    const auto& target = m.resource().target();
    std::optional<int32_t> utilization;
    int64_t average = 0;
    std::string name;
    if (target.type() == "Utilization" && target.has_average_utilization()) {
      utilization = target.average_utilization();
      name = resource + " resource utilization (percentage of request)";
    } else {
      api::Quantity q;
      if (!target.has_average_value() || !api::Quantity::Parse(target.average_value(), &q).ok() || q.Sign() <= 0) {
        Invalid(run, "FailedGetResourceMetric", fmt::format("invalid resource metric source: {}", resource));
        return NextMetric(run);
      }
      average = q.MilliValue();
      name = resource + " resource";
    }
    metrics_->GetResourceMetric(
        resource, run->hpa.metadata().namespace_(), run->selector,
        [this, alive = alive_, run, resource, utilization, average, name](Status s, PodMetrics pm) {
          if (!*alive) return;
          if (!Current(run)) return run->done(Status::Ok());
          if (!s.ok()) {
            Invalid(run, "FailedGetResourceMetric",
                    fmt::format("failed to get {} utilization: unable to get metrics for resource {}: {}", resource,
                                resource, s.message()));
            return NextMetric(run);
          }
          std::vector<ObjectPtr> keep;
          std::vector<const api::Pod*> pods;
          for (const auto& o : pods_->ByIndex(kIndex, run->hpa.metadata().namespace_())) {
            const auto& pod = static_cast<const api::Pod&>(*o);
            if (!run->selector.Matches({pod.metadata().labels().begin(), pod.metadata().labels().end()})) continue;
            keep.push_back(o);
            pods.push_back(&pod);
          }
          ResourceProposal p;
          if (Status cs = ComputeResourceReplicas(pods, pm, resource, run->scale.spec().replicas(), utilization,
                                                  average, tuning_, ctx_.env.clock->WallNow(), &p);
              !cs.ok()) {
            Invalid(run, "FailedGetResourceMetric", fmt::format("failed to get {} utilization: {}", resource, cs.message()));
            return NextMetric(run);
          }
          api::MetricStatus st;
          st.set_type("Resource");
          st.mutable_resource()->set_name(resource);
          st.mutable_resource()->mutable_current()->set_average_value(api::Quantity::FromMilli(p.average_milli).String());
          if (utilization) st.mutable_resource()->mutable_current()->set_average_utilization(p.utilization);
          run->statuses.push_back(std::move(st));
          if (p.replicas > run->proposal) {
            run->proposal = p.replicas;
            run->metric_name = name;
          }
          NextMetric(run);
        });
  }

  void MetricsDone(const RunPtr& run) {
    const int32_t current = run->scale.spec().replicas();
    const int total = static_cast<int>(run->metrics.size());
    // Every metric invalid, or some invalid and the rest would scale down: no change.
    if (run->invalid >= total || (run->invalid > 0 && run->proposal < current)) {
      SetCondition(St(run), "ScalingActive", "False", run->invalid_reason, run->invalid_message, WallTs());
      return MetricsFailed(run, fmt::format("invalid metrics ({} invalid out of {}), first error is: {}", run->invalid,
                                            total, run->first_error));
    }
    SetCondition(St(run), "ScalingActive", "True", "ValidMetricFound",
                 "the HPA was able to successfully calculate a replica count from " + run->metric_name, WallTs());
    const auto& spec = run->hpa.spec();
    const int32_t min = spec.has_min_replicas() ? spec.min_replicas() : 1;
    if (ctx_.options.hpa_on_recommendation) ctx_.options.hpa_on_recommendation(run->key, run->proposal);
    HpaHistory& h = history_[run->key];
    const Nanos downscale = ctx_.options.hpa_downscale_stabilization;
    const Normalized n =
        spec.has_behavior()
            ? NormalizeWithBehavior(BehaviorWithDefaults(spec.behavior(), downscale), h.recommendations, h.up, h.down,
                                    current, run->proposal, min, spec.max_replicas(), Mono())
            : NormalizeLegacy(h.recommendations, downscale, current, run->proposal, min, spec.max_replicas(), Mono());
    SetCondition(St(run), "AbleToScale", "True", n.able_reason, n.able_message, WallTs());
    SetCondition(St(run), "ScalingLimited", n.limited ? "True" : "False", n.limit_reason, n.limit_message, WallTs());
    std::string reason;
    if (n.replicas > current) reason = run->metric_name + " above target";
    if (n.replicas < current) reason = "All metrics below target";
    Apply(run, n.replicas, reason);
  }

  // Metrics could not be computed: status keeps its desired count and metrics.
  void MetricsFailed(const RunPtr& run, const std::string& err) {
    St(run)->set_current_replicas(run->scale.spec().replicas());
    recorder_->Event(run->hpa, "Warning", "FailedComputeMetricsReplicas", err);
    UpdateStatus(run, Status::Unavailable(err));
  }

  void Apply(const RunPtr& run, int32_t desired, const std::string& reason) {
    const int32_t current = run->scale.spec().replicas();
    if (desired == current) return SetStatus(run, current, desired, false);
    if (!Current(run)) return run->done(Status::Ok());
    api::Scale scale = run->scale;
    scale.mutable_spec()->set_replicas(desired);
    apiserver::Request r = ScaleRequest(run, "update");
    r.set_body(SerializeDeterministic(scale));
    ctx_.client->Do(std::move(r), [this, alive = alive_, run, current, desired, reason](const client::ApiResult& res) {
      if (!*alive) return;
      const std::string size = fmt::format("New size: {}; reason: {}", desired, reason);
      if (!res.ok()) {
        recorder_->Event(run->hpa, "Warning", "FailedRescale", size + "; error: " + res.Describe());
        SetCondition(St(run), "AbleToScale", "False", "FailedUpdateScale",
                     "the HPA controller was unable to update the target scale: " + res.Describe(), WallTs());
        St(run)->set_current_replicas(current);
        return UpdateStatus(run, Status::Unavailable("update scale: " + res.Describe()));
      }
      recorder_->Event(run->hpa, "Normal", "SuccessfulRescale", size);
      if (run->hpa.spec().has_behavior() && run->term == term_) {
        const Behavior b = BehaviorWithDefaults(run->hpa.spec().behavior(), ctx_.options.hpa_downscale_stabilization);
        HpaHistory& h = history_[run->key];
        if (desired > current) StoreScaleEvent(h.up, b.up, desired - current, Mono());
        if (desired < current) StoreScaleEvent(h.down, b.down, current - desired, Mono());
      }
      SetCondition(St(run), "AbleToScale", "True", "SucceededRescale",
                   fmt::format("the HPA controller was able to update the target scale to {}", desired), WallTs());
      SetStatus(run, current, desired, true);
    });
  }

  void SetStatus(const RunPtr& run, int32_t current, int32_t desired, bool rescaled) {
    auto* st = St(run);
    st->set_current_replicas(current);
    st->set_desired_replicas(desired);
    st->clear_current_metrics();
    for (const auto& m : run->statuses) *st->add_current_metrics() = m;
    if (rescaled) *st->mutable_last_scale_time() = WallTs();
    UpdateStatus(run, Status::Ok());
  }

  // updateStatusIfNeeded: written only when it changed.
  void UpdateStatus(const RunPtr& run, Status result) {
    St(run)->set_observed_generation(run->hpa.metadata().generation());
    if (SerializeDeterministic(run->hpa.status()) == run->original_status || !Current(run)) return run->done(result);
    ctx_.client->Update(HpaKind(), run->hpa,
                        [alive = alive_, run, result](const client::ApiResult& r) {
                          if (!*alive) return;
                          run->done(r.ok() ? result : Status::Unavailable("update status: " + r.Describe()));
                        },
                        "status");
  }

  ControllerContext& ctx_;
  client::Informer* hpas_;
  client::Informer* pods_;
  HpaTuning tuning_;
  std::unique_ptr<PodMetricsSource> metrics_;
  std::unique_ptr<client::EventRecorder> recorder_;
  std::unique_ptr<ReconcileLoop> loop_;
  std::map<std::string, HpaHistory> history_;
  uint64_t term_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

std::unique_ptr<Controller> NewHpaController(ControllerContext& ctx) { return std::make_unique<HpaController>(ctx); }

}  // namespace ksim::controllers
