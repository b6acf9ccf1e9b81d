// ksim: the command line. Subcommands live in cmd_*.cc.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <map>
#include <string>

#include "tools/ksim/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"ksim: a Kubernetes-style orchestrator that is its own deterministic test harness"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "ksim 0.1.0");
  std::map<CLI::App*, ksim::tools::CommandFn> commands;
  auto add = [&](ksim::tools::CommandFn (*adder)(CLI::App&)) {
    const size_t before = app.get_subcommands({}).size();
    ksim::tools::CommandFn fn = adder(app);
    commands[app.get_subcommands({}).at(before)] = std::move(fn);
  };
  add(ksim::tools::AddDemoCommand);
  add(ksim::tools::AddDemoNodeCommand);
  add(ksim::tools::AddBenchCommand);
  add(ksim::tools::AddLincheckCommand);
  add(ksim::tools::AddExplainCommand);
  add(ksim::tools::AddScenarioCommand);
  add(ksim::tools::AddReportCommand);
  add(ksim::tools::AddRunCommand);
  add(ksim::tools::AddFuzzCommand);
  add(ksim::tools::AddFuzzWorkerCommand);
  bool known = false;
  for (const CLI::App* sub : app.get_subcommands({})) known = known || (argc > 1 && sub->get_name() == argv[1]);
  if (argc > 1 && argv[1][0] != '-' && !known) {
    std::fprintf(stderr, "ksim: error: unknown command '%s'\n", argv[1]);
    std::fprintf(stderr, "run 'ksim --help' for the list of commands\n");
    return ksim::tools::kExitBadInput;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "ksim: error: %s\n", e.what());
    std::fprintf(stderr, "run 'ksim --help' or 'ksim <command> --help' for usage\n");
    return ksim::tools::kExitBadInput;
  }
  for (auto& [sub, fn] : commands) {
    if (sub->parsed()) return fn();
  }
  return ksim::tools::kExitBadInput;
}
