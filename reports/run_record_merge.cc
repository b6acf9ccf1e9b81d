#include "reports/run_record_merge.h"

#include <algorithm>
#include <set>

namespace ksim::reports {

bool MergeRunRecords(const std::vector<RunRecord>& records, RunRecord* out, std::string* error) {
  if (records.empty()) {
    *error = "no records to merge";
    return false;
  }
  RunRecord merged;
  merged.scenario_name = records[0].scenario_name;
  merged.scenario_file = records[0].scenario_file;
  merged.ksim_version = records[0].ksim_version;
  merged.attributes = records[0].attributes;
  std::set<uint64_t> seen;
  for (size_t i = 0; i < records.size(); ++i) {
    const RunRecord& r = records[i];
    if (r.scenario_name != merged.scenario_name || r.scenario_file != merged.scenario_file) {
      *error = "record " + std::to_string(i + 1) + " is of scenario \"" + r.scenario_name + "\" (" + r.scenario_file +
               "), the first of \"" + merged.scenario_name + "\" (" + merged.scenario_file + ")";
      return false;
    }
    for (auto it = merged.attributes.begin(); it != merged.attributes.end();) {
      const auto other = r.attributes.find(it->first);
      it = other == r.attributes.end() || other->second != it->second ? merged.attributes.erase(it) : std::next(it);
    }
    for (const SeedRun& s : r.seeds) {
      if (!seen.insert(s.seed).second) {
        *error = "seed " + std::to_string(s.seed) + " is in more than one record (overlapping shards?)";
        return false;
      }
      merged.seeds.push_back(s);
    }
  }
  std::stable_sort(merged.seeds.begin(), merged.seeds.end(),
                   [](const SeedRun& a, const SeedRun& b) { return a.seed < b.seed; });
  merged.attributes["merged.from"] = std::to_string(records.size());
  *out = std::move(merged);
  return true;
}

}  // namespace ksim::reports
