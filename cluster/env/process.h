// Process: one component instance (a store member, a kubelet, ...) living on a host.
// A process is constructed with its Env, started once, and destroyed when it crashes or
// stops; restarting constructs a new object that recovers from its Disk.
#pragma once

namespace ksim {

class Process {
 public:
  virtual ~Process() = default;
  // Called once, on the event loop, after construction. Begins timers, listeners and
  // recovery from disk.
  virtual void Start() = 0;
};

}  // namespace ksim
