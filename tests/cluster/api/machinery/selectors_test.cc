// Label and field selectors: parsing, canonical strings, matching, the LabelMatcher JSON
// shape, label key/value validation and malformed input.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "cluster/api/machinery/fields.h"
#include "cluster/api/machinery/labels.h"

namespace ksim::api {
namespace {

using Labels = std::map<std::string, std::string>;

// Parsing `text` fails with a message that starts `<what> "<text>": ` and holds `reason`.
template <typename Selector>
void ExpectRejected(const std::string& what, const std::string& text, const std::string& reason) {
  Selector s;
  const Status st = Selector::Parse(text, &s);
  ASSERT_FALSE(st.ok()) << text;
  EXPECT_EQ(st.message().rfind(what + " \"" + text + "\": ", 0), 0u) << st.message();
  EXPECT_NE(st.message().find(reason), std::string::npos) << text << " -> " << st.message();
}

// The selector `text` parses to (the test fails if it does not parse).
template <typename Selector>
Selector Parsed(const std::string& text) {
  Selector s;
  const Status st = Selector::Parse(text, &s);
  EXPECT_TRUE(st.ok()) << text << ": " << st.ToString();
  return s;
}

LabelMatcher L(const std::string& text) { return Parsed<LabelMatcher>(text); }
FieldSelector F(const std::string& text) { return Parsed<FieldSelector>(text); }

TEST(LabelSelectorTest, ParsesToCanonicalStrings) {
  const char* cases[][2] = {
      {"a=b", "a=b"},
      {"a==b", "a=b"},
      {"a!=b", "a!=b"},
      {"a in (x,y)", "a in (x,y)"},
      {"a in (y, x, x)", "a in (x,y)"},
      {"a notin (x)", "a notin (x)"},
      {"a", "a"},
      {"!a", "!a"},
      {"  a = b ,  c  ", "a=b,c"},
      {"z=1,a=2", "a=2,z=1"},
      {"", ""},
      {"   ", ""},
      {"example.com/app=web", "example.com/app=web"},
      {"a=", "a="},
      {"a in(x)", "a in (x)"},
      {"a in (,x)", "a in (,x)"},
      {"a in ()", "a in ()"},  // as Kubernetes: the empty value
      {"a notin ( )", "a notin ()"},
      {"in=notin", "in=notin"},
      {"app=web,tier in (fe,be),!legacy,env!=prod", "app=web,env!=prod,!legacy,tier in (be,fe)"},
      {"k8s.io/x-y_z.w=A.b-C_9", "k8s.io/x-y_z.w=A.b-C_9"},
  };
  for (const auto& c : cases) {
    const LabelMatcher s = L(c[0]);
    EXPECT_EQ(s.String(), c[1]) << c[0];
    EXPECT_EQ(L(s.String()), s) << c[0];
  }
}

TEST(LabelSelectorTest, RejectsMalformedStringsWithAReason) {
  const char* cases[][2] = {
      {"a in x", "expected '('"},
      {"a in (x", "expected ',' or ')'"},
      {"a in (x y)", "expected ',' or ')'"},
      {"a notin", "expected '('"},
      {"=b", "expected a key"},
      {"a b", "expected '=', '==', '!=', 'in' or 'notin' after key \"a\""},
      {"a=b=c", "expected ',' or end"},
      {"!a=b", "expected ',' or end"},
      {"!", "expected a key after '!'"},
      {"a,", "expected a key"},
      {",a", "expected a key"},
      {"a in (x))", "expected ',' or end"},
      {"a=-b", "label value \"-b\" of key \"a\": must begin and end with an alphanumeric"},
      {"A.com/b=c", "label key \"A.com/b\": prefix must be a DNS subdomain"},
      {"a/b/c", "label key \"a/b/c\": must be a name with an optional DNS subdomain prefix"},
      {"/b", "prefix before '/' must be non-empty"},
      {"a/", "name part must be non-empty"},
      {"-a", "label key \"-a\": name part must begin and end"},
      {"a < 3", "after key \"a\""},
      {"a=b\tc", "expected ',' or end"},
      {"a$b=c", "may contain only alphanumerics"},
  };
  for (const auto& c : cases) ExpectRejected<LabelMatcher>("label selector", c[0], c[1]);
}

TEST(LabelSelectorTest, Matches) {
  struct Case {
    const char* selector;
    Labels labels;
    bool matches;
  };
  const Case cases[] = {
      {"", {}, true},
      {"", {{"a", "b"}}, true},
      {"a=b", {{"a", "b"}}, true},
      {"a=b", {{"a", "c"}}, false},
      {"a=b", {}, false},
      {"a!=b", {}, true},  // absent keys satisfy != and notin
      {"a!=b", {{"a", "b"}}, false},
      {"a!=b", {{"a", "c"}}, true},
      {"a in (x,y)", {{"a", "y"}}, true},
      {"a in (x,y)", {{"a", "z"}}, false},
      {"a in (x,y)", {}, false},
      {"a notin (x)", {}, true},
      {"a notin (x)", {{"a", "x"}}, false},
      {"a notin (x)", {{"a", "w"}}, true},
      {"a", {{"a", ""}}, true},
      {"a", {}, false},
      {"!a", {}, true},
      {"!a", {{"a", "x"}}, false},
      {"a=", {{"a", ""}}, true},
      {"a=", {}, false},
      {"a=b,c", {{"a", "b"}}, false},
      {"a=b,c", {{"a", "b"}, {"c", "1"}}, true},
  };
  for (const Case& c : cases) EXPECT_EQ(L(c.selector).Matches(c.labels), c.matches) << c.selector;
  EXPECT_FALSE(LabelMatcher::Nothing().Matches({}));
  EXPECT_TRUE(LabelMatcher().Empty());
}

TEST(LabelSelectorTest, FromJsonLabelSelectorShape) {
  LabelMatcher s;
  ASSERT_TRUE(LabelMatcher::FromJson(nlohmann::json::parse(R"({
      "matchLabels": {"app": "web"},
      "matchExpressions": [
        {"key": "tier", "operator": "In", "values": ["fe", "be"]},
        {"key": "legacy", "operator": "DoesNotExist"},
        {"key": "env", "operator": "NotIn", "values": ["prod"]},
        {"key": "zone", "operator": "Exists", "values": []}
      ]})"),
                                      &s)
                  .ok());
  EXPECT_EQ(s.String(), "app=web,env notin (prod),!legacy,tier in (be,fe),zone");
  EXPECT_TRUE(s.Matches({{"app", "web"}, {"tier", "fe"}, {"zone", "z1"}}));
  EXPECT_FALSE(s.Matches({{"app", "web"}, {"tier", "fe"}}));
  EXPECT_EQ(s.RequiredValue("app"), "web");
  EXPECT_EQ(s.RequiredValue("tier"), std::nullopt);

