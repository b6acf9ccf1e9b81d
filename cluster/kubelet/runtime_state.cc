#include "cluster/kubelet/runtime_state.h"

#include <algorithm>
#include <tuple>

namespace ksim::kubelet {

std::map<std::string, std::string> PodLabels(const api::Pod& pod) {
  return {{kLabelPodName, pod.metadata().name()},
          {kLabelPodNamespace, pod.metadata().namespace_()},
          {kLabelPodUid, pod.metadata().uid()}};
}

std::map<std::string, std::string> ContainerLabels(const api::Pod& pod, const std::string& container) {
  auto labels = PodLabels(pod);
  labels[kLabelContainerName] = container;
  return labels;
}

namespace {

std::string Label(const std::map<std::string, std::string>& labels, const char* key) {
  const auto it = labels.find(key);
  return it == labels.end() ? std::string() : it->second;
}

}  // namespace

RuntimeSnapshot GroupByPod(std::vector<PodSandboxStatus> sandboxes, std::vector<ContainerStatus> containers) {
  RuntimeSnapshot snap;
  std::sort(sandboxes.begin(), sandboxes.end(), [](const PodSandboxStatus& a, const PodSandboxStatus& b) {
    return std::tie(a.metadata.attempt, a.created_at, a.id) < std::tie(b.metadata.attempt, b.created_at, b.id);
  });
  std::sort(containers.begin(), containers.end(), [](const ContainerStatus& a, const ContainerStatus& b) {
    return std::tie(a.attempt, a.created_at, a.id) < std::tie(b.attempt, b.created_at, b.id);
  });
  std::map<std::string, std::string> sandbox_uid;  // sandbox id -> pod uid
  for (PodSandboxStatus& s : sandboxes) {
    const std::string uid = Label(s.labels, kLabelPodUid);
    if (uid.empty()) {
      snap.orphan_sandboxes.push_back(s.id);
      continue;
    }
    sandbox_uid[s.id] = uid;
    RuntimePod& pod = snap.pods[uid];
    pod.uid = uid;
    pod.namespace_ = Label(s.labels, kLabelPodNamespace);
    pod.name = Label(s.labels, kLabelPodName);
    pod.sandboxes.push_back(std::move(s));
  }
  for (ContainerStatus& c : containers) {
    const auto it = sandbox_uid.find(c.sandbox_id);
    const std::string name = Label(c.labels, kLabelContainerName);
    if (it == sandbox_uid.end() || name.empty() || Label(c.labels, kLabelPodUid) != it->second) {
      snap.orphan_containers.push_back(c.id);
      continue;
    }
    snap.pods[it->second].containers[name].push_back(std::move(c));
  }
  std::sort(snap.orphan_containers.begin(), snap.orphan_containers.end());
  std::sort(snap.orphan_sandboxes.begin(), snap.orphan_sandboxes.end());
  return snap;
}

}  // namespace ksim::kubelet
