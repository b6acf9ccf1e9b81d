// The ksim subcommands. Each Add*Command registers its flags on `app` and returns the
// function main runs when that subcommand was chosen; the function returns the exit
// code: 0 success, 1 a check failed, 2 bad input.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace ksim::tools {

using CommandFn = std::function<int()>;

CommandFn AddDemoCommand(CLI::App& app);
CommandFn AddDemoNodeCommand(CLI::App& app);
CommandFn AddBenchCommand(CLI::App& app);
// `ksim bench cluster` on `bench`; its function returns -1 when another bench ran.
CommandFn AddBenchClusterCommand(CLI::App& bench);
// `ksim bench controllers` and `ksim bench rollout`; -1 when another bench ran.
CommandFn AddBenchControllersCommands(CLI::App& bench);
CommandFn AddLincheckCommand(CLI::App& app);
CommandFn AddExplainCommand(CLI::App& app);
// `ksim scenario check FILE...` and `ksim scenario schema`.
CommandFn AddScenarioCommand(CLI::App& app);
// `ksim report compare BASE NEW` and `ksim report render RECORD`.
CommandFn AddReportCommand(CLI::App& app);
// `ksim run FILE [--seed N | --seeds A..B] [--verbose] [--report DIR]`.
CommandFn AddRunCommand(CLI::App& app);
// `ksim fuzz FILE --seeds N ...` and its hidden worker mode `ksim fuzz-worker`.
CommandFn AddFuzzCommand(CLI::App& app);
CommandFn AddFuzzWorkerCommand(CLI::App& app);

// Exit code for bad input; printed messages start with "ksim: ".
inline constexpr int kExitBadInput = 2;

}  // namespace ksim::tools
