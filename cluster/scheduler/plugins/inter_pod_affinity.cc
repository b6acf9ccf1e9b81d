#include "cluster/scheduler/plugins/inter_pod_affinity.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "cluster/scheduler/plugins/pod_groups.h"
#include "cluster/scheduler/plugins/topology_domains.h"

namespace ksim::scheduler {
namespace {

const Labels& NoLabels() {
  static const Labels* none = new Labels();
  return *none;
}

// Whether `term` selects a pod of namespace `ns` with `labels` (AffinityTerm::Matches), looking
// the namespace's labels up only when the term's namespaceSelector has to decide.
template <typename NamespaceLabelsFn>
bool TermSelects(const AffinityTerm& term, const std::string& ns, NamespaceLabelsFn namespace_labels,
                 const Labels& labels) {
  const bool listed = std::binary_search(term.namespaces.begin(), term.namespaces.end(), ns);
  if (!listed && !term.namespace_selector.has_value()) return false;
  if (!term.selector.Matches(labels)) return false;
  if (listed) return true;
  const Labels* ns_labels = namespace_labels();
  return term.namespace_selector->Matches(ns_labels != nullptr ? *ns_labels : NoLabels());
}

// An existing pod selected by one of the incoming pod's terms.
bool TermSelectsPod(const AffinityTerm& term, const PodInfo& existing, const Snapshot& snapshot) {
  return TermSelects(term, existing.ns, [&] { return snapshot.NamespaceLabels(existing.ns); }, existing.labels);
}

// Kubernetes' podMatchesAllAffinityTerms: false for no terms.
bool SelectedByAll(const std::vector<AffinityTerm>& terms, const PodInfo& existing, const Snapshot& snapshot) {
  if (terms.empty()) return false;
  for (const AffinityTerm& term : terms) {
    if (!TermSelectsPod(term, existing, snapshot)) return false;
  }
  return true;
}

// The state's count tables, each keyed by (topology key, domain).
enum Table : size_t {
  kExistingAnti = 0,  // existing pods whose required anti-affinity terms select the pod
  kAffinity,          // existing pods selected by all of the pod's required affinity terms
  kAnti,              // existing pods selected by one of the pod's required anti-affinity terms
  kScore,             // preferred-term weights (PreScore)
  kNumTables,
};

struct TableCounts {
  std::vector<int64_t> by_domain;  // may be shorter than the key's domains: missing is 0
  int64_t nonzero = 0;             // domains whose count is not 0
};

struct TopologyKey {
  std::string name;
  uint32_t group_key_id = 0;              // PodGroups::KeyId(name)
  std::shared_ptr<DomainTable> domains;  // the plugin's, shared by every state (append-only)
  std::array<TableCounts, kNumTables> tables;
};

// A node's domain per topology key: not looked up yet, node lacks the key, or an id
// (DomainIndex::kNone when the value is no known domain: every count is 0 there).
constexpr uint32_t kMissingLabel = PodGroups::kNoLabel;
constexpr uint32_t kNotLookedUp = PodGroups::kNoLabel - 1;
// Lookups per node are memoized for this many keys (a pod names one or two keys).
constexpr size_t kMemoKeys = 8;

class AffinityState : public StateData {
 public:
  std::unique_ptr<StateData> Clone() const override { return std::make_unique<AffinityState>(*this); }

  uint32_t KeySlot(const std::string& name, PodGroups& groups) {
    for (size_t i = 0; i < keys.size(); ++i) {
      if (keys[i].name == name) return static_cast<uint32_t>(i);
    }
    const uint32_t key_id = groups.KeyId(name);
    keys.push_back(TopologyKey{name, key_id, groups.Domains(key_id), {}});
    return static_cast<uint32_t>(keys.size() - 1);
  }

  void Add(Table table, uint32_t key, uint32_t id, int64_t delta) {
    TableCounts& t = keys[key].tables[table];
    if (id >= t.by_domain.size()) t.by_domain.resize(id + 1, 0);
    const int64_t old = t.by_domain[id];
    const int64_t now = old + delta;
    t.by_domain[id] = now;
    const int64_t change = (now != 0 ? 1 : 0) - (old != 0 ? 1 : 0);
    t.nonzero += change;
    nonzero[table] += change;
  }

  int64_t Count(Table table, uint32_t key, uint32_t id) const {
    const auto& counts = keys[key].tables[table].by_domain;
    return id < counts.size() ? counts[id] : 0;
  }

