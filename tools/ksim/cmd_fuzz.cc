// `ksim fuzz FILE --seeds N [--first-seed S] [--jobs J] [--shard I/N] [--report DIR]
// [--shrink/--no-shrink]`: swarm testing of a scenario file over seeds in worker OS
// processes (tools/ksim/fuzz_pool.h), each failure shrunk in-process
// (scenarios/scenario_shrink.h) to DIR/shrunk-seed-<N>.yaml. Exit 0 when every seed
// passed, 1 when one failed or errored (a crashed worker included), 2 on bad input.
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "reports/report_dir.h"
#include "reports/run_record.h"
#include "reports/run_record_json.h"
#include "scenarios/scenario.h"
#include "scenarios/scenario_loader.h"
#include "scenarios/scenario_record.h"
#include "scenarios/scenario_runner.h"
#include "scenarios/scenario_shrink.h"
#include "scenarios/scenario_writer.h"
#include "tools/ksim/commands.h"
#include "tools/ksim/fuzz_pool.h"

namespace ksim::tools {
namespace {

struct FuzzFlags {
  std::string file;
  uint64_t seeds = 0;
  uint64_t first_seed = 1;
  int jobs = 1;
  std::string shard = "0/1";
  std::string report_dir;
  bool shrink = true;
  int shrink_runs = 200;
  int shrink_seeds = 3;
  uint64_t test_abort_on_seed = 0;  // hidden, tests only: a worker aborts on this seed
};

struct WorkerFlags {
  std::string file;
  std::string seed_list;
  uint64_t abort_on_seed = 0;
};

bool ParseShard(const std::string& text, uint64_t* index, uint64_t* count) {
  unsigned long long i = 0, n = 0;
  char rest = 0;
  if (std::sscanf(text.c_str(), "%llu/%llu%c", &i, &n, &rest) != 2 || n == 0 || i >= n) return false;
  *index = i;
  *count = n;
  return true;
}

// The running binary itself, even if the file was replaced since (a rebuild during a sweep).
std::string SelfExe() { return "/proc/self/exe"; }

std::string FailedExpectations(const reports::SeedRun& run) {
  std::string names;
  for (const reports::ExpectationResult& e : run.expectations) {
    if (e.passed) continue;
    names += (names.empty() ? "" : ", ") + std::string(reports::WhenName(e.when)) + " " + e.name;
  }
  return names;
}

// Shrinks one failing seed; writes DIR/shrunk-seed-<N>.yaml and checks that it loads and
// fails the same way. Returns a line for the record's attributes.
std::string ShrinkSeed(const scenarios::Scenario& scenario, const FuzzFlags& f, uint64_t seed) {
  const scenarios::ScenarioResult failing = scenarios::RunScenario(scenario, seed);
  if (failing.passed || !failing.status.ok() || failing.violations.empty()) {
    return "did not fail in-process on a re-run";
  }
  scenarios::ShrinkOptions options;
  options.max_runs = f.shrink_runs;
  const scenarios::ShrinkResult shrunk = scenarios::ShrinkFailingRun(scenario, seed, failing, options);
  scenarios::Scenario minimal = shrunk.scenario;
  minimal.name = scenario.name + "-shrunk-seed-" + std::to_string(seed);
  minimal.description = "Shrunk by ksim fuzz from " + f.file + " seed " + std::to_string(seed) + ": " +
                        shrunk.expectation + " fails.";
  const std::string path = f.report_dir + "/shrunk-seed-" + std::to_string(seed) + ".yaml";
  std::string error;
  if (!reports::WriteTextFile(path, scenarios::FormatScenario(minimal), &error)) return "not written: " + error;
  scenarios::Scenario reloaded;
  std::string verdict = "confirmed: it fails the same way";
  if (Status s = scenarios::LoadScenarioFile(path, &reloaded); !s.ok()) {
    verdict = "NOT confirmed: it does not load: " + s.message();
  } else {
    const scenarios::ScenarioResult again = scenarios::RunScenario(reloaded, seed);
    bool same = false;
    for (const scenarios::Violation& v : again.violations) same = same || v.expectation == shrunk.expectation;
    if (!same) verdict = "NOT confirmed: the written file does not fail the same way";
  }
  std::printf("shrunk seed %" PRIu64 " (%s) in %d candidate runs%s: %s\n", seed, shrunk.expectation.c_str(), shrunk.runs,
              shrunk.budget_exhausted ? " (budget spent)" : "", verdict.c_str());
  for (const std::string& step : shrunk.steps) std::printf("  %s\n", step.c_str());
  std::printf("  replay: %s\n", scenarios::ReplayCommand(path, seed).c_str());
  return path + " (" + std::to_string(shrunk.runs) + " candidate runs; " + verdict + ")";
}

int Fuzz(const FuzzFlags& f) {
  uint64_t shard_index = 0, shard_count = 1;
  if (!ParseShard(f.shard, &shard_index, &shard_count)) {
    std::fprintf(stderr, "ksim: --shard: \"%s\" is not I/N with 0 <= I < N\n", f.shard.c_str());
    return kExitBadInput;
  }
  if (f.seeds == 0 || f.seeds > 100000000 || f.first_seed > UINT64_MAX - f.seeds) {
    std::fprintf(stderr, "ksim: --seeds: must be 1..100000000 (and first seed + seeds must fit 64 bits)\n");
    return kExitBadInput;
  }
  scenarios::Scenario scenario;
  if (Status s = scenarios::LoadScenarioFile(f.file, &scenario); !s.ok()) {
    std::fprintf(stderr, "ksim: %s\n", s.message().c_str());
    return kExitBadInput;
  }
  std::vector<uint64_t> seeds;
  for (uint64_t i = shard_index; i < f.seeds; i += shard_count) seeds.push_back(f.first_seed + i);

  WorkerPoolOptions pool;
  pool.exe = SelfExe();
  pool.jobs = f.jobs;
  pool.replay_file = f.file;
  pool.args = {"fuzz-worker", f.file};
  if (f.test_abort_on_seed != 0) {
    pool.args.push_back("--abort-on-seed");
    pool.args.push_back(std::to_string(f.test_abort_on_seed));
  }
  std::map<uint64_t, reports::SeedRun> runs;
  uint64_t failed = 0;
  const auto started = std::chrono::steady_clock::now();
  std::string error;
  const bool ok = RunWorkerPool(pool, seeds, [&](reports::SeedRun run) {
    if (run.verdict == reports::Verdict::kFail) {
      ++failed;
      std::printf("seed %" PRIu64 ": FAIL %s\n  replay: %s\n", run.seed, FailedExpectations(run).c_str(),
                  run.replay_command.c_str());
    } else if (run.verdict == reports::Verdict::kError) {
      ++failed;
      std::printf("seed %" PRIu64 ": ERROR %s\n  replay: %s\n", run.seed, run.error.c_str(), run.replay_command.c_str());
    }
    std::fflush(stdout);
    runs[run.seed] = std::move(run);
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const size_t done = runs.size();
    const double eta = elapsed / static_cast<double>(done) * static_cast<double>(seeds.size() - done);
    std::fprintf(stderr, "\r[%zu/%zu] %" PRIu64 " failed, %.0fs elapsed, ETA %.0fs, %.0f seeds/min ", done, seeds.size(),
                 failed, elapsed, eta, elapsed > 0 ? static_cast<double>(done) * 60 / elapsed : 0.0);
    if (done == seeds.size()) std::fputc('\n', stderr);
  }, &error);
  if (!ok) {
    std::fprintf(stderr, "ksim: %s\n", error.c_str());
    return kExitBadInput;
  }
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  reports::RunRecord record;
  record.scenario_name = scenario.name;
  record.scenario_file = f.file;
  for (auto& [seed, run] : runs) record.seeds.push_back(std::move(run));
  record.attributes["fuzz.shard"] = f.shard;
  record.attributes["fuzz.first-seed"] = std::to_string(f.first_seed);
  record.attributes["fuzz.seeds"] = std::to_string(f.seeds);
  record.attributes["fuzz.jobs"] = std::to_string(f.jobs);
  std::printf("%s: %" PRIu64 " of %zu seeds failed (shard %s) in %.1fs, %.0f seeds per wall minute\n", scenario.name.c_str(),
              failed, seeds.size(), f.shard.c_str(), wall_s, wall_s > 0 ? static_cast<double>(seeds.size()) * 60 / wall_s : 0.0);
  std::string coverage;
  for (const auto& [mark, count] : record.MergedCoverage()) coverage += " " + mark + "=" + std::to_string(count);
  std::printf("coverage:%s\n", coverage.empty() ? " (none)" : coverage.c_str());

  if (!f.report_dir.empty()) {
    std::error_code ec;
    if (f.shrink) {
      int shrunk = 0;
      for (const reports::SeedRun& run : record.seeds) {
        if (run.verdict != reports::Verdict::kFail || shrunk >= f.shrink_seeds) continue;
        if (shrunk == 0 && !reports::WriteReportDir(record, f.report_dir, &error)) break;  // makes DIR
        ++shrunk;
        record.attributes["fuzz.shrunk-seed-" + std::to_string(run.seed)] = ShrinkSeed(scenario, f, run.seed);
      }
    }
    if (!reports::WriteReportDir(record, f.report_dir, &error)) {
      std::fprintf(stderr, "ksim: --report: %s\n", error.c_str());
      return kExitBadInput;
    }
    std::printf("report: %s\n", f.report_dir.c_str());
  } else if (failed > 0 && f.shrink) {
    std::printf("(give --report DIR to shrink the failing seeds into DIR/shrunk-seed-<N>.yaml)\n");
  }
  return failed == 0 ? 0 : 1;
}

// The hidden worker: runs each seed of --seed-list and writes its frame to fd 3.
int Worker(const WorkerFlags& f) {
  scenarios::Scenario scenario;
  if (Status s = scenarios::LoadScenarioFile(f.file, &scenario); !s.ok()) {
    std::fprintf(stderr, "ksim fuzz-worker: %s\n", s.message().c_str());
    return kExitBadInput;
  }
  FILE* out = fdopen(3, "w");
  if (out == nullptr) {
    std::fprintf(stderr, "ksim fuzz-worker: fd 3 is not open (this mode is for ksim fuzz)\n");
    return kExitBadInput;
  }
  size_t at = 0;
  while (at < f.seed_list.size()) {
    size_t comma = f.seed_list.find(',', at);
    if (comma == std::string::npos) comma = f.seed_list.size();
    const uint64_t seed = std::strtoull(f.seed_list.substr(at, comma - at).c_str(), nullptr, 10);
    at = comma + 1;
    if (f.abort_on_seed != 0 && seed == f.abort_on_seed) std::abort();
    const auto seed_started = std::chrono::steady_clock::now();
    const scenarios::ScenarioResult r = scenarios::RunScenario(scenario, seed);
    reports::RunRecord one;
    one.scenario_name = scenario.name;
    one.scenario_file = f.file;
    one.seeds.push_back(scenarios::ToSeedRun(scenario, r, f.file));
    one.seeds.back().wall_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - seed_started).count();
    const std::string frame = FrameSeedRun(seed, reports::RunRecordToJson(one));
    if (std::fwrite(frame.data(), 1, frame.size(), out) != frame.size() || std::fflush(out) != 0) return 1;
  }
  return std::fclose(out) == 0 ? 0 : 1;
}

}  // namespace

