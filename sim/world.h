// World: the simulated universe of one run. It owns the seed, virtual time, the event
// queue, the trace, the network and the hosts. Everything runs on the caller's thread,
// one event at a time; nothing here reads real time.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/env/random.h"
#include "cluster/env/shared_decoder.h"
#include "cluster/env/time.h"
#include "sim/event_queue.h"
#include "sim/log_sink.h"
#include "sim/trace.h"

namespace ksim::sim {

class Host;
class Network;
struct HostOptions;
struct NetworkOptions;
struct ImageBehavior;

struct WorldOptions {
  // Wall-clock time every host starts from (before skew): 2026-01-01T00:00:00Z, fixed so
  // that timestamps, too, replay.
  Nanos wall_epoch{1767225600LL * 1000000000LL};
  // Lines kept by the world's log (older ones are dropped).
  size_t log_capacity_lines = 20000;
  bool echo_log = false;  // also print log lines to stderr as they happen
};

class World {
 public:
  explicit World(uint64_t seed);
  World(uint64_t seed, const WorldOptions& options, const NetworkOptions& network_options);
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  uint64_t seed() const { return seed_; }
  Nanos now() const { return Nanos(now_ns_); }
  const WorldOptions& options() const { return options_; }

  // Schedules fn at absolute virtual time `when` (clamped to now). Returns its id.
  EventId At(Nanos when, std::function<void()> fn);
  // Schedules fn after `delay` of virtual time. REQUIRES: delay >= 0.
  EventId After(Nanos delay, std::function<void()> fn);
  bool Cancel(EventId id) { return queue_.Cancel(id); }

  // Runs the earliest event. Returns false if none is pending.
  bool Step();
  // Runs every event due at or before `deadline`, then sets now to `deadline`.
  void RunUntil(Nanos deadline);
  void RunFor(Nanos duration) { RunUntil(now() + duration); }
  // Runs events until `done()` holds (checked after each event) or `deadline` passes.
  // Returns whether done() held.
  bool RunUntilCondition(const std::function<bool()>& done, Nanos deadline);

  // A generator for a component, derived from the seed and a label that names the
  // component uniquely and stably (e.g. "host/n3/process/counter/1").
  Random ChildRandom(std::string_view label) const { return root_random_.Child(label); }
  // The world's own stream, for faults and other decisions the world makes itself.
  Random& random() { return world_random_; }

  Trace& trace() { return trace_; }
  // Shared by every process's Env: see cluster/env/shared_decoder.h.
  SharedDecoder& decoder() { return decoder_; }
  LogSink& log() { return log_; }
  Network& network() { return *network_; }
  uint64_t events_run() const { return events_run_; }
  // The id of the event running now (0 outside of Step).
  EventId current_event() const { return current_event_; }
  size_t events_pending() const { return queue_.size(); }

  // Adds a host, connected to every other host. REQUIRES: the name is new, non-empty and
  // free of ':' and '/'.
  Host& AddHost(const std::string& name);
  Host& AddHost(const std::string& name, const HostOptions& options);
  // nullptr if no such host.
  Host* FindHost(std::string_view name);
  Host& host(uint32_t id) { return *hosts_[id]; }
  const std::vector<std::unique_ptr<Host>>& hosts() const { return hosts_; }

  // Defines (or redefines) the behaviour of an image for every host's runtime, ahead of
  // the built-in catalogue. Keyed by repository: every tag of `name` gets it.
  void DefineImage(const std::string& name, const ImageBehavior& behavior);
  // The behaviour defined for the image's repository, or nullptr.
  const ImageBehavior* FindImage(const std::string& image) const;

 private:
  uint64_t seed_;
  WorldOptions options_;
  Random root_random_;
  Random world_random_;
  int64_t now_ns_ = 0;
  EventQueue queue_;
  Trace trace_;
  LogSink log_;
  uint64_t events_run_ = 0;
  EventId current_event_ = 0;
  SharedDecoder decoder_;  // before hosts_: destroyed after every process
  std::unique_ptr<Network> network_;
  std::vector<std::unique_ptr<Host>> hosts_;
  std::map<std::string, uint32_t, std::less<>> host_ids_;
  std::map<std::string, std::unique_ptr<ImageBehavior>, std::less<>> images_;
};

}  // namespace ksim::sim
