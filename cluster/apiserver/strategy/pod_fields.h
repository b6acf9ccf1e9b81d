// A Pod's selectable fields beyond metadata's (Kubernetes' PodToSelectableFields), read
// from any message shaped like a Pod: the full api::Pod, or the watch cache's projection
// (cluster/apiserver/pod_projection.proto). One list, so the two cannot drift apart.
#pragma once

#include <string_view>

namespace ksim::apiserver {

// Calls add(name, value) for each field, in this fixed order.
template <typename PodLike, typename Add>
void ForEachPodField(const PodLike& pod, Add&& add) {
  const auto& spec = pod.spec();
  const auto& status = pod.status();
  add("spec.nodeName", std::string_view(spec.node_name()));
  add("spec.restartPolicy", std::string_view(spec.restart_policy()));
  add("spec.schedulerName", std::string_view(spec.scheduler_name()));
  add("spec.serviceAccountName", std::string_view(spec.service_account_name()));
  add("spec.hostNetwork", std::string_view(spec.host_network() ? "true" : "false"));
  add("status.phase", std::string_view(status.phase()));
  // The primary IP: the first of podIPs when the list is filled.
  add("status.podIP", std::string_view(status.pod_ips().empty() ? status.pod_ip() : status.pod_ips(0).ip()));
  add("status.nominatedNodeName", std::string_view(status.nominated_node_name()));
}

}  // namespace ksim::apiserver
