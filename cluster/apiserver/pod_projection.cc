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
  // ForEachPodField's names are literals, which outlive the cache as the table does.
  // Counted first: the vector is sized exactly, in every apiserver's cache.
  size_t count = 0;
  ForEachPodField(*pod, [&count](std::string_view, std::string_view value) { count += value.empty() ? 0 : 1; });
  out->fields.clear();
  out->fields.reserve(count);
  ForEachPodField(*pod, [out](std::string_view name, std::string_view value) {
    if (!value.empty()) out->fields.emplace_back(name, value);
  });
  std::sort(out->fields.begin(), out->fields.end());
  return true;
}

}  // namespace ksim::apiserver
