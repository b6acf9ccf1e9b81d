// What the scheduler knows about a pod and a node, parsed once from the API objects so that
// plugins filter and score on plain fields: no protobuf maps, no quantity parsing, no
// selector parsing on the hot path (every pod meets thousands of nodes per cycle).
//
// PodInfo and NodeInfo follow Kubernetes' scheduler framework types of the same names
// (pkg/scheduler/framework/types.go) in meaning; the fields are ksim's own.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/api/core.pb.h"
#include "cluster/api/machinery/labels.h"
#include "cluster/env/status.h"
#include "cluster/scheduler/framework/resources.h"

namespace ksim::scheduler {

using Labels = std::map<std::string, std::string>;

// ---------------------------------------------------------------- taints and tolerations

enum class TaintEffect { kNoSchedule, kPreferNoSchedule, kNoExecute };

struct Taint {
  std::string key;
  std::string value;
  TaintEffect effect = TaintEffect::kNoSchedule;
};

struct Toleration {
  std::string key;     // empty with kExists: tolerates every key
  bool exists = false;  // operator Exists (else Equal)
  std::string value;
  std::optional<TaintEffect> effect;  // nullopt: every effect
  std::optional<int64_t> toleration_seconds;

  // Kubernetes' Toleration.ToleratesTaint: effect matches (or empty), key matches (or empty
  // with Exists), and the value matches for Equal.
  bool Tolerates(const Taint& taint) const;
};

// "{key: value}" as Kubernetes prints a taint in "untolerated taint" reasons ("{key: }"
// when the value is empty).
std::string TaintString(const Taint& taint);
std::string_view TaintEffectName(TaintEffect effect);

// ---------------------------------------------------------------- node selectors

// One requirement of a node selector term. Operators: In, NotIn, Exists, DoesNotExist,
// Gt, Lt (Gt/Lt compare the label as an integer; a non-integer label never matches).
struct NodeSelectorRequirement {
  enum class Op { kIn, kNotIn, kExists, kDoesNotExist, kGt, kLt };
  std::string key;
  Op op = Op::kIn;
  std::vector<std::string> values;  // sorted
  int64_t number = 0;               // for kGt/kLt
};

// A term ANDs its requirements; matchFields may only name metadata.name (In/NotIn).
struct NodeSelectorTerm {
  std::vector<NodeSelectorRequirement> match_expressions;
  std::vector<NodeSelectorRequirement> match_fields;
  bool Matches(const Labels& node_labels, std::string_view node_name) const;
};

// A node selector ORs its terms; a selector with no terms matches nothing.
struct NodeSelector {
  std::vector<NodeSelectorTerm> terms;
  bool Matches(const Labels& node_labels, std::string_view node_name) const;
};

struct PreferredNodeTerm {
  int32_t weight = 0;
  NodeSelectorTerm term;
};

// ---------------------------------------------------------------- pod affinity

// A pod (anti-)affinity term with its selectors resolved against the owning pod:
// matchLabelKeys / mismatchLabelKeys are folded into `selector` (as Kubernetes does), and
// an empty namespace list without a namespace selector means the owning pod's namespace.
struct AffinityTerm {
  api::LabelMatcher selector;          // a null labelSelector matches nothing
  std::vector<std::string> namespaces;  // sorted
  // Set when the term has a namespaceSelector; an empty one selects every namespace.
  std::optional<api::LabelMatcher> namespace_selector;
  std::string topology_key;

  // Whether a pod in `ns` (whose namespace has `ns_labels`) with `labels` is selected.
  bool Matches(std::string_view ns, const Labels* ns_labels, const Labels& labels) const;
  bool MatchesNamespace(std::string_view ns, const Labels* ns_labels) const;
};

struct WeightedAffinityTerm {
  int32_t weight = 0;
  AffinityTerm term;
};

// ---------------------------------------------------------------- topology spread

struct SpreadConstraint {
  int32_t max_skew = 1;
  std::string topology_key;
  bool do_not_schedule = true;  // whenUnsatisfiable: DoNotSchedule (else ScheduleAnyway)
  api::LabelMatcher selector;   // with matchLabelKeys folded in
  int32_t min_domains = 1;
  bool honor_node_affinity = true;  // nodeAffinityPolicy (default Honor)
  bool honor_node_taints = false;   // nodeTaintsPolicy (default Ignore)
};

// ---------------------------------------------------------------- pods

struct HostPort {
  std::string ip;        // "" and "0.0.0.0" both mean every address
  std::string protocol;  // TCP (default), UDP, SCTP
  int32_t port = 0;
  friend bool operator==(const HostPort&, const HostPort&) = default;
};

struct PodInfo {
  std::shared_ptr<const api::Pod> pod;
  std::string ns;
  std::string name;
  std::string uid;
  std::string node_name;  // spec.nodeName: where it runs or is assumed to run
  Labels labels;

