#include "scenarios/scenario_cluster.h"

#include <fmt/format.h>

namespace ksim::scenarios {

SimClusterOptions ToSimClusterOptions(const Scenario& scenario, uint64_t seed) {
  const ClusterSpec& c = scenario.cluster;
  SimClusterOptions o;
  o.seed = seed;
  o.control_plane = c.control_plane.hosts;
  o.workers = c.workers();
  o.scheduler = c.control_plane.schedulers > 0;
  o.controller_manager = c.control_plane.controller_managers > 0;
  o.service_network = c.service_network;
  o.link.latency_min = c.network.latency;
  o.link.latency_jitter = c.network.jitter;
  o.link.loss = c.network.loss;
  o.link.duplicate = c.network.duplicate;
  o.link.reorder = c.network.reorder;
  for (const WorkerGroup& g : c.worker_groups) {
    for (int k = 0; k < g.count; ++k) {
      WorkerSpec spec;
      spec.cpu = g.cpu;
      spec.memory = g.memory;
      spec.pods = g.pods;
      spec.labels = g.labels;
      if (!g.zones.empty()) spec.zone = g.zones[static_cast<size_t>(k) % g.zones.size()];
      o.worker_specs.push_back(std::move(spec));
    }
  }
  return o;
}

std::vector<std::pair<std::string, Taint>> ScenarioTaints(const Scenario& scenario) {
  std::vector<std::pair<std::string, Taint>> out;
  for (const WorkerGroup& g : scenario.cluster.worker_groups) {
    for (int k = 0; k < g.count; ++k) {
      for (const Taint& t : g.taints) out.emplace_back(fmt::format("worker-{}", g.first_worker + k), t);
    }
  }
  return out;
}

}  // namespace ksim::scenarios
