// The DaemonSet controller (Kubernetes' pkg/controller/daemon): one pod of a DaemonSet on
// every node it should run on (nodeSelector, required node affinity, taints against the
// template's tolerations plus the automatic daemon tolerations), placed by the scheduler
// through a required node affinity on metadata.name; ControllerRevisions for the template
// (history.h); RollingUpdate (maxUnavailable / maxSurge) and OnDelete; failed pods
// replaced with back-off; surplus pods on a node deleted, the oldest kept; status.
//
// The pure parts (node predicates, per-node plans, rolling update, status) are here so
// tests can reach them; the controller is in daemonset.cc.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/api/apps.pb.h"
#include "cluster/api/core.pb.h"
#include "cluster/controllers/controller.h"

namespace ksim::controllers {

inline constexpr char kDaemonSetControllerName[] = "daemonset";
inline constexpr char kDaemonSetComponent[] = "daemonset-controller";
// The label carrying a daemon pod's revision hash (apps.DefaultDaemonSetUniqueLabelKey).
inline constexpr char kPodRevisionHashLabel[] = "controller-revision-hash";
// Kubernetes' BurstReplicas for DaemonSets: at most this many creates or deletes per sync.
inline constexpr int kDaemonSetBurst = 250;

std::unique_ptr<Controller> NewDaemonSetController(ControllerContext& ctx);

// ---------------------------------------------------------------- predicates (daemonset_nodes.cc)

// Kubernetes' AddOrUpdateDaemonPodTolerations: not-ready and unreachable (NoExecute, no
// tolerationSeconds), disk-, memory-, pid-pressure and unschedulable (NoSchedule), and
// network-unavailable (NoSchedule) for hostNetwork pods; existing ones for the same key and
// effect are replaced.
void AddDaemonTolerations(api::PodSpec* spec);
// The template daemon pods are made from: the DaemonSet's, with the daemon tolerations and
// the revision hash label.
api::PodTemplateSpec DaemonPodTemplate(const api::DaemonSet& ds, const std::string& hash);
// Replaces the required node affinity with one term: matchFields metadata.name In [node]
// (Kubernetes' ReplaceDaemonSetPodNodeNameNodeAffinity); preferred terms are kept.
void SetNodeNameAffinity(api::PodSpec* spec, const std::string& node);
// spec.nodeName, else the node a required metadata.name affinity pins the pod to; "" when
// neither (Kubernetes' GetTargetNodeName).
std::string TargetNodeName(const api::Pod& pod);

// Kubernetes' NodeShouldRunDaemonPod: should_run when the node fits the template's
// nodeName, nodeSelector, required node affinity and every NoSchedule/NoExecute taint is
// tolerated; should_continue when a pod already there may stay (fits, and no untolerated
// NoExecute taint).
struct NodeVerdict {
  bool should_run = false;
  bool should_continue = false;
  friend bool operator==(const NodeVerdict&, const NodeVerdict&) = default;
};
// Checks nodes against one DaemonSet's template with the scheduler's NodeAffinity and
// TaintToleration filters (the template is parsed once).
class DaemonNodeCheck {
 public:
  explicit DaemonNodeCheck(const api::DaemonSet& ds);
  ~DaemonNodeCheck();
  // An invalid template (the scheduler could not place its pods) runs nowhere.
  bool valid() const { return valid_; }
  NodeVerdict Check(const api::Node& node) const;

 private:
  struct Parsed;
  std::unique_ptr<Parsed> parsed_;
  std::string node_name_;
  bool valid_ = false;
};

// ---------------------------------------------------------------- plans (daemonset_plan.cc)

using DaemonPodPtr = std::shared_ptr<const api::Pod>;
// Daemon pods by the node they run on or target (TargetNodeName).
using NodePods = std::map<std::string, std::vector<DaemonPodPtr>>;

// Kubernetes' podByCreationTimestampAndPhase: scheduled first, then older, then by name.
bool OlderDaemonPod(const api::Pod& a, const api::Pod& b);
bool PodFailed(const api::Pod& pod);
bool PodSucceeded(const api::Pod& pod);

// maxSurge and maxUnavailable for `desired` nodes (percentages round up); both 0 (never
// valid) counts as maxUnavailable 1, as Kubernetes.
struct RollingBudget {
  int max_surge = 0;
  int max_unavailable = 1;
};
RollingBudget BudgetFor(const api::DaemonSet& ds, int desired);

struct DaemonActions {
  std::vector<std::string> create_on;  // nodes, sorted
  std::vector<DaemonPodPtr> remove;
  std::vector<DaemonPodPtr> failed;    // failed pods being removed (a FailedDaemonPod Event each)
  std::optional<Nanos> retry_after;    // a failed pod waits out its back-off
  bool empty() const { return create_on.empty() && remove.empty(); }
};

// Per node, Kubernetes' podsShouldBeOnNode. `failed_backoff(node)` is asked before a
// failed pod is removed: nullopt = remove it now (and back off further), else wait that long.
DaemonActions ManagePlan(const api::DaemonSet& ds, const std::map<std::string, NodeVerdict>& nodes,
                         const NodePods& pods, const std::string& hash, int64_t now_s,
                         const std::function<std::optional<Nanos>(const std::string&)>& failed_backoff);

// Kubernetes' rollingUpdate: old pods to delete (maxSurge 0) or nodes to surge onto.
DaemonActions RollingUpdatePlan(const api::DaemonSet& ds, const std::map<std::string, NodeVerdict>& nodes,
                                const NodePods& pods, const std::string& hash, int64_t now_s);

// Kubernetes' updateDaemonSetStatus counts (observedGeneration and collisionCount are the
// caller's).
api::DaemonSetStatus StatusCounts(const api::DaemonSet& ds, const std::map<std::string, NodeVerdict>& nodes,
                                  const NodePods& pods, const std::string& hash, int64_t now_s);

}  // namespace ksim::controllers
