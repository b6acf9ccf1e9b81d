// libFuzzer target: run records through ParseRunRecordJson. A failure must be an error
// "fuzz.json: <field>: <reason>"; a success must write JSON that reads back to the same
// JSON (records are compared as text: NaN != NaN).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "reports/run_record_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string error;
  std::optional<ksim::reports::RunRecord> record = ksim::reports::ParseRunRecordJson(text, "fuzz.json", &error);
  if (!record) {
    const std::string prefix = "fuzz.json: ";
    if (error.compare(0, prefix.size(), prefix) != 0 || error.find(": ", prefix.size()) == std::string::npos) {
      std::abort();
    }
    return 0;
  }
  const std::string json = ksim::reports::RunRecordToJson(*record);
  std::optional<ksim::reports::RunRecord> again = ksim::reports::ParseRunRecordJson(json, "fuzz.json", &error);
  if (!again || ksim::reports::RunRecordToJson(*again) != json) std::abort();
  return 0;
}
