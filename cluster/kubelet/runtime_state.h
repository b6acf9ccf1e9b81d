// What the runtime holds for the kubelet's pods, read back after a kubelet restart. The
// kubelet keeps no state of its own on disk: like Kubernetes' kubelet it labels every
// sandbox and container with the pod it belongs to (the CRI labels below) and rebuilds
// its view from ListPodSandboxes and ListContainers.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "cluster/api/core.pb.h"
#include "cluster/env/container_runtime.h"

namespace ksim::kubelet {

inline constexpr const char* kLabelPodName = "io.kubernetes.pod.name";
inline constexpr const char* kLabelPodNamespace = "io.kubernetes.pod.namespace";
inline constexpr const char* kLabelPodUid = "io.kubernetes.pod.uid";
inline constexpr const char* kLabelContainerName = "io.kubernetes.container.name";

// The labels of a pod's sandbox (and, with a container name, of its containers).
std::map<std::string, std::string> PodLabels(const api::Pod& pod);
std::map<std::string, std::string> ContainerLabels(const api::Pod& pod, const std::string& container);

// One pod's objects in the runtime.
struct RuntimePod {
  std::string uid;
  std::string namespace_;
  std::string name;
  // Every sandbox of the pod, oldest attempt first; the last is the current one.
  std::vector<PodSandboxStatus> sandboxes;
  // Every container of the pod's sandboxes, by container name, oldest attempt first.
  std::map<std::string, std::vector<ContainerStatus>> containers;
};

// The runtime's objects grouped by pod uid, and the ones that belong to no pod.
struct RuntimeSnapshot {
  std::map<std::string, RuntimePod> pods;  // by uid
  // Containers whose sandbox is gone or that carry no pod labels: nothing can own them.
  std::vector<std::string> orphan_containers;
  // Sandboxes without a pod uid label.
  std::vector<std::string> orphan_sandboxes;
};

// Groups `sandboxes` and `containers` (as the List calls return them) by the pod uid
// label. Deterministic: the result depends only on the inputs, not their order.
RuntimeSnapshot GroupByPod(std::vector<PodSandboxStatus> sandboxes, std::vector<ContainerStatus> containers);

}  // namespace ksim::kubelet
