#include "tests/reports/sample_record.h"

namespace ksim::reports::testing {

std::string HostileText() {
  return std::string("<script>alert('x')</script> & \"q\" ]]> <!-- --> &amp; \x01\x1f tab\t") +
         "caf\xc3\xa9 \xe2\x9c\x93 </svg></textarea>";
}

RunRecord SampleRecord(bool hostile) {
  auto text = [&](const std::string& plain) { return hostile ? plain + " " + HostileText() : plain; };
  constexpr int64_t kSecond = 1'000'000'000;
  RunRecord record;
  record.scenario_name = text("rolling-update-under-partition");
  record.scenario_file = "scenarios/examples/rolling_update_partition.yaml";
  record.ksim_version = "v0-test";
  record.attributes["shard"] = text("1/2");
  for (uint64_t seed : {7u, 8u}) {
    SeedRun run;
    run.seed = seed;
    run.replay_command = "ksim run scenarios/examples/rolling_update_partition.yaml --seed " + std::to_string(seed);
    run.trace_hash = seed == 7 ? "9f86d081884c7d65" : "2c26b46b68ffc68f";
    run.simulated_ns = 120 * kSecond;
    run.wall_ns = 800'000'000;
    run.expectations.push_back({text("noPodOnTwoNodes"), When::kAlways, true, "", std::nullopt, "x.yaml:20:5"});
    ExpectationResult available{text("deploymentAvailable"), When::kEventually, true, "", std::nullopt,
                                "x.yaml:24:5"};
    if (seed == 8) {
      run.verdict = Verdict::kFail;
      available.passed = false;
      available.message = text("deployment web: 3 of 5 replicas available at the deadline");
      available.first_violation_ns = 100 * kSecond;
    }
    run.expectations.push_back(available);
    run.expectations.push_back({"allPodsRunning", When::kAtEnd, true, "", std::nullopt, "x.yaml:27:5"});
    run.faults.push_back({20 * kSecond, 50 * kSecond, "partition", text("cp-1 | cp-2 cp-3"), "timeline"});
    run.faults.push_back({35 * kSecond, 45 * kSecond, "crash", "worker-2/kubelet", text("nemesis[0]")});
    run.faults.push_back({90 * kSecond, std::nullopt, "clockSkew", "cp-2", "timeline"});
    run.events.push_back({0, "apply", text("deployment web")});
    run.events.push_back({60 * kSecond, "phase", "liveness"});
    std::vector<Sample>& ready = run.series[text("ready pods")];
    for (int t = 0; t <= 120; t += 5) {
      ready.push_back({t * kSecond, static_cast<double>(t < 10 ? t / 2 : (t > 30 && t < 55 ? 3 : 5))});
    }
    run.series["nodes Ready"] = {{0, 5}, {40 * kSecond, 4}, {70 * kSecond, 5}};
    run.leader_changes.push_back({2 * kSecond, "store", "cp-1"});
    run.leader_changes.push_back({25 * kSecond, "store", text("cp-2")});
    run.leader_changes.push_back({3 * kSecond, "kube-controller-manager", "cp-1_abc"});
    run.metrics["pod startup latency p50"] = {seed == 7 ? 1.2 : 1.5, "s", Better::kLower};
    run.metrics["pod startup latency p99"] = {seed == 7 ? 4.0 : 6.5, "s", Better::kLower};
    run.metrics["elections"] = {2, "count", Better::kLower};
    run.metrics["messages"] = {123456, "count", Better::kNeither};
    run.metrics["ready pods at end"] = {5, "pods", Better::kHigher};
    Histogram startup = Histogram::Exponential125("s", 0.1, 20);
    startup.better = Better::kLower;
    for (double v : {0.3, 0.8, 1.1, 1.2, 1.9, 2.5, 4.0, 12.0, 30.0}) startup.Add(v);
    run.histograms[text("pod startup latency")] = startup;
    Histogram api = Histogram::Exponential125("ms", 1, 1000);
    for (int i = 0; i < 200; ++i) api.Add(1 + (i * 37) % 300);
    run.histograms["api latency"] = api;
    run.coverage["fault.partition"] = 1;
    run.coverage["fault.crash"] = 1;
    run.coverage[text("leader changed")] = 2;
    record.seeds.push_back(std::move(run));
  }
  return record;
}

}  // namespace ksim::reports::testing