  // A node's domain in key `key` for reading: kMissingLabel, kNone or an id.
  uint32_t FindDomain(uint32_t key, const Labels& labels) const {
    const std::string* value = NodeLabel(labels, keys[key].name);
    if (value == nullptr) return kMissingLabel;
    return keys[key].domains->Find(*value);
  }

  std::vector<TopologyKey> keys;
  std::array<int64_t, kNumTables> nonzero{};  // per table, over every key
  // Key slot of each of the pod's required affinity / anti-affinity terms.
  std::vector<uint32_t> affinity_keys;
  std::vector<uint32_t> anti_keys;
  // The pod is selected by all its own required affinity terms (first pod of a group).
  bool self_selected = false;
};

// Adds to a state's counts for the pods of one node, looking the node's domain up once per
// key. `domain_of(key slot)` gives the node's domain id in that key's table, or
// kMissingLabel.
template <typename DomainOf>
class NodeCounter {
 public:
  NodeCounter(AffinityState& state, DomainOf domain_of) : state_(state), domain_of_(domain_of) {
    memo_.fill(kNotLookedUp);
  }

  void Add(Table table, uint32_t key, int64_t delta) {
    uint32_t id;
    if (key < kMemoKeys) {
      if (memo_[key] == kNotLookedUp) memo_[key] = domain_of_(key);
      id = memo_[key];
    } else {
      id = domain_of_(key);
    }
    if (id != kMissingLabel) state_.Add(table, key, id, delta);
  }

 private:
  AffinityState& state_;
  DomainOf domain_of_;
  std::array<uint32_t, kMemoKeys> memo_;
};

// A counter reading the labels of a NodeInfo (any copy, for AddPod/RemovePod).
auto CounterFor(AffinityState& state, const NodeInfo& node) {
  auto domain_of = [&state, &labels = node.labels()](uint32_t key) {
    const std::string* value = NodeLabel(labels, state.keys[key].name);
    return value == nullptr ? kMissingLabel : state.keys[key].domains->Intern(*value);
  };
  return NodeCounter<decltype(domain_of)>(state, domain_of);
}

// Domains of a snapshot node through the group summaries' memo.
struct GroupDomains {
  PodGroups* groups;
  AffinityState* state;
  const PodGroups::NodeGroups* node_groups;
  uint32_t operator()(uint32_t key) const {
    const TopologyKey& k = state->keys[key];
    // A state made before the plugin replaced the table interns on its own.
    if (k.domains != groups->Domains(k.group_key_id)) {
      const std::string* value = groups->LabelValue(*node_groups, k.group_key_id);
      return value == nullptr ? kMissingLabel : k.domains->Intern(*value);
    }
    return groups->Domain(*node_groups, k.group_key_id);
  }
};

// A key for grouping existing pods: everything this plugin reads of one (namespace,
// labels, and its affinity terms with their weights). Separators are bytes no label,
// namespace or selector text contains.
void AppendTerm(const AffinityTerm& term, std::string* key) {
  *key += term.selector.String();
  *key += '\x01';
  for (const std::string& ns : term.namespaces) {
    *key += ns;
    *key += ',';
  }
  *key += '\x01';
  if (term.namespace_selector.has_value()) {
    *key += '+';
    *key += term.namespace_selector->String();
  }
  *key += '\x01';
  *key += term.topology_key;
  *key += '\x02';
}

std::string AffinityGroupKey(const PodInfo& pod) {
  std::string key = pod.ns;
  key += '\0';
  for (const auto& [k, v] : pod.labels) {
    key += k;
    key += '=';
    key += v;
    key += '\0';
  }
  auto terms = [&key](char kind, const std::vector<AffinityTerm>& list) {
    for (const AffinityTerm& term : list) {
      key += kind;
      AppendTerm(term, &key);
    }
  };
  auto weighted = [&key](char kind, const std::vector<WeightedAffinityTerm>& list) {
    for (const WeightedAffinityTerm& wt : list) {
      key += kind;
      key += std::to_string(wt.weight);
      AppendTerm(wt.term, &key);
    }
  };
  terms('A', pod.required_affinity);
  terms('N', pod.required_anti_affinity);
  weighted('a', pod.preferred_affinity);
  weighted('n', pod.preferred_anti_affinity);
  return key;
}

// What one group of existing pods means for the incoming pod's Filter state, computed once
// per cycle.
struct FilterEffect {
  uint64_t cycle = 0;
  std::vector<uint32_t> existing_anti_keys;  // (a): key slot of each of its anti terms selecting the pod
  bool selected_by_all = false;              // (b): selected by all the pod's affinity terms
  std::vector<uint32_t> anti_terms;          // (c): the pod's anti terms selecting it
};

// What one group means for the incoming pod's score: weight per key slot.
struct ScoreEffect {
  uint64_t cycle = 0;
  std::vector<std::pair<uint32_t, int64_t>> weights;
};

// The same, read-only, for Filter and Score.
class NodeDomains {
 public:
  NodeDomains(const AffinityState& state, const Labels& labels) : state_(state), labels_(labels) {
    memo_.fill(kNotLookedUp);
  }
  uint32_t Get(uint32_t key) {
    if (key >= kMemoKeys) return state_.FindDomain(key, labels_);
    if (memo_[key] == kNotLookedUp) memo_[key] = state_.FindDomain(key, labels_);
    return memo_[key];
  }

