// Pod admission on the node, as the kubelet's predicate admit handler does it: a pod the
// scheduler placed (or a static pod) runs only if it fits the node beside the pods already
// admitted. The checks are the scheduler's own (Kubernetes' kubelet calls the scheduler's
// plugins too), on ksim's scheduler framework types, in Kubernetes' order: resources
// (pods, cpu, memory, ephemeral-storage, extended), node name, host ports, node
// selector/affinity. The first failure is the verdict.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cluster/api/core.pb.h"

namespace ksim::kubelet {

struct AdmitResult {
  bool admit = true;
  // Kubernetes' reasons: "OutOfcpu", "OutOfmemory", "OutOfpods", "OutOf<resource>",
  // "NodeName", "NodePorts", "NodeAffinity"; "UnexpectedAdmissionError" for a pod or node
  // that cannot be read.
  std::string reason;
  // e.g. "Node didn't have enough resource: cpu, requested: 500, used: 1800, capacity: 2000".
  std::string message;
};

// Pure. `admitted` are the pods already admitted on `node` that are not terminal
// (Succeeded/Failed); `pod` is the candidate. Reads node.status.allocatable, the node's
// name and labels, the pods' requests (init containers and sidecars counted as the
// scheduler counts them, plus overhead) and host ports.
AdmitResult AdmitPod(const api::Node& node, const std::vector<std::shared_ptr<const api::Pod>>& admitted,
                     const std::shared_ptr<const api::Pod>& pod);

// What the kubelet writes for a rejected pod: phase Failed, the verdict's reason, and the
// message prefixed "Pod was rejected: ", as Kubernetes does.
void SetRejectedStatus(const AdmitResult& result, api::PodStatus* status);

}  // namespace ksim::kubelet
