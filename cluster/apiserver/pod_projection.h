// Reads what a watch cache needs of a stored Pod (namespace, name, labels, selectable
// fields) from its bytes, without decoding the containers, volumes and conditions: the
// full decode was the largest cost of feeding a cache pod events.
#pragma once

#include <string_view>

#include "cluster/apiserver/watch_cache.h"

namespace ksim::apiserver {

// Fills out->namespace_, name, labels and fields, as a full decode followed by
// SelectableFields would. Returns false, leaving them unset, if the bytes do not parse.
bool ProjectPod(std::string_view bytes, CachedObject* out);

}  // namespace ksim::apiserver
