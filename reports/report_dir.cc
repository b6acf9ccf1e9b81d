#include "reports/report_dir.h"

#include <filesystem>
#include <system_error>

#include "reports/junit_xml.h"
#include "reports/run_record_json.h"

namespace ksim::reports {

bool WriteReportDir(const RunRecord& record, const std::string& dir, std::string* error,
                    const HtmlOptions& html_options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    *error = dir + ": cannot create the report directory: " + ec.message();
    return false;
  }
  fs::path base(dir);
  return WriteTextFile((base / kRecordFileName).string(), RunRecordToJson(record), error) &&
         WriteTextFile((base / kHtmlFileName).string(), RunRecordToHtml(record, html_options), error) &&
         WriteTextFile((base / kJUnitFileName).string(), RunRecordToJUnitXml(record), error);
}

}  // namespace ksim::reports
