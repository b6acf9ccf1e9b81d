#include "cluster/scheduler/plugins/node_affinity.h"

#include <algorithm>
#include <cassert>
#include <iterator>
#include <string>

#include "cluster/api/codec.h"
#include "cluster/scheduler/plugins/node_plugin_util.h"

namespace ksim::scheduler {
namespace {

bool SelectorMatches(const Labels& selector, const Labels& node_labels) {
  for (const auto& [key, value] : selector) {
    auto it = node_labels.find(key);
    if (it == node_labels.end() || it->second != value) return false;
  }
  return true;
}

// Kubernetes' PreFilter check: when every required term pins metadata.name with In, the
// nodes the pod may use are the union over terms of the intersection of each term's name
// lists; an empty union means no node can ever match.
bool NameTermsConflict(const NodeSelector& selector) {
  if (selector.terms.empty()) return false;
  bool any_name = false;
  for (const NodeSelectorTerm& term : selector.terms) {
    std::optional<std::vector<std::string>> names;  // sorted
    for (const NodeSelectorRequirement& r : term.match_fields) {
      if (r.key != "metadata.name" || r.op != NodeSelectorRequirement::Op::kIn) continue;
      if (!names.has_value()) {
        names = r.values;
      } else {
        std::vector<std::string> both;
        std::set_intersection(names->begin(), names->end(), r.values.begin(), r.values.end(), std::back_inserter(both));
        names = std::move(both);
      }
    }
    // A term without a name requirement admits any node: no conflict.
    if (!names.has_value()) return false;
    if (!names->empty()) any_name = true;
  }
  return !any_name;
}

int64_t PreferredWeight(const std::vector<PreferredNodeTerm>& terms, const NodeInfo& node) {
  int64_t sum = 0;
  for (const PreferredNodeTerm& term : terms) {
    if (term.weight != 0 && term.term.Matches(node.labels(), node.name())) sum += term.weight;
  }
  return sum;
}

// "spec.affinity.nodeAffinity.x: ..." -> "args.addedAffinity.x: ...".
std::string ArgsField(const std::string& message) {
  constexpr std::string_view kPodPrefix = "spec.affinity.nodeAffinity";
  if (message.starts_with(kPodPrefix)) return "args.addedAffinity" + message.substr(kPodPrefix.size());
  return "args.addedAffinity: " + message;
}

}  // namespace

std::vector<ClusterEvent> NodeAffinity::EventsToRegister() const {
  return {{EventResource::kNode, kEventAdd | kEventUpdateNodeLabel}};
}

PluginStatus NodeAffinity::PreFilter(CycleState&, const PodInfo& pod, const Snapshot&) const {
  if (pod.node_selector.empty() && !pod.required_node_affinity.has_value() && !added_required_.has_value()) {
    return PluginStatus::Skip();
  }
  if (pod.required_node_affinity.has_value() && NameTermsConflict(*pod.required_node_affinity)) {
    return PluginStatus(Code::kUnschedulableAndUnresolvable, std::string(kReasonNodeAffinityConflict));
  }
  return PluginStatus::Success();
}

PluginStatus NodeAffinity::Filter(const CycleState&, const PodInfo& pod, const NodeInfo& node) const {
  assert(node.node() != nullptr);
  if (added_required_.has_value() && !added_required_->Matches(node.labels(), node.name())) {
    return PluginStatus(Code::kUnschedulableAndUnresolvable, std::string(kReasonNodeAffinityEnforced));
  }
  if (!SelectorMatches(pod.node_selector, node.labels()) ||
      (pod.required_node_affinity.has_value() && !pod.required_node_affinity->Matches(node.labels(), node.name()))) {
    return PluginStatus(Code::kUnschedulableAndUnresolvable, std::string(kReasonNodeAffinity));
  }
  return PluginStatus::Success();
}

PluginStatus NodeAffinity::PreScore(CycleState&, const PodInfo& pod, std::span<const NodeInfo* const>,
                                    const Snapshot&) const {
  if (pod.preferred_node_affinity.empty() && added_preferred_.empty()) return PluginStatus::Skip();
  return PluginStatus::Success();
}

int64_t NodeAffinity::Score(const CycleState&, const PodInfo& pod, const NodeInfo& node, PluginStatus*) const {
  return PreferredWeight(added_preferred_, node) + PreferredWeight(pod.preferred_node_affinity, node);
}

void NodeAffinity::NormalizeScore(const CycleState&, const PodInfo&, std::span<const NodeInfo* const>,
                                  std::span<int64_t> scores) const {
  DefaultNormalizeScore(kMaxNodeScore, /*reverse=*/false, scores);
}

Status NewNodeAffinity(const nlohmann::json& args, std::unique_ptr<Plugin>* out) {
  if (Status s = CheckArgsKeys(args, {"addedAffinity"}); !s.ok()) return s;
  std::optional<NodeSelector> added_required;
  std::vector<PreferredNodeTerm> added_preferred;
  if (args.is_object() && args.contains("addedAffinity") && !args["addedAffinity"].is_null()) {
    // Decode as a core/v1 NodeAffinity and parse it the way a pod's is parsed, so the args
    // follow exactly the pod's rules (operators, Gt/Lt integers, matchFields).
    const nlohmann::json& added = args["addedAffinity"];
    if (!added.is_object()) return Status::InvalidArgument("args.addedAffinity: must be an object");
    auto pod = std::make_shared<api::Pod>();
    Status s = api::DecodeInto(added.dump(), "args.addedAffinity",
                               pod->mutable_spec()->mutable_affinity()->mutable_node_affinity());
    if (!s.ok()) return Status::InvalidArgument(s.message());
    std::shared_ptr<PodInfo> parsed;
    s = PodInfo::Build(pod, &parsed);
    if (!s.ok()) return Status::InvalidArgument(ArgsField(s.message()));
    added_required = std::move(parsed->required_node_affinity);
    added_preferred = std::move(parsed->preferred_node_affinity);
  }
  *out = std::make_unique<NodeAffinity>(std::move(added_required), std::move(added_preferred));
  return Status::Ok();
}

}  // namespace ksim::scheduler