  ASSERT_TRUE(LabelMatcher::FromJson(nlohmann::json::object(), &s).ok());
  EXPECT_TRUE(s.Empty());
  EXPECT_TRUE(s.Matches({{"x", "y"}}));
  ASSERT_TRUE(LabelMatcher::FromJson(nullptr, &s).ok());
  EXPECT_TRUE(s.MatchesNothing());
  EXPECT_FALSE(s.Matches({}));
}

TEST(LabelSelectorTest, FromJsonErrorsNameTheField) {
  const char* cases[][2] = {
      {R"([])", "must be an object"},
      {R"({"matchLabels": {"a": 1}})", "matchLabels.a: must be a string"},
      {R"({"matchLabels": {"-a": "b"}})", "matchLabels.-a: label key \"-a\""},
      {R"({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]})",
       "matchExpressions[0].operator: \"Gt\" is not one of"},
      {R"({"matchExpressions": [{"key": "a", "operator": "In"}]})", "matchExpressions[0]: label selector key \"a\": operator 'in' needs at least one value"},
      {R"({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]})", "takes no values"},
      {R"({"matchExpressions": [{"operator": "Exists"}]})", "matchExpressions[0].key: required string"},
      {R"({"matchExpressions": [{"key": "a", "operator": "In", "values": [3]}]})", "matchExpressions[0].values[0]: must be a string"},
      {R"({"matchExpressions": {}})", "matchExpressions: must be a list"},
  };
  for (const auto& c : cases) {
    LabelMatcher s;
    const Status st = LabelMatcher::FromJson(nlohmann::json::parse(c[0]), &s);
    ASSERT_FALSE(st.ok()) << c[0];
    EXPECT_NE(st.message().find(c[1]), std::string::npos) << c[0] << " -> " << st.message();
  }
}

TEST(LabelSelectorTest, RequirementsAreExposedForIndexes) {
  const LabelMatcher s = L("b in (x),a=1,c");
  ASSERT_EQ(s.requirements().size(), 3u);
  EXPECT_EQ(s.requirements()[0], (LabelRequirement{"a", SelectorOp::kEquals, {"1"}}));
  EXPECT_EQ(s.requirements()[1], (LabelRequirement{"b", SelectorOp::kIn, {"x"}}));
  EXPECT_EQ(s.requirements()[2], (LabelRequirement{"c", SelectorOp::kExists, {}}));
  EXPECT_EQ(s.RequiredValue("a"), "1");
  EXPECT_EQ(s.RequiredValue("b"), "x");
  EXPECT_EQ(s.RequiredValue("c"), std::nullopt);

  LabelMatcher from_map;
  ASSERT_TRUE(LabelMatcher::FromMap({{"app", "web"}, {"tier", "fe"}}, &from_map).ok());
  EXPECT_EQ(from_map.String(), "app=web,tier=fe");
  EXPECT_FALSE(LabelMatcher::FromRequirements({{"a", SelectorOp::kEquals, {"x", "y"}}}, &from_map).ok());
}

TEST(LabelValidationTest, KeysAndValues) {
  const std::vector<std::string> good = {"a", "app", "A9", "a.b-c_d", "example.com/app", "a-b.c/D", std::string(63, 'x')};
  for (const std::string& ok : good) {
    EXPECT_TRUE(ValidateLabelKey(ok).ok()) << ok;
  }
  const std::string long_name(64, 'x');
  const std::string long_prefix = std::string(254, 'a') + "/x";
  const char* bad[][2] = {
      {"", "name part must be non-empty"},
      {"_a", "must begin and end with an alphanumeric"},
      {"a b", "may contain only alphanumerics"},
      {long_name.c_str(), "no more than 63 characters"},
      {long_prefix.c_str(), "no more than 253 characters"},
      {"Example.com/a", "prefix must be a DNS subdomain"},
      {"a..b/c", "prefix must be a DNS subdomain"},
      {"-a.com/c", "prefix must be a DNS subdomain"},
  };
  for (const auto& c : bad) {
    const Status s = ValidateLabelKey(c[0]);
    ASSERT_FALSE(s.ok()) << c[0];
    EXPECT_NE(s.message().find("label key \"" + std::string(c[0]) + "\""), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(c[1]), std::string::npos) << s.message();
  }
  EXPECT_TRUE(ValidateLabelValue("k", "").ok());
  EXPECT_TRUE(ValidateLabelValue("k", "v1.2-3_x").ok());
  EXPECT_FALSE(ValidateLabelValue("k", std::string(64, 'v')).ok());
  EXPECT_FALSE(ValidateLabelValue("k", "v/1").ok());
  EXPECT_FALSE(ValidateLabelValue("k", "v.").ok());
  const Status s = ValidateLabels({{"ok", "fine"}, {"app", "bad value"}});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "label value \"bad value\" of key \"app\": may contain only alphanumerics, '-', '_' and '.'");
}

