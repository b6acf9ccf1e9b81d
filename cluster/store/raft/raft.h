// Raft: the consensus core as a pure state machine, in the shape of etcd-io/raft's
// RawNode. No I/O, no clock, no threads: the caller ticks it, steps messages into it, and
// collects a Ready holding what to persist, what to send and what to apply; then calls
// Advance. Randomness (election timeouts) comes from a seeded ksim::Random.
//
// The caller's contract for each Ready, in this order:
//   1. persist `hard_state`, `snapshot` and `entries` durably (fsync);
//   2. send `messages` (only now: a vote or an append acknowledgement must never reach a
//      peer before the state it promises is durable);
//   3. apply `snapshot` and then `committed_entries` to the state machine;
//   4. call Advance(ready).
//
// References in comments are to the Raft paper (Ongaro & Ousterhout, USENIX ATC 2014)
// by section, and to Ongaro's thesis (2014) for PreVote, CheckQuorum, ReadIndex and
// leader transfer.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cluster/env/random.h"
#include "cluster/env/status.h"
#include "cluster/store/raft/raft.pb.h"
#include "cluster/store/mutation.h"
#include "cluster/store/raft/raft_log.h"

namespace ksim::raft {

inline constexpr uint64_t kNone = 0;  // no node (node ids start at 1)

enum class Role { kFollower, kPreCandidate, kCandidate, kLeader };
const char* RoleName(Role role);

struct Config {
  uint64_t id = kNone;
  // Voters when starting a brand-new cluster (ignored when `restore` has a ConfState).
  std::vector<uint64_t> peers;
  int election_tick = 10;   // followers wait [election_tick, 2*election_tick) ticks
  int heartbeat_tick = 1;
  bool pre_vote = true;     // thesis §9.6
  bool check_quorum = true; // thesis §6.2: a leader that cannot hear a quorum steps down
  size_t max_entries_per_message = 64;
  // An append stops before the entry that would take its entries' data past this (as
  // etcd-io/raft's MaxSizePerMsg); it still carries one entry, however large.
  size_t max_bytes_per_message = size_t{1} << 20;
  size_t max_inflight_messages = 256;
  size_t max_uncommitted_entries = 10000;  // proposals beyond this are refused
  // A proposal whose data is larger is refused (InvalidArgument): one entry must fit in
  // one append, and an append in one transport frame.
  size_t max_entry_bytes = size_t{8} << 20;
  // Snapshots go to a follower in chunks of this many bytes (paper §7, Figure 13), at
  // most `max_inflight_snapshot_chunks` unacknowledged at once.
  size_t max_snapshot_chunk_bytes = size_t{1} << 20;
  size_t max_inflight_snapshot_chunks = 4;
  // A follower refuses to assemble a larger snapshot.
  size_t max_snapshot_bytes = size_t{8} << 30;
  // Bytes of entry data kept in memory once entries are persisted and applied; older
  // entries' data is evicted and read back through `log_reader` when a follower lags.
  // SIZE_MAX keeps everything (then `log_reader` may be null). REQUIRES: log_reader
  // outlives the node when this is bounded.
  size_t max_cached_entry_bytes = SIZE_MAX;
  const LogReader* log_reader = nullptr;
#ifdef KSIM_MUTATIONS
  Mutation mutation = Mutation::kNone;  // test builds only
#endif
};

// Durable state a node restarts from.
struct Restore {
  HardState hard_state;
  Snapshot snapshot;           // empty metadata.index() == 0 means none
  std::vector<Entry> entries;  // following the snapshot
};

struct ReadState {
  uint64_t index = 0;    // reads may be served once applied >= index
  std::string context;   // the caller's request id
};

struct Ready {
  std::optional<HardState> hard_state;  // set when it changed
  // Entries are shared with the node's log (immutable), not copies.
  std::vector<EntryRef> entries;           // to persist; may overwrite from entries[0]->index()
  std::optional<Snapshot> snapshot;        // to persist and apply
  std::vector<EntryRef> committed_entries; // to apply, in order
  std::vector<Message> messages;        // to send after persisting
  std::vector<ReadState> read_states;
  bool empty() const {
    return !hard_state && entries.empty() && !snapshot && committed_entries.empty() && messages.empty() &&
           read_states.empty();
  }
};

class Raft {
 public:
  // REQUIRES: config.id != kNone; `random` outlives the node.
  Raft(const Config& config, Random* random, const Restore& restore = {});

  // --- inputs ---
  void Tick();
  // Steps a message from a peer. Messages for another node, or malformed ones, are
  // rejected with InvalidArgument and change nothing.
  Status Step(const Message& m);
  // Starts an election now (the test harness and leader transfer use this).
  void Campaign();
  // Appends a command to the log. Unavailable (with the leader's id in the message) on
  // a node that is not the leader or is transferring leadership.
  Status Propose(std::string data);
  // Proposes a membership change (one server at a time, thesis §4.1). Unavailable while
  // another change is pending.
  Status ProposeConfChange(const ConfChange& cc);
  // Applies a committed conf change; the caller calls this when it applies the entry.
  ConfState ApplyConfChange(const ConfChange& cc);
  // Asks to serve a linearizable read (thesis §6.4). A ReadState with `context` appears
  // in a later Ready once leadership was confirmed by a quorum.
  Status ReadIndex(std::string context);
  // Hands leadership to `to` (thesis §3.10).
  Status TransferLeadership(uint64_t to);
  // Drops log entries up to `index` (<= applied), remembering `data` as the state
  // machine's snapshot at that index, to send to followers that fall behind it.
  Status Compact(uint64_t index, std::string data);
  // The caller could not send a message to `peer` (etcd-io/raft's ReportUnreachable): a
  // leader stops pipelining to it and resends from what it acknowledged at its next
  // answer (appends from its match, a snapshot from its last acknowledged chunk), so no
  // send error is silently lost. May be called at any time except between GetReady and
  // Advance; ignored for a node that is not the leader or a peer it does not track.
  void ReportUnreachable(uint64_t peer);

