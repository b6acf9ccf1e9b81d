// One pod's scheduling algorithm over a snapshot (Kubernetes' schedulePod): PreFilter, then
// Filter over nodes starting at a rotating index until enough feasible nodes are found,
// then PreScore/Score, then the highest total wins with ties broken by the seeded Random.
// When no node fits, the Diagnosis says why, node by node, and FitErrorMessage renders it
// in Kubernetes' words.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cluster/env/random.h"
#include "cluster/scheduler/framework/framework.h"

namespace ksim::scheduler {

// Why a pod fit nowhere.
struct Diagnosis {
  // Each rejected node's verdict (the first Filter plugin that did not pass).
  std::map<std::string, PluginStatus, std::less<>> node_to_status;
  // Plugins that rejected the pod on some node (or in PreFilter); the queue retries the pod
  // only after an event one of them registered for.
  std::set<std::string> unschedulable_plugins;
  // Set when PreFilter rejected the pod outright (every node gets this verdict).
  PluginStatus pre_filter_status;
  // Set by the caller when PostFilter (preemption) also failed: "preemption: ...".
  std::string post_filter_message;
  size_t num_nodes = 0;
  // The nominated pods the cycle filtered with (null: none), so that preemption's what-if
  // counts them too and two preemptors do not count on the same room.
  const std::map<std::string, std::vector<PodInfoPtr>, std::less<>>* nominated = nullptr;
};

// Pods that preemption nominated onto a node but that are not bound yet, by node name.
// Filtering a node for a pod of lower or equal priority counts them as if they ran there,
// so the room preemption made is not taken by another pod (Kubernetes'
// RunFilterPluginsWithNominatedPods).
using NominatedPods = std::map<std::string, std::vector<PodInfoPtr>, std::less<>>;

struct ScheduleResult {
  std::string node;  // empty when the pod fits nowhere
  int64_t score = 0;
  size_t evaluated_nodes = 0;
  size_t feasible_nodes = 0;
};

// How many feasible nodes to look for among `num_nodes` (Kubernetes'
// numFeasibleNodesToFind): all below 100 nodes or at 100%; else the profile's percentage
// (adaptive when 0), but at least 100 nodes.
size_t NumFeasibleNodesToFind(size_t num_nodes, int32_t percentage_of_nodes_to_score);

// Rotating start index and tie-break randomness carried between cycles.
struct ScheduleCursor {
  explicit ScheduleCursor(Random seeded) : random(seeded) {}
  Random random;
  // Where the next cycle starts filtering (Kubernetes' nextStartNodeIndex); the first
  // start is drawn from the seed.
  size_t next_start_index = 0;
  bool started = false;
};

// Schedules one pod. Returns Success with result->node set; or kUnschedulable /
// kUnschedulableAndUnresolvable with `diagnosis` filled; or kError. `state` must be fresh
// (Framework::NewCycleState) and keeps the PreFilter state for PostFilter.
PluginStatus SchedulePod(const Framework& framework, const Snapshot& snapshot, const PodInfo& pod, CycleState& state,
                         ScheduleCursor& cursor, ScheduleResult* result, Diagnosis* diagnosis,
                         const NominatedPods* nominated = nullptr);

// Filter on one node, counting the nominated pods of at least `pod`'s priority (other than
// `pod` itself) as present; the pod must fit both with and without them.
PluginStatus FilterWithNominatedPods(const Framework& framework, const CycleState& state, const PodInfo& pod,
                                     const NodeInfo& node, const Snapshot& snapshot, const NominatedPods* nominated);

// "0/5 nodes are available: 2 node(s) had untolerated taint {dedicated: infra}, 3
// Insufficient cpu." Reasons are counted over nodes and sorted as Kubernetes sorts them.
std::string FitErrorMessage(const Diagnosis& diagnosis);

}  // namespace ksim::scheduler
