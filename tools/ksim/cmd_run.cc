// `ksim run FILE [--seed N | --seeds A..B] [--verbose] [--report DIR]`: runs a scenario file under each
// seed (scenarios/scenario_runner.h). Exit 0 when every expectation held for every seed,
// 1 when one failed (each failing seed printed with the command that replays it), 2 on
// bad input (the file does not load, bad flags, an expectation without a checker yet).
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <string>

#include "reports/report_dir.h"
#include "reports/run_record.h"
#include "scenarios/scenario.h"
#include "scenarios/scenario_loader.h"
#include "scenarios/scenario_record.h"
#include "scenarios/scenario_runner.h"
#include "tools/ksim/commands.h"

namespace ksim::tools {
namespace {

struct RunFlags {
  std::string file;
  uint64_t seed = 1;
  std::string seeds;  // "A..B"
  bool verbose = false;
  std::string report_dir;
};

bool ParseSeedRange(const std::string& text, uint64_t* first, uint64_t* last) {
  const size_t dots = text.find("..");
  if (dots == std::string::npos || dots == 0 || dots + 2 >= text.size()) return false;
  try {
    size_t used = 0;
    const std::string a = text.substr(0, dots), b = text.substr(dots + 2);
    if (a.find_first_not_of("0123456789") != std::string::npos || b.find_first_not_of("0123456789") != std::string::npos) {
      return false;
    }
    *first = std::stoull(a, &used);
    *last = std::stoull(b, &used);
  } catch (...) {
    return false;
  }
  return *first <= *last && *last - *first < 10000000;
}

}  // namespace

CommandFn AddRunCommand(CLI::App& app) {
  auto f = std::make_shared<RunFlags>();
  CLI::App* run = app.add_subcommand("run", "Run a scenario file under one seed or a range of seeds");
  run->add_option("file", f->file, "scenario file")->required();
  CLI::Option* seed_option = run->add_option("--seed", f->seed, "the seed (default 1)");
  run->add_option("--seeds", f->seeds, "a range of seeds A..B (inclusive)")->excludes(seed_option);
  run->add_flag("--verbose", f->verbose, "print the event log of each run");
  run->add_option("--report", f->report_dir, "write DIR/record.json, report.html and junit.xml");
  return [f]() -> int {
    uint64_t first = f->seed, last = f->seed;
    if (!f->seeds.empty() && !ParseSeedRange(f->seeds, &first, &last)) {
      std::fprintf(stderr, "ksim: --seeds: \"%s\" is not a range A..B of seeds with A <= B\n", f->seeds.c_str());
      return kExitBadInput;
    }
    scenarios::Scenario scenario;
    if (Status s = scenarios::LoadScenarioFile(f->file, &scenario); !s.ok()) {
      std::fprintf(stderr, "ksim: %s\n", s.message().c_str());
      return kExitBadInput;
    }
    scenarios::RunOptions options;
    if (f->verbose) options.on_event = [](const std::string& line) { std::printf("  %s\n", line.c_str()); };
    const bool many = last > first;
    const auto started = std::chrono::steady_clock::now();
    uint64_t failed = 0;
    reports::RunRecord record;
    record.scenario_name = scenario.name;
    record.scenario_file = f->file;
    for (uint64_t seed = first;; ++seed) {
      const auto seed_started = std::chrono::steady_clock::now();
      const scenarios::ScenarioResult r = scenarios::RunScenario(scenario, seed, options);
      if (!f->report_dir.empty()) {
        reports::SeedRun seed_run = scenarios::ToSeedRun(scenario, r, f->file);
        seed_run.wall_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - seed_started)
                          .count();
        record.seeds.push_back(std::move(seed_run));
      }
      if (!r.status.ok()) {
        std::fprintf(stderr, "ksim: seed %" PRIu64 ": %s\n", seed, r.status.message().c_str());
        const bool bad_input = r.status.code() == Status::Code::kNotSupported ||
                               r.status.code() == Status::Code::kInvalidArgument;
        if (bad_input) return kExitBadInput;
        std::printf("seed %" PRIu64 ": ERROR %s\n  replay: %s\n", seed, r.status.message().c_str(),
                    scenarios::ReplayCommand(f->file, seed).c_str());
        ++failed;
      } else if (r.passed) {
        std::printf("seed %" PRIu64 ": pass (%zu faults, %zu events) trace_hash=%016" PRIx64 "\n", seed,
                    r.faults.size(), r.events.size(), r.trace_hash);
      } else {
        ++failed;
        std::printf("seed %" PRIu64 ": FAIL trace_hash=%016" PRIx64 "\n", seed, r.trace_hash);
        for (const scenarios::Violation& v : r.violations) {
          std::printf("  t=%s %s: %s\n", scenarios::FormatScenarioDuration(v.at).c_str(), v.expectation.c_str(),
                      v.message.c_str());
        }
        std::printf("  replay: %s\n", scenarios::ReplayCommand(f->file, seed).c_str());
      }
      std::fflush(stdout);
      if (many) {
        const uint64_t done = seed - first + 1, total = last - first + 1;
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        const double eta = elapsed / static_cast<double>(done) * static_cast<double>(total - done);
        std::fprintf(stderr, "\r[%" PRIu64 "/%" PRIu64 "] %" PRIu64 " failed, %.0fs elapsed, ETA %.0fs ", done, total,
                     failed, elapsed, eta);
        if (done == total) std::fputc('\n', stderr);
      }
      if (seed == last) break;
    }
    std::printf("%s: %" PRIu64 " of %" PRIu64 " seeds failed\n", scenario.name.c_str(), failed, last - first + 1);
    if (!f->report_dir.empty()) {
      std::string error;
      if (!reports::WriteReportDir(record, f->report_dir, &error)) {
        std::fprintf(stderr, "ksim: --report: %s\n", error.c_str());
        return kExitBadInput;
      }
      std::printf("report: %s\n", f->report_dir.c_str());
    }
    return failed == 0 ? 0 : 1;
  };
}

}  // namespace ksim::tools