 private:
  const AffinityState& state_;
  const Labels& labels_;
  std::array<uint32_t, kMemoKeys> memo_;
};

class InterPodAffinity final : public PreFilterPlugin, public FilterPlugin, public PreScorePlugin, public ScorePlugin {
 public:
  InterPodAffinity(int32_t hard_pod_affinity_weight, bool ignore_preferred_terms_of_existing_pods)
      : hard_pod_affinity_weight_(hard_pod_affinity_weight),
        ignore_preferred_terms_of_existing_pods_(ignore_preferred_terms_of_existing_pods) {}

  std::string_view Name() const override { return kInterPodAffinityName; }

  std::vector<ClusterEvent> EventsToRegister() const override {
    // A pod placed, relabeled or gone changes who matches where; node labels change
    // domains (Kubernetes registers the same).
    return {{EventResource::kAssignedPod, kEventAdd | kEventDelete | kEventUpdatePodLabel},
            {EventResource::kNode, kEventAdd | kEventUpdateNodeLabel}};
  }

  PluginStatus PreFilter(CycleState& state, const PodInfo& pod, const Snapshot& snapshot) const override {
    const bool has_required = !pod.required_affinity.empty() || !pod.required_anti_affinity.empty();
    if (!has_required && snapshot.have_pods_with_required_anti_affinity().empty()) return PluginStatus::Skip();
    if (has_required) {
      ++cycle_;
      groups_.Sync(snapshot);  // first: it may replace the domain tables states take
    }
    auto s = std::make_unique<AffinityState>();
    const Labels* pod_ns_labels = snapshot.NamespaceLabels(pod.ns);
    for (const AffinityTerm& term : pod.required_affinity) {
      s->affinity_keys.push_back(s->KeySlot(term.topology_key, groups_));
    }
    for (const AffinityTerm& term : pod.required_anti_affinity) {
      s->anti_keys.push_back(s->KeySlot(term.topology_key, groups_));
    }
    if (has_required) {
      // (a), (b), (c) over every node, a group of alike pods at a time.
      const auto& nodes = snapshot.nodes();
      for (size_t pos = 0; pos < nodes.size(); ++pos) {
        const PodGroups::NodeGroups& node_groups = groups_.node(pos);
        if (node_groups.counts.empty() || nodes[pos]->node() == nullptr) continue;
        auto counter = GroupCounter(*s, node_groups);
        for (const auto& [group, count] : node_groups.counts) {
          const FilterEffect& e = EffectOf(group, *s, pod, pod_ns_labels, snapshot);
          for (uint32_t key : e.existing_anti_keys) counter.Add(kExistingAnti, key, count);
          if (e.selected_by_all) {
            for (uint32_t key : s->affinity_keys) counter.Add(kAffinity, key, count);
          }
          for (uint32_t term : e.anti_terms) counter.Add(kAnti, s->anti_keys[term], count);
        }
      }
      s->self_selected = SelectedByAll(pod.required_affinity, pod, snapshot);
    } else {
      // (a) only: existing pods whose required anti-affinity selects the pod.
      for (const NodeInfo* node : snapshot.have_pods_with_required_anti_affinity()) {
        if (node->node() == nullptr) continue;
        auto counter = CounterFor(*s, *node);
        for (const PodInfoPtr& existing : node->pods_with_required_anti_affinity()) {
          for (const AffinityTerm& term : existing->required_anti_affinity) {
            if (TermSelects(term, pod.ns, [&] { return pod_ns_labels; }, pod.labels)) {
              counter.Add(kExistingAnti, s->KeySlot(term.topology_key, groups_), 1);
            }
          }
        }
      }
    }
    // Kubernetes skips when nothing can reject a node: no required terms of its own and no
    // existing pod's anti-affinity selecting it.
    if (!has_required && s->nonzero[kExistingAnti] == 0) return PluginStatus::Skip();
    state.Set(slot(), std::move(s));
    return PluginStatus::Success();
  }

