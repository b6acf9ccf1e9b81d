#include "scenarios/scenario_schema.h"

#include <nlohmann/json.hpp>
#include <string>

#include "scenarios/expectation_catalogue.h"
#include "scenarios/scenario_fields.h"

namespace ksim::scenarios {

namespace {

using Json = nlohmann::ordered_json;

Json Ref(std::string_view name) { return Json{{"$ref", "#/$defs/" + std::string(name)}}; }

Json StringArray() { return Json{{"type", "array"}, {"items", {{"type", "string"}}}}; }

Json ValueSchema(const KeySpec& key) {
  switch (key.kind) {
    case ValueKind::kString: return Json{{"type", "string"}};
    case ValueKind::kInt: return Json{{"type", "integer"}};
    case ValueKind::kNumber: return Json{{"type", "number"}};
    case ValueKind::kBool: return Json{{"type", "boolean"}};
    case ValueKind::kDuration: return Ref("duration");
    case ValueKind::kSignedDuration: return Ref("signedDuration");
    case ValueKind::kQuantity: return Ref("quantity");
    case ValueKind::kHost: return Json{{"type", "string"}};
    case ValueKind::kHosts: return Ref("hosts");
    case ValueKind::kHostGroups: return Json{{"type", "array"}, {"minItems", 2}, {"items", Ref("hosts")}};
    case ValueKind::kStringList: return StringArray();
    case ValueKind::kStringMap: return Json{{"type", "object"}, {"additionalProperties", {{"type", "string"}}}};
    case ValueKind::kObject: return Ref(key.object);
    case ValueKind::kObjectList: return Json{{"type", "array"}, {"items", Ref(key.object)}};
    case ValueKind::kAny: return Json::object();
    case ValueKind::kNumberList:
      return Json{{"type", "array"}, {"items", {{"type", Json::array({"number", "string"})}}}};
  }
  return Json::object();
}

Json ObjectSchema(const ObjectSpec& spec) {
  Json properties = Json::object();
  Json required = Json::array();
  for (const KeySpec& key : spec.keys) {
    Json value = ValueSchema(key);
    if (!key.doc.empty()) value["description"] = std::string(key.doc);
    properties[std::string(key.key)] = value;
    if (key.required) required.push_back(std::string(key.key));
  }
  Json schema{{"type", "object"}};
  if (!spec.doc.empty()) schema["description"] = std::string(spec.doc);
  schema["properties"] = properties;
  if (!required.empty()) schema["required"] = required;
  schema["additionalProperties"] = false;
  return schema;
}

Json ParamType(ParamValue::Type type) {
  switch (type) {
    case ParamValue::Type::kInt: return Json{{"type", "integer"}};
    case ParamValue::Type::kNumber: return Json{{"type", "number"}};
    case ParamValue::Type::kBool: return Json{{"type", "boolean"}};
    case ParamValue::Type::kDuration: return Ref("duration");
    default: return Json{{"type", "string"}};
  }
}

// `- name` or `- name: {params}` (+ `within:`), for invariants or for conditions.
Json ExpectationList(bool invariants) {
  Json names = Json::array();
  Json shapes = Json::array();
  for (const ExpectationSpec& e : ExpectationCatalogue()) {
    if (e.invariant != invariants) continue;
    names.push_back(std::string(e.name));
    Json params{{"type", Json::array({"object", "null"})}};
    Json properties = Json::object();
    Json required = Json::array();
    for (const ParamSpec& p : e.params) {
      Json value = ParamType(p.type);
      if (!p.doc.empty()) value["description"] = std::string(p.doc);
      properties[std::string(p.name)] = value;
      if (p.required) required.push_back(std::string(p.name));
    }
    params["properties"] = properties;
    if (!required.empty()) params["required"] = required;
    params["additionalProperties"] = false;
    Json shape{{"type", "object"}, {"description", std::string(e.doc)}};
    shape["properties"] = Json{{std::string(e.name), params}};
    if (!invariants) shape["properties"]["within"] = Ref("duration");
    shape["required"] = Json::array({std::string(e.name)});
    shape["additionalProperties"] = false;
    shapes.push_back(shape);
  }
  Json one_of = Json::array();
  one_of.push_back(Json{{"type", "string"}, {"enum", names}});
  for (Json& s : shapes) one_of.push_back(std::move(s));
  return Json{{"type", "array"}, {"items", {{"oneOf", one_of}}}};
}

}  // namespace

std::string ScenarioJsonSchema() {
  Json defs = Json::object();
  const std::string duration = "(0|[+]?(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|ms|s|m|h))+)";
  defs["duration"] = Json{{"type", "string"}, {"pattern", "^" + duration + "$"}};
  defs["signedDuration"] = Json{{"type", "string"}, {"pattern", "^-?" + duration + "$"}};
  defs["quantity"] = Json{{"type", Json::array({"string", "number"})}};
  defs["hosts"] = Json{{"oneOf", Json::array({Json{{"type", "string"}}, StringArray()})}};
  Json actions = Json::array();
  Json nemesis_kinds = Json::array();
  for (const ActionSpec& a : ActionSpecs()) {
    if (a.nemesis) nemesis_kinds.push_back(std::string(a.key));
  }
  for (const ObjectSpec& spec : ObjectSpecs()) {
    Json schema = ObjectSchema(spec);
    if (spec.name == "timelineEntry") {
      for (const ActionSpec& a : ActionSpecs()) {
        Json ref = Ref("action." + std::string(a.key));
        if (!a.doc.empty()) ref["description"] = std::string(a.doc);
        schema["properties"][std::string(a.key)] = ref;
      }
      schema["minProperties"] = 2;
      schema["maxProperties"] = 2;
    }
    if (spec.name == "nemesis") schema["properties"]["faults"]["items"]["enum"] = nemesis_kinds;
    if (spec.name == "expectations") {
      schema["properties"]["always"] = ExpectationList(true);
      schema["properties"]["eventually"] = ExpectationList(false);
      schema["properties"]["atEnd"] = ExpectationList(false);
    }
    if (spec.name.substr(0, 7) == "action.") schema["type"] = Json::array({"object", "null"});
    defs[std::string(spec.name)] = schema;
  }
  Json root{{"$schema", "https://json-schema.org/draft/2020-12/schema"},
            {"$id", "https://ksim.io/schemas/scenario.schema.json"},
            {"title", "ksim scenario"},
            {"description", "Generated by `ksim scenario schema` from the loader's tables; see docs/SCENARIOS.md."},
            {"$ref", "#/$defs/scenario"},
            {"$defs", defs}};
  return root.dump(2) + "\n";
}

}  // namespace ksim::scenarios
