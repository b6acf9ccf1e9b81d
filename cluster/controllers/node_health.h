// The pure rules of the node lifecycle controller, after Kubernetes' nodelifecycle and
// taint-eviction controllers: zones and their disruption states, which NoExecute taints a
// pod tolerates and for how long.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cluster/api/core.pb.h"
#include "cluster/env/time.h"

namespace ksim::controllers {

inline constexpr char kTaintNotReady[] = "node.kubernetes.io/not-ready";
inline constexpr char kTaintUnreachable[] = "node.kubernetes.io/unreachable";
inline constexpr char kZoneLabel[] = "topology.kubernetes.io/zone";
inline constexpr char kRegionLabel[] = "topology.kubernetes.io/region";

enum class ZoneState { kInitial, kNormal, kPartialDisruption, kFullDisruption };
const char* ZoneStateName(ZoneState state);

// A node's zone key: region and zone labels (failure-domain.beta.kubernetes.io/* when the
// topology ones are absent), "" when it has neither.
std::string ZoneKey(const api::Node& node);

// Kubernetes' ComputeZoneState: no ready node and some not ready -> FullDisruption; more
// than 2 not ready and at least `threshold` of the zone not ready -> PartialDisruption;
// otherwise Normal.
ZoneState ComputeZoneState(int ready, int not_ready, double threshold);

// The node's Ready condition, or null.
const api::NodeCondition* ReadyCondition(const api::Node& node);

bool HasTaint(const api::Node& node, const std::string& key, const std::string& effect = "NoExecute");

// Whether `toleration` tolerates `taint` (key or wildcard Exists, value for Equal, effect
// empty or equal).
bool Tolerates(const api::Toleration& toleration, const api::Taint& taint);

// How long a pod with `tolerations` may stay on a node with these NoExecute `taints`:
// zero when some taint is not tolerated; otherwise the smallest tolerationSeconds among
// the tolerations used (<= 0 means zero); nullopt (forever) when none of them sets it.
std::optional<Nanos> TolerationTime(const google::protobuf::RepeatedPtrField<api::Toleration>& tolerations,
                                    const std::vector<api::Taint>& taints);

// The node's NoExecute taints.
std::vector<api::Taint> NoExecuteTaints(const api::Node& node);

}  // namespace ksim::controllers
