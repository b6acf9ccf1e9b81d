#include "cluster/scheduler/plugins/pod_topology_spread.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "cluster/scheduler/plugins/fixed_log.h"
#include "cluster/scheduler/plugins/pod_groups.h"
#include "cluster/scheduler/plugins/topology_domains.h"

namespace ksim::scheduler {
namespace {

constexpr std::string_view kHostnameLabel = "kubernetes.io/hostname";
// A pod has a handful of constraints; the per-node scratch arrays are sized for this many
// and PreFilter/PreScore refuse more (Kubernetes bounds nothing, but no real pod comes close).
constexpr size_t kMaxConstraints = 16;
static_assert(kMaxConstraints <= 32, "match masks are 32-bit");

// Kubernetes' RequiredNodeAffinity.Match: spec.nodeSelector and required node affinity.
bool MatchesRequiredNodeAffinity(const PodInfo& pod, const NodeData& node) {
  for (const auto& [key, value] : pod.node_selector) {
    auto it = node.labels.find(key);
    if (it == node.labels.end() || it->second != value) return false;
  }
  return !pod.required_node_affinity.has_value() || pod.required_node_affinity->Matches(node.labels, node.name);
}

// Whether the node has a NoSchedule/NoExecute taint the pod does not tolerate (what
// nodeTaintsPolicy: Honor excludes; PreferNoSchedule does not count).
bool HasUntoleratedTaint(const PodInfo& pod, const NodeData& node) {
  for (const Taint& taint : node.taints) {
    if (taint.effect == TaintEffect::kPreferNoSchedule) continue;
    bool tolerated = false;
    for (const Toleration& t : pod.tolerations) {
      if (t.Tolerates(taint)) {
        tolerated = true;
        break;
      }
    }
    if (!tolerated) return true;
  }
  return false;
}

// Kubernetes' countPodsMatchSelector: pods of the incoming pod's namespace matching the
// selector, terminating pods left out; an empty selector counts nothing.
int64_t CountMatching(const std::vector<PodInfoPtr>& pods, const api::LabelMatcher& selector, const std::string& ns) {
  if (selector.Empty()) return 0;
  int64_t count = 0;
  for (const PodInfoPtr& p : pods) {
    if (p->terminating || p->ns != ns) continue;
    if (selector.Matches(p->labels)) ++count;
  }
  return count;
}

// What this plugin reads of an existing pod: namespace, labels, and whether it terminates.
std::string SpreadGroupKey(const PodInfo& pod) {
  std::string key = pod.ns;
  key += pod.terminating ? "\x01T" : "\x01L";
  for (const auto& [k, v] : pod.labels) {
    key += '\0';
    key += k;
    key += '=';
    key += v;
  }
  return key;
}

// Whether a node counts for a constraint (nodeAffinityPolicy / nodeTaintsPolicy). The two
// node-wide checks are computed at most once per node.
class NodeInclusion {
 public:
  NodeInclusion(const PodInfo& pod, const NodeData& node) : pod_(pod), node_(node) {}
  bool Includes(const SpreadConstraint& c) {
    if (c.honor_node_affinity) {
      if (affinity_ < 0) affinity_ = MatchesRequiredNodeAffinity(pod_, node_) ? 1 : 0;
      if (affinity_ == 0) return false;
    }
    if (c.honor_node_taints) {
      if (taints_ < 0) taints_ = HasUntoleratedTaint(pod_, node_) ? 0 : 1;
      if (taints_ == 0) return false;
    }
    return true;
  }

 private:
  const PodInfo& pod_;
  const NodeData& node_;
  int affinity_ = -1;  // -1 unknown, 0 no, 1 yes
  int taints_ = -1;
};

// One DoNotSchedule constraint's counts of matching pods per domain, with the minimum kept
// exact under AddPod/RemovePod (Kubernetes keeps the two smallest, which can go stale after
// several updates; a rescan when the last domain at the minimum moves up costs O(domains)).
// Domain ids are those of the plugin's table for the key, so only some ids are domains of
// this constraint (values on nodes it includes).
struct FilterConstraint {
  size_t index = 0;  // into PodInfo::spread_constraints
  bool self_match = false;
  std::shared_ptr<DomainTable> domains;  // the plugin's, shared by every state (append-only)
  std::vector<int64_t> counts;           // by domain id
  std::vector<uint8_t> is_domain;        // by domain id
  int64_t num_domains = 0;
  int64_t min_count = std::numeric_limits<int64_t>::max();
  int64_t domains_at_min = 0;

