#include "cluster/api/label_selector.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace ksim::api {

Status LabelMatcherFromProto(bool present, const LabelSelector& selector, std::string_view field,
                             LabelMatcher* out) {
  if (!present) {
    *out = LabelMatcher::Nothing();
    return Status::Ok();
  }
  std::vector<LabelRequirement> reqs;
  // Sorted: a protobuf map's iteration order is unspecified.
  const std::map<std::string, std::string> labels(selector.match_labels().begin(), selector.match_labels().end());
  for (const auto& [key, value] : labels) reqs.push_back({key, SelectorOp::kEquals, {value}});
  const std::map<std::string_view, SelectorOp> ops = {{"In", SelectorOp::kIn},
                                                       {"NotIn", SelectorOp::kNotIn},
                                                       {"Exists", SelectorOp::kExists},
                                                       {"DoesNotExist", SelectorOp::kDoesNotExist}};
  for (int i = 0; i < selector.match_expressions_size(); ++i) {
    const LabelSelectorRequirement& e = selector.match_expressions(i);
    const auto op = ops.find(e.operator_());
    if (op == ops.end()) {
      return Status::InvalidArgument(std::string(field) + ".matchExpressions[" + std::to_string(i) +
                                     "].operator: unsupported \"" + e.operator_() + "\"");
    }
    reqs.push_back({e.key(), op->second, {e.values().begin(), e.values().end()}});
  }
  Status s = LabelMatcher::FromRequirements(std::move(reqs), out);
  if (!s.ok()) return Status::InvalidArgument(std::string(field) + ": " + s.message());
  return Status::Ok();
}

}  // namespace ksim::api
