#include "cluster/scheduler/plugins/default_preemption.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <limits>
#include <map>

#include "cluster/env/random.h"

namespace ksim::scheduler {

namespace {

constexpr std::string_view kNoVictimsReason = "No preemption victims found for incoming pod";
constexpr std::string_view kNotHelpfulReason = "Preemption is not helpful for scheduling";

// One int32 field of the args: absent keeps the default.
Status ParseInt32Field(const nlohmann::json& args, std::string_view key, int64_t min, int64_t max,
                       std::string_view range, int32_t* out) {
  auto it = args.find(key);
  if (it == args.end() || it->is_null()) return Status::Ok();
  if (!it->is_number_integer()) {
    return Status::InvalidArgument(fmt::format("args.{}: Invalid value: {}: must be an integer", key, it->dump()));
  }
  // An unsigned number beyond int64 reads as negative through get<int64_t>; check first.
  if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(max)) {
    return Status::InvalidArgument(fmt::format("args.{}: Invalid value: {}: not in valid range {}", key, it->dump(), range));
  }
  int64_t value = it->get<int64_t>();
  if (value < min || value > max) {
    return Status::InvalidArgument(fmt::format("args.{}: Invalid value: {}: not in valid range {}", key, value, range));
  }
  *out = static_cast<int32_t>(value);
  return Status::Ok();
}

bool HasLowerPriorityTerminatingPod(const NodeInfo& node, int32_t priority) {
  for (const PodInfoPtr& p : node.pods()) {
    if (p->priority < priority && p->terminating) return true;
  }
  return false;
}

// "preemption: 0/N nodes are available: <count> <reason>, ...", as Kubernetes renders the
// FitError of a preemption that found no candidate: nodes it tried say why they failed,
// every other node counts as "Preemption is not helpful for scheduling".
std::string NoCandidateMessage(size_t num_nodes, const std::map<std::string, PluginStatus, std::less<>>& statuses) {
  std::map<std::string, size_t, std::less<>> histogram;
  for (const auto& [node, status] : statuses) {
    for (const std::string& reason : status.reasons()) ++histogram[reason];
  }
  assert(statuses.size() <= num_nodes);
  if (statuses.size() < num_nodes) histogram[std::string(kNotHelpfulReason)] += num_nodes - statuses.size();
  std::vector<std::string> parts;
  parts.reserve(histogram.size());
  for (const auto& [reason, count] : histogram) parts.push_back(fmt::format("{} {}", count, reason));
  std::sort(parts.begin(), parts.end());
  std::string msg = fmt::format("preemption: 0/{} nodes are available:", num_nodes);
  if (!parts.empty()) msg += fmt::format(" {}.", fmt::join(parts, ", "));
  return msg;
}

// Kubernetes' GetEarliestPodStartTime: the earliest start among the victims of the highest
// priority. REQUIRES: victims sorted most important first, not empty.
int64_t EarliestStartOfHighestPriority(const std::vector<PodInfoPtr>& victims) {
  assert(!victims.empty());
  const int32_t highest = victims.front()->priority;
  int64_t earliest = std::numeric_limits<int64_t>::max();
  for (const PodInfoPtr& v : victims) {
    if (v->priority != highest) continue;
    earliest = std::min(earliest, PodStartTimeNanos(*v));
  }
  return earliest;
}

}  // namespace

// ---------------------------------------------------------------- args and factory

Status ParseDefaultPreemptionArgs(const nlohmann::json& args, DefaultPreemptionArgs* out) {
  *out = DefaultPreemptionArgs();
  if (args.is_null()) return Status::Ok();
  if (!args.is_object()) return Status::InvalidArgument("args: must be an object (DefaultPreemptionArgs)");
  for (const auto& [key, value] : args.items()) {
    if (key == "apiVersion" || key == "kind" || key == "minCandidateNodesPercentage" ||
        key == "minCandidateNodesAbsolute") {
      continue;
    }
    return Status::InvalidArgument(fmt::format("args.{}: unknown field", key));
  }
  Status s = ParseInt32Field(args, "minCandidateNodesPercentage", 0, 100, "[0, 100]",
                             &out->min_candidate_nodes_percentage);
  if (!s.ok()) return s;
  s = ParseInt32Field(args, "minCandidateNodesAbsolute", 0, std::numeric_limits<int32_t>::max(), "[0, inf)",
                      &out->min_candidate_nodes_absolute);
  if (!s.ok()) return s;
  if (out->min_candidate_nodes_percentage == 0 && out->min_candidate_nodes_absolute == 0) {
    return Status::InvalidArgument(
        "args.minCandidateNodesPercentage: Invalid value: 0: cannot be zero at the same time as "
        "minCandidateNodesAbsolute");
  }
  return Status::Ok();
}

Status NewDefaultPreemption(const nlohmann::json& args, std::unique_ptr<Plugin>* out) {
  DefaultPreemptionArgs parsed;
  Status s = ParseDefaultPreemptionArgs(args, &parsed);
  if (!s.ok()) return s;
  *out = std::make_unique<DefaultPreemption>(parsed);
  return Status::Ok();
}

