#include "cluster/scheduler/plugins/pod_topology_spread.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "cluster/scheduler/plugins/topology_domains.h"

namespace ksim::scheduler {
namespace {

constexpr std::string_view kHostnameLabel = "kubernetes.io/hostname";
// A pod has a handful of constraints; the per-node scratch arrays are sized for this many
// and PreFilter/PreScore refuse more (Kubernetes bounds nothing, but no real pod comes close).
constexpr size_t kMaxConstraints = 16;

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
struct FilterConstraint {
  size_t index = 0;  // into PodInfo::spread_constraints
  bool self_match = false;
  std::shared_ptr<DomainIndex> domains;  // shared by clones until one adds a domain
  std::vector<int64_t> counts;           // by domain id
  int64_t min_count = std::numeric_limits<int64_t>::max();
  int64_t domains_at_min = 0;

  int64_t Count(uint32_t id) const { return id < counts.size() ? counts[id] : 0; }

  // The global minimum as Filter uses it: 0 while there are fewer domains than minDomains.
  int64_t Min(int32_t min_domains) const {
    if (counts.size() < static_cast<size_t>(min_domains)) return 0;
    return min_count;
  }

  // Adds `delta` to the domain `value` (creating it), for PreFilter and AddPod/RemovePod.
  // `pin` (AddPod/RemovePod) keeps the node's labels alive if its value is a new domain.
  void Add(std::string_view value, int64_t delta, const std::shared_ptr<const NodeData>* pin) {
    if (domains.use_count() > 1 && domains->Find(value) == DomainIndex::kNone) {
      domains = std::make_shared<DomainIndex>(*domains);
    }
    const size_t known = domains->size();
    const uint32_t id = domains->Intern(value);
    if (id == known) {
      if (pin != nullptr) domains->Pin(*pin);
      assert(id == counts.size());
      counts.push_back(0);
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
    for (int64_t c : counts) Track(c);
  }
};

// One ScheduleAnyway constraint's scoring data (Kubernetes' preScoreState).
struct ScoreConstraint {
  size_t index = 0;
  bool per_node = false;  // hostname: the node's own pods are counted in Score
  DomainIndex domains;    // domains of the filtered nodes
  std::vector<int64_t> counts;
  double weight = 0;  // log(domains + 2), so small topologies are not watered down
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
      fc.domains = std::make_shared<DomainIndex>();
      s->filter.push_back(std::move(fc));
    }
    if (s->filter.empty()) return PluginStatus::Skip();
    if (s->filter.size() > kMaxConstraints) {
      return PluginStatus(Code::kError, fmt::format("more than {} topology spread constraints", kMaxConstraints));
    }
    auto key_of = [&pod](const FilterConstraint& fc) -> const std::string& {
      return pod.spread_constraints[fc.index].topology_key;
    };
    std::array<const std::string*, kMaxConstraints> values{};
    for (const NodeInfoPtr& info : snapshot.nodes()) {
      const NodeData* node = info->node();
      if (node == nullptr || !NodeValues(node->labels, s->filter, key_of, &values)) continue;
      NodeInclusion inclusion(pod, *node);
      for (size_t i = 0; i < s->filter.size(); ++i) {
        FilterConstraint& fc = s->filter[i];
        const SpreadConstraint& c = pod.spread_constraints[fc.index];
        if (!inclusion.Includes(c)) continue;
        fc.Add(*values[i], CountMatching(info->pods(), c.selector, pod.ns), nullptr);
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
    auto key_of = [&pod](const ScoreConstraint& sc) -> const std::string& {
      return pod.spread_constraints[sc.index].topology_key;
    };
    std::array<const std::string*, kMaxConstraints> values{};
    // Domains are those of the feasible nodes; nodes lacking a key score 0 (ignored).
    size_t ignored = 0;
    for (const NodeInfo* info : nodes) {
      if (info->node() == nullptr || !NodeValues(info->labels(), data->constraints, key_of, &values)) {
        ++ignored;
        continue;
      }
      for (size_t i = 0; i < data->constraints.size(); ++i) {
        if (!data->constraints[i].per_node) data->constraints[i].domains.Intern(*values[i]);
      }
    }
    bool any_domain_counts = false;
    for (ScoreConstraint& sc : data->constraints) {
      const size_t size = sc.per_node ? nodes.size() - ignored : sc.domains.size();
      sc.weight = std::log(static_cast<double>(size + 2));
      sc.counts.assign(sc.domains.size(), 0);
      any_domain_counts = any_domain_counts || !sc.per_node;
    }
    // Matching pods are counted over every node of the cluster that the constraint
    // includes, but only in domains some feasible node is in.
    if (any_domain_counts) {
      for (const NodeInfoPtr& info : snapshot.nodes()) {
        const NodeData* node = info->node();
        if (node == nullptr || info->pods().empty() || !NodeValues(node->labels, data->constraints, key_of, &values)) {
          continue;
        }
        NodeInclusion inclusion(pod, *node);
        for (size_t i = 0; i < data->constraints.size(); ++i) {
          ScoreConstraint& sc = data->constraints[i];
          if (sc.per_node) continue;
          const SpreadConstraint& c = pod.spread_constraints[sc.index];
          if (!inclusion.Includes(c)) continue;
          const uint32_t id = sc.domains.Find(*values[i]);
          if (id == DomainIndex::kNone) continue;
          sc.counts[id] += CountMatching(info->pods(), c.selector, pod.ns);
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

  int64_t Score(const CycleState& state, const PodInfo& pod, const NodeInfo& node, PluginStatus* status) const override {
    const auto* s = state.Read<SpreadState>(slot());
    if (s == nullptr || s->score == nullptr) {
      *status = PluginStatus(Code::kError, "PodTopologySpread: Score without PreScore");
      return 0;
    }
    const ScoreData& data = *s->score;
    if (Ignored(data, pod, node)) return 0;
    double score = 0;
    for (const ScoreConstraint& sc : data.constraints) {
      const SpreadConstraint& c = pod.spread_constraints[sc.index];
      const std::string* value = NodeLabel(node.labels(), c.topology_key);
      assert(value != nullptr);  // not Ignored
      int64_t count = 0;
      if (sc.per_node) {
        count = CountMatching(node.pods(), c.selector, pod.ns);
      } else {
        const uint32_t id = sc.domains.Find(*value);
        count = id == DomainIndex::kNone ? 0 : sc.counts[id];
      }
      // Kubernetes' scoreForCount: maxSkew-1 waters down differences between domains.
      score += static_cast<double>(count) * sc.weight + static_cast<double>(c.max_skew - 1);
    }
    return static_cast<int64_t>(std::round(score));
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
      fc.Add(*values[i], delta, &node.node_ptr());
    }
    return PluginStatus::Success();
  }
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
