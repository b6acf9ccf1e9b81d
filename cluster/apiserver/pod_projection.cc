#include "cluster/apiserver/pod_projection.h"

#include <google/protobuf/arena.h>

#include <algorithm>

#include "cluster/apiserver/pod_projection.pb.h"

namespace ksim::apiserver {

bool ProjectPod(std::string_view bytes, CachedObject* out) {
  google::protobuf::Arena arena;
  auto* pod = google::protobuf::Arena::CreateMessage<projection::PodFields>(&arena);
  if (!pod->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return false;
  const projection::MetaFields& meta = pod->metadata();
  const projection::PodSpecFields& spec = pod->spec();
  const projection::PodStatusFields& status = pod->status();
  out->namespace_ = meta.namespace_();
  out->name = meta.name();
  out->labels.insert(meta.labels().begin(), meta.labels().end());
  // SelectableFields' names and values for a Pod (strategy/selectable_fields.cc), in name
  // order, empty values left out as CachedObject::SetFields leaves them.
  const std::string& pod_ip = status.pod_ips().empty() ? status.pod_ip() : status.pod_ips(0).ip();
  const std::pair<const char*, const std::string*> fields[] = {
      {"metadata.name", &meta.name()},
      {"metadata.namespace", &meta.namespace_()},
      {"spec.nodeName", &spec.node_name()},
      {"spec.restartPolicy", &spec.restart_policy()},
      {"spec.schedulerName", &spec.scheduler_name()},
      {"spec.serviceAccountName", &spec.service_account_name()},
      {"status.nominatedNodeName", &status.nominated_node_name()},
      {"status.phase", &status.phase()},
      {"status.podIP", &pod_ip},
  };
  out->fields.clear();
  out->fields.reserve(std::size(fields) + 1);
  for (const auto& [name, value] : fields) {
    if (!value->empty()) out->fields.emplace_back(name, *value);
  }
  out->fields.emplace_back("spec.hostNetwork", spec.host_network() ? "true" : "false");
  std::sort(out->fields.begin(), out->fields.end());
  return true;
}

}  // namespace ksim::apiserver