  int64_t Count(uint32_t id) const { return id < counts.size() && is_domain[id] ? counts[id] : 0; }

  // The global minimum as Filter uses it: 0 while there are fewer domains than minDomains.
  int64_t Min(int32_t min_domains) const {
    if (num_domains < min_domains) return 0;
    return min_count;
  }

  // Adds `delta` to domain `id` (making it one of this constraint's domains).
  void Add(uint32_t id, int64_t delta) {
    if (delta == 0 && id < is_domain.size() && is_domain[id]) return;  // most nodes of a big domain
    if (id >= counts.size()) {
      counts.resize(id + 1, 0);
      is_domain.resize(id + 1, 0);
    }
    if (!is_domain[id]) {
      is_domain[id] = 1;
      ++num_domains;
      Track(0);
    }
    const int64_t old = counts[id];
    counts[id] = old + delta;
    Untrack(old);
    Track(old + delta);
    if (domains_at_min == 0) Rescan();
  }

  void Track(int64_t count) {
    if (count < min_count) {
      min_count = count;
      domains_at_min = 1;
    } else if (count == min_count) {
      ++domains_at_min;
    }
  }
  void Untrack(int64_t count) {
    if (count == min_count) --domains_at_min;
  }
  void Rescan() {
    min_count = std::numeric_limits<int64_t>::max();
    domains_at_min = 0;
    for (size_t id = 0; id < counts.size(); ++id) {
      if (is_domain[id]) Track(counts[id]);
    }
  }
};

// One ScheduleAnyway constraint's scoring data (Kubernetes' preScoreState).
struct ScoreConstraint {
  size_t index = 0;
  bool per_node = false;  // hostname: the node's own pods are counted in Score
  std::shared_ptr<DomainTable> domains;  // the plugin's table for the key
  std::vector<uint8_t> is_domain;        // by domain id: a feasible node is in it
  std::vector<int64_t> counts;           // by domain id
  // ln(domains + 2) in units of 2^-32 (LnFixed32), so small topologies are not watered
  // down; integer arithmetic so that a score has the same bits on every machine.
  int64_t weight = 0;

  int64_t Count(uint32_t id) const { return id < counts.size() ? counts[id] : 0; }
};

struct ScoreData {
  std::vector<ScoreConstraint> constraints;
};

class SpreadState : public StateData {
 public:
  std::unique_ptr<StateData> Clone() const override { return std::make_unique<SpreadState>(*this); }

  std::vector<FilterConstraint> filter;
  std::shared_ptr<const ScoreData> score;  // set by PreScore; read-only after
};

// The values of the constraints' keys on a node, in constraint order; false when one is
// missing (such a node is in no domain of any of these constraints).
template <typename Constraints, typename KeyOf>
bool NodeValues(const Labels& labels, const Constraints& constraints, KeyOf key_of,
                std::array<const std::string*, kMaxConstraints>* values) {
  for (size_t i = 0; i < constraints.size(); ++i) {
    const std::string* v = NodeLabel(labels, key_of(constraints[i]));
    if (v == nullptr) return false;
    (*values)[i] = v;
  }
  return true;
}

class PodTopologySpread final : public PreFilterPlugin, public FilterPlugin, public PreScorePlugin, public ScorePlugin {
 public:
  std::string_view Name() const override { return kPodTopologySpreadName; }

  std::vector<ClusterEvent> EventsToRegister() const override {
    // A pod placed or gone changes counts; node labels and taints change domains and
    // inclusion (Kubernetes registers the same).
    return {{EventResource::kAssignedPod, kEventAdd | kEventDelete | kEventUpdatePodLabel},
            {EventResource::kNode, kEventAdd | kEventDelete | kEventUpdateNodeLabel | kEventUpdateNodeTaint}};
  }

