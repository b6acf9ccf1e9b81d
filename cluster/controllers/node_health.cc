#include "cluster/controllers/node_health.h"

#include <algorithm>

namespace ksim::controllers {

const char* ZoneStateName(ZoneState state) {
  switch (state) {
    case ZoneState::kInitial: return "Initial";
    case ZoneState::kNormal: return "Normal";
    case ZoneState::kPartialDisruption: return "PartialDisruption";
    case ZoneState::kFullDisruption: return "FullDisruption";
  }
  return "?";
}

std::string ZoneKey(const api::Node& node) {
  const auto& labels = node.metadata().labels();
  auto get = [&labels](const char* key, const char* beta) -> std::string {
    if (auto it = labels.find(key); it != labels.end()) return it->second;
    if (auto it = labels.find(beta); it != labels.end()) return it->second;
    return "";
  };
  const std::string region = get(kRegionLabel, "failure-domain.beta.kubernetes.io/region");
  const std::string zone = get(kZoneLabel, "failure-domain.beta.kubernetes.io/zone");
  if (region.empty() && zone.empty()) return "";
  return region + ":\x1f:" + zone;
}

ZoneState ComputeZoneState(int ready, int not_ready, double threshold) {
  if (ready == 0 && not_ready > 0) return ZoneState::kFullDisruption;
  // not_ready / (ready + not_ready) >= threshold, in exact arithmetic on the counts.
  if (not_ready > 2 && static_cast<double>(not_ready) >= threshold * static_cast<double>(ready + not_ready)) {
    return ZoneState::kPartialDisruption;
  }
  return ZoneState::kNormal;
}

const api::NodeCondition* ReadyCondition(const api::Node& node) {
  for (const auto& c : node.status().conditions()) {
    if (c.type() == "Ready") return &c;
  }
  return nullptr;
}

bool HasTaint(const api::Node& node, const std::string& key, const std::string& effect) {
  for (const auto& t : node.spec().taints()) {
    if (t.key() == key && t.effect() == effect) return true;
  }
  return false;
}

bool Tolerates(const api::Toleration& toleration, const api::Taint& taint) {
  if (!toleration.effect().empty() && toleration.effect() != taint.effect()) return false;
  if (!toleration.key().empty() && toleration.key() != taint.key()) return false;
  if (toleration.operator_() == "Exists") return true;
  if (toleration.key().empty()) return false;  // a wildcard needs Exists
  return toleration.value() == taint.value();  // Equal (the default)
}

std::optional<Nanos> TolerationTime(const google::protobuf::RepeatedPtrField<api::Toleration>& tolerations,
                                    const std::vector<api::Taint>& taints) {
  std::vector<const api::Toleration*> used;
  for (const auto& taint : taints) {
    bool tolerated = false;
    for (const auto& t : tolerations) {
      if (!Tolerates(t, taint)) continue;
      tolerated = true;
      if (std::find(used.begin(), used.end(), &t) == used.end()) used.push_back(&t);
    }
    if (!tolerated) return Nanos(0);
  }
  std::optional<int64_t> min_seconds;
  for (const api::Toleration* t : used) {
    if (!t->has_toleration_seconds()) continue;
    const int64_t s = std::max<int64_t>(0, t->toleration_seconds());
    if (!min_seconds || s < *min_seconds) min_seconds = s;
  }
  if (!min_seconds) return std::nullopt;
  return Seconds(*min_seconds);
}

std::vector<api::Taint> NoExecuteTaints(const api::Node& node) {
  std::vector<api::Taint> out;
  for (const auto& t : node.spec().taints()) {
    if (t.effect() == "NoExecute") out.push_back(t);
  }
  return out;
}

}  // namespace ksim::controllers
