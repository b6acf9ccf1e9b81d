// Which nodes a DaemonSet runs on, and how its pods are pinned to them. The node checks are
// the scheduler's own filters (NodeAffinity, TaintToleration), so a node the controller
// picks is one the scheduler accepts.
#include <algorithm>

#include "cluster/controllers/daemonset.h"
#include "cluster/scheduler/framework/types.h"
#include "cluster/scheduler/plugins/node_affinity.h"
#include "cluster/scheduler/plugins/taint_toleration.h"

namespace ksim::controllers {
namespace {

constexpr char kNameField[] = "metadata.name";

void Tolerate(api::PodSpec* spec, const std::string& key, const std::string& effect) {
  auto* tolerations = spec->mutable_tolerations();
  for (int i = 0; i < tolerations->size(); ++i) {
    if (tolerations->Get(i).key() == key && tolerations->Get(i).effect() == effect) {
      tolerations->DeleteSubrange(i, 1);
      break;
    }
  }
  api::Toleration t;
  t.set_key(key);
  t.set_operator_("Exists");
  t.set_effect(effect);
  *spec->add_tolerations() = std::move(t);
}

}  // namespace

void AddDaemonTolerations(api::PodSpec* spec) {
  Tolerate(spec, "node.kubernetes.io/not-ready", "NoExecute");
  Tolerate(spec, "node.kubernetes.io/unreachable", "NoExecute");
  Tolerate(spec, "node.kubernetes.io/disk-pressure", "NoSchedule");
  Tolerate(spec, "node.kubernetes.io/memory-pressure", "NoSchedule");
  Tolerate(spec, "node.kubernetes.io/pid-pressure", "NoSchedule");
  Tolerate(spec, "node.kubernetes.io/unschedulable", "NoSchedule");
  if (spec->host_network()) Tolerate(spec, "node.kubernetes.io/network-unavailable", "NoSchedule");
}

api::PodTemplateSpec DaemonPodTemplate(const api::DaemonSet& ds, const std::string& hash) {
  api::PodTemplateSpec t = ds.spec().template_();
  AddDaemonTolerations(t.mutable_spec());
  if (!hash.empty()) (*t.mutable_metadata()->mutable_labels())[kPodRevisionHashLabel] = hash;
  return t;
}

void SetNodeNameAffinity(api::PodSpec* spec, const std::string& node) {
  auto* required =
      spec->mutable_affinity()->mutable_node_affinity()->mutable_required_during_scheduling_ignored_during_execution();
  required->clear_node_selector_terms();
  auto* req = required->add_node_selector_terms()->add_match_fields();
  req->set_key(kNameField);
  req->set_operator_("In");
  req->add_values(node);
}

std::string TargetNodeName(const api::Pod& pod) {
  if (!pod.spec().node_name().empty()) return pod.spec().node_name();
  if (!pod.spec().has_affinity() || !pod.spec().affinity().has_node_affinity()) return "";
  const auto& na = pod.spec().affinity().node_affinity();
  if (!na.has_required_during_scheduling_ignored_during_execution()) return "";
  const auto& terms = na.required_during_scheduling_ignored_during_execution().node_selector_terms();
  // Kubernetes' GetTargetNodeName: the first term's metadata.name In with one value.
  for (const auto& term : terms) {
    for (const auto& f : term.match_fields()) {
      if (f.key() == kNameField && f.operator_() == "In" && f.values_size() == 1) return f.values(0);
    }
  }
  return "";
}

struct DaemonNodeCheck::Parsed {
  std::shared_ptr<scheduler::PodInfo> pod;
  scheduler::NodeAffinity affinity{std::nullopt, {}};
  scheduler::TaintToleration taints;
};

DaemonNodeCheck::DaemonNodeCheck(const api::DaemonSet& ds) : parsed_(std::make_unique<Parsed>()) {
  auto pod = std::make_shared<api::Pod>();
  *pod->mutable_metadata() = ds.spec().template_().metadata();
  pod->mutable_metadata()->set_namespace_(ds.metadata().namespace_());
  *pod->mutable_spec() = DaemonPodTemplate(ds, "").spec();
  node_name_ = pod->spec().node_name();
  pod->mutable_spec()->clear_node_name();
  valid_ = scheduler::PodInfo::Build(std::move(pod), &parsed_->pod).ok();
}

DaemonNodeCheck::~DaemonNodeCheck() = default;

NodeVerdict DaemonNodeCheck::Check(const api::Node& node) const {
  if (!valid_) return {};
  if (!node_name_.empty() && node_name_ != node.metadata().name()) return {};
  std::shared_ptr<const scheduler::NodeData> data;
  if (!scheduler::NodeData::Build(std::make_shared<api::Node>(node), &data).ok()) return {};
  const scheduler::NodeInfo info(data);
  const scheduler::CycleState state;
  if (!parsed_->affinity.Filter(state, *parsed_->pod, info).ok()) return {};
  if (parsed_->taints.Filter(state, *parsed_->pod, info).ok()) return {true, true};
  // Untolerated NoSchedule taints keep new pods off; a pod already there stays unless a
  // NoExecute taint is untolerated too.
  const auto& tolerations = parsed_->pod->tolerations;
  for (const scheduler::Taint& taint : data->taints) {
    if (taint.effect != scheduler::TaintEffect::kNoExecute) continue;
    const bool tolerated = std::any_of(tolerations.begin(), tolerations.end(),
                                       [&](const scheduler::Toleration& t) { return t.Tolerates(taint); });
    if (!tolerated) return {false, false};
  }
  return {false, true};
}

}  // namespace ksim::controllers
