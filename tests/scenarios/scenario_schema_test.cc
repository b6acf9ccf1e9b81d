// The JSON Schema and the tables it is generated from: the checked-in schema equals the
// generated one, every table entry is reachable and used by the full example, and the
// catalogue's defaults are values of their types.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "scenarios/expectation_catalogue.h"
#include "scenarios/scenario_fields.h"
#include "scenarios/scenario_loader.h"
#include "scenarios/scenario_schema.h"
#include "tests/scenarios/scenario_test_files.h"

namespace ksim::scenarios {
namespace {

TEST(ScenarioSchema, CheckedInFileEqualsTheGeneratedSchema) {
  std::ifstream in(KSIM_SCHEMA_FILE);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), ScenarioJsonSchema())
      << "regenerate: ksim scenario schema > scenarios/scenario.schema.json";
}

TEST(ScenarioSchema, EveryObjectAndActionIsDefinedAndEveryKeyIsUsedByTheFullExample) {
  const nlohmann::json schema = nlohmann::json::parse(ScenarioJsonSchema());
  const nlohmann::json& defs = schema.at("$defs");
  for (const ObjectSpec& spec : ObjectSpecs()) {
    ASSERT_TRUE(defs.contains(std::string(spec.name))) << spec.name;
    const auto& properties = defs.at(std::string(spec.name)).at("properties");
    for (const KeySpec& key : spec.keys) {
      EXPECT_TRUE(properties.contains(std::string(key.key))) << spec.name << "." << key.key;
      if (key.kind == ValueKind::kObject || key.kind == ValueKind::kObjectList) {
        EXPECT_TRUE(defs.contains(std::string(key.object))) << key.object;
      }
      // Each key appears in the full example (a coarse check: the key followed by ':').
      if (spec.name != "manifest" || key.key != "path") {
        EXPECT_NE(testing::kFullScenario.find(std::string(key.key) + ":"), std::string::npos) << spec.name << "." << key.key;
      }
    }
  }
  for (const ActionSpec& action : ActionSpecs()) {
    EXPECT_TRUE(defs.contains("action." + std::string(action.key))) << action.key;
    EXPECT_TRUE(defs.at("timelineEntry").at("properties").contains(std::string(action.key)));
    EXPECT_NE(testing::kFullScenario.find(std::string(action.key) + ":"), std::string::npos) << action.key;
    EXPECT_EQ(ActionKindName(action.kind), action.key);
    // Something a nemesis draws is a fault, and a fault that heals is never drawn.
    EXPECT_TRUE(!action.nemesis || (action.fault && !action.heals)) << action.key;
  }
}

std::string StandIn(ParamValue::Type type) {
  switch (type) {
    case ParamValue::Type::kInt: return "1";
    case ParamValue::Type::kNumber: return "0.5";
    case ParamValue::Type::kBool: return "true";
    case ParamValue::Type::kDuration: return "1s";
    case ParamValue::Type::kHost: return "w-1";
    case ParamValue::Type::kString: return "x";
  }
  return "x";
}

TEST(ExpectationCatalogue, NamesTheIssuesInvariantsAndConditionsWithTypedDefaults) {
  for (std::string_view name :
       {"noPodOnTwoNodes", "quotaRespected", "storeLinearizable", "oneLeaderPerTerm", "oneActingControllerManager",
        "statefulSetIdentityUnique", "endpointsOnlyReadyPods", "rollingUpdateBounds"}) {
    const ExpectationSpec* spec = FindExpectation(name);
    ASSERT_NE(spec, nullptr) << name;
    EXPECT_TRUE(spec->invariant) << name;
  }
  for (std::string_view name : {"deploymentAvailable", "podPhase", "serviceAnswers", "dnsResolves", "nodeReady"}) {
    const ExpectationSpec* spec = FindExpectation(name);
    ASSERT_NE(spec, nullptr) << name;
    EXPECT_FALSE(spec->invariant) << name;
  }
  EXPECT_EQ(FindExpectation("noSuchThing"), nullptr);
  std::set<std::string_view> names;
  for (const ExpectationSpec& e : ExpectationCatalogue()) {
    EXPECT_TRUE(names.insert(e.name).second) << "duplicate " << e.name;
    for (const ParamSpec& p : e.params) {
      if (p.default_text.empty()) continue;
      EXPECT_FALSE(p.required) << e.name << "." << p.name << ": a default on a required parameter";
      // The default reads back as its type, through the loader itself (with stand-ins for
      // the required parameters).
      std::string params = std::string(p.name) + ": " + std::string(p.default_text);
      for (const ParamSpec& other : e.params) {
        if (other.required) params += ", " + std::string(other.name) + ": " + StandIn(other.type);
      }
      const std::string text = "apiVersion: ksim.io/v1alpha1\nkind: Scenario\nname: d\nduration: 1h\n"
                               "cluster: {workerGroups: [{name: w}]}\nexpectations: {" +
                               std::string(e.invariant ? "always" : "atEnd") + ": [" + std::string(e.name) + ": {" +
                               params + "}]}\n";
      Scenario s;
      const Status st = ParseScenario(text, "d.yaml", "", &s);
      EXPECT_TRUE(st.ok()) << e.name << "." << p.name << ": " << st.message();
    }
  }
}

}  // namespace
}  // namespace ksim::scenarios
