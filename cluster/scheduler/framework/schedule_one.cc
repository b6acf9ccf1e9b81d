#include "cluster/scheduler/framework/schedule_one.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>

namespace ksim::scheduler {

size_t NumFeasibleNodesToFind(size_t num_nodes, int32_t percentage_of_nodes_to_score) {
  constexpr size_t kMinFeasibleNodesToFind = 100;
  constexpr int64_t kMinFeasibleNodesPercentageToFind = 5;
  if (num_nodes < kMinFeasibleNodesToFind || percentage_of_nodes_to_score >= 100) return num_nodes;
  int64_t percentage = percentage_of_nodes_to_score;
  if (percentage <= 0) {
    percentage = 50 - static_cast<int64_t>(num_nodes) / 125;
    percentage = std::max(percentage, kMinFeasibleNodesPercentageToFind);
  }
  size_t n = num_nodes * static_cast<size_t>(percentage) / 100;
  return std::max(n, kMinFeasibleNodesToFind);
}

PluginStatus FilterWithNominatedPods(const Framework& framework, const CycleState& state, const PodInfo& pod,
                                     const NodeInfo& node, const Snapshot& snapshot, const NominatedPods* nominated) {
  if (nominated != nullptr) {
    auto it = nominated->find(node.name());
    if (it != nominated->end()) {
      NodeInfo with = node;
      CycleState with_state = state.Clone();
      bool added = false;
      for (const PodInfoPtr& other : it->second) {
        if (other->uid == pod.uid || other->priority < pod.priority) continue;
        with.AddPod(other);
        PluginStatus s = framework.RunPreFilterAddPod(with_state, pod, *other, with, snapshot);
        if (!s.ok()) return s;
        added = true;
      }
      if (added) {
        PluginStatus s = framework.RunFilter(with_state, pod, with);
        if (!s.ok()) return s;
      }
    }
  }
  return framework.RunFilter(state, pod, node);
}

PluginStatus SchedulePod(const Framework& framework, const Snapshot& snapshot, const PodInfo& pod, CycleState& state,
                         ScheduleCursor& cursor, ScheduleResult* result, Diagnosis* diagnosis,
                         const NominatedPods* nominated) {
  *result = ScheduleResult();
  *diagnosis = Diagnosis();
  const auto& nodes = snapshot.nodes();
  const size_t n = nodes.size();
  diagnosis->num_nodes = n;
  diagnosis->nominated = nominated;
  if (n == 0) {
    return PluginStatus(Code::kUnschedulableAndUnresolvable, "no nodes available to schedule pods");
  }

  PluginStatus pre = framework.RunPreFilter(state, pod, snapshot);
  if (pre.IsRejection()) {
    diagnosis->pre_filter_status = pre;
    diagnosis->unschedulable_plugins.insert(pre.plugin());
    for (const auto& node : nodes) diagnosis->node_to_status.emplace(node->name(), pre);
    return pre;
  }
  if (!pre.ok()) return pre;

  if (!cursor.started) {
    cursor.next_start_index = cursor.random.Uniform(n);
    cursor.started = true;
  }
  const size_t want = NumFeasibleNodesToFind(n, framework.config().percentage_of_nodes_to_score);
  const size_t start = cursor.next_start_index % n;
  std::vector<const NodeInfo*> feasible;
  feasible.reserve(std::min(want, n));
  size_t processed = 0;
  bool all_unresolvable = true;
  for (; processed < n && feasible.size() < want; ++processed) {
    const NodeInfo& node = *nodes[(start + processed) % n];
    PluginStatus s = FilterWithNominatedPods(framework, state, pod, node, snapshot, nominated);
    if (s.ok()) {
      feasible.push_back(&node);
    } else if (s.IsRejection()) {
      if (s.code() != Code::kUnschedulableAndUnresolvable) all_unresolvable = false;
      diagnosis->unschedulable_plugins.insert(s.plugin());
      diagnosis->node_to_status.emplace(node.name(), std::move(s));
    } else {
      return s;
    }
  }
  cursor.next_start_index = (start + processed) % n;
  result->evaluated_nodes = processed;
  result->feasible_nodes = feasible.size();

  if (feasible.empty()) {
    return PluginStatus(all_unresolvable ? Code::kUnschedulableAndUnresolvable : Code::kUnschedulable,
                        FitErrorMessage(*diagnosis));
  }
  if (feasible.size() == 1) {
    result->node = feasible[0]->name();
    return PluginStatus::Success();
  }

  PluginStatus s = framework.RunPreScore(state, pod, feasible, snapshot);
  if (!s.ok()) return s;
  std::vector<int64_t> totals;
  s = framework.RunScore(state, pod, feasible, &totals);
  if (!s.ok()) return s;

  // Highest total; ties broken uniformly by reservoir sampling on the seeded Random.
  size_t best = 0;
  uint64_t ties = 1;
  for (size_t i = 1; i < feasible.size(); ++i) {
    if (totals[i] > totals[best]) {
      best = i;
      ties = 1;
    } else if (totals[i] == totals[best]) {
      ++ties;
      if (cursor.random.Uniform(ties) == 0) best = i;
    }
  }
  result->node = feasible[best]->name();
  result->score = totals[best];
  return PluginStatus::Success();
}

std::string FitErrorMessage(const Diagnosis& diagnosis) {
  std::string msg = fmt::format("0/{} nodes are available:", diagnosis.num_nodes);
  if (!diagnosis.pre_filter_status.ok() && !diagnosis.pre_filter_status.reasons().empty()) {
    msg += fmt::format(" {}.", fmt::join(diagnosis.pre_filter_status.reasons(), ", "));
  } else {
    std::map<std::string, int, std::less<>> histogram;
    for (const auto& [node, status] : diagnosis.node_to_status) {
      for (const auto& reason : status.reasons()) ++histogram[reason];
    }
    std::vector<std::string> parts;
    for (const auto& [reason, count] : histogram) parts.push_back(fmt::format("{} {}", count, reason));
    std::sort(parts.begin(), parts.end());
    if (!parts.empty()) msg += fmt::format(" {}.", fmt::join(parts, ", "));
  }
  if (!diagnosis.post_filter_message.empty()) {
    const std::string& post = diagnosis.post_filter_message;
    msg += fmt::format(" {}{}", post, post.back() == '.' ? "" : ".");
  }
  return msg;
}

}  // namespace ksim::scheduler
