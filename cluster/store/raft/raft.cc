#include "cluster/store/raft/raft.h"

#include <algorithm>
#include <cassert>

#include "cluster/env/wire.h"

namespace ksim::raft {

const char* RoleName(Role role) {
  switch (role) {
    case Role::kFollower: return "follower";
    case Role::kPreCandidate: return "pre-candidate";
    case Role::kCandidate: return "candidate";
    case Role::kLeader: return "leader";
  }
  return "?";
}

namespace {

// Heartbeat answers without a chunk answer before a snapshot's unacknowledged chunks are
// resent.
constexpr int kSnapshotResendHeartbeats = 3;

bool IsResponse(MessageType t) {
  return t == MSG_APP_RESP || t == MSG_VOTE_RESP || t == MSG_PRE_VOTE_RESP || t == MSG_HEARTBEAT_RESP ||
         t == MSG_READ_INDEX_RESP || t == MSG_SNAP_RESP;
}

}  // namespace

Raft::Raft(const Config& config, Random* random, const Restore& restore)
    : id_(config.id), config_(config), random_(random) {
  assert(id_ != kNone && random_ != nullptr);
  assert(config.max_cached_entry_bytes == SIZE_MAX || config.log_reader != nullptr);
  log_.Restore(restore.snapshot, restore.entries);
  // A restarted leader can send its latest snapshot at once, without compacting again.
  stored_snapshot_ = std::make_shared<const Snapshot>(restore.snapshot);
  if (restore.snapshot.metadata().conf_state().voters_size() > 0) {
    for (uint64_t v : restore.snapshot.metadata().conf_state().voters()) voters_.insert(v);
  } else {
    voters_.insert(config.peers.begin(), config.peers.end());
  }
  // Conf changes in the restored log past the snapshot were applied before the crash
  // if committed; they are re-applied by the caller as it replays committed entries.
  term_ = restore.hard_state.term();
  vote_ = restore.hard_state.vote();
  if (restore.hard_state.commit() > log_.committed()) {
    log_.CommitTo(std::min(restore.hard_state.commit(), log_.last_index()));
  }
  prev_hard_state_ = CurrentHardState();
  BecomeFollower(term_, kNone);
}

HardState Raft::CurrentHardState() const {
  HardState hs;
  hs.set_term(term_);
  hs.set_vote(KSIM_MUTATED(config_, kForgetVoteOnRestart) ? kNone : vote_);
  hs.set_commit(log_.committed());
  return hs;
}

uint64_t Raft::match_of(uint64_t peer) const {
  auto it = progress_.find(peer);
  return it == progress_.end() ? 0 : it->second.match;
}

// --- roles ----------------------------------------------------------------------------

void Raft::ResetRandomizedElectionTimeout() {
  // §5.2: randomized timeouts make split votes rare; drawn from the seed.
  randomized_election_timeout_ =
      config_.election_tick + static_cast<int>(random_->Uniform(static_cast<uint64_t>(config_.election_tick)));
}

void Raft::Reset(uint64_t term) {
  if (term != term_) {
    term_ = term;
    vote_ = kNone;
  }
  leader_ = kNone;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  ResetRandomizedElectionTimeout();
  AbortLeaderTransfer();
  votes_.clear();
  progress_.clear();
  pending_reads_.clear();
  reads_before_commit_.clear();
}

void Raft::BecomeFollower(uint64_t term, uint64_t leader) {
  Reset(term);
  leader_ = leader;
  role_ = Role::kFollower;
}

void Raft::BecomePreCandidate() {
  assert(role_ != Role::kLeader);
  // PreVote (thesis §9.6): ask first whether we could win, without touching the term,
  // so a partitioned node cannot disrupt the cluster when it comes back.
  votes_.clear();
  leader_ = kNone;
  role_ = Role::kPreCandidate;
}

void Raft::BecomeCandidate() {
  assert(role_ != Role::kLeader);
  Reset(term_ + 1);
  vote_ = id_;  // §5.2: a candidate votes for itself
  role_ = Role::kCandidate;
}

void Raft::BecomeLeader() {
  assert(role_ == Role::kCandidate);
  Reset(term_);
  leader_ = id_;
  role_ = Role::kLeader;
  for (uint64_t v : voters_) {
    Progress p;
    p.next = log_.last_index() + 1;
    p.recent_active = true;
    if (v == id_) p.match = log_.unstable_from_ - 1;
    progress_[v] = p;
  }
  // Pending conf changes in the log cannot be told apart from committed ones here;
  // conservatively block new ones until everything in the log is applied.
  pending_conf_index_ = log_.last_index();
  // §5.4.2 / §8: a new leader commits an entry of its own term (an empty one) so that
  // it learns which entries are committed and can serve reads.
  Entry empty;
  empty.set_type(ENTRY_NORMAL);
  AppendEntries({empty});
}

void Raft::Hup(bool transfer) {
  if (role_ == Role::kLeader || !Promotable()) return;
  // A node with committed but unapplied conf changes must not campaign: it may not
  // know the current configuration yet.
  for (uint64_t i = log_.applied() + 1; i <= log_.committed(); ++i) {
    if (log_.entries_[i - log_.first_index()]->type() == ENTRY_CONF_CHANGE) return;
  }
  const bool pre = config_.pre_vote && !transfer;
  if (pre) {
    BecomePreCandidate();
  } else {
    BecomeCandidate();
  }
  const uint64_t term = pre ? term_ + 1 : term_;
  if (Poll(id_, true) > 0) {  // a single-node cluster
    if (pre) {
      BecomeCandidate();
      if (Poll(id_, true) > 0) BecomeLeader();
    } else {
      BecomeLeader();
    }
    return;
  }
  for (uint64_t v : voters_) {
    if (v == id_) continue;
    Message m;
    m.set_type(pre ? MSG_PRE_VOTE : MSG_VOTE);
    m.set_to(v);
    m.set_term(term);
    m.set_index(log_.last_index());
    m.set_log_term(log_.last_term());
    if (transfer) m.set_context("transfer");
    Send(std::move(m));
  }
}

void Raft::Campaign() { Hup(false); }

int Raft::Poll(uint64_t from, bool granted) {
  votes_.emplace(from, granted);
  size_t yes = 0, no = 0;
  for (const auto& [voter, g] : votes_) {
    if (!voters_.count(voter)) continue;
    (g ? yes : no) += 1;
  }
  if (yes >= Quorum()) return 1;
  if (no >= Quorum() || voters_.size() - no < Quorum()) return -1;
  return 0;
}

// --- ticks ----------------------------------------------------------------------------

void Raft::Tick() {
  if (role_ == Role::kLeader) {
    TickHeartbeat();
  } else {
    TickElection();
  }
}

void Raft::TickElection() {
  ++election_elapsed_;
  if (Promotable() && PastElectionTimeout()) {
    election_elapsed_ = 0;
    Hup(false);
  }
}

void Raft::TickHeartbeat() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (election_elapsed_ >= config_.election_tick) {
    election_elapsed_ = 0;
    // CheckQuorum (thesis §6.2): a leader that has not heard from a quorum within an
    // election timeout steps down, so a partitioned leader stops serving.
    if (config_.check_quorum && !QuorumActive()) {
      BecomeFollower(term_, kNone);
      return;
    }
    // A transfer that did not finish within an election timeout is abandoned.
    AbortLeaderTransfer();
  }
  if (heartbeat_elapsed_ >= config_.heartbeat_tick) {
    heartbeat_elapsed_ = 0;
    BroadcastHeartbeat("");
  }
}

