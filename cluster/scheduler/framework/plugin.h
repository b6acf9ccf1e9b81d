// The scheduling framework's extension points, in the shape of Kubernetes' scheduling
// framework (KEP-624; pkg/scheduler/framework/interface.go): for each pod, PreFilter plugins
// compute per-cycle state, Filter plugins say which nodes can take the pod, PreScore and
// Score plugins rank the feasible nodes (0..kMaxNodeScore after NormalizeScore), and the
// weighted sum picks the node. Plugins are pure: no I/O, no clock, no randomness; everything
// they read is the pod, the node and the cycle's snapshot.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster/scheduler/framework/snapshot.h"
#include "cluster/scheduler/framework/types.h"

namespace ksim::scheduler {

inline constexpr int64_t kMaxNodeScore = 100;

// ---------------------------------------------------------------- verdicts

enum class Code {
  kSuccess,
  // The node cannot take the pod now, but preempting pods on it might help.
  kUnschedulable,
  // The node cannot take the pod and preemption would not help (a selector, a taint).
  kUnschedulableAndUnresolvable,
  // The plugin has nothing to do for this pod (PreFilter/PreScore): skip its Filter/Score.
  kSkip,
  // A bug or bad input; the pod is retried with back-off.
  kError,
};

// A plugin's verdict. Reasons are in Kubernetes' words ("Insufficient cpu", "node(s) had
// untolerated taint {key: value}") because they are aggregated verbatim into the pod's
// FailedScheduling event.
class PluginStatus {
 public:
  PluginStatus() = default;
  PluginStatus(Code code, std::string reason) : code_(code) { reasons_.push_back(std::move(reason)); }
  PluginStatus(Code code, std::vector<std::string> reasons) : code_(code), reasons_(std::move(reasons)) {}

  static PluginStatus Success() { return {}; }
  static PluginStatus Skip() { return PluginStatus(Code::kSkip, std::vector<std::string>{}); }

  Code code() const { return code_; }
  bool ok() const { return code_ == Code::kSuccess; }
  bool IsSkip() const { return code_ == Code::kSkip; }
  bool IsRejection() const { return code_ == Code::kUnschedulable || code_ == Code::kUnschedulableAndUnresolvable; }
  const std::vector<std::string>& reasons() const { return reasons_; }
  // The plugin that gave this verdict (set by the framework).
  const std::string& plugin() const { return plugin_; }
  void set_plugin(std::string_view plugin) { plugin_ = plugin; }
  // "Unschedulable: Insufficient cpu, Insufficient memory"
  std::string ToString() const;

 private:
  Code code_ = Code::kSuccess;
  std::vector<std::string> reasons_;
  std::string plugin_;
};

// ---------------------------------------------------------------- cycle state

// A plugin's per-pod data, computed in PreFilter/PreScore and read by Filter/Score.
// Preemption clones the state to try removing victims, so state must copy deeply.
class StateData {
 public:
  virtual ~StateData() = default;
  virtual std::unique_ptr<StateData> Clone() const = 0;
};

// One slot per plugin of the profile (Plugin::slot()). Not shared between pods.
class CycleState {
 public:
  // A profile has at most this many plugins (the skip sets are bit masks).
  static constexpr size_t kMaxSlots = 64;

  explicit CycleState(size_t slots = 0) : slots_(slots) {}
  CycleState(CycleState&&) = default;
  CycleState& operator=(CycleState&&) = default;
  CycleState Clone() const;

  // REQUIRES: slot < the profile's plugin count.
  StateData* Get(int slot) const { return slots_[static_cast<size_t>(slot)].get(); }
  void Set(int slot, std::unique_ptr<StateData> data) { slots_[static_cast<size_t>(slot)] = std::move(data); }
  // Typed read; null when the plugin stored nothing (e.g. PreFilter skipped).
  template <typename T>
  T* Read(int slot) const {
    return static_cast<T*>(Get(slot));
  }

 // Plugins whose PreFilter / PreScore said kSkip: their Filter / Score is not run.
  bool SkipFilter(int slot) const { return (skip_filter_ >> slot) & 1u; }
  bool SkipScore(int slot) const { return (skip_score_ >> slot) & 1u; }
  void SetSkipFilter(int slot) { skip_filter_ |= uint64_t{1} << slot; }
  void SetSkipScore(int slot) { skip_score_ |= uint64_t{1} << slot; }