  PluginStatus AddPod(CycleState& state, const PodInfo& pod, const PodInfo& other, const NodeInfo& node,
                      const Snapshot& snapshot) const override {
    return Update(state, pod, other, node, snapshot, 1);
  }
  PluginStatus RemovePod(CycleState& state, const PodInfo& pod, const PodInfo& other, const NodeInfo& node,
                         const Snapshot& snapshot) const override {
    return Update(state, pod, other, node, snapshot, -1);
  }

  PluginStatus Filter(const CycleState& state, const PodInfo& pod, const NodeInfo& node) const override {
    const auto* s = state.Read<AffinityState>(slot());
    if (s == nullptr || node.node() == nullptr) return PluginStatus::Success();
    NodeDomains domains(*s, node.labels());
    if (!pod.required_affinity.empty()) {
      bool pods_exist = true;
      for (uint32_t key : s->affinity_keys) {
        const uint32_t id = domains.Get(key);
        // Every term's topology key must be on the node.
        if (id == kMissingLabel) return AffinityMismatch();
        if (s->Count(kAffinity, key, id) <= 0) pods_exist = false;
      }
      // The first pod of a group: nothing in the cluster matches the terms yet, and the pod
      // matches them itself.
      if (!pods_exist && !(s->nonzero[kAffinity] == 0 && s->self_selected)) return AffinityMismatch();
    }
    if (s->nonzero[kAnti] > 0) {
      for (uint32_t key : s->anti_keys) {
        if (s->Count(kAnti, key, domains.Get(key)) > 0) {
          return PluginStatus(Code::kUnschedulable, std::string(kReasonAntiAffinityRulesNotMatch));
        }
      }
    }
    if (s->nonzero[kExistingAnti] > 0) {
      for (uint32_t key = 0; key < s->keys.size(); ++key) {
        if (s->keys[key].tables[kExistingAnti].nonzero == 0) continue;
        if (s->Count(kExistingAnti, key, domains.Get(key)) > 0) {
          return PluginStatus(Code::kUnschedulable, std::string(kReasonExistingAntiAffinityRulesNotMatch));
        }
      }
    }
    return PluginStatus::Success();
  }

  PluginStatus PreScore(CycleState& state, const PodInfo& pod, std::span<const NodeInfo* const> nodes,
                        const Snapshot& snapshot) const override {
    if (nodes.empty()) return PluginStatus::Skip();
    const bool has_preferred = !pod.preferred_affinity.empty() || !pod.preferred_anti_affinity.empty();
    if (ignore_preferred_terms_of_existing_pods_ && !has_preferred) return PluginStatus::Skip();
    // Kubernetes walks only pods with affinity terms unless the pod has preferred terms;
    // the groups below walk every pod, which comes to the same: a pod without terms weighs
    // in only through the incoming pod's preferred terms.
    if (!has_preferred && snapshot.have_pods_with_affinity().empty()) return PluginStatus::Skip();
    auto* s = state.Read<AffinityState>(slot());
    if (s == nullptr) {
      auto fresh = std::make_unique<AffinityState>();
      s = fresh.get();
      state.Set(slot(), std::move(fresh));
    }
    for (TopologyKey& key : s->keys) key.tables[kScore] = TableCounts();
    s->nonzero[kScore] = 0;
    ++cycle_;
    groups_.Sync(snapshot);
    const Labels* pod_ns_labels = snapshot.NamespaceLabels(pod.ns);
    const auto& all_nodes = snapshot.nodes();
    for (size_t pos = 0; pos < all_nodes.size(); ++pos) {
      const PodGroups::NodeGroups& node_groups = groups_.node(pos);
      if (node_groups.counts.empty()) continue;
      auto counter = GroupCounter(*s, node_groups);
      bool node_checked = false;
      for (const auto& [group, count] : node_groups.counts) {
        const ScoreEffect& e = ScoreEffectOf(group, *s, pod, pod_ns_labels, snapshot);
        if (e.weights.empty()) continue;
        if (!node_checked) {
          // Kubernetes' processExistingPod: nothing for a node without labels.
          if (all_nodes[pos]->node() == nullptr || all_nodes[pos]->labels().empty()) break;
          node_checked = true;
        }
        for (const auto& [key, weight] : e.weights) counter.Add(kScore, key, weight * count);
      }
    }
    // All-zero raw scores normalize to all zeros, the same as not scoring.
    if (s->nonzero[kScore] == 0) return PluginStatus::Skip();
    return PluginStatus::Success();
  }