bool Raft::QuorumActive() {
  size_t active = 0;
  for (auto& [peer, p] : progress_) {
    if (peer == id_ || p.recent_active) ++active;
    if (peer != id_) p.recent_active = false;
  }
  return active >= Quorum();
}

// --- sending --------------------------------------------------------------------------

void Raft::Send(Message m) {
  m.set_from(id_);
  // Votes carry the term they ask for; everything else is stamped with ours.
  if (m.type() != MSG_PRE_VOTE && m.type() != MSG_PRE_VOTE_RESP && m.type() != MSG_VOTE) m.set_term(term_);
  if (m.type() == MSG_PRE_VOTE_RESP && m.term() == 0) m.set_term(term_);
  outbox_.push_back(std::move(m));
}

void Raft::SendAppend(uint64_t to, bool send_if_empty) {
  Progress& p = progress_[to];
  if (p.state == Progress::kSnapshot) return SendSnapshotChunks(to, p);
  if (p.state == Progress::kProbe && p.probe_sent) return;
  if (p.state == Progress::kReplicate && p.inflight.size() >= config_.max_inflight_messages) return;
  Message m;
  m.set_to(to);
  const uint64_t prev = p.next - 1;
  auto prev_term = log_.Term(prev);
  if (!prev_term || p.next < log_.first_index()) {
    // The entries this follower needs are compacted: send the snapshot (§7), in chunks.
    if (stored_snapshot_->metadata().index() == 0) return;  // nothing to send yet
    p.state = Progress::kSnapshot;
    p.snapshot = stored_snapshot_;
    p.pending_snapshot = stored_snapshot_->metadata().index();
    p.snapshot_wait = 0;
    p.snapshot_sent = p.snapshot_acked = 0;
    p.snapshot_done_sent = false;
    return SendSnapshotChunks(to, p);
  }
  std::vector<Entry> ents;
  // A read-back failure sends nothing now; the next heartbeat answer retries (§5.3:
  // AppendEntries are retried indefinitely).
  if (!log_.Entries(p.next, log_.last_index() + 1, config_.max_entries_per_message, config_.log_reader, &ents,
                    config_.max_bytes_per_message)
           .ok()) {
    return;
  }
  if (ents.empty() && !send_if_empty) return;
  m.set_type(MSG_APP);
  m.set_index(prev);
  m.set_log_term(*prev_term);
  m.set_commit(log_.committed());
  for (Entry& e : ents) *m.add_entries() = std::move(e);
  if (m.entries_size() > 0) {
    const uint64_t last = m.entries(m.entries_size() - 1).index();
    if (p.state == Progress::kReplicate) {
      p.next = last + 1;  // optimistic: pipeline the next append
      p.inflight.push_back(last);
    } else {
      p.probe_sent = true;
    }
  } else if (p.state == Progress::kProbe) {
    p.probe_sent = true;
  }
  Send(std::move(m));
}

