// Loading scenario files (docs/SCENARIOS.md). Every error is InvalidArgument reading
//   <file>:<line>:<column>: <field.path>: <reason>
// (the first error found; nothing is returned on error). Unknown keys are errors.
// Manifests named by path are read at load time, relative to the scenario file.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "cluster/env/status.h"
#include "scenarios/scenario.h"

namespace ksim::scenarios {

// Bounds on what one file may ask for, in bytes and counts.
struct ScenarioLimits {
  size_t max_file_bytes = 1 << 20;
  size_t max_manifest_bytes = 1 << 20;        // one manifest file or inline text
  size_t max_total_manifest_bytes = 8 << 20;  // workload and timeline together
  size_t max_manifests = 256;                 // workload entries and apply actions
  size_t max_timeline_entries = 2000;
  size_t max_nemesis = 32;
  size_t max_expectations = 256;
  size_t max_swarm = 64;
  size_t max_worker_groups = 64;
  int max_workers = 5000;
  size_t max_list = 256;          // any other list (labels, zones, taints, hosts in a group)
  size_t max_string_bytes = 4096;  // any scalar but inline manifests and descriptions
  size_t max_patch_nodes = 10000;  // a patch's YAML nodes, aliases expanded
  Nanos max_duration = Seconds(24 * 3600);
};

// Parses `text` as the scenario file `source_name`; manifest paths are relative to
// `base_dir` ("" = the current directory).
Status ParseScenario(std::string_view text, const std::string& source_name, const std::string& base_dir,
                     Scenario* out, const ScenarioLimits& limits = {});

// Reads and parses the file at `path` (its directory is the base for manifest paths).
Status LoadScenarioFile(const std::string& path, Scenario* out, const ScenarioLimits& limits = {});

// Go/Kubernetes durations: "30s", "1m30s", "250ms", "1.5h", "0" (units ns, us, ms, s, m, h);
// a leading '-' only when `allow_negative`. False on anything else or overflow.
bool ParseScenarioDuration(std::string_view text, bool allow_negative, Nanos* out);
// The shortest exact text ParseScenarioDuration reads back: "1m30s", "250ms", "0s".
std::string FormatScenarioDuration(Nanos d);

}  // namespace ksim::scenarios