 private:
  std::vector<std::unique_ptr<StateData>> slots_;
  uint64_t skip_filter_ = 0;
  uint64_t skip_score_ = 0;
};

// ---------------------------------------------------------------- cluster events

// What changed in the cluster; an unschedulable pod is retried when an event happens that
// a plugin that rejected it registered for (Kubernetes' EventsToRegister / queueing hints).
enum class EventResource { kPod, kAssignedPod, kNode, kNamespace, kPriorityClass };
enum EventAction : uint32_t {
  kEventAdd = 1u << 0,
  kEventDelete = 1u << 1,
  kEventUpdateNodeLabel = 1u << 2,
  kEventUpdateNodeTaint = 1u << 3,
  kEventUpdateNodeAllocatable = 1u << 4,
  kEventUpdateNodeSchedulable = 1u << 5,  // spec.unschedulable
  kEventUpdatePodLabel = 1u << 6,
  kEventUpdatePodRequest = 1u << 7,       // requests went down (in-place resize)
  kEventUpdateOther = 1u << 8,
  kEventUpdateAny = kEventUpdateNodeLabel | kEventUpdateNodeTaint | kEventUpdateNodeAllocatable |
                    kEventUpdateNodeSchedulable | kEventUpdatePodLabel | kEventUpdatePodRequest | kEventUpdateOther,
  kEventAll = kEventAdd | kEventDelete | kEventUpdateAny,
};

struct ClusterEvent {
  EventResource resource = EventResource::kPod;
  uint32_t actions = 0;  // EventAction bits
  bool Matches(const ClusterEvent& happened) const {
    return resource == happened.resource && (actions & happened.actions) != 0;
  }
};

// ---------------------------------------------------------------- plugins

class Plugin {
 public:
  virtual ~Plugin() = default;
  // Kubernetes' plugin name ("NodeResourcesFit"); profiles refer to plugins by it.
  virtual std::string_view Name() const = 0;
  // Events after which a pod this plugin rejected may fit.
  virtual std::vector<ClusterEvent> EventsToRegister() const { return {}; }

  // The plugin's CycleState slot, assigned by the framework.
  int slot() const { return slot_; }
  void set_slot(int slot) { slot_ = slot; }

 private:
  int slot_ = -1;
};

class PreFilterPlugin : public virtual Plugin {
 public:
  // Computes what Filter needs for this pod. kSkip: Filter is not called for this pod.
  // A rejection here rejects the pod on every node (with this status).
  virtual PluginStatus PreFilter(CycleState& state, const PodInfo& pod, const Snapshot& snapshot) const = 0;

  // Preemption's what-if: update the state computed by PreFilter as if `other` were added
  // to / removed from `node`. Plugins whose PreFilter state depends on other pods (pod
  // affinity, topology spread) implement these; the default has nothing to update.
  virtual PluginStatus AddPod(CycleState& state, const PodInfo& pod, const PodInfo& other, const NodeInfo& node,
                              const Snapshot& snapshot) const;
  virtual PluginStatus RemovePod(CycleState& state, const PodInfo& pod, const PodInfo& other, const NodeInfo& node,
                                 const Snapshot& snapshot) const;
};

class FilterPlugin : public virtual Plugin {
 public:
  // Whether `node` can take `pod`. Must not change anything: it runs for many nodes.
  virtual PluginStatus Filter(const CycleState& state, const PodInfo& pod, const NodeInfo& node) const = 0;
};

class PreScorePlugin : public virtual Plugin {
 public:
  // Computes what Score needs, given the nodes that passed filtering. kSkip: Score is not
  // called for this pod (its scores count as 0).
  virtual PluginStatus PreScore(CycleState& state, const PodInfo& pod, std::span<const NodeInfo* const> nodes,
                                const Snapshot& snapshot) const = 0;
};

class ScorePlugin : public virtual Plugin {
 public:
  // A raw score for one feasible node. Errors are reported through `status`.
  virtual int64_t Score(const CycleState& state, const PodInfo& pod, const NodeInfo& node,
                        PluginStatus* status) const = 0;
  // Maps raw scores (one per node of `nodes`, same order) into [0, kMaxNodeScore]. Plugins
  // whose raw scores are already in range keep the default (no change).
  virtual void NormalizeScore(const CycleState& state, const PodInfo& pod, std::span<const NodeInfo* const> nodes,
                              std::span<int64_t> scores) const;
};

// PostFilter runs when no node fits; DefaultPreemption is the one Kubernetes ships.
class Framework;
struct Diagnosis;
struct PostFilterResult {
  std::string nominated_node;  // empty: nothing helped
  std::vector<PodInfoPtr> victims;
};
class PostFilterPlugin : public virtual Plugin {
 public:
  virtual PluginStatus PostFilter(CycleState& state, const PodInfo& pod, const Snapshot& snapshot,
                                  const Framework& framework, const Diagnosis& diagnosis,
                                  PostFilterResult* result) const = 0;
};

}  // namespace ksim::scheduler
