// Test fixture for the HorizontalPodAutoscaler: a controller-manager running the
// ReplicaSet and HPA controllers, the fake pod runner, and a fake metrics source that
// splits a load (millicores) set by the test evenly over the Running pods of the
// namespace, as a Service spreads php-apache's requests.
#pragma once

#include <fmt/format.h>

#include <memory>
#include <optional>
#include <string>

#include "cluster/api/apps.pb.h"
#include "cluster/api/autoscaling.pb.h"
#include "cluster/controllers/hpa.h"
#include "cluster/controllers/replica_set.h"
#include "tests/cluster/controllers/cm_cluster.h"

namespace ksim::controllers::testing {

// What the fake metrics source reports; shared by every replica's source.
struct FakeLoad {
  int64_t total_millis = 0;     // split over the Running pods
  int64_t idle_millis = 1;      // each Running pod's floor
  bool fail = false;            // the metrics API is down
  std::set<std::string> hidden;  // pods without a metric
};

class FakeMetricsSource final : public PodMetricsSource {
 public:
  FakeMetricsSource(ControllerContext& ctx, std::shared_ptr<FakeLoad> load)
      : ctx_(ctx), load_(std::move(load)), pods_(ctx.informers->For(Kind("", "pods"))) {}
  void GetResourceMetric(const std::string& resource, const std::string& ns, const api::LabelMatcher& selector,
                         std::function<void(Status, PodMetrics)> done) override {
    if (load_->fail) return done(Status::Unavailable("metrics API unavailable"), {});
    std::vector<std::string> running;
    for (const auto& o : pods_->List()) {
      const auto& p = static_cast<const api::Pod&>(*o);
      if (p.metadata().namespace_() != ns || p.status().phase() != "Running" ||
          p.metadata().has_deletion_timestamp() ||
          !selector.Matches({p.metadata().labels().begin(), p.metadata().labels().end()})) {
        continue;
      }
      if (!load_->hidden.contains(p.metadata().name())) running.push_back(p.metadata().name());
    }
    PodMetrics out;
    for (const auto& name : running) {
      const int64_t share = load_->total_millis / static_cast<int64_t>(running.size());
      out[name] = PodMetric{std::max(share, load_->idle_millis), ctx_.env.clock->WallNow(), Seconds(15)};
    }
    done(Status::Ok(), std::move(out));
  }

 private:
  ControllerContext& ctx_;
  std::shared_ptr<FakeLoad> load_;
  client::Informer* pods_;
};

inline api::ReplicaSet PhpApache(int replicas, const std::string& cpu_request = "200m") {
  api::ReplicaSet rs;
  rs.mutable_metadata()->set_name("php-apache");
  rs.mutable_metadata()->set_namespace_("default");
  rs.mutable_spec()->set_replicas(replicas);
  (*rs.mutable_spec()->mutable_selector()->mutable_match_labels())["run"] = "php-apache";
  auto& t = *rs.mutable_spec()->mutable_template_();
  (*t.mutable_metadata()->mutable_labels())["run"] = "php-apache";
  auto* c = t.mutable_spec()->add_containers();
  c->set_name("php-apache");
  c->set_image("registry.k8s.io/hpa-example");
  if (!cpu_request.empty()) (*c->mutable_resources()->mutable_requests())["cpu"] = cpu_request;
  return rs;
}

inline api::HorizontalPodAutoscaler MakeHpa(int32_t min, int32_t max, int32_t target_utilization) {
  api::HorizontalPodAutoscaler h;
  h.mutable_metadata()->set_name("php-apache");
  h.mutable_metadata()->set_namespace_("default");
  auto& ref = *h.mutable_spec()->mutable_scale_target_ref();
  ref.set_api_version("apps/v1");
  ref.set_kind("ReplicaSet");
  ref.set_name("php-apache");
  h.mutable_spec()->set_min_replicas(min);
  h.mutable_spec()->set_max_replicas(max);
  auto* m = h.mutable_spec()->add_metrics();
  m->set_type("Resource");
  m->mutable_resource()->set_name("cpu");
  m->mutable_resource()->mutable_target()->set_type("Utilization");
  m->mutable_resource()->mutable_target()->set_average_utilization(target_utilization);
  return h;
}

class HpaFixture {
 public:
  explicit HpaFixture(uint64_t seed = 1) : c(seed) {}

  void StartManager(int i) {
    auto shared = load_;
    c.AddManager(i, [shared](ControllerManagerOptions& o) {
      o.controllers = {kReplicaSetControllerName, kHpaControllerName};
      o.hpa_metrics_source = [shared](ControllerContext& ctx) {
        return std::make_unique<FakeMetricsSource>(ctx, shared);
      };
    });
  }
  void Start(int managers = 1) {
    c.AddPodRunner([](const api::Pod&) { return PodPlan::On("n1"); });
    for (int i = 1; i <= managers; ++i) StartManager(i);
    c.Run(Seconds(20));  // lease acquired, informers synced
  }
  // Creates the target and lets its pods run for 30 s (their samples count by then).
  void CreateTarget(const api::ReplicaSet& rs) {
    ASSERT_TRUE(c.Create(rs).ok());
    c.Run(Seconds(30));
  }
  api::HorizontalPodAutoscaler GetHpa() {
    auto r = c.api.Await([&](client::ApiClient::Done d) {
      c.kubectl->Get(Kind("autoscaling", "horizontalpodautoscalers"), "default", "php-apache", std::move(d));
    });
    api::HorizontalPodAutoscaler h;
    EXPECT_TRUE(r.ok() && h.ParseFromString(r.body)) << r.Describe();
    return h;
  }
  int32_t Replicas() {
    auto r = c.api.Await([&](client::ApiClient::Done d) {
      c.kubectl->Get(Kind("apps", "replicasets"), "default", "php-apache", std::move(d));
    });
    api::ReplicaSet rs;
    if (!r.ok() || !rs.ParseFromString(r.body)) return -1;
    return rs.spec().replicas();
  }
  // "status reason" of a condition, or "".
  std::string Condition(const std::string& type) {
    const api::HorizontalPodAutoscaler h = GetHpa();
    for (const auto& cond : h.status().conditions()) {
      if (cond.type() == type) return cond.status() + " " + cond.reason();
    }
    return "";
  }
  std::vector<std::string> EventMessages(const std::string& reason) {
    std::vector<std::string> out;
    for (const auto& e : c.Events()) {
      if (e.reason() == reason) out.push_back(e.message());
    }
    return out;
  }

  CmCluster c;
  std::shared_ptr<FakeLoad> load_ = std::make_shared<FakeLoad>();
  FakeLoad& load = *load_;
};

}  // namespace ksim::controllers::testing