  // --- outputs ---
  bool HasReady() const;
  Ready GetReady();
  void Advance(const Ready& ready);

  // --- inspection ---
  uint64_t id() const { return id_; }
  uint64_t term() const { return term_; }
  uint64_t vote() const { return vote_; }
  uint64_t leader() const { return leader_; }
  Role role() const { return role_; }
  const RaftLog& log() const { return log_; }
  const std::set<uint64_t>& voters() const { return voters_; }
  uint64_t match_of(uint64_t peer) const;
  HardState hard_state() const { return CurrentHardState(); }
  uint64_t lead_transferee() const { return lead_transferee_; }

 private:
  struct Progress {
    uint64_t match = 0;
    uint64_t next = 1;
    enum State { kProbe, kReplicate, kSnapshot } state = kProbe;
    bool probe_sent = false;       // kProbe: one append in flight, wait for its answer
    uint64_t pending_snapshot = 0; // kSnapshot: index of the snapshot sent
    int snapshot_wait = 0;         // kSnapshot: heartbeat answers since the last chunk answer
    // kSnapshot: the image being sent (kept even if a newer one is taken meanwhile), the
    // bytes sent and acknowledged, and whether the last chunk went out.
    std::shared_ptr<const Snapshot> snapshot;
    uint64_t snapshot_sent = 0;
    uint64_t snapshot_acked = 0;
    bool snapshot_done_sent = false;
    bool recent_active = false;    // heard from since the last CheckQuorum
    std::vector<uint64_t> inflight;  // kReplicate: last index of each unacked append
  };
  struct PendingRead {
    std::string context;
    uint64_t index = 0;
    std::set<uint64_t> acks;
    uint64_t from = kNone;  // a follower that asked (kNone: local)
  };

  void BecomeFollower(uint64_t term, uint64_t leader);
  void BecomePreCandidate();
  void BecomeCandidate();
  void BecomeLeader();
  void Reset(uint64_t term);
  void ResetRandomizedElectionTimeout();
  void Hup(bool transfer);
  void TickElection();
  void TickHeartbeat();
  bool PastElectionTimeout() const { return election_elapsed_ >= randomized_election_timeout_; }

  void Send(Message m);
  void SendAppend(uint64_t to, bool send_if_empty = true);
  // kSnapshot: sends the next chunks of the follower's snapshot, up to the window.
  void SendSnapshotChunks(uint64_t to, Progress& p);
  void BroadcastAppend();
  void BroadcastHeartbeat(const std::string& context);
  void AppendEntries(std::vector<Entry> entries);
  bool MaybeCommit();
  bool CommittedEntryInCurrentTerm() const;
  int Poll(uint64_t from, bool granted);  // returns +1 won, -1 lost, 0 pending
  bool QuorumActive();
  size_t Quorum() const { return voters_.size() / 2 + 1; }
  bool Promotable() const { return voters_.count(id_) > 0; }

  void StepLeader(const Message& m);
  void StepCandidate(const Message& m);
  void StepFollower(const Message& m);
  void HandleAppend(const Message& m);
  void HandleHeartbeat(const Message& m);
  void HandleSnapshot(const Message& m);
  void HandleSnapshotAnswer(const Message& m, Progress& p);
  // Installs a complete snapshot (the last chunk arrived), answering the leader.
  void InstallSnapshot(Snapshot snapshot, uint64_t to);
  void HandleVoteRequest(const Message& m);
  void HandleReadIndexRequest(const std::string& context, uint64_t from);
  void ReleaseReads();
  void AbortLeaderTransfer() { lead_transferee_ = kNone; }

  HardState CurrentHardState() const;

  uint64_t id_;
  Config config_;
  Random* random_;
  uint64_t term_ = 0;
  uint64_t vote_ = kNone;
  uint64_t leader_ = kNone;
  Role role_ = Role::kFollower;
  RaftLog log_;
  std::set<uint64_t> voters_;
  std::map<uint64_t, Progress> progress_;  // leader only
  std::map<uint64_t, bool> votes_;
  std::vector<Message> outbox_;
  std::vector<ReadState> read_states_;
  std::vector<PendingRead> pending_reads_;      // leader: waiting for a heartbeat quorum
  std::vector<std::string> reads_before_commit_; // leader: waiting for a current-term commit
  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  int randomized_election_timeout_ = 0;
  uint64_t lead_transferee_ = kNone;
  uint64_t pending_conf_index_ = 0;
  std::shared_ptr<const Snapshot> pending_snapshot_;  // received, to hand out in the next Ready
  std::shared_ptr<const Snapshot> stored_snapshot_;  // the latest snapshot, sent to laggards; never null
  // Follower: the snapshot being received, chunk by chunk, from `from` in `term`.
  struct IncomingSnapshot {
    Snapshot snapshot;  // metadata and the data received so far
    uint64_t from = kNone;
    uint64_t term = 0;
  };
  std::optional<IncomingSnapshot> incoming_snapshot_;
  std::map<std::string, uint64_t> reads_from_;  // read context -> follower that asked
  HardState prev_hard_state_;
};

}  // namespace ksim::raft