// Paper §7, Figure 13: InstallSnapshot carries the image in chunks (offset, data, done).
// Up to max_inflight_snapshot_chunks go out unacknowledged; each answer opens the window.
void Raft::SendSnapshotChunks(uint64_t to, Progress& p) {
  const std::string& data = p.snapshot->data();
  const size_t chunk = std::max<size_t>(1, config_.max_snapshot_chunk_bytes);
  const size_t window = chunk * std::max<size_t>(1, config_.max_inflight_snapshot_chunks);
  while (!p.snapshot_done_sent && p.snapshot_sent - p.snapshot_acked < window) {
    const size_t offset = p.snapshot_sent;
    const size_t len = std::min(chunk, data.size() - offset);
    Message m;
    m.set_type(MSG_SNAP);
    m.set_to(to);
    *m.mutable_snapshot()->mutable_metadata() = p.snapshot->metadata();
    m.mutable_snapshot()->set_data(data.substr(offset, len));
    m.set_snapshot_offset(offset);
    p.snapshot_sent = offset + len;
    p.snapshot_done_sent = p.snapshot_sent == data.size();
    m.set_snapshot_done(p.snapshot_done_sent);
    Send(std::move(m));
  }
}

void Raft::ReportUnreachable(uint64_t peer) {
  if (role_ != Role::kLeader || peer == id_) return;
  auto it = progress_.find(peer);
  if (it == progress_.end()) return;
  Progress& p = it->second;
  switch (p.state) {
    case Progress::kReplicate:
      // What was pipelined after the failed message cannot be trusted to arrive: probe
      // again from what the follower acknowledged.
      p.state = Progress::kProbe;
      p.inflight.clear();
      p.next = p.match + 1;
      p.probe_sent = false;
      break;
    case Progress::kProbe:
      p.probe_sent = false;
      break;
    case Progress::kSnapshot:
      p.snapshot_sent = p.snapshot_acked;
      p.snapshot_done_sent = false;
      break;
  }
}

void Raft::BroadcastAppend() {
  for (uint64_t v : voters_) {
    if (v != id_) SendAppend(v);
  }
}

void Raft::BroadcastHeartbeat(const std::string& context) {
  for (uint64_t v : voters_) {
    if (v == id_) continue;
    Message m;
    m.set_type(MSG_HEARTBEAT);
    m.set_to(v);
    // Never tell a follower to commit past what it is known to hold.
    m.set_commit(std::min(progress_[v].match, log_.committed()));
    m.set_context(context);
    Send(std::move(m));
  }
}

void Raft::AppendEntries(std::vector<Entry> entries) {
  uint64_t index = log_.last_index();
  for (Entry& e : entries) {
    e.set_term(term_);
    e.set_index(++index);
  }
  log_.Append(std::move(entries));
  // The leader's own match advances only when its entries are durable (Advance).
  BroadcastAppend();
}

// §5.3 and §5.4.2: an index is committed once a majority stores it, but a leader only
// counts replicas for entries of its current term.
bool Raft::MaybeCommit() {
  std::vector<uint64_t> matches;
  for (uint64_t v : voters_) matches.push_back(match_of(v));
  std::sort(matches.begin(), matches.end(), std::greater<>());
  const uint64_t quorum_index = matches[Quorum() - 1];
  if (quorum_index <= log_.committed()) return false;
  if (!log_.MatchTerm(quorum_index, term_) && !KSIM_MUTATED(config_, kCommitPreviousTermByCounting)) return false;
  log_.CommitTo(quorum_index);
  return true;
}