  PluginStatus PreFilter(CycleState& state, const PodInfo& pod, const Snapshot& snapshot) const override {
    auto s = std::make_unique<SpreadState>();
    for (size_t i = 0; i < pod.spread_constraints.size(); ++i) {
      const SpreadConstraint& c = pod.spread_constraints[i];
      if (!c.do_not_schedule) continue;
      FilterConstraint fc;
      fc.index = i;
      fc.self_match = c.selector.Matches(pod.labels);
      s->filter.push_back(std::move(fc));
    }
    if (s->filter.empty()) return PluginStatus::Skip();
    if (s->filter.size() > kMaxConstraints) {
      return PluginStatus(Code::kError, fmt::format("more than {} topology spread constraints", kMaxConstraints));
    }
    std::array<const SpreadConstraint*, kMaxConstraints> constraints{};
    for (size_t i = 0; i < s->filter.size(); ++i) constraints[i] = &pod.spread_constraints[s->filter[i].index];
    const PassSetup pass = StartPass(snapshot, std::span(constraints.data(), s->filter.size()));
    for (size_t i = 0; i < s->filter.size(); ++i) s->filter[i].domains = groups_.Domains(pass.key_ids[i]);
    std::array<uint32_t, kMaxConstraints> domains{};
    std::array<int64_t, kMaxConstraints> counts{};
    const auto& nodes = snapshot.nodes();
    for (size_t pos = 0; pos < nodes.size(); ++pos) {
      if (!NodeCounts(pos, pod, pass, &domains, &counts)) continue;
      NodeInclusion inclusion(pod, *nodes[pos]->node());
      for (size_t i = 0; i < s->filter.size(); ++i) {
        if (inclusion.Includes(*constraints[i])) s->filter[i].Add(domains[i], counts[i]);
      }
    }
    state.Set(slot(), std::move(s));
    return PluginStatus::Success();
  }

  PluginStatus AddPod(CycleState& state, const PodInfo& pod, const PodInfo& other, const NodeInfo& node,
                      const Snapshot&) const override {
    return Update(state, pod, other, node, 1);
  }
  PluginStatus RemovePod(CycleState& state, const PodInfo& pod, const PodInfo& other, const NodeInfo& node,
                         const Snapshot&) const override {
    return Update(state, pod, other, node, -1);
  }

  PluginStatus Filter(const CycleState& state, const PodInfo& pod, const NodeInfo& node) const override {
    const auto* s = state.Read<SpreadState>(slot());
    if (s == nullptr || node.node() == nullptr) return PluginStatus::Success();
    const Labels& labels = node.labels();
    for (const FilterConstraint& fc : s->filter) {
      const SpreadConstraint& c = pod.spread_constraints[fc.index];
      const std::string* value = NodeLabel(labels, c.topology_key);
      if (value == nullptr) {
        return PluginStatus(Code::kUnschedulableAndUnresolvable, std::string(kReasonSpreadMissingLabel));
      }
      // Kubernetes' judging criterion: matching pods in the domain, plus the pod itself if
      // it matches, minus the global minimum, must not exceed maxSkew.
      const int64_t skew = fc.Count(fc.domains->Find(*value)) + (fc.self_match ? 1 : 0) - fc.Min(c.min_domains);
      if (skew > c.max_skew) {
        return PluginStatus(Code::kUnschedulable, std::string(kReasonSpreadConstraintsNotMatch));
      }
    }
    return PluginStatus::Success();
  }

