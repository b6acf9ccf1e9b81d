// Merging run records of one scenario (the shards of a `ksim fuzz --shard I/N` sweep) into
// one: `ksim report merge A.json B.json ... --out DIR`.
#pragma once

#include <string>
#include <vector>

#include "reports/run_record.h"

namespace ksim::reports {

// The seeds of every record, sorted by seed; scenario name, file and version from the first.
// Attributes: those every record agrees on, and "merged.from" = how many records. False
// with *error when the records are of different scenarios (name or file) or a seed occurs
// twice (shards overlapping: a wrong --shard).
bool MergeRunRecords(const std::vector<RunRecord>& records, RunRecord* out, std::string* error);

}  // namespace ksim::reports
