// Worker OS processes for `ksim fuzz`: each runs a chunk of seeds (the hidden
// `ksim fuzz-worker` mode of this same binary) and writes one framed run record per seed to
// a pipe (fd 3): "KSIM-SEED <seed> <bytes>\n" then <bytes> of ksim-run-record/v1 JSON
// holding that one seed. A worker that dies (signal, non-zero exit, truncated or malformed
// output) is reported as an error for the seed it was running, and the chunk's remaining
// seeds go to a new worker.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "reports/run_record.h"

namespace ksim::tools {

inline constexpr const char* kFrameTag = "KSIM-SEED";
inline constexpr size_t kMaxFrameBytes = size_t{64} << 20;  // one seed's record, at most
inline constexpr size_t kMaxSeedsPerChunk = 64;            // keeps a worker's argv short

struct WorkerPoolOptions {
  std::string exe;                     // the ksim binary (/proc/self/exe)
  std::vector<std::string> args;       // after exe: "fuzz-worker", FILE, flags ...
  int jobs = 1;
  std::string replay_file;             // for error seeds' replay commands
};

// Runs every seed; `on_done` gets each seed's run (from a worker, or an error run for a
// seed whose worker died) in completion order. False with *error when no worker can start.
bool RunWorkerPool(const WorkerPoolOptions& options, const std::vector<uint64_t>& seeds,
                   const std::function<void(reports::SeedRun)>& on_done, std::string* error);

// The frame for one seed (what a worker writes).
std::string FrameSeedRun(uint64_t seed, const std::string& record_json);

}  // namespace ksim::tools