  // Kubernetes' effective requests: the sum over containers, at least each init
  // container's, plus overhead (pod-level resources when set).
  Resources requests;
  // Requests with Kubernetes' defaults for containers that request no cpu/memory.
  Resources non_zero_requests;
  int32_t priority = 0;
  bool preempt_never = false;  // preemptionPolicy: Never
  bool terminating = false;    // has a deletionTimestamp

  std::vector<HostPort> host_ports;
  std::vector<Toleration> tolerations;
  Labels node_selector;
  std::optional<NodeSelector> required_node_affinity;
  std::vector<PreferredNodeTerm> preferred_node_affinity;
  std::vector<AffinityTerm> required_affinity;
  std::vector<AffinityTerm> required_anti_affinity;
  std::vector<WeightedAffinityTerm> preferred_affinity;
  std::vector<WeightedAffinityTerm> preferred_anti_affinity;
  std::vector<SpreadConstraint> spread_constraints;
  std::vector<std::string> images;  // normalized: "nginx" -> "nginx:latest"

  bool HasAffinity() const {
    return !required_affinity.empty() || !required_anti_affinity.empty() || !preferred_affinity.empty() ||
           !preferred_anti_affinity.empty();
  }
  std::string Key() const { return ns + "/" + name; }

  // Parses a pod. Errors name the field ("spec.affinity.podAffinity...[0].labelSelector:
  // ..."); the apiserver validated the pod, so an error here means a pod the scheduler
  // cannot place, and the caller reports it.
  static Status Build(std::shared_ptr<const api::Pod> pod, std::shared_ptr<PodInfo>* out);
};

using PodInfoPtr = std::shared_ptr<const PodInfo>;

// An image name as ImageLocality compares them: a name without tag or digest gets
// ":latest" ("nginx" -> "nginx:latest"), as Kubernetes normalizes it.
std::string NormalizeImageName(std::string_view image);

// ---------------------------------------------------------------- nodes

// What comes from the Node object; shared by every copy of a NodeInfo.
struct NodeData {
  std::shared_ptr<const api::Node> node;
  std::string name;
  Labels labels;
  std::vector<Taint> taints;
  bool unschedulable = false;
  Resources allocatable;  // allocatable.pods in `pods`
  std::map<std::string, int64_t, std::less<>> image_sizes;  // normalized name -> bytes

  static Status Build(std::shared_ptr<const api::Node> node, std::shared_ptr<const NodeData>* out);
};

// A node and the pods on it (bound or assumed), with running totals. Copied into a
// scheduling snapshot, so copies are cheap: the node's data and pods are shared.
class NodeInfo {
 public:
  NodeInfo() = default;
  explicit NodeInfo(std::shared_ptr<const NodeData> node) : node_(std::move(node)) {}

  // Null for a node the cache knows only through pods bound to it (not yet or no longer
  // a Node object); such a node is never a candidate.
  const NodeData* node() const { return node_.get(); }
  const std::shared_ptr<const NodeData>& node_ptr() const { return node_; }
  void SetNode(std::shared_ptr<const NodeData> node);
  const std::string& name() const { return node_->name; }
  const Labels& labels() const { return node_->labels; }

  const std::vector<PodInfoPtr>& pods() const { return pods_; }
  // Pods with any (anti-)affinity term, and with required anti-affinity terms.
  const std::vector<PodInfoPtr>& pods_with_affinity() const { return pods_with_affinity_; }
  const std::vector<PodInfoPtr>& pods_with_required_anti_affinity() const {
    return pods_with_required_anti_affinity_;
  }
  // Sum of the pods' requests (and of their non-zero requests, for scoring).
  const Resources& requested() const { return requested_; }
  const Resources& non_zero_requested() const { return non_zero_requested_; }
  const std::vector<HostPort>& used_ports() const { return used_ports_; }
  // Bumped by every change; the cache copies only nodes whose generation moved.
  uint64_t generation() const { return generation_; }

  void AddPod(PodInfoPtr pod);
  // Removes the pod with this uid; false if it is not here.
  bool RemovePod(std::string_view uid);

  // Whether `port` conflicts with a port in use (same protocol and port, and the same
  // address or either is the wildcard).
  bool PortInUse(const HostPort& port) const;

  void set_generation(uint64_t generation) { generation_ = generation; }

 private:
  std::shared_ptr<const NodeData> node_;
  std::vector<PodInfoPtr> pods_;
  std::vector<PodInfoPtr> pods_with_affinity_;
  std::vector<PodInfoPtr> pods_with_required_anti_affinity_;
  Resources requested_;
  Resources non_zero_requested_;
  std::vector<HostPort> used_ports_;
  uint64_t generation_ = 0;
};

using NodeInfoPtr = std::shared_ptr<const NodeInfo>;

}  // namespace ksim::scheduler
