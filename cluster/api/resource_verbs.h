// The verbs a kind's resource serves, as API discovery lists them. Most kinds are stored
// objects serving every verb; the metrics.k8s.io kinds are computed on each read and serve
// get and list only. Controllers that act on "every resource" (the garbage collector, the
// namespace controller) skip the kinds without the verbs they need, as Kubernetes' do by
// discovery.
#pragma once

#include <string_view>
#include <vector>

#include "cluster/api/registry.h"

namespace ksim::api {

// In discovery's order: create, delete, deletecollection, get, list, patch, update, watch
// (empty for kinds that are not resources).
const std::vector<std::string_view>& ResourceVerbs(const KindInfo& kind);

// Whether `kind` serves every one of `verbs`.
bool ServesVerbs(const KindInfo& kind, const std::vector<std::string_view>& verbs);

}  // namespace ksim::api
