// PodTopologySpread: spreads pods matching a selector evenly over topology domains
// (Kubernetes' pkg/scheduler/framework/plugins/podtopologyspread; the "Pod Topology Spread
// Constraints" docs page).
//
// DoNotSchedule constraints filter: a node is rejected when placing the pod there would make
// its domain's count of matching pods exceed the global minimum by more than maxSkew.
// ScheduleAnyway constraints score: fewer matching pods in the node's domain score higher.
// Cluster-level default constraints (args.defaultConstraints, defaultingType System) are not
// applied: they need the selectors of the pod's Services and controllers, which the
// snapshot does not carry (docs/SCHEDULER.md).
#pragma once

#include <nlohmann/json.hpp>

#include <memory>

#include "cluster/env/status.h"
#include "cluster/scheduler/framework/plugin.h"

namespace ksim::scheduler {

inline constexpr std::string_view kPodTopologySpreadName = "PodTopologySpread";

// Filter reasons, in Kubernetes' words.
inline constexpr std::string_view kReasonSpreadConstraintsNotMatch =
    "node(s) didn't match pod topology spread constraints";
inline constexpr std::string_view kReasonSpreadMissingLabel =
    "node(s) didn't match pod topology spread constraints (missing required label)";

// args: PodTopologySpreadArgs {defaultingType: "System" | "List", defaultConstraints: []};
// null is the defaults. A non-empty defaultConstraints is refused (not supported).
Status NewPodTopologySpread(const nlohmann::json& args, std::unique_ptr<Plugin>* out);

}  // namespace ksim::scheduler
