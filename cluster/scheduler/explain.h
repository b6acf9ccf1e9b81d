// Explanations: why a pod goes (or cannot go) where it goes. For one pod over a snapshot,
// every node's verdict from every Filter plugin and, for feasible nodes, every Score
// plugin's normalized score, the weighted total and the winner(s). Unlike a scheduling
// cycle it visits every node and runs every filter (not only up to the first failure), and
// draws no randomness: equal best totals are all listed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cluster/scheduler/framework/framework.h"
#include "cluster/scheduler/framework/schedule_one.h"

namespace ksim::scheduler {

struct NodeExplanation {
  std::string node;
  std::vector<PluginStatus> filters;  // one per Filter plugin, profile order (kSkip if skipped)
  bool feasible = false;
  std::vector<int64_t> scores;  // one per Score plugin (normalized, unweighted); empty if infeasible
  int64_t total = 0;            // weighted sum
};

struct Explanation {
  std::string pod;                      // namespace/name
  PluginStatus pre_filter;              // a rejection here applies to every node
  std::vector<std::string> score_plugins;  // "Name (weight N)"
  std::vector<NodeExplanation> nodes;   // snapshot order (by name)
  std::vector<std::string> best;        // feasible nodes with the highest total
  std::string fit_error;                // "0/N nodes are available: ..." when none is feasible
};

Explanation ExplainPod(const Framework& framework, const Snapshot& snapshot, const PodInfo& pod);

// A plain-text report: a header, then one block per node with each filter's verdict and
// each score, and a last line naming the best node(s) or the fit error.
std::string RenderExplanation(const Explanation& explanation, const Framework& framework);

}  // namespace ksim::scheduler