  int64_t Score(const CycleState& state, const PodInfo&, const NodeInfo& node, PluginStatus* status) const override {
    const auto* s = state.Read<AffinityState>(slot());
    if (s == nullptr) {
      *status = PluginStatus(Code::kError, "InterPodAffinity: Score without PreScore");
      return 0;
    }
    if (node.node() == nullptr) return 0;
    NodeDomains domains(*s, node.labels());
    int64_t score = 0;
    for (uint32_t key = 0; key < s->keys.size(); ++key) {
      if (s->keys[key].tables[kScore].nonzero == 0) continue;
      score += s->Count(kScore, key, domains.Get(key));
    }
    return score;
  }

  // Min-max to 0..kMaxNodeScore, as Kubernetes (all equal: all 0).
  void NormalizeScore(const CycleState& state, const PodInfo&, std::span<const NodeInfo* const>,
                      std::span<int64_t> scores) const override {
    const auto* s = state.Read<AffinityState>(slot());
    if (s == nullptr || s->nonzero[kScore] == 0 || scores.empty()) return;
    const auto [min_it, max_it] = std::minmax_element(scores.begin(), scores.end());
    const int64_t min_score = *min_it;
    const int64_t diff = *max_it - min_score;
    for (int64_t& score : scores) {
      score = diff > 0 ? static_cast<int64_t>(static_cast<double>(kMaxNodeScore) *
                                              (static_cast<double>(score - min_score) / static_cast<double>(diff)))
                       : 0;
    }
  }

 private:
  static PluginStatus AffinityMismatch() {
    return PluginStatus(Code::kUnschedulableAndUnresolvable, std::string(kReasonAffinityRulesNotMatch));
  }

  // Counts `existing` against the pod's required terms: (b) if all affinity terms select
  // it, one per term in the term's domain; (c) one per anti-affinity term selecting it.
  template <typename Counter>
  static void CountExisting(const AffinityState& s, const PodInfo& pod, const PodInfo& existing,
                            const Snapshot& snapshot, Counter& counter, int64_t delta) {
    if (SelectedByAll(pod.required_affinity, existing, snapshot)) {
      for (uint32_t key : s.affinity_keys) counter.Add(kAffinity, key, delta);
    }
    for (size_t i = 0; i < pod.required_anti_affinity.size(); ++i) {
      if (TermSelectsPod(pod.required_anti_affinity[i], existing, snapshot)) counter.Add(kAnti, s.anti_keys[i], delta);
    }
  }

  NodeCounter<GroupDomains> GroupCounter(AffinityState& s, const PodGroups::NodeGroups& node_groups) const {
    return NodeCounter<GroupDomains>(s, GroupDomains{&groups_, &s, &node_groups});
  }

  // The Filter-side meaning of a group for this cycle's pod (a), (b), (c), from one of its
  // pods.
  const FilterEffect& EffectOf(uint32_t group, AffinityState& s, const PodInfo& pod, const Labels* pod_ns_labels,
                               const Snapshot& snapshot) const {
    if (filter_effects_.size() <= group) filter_effects_.resize(groups_.group_id_limit());
    FilterEffect& e = filter_effects_[group];
    if (e.cycle == cycle_) return e;
    e.cycle = cycle_;
    e.existing_anti_keys.clear();
    e.anti_terms.clear();
    const PodInfo& existing = groups_.representative(group);
    for (const AffinityTerm& term : existing.required_anti_affinity) {
      if (TermSelects(term, pod.ns, [&] { return pod_ns_labels; }, pod.labels)) {
        e.existing_anti_keys.push_back(s.KeySlot(term.topology_key, groups_));
      }
    }
    e.selected_by_all = SelectedByAll(pod.required_affinity, existing, snapshot);
    for (size_t i = 0; i < pod.required_anti_affinity.size(); ++i) {
      if (TermSelectsPod(pod.required_anti_affinity[i], existing, snapshot)) {
        e.anti_terms.push_back(static_cast<uint32_t>(i));
      }
    }
    return e;
  }

