// Nemesis: turns a seed into a schedule of faults. The schedule is a sequence of
// episodes; each episode injects one fault and undoes it later (a partition is healed,
// a crashed process restarted, a powered-off host powered on), so after the window ends
// the system is whole again and liveness can be checked.
#pragma once

#include <string>
#include <vector>

#include "cluster/env/random.h"
#include "faults/fault.h"

namespace ksim::faults {

struct NemesisOptions {
  std::vector<std::string> hosts;      // at least 2
  std::vector<std::string> processes;  // processes that run on every host
  Nanos start = Seconds(2);            // first episode no earlier than this
  Nanos end = Seconds(60);             // every episode is undone by this time
  Nanos min_gap = Milliseconds(500), max_gap = Seconds(3);
  Nanos min_duration = Milliseconds(500), max_duration = Seconds(6);
  bool network = true;
  bool processes_crash = true;
  bool power = true;
  bool pause = true;
  bool clocks = true;
  bool links = true;
  bool disks = true;
  bool disk_write_errors = true;  // with disks: failing writes, besides slow fsyncs
};

std::vector<TimedFault> GenerateSchedule(Random& random, const NemesisOptions& options);

}  // namespace ksim::faults
