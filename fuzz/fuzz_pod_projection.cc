// libFuzzer target: the watch caches' pod projection (a hand-driven wire reader) against
// protobuf's own parser. On any bytes the projection must not crash; on bytes the full
// decode accepts, it must accept them too and read the same name, namespace, labels and
// selectable fields.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "cluster/api/core.pb.h"
#include "cluster/apiserver/pod_projection.h"
#include "cluster/apiserver/strategy/strategy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  ksim::apiserver::CachedObject projected;
  const bool projected_ok = ksim::apiserver::ProjectPod(bytes, &projected);
  ksim::api::Pod pod;
  if (!pod.ParseFromString(bytes)) return 0;
  if (!projected_ok) std::abort();
  ksim::apiserver::CachedObject full;
  full.namespace_ = pod.metadata().namespace_();
  full.name = pod.metadata().name();
  full.labels.insert(pod.metadata().labels().begin(), pod.metadata().labels().end());
  full.SetFields(ksim::apiserver::SelectableFields(pod));
  if (projected.namespace_ != full.namespace_ || projected.name != full.name || projected.labels != full.labels ||
      projected.fields != full.fields) {
    std::abort();
  }
  return 0;
}
