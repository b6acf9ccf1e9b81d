// GossipCounterNode: the demo service that proves one piece of code runs in both worlds.
//
// Each node owns a counter. Every increment interval it appends the next value to its
// counter log and fsyncs; only a value whose fsync completed is ever announced. Every
// gossip interval it sends every peer the largest value it knows for each node (a
// grow-only counter, merged by max), so all nodes converge once the network lets them.
// On start it recovers its own value from the log, so a crash or a power failure never
// takes it below a value it announced.
//
// The invariant a run checks: no node ever hears a value for node X larger than X's own
// value at that moment ("announced implies durable").
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cluster/env/env.h"
#include "cluster/env/process.h"
#include "cluster/net/peer_link.h"

namespace ksim::demo {

struct GossipCounterOptions {
  std::string name;                         // this node's name, unique in the mesh
  uint16_t listen_port = 7000;
  std::map<std::string, Address> peers;     // name -> address, excluding this node
  Nanos increment_interval = Milliseconds(100);
  Nanos gossip_interval = Milliseconds(200);
  size_t compact_after_bytes = 4096;        // rewrite the log once it grows past this
  std::string data_dir = "counter";         // folder on the Disk
};

struct GossipCounterStats {
  uint64_t increments_durable = 0;
  uint64_t write_errors = 0;
  uint64_t gossip_sent = 0;
  uint64_t gossip_received = 0;
  uint64_t malformed_frames = 0;
  uint64_t compactions = 0;
  uint64_t recovered_value = 0;
  bool recovered_torn_tail = false;
};

class GossipCounterNode final : public Process {
 public:
  // REQUIRES: env's clock, transport, disk, random and log are non-null.
  GossipCounterNode(Env& env, GossipCounterOptions options);
  ~GossipCounterNode() override;

  void Start() override;

  // Stops incrementing (gossip continues), so that a run can wait for convergence.
  void StopIncrementing() { incrementing_ = false; }

  const std::string& name() const { return options_.name; }
  // This node's own durable value.
  uint64_t own_value() const { return durable_; }
  // The largest value known for every node, this one included.
  std::map<std::string, uint64_t> Known() const;
  const GossipCounterStats& stats() const { return stats_; }
  // Every (node, heard, actual) where a peer announced more than this node had durably.
  const std::vector<std::string>& violations() const { return violations_; }

 private:
  void Recover();
  void ScheduleIncrement();
  void Increment();
  void MaybeCompact();
  void ScheduleGossip();
  void Gossip();
  void OnFrame(std::string_view frame);
  std::string LogPath() const { return options_.data_dir + "/log"; }
  Nanos Jitter(Nanos base);

  Env& env_;
  GossipCounterOptions options_;
  uint64_t durable_ = 0;      // last value whose fsync completed
  uint64_t written_ = 0;      // last value appended
  bool sync_in_flight_ = false;
  bool compacting_ = false;
  bool incrementing_ = true;
  size_t log_bytes_ = 0;
  std::map<std::string, uint64_t> known_;  // other nodes only
  std::vector<std::unique_ptr<PeerLink>> links_;
  std::vector<std::shared_ptr<Connection>> inbound_;
  TimerId increment_timer_ = 0;
  TimerId gossip_timer_ = 0;
  GossipCounterStats stats_;
  std::vector<std::string> violations_;
};

}  // namespace ksim::demo