bool Raft::CommittedEntryInCurrentTerm() const { return log_.MatchTerm(log_.committed(), term_); }

// --- proposals ------------------------------------------------------------------------

Status Raft::Propose(std::string data) {
  if (role_ != Role::kLeader) {
    return Status::Unavailable("not the leader; leader is " + std::to_string(leader_));
  }
  if (lead_transferee_ != kNone) return Status::Unavailable("leadership transfer in progress");
  if (data.size() > config_.max_entry_bytes) {
    return Status::InvalidArgument("proposal of " + std::to_string(data.size()) + " bytes exceeds max_entry_bytes (" +
                                   std::to_string(config_.max_entry_bytes) + ")");
  }
  if (log_.last_index() - log_.committed() >= config_.max_uncommitted_entries) {
    return Status::Unavailable("too many uncommitted entries");
  }
  std::vector<Entry> entries(1);  // moved into the log: a batch's data can be large
  entries[0].set_type(ENTRY_NORMAL);
  entries[0].set_data(std::move(data));
  AppendEntries(std::move(entries));
  return Status::Ok();
}

Status Raft::ProposeConfChange(const ConfChange& cc) {
  if (role_ != Role::kLeader) return Status::Unavailable("not the leader");
  if (pending_conf_index_ > log_.applied()) {
    return Status::Unavailable("a configuration change is already pending");
  }
  if (cc.node_id() == kNone) return Status::InvalidArgument("conf change names no node");
  Entry e;
  e.set_type(ENTRY_CONF_CHANGE);
  e.set_data(SerializeDeterministic(cc));
  AppendEntries({e});
  pending_conf_index_ = log_.last_index();
  return Status::Ok();
}

ConfState Raft::ApplyConfChange(const ConfChange& cc) {
  if (cc.type() == ConfChange::ADD_NODE) {
    if (voters_.insert(cc.node_id()).second && role_ == Role::kLeader) {
      Progress p;
      p.next = log_.last_index() + 1;
      p.recent_active = true;  // give it an election timeout before CheckQuorum counts it
      progress_[cc.node_id()] = p;
    }
  } else {
    voters_.erase(cc.node_id());
    progress_.erase(cc.node_id());
    if (cc.node_id() == id_ && role_ == Role::kLeader) {
      BecomeFollower(term_, kNone);  // a removed leader steps down (thesis §4.2.2)
    } else if (role_ == Role::kLeader && !voters_.empty()) {
      // Fewer voters may mean a smaller quorum: entries may now be committed.
      if (MaybeCommit()) BroadcastAppend();
    }
    if (lead_transferee_ == cc.node_id()) AbortLeaderTransfer();
  }
  ConfState cs;
  for (uint64_t v : voters_) cs.add_voters(v);
  return cs;
}

Status Raft::TransferLeadership(uint64_t to) {
  if (role_ != Role::kLeader) return Status::Unavailable("not the leader");
  if (to == id_ || !voters_.count(to)) return Status::InvalidArgument("cannot transfer to " + std::to_string(to));
  lead_transferee_ = to;
  election_elapsed_ = 0;
  if (progress_[to].match == log_.last_index()) {
    Message m;
    m.set_type(MSG_TIMEOUT_NOW);
    m.set_to(to);
    Send(std::move(m));
  } else {
    SendAppend(to);
  }
  return Status::Ok();
}

Status Raft::ReadIndex(std::string context) {
  if (role_ == Role::kLeader) {
    HandleReadIndexRequest(context, kNone);
    return Status::Ok();
  }
  if (leader_ == kNone) return Status::Unavailable("no leader known");
  Message m;
  m.set_type(MSG_READ_INDEX);
  m.set_to(leader_);
  m.set_context(std::move(context));
  Send(std::move(m));
  return Status::Ok();
}

