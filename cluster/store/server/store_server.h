// StoreServer: one member of the replicated store. It runs the Raft core with its WAL on
// the Disk, exchanges Raft messages with the other members over the Transport, applies
// committed commands to the MVCC store, and serves clients on the same port:
//   - writes are proposed by the leader and answered when applied; (client, seq) makes a
//     retried write apply once (thesis §6.3);
//   - linearizable reads wait for a ReadIndex (thesis §6.4), on any member;
//   - watches stream the local store's events in revision order;
//   - leases expire only by the leader's decision, replicated as a LeaseRevoke command,
//     timed on the leader's monotonic clock (a wall-clock jump cannot expire a lease).
// Nothing is acknowledged before it is durable: a Ready's messages are sent only after
// its WAL records are fsynced.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cluster/env/env.h"
#include "cluster/env/process.h"
#include "cluster/net/peer_link.h"
#include "cluster/store/mvcc/store.h"
#include "cluster/store/raft/raft.h"
#include "cluster/store/server/raft_storage.h"
#include "cluster/store/server/server.pb.h"

namespace ksim::storeserver {

struct StoreServerOptions {
  uint64_t id = 0;
  std::map<uint64_t, Address> members;  // every member, this one included
  uint16_t port = 2379;
  Nanos tick = Milliseconds(100);
  int election_ticks = 10;
  int heartbeat_ticks = 1;
  uint64_t snapshot_every_entries = 2000;
  size_t max_entries_per_message = 64;  // Raft appends carry at most this many entries
  // ... and stop before the entry that takes them past this many bytes (one entry always goes).
  size_t max_bytes_per_message = size_t{1} << 20;
  // Writes gathered into one Raft entry: at most kMaxBatchCommands, and a write that would
  // take the batch past this many bytes starts the next one.
  size_t max_batch_bytes = size_t{1} << 20;
  // Snapshots go to a lagging follower in chunks of this size (Raft paper §7, Figure 13).
  size_t snapshot_chunk_bytes = size_t{1} << 20;
  // A watch response carries events up to about this many bytes; more go in the next one.
  size_t max_watch_response_bytes = size_t{4} << 20;
  // Raft entry data kept in memory once persisted and applied; older entries' data is
  // read back from the WAL when a follower lags. Between snapshots the log would
  // otherwise be held twice, in memory and in the WAL.
  size_t raft_entry_cache_bytes = size_t{4} << 20;
  size_t max_sessions = 10000;
  size_t max_responses_per_session = 1024;
  Nanos read_timeout = Seconds(5);  // a read index not granted by then is refused
  // When non-zero, the leader compacts the MVCC history to keep about this many revisions
  // (etcd's "revision" auto-compaction), bounding memory and snapshot size. Off by
  // default: the apiserver decides compaction itself, as Kubernetes does.
  int64_t auto_compact_retain_revisions = 0;
  std::string data_dir = "store";
  store::StoreOptions store;
#ifdef KSIM_MUTATIONS
  Mutation mutation = Mutation::kNone;  // test builds only; also handed to the Raft core
#endif
};

struct StoreServerStats {
  uint64_t proposals = 0;
  uint64_t applied_entries = 0;
  uint64_t duplicate_writes = 0;  // retried writes answered from the session table
  uint64_t reads = 0;
  uint64_t snapshots_taken = 0;
  uint64_t snapshots_installed = 0;
  uint64_t lease_expiries = 0;
  uint64_t dropped_inputs = 0;
  uint64_t raft_send_errors = 0;    // reported to Raft, which resends
  uint64_t snapshot_chunks_sent = 0;
  uint64_t replies_too_large = 0;   // answered INVALID instead
};

class StoreServer final : public Process {
 public:
  // REQUIRES: options.members contains options.id; env's clock, transport, disk, random,
  // log are non-null.
  StoreServer(Env& env, StoreServerOptions options);
  ~StoreServer() override;

  void Start() override;

  // --- inspection for checkers and tests ---
  const raft::Raft* raft() const { return raft_.get(); }
  const store::Store& store() const { return store_; }
  bool failed() const { return failed_; }
  const StoreServerStats& stats() const { return stats_; }
  uint64_t id() const { return options_.id; }
  // One write of an applied entry: who sent it and whether it changed the store.
  struct AppliedWrite {
    uint64_t client_id = 0;
    uint64_t seq = 0;
    bool changed = false;
  };
  // Called for every applied normal entry, in order (a test hook for state machine safety
  // and at-most-once checks).
  using ApplyObserver = std::function<void(const raft::Entry&, const std::vector<AppliedWrite>&)>;
  void set_apply_observer(ApplyObserver fn) { apply_observer_ = std::move(fn); }

 private:
  struct PendingRead {
    uint64_t conn = 0;
    ClientRequest request;
    uint64_t index = 0;  // 0 until the read index arrives
    Nanos deadline{0};
  };
  struct WatchOwner {
    uint64_t conn = 0;
    uint64_t client_id = 0;
    uint64_t seq = 0;
  };

