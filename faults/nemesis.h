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

namespace ksim::faults {

// One nemesis entry of a scenario file: faults of the chosen kinds, injected at the times
// of a Poisson process (exponential intervals of mean `mean_interval`), each undone
// `fault_duration` later. A fault that would start while the entry's previous one is still
// on waits for its undo, so each undo puts right exactly its own fault. Every fault is
// injected and undone inside [start, end].
struct NemesisEntryOptions {
  // Inject kinds (NemesisCanDraw): the undo is implied (partition -> heal, crash ->
  // restart, powerOff -> powerOn, pause -> resume, clock -> nominal, disk -> diskHeal,
  // linkFaults -> linkClear, imagePullFailure -> imagePullHeal).
  std::vector<FaultKind> kinds;
  std::vector<std::string> targets;  // hosts the faults hit (network faults split these)
  // Crash: the processes each target may lose (a host missing here is never crashed).
  std::vector<std::pair<std::string, std::vector<std::string>>> processes_by_host;
  Nanos mean_interval = Seconds(30);
  Nanos fault_duration = Seconds(10);
  Nanos start{0};
  Nanos end{0};
  int max_faults = 10000;  // bounds the schedule of a long run with a tiny interval
};

// Whether GenerateEntrySchedule draws faults of `kind`.
bool NemesisCanDraw(FaultKind kind);

// The schedule of one entry: inject, undo, inject, undo... sorted by time.
std::vector<TimedFault> GenerateEntrySchedule(Random& random, const NemesisEntryOptions& options);

}  // namespace ksim::faults
