// The HorizontalPodAutoscaler: its arithmetic (hpa_calc.h) on hand-made pods, and the
// controller against the API with a fake metrics source (hpa_test.h), following the
// Kubernetes HPA walkthrough (php-apache, 50% of a 200m request).
#include <gtest/gtest.h>

#include "cluster/api/metrics.pb.h"
#include "cluster/apiserver/apiserver.pb.h"
#include "cluster/env/wire.h"
#include "tests/cluster/controllers/hpa_test.h"

namespace ksim::controllers::testing {
namespace {

constexpr Nanos kNow = Seconds(1'000'000);

// A Running pod started `age` ago, Ready (since `ready_age` ago) or not, requesting
// `request` millicores.
api::Pod CalcPod(const std::string& name, int64_t request, Nanos age = Seconds(3600), bool ready = true,
                 std::optional<Nanos> ready_age = std::nullopt, const std::string& phase = "Running") {
  api::Pod p;
  p.mutable_metadata()->set_name(name);
  auto* c = p.mutable_spec()->add_containers();
  c->set_name("c");
  if (request > 0) (*c->mutable_resources()->mutable_requests())["cpu"] = fmt::format("{}m", request);
  p.mutable_status()->set_phase(phase);
  p.mutable_status()->mutable_start_time()->set_seconds((kNow - age) / Seconds(1));
  auto* cond = p.mutable_status()->add_conditions();
  cond->set_type("Ready");
  cond->set_status(ready ? "True" : "False");
  cond->mutable_last_transition_time()->set_seconds((kNow - ready_age.value_or(age - Seconds(1))) / Seconds(1));
  return p;
}

PodMetric Usage(int64_t millis) { return PodMetric{millis, kNow, Seconds(15)}; }

int32_t Calc(const std::vector<api::Pod>& pods, const PodMetrics& m, int32_t current, int32_t target = 50,
             Status* err = nullptr) {
  std::vector<const api::Pod*> ptrs;
  for (const auto& p : pods) ptrs.push_back(&p);
  ResourceProposal out;
  Status s = ComputeResourceReplicas(ptrs, m, "cpu", current, target, 0, HpaTuning{}, kNow, &out);
  if (err != nullptr) *err = s;
  return s.ok() ? out.replicas : -1;
}

TEST(HpaCalcTest, RatioAndTolerance) {
  std::vector<api::Pod> pods = {CalcPod("a", 200), CalcPod("b", 200), CalcPod("c", 200), CalcPod("d", 200)};
  const auto at = [](int64_t each) { return PodMetrics{{"a", Usage(each)}, {"b", Usage(each)}, {"c", Usage(each)}, {"d", Usage(each)}}; };
  EXPECT_EQ(Calc(pods, at(108), 4), 4);  // 54%: within 10% of 50%
  EXPECT_EQ(Calc(pods, at(92), 4), 4);   // 46%
  EXPECT_EQ(Calc(pods, at(112), 4), 5);  // 56%: ceil(1.12 x 4)
  EXPECT_EQ(Calc(pods, at(40), 4), 2);   // 20%: ceil(0.4 x 4)
  EXPECT_EQ(Calc(pods, at(610), 4), 25);
}

TEST(HpaCalcTest, UnreadyPodsCountAsZeroOnScaleUp) {
  // 3 ready at 90% of request, 2 Pending: naively ceil(1.8 x 3) = 6; with the 2 at 0%,
  // 54% is within the tolerance, so 5 stay.
  std::vector<api::Pod> pods = {CalcPod("a", 200), CalcPod("b", 200), CalcPod("c", 200),
                                CalcPod("d", 200, Seconds(5), false, std::nullopt, "Pending"),
                                CalcPod("e", 200, Seconds(5), false, std::nullopt, "Pending")};
  EXPECT_EQ(Calc(pods, {{"a", Usage(180)}, {"b", Usage(180)}, {"c", Usage(180)}}, 5), 5);
  // A scale-down is not held back by unready pods: they are left out.
  EXPECT_EQ(Calc(pods, {{"a", Usage(20)}, {"b", Usage(20)}, {"c", Usage(20)}}, 5), 1);
}

TEST(HpaCalcTest, CpuInitializationPeriodAndInitialReadinessDelay) {
  const PodMetrics m = {{"a", Usage(180)}, {"b", Usage(180)}};
  // b started 60 s ago and turned Ready 5 s ago: its sample spans less than a window
  // since then, so it is unready (0% on a scale-up): (180 + 0) / 400 = 45%, no change.
  EXPECT_EQ(Calc({CalcPod("a", 200), CalcPod("b", 200, Seconds(60), true, Seconds(5))}, m, 2), 2);
  // Ready 20 s ago (> one 15 s window): it counts: 90% -> ceil(1.8 x 2).
  EXPECT_EQ(Calc({CalcPod("a", 200), CalcPod("b", 200, Seconds(60), true, Seconds(20))}, m, 2), 4);
  // Past the 5 min initialization: not Ready since 10 s after start (never ready within
  // the 30 s delay) is unready; not Ready since 60 s after start (was ready) counts.
  EXPECT_EQ(Calc({CalcPod("a", 200), CalcPod("b", 200, Seconds(600), false, Seconds(590))}, m, 2), 2);
  EXPECT_EQ(Calc({CalcPod("a", 200), CalcPod("b", 200, Seconds(600), false, Seconds(540))}, m, 2), 4);
}

TEST(HpaCalcTest, MissingMetrics) {
  std::vector<api::Pod> pods = {CalcPod("a", 200), CalcPod("b", 200), CalcPod("c", 200), CalcPod("d", 200)};
  // Scale-down: the 2 missing count as 100%: (20+20+100+100)/4 = 60%, the direction
  // flips, so no change (naively ceil(0.4 x 2) = 1).
  EXPECT_EQ(Calc(pods, {{"a", Usage(40)}, {"b", Usage(40)}}, 4), 4);
  // Scale-up: missing count as 0: (150+150+150+0)/4 = 112% -> ceil(2.25 x 4) = 9.
  EXPECT_EQ(Calc(pods, {{"a", Usage(300)}, {"b", Usage(300)}, {"c", Usage(300)}}, 4), 9);
  Status err;
  EXPECT_EQ(Calc(pods, {}, 4, 50, &err), -1);
  EXPECT_EQ(err.message(), "did not receive metrics for targeted pods (pods might be unready)");
  EXPECT_EQ(Calc({CalcPod("a", 0)}, {{"a", Usage(40)}}, 1, 50, &err), -1);
  EXPECT_EQ(err.message(), "missing request for cpu in container c of Pod a");
}

TEST(HpaCalcTest, PoliciesAndStabilization) {
  const Behavior b = BehaviorWithDefaults(api::HorizontalPodAutoscalerBehavior(), Seconds(300));
  std::vector<ScaleEvent> none;
  // Up: max(4 pods, 100%) per 15 s.
  EXPECT_EQ(ScaleUpLimit(1, none, b.up, kNow), 5);
  EXPECT_EQ(ScaleUpLimit(10, none, b.up, kNow), 20);
  std::vector<ScaleEvent> up = {{4, kNow - Seconds(10), false}};  // 1 -> 5 ten seconds ago
  EXPECT_EQ(ScaleUpLimit(5, up, b.up, kNow), 5);
  EXPECT_EQ(ScaleUpLimit(5, up, b.up, kNow + Seconds(6)), 10);
  ScalingRules min_rules = b.up;
  min_rules.select_policy = "Min";
  EXPECT_EQ(ScaleUpLimit(10, none, min_rules, kNow), 14);
  min_rules.select_policy = "Disabled";
  EXPECT_EQ(ScaleUpLimit(10, none, min_rules, kNow), 10);
  // Down: 100% per 15 s.
  EXPECT_EQ(ScaleDownLimit(10, none, b.down, kNow), 0);

  std::vector<Recommendation> recs = {{7, kNow - Seconds(200)}};
  Normalized n = NormalizeWithBehavior(b, recs, none, none, 7, 1, 1, 10, kNow);
  EXPECT_EQ(n.replicas, 7);
  EXPECT_EQ(n.able_reason, "ScaleDownStabilized");
  n = NormalizeWithBehavior(b, recs, none, none, 7, 1, 1, 10, kNow + Seconds(101));
  EXPECT_EQ(n.replicas, 1);
  n = NormalizeWithBehavior(b, recs, none, none, 1, 30, 1, 10, kNow + Seconds(102));
  EXPECT_EQ(n.replicas, 5);
  EXPECT_EQ(n.limit_reason, "ScaleUpLimit");
  EXPECT_TRUE(n.limited);
}

class HpaTest : public ::testing::Test, public HpaFixture {};

// The cluster's source: a PodMetrics list as the apiserver answers it, summed per pod.
TEST(HpaMetricsSourceTest, PodMetricsFromList) {
  auto item = [](const std::string& name, const std::string& window,
                 std::vector<std::map<std::string, std::string>> containers) {
    api::PodMetrics m;
    m.mutable_metadata()->set_name(name);
    m.mutable_timestamp()->set_seconds(1000);
    m.set_window(window);
    for (auto& usage : containers) {
      auto* c = m.add_containers();
      c->set_name("c" + std::to_string(m.containers_size()));
      for (auto& [k, v] : usage) (*c->mutable_usage())[k] = v;
    }
    return SerializeDeterministic(m);
  };
  apiserver::ObjectList list;
  list.add_items(item("two", "15s", {{{"cpu", "250m"}, {"memory", "1Ki"}}, {{"cpu", "1500000n"}, {"memory", "1"}}}));
  list.add_items(item("no-cpu", "15s", {{{"cpu", "100m"}}, {{"memory", "1Mi"}}}));
  list.add_items(item("odd", "1m30.5s", {{{"cpu", "1"}}}));
  list.add_items(item("bad-window", "soon", {{{"cpu", "1"}}}));
  PodMetrics out;
  ASSERT_TRUE(PodMetricsFromList("cpu", SerializeDeterministic(list), &out).ok());
  ASSERT_EQ(out.size(), 2u) << "a container without cpu or a bad window leaves the pod out";
  EXPECT_EQ(out["two"].milli_value, 252);  // 250m + 1.5m rounded up
  EXPECT_EQ(out["two"].timestamp, Seconds(1000));
  EXPECT_EQ(out["two"].window, Seconds(15));
  EXPECT_EQ(out["odd"].milli_value, 1000);
  EXPECT_EQ(out["odd"].window, Seconds(90) + Milliseconds(500));
  out.clear();
  ASSERT_TRUE(PodMetricsFromList("memory", SerializeDeterministic(list), &out).ok());
  EXPECT_EQ(out["two"].milli_value, 1025 * 1000);
  EXPECT_EQ(out.count("odd"), 0u);
  out.clear();
  EXPECT_EQ(PodMetricsFromList("cpu", SerializeDeterministic(apiserver::ObjectList()), &out).code(),
            Status::Code::kNotFound);
  EXPECT_EQ(PodMetricsFromList("cpu", "\xff\xff", &out).code(), Status::Code::kCorruption);
}

TEST_F(HpaTest, PhpApacheWalkthrough) {
  Start();
  CreateTarget(PhpApache(1));
  ASSERT_TRUE(c.Create(MakeHpa(1, 10, 50)).ok());
  c.Run(Seconds(30));
  EXPECT_EQ(Replicas(), 1);
  api::HorizontalPodAutoscaler h = GetHpa();
  EXPECT_EQ(h.status().current_replicas(), 1);
  EXPECT_EQ(h.status().desired_replicas(), 1);
  ASSERT_EQ(h.status().current_metrics_size(), 1);
  EXPECT_EQ(h.status().current_metrics(0).resource().current().average_utilization(), 0);
  // Idle: 0% proposes 0; the first recommendation (the current size) holds it at 1.
  EXPECT_EQ(Condition("AbleToScale"), "True ScaleDownStabilized");
  EXPECT_EQ(Condition("ScalingActive"), "True ValidMetricFound");
  EXPECT_EQ(Condition("ScalingLimited"), "False DesiredWithinRange");
  EXPECT_EQ(h.status().observed_generation(), h.metadata().generation());

  // Load: 610m, 305% of one pod's request -> 7 pods, at most max(2 x current, 4) a sync.
  load.total_millis = 610;
  for (int i = 0; i < 16 && Replicas() == 1; ++i) c.Run(Seconds(1));
  EXPECT_EQ(Replicas(), 4);
  EXPECT_EQ(Condition("ScalingLimited"), "True ScaleUpLimit");
  auto rescales = EventMessages("SuccessfulRescale");
  ASSERT_EQ(rescales.size(), 1u);
  EXPECT_EQ(rescales[0], "New size: 4; reason: cpu resource utilization (percentage of request) above target");
  EXPECT_TRUE(GetHpa().status().has_last_scale_time());
  c.Run(Seconds(60));
  EXPECT_EQ(Replicas(), 7);
  const Nanos loaded = c.Now();
  c.Run(Seconds(60));
  EXPECT_EQ(Replicas(), 7);  // 87m each: 43%, ceil(0.86 x 7) = 7
  EXPECT_EQ(GetHpa().status().current_metrics(0).resource().current().average_utilization(), 43);

  // Load removed: the recommendation drops to 1 at once, but the 300 s window keeps the
  // highest recent one (7).
  load.total_millis = 0;
  const Nanos removed = c.Now();
  (void)loaded;
  c.Run(Seconds(280));
  EXPECT_EQ(Replicas(), 7);
  EXPECT_EQ(Condition("AbleToScale"), "True ScaleDownStabilized");
  c.Run(Seconds(40));
  EXPECT_EQ(Replicas(), 1) << "at " << (c.Now() - removed) / Seconds(1) << " s after the load stopped";
  rescales = EventMessages("SuccessfulRescale");
  EXPECT_EQ(rescales.back(), "New size: 1; reason: All metrics below target");
}

TEST_F(HpaTest, MinMaxClampsAndScalingLimited) {
  Start();
  ASSERT_TRUE(c.Create(PhpApache(1)).ok());
  ASSERT_TRUE(c.Create(MakeHpa(2, 3, 50)).ok());
  c.Run(Seconds(20));  // within a period (a first update may conflict with the RS status write)
  EXPECT_EQ(Replicas(), 2);  // below minReplicas: raised, whatever the metrics
  EXPECT_EQ(EventMessages("SuccessfulRescale").at(0), "New size: 2; reason: Current number of replicas below Spec.MinReplicas");
  c.Run(Seconds(40));
  EXPECT_EQ(Replicas(), 2);
  EXPECT_EQ(Condition("ScalingLimited"), "True TooFewReplicas");
  load.total_millis = 5000;
  c.Run(Seconds(60));
  EXPECT_EQ(Replicas(), 3);
  EXPECT_EQ(Condition("ScalingLimited"), "True TooManyReplicas");
  EXPECT_EQ(GetHpa().status().desired_replicas(), 3);
}

TEST_F(HpaTest, PoliciesLimitEachPeriod) {
  Start();
  CreateTarget(PhpApache(1));
  api::HorizontalPodAutoscaler h = MakeHpa(1, 50, 50);
  h.mutable_spec()->mutable_behavior()->mutable_scale_up();  // the defaults: max(4 pods, 100%) per 15 s
  ASSERT_TRUE(c.Create(h).ok());
  load.total_millis = 100'000;
  std::vector<int32_t> seen;
  for (int i = 0; i < 6; ++i) {
    c.Run(Seconds(15));
    if (seen.empty() || seen.back() != Replicas()) seen.push_back(Replicas());
  }
  EXPECT_EQ(seen, (std::vector<int32_t>{5, 10, 20, 40, 50})) << ::testing::PrintToString(seen);
  EXPECT_EQ(Condition("ScalingLimited"), "True TooManyReplicas");
}

TEST_F(HpaTest, APodsPolicyCountsTheWholePeriod) {
  Start();
  CreateTarget(PhpApache(1));
  api::HorizontalPodAutoscaler h = MakeHpa(1, 50, 50);
  auto* p = h.mutable_spec()->mutable_behavior()->mutable_scale_up()->add_policies();
  p->set_type("Pods");
  p->set_value(2);
  p->set_period_seconds(60);
  ASSERT_TRUE(c.Create(h).ok());
  load.total_millis = 100'000;
  c.Run(Seconds(5));
  EXPECT_EQ(Replicas(), 3);
  c.Run(Seconds(50));
  EXPECT_EQ(Replicas(), 3);  // 2 added within the last 60 s
  EXPECT_EQ(Condition("ScalingLimited"), "True ScaleUpLimit");
  c.Run(Seconds(15));
  EXPECT_EQ(Replicas(), 5);
}

TEST_F(HpaTest, MissingRequestsAndMetricsDisableScaling) {
  Start();
  CreateTarget(PhpApache(2, ""));
  ASSERT_TRUE(c.Create(MakeHpa(1, 10, 50)).ok());
  load.total_millis = 5000;
  c.Run(Seconds(40));
  EXPECT_EQ(Replicas(), 2);
  EXPECT_EQ(Condition("ScalingActive"), "False FailedGetResourceMetric");
  const auto hpa = GetHpa();
  for (const auto& cond : hpa.status().conditions()) {
    if (cond.type() == "ScalingActive") {
      EXPECT_EQ(cond.message().rfind("the HPA was unable to compute the replica count: failed to get cpu utilization: "
                                     "missing request for cpu in container php-apache of Pod php-apache-", 0),
                0u)
          << cond.message();
    }
  }
  EXPECT_FALSE(EventMessages("FailedComputeMetricsReplicas").empty());
}

TEST_F(HpaTest, MetricsApiDownKeepsTheSize) {
  Start();
  CreateTarget(PhpApache(3));
  ASSERT_TRUE(c.Create(MakeHpa(1, 10, 50)).ok());
  load.fail = true;
  c.Run(Seconds(400));
  EXPECT_EQ(Replicas(), 3);
  EXPECT_EQ(Condition("ScalingActive"), "False FailedGetResourceMetric");
  load.fail = false;
  c.Run(Seconds(30));
  EXPECT_EQ(Condition("ScalingActive"), "True ValidMetricFound");
}

TEST_F(HpaTest, ZeroReplicasDisablesScaling) {
  Start();
  ASSERT_TRUE(c.Create(PhpApache(0)).ok());
  ASSERT_TRUE(c.Create(MakeHpa(1, 10, 50)).ok());
  c.Run(Seconds(20));
  EXPECT_EQ(Replicas(), 0);
  EXPECT_EQ(Condition("ScalingActive"), "False ScalingDisabled");
}

}  // namespace
}  // namespace ksim::controllers::testing