  // The score-side meaning of a group (Kubernetes' processExistingPod for one of its pods).
  const ScoreEffect& ScoreEffectOf(uint32_t group, AffinityState& s, const PodInfo& pod, const Labels* pod_ns_labels,
                                   const Snapshot& snapshot) const {
    if (score_effects_.size() <= group) score_effects_.resize(groups_.group_id_limit());
    ScoreEffect& e = score_effects_[group];
    if (e.cycle == cycle_) return e;
    e.cycle = cycle_;
    e.weights.clear();
    const PodInfo& existing = groups_.representative(group);
    auto add = [&](const std::string& key, int64_t weight) { e.weights.emplace_back(s.KeySlot(key, groups_), weight); };
    auto selects_pod = [&](const AffinityTerm& term) {
      return TermSelects(term, pod.ns, [&] { return pod_ns_labels; }, pod.labels);
    };
    for (const auto& wt : pod.preferred_affinity) {
      if (TermSelectsPod(wt.term, existing, snapshot)) add(wt.term.topology_key, wt.weight);
    }
    for (const auto& wt : pod.preferred_anti_affinity) {
      if (TermSelectsPod(wt.term, existing, snapshot)) add(wt.term.topology_key, -wt.weight);
    }
    if (hard_pod_affinity_weight_ > 0) {
      for (const AffinityTerm& term : existing.required_affinity) {
        if (selects_pod(term)) add(term.topology_key, hard_pod_affinity_weight_);
      }
    }
    for (const auto& wt : existing.preferred_affinity) {
      if (selects_pod(wt.term)) add(wt.term.topology_key, wt.weight);
    }
    for (const auto& wt : existing.preferred_anti_affinity) {
      if (selects_pod(wt.term)) add(wt.term.topology_key, -wt.weight);
    }
    return e;
  }

  // Kubernetes' updateWithPod: `other` counted (delta 1) or uncounted (-1) on `node` as
  // PreFilter counts it, so the what-if state equals PreFilter over the changed cluster.
  PluginStatus Update(CycleState& state, const PodInfo& pod, const PodInfo& other, const NodeInfo& node,
                      const Snapshot& snapshot, int64_t delta) const {
    auto* s = state.Read<AffinityState>(slot());
    if (s == nullptr || node.node() == nullptr) return PluginStatus::Success();
    auto counter = CounterFor(*s, node);
    const Labels* pod_ns_labels = snapshot.NamespaceLabels(pod.ns);
    for (const AffinityTerm& term : other.required_anti_affinity) {
      if (TermSelects(term, pod.ns, [&] { return pod_ns_labels; }, pod.labels)) {
        counter.Add(kExistingAnti, s->KeySlot(term.topology_key, groups_), delta);
      }
    }
    CountExisting(*s, pod, other, snapshot, counter, delta);
    return PluginStatus::Success();
  }

  int32_t hard_pod_affinity_weight_;
  bool ignore_preferred_terms_of_existing_pods_;
  // Caches across cycles (pod_groups.h): existing pods grouped, and each group's meaning
  // for the current cycle's pod (valid while its `cycle` equals cycle_).
  mutable PodGroups groups_{AffinityGroupKey};
  mutable uint64_t cycle_ = 0;
  mutable std::vector<FilterEffect> filter_effects_;
  mutable std::vector<ScoreEffect> score_effects_;
};

}  // namespace

Status NewInterPodAffinity(const nlohmann::json& args, std::unique_ptr<Plugin>* out) {
  int32_t hard_weight = 1;
  bool ignore_existing = false;
  if (!args.is_null()) {
    if (!args.is_object()) return Status::InvalidArgument("args: must be an object");
    for (const auto& [field, value] : args.items()) {
      if (field == "apiVersion" || field == "kind") continue;
      if (field == "hardPodAffinityWeight") {
        if (!value.is_number_integer()) {
          return Status::InvalidArgument("args.hardPodAffinityWeight: must be an integer");
        }
        const int64_t w = value.get<int64_t>();
        if (w < 0 || w > 100) {
          return Status::InvalidArgument(fmt::format("args.hardPodAffinityWeight: {} is not in the range [0, 100]", w));
        }
        hard_weight = static_cast<int32_t>(w);
      } else if (field == "ignorePreferredTermsOfExistingPods") {
        if (!value.is_boolean()) {
          return Status::InvalidArgument("args.ignorePreferredTermsOfExistingPods: must be a boolean");
        }
        ignore_existing = value.get<bool>();
      } else {
        return Status::InvalidArgument(fmt::format("args.{}: unknown field", field));
      }
    }
  }
  *out = std::make_unique<InterPodAffinity>(hard_weight, ignore_existing);
  return Status::Ok();
}

}  // namespace ksim::scheduler
