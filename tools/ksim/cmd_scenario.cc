// `ksim scenario check FILE...`: load and validate scenario files (exit 0, or 2 with the
// first error of each bad file on stderr); `ksim scenario schema`: print the JSON Schema.
#include <cstdio>
#include <string>
#include <vector>

#include "scenarios/scenario.h"
#include "scenarios/scenario_loader.h"
#include "scenarios/scenario_schema.h"
#include "tools/ksim/commands.h"

namespace ksim::tools {

CommandFn AddScenarioCommand(CLI::App& app) {
  CLI::App* scenario = app.add_subcommand("scenario", "Scenario files: check them, print their JSON Schema");
  scenario->require_subcommand(1);
  auto files = std::make_shared<std::vector<std::string>>();
  CLI::App* check = scenario->add_subcommand("check", "Load and validate scenario files (exit 2 on the first error of each)");
  check->add_option("files", *files, "scenario files")->required();
  CLI::App* schema = scenario->add_subcommand("schema", "Print the JSON Schema of scenario files");
  return [files, check, schema]() -> int {
    if (schema->parsed()) {
      std::fputs(scenarios::ScenarioJsonSchema().c_str(), stdout);
      return 0;
    }
    if (!check->parsed()) return kExitBadInput;
    int code = 0;
    for (const std::string& file : *files) {
      scenarios::Scenario s;
      Status status = scenarios::LoadScenarioFile(file, &s);
      if (!status.ok()) {
        std::fprintf(stderr, "ksim: %s\n", status.message().c_str());
        code = kExitBadInput;
        continue;
      }
      std::printf("%s: ok (%s: %d control-plane hosts, %d workers, %zu manifests, %zu timeline entries, %zu nemesis, "
                  "%zu expectations)\n",
                  file.c_str(), s.name.c_str(), s.cluster.control_plane.hosts, s.cluster.workers(), s.workload.size(),
                  s.timeline.size(), s.nemesis.size(), s.expectations.size());
    }
    return code;
  };
}

}  // namespace ksim::tools
