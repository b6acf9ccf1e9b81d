// Env: everything a process may know about the world. Components receive an Env and never
// ask which world they run in; the simulated world (sim/) and real hosts (real/) each
// build one per process.
#pragma once

#include <string>

#include "cluster/env/clock.h"
#include "cluster/env/disk.h"
#include "cluster/env/entropy.h"
#include "cluster/env/logger.h"
#include "cluster/env/random.h"
#include "cluster/env/transport.h"

namespace ksim {

// Declared, not included: only the kubelet and the proxy use them, and a change to either
// interface should not rebuild every process.
class ContainerRuntime;
class Dataplane;
class SharedDecoder;

// The backends outlive the process that uses them. `runtime` and `dataplane` are null on
// hosts that offer none (a process that needs them REQUIRES them non-null).
struct Env {
  std::string host;  // the host's name, as other hosts address it
  Clock* clock = nullptr;
  Transport* transport = nullptr;
  Disk* disk = nullptr;
  ContainerRuntime* runtime = nullptr;
  Dataplane* dataplane = nullptr;
  Random* random = nullptr;
  Entropy* entropy = nullptr;  // uids and tokens; unlike random, differs per incarnation
  Logger* log = nullptr;
  SharedDecoder* decoder = nullptr;  // the simulation's (cluster/env/shared_decoder.h); null on real hosts
};

}  // namespace ksim
