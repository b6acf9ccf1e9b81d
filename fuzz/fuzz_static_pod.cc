// libFuzzer target: static pod manifests through the kubelet's reader (codec, apiserver
// defaulting and validation, static pod defaults). It never crashes; an error names the
// manifest; an accepted pod is named for the node and reads the same way twice.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <vector>

#include "cluster/kubelet/static_pod.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::shared_ptr<const ksim::api::Pod>> pods;
  const ksim::Status s =
      ksim::kubelet::ReadStaticPods(text, ksim::kubelet::StaticSource::kFile, "m.yaml", "node1", {}, &pods);
  if (!s.ok()) {
    if (s.message().rfind("m.yaml", 0) != 0 || !pods.empty()) std::abort();
    return 0;
  }
  std::vector<std::shared_ptr<const ksim::api::Pod>> again;
  if (!ksim::kubelet::ReadStaticPods(text, ksim::kubelet::StaticSource::kFile, "m.yaml", "node1", {}, &again).ok() ||
      again.size() != pods.size()) {
    std::abort();
  }
  for (size_t i = 0; i < pods.size(); ++i) {
    if (pods[i]->spec().node_name() != "node1" || again[i]->metadata().uid() != pods[i]->metadata().uid()) std::abort();
  }
  return 0;
}
