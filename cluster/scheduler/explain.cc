#include "cluster/scheduler/explain.h"

#include <fmt/format.h>

namespace ksim::scheduler {

Explanation ExplainPod(const Framework& framework, const Snapshot& snapshot, const PodInfo& pod) {
  Explanation e;
  e.pod = pod.Key();
  for (const auto& [plugin, weight] : framework.score_plugins()) {
    e.score_plugins.push_back(fmt::format("{} (weight {})", plugin->Name(), weight));
  }
  CycleState state = framework.NewCycleState();
  Diagnosis diagnosis;
  diagnosis.num_nodes = snapshot.nodes().size();
  e.pre_filter = framework.RunPreFilter(state, pod, snapshot);
  std::vector<const NodeInfo*> feasible;
  for (const auto& node : snapshot.nodes()) {
    NodeExplanation n;
    n.node = node->name();
    if (e.pre_filter.ok()) {
      n.filters = framework.RunFilterAll(state, pod, *node);
      n.feasible = true;
      for (const auto& s : n.filters) {
        if (!s.ok() && !s.IsSkip()) {
          n.feasible = false;
          // The cycle's diagnosis keeps the first failing verdict per node.
          diagnosis.node_to_status.emplace(n.node, s);
          break;
        }
      }
    } else {
      diagnosis.node_to_status.emplace(n.node, e.pre_filter);
    }
    if (n.feasible) feasible.push_back(node.get());
    e.nodes.push_back(std::move(n));
  }
  if (!e.pre_filter.ok()) diagnosis.pre_filter_status = e.pre_filter;
  if (feasible.empty()) {
    e.fit_error = FitErrorMessage(diagnosis);
    return e;
  }
  PluginStatus s = framework.RunPreScore(state, pod, feasible, snapshot);
  std::vector<int64_t> totals;
  std::vector<std::vector<int64_t>> per_plugin;
  if (s.ok()) s = framework.RunScore(state, pod, feasible, &totals, &per_plugin);
  if (!s.ok()) {
    e.fit_error = fmt::format("scoring failed: {} ({})", s.ToString(), s.plugin());
    return e;
  }
  int64_t best = -1;
  size_t k = 0;
  for (auto& n : e.nodes) {
    if (!n.feasible) continue;
    n.total = totals[k];
    for (const auto& scores : per_plugin) n.scores.push_back(scores[k]);
    best = std::max(best, n.total);
    ++k;
  }
  for (const auto& n : e.nodes) {
    if (n.feasible && n.total == best) e.best.push_back(n.node);
  }
  return e;
}

std::string RenderExplanation(const Explanation& e, const Framework& framework) {
  std::string out = fmt::format("pod {} (profile {}), {} nodes\n", e.pod, framework.scheduler_name(), e.nodes.size());
  if (!e.pre_filter.ok()) {
    out += fmt::format("PreFilter {}: {}\n", e.pre_filter.plugin(), e.pre_filter.ToString());
  }
  for (const auto& n : e.nodes) {
    out += fmt::format("node {}: {}\n", n.node, n.feasible ? fmt::format("feasible, total {}", n.total) : "rejected");
    for (const auto& f : n.filters) {
      out += fmt::format("  filter {:<20} {}\n", f.plugin(), f.ToString());
    }
    for (size_t i = 0; i < n.scores.size() && i < e.score_plugins.size(); ++i) {
      out += fmt::format("  score  {:<44} {}\n", e.score_plugins[i], n.scores[i]);
    }
  }
  if (!e.best.empty()) {
    out += fmt::format("best: {}\n", fmt::join(e.best, ", "));
  } else {
    out += fmt::format("unschedulable: {}\n", e.fit_error);
  }
  return out;
}

}  // namespace ksim::scheduler
