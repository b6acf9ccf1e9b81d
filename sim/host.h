// Host: a simulated machine. It holds processes, a disk, a container runtime, a service
// dataplane and a clock that may be skewed, drift or jump. Hosts power off and on, pause
// and resume; their processes crash and restart.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/env/env.h"
#include "cluster/env/process.h"
#include "sim/container_runtime.h"
#include "sim/dataplane.h"
#include "sim/disk.h"

namespace ksim::sim {

class World;
class Host;
class SimProcess;

// Identifies one incarnation of a process. Every callback aimed at a process carries its
// token; once the incarnation dies the token is dead and the callback is dropped, so no
// destroyed object is ever called.
struct ProcessToken {
  bool alive = true;
  Host* host = nullptr;
  std::string name;
  uint64_t incarnation = 0;
};
using ProcessTokenPtr = std::shared_ptr<ProcessToken>;

struct HostOptions {
  DiskOptions disk;
  Nanos clock_offset{0};    // added to the world's wall clock
  int64_t clock_drift_ppm = 0;  // the host's clocks run this many millionths fast (or slow)
};

using ProcessFactory = std::function<std::unique_ptr<Process>(Env&)>;

class Host {
 public:
  Host(World* world, uint32_t id, std::string name, const HostOptions& options);
  ~Host();
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  uint32_t id() const { return id_; }
  const std::string& name() const { return name_; }
  World& world() { return *world_; }
  bool is_up() const { return up_; }
  bool is_paused() const { return paused_; }

  // --- processes ---
  // Registers a process and starts it now if the host is up. The factory runs again at
  // every restart; the new object must recover from the Disk.
  // REQUIRES: `name` is new on this host.
  void AddProcess(const std::string& name, ProcessFactory factory);
  // Destroys the running incarnation: its timers never fire, its connections close (peers
  // see the close), its listeners stop. The page cache survives: no disk data is lost.
  // A process that is not running is left alone.
  void CrashProcess(const std::string& name);
  // Starts a new incarnation of a crashed or stopped process (no-op if running or if the
  // host is down; it starts with the host then).
  void RestartProcess(const std::string& name);
  bool IsRunning(const std::string& name) const;
  // The running incarnation's object, or nullptr.
  Process* FindProcess(const std::string& name);
  template <typename T>
  T* Find(const std::string& name) { return dynamic_cast<T*>(FindProcess(name)); }
  std::vector<std::string> ProcessNames() const;

  // --- power ---
  // Powers off at once: every process dies without closing its connections (peers notice
  // only by timeout), unsynced disk data may be lost, containers die.
  void PowerOff();
  // Destroys every running process (as at power loss) and nothing else: for the world's
  // teardown, so that no process outlives a host it may still talk to.
  void KillProcessesForTeardown();
  // Powers on: the disk recovers, every registered process starts a new incarnation.
  void PowerOn();
  // Freezes every process: timers and arrivals are held, in order, until Resume.
  void Pause();
  void Resume();

  // --- clock ---
  Nanos MonotonicNow() const;
  Nanos WallNow() const;
  // Sets the wall clock's offset against the world (skew). Monotonic time is unaffected.
  void SetClockOffset(Nanos offset);
  // Steps the wall clock by `delta` (forwards or backwards).
  void JumpClock(Nanos delta) { SetClockOffset(clock_offset_ + delta); }
  // Makes both of the host's clocks run `ppm` millionths fast (negative: slow).
  // REQUIRES: -500000 < ppm < 500000.
  void SetClockDriftPpm(int64_t ppm);
  Nanos clock_offset() const { return clock_offset_; }
  // The world-time delay after which `local_delay` of this host's monotonic time passed.
  Nanos ToWorldDelay(Nanos local_delay) const;

  // --- devices ---
  SimDisk& disk() { return *disk_; }
  SimContainerRuntime& runtime() { return *runtime_; }
  SimDataplane& dataplane() { return *dataplane_; }

  // Runs fn now for a live incarnation of a running host; holds it if the host is paused;
  // drops it if the incarnation died.
  template <typename Fn>
  void RunInProcess(const ProcessTokenPtr& token, Fn&& fn) {
    if (!token->alive || !up_) return;
    if (paused_) {
      held_.emplace_back(token, std::function<void()>(std::forward<Fn>(fn)));
      return;
    }
    fn();
  }

 private:
  struct ProcessSlot {
    ProcessFactory factory;
    std::unique_ptr<SimProcess> running;
    uint64_t incarnations = 0;
  };
  void StartProcess(const std::string& name, ProcessSlot& slot);
  void KillProcess(ProcessSlot& slot, bool power_loss);

  World* world_;
  uint32_t id_;
  std::string name_;
  bool up_ = true;
  bool paused_ = false;
  std::map<std::string, ProcessSlot, std::less<>> processes_;
  std::deque<std::pair<ProcessTokenPtr, std::function<void()>>> held_;

  // Monotonic clock: local = anchor_local + (world - anchor_world) * (1 + drift/1e6).
  int64_t anchor_world_ns_ = 0;
  int64_t anchor_local_ns_ = 0;
  int64_t drift_ppm_ = 0;
  Nanos clock_offset_{0};

  std::unique_ptr<SimDisk> disk_;
  std::unique_ptr<SimContainerRuntime> runtime_;
  std::unique_ptr<SimDataplane> dataplane_;
};

}  // namespace ksim::sim
