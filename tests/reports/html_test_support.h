// The HTML report's tests: a page parsed strictly (it is well-formed XML too) and read with
// XPath, element names local (the SVG elements are in the SVG namespace).
#pragma once

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include <memory>
#include <string>

namespace ksim::reports::testing {

class XmlPage {
 public:
  explicit XmlPage(const std::string& text)
      : doc_(xmlReadMemory(text.data(), static_cast<int>(text.size()), "page.html", nullptr, XML_PARSE_NONET),
             xmlFreeDoc) {}

  bool ok() const { return doc_ != nullptr; }

  // The string value of an XPath expression ("count(...)" gives the number as text).
  std::string Eval(const std::string& xpath) const {
    std::unique_ptr<xmlXPathContext, decltype(&xmlXPathFreeContext)> ctx(xmlXPathNewContext(doc_.get()),
                                                                         xmlXPathFreeContext);
    std::unique_ptr<xmlXPathObject, decltype(&xmlXPathFreeObject)> obj(
        xmlXPathEvalExpression(reinterpret_cast<const xmlChar*>(("string(" + xpath + ")").c_str()), ctx.get()),
        xmlXPathFreeObject);
    if (!obj || obj->type != XPATH_STRING) return "<xpath error>";
    return reinterpret_cast<const char*>(obj->stringval);
  }

 private:
  std::unique_ptr<xmlDoc, decltype(&xmlFreeDoc)> doc_;
};

}  // namespace ksim::reports::testing
