#include "cluster/kubelet/admission.h"

#include <fmt/format.h>

#include <string_view>

#include "cluster/scheduler/framework/types.h"

namespace ksim::kubelet {
namespace {

using scheduler::NodeData;
using scheduler::NodeInfo;
using scheduler::PodInfo;
using scheduler::Resources;

AdmitResult Reject(std::string reason, std::string message) {
  return AdmitResult{false, std::move(reason), std::move(message)};
}

// Kubernetes' InsufficientResourceError: reason "OutOf<resource>".
AdmitResult Insufficient(std::string_view resource, int64_t requested, int64_t used, int64_t capacity) {
  return Reject(fmt::format("OutOf{}", resource),
                fmt::format("Node didn't have enough resource: {}, requested: {}, used: {}, capacity: {}", resource,
                            requested, used, capacity));
}

// Kubernetes' PredicateFailureError: reason is the predicate's name.
AdmitResult PredicateFailed(std::string_view name, std::string_view description) {
  return Reject(std::string(name), fmt::format("Predicate {} failed: {}", name, description));
}

// noderesources.Fits, in its order: pod count, cpu, memory, ephemeral-storage, scalars.
AdmitResult CheckResources(const PodInfo& pod, const NodeInfo& node) {
  const Resources& allocatable = node.node()->allocatable;
  const Resources& used = node.requested();
  const int64_t pods = static_cast<int64_t>(node.pods().size());
  if (pods + 1 > allocatable.pods) return Insufficient("pods", 1, pods, allocatable.pods);
  for (std::string_view name : {"cpu", "memory", "ephemeral-storage"}) {
    const int64_t want = pod.requests.Get(name);
    if (want > 0 && want > allocatable.Get(name) - used.Get(name)) {
      return Insufficient(name, want, used.Get(name), allocatable.Get(name));
    }
  }
  for (const auto& [name, want] : pod.requests.scalars) {
    if (want > allocatable.Get(name) - used.Get(name)) {
      return Insufficient(name, want, used.Get(name), allocatable.Get(name));
    }
  }
  return AdmitResult{};
}

}  // namespace

AdmitResult AdmitPod(const api::Node& node, const std::vector<std::shared_ptr<const api::Pod>>& admitted,
                     const std::shared_ptr<const api::Pod>& pod) {
  std::shared_ptr<const NodeData> data;
  Status s = NodeData::Build(std::make_shared<const api::Node>(node), &data);
  if (!s.ok()) return Reject("UnexpectedAdmissionError", "node: " + s.message());
  NodeInfo info(data);
  for (const auto& other : admitted) {
    std::shared_ptr<PodInfo> other_info;
    // A pod already running was admitted before; one we cannot read holds nothing.
    if (PodInfo::Build(other, &other_info).ok()) info.AddPod(std::move(other_info));
  }
  std::shared_ptr<PodInfo> candidate;
  s = PodInfo::Build(pod, &candidate);
  if (!s.ok()) return Reject("UnexpectedAdmissionError", s.message());

  AdmitResult r = CheckResources(*candidate, info);
  if (!r.admit) return r;
  if (!candidate->node_name.empty() && candidate->node_name != data->name) {
    return PredicateFailed("NodeName", "node(s) didn't match the requested node name");
  }
  for (const scheduler::HostPort& port : candidate->host_ports) {
    if (info.PortInUse(port)) {
      return PredicateFailed("NodePorts", "node(s) didn't have free ports for the requested pod ports");
    }
  }
  bool selector_ok = true;
  for (const auto& [key, value] : candidate->node_selector) {
    const auto it = data->labels.find(key);
    if (it == data->labels.end() || it->second != value) selector_ok = false;
  }
  if (!selector_ok ||
      (candidate->required_node_affinity && !candidate->required_node_affinity->Matches(data->labels, data->name))) {
    return PredicateFailed("NodeAffinity", "node(s) didn't match Pod's node affinity/selector");
  }
  return AdmitResult{};
}

void SetRejectedStatus(const AdmitResult& result, api::PodStatus* status) {
  status->set_phase("Failed");
  status->set_reason(result.reason);
  status->set_message("Pod was rejected: " + result.message);
}

}  // namespace ksim::kubelet
