// The JUnit XML parsed back by libxml2, validated against the CI systems' JUnit shape
// (junit.xsd) and read with XPath.
#include "reports/junit_xml.h"

#include <gtest/gtest.h>
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <libxml/xpath.h>

#include <memory>

#include "reports/markup_escape.h"
#include "tests/reports/sample_record.h"

namespace ksim::reports {
namespace {

struct Doc {
  std::unique_ptr<xmlDoc, decltype(&xmlFreeDoc)> doc{nullptr, xmlFreeDoc};

  explicit Doc(const std::string& xml) {
    doc.reset(xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "junit.xml", nullptr, XML_PARSE_NONET));
  }

  // An XPath expression's string value ("count(...)" gives a number as text).
  std::string Eval(const std::string& xpath) const {
    std::unique_ptr<xmlXPathContext, decltype(&xmlXPathFreeContext)> ctx(xmlXPathNewContext(doc.get()),
                                                                         xmlXPathFreeContext);
    std::unique_ptr<xmlXPathObject, decltype(&xmlXPathFreeObject)> obj(
        xmlXPathEvalExpression(reinterpret_cast<const xmlChar*>(("string(" + xpath + ")").c_str()), ctx.get()),
        xmlXPathFreeObject);
    if (!obj || obj->type != XPATH_STRING) return "<xpath error>";
    return reinterpret_cast<const char*>(obj->stringval);
  }

  bool Valid() const {
    std::unique_ptr<xmlSchemaParserCtxt, decltype(&xmlSchemaFreeParserCtxt)> parser(
        xmlSchemaNewParserCtxt(KSIM_JUNIT_XSD), xmlSchemaFreeParserCtxt);
    std::unique_ptr<xmlSchema, decltype(&xmlSchemaFree)> schema(xmlSchemaParse(parser.get()), xmlSchemaFree);
    if (!schema) return false;
    std::unique_ptr<xmlSchemaValidCtxt, decltype(&xmlSchemaFreeValidCtxt)> valid(xmlSchemaNewValidCtxt(schema.get()),
                                                                                  xmlSchemaFreeValidCtxt);
    return xmlSchemaValidateDoc(valid.get(), doc.get()) == 0;
  }
};

TEST(JUnitXml, OneTestcasePerExpectationPerSeedValidAgainstTheSchema) {
  Doc d(RunRecordToJUnitXml(testing::SampleRecord()));
  ASSERT_NE(d.doc, nullptr);
  EXPECT_TRUE(d.Valid());
  EXPECT_EQ(d.Eval("count(/testsuites/testsuite)"), "1");
  EXPECT_EQ(d.Eval("/testsuites/testsuite/@name"), "rolling-update-under-partition");
  EXPECT_EQ(d.Eval("count(//testcase)"), "6");
  EXPECT_EQ(d.Eval("/testsuites/testsuite/@tests"), "6");
  EXPECT_EQ(d.Eval("/testsuites/testsuite/@failures"), "1");
  EXPECT_EQ(d.Eval("/testsuites/@failures"), "1");
  EXPECT_EQ(d.Eval("count(//testcase[@name='noPodOnTwoNodes [seed 8]'])"), "1");
  EXPECT_EQ(d.Eval("count(//testcase[@name='deploymentAvailable [seed 7]']/failure)"), "0");
  EXPECT_EQ(d.Eval("//testcase[@name='deploymentAvailable [seed 8]']/failure/@message"),
            "deployment web: 3 of 5 replicas available at the deadline");
  EXPECT_EQ(d.Eval("//testcase[@name='deploymentAvailable [seed 8]']/failure/@type"), "eventually");
  EXPECT_NE(d.Eval("//testcase[@name='deploymentAvailable [seed 8]']/failure").find("--seed 8"), std::string::npos);
  EXPECT_EQ(d.Eval("//property[@name='shard']/@value"), "1/2");
}

TEST(JUnitXml, HostileTextSurvivesAsTextInAValidDocument) {
  RunRecord record = testing::SampleRecord(/*hostile=*/true);
  Doc d(RunRecordToJUnitXml(record));
  ASSERT_NE(d.doc, nullptr);
  EXPECT_TRUE(d.Valid());
  EXPECT_EQ(d.Eval("count(//testcase)"), "6");
  // Markup comes back as the same text; only the control characters became U+FFFD.
  auto sanitized = [](std::string text) {
    size_t at = text.find("\x01\x1f");
    if (at != std::string::npos) text.replace(at, 2, "\xef\xbf\xbd\xef\xbf\xbd");
    return text;
  };
  EXPECT_EQ(d.Eval("//testcase[failure]/failure/@message"), sanitized(record.seeds[1].expectations[1].message));
  EXPECT_EQ(d.Eval("/testsuites/testsuite/@name"), sanitized(record.scenario_name));
  EXPECT_EQ(d.Eval("//property[@name='shard']/@value"), sanitized(record.attributes["shard"]));
  EXPECT_EQ(d.Eval("count(//script)"), "0");
}

TEST(JUnitXml, AnErroredSeedReportsEachExpectationAsAnError) {
  RunRecord record = testing::SampleRecord();
  record.seeds[0].verdict = Verdict::kError;
  record.seeds[0].error = "workload: deployment.yaml:3: unknown kind Deploymnet";
  SeedRun bare;
  bare.seed = 9;
  bare.verdict = Verdict::kError;
  bare.error = "crashed";
  record.seeds.push_back(bare);
  Doc d(RunRecordToJUnitXml(record));
  ASSERT_NE(d.doc, nullptr);
  EXPECT_TRUE(d.Valid());
  EXPECT_EQ(d.Eval("/testsuites/testsuite/@tests"), "7");
  EXPECT_EQ(d.Eval("/testsuites/testsuite/@errors"), "4");
  EXPECT_EQ(d.Eval("//testcase[@name='noPodOnTwoNodes [seed 7]']/error/@message"),
            "workload: deployment.yaml:3: unknown kind Deploymnet");
  EXPECT_EQ(d.Eval("//testcase[@name='run [seed 9]']/error/@message"), "crashed");
}

TEST(MarkupEscape, EscapesMarkupAndReplacesWhatXmlCannotCarry) {
  EXPECT_EQ(EscapeMarkup("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
  EXPECT_EQ(EscapeMarkup("tab\tnl\ncr\r"), "tab&#9;nl&#10;cr&#13;");
  EXPECT_EQ(EscapeMarkup(std::string("\x00\x01\x7f", 3)), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(EscapeMarkup("caf\xc3\xa9 \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xf0\x9f\x98\x80");
  EXPECT_EQ(EscapeMarkup("\xc3"), "\xef\xbf\xbd");              // truncated
  EXPECT_EQ(EscapeMarkup("\xc0\xbc"), "\xef\xbf\xbd\xef\xbf\xbd");  // overlong '<'
  EXPECT_EQ(EscapeMarkup("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // a surrogate
  EXPECT_EQ(EscapeMarkup("\xef\xbf\xbe"), "\xef\xbf\xbd");  // U+FFFE
}

}  // namespace
}  // namespace ksim::reports
