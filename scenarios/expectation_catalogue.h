// The catalogue of expectations a scenario file may name: `always:` invariants and the
// conditions `eventually:` and `atEnd:` check, each with its parameters. The loader checks
// names and parameter types against it; the JSON Schema is generated from it; the
// checkers (faults/, later) register under these names.
#pragma once

#include <string_view>
#include <vector>

#include "scenarios/scenario.h"

namespace ksim::scenarios {

struct ParamSpec {
  std::string_view name;
  ParamValue::Type type = ParamValue::Type::kString;
  bool required = false;
  std::string_view default_text;  // parsed like a value from a file; "" = no default
  std::string_view doc;
};

struct ExpectationSpec {
  std::string_view name;
  // An invariant (`always:`) holds at every step; a condition (`eventually:`, `atEnd:`)
  // is a predicate on one moment.
  bool invariant = false;
  std::vector<ParamSpec> params;
  std::string_view doc;
};

// Sorted by name.
const std::vector<ExpectationSpec>& ExpectationCatalogue();
// Null if `name` is not in the catalogue.
const ExpectationSpec* FindExpectation(std::string_view name);
// "string", "integer", "number", "boolean", "duration", "host".
std::string_view ParamTypeName(ParamValue::Type type);

}  // namespace ksim::scenarios
