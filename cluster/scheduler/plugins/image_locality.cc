#include "cluster/scheduler/plugins/image_locality.h"

#include <string>

#include "cluster/scheduler/plugins/node_plugin_util.h"

namespace ksim::scheduler {
namespace {

constexpr int64_t kMiB = 1024 * 1024;
// Kubernetes' thresholds: below 23 MiB an image's pull time is noise; above 1000 MiB per
// container the score is already full.
constexpr int64_t kMinThresholdBytes = 23 * kMiB;
constexpr int64_t kMaxContainerThresholdBytes = 1000 * kMiB;

struct ImageLocalityState final : StateData {
  struct Image {
    std::string name;   // normalized
    double spread = 0;  // nodes holding it / all nodes
  };
  std::vector<Image> images;  // one per container, init containers first
  int64_t num_containers = 0;
  std::unique_ptr<StateData> Clone() const override { return std::make_unique<ImageLocalityState>(*this); }
};

}  // namespace

PluginStatus ImageLocality::PreScore(CycleState& state, const PodInfo& pod, std::span<const NodeInfo* const>,
                                     const Snapshot& snapshot) const {
  const auto& spec = pod.pod->spec();
  const double total_nodes = static_cast<double>(snapshot.nodes().size());
  auto data = std::make_unique<ImageLocalityState>();
  data->num_containers = spec.init_containers_size() + spec.containers_size();
  bool any_present = false;
  auto add = [&](const std::string& image) {
    int count = snapshot.ImageNodeCount(image);
    if (count == 0) return;  // on no node: adds nothing anywhere
    any_present = true;
    data->images.push_back({image, static_cast<double>(count) / total_nodes});
  };
  // PodInfo::images holds the app containers' images; init containers count too.
  for (const auto& c : spec.init_containers()) {
    if (!c.image().empty()) add(NormalizeImageName(c.image()));
  }
  for (const std::string& image : pod.images) add(image);
  if (!any_present) return PluginStatus::Skip();
  state.Set(slot(), std::move(data));
  return PluginStatus::Success();
}

int64_t ImageLocality::Score(const CycleState& state, const PodInfo&, const NodeInfo& node,
                             PluginStatus* status) const {
  const auto* data = state.Read<ImageLocalityState>(slot());
  if (data == nullptr) {
    *status = PluginStatus(Code::kError, "ImageLocality: no PreScore state (list the plugin at preScore too)");
    return 0;
  }
  const auto& sizes = node.node()->image_sizes;
  int64_t sum = 0;
  for (const auto& image : data->images) {
    auto it = sizes.find(image.name);
    if (it != sizes.end()) sum += static_cast<int64_t>(static_cast<double>(it->second) * image.spread);
  }
  const int64_t max_threshold = kMaxContainerThresholdBytes * data->num_containers;
  if (sum < kMinThresholdBytes) sum = kMinThresholdBytes;
  if (sum > max_threshold) sum = max_threshold;
  return kMaxNodeScore * (sum - kMinThresholdBytes) / (max_threshold - kMinThresholdBytes);
}

Status NewImageLocality(const nlohmann::json& args, std::unique_ptr<Plugin>* out) {
  if (Status s = CheckArgsKeys(args, {}); !s.ok()) return s;
  *out = std::make_unique<ImageLocality>();
  return Status::Ok();
}

}  // namespace ksim::scheduler
