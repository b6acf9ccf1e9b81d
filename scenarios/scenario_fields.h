// The scenario file's keys, as tables: every object's fields with their value kinds, and
// every timeline action with its arguments. The loader rejects keys these tables do not
// list, and the JSON Schema (scenario_schema.h) is generated from them, so the two cannot
// drift apart.
#pragma once

#include <string_view>
#include <vector>

#include "scenarios/scenario.h"

namespace ksim::scenarios {

enum class ValueKind {
  kString,
  kInt,
  kNumber,      // a probability or rate: integer or decimal
  kBool,
  kDuration,    // "30s", "1m30s", "250ms"
  kSignedDuration,  // a duration that may start with '-'
  kQuantity,    // a Kubernetes quantity: "500m", "16Gi", 4
  kHost,        // one host: cp-2, worker-3, web-1 (a group alias), lb, client
  kHosts,       // a host selector (control-plane, workers, all, a group, a host) or a list of them
  kHostGroups,  // a list of host lists
  kStringList,
  kStringMap,
  kObject,      // `object` names the ObjectSpec
  kObjectList,  // a list of `object`
  kAny,         // free-form YAML (a patch)
  kNumberList,  // swarm ranges and choices: numbers or durations
};

struct KeySpec {
  std::string_view key;
  ValueKind kind = ValueKind::kString;
  bool required = false;
  std::string_view object;  // kObject / kObjectList: the ObjectSpec's name
  std::string_view doc;
};

struct ObjectSpec {
  std::string_view name;  // "scenario", "cluster", "action.crash", ...
  std::vector<KeySpec> keys;
  std::string_view doc;
};

// Every object of the file, sorted by name. Action arguments are "action.<key>".
const std::vector<ObjectSpec>& ObjectSpecs();
// REQUIRES: `name` is one of ObjectSpecs().
const ObjectSpec& FindObjectSpec(std::string_view name);
const KeySpec* FindKey(const ObjectSpec& spec, std::string_view key);

struct ActionSpec {
  ActionKind kind;
  std::string_view key;  // the timeline entry's key, "powerOff"
  bool fault = false;    // carried out as faults::Fault values
  bool nemesis = false;  // a nemesis may draw it (it has an undo)
  bool heals = false;    // puts something right: allowed in the liveness phase
  std::string_view doc;
};

// In ActionKind order.
const std::vector<ActionSpec>& ActionSpecs();
const ActionSpec* FindAction(std::string_view key);
const ActionSpec& ActionSpecOf(ActionKind kind);

}  // namespace ksim::scenarios