CommandFn AddFuzzCommand(CLI::App& app) {
  auto f = std::make_shared<FuzzFlags>();
  CLI::App* fuzz = app.add_subcommand("fuzz", "Run a scenario file over many seeds in worker processes; shrink failures");
  fuzz->add_option("file", f->file, "scenario file")->required();
  fuzz->add_option("--seeds", f->seeds, "how many seeds")->required();
  fuzz->add_option("--first-seed", f->first_seed, "the first seed (default 1)");
  fuzz->add_option("--jobs", f->jobs, "worker processes at once (default 1)")->check(CLI::Range(1, 256));
  fuzz->add_option("--shard", f->shard, "I/N: run only the seeds whose index % N == I");
  fuzz->add_option("--report", f->report_dir, "write DIR/record.json, report.html, junit.xml and shrunk-seed-<N>.yaml");
  fuzz->add_flag("--shrink,!--no-shrink", f->shrink, "shrink failing seeds (default on; needs --report)");
  fuzz->add_option("--shrink-runs", f->shrink_runs, "candidate runs per shrunk seed, at most (default 200)")
      ->check(CLI::Range(1, 100000));
  fuzz->add_option("--shrink-seeds", f->shrink_seeds, "failing seeds shrunk, at most (default 3)")->check(CLI::Range(0, 1000));
  fuzz->add_option("--test-abort-on-seed", f->test_abort_on_seed)->group("");  // tests: a worker crash
  return [f]() -> int { return Fuzz(*f); };
}

CommandFn AddFuzzWorkerCommand(CLI::App& app) {
  auto f = std::make_shared<WorkerFlags>();
  CLI::App* worker = app.add_subcommand("fuzz-worker", "");
  worker->group("");  // hidden: started by ksim fuzz
  worker->add_option("file", f->file)->required();
  worker->add_option("--seed-list", f->seed_list)->required();
  worker->add_option("--abort-on-seed", f->abort_on_seed);
  return [f]() -> int { return Worker(*f); };
}

}  // namespace ksim::tools
