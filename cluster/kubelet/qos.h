// QoS classes of pods and the cgroup slice each pod gets on a real host (systemd cgroup
// driver), as Kubernetes computes them. Pure functions.
#pragma once

#include <string>

#include "cluster/api/core.pb.h"

namespace ksim::kubelet {

enum class QosClass { kGuaranteed, kBurstable, kBestEffort };

// "Guaranteed", "Burstable", "BestEffort" (status.qosClass).
const char* QosClassName(QosClass qos);

// Kubernetes' rules, over cpu and memory only, counting init and app containers:
//  - BestEffort: no container sets a cpu or memory request or limit;
//  - Guaranteed: every container sets cpu and memory limits, and every request it sets
//    equals its limit (an unset request defaults to the limit);
//  - Burstable: everything else.
// Pod-level resources (spec.resources), when set, decide instead of the containers'.
// An unparsable quantity counts as set (validation rejects it before it gets here).
QosClass GetPodQos(const api::Pod& pod);

// The systemd slice of the QoS class: "kubepods.slice" (Guaranteed pods sit directly
// under it), "kubepods-burstable.slice", "kubepods-besteffort.slice".
std::string QosSliceName(QosClass qos);

// The pod's own slice, the CRI cgroup_parent: "kubepods-pod<uid>.slice",
// "kubepods-burstable-pod<uid>.slice", "kubepods-besteffort-pod<uid>.slice", with every
// '-' of the uid written '_' (systemd reads '-' as nesting).
std::string PodSliceName(QosClass qos, const std::string& uid);

// The full path, e.g. "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice".
std::string PodCgroupPath(QosClass qos, const std::string& uid);

}  // namespace ksim::kubelet
