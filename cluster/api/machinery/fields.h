// ksim::api field selectors (Kubernetes' k8s.io/apimachinery fields):
//   metadata.name=x,spec.nodeName!=y,status.phase==Running
// Only =, == and != exist (Kubernetes supports nothing else for fields). Terms are joined
// by ',' (AND); whitespace around a term, a field name and a value is ignored; empty terms
// are skipped. In a value, '\' escapes ',', '=', '!' and '\' itself ("a\,b" is "a,b").
//
// Which fields exist depends on the resource, so this layer does not judge them: the
// apiserver asks Fields() and rejects the ones its resource does not index. Matching
// looks fields up in a caller-supplied map; a field absent from the map has the value ""
// (as Kubernetes' fields.Set), so "spec.nodeName=" selects pods not yet scheduled.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/env/status.h"

namespace ksim::api {

enum class FieldOp {
  kEquals,     // field=value, field==value
  kNotEquals,  // field!=value
};

struct FieldRequirement {
  std::string field;
  FieldOp op = FieldOp::kEquals;
  std::string value;

  bool Matches(const std::map<std::string, std::string>& fields) const;
  // The same against a field's value as given by `value_of` ("" when the field is absent).
  bool MatchesLookup(const std::function<std::string_view(std::string_view)>& value_of) const;
  // "field=value" / "field!=value", the value escaped.
  std::string String() const;

  friend bool operator==(const FieldRequirement&, const FieldRequirement&) = default;
};

class FieldSelector {
 public:
  // The empty selector: matches everything.
  FieldSelector() = default;

  // Parses the string syntax. Errors read `field selector "<text>": <reason>`.
  static Status Parse(std::string_view text, FieldSelector* out);

  bool Matches(const std::map<std::string, std::string>& fields) const;
  // Against values given by `value_of` ("" for an absent field): for callers that keep
  // fields in another shape than a map.
  bool MatchesLookup(const std::function<std::string_view(std::string_view)>& value_of) const;
  bool Empty() const { return requirements_.empty(); }

  // Sorted by field, operator, value.
  const std::vector<FieldRequirement>& requirements() const { return requirements_; }
  // The distinct field names the selector uses, sorted: the caller rejects unsupported ones.
  std::vector<std::string> Fields() const;
  // The value `field` must equal for a match, when an '=' requirement pins it.
  std::optional<std::string> RequiredValue(std::string_view field) const;

  // Canonical text; Parse(String()) gives an equal selector.
  std::string String() const;

  friend bool operator==(const FieldSelector&, const FieldSelector&) = default;

 private:
  std::vector<FieldRequirement> requirements_;
};

// `value` with '\', ',', '=' and '!' escaped by '\'.
std::string EscapeFieldValue(std::string_view value);

}  // namespace ksim::api