  // Runs `fn` now, or holds it while a Ready is being saved; `bytes` is what it holds
  // (the frame it came in), counted against kMaxDeferredBytes.
  void Input(std::function<void()> fn, size_t bytes = 0);
  void Pump();
  void AfterReady(raft::Ready& rd);
  void OnTick();
  void OnFrame(uint64_t conn, std::string_view frame);
  // A write's command is moved out of `req` into the batch, not copied.
  void HandleRequest(uint64_t conn, ClientRequest& req);
  void HandleWrite(uint64_t conn, ClientRequest& req);
  void HandleRead(uint64_t conn, const ClientRequest& req);
  void HandleWatch(uint64_t conn, const ClientRequest& req);
  void HandleKeepAlive(uint64_t conn, const ClientRequest& req);
  void ApplyEntry(const raft::Entry& e);
  // Decodes and applies one command of a batch; `arena` holds the batch being applied.
  AppliedWrite ApplyCommand(const ReplicatedCommand& rc, uint64_t index, google::protobuf::Arena* arena);
  // A client's session (Raft thesis §6.3) as the state machine holds it: answers by seq,
  // encoded (a session holds one per write in flight, and nested messages cost one
  // allocation each to keep and to free). Ordered by seq, so forgetting acknowledged
  // answers erases a prefix. Snapshots carry it as the ClientSession message.
  struct Session {
    uint64_t last_index = 0;  // log index of the client's latest command (for eviction)
    uint64_t floor_seq = 0;   // answers below it were forgotten; a retry is refused
    std::map<uint64_t, std::string> responses;  // seq -> serialized store::CommandResponse
  };
  // Keeps a write's response in its client's session (bounded) for deduplication.
  // Keeps the answer to (session, seq) for a retried proposal; returns its encoding, or
  // nullptr if it was dropped at once (the session keeps at most max_responses_per_session).
  const std::string* Remember(Session* session, uint64_t seq, const store::CommandResponse& response);
  // Respond(conn, reply) for a write answer whose encoding Remember kept: the same bytes.
  // Clears reply's result (its `write`), which the remembered bytes replace.
  void RespondWithRemembered(uint64_t conn, ClientResponse& reply, std::string_view remembered);
  // Sends one frame on the client connection `conn`, if it is still open.
  void SendFrame(uint64_t conn, std::string frame);
  void FlushBatch();
  Status ProposeOne(const store::Command& command);
  void ServeReads();
  void DrainWatchers();
  void MaybeSnapshot();
  void RestoreSnapshot(const std::string& data);
  void TrackLeadership();
  void SendRaft(raft::Message& m);  // consumes m; a failed send is reported to Raft after Advance
  // Sends `response`; one whose frame would exceed kMaxFrameBytes is answered INVALID
  // instead (the caller sees an error, never silence).
  void Respond(uint64_t conn, const ClientResponse& response);
  void RespondTooLarge(uint64_t conn, const ClientResponse& response, size_t bytes);
  ClientResponse Reply(const ClientRequest& req, ClientResponse::Code code, std::string message) const;
  std::string LeaderAddress() const;
  std::string SnapshotData() const;

  Env& env_;
  StoreServerOptions options_;
  RaftStorage storage_;
  std::unique_ptr<raft::Raft> raft_;
  store::Store store_;
  bool saving_ = false;
  bool failed_ = false;
  struct Deferred {
    std::function<void()> fn;
    size_t bytes = 0;
  };
  std::deque<Deferred> deferred_;  // inputs held while a Ready is saved
  size_t deferred_bytes_ = 0;
  static constexpr size_t kMaxDeferredInputs = 10000;
  static constexpr size_t kMaxDeferredBytes = size_t{64} << 20;
  std::vector<uint64_t> unreachable_;  // peers a Raft message could not be sent to
  TimerId tick_timer_ = 0;

  std::map<uint64_t, std::unique_ptr<PeerLink>> peers_;
  std::map<uint64_t, std::shared_ptr<Connection>> conns_;  // inbound, by local key
  uint64_t next_conn_ = 1;

  std::map<uint64_t, Session> sessions_;
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> pending_writes_;  // (client, seq) -> conn
  std::map<std::string, PendingRead> pending_reads_;                  // by read context
  uint64_t next_read_ = 1;
  std::map<int64_t, WatchOwner> watches_;
  std::map<int64_t, Nanos> lease_deadlines_;  // leader only, monotonic
  std::map<int64_t, bool> lease_revoke_proposed_;
  uint64_t led_term_ = 0;
  int64_t compaction_proposed_ = 0;  // the revision of the last auto-compaction proposed
  uint64_t last_snapshot_index_ = 0;
  StoreServerStats stats_;
  ApplyObserver apply_observer_;
  ReplicatedBatch batch_;  // writes gathered for the next proposal
  size_t batch_bytes_ = 0;  // the commands' bytes in batch_
  static constexpr int kMaxBatchCommands = 1000;
};

}  // namespace ksim::storeserver