  PluginStatus PreScore(CycleState& state, const PodInfo& pod, std::span<const NodeInfo* const> nodes,
                        const Snapshot& snapshot) const override {
    if (nodes.empty() || snapshot.nodes().empty()) return PluginStatus::Skip();
    auto data = std::make_shared<ScoreData>();
    for (size_t i = 0; i < pod.spread_constraints.size(); ++i) {
      const SpreadConstraint& c = pod.spread_constraints[i];
      if (c.do_not_schedule) continue;
      ScoreConstraint sc;
      sc.index = i;
      sc.per_node = c.topology_key == kHostnameLabel;
      data->constraints.push_back(std::move(sc));
    }
    if (data->constraints.empty()) return PluginStatus::Skip();
    if (data->constraints.size() > kMaxConstraints) {
      return PluginStatus(Code::kError, fmt::format("more than {} topology spread constraints", kMaxConstraints));
    }
    std::array<const SpreadConstraint*, kMaxConstraints> constraints{};
    for (size_t i = 0; i < data->constraints.size(); ++i) {
      constraints[i] = &pod.spread_constraints[data->constraints[i].index];
    }
    const PassSetup pass = StartPass(snapshot, std::span(constraints.data(), data->constraints.size()));
    for (size_t i = 0; i < data->constraints.size(); ++i) {
      data->constraints[i].domains = groups_.Domains(pass.key_ids[i]);
    }
    // Domains are those of the feasible nodes; nodes lacking a key score 0 (ignored).
    auto key_of = [&pod](const ScoreConstraint& sc) -> const std::string& {
      return pod.spread_constraints[sc.index].topology_key;
    };
    std::array<const std::string*, kMaxConstraints> values{};
    std::array<size_t, kMaxConstraints> num_domains{};
    size_t ignored = 0;
    for (const NodeInfo* info : nodes) {
      if (info->node() == nullptr || !NodeValues(info->labels(), data->constraints, key_of, &values)) {
        ++ignored;
        continue;
      }
      for (size_t i = 0; i < data->constraints.size(); ++i) {
        ScoreConstraint& sc = data->constraints[i];
        if (sc.per_node) continue;
        const uint32_t id = sc.domains->Intern(*values[i]);
        if (id >= sc.is_domain.size()) sc.is_domain.resize(id + 1, 0);
        if (!sc.is_domain[id]) {
          sc.is_domain[id] = 1;
          ++num_domains[i];
        }
      }
    }
    bool any_domain_counts = false;
    for (size_t i = 0; i < data->constraints.size(); ++i) {
      ScoreConstraint& sc = data->constraints[i];
      const size_t size = sc.per_node ? nodes.size() - ignored : num_domains[i];
      sc.weight = LnFixed32(size + 2);
      sc.counts.assign(sc.is_domain.size(), 0);
      any_domain_counts = any_domain_counts || !sc.per_node;
    }
    // Matching pods are counted over every node of the cluster that the constraint
    // includes, but only in domains some feasible node is in.
    if (any_domain_counts) {
      std::array<uint32_t, kMaxConstraints> domains{};
      std::array<int64_t, kMaxConstraints> counts{};
      const auto& all_nodes = snapshot.nodes();
      for (size_t pos = 0; pos < all_nodes.size(); ++pos) {
        if (groups_.node(pos).counts.empty() || !NodeCounts(pos, pod, pass, &domains, &counts)) continue;
        NodeInclusion inclusion(pod, *all_nodes[pos]->node());
        for (size_t i = 0; i < data->constraints.size(); ++i) {
          ScoreConstraint& sc = data->constraints[i];
          if (sc.per_node || counts[i] == 0 || !inclusion.Includes(*constraints[i])) continue;
          const uint32_t id = domains[i];
          if (id < sc.is_domain.size() && sc.is_domain[id]) sc.counts[id] += counts[i];
        }
      }
    }
    auto* s = state.Read<SpreadState>(slot());
    if (s == nullptr) {
      auto fresh = std::make_unique<SpreadState>();
      s = fresh.get();
      state.Set(slot(), std::move(fresh));
    }
    s->score = std::move(data);
    return PluginStatus::Success();
  }

