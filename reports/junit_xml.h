// RunRecord -> JUnit XML, the shape Jenkins, GitLab and GitHub test reporters read
// (docs/REPORTS.md, "JUnit XML"): <testsuites> holding one <testsuite> per scenario, one
// <testcase> per expectation per seed named "<expectation> [seed N]", a <failure> with
// the expectation's message when it failed, an <error> when the seed's run errored.
#pragma once

#include <string>
#include <vector>

#include "reports/run_record.h"

namespace ksim::reports {

// Several records (one per scenario) in one document.
std::string RunRecordsToJUnitXml(const std::vector<RunRecord>& records);
inline std::string RunRecordToJUnitXml(const RunRecord& record) { return RunRecordsToJUnitXml({record}); }

}  // namespace ksim::reports
