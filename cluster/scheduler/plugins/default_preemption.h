// DefaultPreemption: the PostFilter plugin that runs when a pod fits no node. It looks for a
// node where evicting pods of lower priority would let the pod fit, with Kubernetes'
// semantics (KEP "pod priority and preemption"; pkg/scheduler/framework/preemption and
// plugins/defaultpreemption), minus PodDisruptionBudgets and extenders.
//
// Contract with the scheduler process. The plugin is pure: it reads the pod, the snapshot
// and the Diagnosis and returns a decision; it never calls the API. On Success the result
// names a node and the victims (most important first, possibly none when the room is
// already being freed by terminating pods), and the scheduler process then
//   - deletes each victim with its own graceful termination period,
//   - sets the preemptor's status.nominatedNodeName to the node (so that pods of lower or
//     equal priority leave the room alone, see FilterWithNominatedPods), and clears
//     nominatedNodeName of lower-priority pods nominated to that node, as Kubernetes does,
//   - puts the preemptor back in the queue; it binds in a later cycle once the victims are
//     gone.
// On failure the status is kUnschedulable with one reason, "preemption: ..." in
// Kubernetes' words, which the scheduler appends to the pod's fit error
// (Diagnosis::post_filter_message); an empty nominated_node then means "clear the pod's
// nominatedNodeName". kError means a plugin failed during the what-if.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/env/status.h"
#include "cluster/scheduler/framework/framework.h"
#include "cluster/scheduler/framework/plugin.h"
#include "cluster/scheduler/framework/schedule_one.h"

namespace ksim::scheduler {

// Kubernetes' DefaultPreemptionArgs: how many candidate nodes to dry-run before picking:
// max(minCandidateNodesAbsolute, minCandidateNodesPercentage% of the potential nodes),
// at most all of them.
struct DefaultPreemptionArgs {
  int32_t min_candidate_nodes_percentage = 10;  // 0..100
  int32_t min_candidate_nodes_absolute = 100;   // >= 0; not both zero
};

// Parses pluginConfig args (null: defaults). Errors name the field, e.g.
// "args.minCandidateNodesPercentage: Invalid value: 101: not in valid range [0, 100]".
Status ParseDefaultPreemptionArgs(const nlohmann::json& args, DefaultPreemptionArgs* out);

// Registry factory for "DefaultPreemption".
Status NewDefaultPreemption(const nlohmann::json& args, std::unique_ptr<Plugin>* out);

// A node where preemption makes room, and the pods to evict there (most important first).
struct PreemptionCandidate {
  std::string node;
  std::vector<PodInfoPtr> victims;
};

// When a pod started (status.startTime) in nanoseconds since the epoch; a pod that has not
// started counts as started last (Kubernetes uses "now"; ksim has no clock here). Times
// beyond about 285 years from 1970 are clamped.
int64_t PodStartTimeNanos(const PodInfo& pod);

// Kubernetes' MoreImportantPod: higher priority first, then the earlier start; ksim breaks
// the remaining ties by uid so that the order never depends on how a node stores its pods.
bool MoreImportantPod(const PodInfo& a, const PodInfo& b);

// Kubernetes' SelectVictimsOnNode (without PDBs) on a copy of `node` and a clone of
// `state`: set aside every pod of lower priority than `pod`, check that `pod` fits, then
// reprieve the set-aside pods from the most important down, keeping each whose return
// still lets `pod` fit. Lower-priority pods already terminating stay set aside and are not
// victims (they are leaving anyway). Returns Success with `victims` (most important first;
// empty only when terminating pods make the room); kUnschedulableAndUnresolvable "No
// preemption victims found for incoming pod" when nothing on the node has lower priority,
// or when the pod fits with nothing evicted and nothing leaving (Kubernetes calls that an
// error; it happens when the pod failed only for pods nominated to the node); the Filter
// verdict when the pod does not fit even without them; kError on a plugin error.
// `nominated` (may be null): pods nominated to nodes, counted as present as in a cycle.
PluginStatus SelectVictimsOnNode(const Framework& framework, const CycleState& state, const PodInfo& pod,
                                 const NodeInfo& node, const Snapshot& snapshot, std::vector<PodInfoPtr>* victims,
                                 const NominatedPods* nominated = nullptr);

// Kubernetes' pickOneNodeForPreemption without PDBs: a candidate with no victims wins
// outright; else the lowest highest-victim priority, then the smallest sum of victim
// priorities, then the fewest victims, then the latest start among the highest-priority
// victims (earlier-started pods are kept), then the first in `candidates`' order.
// REQUIRES: !candidates.empty(). Returns an index into `candidates`.
size_t PickOneNodeForPreemption(std::span<const PreemptionCandidate> candidates);

class DefaultPreemption : public PostFilterPlugin {
 public:
  static constexpr std::string_view kName = "DefaultPreemption";

  explicit DefaultPreemption(const DefaultPreemptionArgs& args) : args_(args) {}

  std::string_view Name() const override { return kName; }
  PluginStatus PostFilter(CycleState& state, const PodInfo& pod, const Snapshot& snapshot, const Framework& framework,
                          const Diagnosis& diagnosis, PostFilterResult* result) const override;

  // How many candidates to find among `num_potential_nodes` (Kubernetes'
  // calculateNumCandidates).
  size_t NumCandidates(size_t num_potential_nodes) const;

 private:
  DefaultPreemptionArgs args_;
};

}  // namespace ksim::scheduler
