// ksim lincheck: checks a Jepsen-style history for linearizability (docs/LINCHECK.md).
// Last line: "linearizable" (exit 0), "not linearizable" (exit 1) or "unknown" (exit 3, a search
// budget ran out); exit 2 on bad flags or malformed input, with the message on stderr.
#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "faults/lincheck/checker.h"
#include "faults/lincheck/history.h"
#include "tools/ksim/commands.h"
#include "tools/ksim/read_file.h"

namespace ksim::tools {
namespace {

constexpr int kExitUnknown = 3;

}  // namespace

CommandFn AddLincheckCommand(CLI::App& app) {
  struct Flags {
    std::string model;
    std::string file;
    std::string initial_value = "nil";
    uint64_t max_states = lincheck::CheckOptions{}.max_states;
    uint64_t max_memory_mib = lincheck::CheckOptions{}.max_memory_bytes >> 20;
    int64_t max_events = lincheck::ParseLimits{}.max_events;
    uint64_t max_shrink_searches = lincheck::CheckOptions{}.max_shrink_searches;
    uint64_t max_shrink_states = lincheck::CheckOptions{}.max_shrink_states;
    bool no_shrink = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "lincheck",
      "Check a Jepsen-style history (EDN or JSON lines) for linearizability; the last line is linearizable, "
      "not linearizable or unknown (exit 0, 1, 3; 2 on bad input)");
  cmd->add_option("--model", flags->model, "The object the history is of: register (read/write/cas) or kv "
                                           "(get/put/append by :key)")
      ->required()
      ->check(CLI::IsMember({"register", "kv"}));
  cmd->add_option("file", flags->file, "History file, one event per line")->required();
  cmd->add_option("--initial-value", flags->initial_value,
                  "What the register, or every kv key, holds before its first write, as EDN: nil (Jepsen's "
                  "convention), an integer or a string, e.g. '\"\"' for histories whose keys start empty")
      ->capture_default_str();
  cmd->add_option("--max-states", flags->max_states,
                  "Configurations one search may explore before giving up with 'unknown'")
      ->check(CLI::Range(uint64_t{1}, uint64_t{4'000'000'000}))
      ->capture_default_str();
  cmd->add_option("--max-memory-mib", flags->max_memory_mib, "Memo memory one search may use, in MiB")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 20))
      ->capture_default_str();
  cmd->add_option("--max-events", flags->max_events, "Events the history may have")
      ->check(CLI::Range(int64_t{1}, int64_t{100'000'000}))
      ->capture_default_str();
  cmd->add_option("--max-shrink-searches", flags->max_shrink_searches,
                  "Searches spent shrinking a violation to a minimal sub-history")
      ->check(CLI::Range(uint64_t{0}, uint64_t{100'000'000}))
      ->capture_default_str();
  cmd->add_option("--max-shrink-states", flags->max_shrink_states,
                  "Configurations all shrinking searches together may explore")
      ->check(CLI::Range(uint64_t{0}, uint64_t{100'000'000'000}))
      ->capture_default_str();
  cmd->add_flag("--no-shrink", flags->no_shrink, "Print the failing key's whole history instead of shrinking it");
  return [flags]() -> int {
    lincheck::ModelKind model;
    if (Status s = lincheck::ParseModelName(flags->model, &model); !s.ok()) {
      std::fprintf(stderr, "ksim lincheck: error: --model: %s\n", s.message().c_str());
      return kExitBadInput;
    }
    std::string text;
    if (Status s = ReadInputFile(flags->file, &text); !s.ok()) {
      std::fprintf(stderr, "ksim lincheck: error: %s\n", s.message().c_str());
      return kExitBadInput;
    }
    lincheck::ParseLimits limits;
    limits.max_events = flags->max_events;
    lincheck::History history;
    if (Status s = lincheck::ParseHistory(text, flags->file, model, limits, &history); !s.ok()) {
      std::fprintf(stderr, "ksim lincheck: error: %s\n", s.message().c_str());
      return kExitBadInput;
    }
    if (Status s = lincheck::ParseInitialValue(flags->initial_value, &history.initial); !s.ok()) {
      std::fprintf(stderr, "ksim lincheck: error: --initial-value: %s\n", s.message().c_str());
      return kExitBadInput;
    }
    lincheck::CheckOptions options;
    options.max_states = flags->max_states;
    options.max_memory_bytes = flags->max_memory_mib << 20;
    options.max_shrink_searches = flags->max_shrink_searches;
    options.max_shrink_states = flags->max_shrink_states;
    options.shrink = !flags->no_shrink;
    const lincheck::CheckResult result = lincheck::Check(history, options);
    std::fputs(lincheck::FormatReport(history, result).c_str(), stdout);
    switch (result.verdict) {
      case lincheck::Verdict::kLinearizable: return 0;
      case lincheck::Verdict::kNotLinearizable: return 1;
      case lincheck::Verdict::kUnknown: return kExitUnknown;
    }
    return kExitUnknown;
  };
}

}  // namespace ksim::tools