  int64_t Score(const CycleState& state, const PodInfo& pod, const NodeInfo& node,
                PluginStatus* status) const override {
    const auto* s = state.Read<SpreadState>(slot());
    if (s == nullptr || s->score == nullptr) {
      *status = PluginStatus(Code::kError, "PodTopologySpread: Score without PreScore");
      return 0;
    }
    const ScoreData& data = *s->score;
    if (Ignored(data, pod, node)) return 0;
    // Kubernetes' sum of count * ln(size + 2) + maxSkew - 1, rounded, in fixed point. The
    // sum stays below 2^63 for any count below 2^25 per constraint (weights are below 2^37).
    int64_t score = 0;
    for (const ScoreConstraint& sc : data.constraints) {
      const SpreadConstraint& c = pod.spread_constraints[sc.index];
      const std::string* value = NodeLabel(node.labels(), c.topology_key);
      assert(value != nullptr);  // not Ignored
      int64_t count = 0;
      if (sc.per_node) {
        count = CountMatching(node.pods(), c.selector, pod.ns);
      } else {
        count = sc.Count(sc.domains->Find(*value));
      }
      // Kubernetes' scoreForCount: maxSkew-1 waters down differences between domains.
      score += count * sc.weight + (static_cast<int64_t>(c.max_skew - 1) << kFixedLogFractionBits);
    }
    return RoundFixed32(score);
  }

  // Fewer matching pods scores higher: max * (max + min - score) / max over the nodes not
  // ignored; ignored nodes score 0; all-zero raw scores all get the maximum.
  void NormalizeScore(const CycleState& state, const PodInfo& pod, std::span<const NodeInfo* const> nodes,
                      std::span<int64_t> scores) const override {
    const auto* s = state.Read<SpreadState>(slot());
    if (s == nullptr || s->score == nullptr) return;
    int64_t min_score = std::numeric_limits<int64_t>::max();
    int64_t max_score = 0;
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (Ignored(*s->score, pod, *nodes[i])) continue;
      min_score = std::min(min_score, scores[i]);
      max_score = std::max(max_score, scores[i]);
    }
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (Ignored(*s->score, pod, *nodes[i])) {
        scores[i] = 0;
      } else if (max_score == 0) {
        scores[i] = kMaxNodeScore;
      } else {
        scores[i] = kMaxNodeScore * (max_score + min_score - scores[i]) / max_score;
      }
    }
  }

 private:
  // One walk over the snapshot's nodes for some constraints (at most kMaxConstraints).
  struct PassSetup {
    std::span<const SpreadConstraint* const> constraints;
    std::array<uint32_t, kMaxConstraints> key_ids{};  // PodGroups::KeyId of each topology key
  };

  PassSetup StartPass(const Snapshot& snapshot, std::span<const SpreadConstraint* const> constraints) const {
    ++cycle_;
    groups_.Sync(snapshot);
    PassSetup pass;
    pass.constraints = constraints;
    for (size_t i = 0; i < constraints.size(); ++i) pass.key_ids[i] = groups_.KeyId(constraints[i]->topology_key);
    return pass;
  }

  // The node at `pos`'s domain for each constraint's key (ids of the plugin's tables) and
  // its count of matching pods; false if a key is missing (the node is in no domain).
  bool NodeCounts(size_t pos, const PodInfo& pod, const PassSetup& pass, std::array<uint32_t, kMaxConstraints>* domains,
                  std::array<int64_t, kMaxConstraints>* counts) const {
    const PodGroups::NodeGroups& node_groups = groups_.node(pos);
    const size_t n = pass.constraints.size();
    for (size_t i = 0; i < n; ++i) {
      (*domains)[i] = groups_.Domain(node_groups, pass.key_ids[i]);
      if ((*domains)[i] == PodGroups::kNoLabel) return false;
    }
    std::fill(counts->begin(), counts->begin() + static_cast<ptrdiff_t>(n), 0);
    for (const auto& [group, pods] : node_groups.counts) {
      const uint32_t mask = MatchMask(group, pod, pass.constraints);
      for (size_t i = 0; i < n; ++i) {
        if ((mask >> i) & 1u) (*counts)[i] += pods;
      }
    }
    return true;
  }

