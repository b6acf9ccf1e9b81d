// InterPodAffinity: required and preferred pod affinity and anti-affinity (Kubernetes'
// pkg/scheduler/framework/plugins/interpodaffinity; the "Assigning Pods to Nodes" docs page).
//
// Filter rejects a node when
//   - the pod's required affinity terms find no matching pod in the node's domain (or the
//     node lacks a term's topology key) -- unless no pod in the cluster matches and the pod
//     matches its own terms (the first pod of a group): UnschedulableAndUnresolvable;
//   - a pod matching the pod's required anti-affinity terms runs in the node's domain:
//     Unschedulable (preempting that pod may help);
//   - an existing pod whose required anti-affinity terms match the pod runs in the node's
//     domain: Unschedulable.
// Score sums, per node, the weights of preferred terms (the pod's toward existing pods, and
// existing pods' toward the pod; existing pods' required affinity counts
// hardPodAffinityWeight) over the pods in the node's domain, then normalizes min..max to
// 0..100.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>

#include "cluster/env/status.h"
#include "cluster/scheduler/framework/plugin.h"

namespace ksim::scheduler {

inline constexpr std::string_view kInterPodAffinityName = "InterPodAffinity";

// Filter reasons, in Kubernetes' words.
inline constexpr std::string_view kReasonAffinityRulesNotMatch = "node(s) didn't match pod affinity rules";
inline constexpr std::string_view kReasonAntiAffinityRulesNotMatch = "node(s) didn't match pod anti-affinity rules";
inline constexpr std::string_view kReasonExistingAntiAffinityRulesNotMatch =
    "node(s) didn't satisfy existing pods anti-affinity rules";

// args: InterPodAffinityArgs {hardPodAffinityWeight: 0..100 (default 1),
// ignorePreferredTermsOfExistingPods: bool (default false)}; null is the defaults.
Status NewInterPodAffinity(const nlohmann::json& args, std::unique_ptr<Plugin>* out);

}  // namespace ksim::scheduler
