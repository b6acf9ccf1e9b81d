#include "cluster/kubelet/qos.h"

#include <algorithm>
#include <iterator>
#include <optional>

#include "cluster/api/machinery/quantity.h"

namespace ksim::kubelet {
namespace {

constexpr const char* kQosResources[] = {"cpu", "memory"};

// The quantity of `name` in `m`, nullopt if absent. A value that does not parse counts
// as a non-zero quantity.
std::optional<api::Quantity> Find(const google::protobuf::Map<std::string, std::string>& m, const char* name) {
  const auto it = m.find(name);
  if (it == m.end()) return std::nullopt;
  api::Quantity q;
  if (!api::Quantity::Parse(it->second, &q).ok()) return api::Quantity::FromValue(1);
  return q;
}

struct Tally {
  bool any_set = false;        // some cpu/memory request or limit is non-zero
  bool all_guaranteed = true;  // every container limits cpu and memory with requests == limits
};

void Add(const api::ResourceRequirements& r, Tally* t) {
  size_t limited = 0;
  for (const char* name : kQosResources) {
    const auto req = Find(r.requests(), name);
    const auto lim = Find(r.limits(), name);
    if ((req && !req->IsZero()) || (lim && !lim->IsZero())) t->any_set = true;
    if (lim && !lim->IsZero()) {
      ++limited;
      if (req && *req != *lim) t->all_guaranteed = false;
    }
  }
  if (limited != std::size(kQosResources)) t->all_guaranteed = false;
}

}  // namespace

const char* QosClassName(QosClass qos) {
  switch (qos) {
    case QosClass::kGuaranteed:
      return "Guaranteed";
    case QosClass::kBurstable:
      return "Burstable";
    case QosClass::kBestEffort:
      return "BestEffort";
  }
  return "BestEffort";
}

QosClass GetPodQos(const api::Pod& pod) {
  Tally t;
  if (pod.spec().has_resources() &&
      (!pod.spec().resources().limits().empty() || !pod.spec().resources().requests().empty())) {
    Add(pod.spec().resources(), &t);
  } else {
    for (const api::Container& c : pod.spec().init_containers()) Add(c.resources(), &t);
    for (const api::Container& c : pod.spec().containers()) Add(c.resources(), &t);
  }
  if (!t.any_set) return QosClass::kBestEffort;
  return t.all_guaranteed ? QosClass::kGuaranteed : QosClass::kBurstable;
}

std::string QosSliceName(QosClass qos) {
  switch (qos) {
    case QosClass::kGuaranteed:
      return "kubepods.slice";
    case QosClass::kBurstable:
      return "kubepods-burstable.slice";
    case QosClass::kBestEffort:
      return "kubepods-besteffort.slice";
  }
  return "kubepods.slice";
}

std::string PodSliceName(QosClass qos, const std::string& uid) {
  std::string escaped = uid;
  std::replace(escaped.begin(), escaped.end(), '-', '_');
  std::string prefix = "kubepods";
  if (qos == QosClass::kBurstable) prefix += "-burstable";
  if (qos == QosClass::kBestEffort) prefix += "-besteffort";
  return prefix + "-pod" + escaped + ".slice";
}

std::string PodCgroupPath(QosClass qos, const std::string& uid) {
  std::string path = "/kubepods.slice";
  if (qos != QosClass::kGuaranteed) path += "/" + QosSliceName(qos);
  return path + "/" + PodSliceName(qos, uid);
}

}  // namespace ksim::kubelet