  // Which constraints count the pods of `group` (CountMatching's rule), once per cycle.
  uint32_t MatchMask(uint32_t group, const PodInfo& pod, std::span<const SpreadConstraint* const> constraints) const {
    if (match_masks_.size() <= group) match_masks_.resize(groups_.group_id_limit());
    auto& [cycle, mask] = match_masks_[group];
    if (cycle == cycle_) return mask;
    cycle = cycle_;
    mask = 0;
    const PodInfo& existing = groups_.representative(group);
    if (existing.terminating || existing.ns != pod.ns) return mask;
    for (size_t i = 0; i < constraints.size(); ++i) {
      const api::LabelMatcher& selector = constraints[i]->selector;
      if (!selector.Empty() && selector.Matches(existing.labels)) mask |= 1u << i;
    }
    return mask;
  }

  // A feasible node missing one of the scoring constraints' keys is left out of scoring.
  static bool Ignored(const ScoreData& data, const PodInfo& pod, const NodeInfo& node) {
    if (node.node() == nullptr) return true;
    for (const ScoreConstraint& sc : data.constraints) {
      if (NodeLabel(node.labels(), pod.spread_constraints[sc.index].topology_key) == nullptr) return true;
    }
    return false;
  }

  // Kubernetes' updateWithPod: `other` counts where PreFilter would have counted it.
  PluginStatus Update(CycleState& state, const PodInfo& pod, const PodInfo& other, const NodeInfo& node,
                      int64_t delta) const {
    auto* s = state.Read<SpreadState>(slot());
    if (s == nullptr || node.node() == nullptr) return PluginStatus::Success();
    // PreFilter leaves out other namespaces and terminating pods; so does the update, so
    // that the what-if state equals a fresh PreFilter (Kubernetes skips only the former).
    if (other.ns != pod.ns || other.terminating) return PluginStatus::Success();
    auto key_of = [&pod](const FilterConstraint& fc) -> const std::string& {
      return pod.spread_constraints[fc.index].topology_key;
    };
    std::array<const std::string*, kMaxConstraints> values{};
    if (!NodeValues(node.labels(), s->filter, key_of, &values)) return PluginStatus::Success();
    NodeInclusion inclusion(pod, *node.node());
    for (size_t i = 0; i < s->filter.size(); ++i) {
      FilterConstraint& fc = s->filter[i];
      const SpreadConstraint& c = pod.spread_constraints[fc.index];
      if (c.selector.Empty() || !c.selector.Matches(other.labels)) continue;
      if (!inclusion.Includes(c)) continue;
      fc.Add(fc.domains->Intern(*values[i]), delta);
    }
    return PluginStatus::Success();
  }

  // Caches across cycles (pod_groups.h): existing pods grouped by namespace, labels and
  // whether they terminate; and per group, for the current pass, which constraints count
  // it (valid while its cycle equals cycle_).
  mutable PodGroups groups_{SpreadGroupKey};
  mutable uint64_t cycle_ = 0;
  mutable std::vector<std::pair<uint64_t, uint32_t>> match_masks_;
};

}  // namespace

Status NewPodTopologySpread(const nlohmann::json& args, std::unique_ptr<Plugin>* out) {
  if (!args.is_null()) {
    if (!args.is_object()) return Status::InvalidArgument("args: must be an object");
    std::string defaulting = "System";
    for (const auto& [field, value] : args.items()) {
      if (field == "apiVersion" || field == "kind") continue;
      if (field == "defaultingType") {
        if (!value.is_string()) return Status::InvalidArgument("args.defaultingType: must be a string");
        defaulting = value.get<std::string>();
        if (defaulting != "System" && defaulting != "List") {
          return Status::InvalidArgument(
              fmt::format("args.defaultingType: unsupported value \"{}\" (System or List)", defaulting));
        }
      } else if (field == "defaultConstraints") {
        if (!value.is_null() && !value.is_array()) {
          return Status::InvalidArgument("args.defaultConstraints: must be a list");
        }
        if (value.is_array() && !value.empty()) {
          return Status::InvalidArgument(
              "args.defaultConstraints: not supported by ksim (default constraints need the selectors of the "
              "pod's Services and controllers)");
        }
      } else {
        return Status::InvalidArgument(fmt::format("args.{}: unknown field", field));
      }
    }
  }
  *out = std::make_unique<PodTopologySpread>();
  return Status::Ok();
}

}  // namespace ksim::scheduler
