// Runs a RapidCheck property for a chosen number of cases inside a gtest test, reporting a
// failure (with RapidCheck's shrunk counterexample) as a gtest failure. Lets one binary hold
// a short default run and a `long`-labelled run of the same property.
#pragma once

#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <iostream>
#include <sstream>
#include <string>

namespace ksim::testing {

template <typename F>
void CheckPropertyCases(const std::string& name, int cases, F property) {
  rc::detail::TestParams params = rc::detail::configuration().testParams;
  params.maxSuccess = cases;
  rc::detail::TestMetadata meta;
  meta.id = name;
  meta.description = name;
  const rc::detail::TestResult result = rc::detail::checkTestable(property, meta, params);
  std::ostringstream report;
  rc::detail::printResultMessage(result, report);
  if (!result.template is<rc::detail::SuccessResult>()) ADD_FAILURE() << report.str();
  std::cout << name << ": " << report.str() << "\n";
}

}  // namespace ksim::testing