void Raft::HandleReadIndexRequest(const std::string& context, uint64_t from) {
  // Thesis §6.4: the read index is the commit index, once (1) this leader committed an
  // entry of its term, so the commit index is current, and (2) a quorum confirmed it is
  // still the leader after the read arrived (a heartbeat round carrying the context).
  if (!CommittedEntryInCurrentTerm()) {
    reads_before_commit_.push_back(context);  // released when the first entry commits
    if (from != kNone) reads_from_[context] = from;
    return;
  }
  PendingRead r;
  r.context = context;
  r.index = log_.committed();
  r.from = from;
  r.acks.insert(id_);
  if (r.acks.size() >= Quorum()) {
    ReadState rs{r.index, r.context};
    if (from == kNone) {
      read_states_.push_back(rs);
    } else {
      Message m;
      m.set_type(MSG_READ_INDEX_RESP);
      m.set_to(from);
      m.set_index(r.index);
      m.set_context(r.context);
      Send(std::move(m));
    }
    return;
  }
  pending_reads_.push_back(std::move(r));
  BroadcastHeartbeat(context);
}

void Raft::ReleaseReads() {
  std::vector<PendingRead> still;
  for (PendingRead& r : pending_reads_) {
    if (r.acks.size() < Quorum()) {
      still.push_back(std::move(r));
      continue;
    }
    if (r.from == kNone) {
      read_states_.push_back(ReadState{r.index, r.context});
    } else {
      Message m;
      m.set_type(MSG_READ_INDEX_RESP);
      m.set_to(r.from);
      m.set_index(r.index);
      m.set_context(r.context);
      Send(std::move(m));
    }
  }
  pending_reads_ = std::move(still);
}

// --- compaction -------------------------------------------------------------------------

Status Raft::Compact(uint64_t index, std::string data) {
  if (index > log_.applied()) return Status::InvalidArgument("cannot compact past the applied index");
  if (index <= log_.snapshot_index()) return Status::Ok();
  Snapshot s;
  s.mutable_metadata()->set_index(index);
  s.mutable_metadata()->set_term(*log_.Term(index));
  for (uint64_t v : voters_) s.mutable_metadata()->mutable_conf_state()->add_voters(v);
  s.set_data(std::move(data));
  log_.CompactTo(index);
  stored_snapshot_ = std::make_shared<const Snapshot>(std::move(s));
  return Status::Ok();
}

// --- stepping -------------------------------------------------------------------------

Status Raft::Step(const Message& m) {
  if (m.to() != id_) return Status::InvalidArgument("message for node " + std::to_string(m.to()));
  if (m.from() == kNone || m.from() == id_) return Status::InvalidArgument("message without a valid sender");

  if (m.term() < term_ && m.type() == MSG_APP && KSIM_MUTATED(config_, kAcceptStaleLeaderAppends)) {
    // Mutation: a deposed leader's appends are taken as if they were current.
    leader_ = m.from();
    HandleAppend(m);
    return Status::Ok();
  }
  if (m.term() > term_) {
    const bool vote_request = m.type() == MSG_VOTE || m.type() == MSG_PRE_VOTE;
    if (vote_request) {
      const bool force = m.context() == "transfer";
      const bool in_lease = config_.check_quorum && leader_ != kNone && election_elapsed_ < config_.election_tick;
      // Thesis §4.2.3 / §9.6: while we hear from a leader, ignore votes for a new term
      // (this is what stops a removed or partitioned node from disrupting the cluster).
      if (!force && in_lease) return Status::Ok();
    }
    if (m.type() == MSG_PRE_VOTE) {
      // A pre-vote never changes our term.
    } else if (m.type() == MSG_PRE_VOTE_RESP && !m.reject()) {
      // A granted pre-vote carries the term we would campaign at; we become candidate
      // ourselves when a quorum grants it.
    } else {
      // §5.1: a higher term makes us a follower of that term.
      const bool from_leader = m.type() == MSG_APP || m.type() == MSG_HEARTBEAT || m.type() == MSG_SNAP;
      BecomeFollower(m.term(), from_leader ? m.from() : kNone);
    }
  } else if (m.term() < term_) {
    if ((config_.check_quorum || config_.pre_vote) && (m.type() == MSG_HEARTBEAT || m.type() == MSG_APP)) {
      // A stale leader: tell it our term so it steps down (otherwise, with CheckQuorum,
      // a node that rejoins with a higher term could wait forever).
      Message r;
      r.set_type(MSG_APP_RESP);
      r.set_to(m.from());
      Send(std::move(r));
    } else if (m.type() == MSG_PRE_VOTE) {
      Message r;
      r.set_type(MSG_PRE_VOTE_RESP);
      r.set_to(m.from());
      r.set_term(term_);
      r.set_reject(true);
      Send(std::move(r));
    }
    return Status::Ok();  // §5.1: stale terms are ignored
  }

  if (m.type() == MSG_VOTE || m.type() == MSG_PRE_VOTE) {
    HandleVoteRequest(m);
    return Status::Ok();
  }
  switch (role_) {
    case Role::kLeader: StepLeader(m); break;
    case Role::kPreCandidate:
    case Role::kCandidate: StepCandidate(m); break;
    case Role::kFollower: StepFollower(m); break;
  }
  return Status::Ok();
}

