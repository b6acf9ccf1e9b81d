// ksim::api label selectors and label validation (Kubernetes' k8s.io/apimachinery labels).
//
// String syntax, comma = AND, whitespace around tokens ignored:
//   key=value   key==value   key!=value   key in (v1,v2)   key notin (v1)   key   !key
// The JSON shape is metav1.LabelSelector: {"matchLabels": {k: v}, "matchExpressions":
// [{"key": k, "operator": "In"|"NotIn"|"Exists"|"DoesNotExist", "values": [...]}]}.
//
// Semantics (as Kubernetes): `=`/`in` need the key present with a listed value;
// `!=`/`notin` match when the key is absent or its value is not listed; an empty selector
// matches everything; Selector::Nothing() (a null LabelSelector) matches nothing.
// Keys and values are validated as Kubernetes validates label keys and values.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cluster/env/status.h"

namespace ksim::api {

// Label keys: an optional DNS-subdomain prefix (<= 253 chars) and '/', then a name of
// 1..63 chars of [A-Za-z0-9._-] starting and ending alphanumeric. The error names the key
// and the reason.
Status ValidateLabelKey(std::string_view key);
// Label values: empty, or 1..63 chars of [A-Za-z0-9._-] starting and ending alphanumeric.
Status ValidateLabelValue(std::string_view key, std::string_view value);
// Every key and value of a label map.
Status ValidateLabels(const std::map<std::string, std::string>& labels);

enum class SelectorOp {
  kEquals,        // key=value (also written key==value)
  kNotEquals,     // key!=value
  kIn,            // key in (values)
  kNotIn,         // key notin (values)
  kExists,        // key
  kDoesNotExist,  // !key
};

struct LabelRequirement {
  std::string key;
  SelectorOp op = SelectorOp::kExists;
  // Sorted, without duplicates. One value for kEquals/kNotEquals, >= 1 for kIn/kNotIn,
  // none for kExists/kDoesNotExist.
  std::vector<std::string> values;

  bool Matches(const std::map<std::string, std::string>& labels) const;
  // Canonical text: "k=v", "k!=v", "k in (a,b)", "k notin (a)", "k", "!k".
  std::string String() const;

  friend bool operator==(const LabelRequirement&, const LabelRequirement&) = default;
};

// Named LabelMatcher because ksim::api::LabelSelector is the protobuf message (meta.proto).
class LabelMatcher {
 public:
  // The empty selector: matches everything.
  LabelMatcher() = default;
  // Matches nothing (what a null LabelSelector means in Kubernetes).
  static LabelMatcher Nothing();

  // Parses the string syntax. Errors read `label selector "<text>": <reason>` and name
  // the offending key. "" is the empty selector.
  static Status Parse(std::string_view text, LabelMatcher* out);
  // Builds from a metav1.LabelSelector JSON value; null gives Nothing(), {} the empty
  // selector. Errors name the field ("matchExpressions[1].operator: ...").
  static Status FromJson(const nlohmann::json& selector, LabelMatcher* out);
  // Builds from requirements, validating each (values are sorted and deduplicated).
  static Status FromRequirements(std::vector<LabelRequirement> requirements, LabelMatcher* out);
  // The selector of a plain label map (every pair an equality), e.g. a ReplicaSet's
  // spec.selector.matchLabels or a Service's spec.selector. Validates keys and values.
  static Status FromMap(const std::map<std::string, std::string>& labels, LabelMatcher* out);

  bool Matches(const std::map<std::string, std::string>& labels) const;
  bool Empty() const { return !nothing_ && requirements_.empty(); }
  bool MatchesNothing() const { return nothing_; }

  // Sorted by key, then by operator and values: an index may walk them, e.g. to use the
  // equality requirements (see RequiredValue).
  const std::vector<LabelRequirement>& requirements() const { return requirements_; }
  // The value `key` must have for a match when an equality (or single-valued `in`)
  // requirement pins it; nullopt otherwise.
  std::optional<std::string> RequiredValue(std::string_view key) const;

  // Canonical text: requirements in order, joined by ','. Parse(String()) gives an equal
  // selector. Nothing() prints as "<none>" (not parseable; it has no string form).
  std::string String() const;

  friend bool operator==(const LabelMatcher&, const LabelMatcher&) = default;

 private:
  std::vector<LabelRequirement> requirements_;
  bool nothing_ = false;
};

}  // namespace ksim::api
