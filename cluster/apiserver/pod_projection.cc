#include "cluster/apiserver/pod_projection.h"

#include <google/protobuf/arena.h>

#include <algorithm>

#include "cluster/apiserver/pod_projection.pb.h"
#include "cluster/apiserver/strategy/pod_fields.h"

namespace ksim::apiserver {

bool ProjectPod(std::string_view bytes, CachedObject* out) {
  google::protobuf::Arena arena;
  auto* pod = google::protobuf::Arena::CreateMessage<projection::PodFields>(&arena);
  if (!pod->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return false;
  const projection::MetaFields& meta = pod->metadata();
  out->namespace_ = meta.namespace_();
  out->name = meta.name();
  out->labels.insert(meta.labels().begin(), meta.labels().end());
  // As CachedObject::SetFields leaves them: sorted by name, empty values left out.
  out->fields.clear();
  auto add = [out](std::string_view name, std::string_view value) {
    if (!value.empty()) out->fields.emplace_back(name, value);
  };
  add("metadata.name", meta.name());
  add("metadata.namespace", meta.namespace_());
  ForEachPodField(*pod, add);
  std::sort(out->fields.begin(), out->fields.end());
  return true;
}

}  // namespace ksim::apiserver