void Raft::HandleVoteRequest(const Message& m) {
  const bool pre = m.type() == MSG_PRE_VOTE;
  // §5.2, §5.4.1: one vote per term, only to a candidate whose log is at least as up to
  // date as ours. A pre-vote is granted on the same log condition for a future term.
  const bool can_vote = vote_ == m.from() || (vote_ == kNone && leader_ == kNone) || (pre && m.term() > term_);
  const bool grant = can_vote && (log_.IsUpToDate(m.index(), m.log_term()) || KSIM_MUTATED(config_, kVoteForStaleLog));
  Message r;
  r.set_type(pre ? MSG_PRE_VOTE_RESP : MSG_VOTE_RESP);
  r.set_to(m.from());
  r.set_reject(!grant);
  // A granted pre-vote answers with the requested term; a rejection with ours.
  r.set_term(pre && grant ? m.term() : term_);
  if (grant && !pre) {
    election_elapsed_ = 0;
    vote_ = m.from();
  }
  outbox_.push_back(r);
  outbox_.back().set_from(id_);
}

void Raft::StepCandidate(const Message& m) {
  switch (m.type()) {
    case MSG_APP:
    case MSG_HEARTBEAT:
    case MSG_SNAP:
      // §5.2: a candidate that hears from a leader of its term steps back.
      BecomeFollower(m.term(), m.from());
      StepFollower(m);
      break;
    case MSG_PRE_VOTE_RESP:
    case MSG_VOTE_RESP: {
      const bool mine = (role_ == Role::kPreCandidate) == (m.type() == MSG_PRE_VOTE_RESP);
      if (!mine) break;
      const int result = Poll(m.from(), !m.reject());
      if (result > 0) {
        if (role_ == Role::kPreCandidate) {
          Hup(/*transfer=*/true);  // a real election now (skips the pre-vote)
        } else {
          BecomeLeader();
        }
      } else if (result < 0) {
        BecomeFollower(term_, kNone);
      }
      break;
    }
    case MSG_TIMEOUT_NOW:
      break;  // only a follower acts on it
    default:
      break;
  }
}

void Raft::StepFollower(const Message& m) {
  switch (m.type()) {
    case MSG_APP:
      election_elapsed_ = 0;
      leader_ = m.from();
      HandleAppend(m);
      break;
    case MSG_HEARTBEAT:
      election_elapsed_ = 0;
      leader_ = m.from();
      HandleHeartbeat(m);
      break;
    case MSG_SNAP:
      election_elapsed_ = 0;
      leader_ = m.from();
      HandleSnapshot(m);
      break;
    case MSG_TIMEOUT_NOW:
      // Leader transfer: campaign at once, bypassing pre-vote and leases.
      if (Promotable()) Hup(/*transfer=*/true);
      break;
    case MSG_READ_INDEX_RESP:
      read_states_.push_back(ReadState{m.index(), m.context()});
      break;
    default:
      break;
  }
}

void Raft::HandleAppend(const Message& m) {
  Message r;
  r.set_type(MSG_APP_RESP);
  r.set_to(m.from());
  if (m.index() < log_.committed()) {
    // Already committed here: acknowledge what we have.
    r.set_index(log_.committed());
    Send(std::move(r));
    return;
  }
  std::vector<Entry> ents(m.entries().begin(), m.entries().end());
  if (auto last = log_.MaybeAppend(m.index(), m.log_term(), m.commit(), std::move(ents))) {
    r.set_index(*last);
  } else {
    // §5.3: reject; hint our last index so the leader backs off quickly.
    r.set_index(m.index());
    r.set_reject(true);
    r.set_reject_hint(std::min(m.index(), log_.last_index()));
  }
  Send(std::move(r));
}

void Raft::HandleHeartbeat(const Message& m) {
  log_.CommitTo(std::min(m.commit(), log_.last_index()));
  Message r;
  r.set_type(MSG_HEARTBEAT_RESP);
  r.set_to(m.from());
  r.set_context(m.context());
  Send(std::move(r));
}

