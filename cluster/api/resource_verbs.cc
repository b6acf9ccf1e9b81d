#include "cluster/api/resource_verbs.h"

#include <algorithm>
#include <map>
#include <string>

namespace ksim::api {

const std::vector<std::string_view>& ResourceVerbs(const KindInfo& kind) {
  static const std::vector<std::string_view> kNone;
  static const std::vector<std::string_view> kStored = {"create", "delete", "deletecollection", "get",
                                                        "list",   "patch",  "update",           "watch"};
  static const std::vector<std::string_view> kReadOnly = {"get", "list"};
  // Kinds that are not stored objects, by message type.
  static const std::map<std::string, const std::vector<std::string_view>*> kExceptions = {
      {"ksim.api.PodMetrics", &kReadOnly},
      {"ksim.api.NodeMetrics", &kReadOnly},
  };
  if (kind.resource.empty()) return kNone;
  const auto it = kExceptions.find(kind.descriptor->full_name());
  return it == kExceptions.end() ? kStored : *it->second;
}

bool ServesVerbs(const KindInfo& kind, const std::vector<std::string_view>& verbs) {
  const std::vector<std::string_view>& served = ResourceVerbs(kind);
  return std::all_of(verbs.begin(), verbs.end(),
                     [&](std::string_view v) { return std::find(served.begin(), served.end(), v) != served.end(); });
}

}  // namespace ksim::api