// ---------------------------------------------------------------- ordering

int64_t PodStartTimeNanos(const PodInfo& pod) {
  if (pod.pod == nullptr || !pod.pod->status().has_start_time()) return std::numeric_limits<int64_t>::max();
  const auto& t = pod.pod->status().start_time();
  // int64 nanoseconds reach about 292 years either side of 1970; clamp beyond (Timestamp
  // allows years 1..9999) rather than overflow.
  constexpr int64_t kMaxSeconds = 9'000'000'000;
  const int64_t seconds = std::clamp<int64_t>(t.seconds(), -kMaxSeconds, kMaxSeconds);
  return seconds * 1'000'000'000 + t.nanos();
}

bool MoreImportantPod(const PodInfo& a, const PodInfo& b) {
  if (a.priority != b.priority) return a.priority > b.priority;
  const int64_t a_start = PodStartTimeNanos(a);
  const int64_t b_start = PodStartTimeNanos(b);
  if (a_start != b_start) return a_start < b_start;
  return a.uid < b.uid;
}

// ---------------------------------------------------------------- victims on one node

PluginStatus SelectVictimsOnNode(const Framework& framework, const CycleState& state, const PodInfo& pod,
                                 const NodeInfo& node, const Snapshot& snapshot, std::vector<PodInfoPtr>* victims,
                                 const NominatedPods* nominated) {
  victims->clear();
  NodeInfo what_if = node;
  CycleState what_if_state = state.Clone();

  auto remove = [&](const PodInfoPtr& other) -> PluginStatus {
    bool removed = what_if.RemovePod(other->uid);
    assert(removed);
    (void)removed;
    return framework.RunPreFilterRemovePod(what_if_state, pod, *other, what_if, snapshot);
  };
  auto add = [&](const PodInfoPtr& other) -> PluginStatus {
    what_if.AddPod(other);
    return framework.RunPreFilterAddPod(what_if_state, pod, *other, what_if, snapshot);
  };
  auto as_error = [](PluginStatus s) {
    // A what-if update that fails is a plugin bug, not a verdict on the node.
    if (!s.IsRejection()) return s;
    PluginStatus error(Code::kError, s.reasons());
    error.set_plugin(s.plugin());
    return error;
  };

  // Everything of lower priority leaves; terminating pods leave for good.
  std::vector<PodInfoPtr> potential;
  bool set_aside_terminating = false;
  for (const PodInfoPtr& other : node.pods()) {
    if (other->priority >= pod.priority) continue;
    if (other->terminating) {
      set_aside_terminating = true;
    } else {
      potential.push_back(other);
    }
    PluginStatus s = remove(other);
    if (!s.ok()) return as_error(std::move(s));
  }
  if (potential.empty() && !set_aside_terminating) {
    return PluginStatus(Code::kUnschedulableAndUnresolvable, std::string(kNoVictimsReason));
  }

  // Not fitting even with every lower-priority pod gone: this node cannot help. (Kubernetes
  // does not look for the case where the pod needs affinity to a victim.)
  PluginStatus fits = FilterWithNominatedPods(framework, what_if_state, pod, what_if, snapshot, nominated);
  if (!fits.ok()) return fits;

  // Reprieve from the most important down, so the least important pods are the victims.
  std::sort(potential.begin(), potential.end(),
            [](const PodInfoPtr& a, const PodInfoPtr& b) { return MoreImportantPod(*a, *b); });
  for (const PodInfoPtr& other : potential) {
    PluginStatus s = add(other);
    if (!s.ok()) return as_error(std::move(s));
    PluginStatus still = FilterWithNominatedPods(framework, what_if_state, pod, what_if, snapshot, nominated);
    if (still.ok()) continue;
    if (still.code() == Code::kError) return still;
    s = remove(other);
    if (!s.ok()) return as_error(std::move(s));
    victims->push_back(other);
  }
  if (victims->empty() && !set_aside_terminating) {
    // The pod fits the node as it is: its Filter failure came from elsewhere (pods nominated
    // to the node), which no eviction here would change.
    return PluginStatus(Code::kUnschedulableAndUnresolvable, std::string(kNoVictimsReason));
  }
  return PluginStatus::Success();
}

// ---------------------------------------------------------------- picking the node