void Raft::HandleSnapshot(const Message& m) {
  const SnapshotMetadata& meta = m.snapshot().metadata();
  if (meta.index() <= log_.committed()) {
    incoming_snapshot_.reset();
    Message r;
    r.set_type(MSG_APP_RESP);
    r.set_to(m.from());
    r.set_index(log_.committed());
    Send(std::move(r));
    return;
  }
  // Figure 13: offset 0 starts a new image; any other chunk must continue the one being
  // assembled, from the same leader and term, exactly where it ends.
  if (m.snapshot_offset() == 0) {
    incoming_snapshot_.emplace();
    *incoming_snapshot_->snapshot.mutable_metadata() = meta;
    incoming_snapshot_->from = m.from();
    incoming_snapshot_->term = m.term();
  }
  IncomingSnapshot* in = incoming_snapshot_ ? &*incoming_snapshot_ : nullptr;
  const bool same = in != nullptr && in->from == m.from() && in->term == m.term() &&
                    in->snapshot.metadata().index() == meta.index() && in->snapshot.metadata().term() == meta.term();
  const uint64_t held = same ? in->snapshot.data().size() : 0;
  Message r;
  r.set_type(MSG_SNAP_RESP);
  r.set_to(m.from());
  r.set_index(meta.index());
  if (!same || held != m.snapshot_offset() || held + m.snapshot().data().size() > config_.max_snapshot_bytes) {
    if (same && held + m.snapshot().data().size() > config_.max_snapshot_bytes) incoming_snapshot_.reset();
    r.set_reject(true);  // the leader resends from the offset we hold
    r.set_snapshot_offset(incoming_snapshot_ ? held : 0);
    Send(std::move(r));
    return;
  }
  in->snapshot.mutable_data()->append(m.snapshot().data());
  if (!m.snapshot_done()) {
    r.set_snapshot_offset(in->snapshot.data().size());
    Send(std::move(r));
    return;
  }
  Snapshot whole = std::move(in->snapshot);
  incoming_snapshot_.reset();
  InstallSnapshot(std::move(whole), m.from());
}

void Raft::InstallSnapshot(Snapshot snapshot, uint64_t to) {
  const SnapshotMetadata& meta = snapshot.metadata();
  Message r;
  r.set_type(MSG_APP_RESP);
  r.set_to(to);
  if (log_.MatchTerm(meta.index(), meta.term())) {
    // We already hold the snapshot's last entry: keep the log, just commit (§7: "if an
    // existing log entry has the same index and term ... retain log entries following it").
    log_.CommitTo(meta.index());
  } else {
    log_.InstallSnapshot(meta);
    voters_.clear();
    for (uint64_t v : meta.conf_state().voters()) voters_.insert(v);
    stored_snapshot_ = std::make_shared<const Snapshot>(std::move(snapshot));
    pending_snapshot_ = stored_snapshot_;
  }
  r.set_index(log_.last_index());
  Send(std::move(r));
}

void Raft::HandleSnapshotAnswer(const Message& m, Progress& p) {
  if (p.state != Progress::kSnapshot || !p.snapshot || m.index() != p.snapshot->metadata().index()) return;
  p.snapshot_wait = 0;
  const uint64_t size = p.snapshot->data().size();
  if (m.reject()) {
    // A chunk was lost or came out of order: go back to what the follower holds.
    p.snapshot_sent = p.snapshot_acked = std::min(m.snapshot_offset(), size);
    p.snapshot_done_sent = false;
  } else {
    p.snapshot_acked = std::max(p.snapshot_acked, std::min(m.snapshot_offset(), p.snapshot_sent));
  }
  SendSnapshotChunks(m.from(), p);
}