TEST(FieldSelectorTest, ParsesToCanonicalStrings) {
  const char* cases[][2] = {
      {"metadata.name=x,spec.nodeName!=y", "metadata.name=x,spec.nodeName!=y"},
      {"spec.nodeName!=y,metadata.name=x", "metadata.name=x,spec.nodeName!=y"},
      {"status.phase==Running", "status.phase=Running"},
      {" a = b , c != d ", "a=b,c!=d"},
      {"spec.nodeName=", "spec.nodeName="},
      {"a=x\\,y", "a=x\\,y"},
      {"a=x\\=y\\\\z\\!", "a=x\\=y\\\\z\\!"},
      {"", ""},
      {"a=b,,c=d", "a=b,c=d"},
  };
  for (const auto& c : cases) {
    const FieldSelector s = F(c[0]);
    EXPECT_EQ(s.String(), c[1]) << c[0];
    EXPECT_EQ(F(s.String()), s) << c[0];
  }
  EXPECT_EQ(F("a=x\\,y").requirements()[0].value, "x,y");
}

TEST(FieldSelectorTest, RejectsMalformed) {
  const char* cases[][2] = {
      {"a", "term \"a\" has no operator"},
      {"=b", "has no field name"},
      {"a=b=c", "value of \"a\" has an unescaped '='"},
      {"a=b!c", "unescaped '!'"},
      {"a=x\\q", "unknown escape '\\q'"},
      {"a=x\\", "lone '\\'"},
      {"a<b", "has no operator"},
      {"a\\,b=c", "may not contain '\\' or '!'"},
      {"a! ==b", "field name \"a!\" may not contain"},
  };
  for (const auto& c : cases) ExpectRejected<FieldSelector>("field selector", c[0], c[1]);
}

TEST(FieldSelectorTest, MatchesAndListsFields) {
  const FieldSelector s = F("metadata.name=x,spec.nodeName!=y,metadata.name!=z");
  EXPECT_EQ(s.Fields(), (std::vector<std::string>{"metadata.name", "spec.nodeName"}));
  EXPECT_EQ(s.RequiredValue("metadata.name"), "x");
  EXPECT_EQ(s.RequiredValue("spec.nodeName"), std::nullopt);
  EXPECT_TRUE(s.Matches({{"metadata.name", "x"}, {"spec.nodeName", "n1"}}));
  EXPECT_TRUE(s.Matches({{"metadata.name", "x"}}));  // absent field is ""
  EXPECT_FALSE(s.Matches({{"metadata.name", "x"}, {"spec.nodeName", "y"}}));
  EXPECT_FALSE(s.Matches({{"metadata.name", "w"}}));
  // The scheduler's "unscheduled pods" selector.
  const FieldSelector unscheduled = F("spec.nodeName=");
  EXPECT_TRUE(unscheduled.Matches({}));
  EXPECT_TRUE(unscheduled.Matches({{"spec.nodeName", ""}}));
  EXPECT_FALSE(unscheduled.Matches({{"spec.nodeName", "n1"}}));
  EXPECT_TRUE(FieldSelector().Matches({{"a", "b"}}));
}

}  // namespace
}  // namespace ksim::api
