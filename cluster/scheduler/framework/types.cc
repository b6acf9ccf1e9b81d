#include "cluster/scheduler/framework/types.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>

#include "cluster/api/label_selector.h"

namespace ksim::scheduler {
namespace {

Labels SortedLabels(const google::protobuf::Map<std::string, std::string>& map) {
  return Labels(map.begin(), map.end());
}

std::optional<TaintEffect> ParseEffect(std::string_view effect) {
  if (effect == "NoSchedule") return TaintEffect::kNoSchedule;
  if (effect == "PreferNoSchedule") return TaintEffect::kPreferNoSchedule;
  if (effect == "NoExecute") return TaintEffect::kNoExecute;
  return std::nullopt;
}

bool ParseInt64(std::string_view text, int64_t* out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

// Folds matchLabelKeys (key in (pod's value)) and mismatchLabelKeys (key notin (pod's
// value)) into a selector; keys the pod lacks are ignored, as Kubernetes does.
Status FoldLabelKeys(const google::protobuf::RepeatedPtrField<std::string>& match_keys,
                     const google::protobuf::RepeatedPtrField<std::string>* mismatch_keys, const Labels& pod_labels,
                     std::string_view field, api::LabelMatcher* selector) {
  if (match_keys.empty() && (mismatch_keys == nullptr || mismatch_keys->empty())) return Status::Ok();
  if (selector->MatchesNothing()) return Status::Ok();
  std::vector<api::LabelRequirement> reqs = selector->requirements();
  for (const auto& key : match_keys) {
    auto it = pod_labels.find(key);
    if (it != pod_labels.end()) reqs.push_back({key, api::SelectorOp::kIn, {it->second}});
  }
  if (mismatch_keys != nullptr) {
    for (const auto& key : *mismatch_keys) {
      auto it = pod_labels.find(key);
      if (it != pod_labels.end()) reqs.push_back({key, api::SelectorOp::kNotIn, {it->second}});
    }
  }
  Status s = api::LabelMatcher::FromRequirements(std::move(reqs), selector);
  if (!s.ok()) return Status::InvalidArgument(fmt::format("{}: {}", field, s.message()));
  return Status::Ok();
}

Status ParseRequirement(const api::NodeSelectorRequirement& r, bool is_field, std::string_view field,
                        NodeSelectorRequirement* out) {
  out->key = r.key();
  out->values.assign(r.values().begin(), r.values().end());
  std::sort(out->values.begin(), out->values.end());
  const std::string& op = r.operator_();
  auto need_values = [&](bool want) -> Status {
    if (want && out->values.empty()) return Status::InvalidArgument(fmt::format("{}.values: required for {}", field, op));
    if (!want && !out->values.empty()) {
      return Status::InvalidArgument(fmt::format("{}.values: must be empty for {}", field, op));
    }
    return Status::Ok();
  };
  Status s;
  if (op == "In") {
    out->op = NodeSelectorRequirement::Op::kIn;
    s = need_values(true);
  } else if (op == "NotIn") {
    out->op = NodeSelectorRequirement::Op::kNotIn;
    s = need_values(true);
  } else if (!is_field && op == "Exists") {
    out->op = NodeSelectorRequirement::Op::kExists;
    s = need_values(false);
  } else if (!is_field && op == "DoesNotExist") {
    out->op = NodeSelectorRequirement::Op::kDoesNotExist;
    s = need_values(false);
  } else if (!is_field && (op == "Gt" || op == "Lt")) {
    out->op = op == "Gt" ? NodeSelectorRequirement::Op::kGt : NodeSelectorRequirement::Op::kLt;
    if (out->values.size() != 1 || !ParseInt64(out->values[0], &out->number)) {
      return Status::InvalidArgument(fmt::format("{}.values: {} needs one integer value", field, op));
    }
  } else {
    return Status::InvalidArgument(fmt::format("{}.operator: unsupported \"{}\"", field, op));
  }
  if (!s.ok()) return s;
  if (is_field && out->key != "metadata.name") {
    return Status::InvalidArgument(fmt::format("{}.key: only metadata.name is supported, not \"{}\"", field, out->key));
  }
  return Status::Ok();
}

Status ParseTerm(const api::NodeSelectorTerm& t, std::string_view field, NodeSelectorTerm* out) {
  for (int i = 0; i < t.match_expressions_size(); ++i) {
    NodeSelectorRequirement r;
    Status s = ParseRequirement(t.match_expressions(i), false, fmt::format("{}.matchExpressions[{}]", field, i), &r);
    if (!s.ok()) return s;
    out->match_expressions.push_back(std::move(r));
  }
  for (int i = 0; i < t.match_fields_size(); ++i) {
    NodeSelectorRequirement r;
    Status s = ParseRequirement(t.match_fields(i), true, fmt::format("{}.matchFields[{}]", field, i), &r);
    if (!s.ok()) return s;
    out->match_fields.push_back(std::move(r));
  }
  return Status::Ok();
}

bool RequirementMatches(const NodeSelectorRequirement& r, const std::string* value) {
  using Op = NodeSelectorRequirement::Op;
  switch (r.op) {
    case Op::kIn:
      return value != nullptr && std::binary_search(r.values.begin(), r.values.end(), *value);
    case Op::kNotIn:
      return value == nullptr || !std::binary_search(r.values.begin(), r.values.end(), *value);
    case Op::kExists:
      return value != nullptr;
    case Op::kDoesNotExist:
      return value == nullptr;
    case Op::kGt:
    case Op::kLt: {
      int64_t n = 0;
      if (value == nullptr || !ParseInt64(*value, &n)) return false;
      return r.op == Op::kGt ? n > r.number : n < r.number;
    }
  }
  return false;
}

Status ParseAffinityTerm(const api::PodAffinityTerm& t, bool anti, const PodInfo& owner, std::string_view field,
                         AffinityTerm* out) {
  Status s = api::LabelMatcherFromProto(t.has_label_selector(), t.label_selector(), fmt::format("{}.labelSelector", field),
                              &out->selector);
  if (!s.ok()) return s;
  // mismatchLabelKeys apply to affinity and anti-affinity alike; both fold the same way.
  (void)anti;
  s = FoldLabelKeys(t.match_label_keys(), &t.mismatch_label_keys(), owner.labels, field, &out->selector);
  if (!s.ok()) return s;
  out->namespaces.assign(t.namespaces().begin(), t.namespaces().end());
  std::sort(out->namespaces.begin(), out->namespaces.end());
  out->namespaces.erase(std::unique(out->namespaces.begin(), out->namespaces.end()), out->namespaces.end());
  if (t.has_namespace_selector()) {
    api::LabelMatcher ns;
    s = api::LabelMatcherFromProto(true, t.namespace_selector(), fmt::format("{}.namespaceSelector", field), &ns);
    if (!s.ok()) return s;
    out->namespace_selector = std::move(ns);
  } else if (out->namespaces.empty()) {
    out->namespaces.push_back(owner.ns);
  }
  if (t.topology_key().empty()) {
    return Status::InvalidArgument(fmt::format("{}.topologyKey: required", field));
  }
  out->topology_key = t.topology_key();
  return Status::Ok();
}

void AddContainerRequests(const Resources& r, bool has_cpu, bool has_memory, Resources* requests,
                          Resources* non_zero) {
  requests->Add(r);
  non_zero->milli_cpu += has_cpu ? r.milli_cpu : kDefaultMilliCpuRequest;
  non_zero->memory_bytes += has_memory ? r.memory_bytes : kDefaultMemoryRequestBytes;
}

void AddHostPorts(const api::Container& c, std::vector<HostPort>* out) {
  for (const auto& port : c.ports()) {
    if (port.host_port() <= 0) continue;
    out->push_back({port.host_ip(), port.protocol().empty() ? "TCP" : port.protocol(), port.host_port()});
  }
}

// Pod-level `spec.resources.requests` replace the containers' aggregate for every resource
// they name (Kubernetes' PodRequests; overhead is added afterwards by the caller). Kubernetes
// admits cpu, memory and hugepages-* there; ksim honours any resource named rather than
// ignore a request its apiserver accepted. The defaults for containers without cpu/memory
// requests no longer apply to a resource the pod level names.
Status ApplyPodLevelRequests(const google::protobuf::Map<std::string, std::string>& list, Resources* requests,
                             Resources* non_zero) {
  Resources pod_level;
  Status s = Resources::FromResourceList(list, "spec.resources.requests", &pod_level);
  if (!s.ok()) return s;
  const std::map<std::string_view, std::string_view> sorted(list.begin(), list.end());  // a stable order
  for (const auto& [name, text] : sorted) {
    if (name == "cpu") {
      requests->milli_cpu = non_zero->milli_cpu = pod_level.milli_cpu;
    } else if (name == "memory") {
      requests->memory_bytes = non_zero->memory_bytes = pod_level.memory_bytes;
    } else if (name == "ephemeral-storage") {
      requests->ephemeral_storage_bytes = pod_level.ephemeral_storage_bytes;
    } else if (name != "pods") {  // a pod counts one pod whatever it says
      requests->AddScalar(name, pod_level.Get(name) - requests->Get(name));
    }
  }
  return Status::Ok();
}

}  // namespace

bool Toleration::Tolerates(const Taint& taint) const {
  if (effect.has_value() && *effect != taint.effect) return false;
  if (!key.empty() && key != taint.key) return false;
  if (exists) return true;
  return value == taint.value;
}

std::string_view TaintEffectName(TaintEffect effect) {
  switch (effect) {
    case TaintEffect::kNoSchedule:
      return "NoSchedule";
    case TaintEffect::kPreferNoSchedule:
      return "PreferNoSchedule";
    case TaintEffect::kNoExecute:
      return "NoExecute";
  }
  return "NoSchedule";
}

std::string TaintString(const Taint& taint) { return fmt::format("{{{}: {}}}", taint.key, taint.value); }

bool NodeSelectorTerm::Matches(const Labels& node_labels, std::string_view node_name) const {
  // An empty term matches nothing (Kubernetes: a term with no requirements selects no node).
  if (match_expressions.empty() && match_fields.empty()) return false;
  for (const auto& r : match_expressions) {
    auto it = node_labels.find(r.key);
    if (!RequirementMatches(r, it == node_labels.end() ? nullptr : &it->second)) return false;
  }
  if (!match_fields.empty()) {
    std::string name(node_name);
    for (const auto& r : match_fields) {
      if (!RequirementMatches(r, &name)) return false;
    }
  }
  return true;
}

bool NodeSelector::Matches(const Labels& node_labels, std::string_view node_name) const {
  for (const auto& term : terms) {
    if (term.Matches(node_labels, node_name)) return true;
  }
  return false;
}

bool AffinityTerm::MatchesNamespace(std::string_view ns, const Labels* ns_labels) const {
  if (std::binary_search(namespaces.begin(), namespaces.end(), ns)) return true;
  if (!namespace_selector.has_value()) return false;
  static const Labels kNoLabels;
  return namespace_selector->Matches(ns_labels != nullptr ? *ns_labels : kNoLabels);
}

bool AffinityTerm::Matches(std::string_view ns, const Labels* ns_labels, const Labels& labels) const {
  return MatchesNamespace(ns, ns_labels) && selector.Matches(labels);
}

std::string NormalizeImageName(std::string_view image) {
  // A tag is a ':' after the last '/'; a digest contains '@'.
  size_t slash = image.rfind('/');
  size_t colon = image.rfind(':');
  bool has_tag = colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash);
  if (has_tag || image.find('@') != std::string_view::npos) return std::string(image);
  return std::string(image) + ":latest";
}

Status PodInfo::Build(std::shared_ptr<const api::Pod> pod, std::shared_ptr<PodInfo>* out) {
  auto info = std::make_shared<PodInfo>();
  const api::Pod& p = *pod;
  const auto& spec = p.spec();
  info->ns = p.metadata().namespace_();
  info->name = p.metadata().name();
  info->uid = p.metadata().uid();
  info->node_name = spec.node_name();
  info->labels = SortedLabels(p.metadata().labels());
  info->priority = spec.has_priority() ? spec.priority() : 0;
  info->preempt_never = spec.has_preemption_policy() && spec.preemption_policy() == "Never";
  info->terminating = p.metadata().has_deletion_timestamp();

  // Requests (Kubernetes' resource helpers: sidecars, i.e. init containers with restartPolicy
  // Always, run beside the app containers and also while later init containers run).
  Resources app;
  Resources app_non_zero;
  for (int i = 0; i < spec.containers_size(); ++i) {
    const auto& c = spec.containers(i);
    Resources r;
    Status s = Resources::FromResourceList(c.resources().requests(),
                                           fmt::format("spec.containers[{}].resources.requests", i), &r);
    if (!s.ok()) return s;
    AddContainerRequests(r, c.resources().requests().contains("cpu"), c.resources().requests().contains("memory"),
                         &app, &app_non_zero);
    AddHostPorts(c, &info->host_ports);
    if (!c.image().empty()) info->images.push_back(NormalizeImageName(c.image()));
  }
  Resources sidecars;
  Resources sidecars_non_zero;
  Resources init_max;
  Resources init_max_non_zero;
  for (int i = 0; i < spec.init_containers_size(); ++i) {
    const auto& c = spec.init_containers(i);
    Resources r;
    Status s = Resources::FromResourceList(c.resources().requests(),
                                           fmt::format("spec.initContainers[{}].resources.requests", i), &r);
    if (!s.ok()) return s;
    Resources r_non_zero;
    Resources ignored;
    AddContainerRequests(r, c.resources().requests().contains("cpu"), c.resources().requests().contains("memory"),
                         &ignored, &r_non_zero);
    bool sidecar = c.has_restart_policy() && c.restart_policy() == "Always";
    if (sidecar) {
      // A sidecar runs beside the app containers, so its host ports are held as theirs are
      // (Kubernetes' NodePorts and NodeInfo count them since kubernetes#132040).
      AddHostPorts(c, &info->host_ports);
      app.Add(r);
      app_non_zero.Add(r_non_zero);
      sidecars.Add(r);
      sidecars_non_zero.Add(r_non_zero);
      init_max.SetMax(sidecars);
      init_max_non_zero.SetMax(sidecars_non_zero);
    } else {
      r.Add(sidecars);
      r_non_zero.Add(sidecars_non_zero);
      init_max.SetMax(r);
      init_max_non_zero.SetMax(r_non_zero);
    }
  }
  app.SetMax(init_max);
  app_non_zero.SetMax(init_max_non_zero);
  if (spec.has_resources() && !spec.resources().requests().empty()) {
    Status s = ApplyPodLevelRequests(spec.resources().requests(), &app, &app_non_zero);
    if (!s.ok()) return s;
  }
  if (!spec.overhead().empty()) {
    // Overhead comes on top of pod-level requests too (Kubernetes' PodRequests adds it last).
    Resources overhead;
    Status s = Resources::FromResourceList(spec.overhead(), "spec.overhead", &overhead);
    if (!s.ok()) return s;
    app.Add(overhead);
    app_non_zero.milli_cpu += overhead.milli_cpu;
    app_non_zero.memory_bytes += overhead.memory_bytes;
  }
  info->requests = std::move(app);
  info->non_zero_requests.milli_cpu = app_non_zero.milli_cpu;
  info->non_zero_requests.memory_bytes = app_non_zero.memory_bytes;

  for (int i = 0; i < spec.tolerations_size(); ++i) {
    const auto& t = spec.tolerations(i);
    Toleration tol;
    tol.key = t.key();
    tol.value = t.value();
    if (t.operator_() == "Exists") {
      tol.exists = true;
    } else if (!t.operator_().empty() && t.operator_() != "Equal") {
      return Status::InvalidArgument(fmt::format("spec.tolerations[{}].operator: unsupported \"{}\"", i, t.operator_()));
    }
    if (!t.effect().empty()) {
      tol.effect = ParseEffect(t.effect());
      if (!tol.effect.has_value()) {
        return Status::InvalidArgument(fmt::format("spec.tolerations[{}].effect: unsupported \"{}\"", i, t.effect()));
      }
    }
    if (t.has_toleration_seconds()) tol.toleration_seconds = t.toleration_seconds();
    info->tolerations.push_back(std::move(tol));
  }

  info->node_selector = SortedLabels(spec.node_selector());
  if (spec.has_affinity()) {
    const auto& a = spec.affinity();
    if (a.has_node_affinity()) {
      const auto& na = a.node_affinity();
      const std::string base = "spec.affinity.nodeAffinity";
      if (na.has_required_during_scheduling_ignored_during_execution()) {
        NodeSelector sel;
        const auto& req = na.required_during_scheduling_ignored_during_execution();
        for (int i = 0; i < req.node_selector_terms_size(); ++i) {
          NodeSelectorTerm term;
          Status s = ParseTerm(req.node_selector_terms(i),
                               fmt::format("{}.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[{}]",
                                           base, i),
                               &term);
          if (!s.ok()) return s;
          sel.terms.push_back(std::move(term));
        }
        info->required_node_affinity = std::move(sel);
      }
      for (int i = 0; i < na.preferred_during_scheduling_ignored_during_execution_size(); ++i) {
        const auto& pref = na.preferred_during_scheduling_ignored_during_execution(i);
        PreferredNodeTerm term;
        term.weight = pref.weight();
        Status s = ParseTerm(
            pref.preference(),
            fmt::format("{}.preferredDuringSchedulingIgnoredDuringExecution[{}].preference", base, i), &term.term);
        if (!s.ok()) return s;
        info->preferred_node_affinity.push_back(std::move(term));
      }
    }
    auto parse_terms = [&](const auto& required, const auto& preferred, bool anti, std::string_view base,
                           std::vector<AffinityTerm>* req_out, std::vector<WeightedAffinityTerm>* pref_out) -> Status {
      for (int i = 0; i < required.size(); ++i) {
        AffinityTerm term;
        Status s = ParseAffinityTerm(
            required.Get(i), anti, *info,
            fmt::format("{}.requiredDuringSchedulingIgnoredDuringExecution[{}]", base, i), &term);
        if (!s.ok()) return s;
        req_out->push_back(std::move(term));
      }
      for (int i = 0; i < preferred.size(); ++i) {
        WeightedAffinityTerm term;
        term.weight = preferred.Get(i).weight();
        Status s = ParseAffinityTerm(
            preferred.Get(i).pod_affinity_term(), anti, *info,
            fmt::format("{}.preferredDuringSchedulingIgnoredDuringExecution[{}].podAffinityTerm", base, i),
            &term.term);
        if (!s.ok()) return s;
        pref_out->push_back(std::move(term));
      }
      return Status::Ok();
    };
    if (a.has_pod_affinity()) {
      Status s = parse_terms(a.pod_affinity().required_during_scheduling_ignored_during_execution(),
                             a.pod_affinity().preferred_during_scheduling_ignored_during_execution(), false,
                             "spec.affinity.podAffinity", &info->required_affinity, &info->preferred_affinity);
      if (!s.ok()) return s;
    }
    if (a.has_pod_anti_affinity()) {
      Status s = parse_terms(a.pod_anti_affinity().required_during_scheduling_ignored_during_execution(),
                             a.pod_anti_affinity().preferred_during_scheduling_ignored_during_execution(), true,
                             "spec.affinity.podAntiAffinity", &info->required_anti_affinity,
                             &info->preferred_anti_affinity);
      if (!s.ok()) return s;
    }
  }

  for (int i = 0; i < spec.topology_spread_constraints_size(); ++i) {
    const auto& c = spec.topology_spread_constraints(i);
    const std::string field = fmt::format("spec.topologySpreadConstraints[{}]", i);
    SpreadConstraint sc;
    sc.max_skew = c.max_skew();
    if (sc.max_skew <= 0) return Status::InvalidArgument(field + ".maxSkew: must be greater than 0");
    sc.topology_key = c.topology_key();
    if (sc.topology_key.empty()) return Status::InvalidArgument(field + ".topologyKey: required");
    if (c.when_unsatisfiable() == "DoNotSchedule") {
      sc.do_not_schedule = true;
    } else if (c.when_unsatisfiable() == "ScheduleAnyway") {
      sc.do_not_schedule = false;
    } else {
      return Status::InvalidArgument(
          fmt::format("{}.whenUnsatisfiable: unsupported \"{}\"", field, c.when_unsatisfiable()));
    }
    Status s = api::LabelMatcherFromProto(c.has_label_selector(), c.label_selector(), field + ".labelSelector", &sc.selector);
    if (!s.ok()) return s;
    s = FoldLabelKeys(c.match_label_keys(), nullptr, info->labels, field, &sc.selector);
    if (!s.ok()) return s;
    if (c.has_min_domains()) {
      if (c.min_domains() <= 0) return Status::InvalidArgument(field + ".minDomains: must be greater than 0");
      sc.min_domains = c.min_domains();
    }
    if (c.has_node_affinity_policy()) sc.honor_node_affinity = c.node_affinity_policy() != "Ignore";
    if (c.has_node_taints_policy()) sc.honor_node_taints = c.node_taints_policy() == "Honor";
    info->spread_constraints.push_back(std::move(sc));
  }

  info->pod = std::move(pod);
  *out = std::move(info);
  return Status::Ok();
}

Status NodeData::Build(std::shared_ptr<const api::Node> node, std::shared_ptr<const NodeData>* out) {
  auto data = std::make_shared<NodeData>();
  const api::Node& n = *node;
  data->name = n.metadata().name();
  data->labels = SortedLabels(n.metadata().labels());
  data->unschedulable = n.spec().unschedulable();
  for (int i = 0; i < n.spec().taints_size(); ++i) {
    const auto& t = n.spec().taints(i);
    auto effect = ParseEffect(t.effect());
    if (!effect.has_value()) {
      return Status::InvalidArgument(fmt::format("spec.taints[{}].effect: unsupported \"{}\"", i, t.effect()));
    }
    data->taints.push_back({t.key(), t.value(), *effect});
  }
  Status s = Resources::FromResourceList(n.status().allocatable(), "status.allocatable", &data->allocatable);
  if (!s.ok()) return s;
  for (const auto& image : n.status().images()) {
    for (const auto& name : image.names()) {
      data->image_sizes[NormalizeImageName(name)] = image.size_bytes();
    }
  }
  data->node = std::move(node);
  *out = std::move(data);
  return Status::Ok();
}

void NodeInfo::SetNode(std::shared_ptr<const NodeData> node) {
  node_ = std::move(node);
  ++generation_;
}

void NodeInfo::AddPod(PodInfoPtr pod) {
  requested_.Add(pod->requests);
  non_zero_requested_.milli_cpu += pod->non_zero_requests.milli_cpu;
  non_zero_requested_.memory_bytes += pod->non_zero_requests.memory_bytes;
  for (const auto& port : pod->host_ports) used_ports_.push_back(port);
  if (pod->HasAffinity()) pods_with_affinity_.push_back(pod);
  if (!pod->required_anti_affinity.empty()) pods_with_required_anti_affinity_.push_back(pod);
  pods_.push_back(std::move(pod));
  ++generation_;
}

bool NodeInfo::RemovePod(std::string_view uid) {
  auto erase_from = [uid](std::vector<PodInfoPtr>& pods) {
    for (size_t i = 0; i < pods.size(); ++i) {
      if (pods[i]->uid == uid) {
        // Order within a node carries no meaning; swap-remove keeps removal O(1).
        pods[i] = std::move(pods.back());
        pods.pop_back();
        return;
      }
    }
  };
  for (size_t i = 0; i < pods_.size(); ++i) {
    if (pods_[i]->uid != uid) continue;
    const PodInfoPtr pod = pods_[i];
    requested_.Sub(pod->requests);
    non_zero_requested_.milli_cpu -= pod->non_zero_requests.milli_cpu;
    non_zero_requested_.memory_bytes -= pod->non_zero_requests.memory_bytes;
    for (const auto& port : pod->host_ports) {
      auto it = std::find(used_ports_.begin(), used_ports_.end(), port);
      if (it != used_ports_.end()) used_ports_.erase(it);
    }
    if (pod->HasAffinity()) erase_from(pods_with_affinity_);
    if (!pod->required_anti_affinity.empty()) erase_from(pods_with_required_anti_affinity_);
    erase_from(pods_);
    ++generation_;
    return true;
  }
  return false;
}

bool NodeInfo::PortInUse(const HostPort& port) const {
  auto wildcard = [](const std::string& ip) { return ip.empty() || ip == "0.0.0.0"; };
  for (const auto& used : used_ports_) {
    if (used.port != port.port || used.protocol != port.protocol) continue;
    if (wildcard(used.ip) || wildcard(port.ip) || used.ip == port.ip) return true;
  }
  return false;
}

}  // namespace ksim::scheduler