void Raft::StepLeader(const Message& m) {
  auto it = progress_.find(m.from());
  if (it == progress_.end()) return;  // not a member (any more)
  Progress& p = it->second;
  if (IsResponse(m.type())) p.recent_active = true;
  switch (m.type()) {
    case MSG_APP_RESP: {
      if (m.reject()) {
        // §5.3: back off and retry. The hint skips a whole run of missing entries.
        if (p.state == Progress::kReplicate) {
          p.state = Progress::kProbe;
          p.inflight.clear();
        }
        const uint64_t next = std::max<uint64_t>(1, std::min(m.index(), m.reject_hint() + 1));
        if (next <= p.next) {
          p.next = std::max(next, p.match + 1);
          p.probe_sent = false;
          SendAppend(m.from());
        }
        break;
      }
      const bool advanced = m.index() > p.match;
      if (advanced) {
        p.match = m.index();
        p.next = std::max(p.next, m.index() + 1);
      }
      p.probe_sent = false;
      if (p.state == Progress::kSnapshot && p.match >= p.pending_snapshot) {
        p.state = Progress::kProbe;
        p.snapshot.reset();
      }
      if (p.state == Progress::kProbe && advanced) p.state = Progress::kReplicate;
      while (!p.inflight.empty() && p.inflight.front() <= m.index()) p.inflight.erase(p.inflight.begin());
      if (MaybeCommit()) {
        BroadcastAppend();
        if (!reads_before_commit_.empty() && CommittedEntryInCurrentTerm()) {
          auto waiting = std::move(reads_before_commit_);
          reads_before_commit_.clear();
          for (std::string& ctx : waiting) {
            auto from = reads_from_.find(ctx);
            const uint64_t requester = from == reads_from_.end() ? kNone : from->second;
            if (from != reads_from_.end()) reads_from_.erase(from);
            HandleReadIndexRequest(ctx, requester);
          }
        }
      } else if (advanced) {
        SendAppend(m.from(), /*send_if_empty=*/false);
      }
      if (lead_transferee_ == m.from() && p.match == log_.last_index()) {
        Message t;
        t.set_type(MSG_TIMEOUT_NOW);
        t.set_to(m.from());
        Send(std::move(t));
      }
      break;
    }
    case MSG_HEARTBEAT_RESP: {
      p.probe_sent = false;
      // The transport may have dropped a chunk or its answer (nothing retries by itself):
      // while the follower answers heartbeats but not chunks, resend from the last chunk
      // it acknowledged; after two election timeouts start over with the latest image.
      if (p.state == Progress::kSnapshot) {
        if (++p.snapshot_wait > 2 * config_.election_tick) {
          p.state = Progress::kProbe;
          p.snapshot.reset();
        } else if (p.snapshot_wait % kSnapshotResendHeartbeats == 0) {
          p.snapshot_sent = p.snapshot_acked;
          p.snapshot_done_sent = false;
        }
      }
      // A full pipeline whose answers were lost with a broken connection would block this
      // follower forever: the follower is alive, so start over from what it acknowledged.
      if (p.state == Progress::kReplicate && p.inflight.size() >= config_.max_inflight_messages) {
        p.state = Progress::kProbe;
        p.inflight.clear();
        p.next = p.match + 1;
      }
      if (p.match < log_.last_index()) SendAppend(m.from());
      if (!m.context().empty()) {
        for (PendingRead& r : pending_reads_) {
          if (r.context == m.context()) r.acks.insert(m.from());
        }
        ReleaseReads();
      }
      break;
    }
    case MSG_READ_INDEX:
      HandleReadIndexRequest(m.context(), m.from());
      break;
    case MSG_SNAP_RESP:
      HandleSnapshotAnswer(m, p);
      break;
    default:
      break;
  }
}

// --- Ready ------------------------------------------------------------------------------

bool Raft::HasReady() const {
  const HardState hs = CurrentHardState();
  const bool hs_changed =
      hs.term() != prev_hard_state_.term() || hs.vote() != prev_hard_state_.vote() || hs.commit() != prev_hard_state_.commit();
  return hs_changed || log_.HasUnstable() || pending_snapshot_ || log_.HasNextCommitted() || !outbox_.empty() ||
         !read_states_.empty();
}

Ready Raft::GetReady() {
  Ready rd;
  const HardState hs = CurrentHardState();
  if (hs.term() != prev_hard_state_.term() || hs.vote() != prev_hard_state_.vote() ||
      hs.commit() != prev_hard_state_.commit()) {
    rd.hard_state = hs;
  }
  rd.entries = log_.UnstableEntries();
  if (pending_snapshot_) rd.snapshot = *pending_snapshot_;
  rd.committed_entries = log_.NextCommittedEntries(1024);
  rd.messages = std::move(outbox_);
  outbox_.clear();
  rd.read_states = std::move(read_states_);
  read_states_.clear();
  return rd;
}

void Raft::Advance(const Ready& rd) {
  if (rd.hard_state) prev_hard_state_ = *rd.hard_state;
  if (rd.snapshot) pending_snapshot_.reset();
  if (!rd.entries.empty()) {
    const uint64_t last = rd.entries.back()->index();
    log_.StableTo(last);
    if (role_ == Role::kLeader) {
      // The leader's own copy counts toward a quorum only once it is durable.
      Progress& self = progress_[id_];
      self.match = std::max(self.match, last);
      self.next = self.match + 1;
      if (MaybeCommit()) BroadcastAppend();
    }
  }
  if (!rd.committed_entries.empty()) log_.AppliedTo(rd.committed_entries.back()->index());
  if (config_.max_cached_entry_bytes != SIZE_MAX) log_.ShrinkCache(config_.max_cached_entry_bytes);
}

}  // namespace ksim::raft
