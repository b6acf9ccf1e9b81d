// A metav1.LabelSelector message as a LabelMatcher: the one conversion the scheduler's
// affinity and spread terms and the controllers' selectors share.
#pragma once

#include <string_view>

#include "cluster/api/machinery/labels.h"
#include "cluster/api/meta.pb.h"
#include "cluster/env/status.h"

namespace ksim::api {

// `present` false is a null selector, which matches nothing; an empty one matches
// everything. Errors are InvalidArgument naming `field`, e.g.
// "spec.selector.matchExpressions[1].operator: unsupported \"Near\"".
Status LabelMatcherFromProto(bool present, const LabelSelector& selector, std::string_view field,
                             LabelMatcher* out);

}  // namespace ksim::api