size_t PickOneNodeForPreemption(std::span<const PreemptionCandidate> candidates) {
  assert(!candidates.empty());
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (candidates[i].victims.empty()) return i;
  }
  // Each key: higher is better; a key narrows the field only among the best of the last.
  auto highest_priority = [](const PreemptionCandidate& c) { return -int64_t{c.victims.front()->priority}; };
  auto sum_priorities = [](const PreemptionCandidate& c) {
    // Shifted to be non-negative so that more pods of a negative priority never look better.
    int64_t sum = 0;
    for (const PodInfoPtr& v : c.victims) sum += int64_t{v->priority} + int64_t{std::numeric_limits<int32_t>::max()} + 1;
    return -sum;
  };
  auto num_victims = [](const PreemptionCandidate& c) { return -static_cast<int64_t>(c.victims.size()); };
  auto latest_start = [](const PreemptionCandidate& c) { return EarliestStartOfHighestPriority(c.victims); };

  std::vector<size_t> field(candidates.size());
  for (size_t i = 0; i < field.size(); ++i) field[i] = i;
  auto narrow = [&](auto key) {
    int64_t best = std::numeric_limits<int64_t>::min();
    std::vector<size_t> kept;
    for (size_t i : field) {
      const int64_t k = key(candidates[i]);
      if (k > best) {
        best = k;
        kept.clear();
      }
      if (k == best) kept.push_back(i);
    }
    field = std::move(kept);
    return field.size() == 1;
  };
  if (narrow(highest_priority) || narrow(sum_priorities) || narrow(num_victims) || narrow(latest_start)) {
    return field.front();
  }
  return field.front();  // still tied: the first in order
}

// ---------------------------------------------------------------- the plugin

size_t DefaultPreemption::NumCandidates(size_t num_potential_nodes) const {
  size_t n = num_potential_nodes * static_cast<size_t>(args_.min_candidate_nodes_percentage) / 100;
  n = std::max(n, static_cast<size_t>(args_.min_candidate_nodes_absolute));
  return std::min(n, num_potential_nodes);
}

PluginStatus DefaultPreemption::PostFilter(CycleState& state, const PodInfo& pod, const Snapshot& snapshot,
                                           const Framework& framework, const Diagnosis& diagnosis,
                                           PostFilterResult* result) const {
  *result = PostFilterResult();

  // Eligibility (Kubernetes' PodEligibleToPreemptOthers).
  if (pod.preempt_never) {
    return PluginStatus(Code::kUnschedulable, "preemption: not eligible due to preemptionPolicy=Never.");
  }
  const std::string_view nominated =
      pod.pod != nullptr ? std::string_view(pod.pod->status().nominated_node_name()) : std::string_view();
  if (!nominated.empty()) {
    // A nominated node that can no longer take the pod at all frees it to preempt elsewhere;
    // otherwise the victims it already chose are still leaving: wait for them.
    auto it = diagnosis.node_to_status.find(nominated);
    const bool unresolvable = it != diagnosis.node_to_status.end() &&
                              it->second.code() == Code::kUnschedulableAndUnresolvable;
    const NodeInfo* node = snapshot.Find(nominated);
    if (!unresolvable && node != nullptr && HasLowerPriorityTerminatingPod(*node, pod.priority)) {
      return PluginStatus(Code::kUnschedulable,
                          "preemption: not eligible due to a terminating pod on the nominated node.");
    }
  }

  const auto& nodes = snapshot.nodes();
  if (nodes.empty()) return PluginStatus(Code::kUnschedulable, "preemption: no nodes available");

  // Only nodes a Filter called Unschedulable (not unresolvable) may be helped. After a
  // PreFilter rejection the cycle state is incomplete, so no node can be dry-run (Kubernetes
  // runs into a plugin error there).
  std::vector<const NodeInfo*> potential;
  for (const NodeInfoPtr& node : nodes) {
    if (diagnosis.pre_filter_status.IsRejection()) break;
    auto it = diagnosis.node_to_status.find(node->name());
    if (it != diagnosis.node_to_status.end() && it->second.code() == Code::kUnschedulable) {
      potential.push_back(node.get());
    }
  }

  // Dry-run from an offset fixed by the pod's uid (Kubernetes draws it at random) until
  // enough candidates are found.
  std::vector<PreemptionCandidate> candidates;
  std::map<std::string, PluginStatus, std::less<>> failed;
  if (!potential.empty()) {
    // Kubernetes stops at the first candidate when the count works out to zero.
    const size_t want = std::max<size_t>(NumCandidates(potential.size()), 1);
    const size_t offset = Random::HashString(pod.uid) % potential.size();
    for (size_t i = 0; i < potential.size() && candidates.size() < want; ++i) {
      const NodeInfo& node = *potential[(offset + i) % potential.size()];
      std::vector<PodInfoPtr> victims;
      PluginStatus s = SelectVictimsOnNode(framework, state, pod, node, snapshot, &victims, diagnosis.nominated);
      if (s.ok()) {
        candidates.push_back({node.name(), std::move(victims)});
      } else if (s.IsRejection()) {
        failed.emplace(node.name(), std::move(s));
      } else {
        return s;
      }
    }
  }
  if (candidates.empty()) {
    return PluginStatus(Code::kUnschedulable, NoCandidateMessage(nodes.size(), failed));
  }

  PreemptionCandidate& chosen = candidates[PickOneNodeForPreemption(candidates)];
  result->nominated_node = std::move(chosen.node);
  result->victims = std::move(chosen.victims);
  return PluginStatus::Success();
}

}  // namespace ksim::scheduler
