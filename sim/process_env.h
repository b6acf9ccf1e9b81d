// SimProcess: one incarnation of a process on a simulated host, with the Env it sees.
// The Env's parts are facades that tag every callback with the incarnation's token, so
// that when the incarnation dies nothing of it runs again: its timers are cancelled, its
// connections close, its disk and runtime completions are dropped.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "cluster/env/env.h"
#include "cluster/env/process.h"
#include "sim/host.h"

namespace ksim::sim {

class SimProcess {
 public:
  // Builds the Env; does not construct the process object (see Launch).
  SimProcess(Host* host, const std::string& name, uint64_t incarnation);
  ~SimProcess();
  SimProcess(const SimProcess&) = delete;
  SimProcess& operator=(const SimProcess&) = delete;

  // Constructs the process with the factory and schedules its Start.
  void Launch(const ProcessFactory& factory);

  // Ends the incarnation. With power_loss the kernel is gone too, so connections are not
  // closed (peers time out); otherwise they are closed as the kernel would on exit.
  void Kill(bool power_loss);

  Process* process() { return process_.get(); }
  const ProcessTokenPtr& token() const { return token_; }
  Env& env() { return env_; }

 private:
  class Clock;
  class Transport;
  class Disk;
  class Runtime;
  class Dataplane;
  class Logger;

  Host* host_;
  ProcessTokenPtr token_;
  Random random_;
  SeededEntropy entropy_;
  std::unique_ptr<Clock> clock_;
  std::unique_ptr<Transport> transport_;
  std::unique_ptr<Disk> disk_;
  std::unique_ptr<Runtime> runtime_;
  std::unique_ptr<Dataplane> dataplane_;
  std::unique_ptr<Logger> logger_;
  Env env_;
  std::unique_ptr<Process> process_;
  bool killed_ = false;
};

}  // namespace ksim::sim
