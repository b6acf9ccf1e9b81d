#include "cluster/store/server/store_server.h"

#include <google/protobuf/arena.h>

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <utility>

#include "cluster/env/wire.h"

namespace ksim::storeserver {

StoreServer::StoreServer(Env& env, StoreServerOptions options)
    : env_(env), options_(std::move(options)), storage_(env.disk, options_.data_dir), store_(options_.store) {
  assert(options_.members.count(options_.id));
}

StoreServer::~StoreServer() {
  if (tick_timer_) env_.clock->Cancel(tick_timer_);
  for (auto& [key, conn] : conns_) conn->Close();
}

void StoreServer::Start() {
  raft::Restore restore;
  if (Status s = storage_.Load(&restore); !s.ok()) {
    env_.log->Log(LogLevel::kError, "store", "cannot load raft state: " + s.ToString());
    failed_ = true;
    return;
  }
  if (restore.snapshot.metadata().index() > 0) {
    RestoreSnapshot(restore.snapshot.data());
    last_snapshot_index_ = restore.snapshot.metadata().index();
  }
  raft::Config cfg;
  cfg.id = options_.id;
  for (const auto& [id, addr] : options_.members) cfg.peers.push_back(id);
  cfg.election_tick = options_.election_ticks;
  cfg.heartbeat_tick = options_.heartbeat_ticks;
  cfg.max_entries_per_message = options_.max_entries_per_message;
  cfg.max_bytes_per_message = options_.max_bytes_per_message;
  cfg.max_snapshot_chunk_bytes = options_.snapshot_chunk_bytes;
  // One entry, wrapped in an append and a Frame, must fit in a transport frame.
  cfg.max_entry_bytes = kMaxFrameBytes / 2;
  cfg.max_cached_entry_bytes = options_.raft_entry_cache_bytes;
  cfg.log_reader = &storage_;
#ifdef KSIM_MUTATIONS
  cfg.mutation = options_.mutation;
#endif
  raft_ = std::make_unique<raft::Raft>(cfg, env_.random, restore);
  env_.log->Log(LogLevel::kInfo, "store",
                fmt::format("member {} starting: term {} log [{}, {}] commit {}", options_.id, raft_->term(),
                            raft_->log().first_index(), raft_->log().last_index(), raft_->log().committed()));

  for (const auto& [id, addr] : options_.members) {
    if (id == options_.id) continue;
    peers_[id] = std::make_unique<PeerLink>(env_, addr, PeerLinkOptions{}, nullptr);
    peers_[id]->Start();
  }
  Status s = env_.transport->Listen(options_.port, [this](std::shared_ptr<Connection> conn) {
    const uint64_t key = next_conn_++;
    ConnectionHandlers h;
    h.on_frame = [this, key](std::string_view frame) { OnFrame(key, frame); };
    h.on_closed = [this, key](const Status&) { conns_.erase(key); };
    conn->SetHandlers(std::move(h));
    conns_[key] = std::move(conn);
  });
  if (!s.ok()) env_.log->Log(LogLevel::kError, "store", "listen failed: " + s.ToString());
  tick_timer_ = env_.clock->Schedule(options_.tick, [this] { OnTick(); });
  Pump();  // committed entries from the WAL are replayed into the store
}

// --- the Ready pipeline -------------------------------------------------------------------

void StoreServer::Input(std::function<void()> fn, size_t bytes) {
  if (failed_ || !raft_) return;
  if (saving_) {
    // The Raft core must not change between GetReady and Advance: hold inputs.
    if (deferred_.size() >= kMaxDeferredInputs || deferred_bytes_ + bytes > kMaxDeferredBytes) {
      ++stats_.dropped_inputs;  // Raft tolerates lost messages; clients retry
      return;
    }
    deferred_bytes_ += bytes;
    deferred_.push_back(Deferred{std::move(fn), bytes});
    return;
  }
  fn();
  FlushBatch();
  Pump();
}

void StoreServer::FlushBatch() {
  if (batch_.commands_size() == 0) return;
  ReplicatedBatch batch;
  batch.Swap(&batch_);
  batch_bytes_ = 0;
  Status s = raft_->Propose(SerializeDeterministic(batch));
  if (s.ok()) return;
  for (const ReplicatedCommand& rc : batch.commands()) {
    auto it = pending_writes_.find({rc.client_id(), rc.seq()});
    if (it == pending_writes_.end()) continue;
    ClientResponse r;
    r.set_client_id(rc.client_id());
    r.set_seq(rc.seq());
    // Too large for one entry is final; anything else (not the leader, too many
    // uncommitted entries) may pass on a retry.
    r.set_code(s.Is(Status::Code::kInvalidArgument) ? ClientResponse::INVALID : ClientResponse::UNAVAILABLE);
    r.set_message(s.message());
    Respond(it->second, std::move(r));
    pending_writes_.erase(it);
  }
}

Status StoreServer::ProposeOne(const store::Command& command) {
  ReplicatedBatch batch;
  batch.add_commands()->set_command(SerializeDeterministic(command));  // client_id 0: the leader's own
  return raft_->Propose(SerializeDeterministic(batch));
}

void StoreServer::Pump() {
  if (failed_ || saving_ || !raft_->HasReady()) return;
  saving_ = true;
  auto rd = std::make_shared<raft::Ready>(raft_->GetReady());
  if (KSIM_MUTATED(options_, kAckBeforeFsync)) {
    for (raft::Message& m : rd->messages) SendRaft(m);
    rd->messages.clear();
  }
  storage_.Save(*rd, raft_->hard_state(), [this, rd](Status s) {
    if (!s.ok()) {
      // A failed fsync leaves the disk's state unknown: stop rather than risk
      // acknowledging something that is not durable (fail-stop, as etcd does).
      env_.log->Log(LogLevel::kError, "store", "WAL write failed, member stops: " + s.ToString());
      failed_ = true;
      return;
    }
    AfterReady(*rd);
  });
}

void StoreServer::AfterReady(raft::Ready& rd) {
  for (raft::Message& m : rd.messages) SendRaft(m);
  if (rd.snapshot) {
    if (!KSIM_MUTATED(options_, kSkipSnapshotRestore)) RestoreSnapshot(rd.snapshot->data());
    last_snapshot_index_ = rd.snapshot->metadata().index();
    ++stats_.snapshots_installed;
  }
  for (const raft::EntryRef& e : rd.committed_entries) ApplyEntry(*e);
  for (const raft::ReadState& rs : rd.read_states) {
    auto it = pending_reads_.find(rs.context);
    if (it != pending_reads_.end()) it->second.index = rs.index;
  }
  raft_->Advance(rd);
  saving_ = false;
  // Messages that could not be sent: Raft resends them (from what each peer acknowledged).
  for (uint64_t peer : std::exchange(unreachable_, {})) raft_->ReportUnreachable(peer);
  ServeReads();
  DrainWatchers();
  TrackLeadership();
  MaybeSnapshot();
  // Inputs that arrived meanwhile, in order; each may produce more work.
  std::deque<Deferred> held = std::move(deferred_);
  deferred_.clear();
  deferred_bytes_ = 0;
  for (Deferred& d : held) {
    if (saving_) {
      deferred_bytes_ += d.bytes;
      deferred_.push_back(std::move(d));
    } else {
      d.fn();
    }
  }
  FlushBatch();
  Pump();
}

void StoreServer::OnTick() {
  tick_timer_ = env_.clock->Schedule(options_.tick, [this] { OnTick(); });
  Input([this] {
    raft_->Tick();
    TrackLeadership();
    // Reads whose index never came (leadership changed) are refused after a while.
    const Nanos now = env_.clock->MonotonicNow();
    for (auto it = pending_reads_.begin(); it != pending_reads_.end();) {
      if (it->second.deadline <= now) {
        Respond(it->second.conn, Reply(it->second.request, ClientResponse::UNAVAILABLE, "read index timed out"));
        it = pending_reads_.erase(it);
      } else {
        ++it;
      }
    }
    // Lease expiry is the leader's decision, replicated as a command.
    if (raft_->role() != raft::Role::kLeader) return;
    const int64_t retain = options_.auto_compact_retain_revisions;
    if (retain > 0 && store_.revision() - store_.compacted_revision() > 2 * retain &&
        compaction_proposed_ <= store_.compacted_revision()) {
      store::Command compact;
      compact.mutable_compaction()->set_revision(store_.revision() - retain);
      if (ProposeOne(compact).ok()) compaction_proposed_ = store_.revision() - retain;
    }
    for (const auto& [lease, deadline] : lease_deadlines_) {
      if (deadline > now || lease_revoke_proposed_[lease]) continue;
      store::Command revoke;
      revoke.mutable_lease_revoke()->set_id(lease);
      if (ProposeOne(revoke).ok()) {
        lease_revoke_proposed_[lease] = true;
        ++stats_.lease_expiries;
      }
    }
  });
}

void StoreServer::TrackLeadership() {
  if (raft_->role() != raft::Role::kLeader) {
    if (led_term_ != 0) {
      // Leadership lost: pending writes may or may not commit; clients retry with the
      // same (client, seq) and the session table keeps that safe.
      for (const auto& [key, conn] : pending_writes_) {
        ClientResponse r;
        r.set_client_id(key.first);
        r.set_seq(key.second);
        r.set_code(ClientResponse::NOT_LEADER);
        r.set_message("leadership lost; outcome unknown, retry");
        r.set_leader_address(LeaderAddress());
        Respond(conn, std::move(r));
      }
      pending_writes_.clear();
      lease_deadlines_.clear();
      lease_revoke_proposed_.clear();
    }
    led_term_ = 0;
    return;
  }
  const Nanos now = env_.clock->MonotonicNow();
  const bool new_term = led_term_ != raft_->term();
  led_term_ = raft_->term();
  // Every lease gets a full TTL from when this leader first sees it: a new leader never
  // expires a lease the old one just renewed.
  std::map<int64_t, Nanos> next;
  const store::LeaseLeasesResponse leases = store_.Leases();  // a named copy: the loop needs it alive
  for (const store::LeaseStatus& l : leases.leases()) {
    auto it = lease_deadlines_.find(l.id());
    next[l.id()] = (it == lease_deadlines_.end() || new_term) ? now + Seconds(l.granted_ttl_seconds()) : it->second;
  }
  lease_deadlines_ = std::move(next);
  for (auto it = lease_revoke_proposed_.begin(); it != lease_revoke_proposed_.end();) {
    it = lease_deadlines_.count(it->first) ? std::next(it) : lease_revoke_proposed_.erase(it);
  }
}

// --- messages -----------------------------------------------------------------------------

void StoreServer::SendRaft(raft::Message& m) {
  auto it = peers_.find(m.to());
  if (it == peers_.end()) return;
  const uint64_t to = m.to();
  if (m.type() == raft::MSG_SNAP) ++stats_.snapshot_chunks_sent;
  Frame f;
  f.mutable_raft()->Swap(&m);  // the Ready is done with it
  Status s = it->second->Send(SerializeDeterministic(f));
  if (s.ok()) return;
  // Not dropped in silence: Raft is told after Advance (it must not change before) and
  // resends from what the peer acknowledged.
  ++stats_.raft_send_errors;
  if (!s.Is(Status::Code::kUnavailable)) {
    env_.log->Log(LogLevel::kWarning, "store", fmt::format("raft message to {} not sent: {}", to, s.ToString()));
  }
  if (std::find(unreachable_.begin(), unreachable_.end(), to) == unreachable_.end()) unreachable_.push_back(to);
}

void StoreServer::OnFrame(uint64_t conn, std::string_view frame) {
  Frame f;
  if (!ParseMessage(frame, &f, "store").ok()) {
    env_.log->Log(LogLevel::kWarning, "store", "dropping a malformed frame");
    return;
  }
  if (f.has_raft()) {
    auto m = std::make_shared<raft::Message>();
    m->Swap(f.mutable_raft());  // no copy of the entries
    Input([this, m] { (void)raft_->Step(*m); }, frame.size());
  } else if (f.has_request()) {
    auto req = std::make_shared<ClientRequest>();
    req->Swap(f.mutable_request());
    if (saving_ && (deferred_.size() >= kMaxDeferredInputs || deferred_bytes_ + frame.size() > kMaxDeferredBytes)) {
      Respond(conn, Reply(*req, ClientResponse::UNAVAILABLE, "member overloaded"));
      return;
    }
    Input([this, conn, req] { HandleRequest(conn, *req); }, frame.size());
  }
}

void StoreServer::Respond(uint64_t conn, const ClientResponse& response) {
  // Frame{response}, written around the response's own encoding: moving an answer built
  // on an arena into a Frame would copy it.
  std::string frame;
  if (!AppendMessageField(Frame::kResponseFieldNumber, response, &frame)) return;
  if (frame.size() > kMaxFrameBytes) return RespondTooLarge(conn, response, frame.size());
  SendFrame(conn, std::move(frame));
}

void StoreServer::RespondTooLarge(uint64_t conn, const ClientResponse& response, size_t bytes) {
  ++stats_.replies_too_large;
  ClientResponse r;
  r.set_client_id(response.client_id());
  r.set_seq(response.seq());
  r.set_code(ClientResponse::INVALID);
  r.set_message(fmt::format("reply of {} bytes exceeds the frame limit of {} bytes; read fewer keys (limit, max_bytes)",
                            bytes, kMaxFrameBytes));
  Respond(conn, r);
}

void StoreServer::RespondWithRemembered(uint64_t conn, ClientResponse& reply, std::string_view remembered) {
  // The bytes Respond would send for `reply` with `write` set, the answer's encoding taken
  // from Remember instead of serialized a second time. With the result oneof cleared,
  // `write` (10) numbers above every field left, so appending it after them is the order
  // a deterministic serialization writes.
  reply.clear_result();
  std::string body = SerializeDeterministic(reply);
  AppendLengthPrefix(ClientResponse::kWriteFieldNumber, remembered.size(), &body);
  body += remembered;
  std::string frame;
  AppendLengthPrefix(Frame::kResponseFieldNumber, body.size(), &frame);
  frame += body;
  if (frame.size() > kMaxFrameBytes) return RespondTooLarge(conn, reply, frame.size());
  SendFrame(conn, std::move(frame));
}

void StoreServer::SendFrame(uint64_t conn, std::string frame) {
  auto it = conns_.find(conn);
  if (it == conns_.end()) return;  // gone: it retries elsewhere
  (void)it->second->Send(std::move(frame));  // callers keep frames within kMaxFrameBytes
}

ClientResponse StoreServer::Reply(const ClientRequest& req, ClientResponse::Code code, std::string message) const {
  ClientResponse r;
  r.set_client_id(req.client_id());
  r.set_seq(req.seq());
  r.set_code(code);
  r.set_message(std::move(message));
  if (code == ClientResponse::NOT_LEADER) r.set_leader_address(LeaderAddress());
  return r;
}

std::string StoreServer::LeaderAddress() const {
  auto it = options_.members.find(raft_ ? raft_->leader() : raft::kNone);
  return it == options_.members.end() ? "" : it->second;
}

void StoreServer::HandleRequest(uint64_t conn, ClientRequest& req) {
  switch (req.op_case()) {
    case ClientRequest::kWrite: return HandleWrite(conn, req);
    case ClientRequest::kRead: return HandleRead(conn, req);
    case ClientRequest::kWatch: return HandleWatch(conn, req);
    case ClientRequest::kKeepAlive: return HandleKeepAlive(conn, req);
    case ClientRequest::OP_NOT_SET: return Respond(conn, Reply(req, ClientResponse::INVALID, "request has no op"));
  }
}

void StoreServer::HandleWrite(uint64_t conn, ClientRequest& req) {
  if (req.client_id() == 0 || req.seq() == 0) {
    return Respond(conn, Reply(req, ClientResponse::INVALID, "writes need a client_id and seq"));
  }
  if (raft_->role() != raft::Role::kLeader) {
    return Respond(conn, Reply(req, ClientResponse::NOT_LEADER, "not the leader"));
  }
  auto sess = sessions_.find(req.client_id());
  if (sess != sessions_.end() && !KSIM_MUTATED(options_, kNoWriteDeduplication)) {
    auto cached = sess->second.responses.find(req.seq());
    if (cached != sess->second.responses.end()) {
      ++stats_.duplicate_writes;
      ClientResponse r = Reply(req, ClientResponse::OK, "");
      (void)r.mutable_write()->ParseFromString(cached->second);  // written by Remember
      return Respond(conn, std::move(r));
    }
  }
  const auto key = std::make_pair(req.client_id(), req.seq());
  if (pending_writes_.count(key)) {
    pending_writes_[key] = conn;  // a retry of a proposal in flight: answer the new connection
    return;
  }
  // A batch is bounded by bytes too: a write that would take it past max_batch_bytes
  // goes in the next entry (a batch always takes one write, however large).
  if (batch_.commands_size() > 0 && batch_bytes_ + req.write().size() > options_.max_batch_bytes) FlushBatch();
  ReplicatedCommand rc;
  rc.set_client_id(req.client_id());
  rc.set_seq(req.seq());
  rc.set_first_unacked_seq(req.first_unacked_seq());
  rc.mutable_command()->swap(*req.mutable_write());  // still encoded; the request is done with it
  // Gathered and proposed as one entry when this input is done (FlushBatch).
  batch_bytes_ += rc.command().size();
  *batch_.add_commands() = std::move(rc);
  ++stats_.proposals;
  pending_writes_[key] = conn;
  if (batch_.commands_size() >= kMaxBatchCommands || batch_bytes_ >= options_.max_batch_bytes) FlushBatch();
}

void StoreServer::HandleRead(uint64_t conn, const ClientRequest& req) {
  ++stats_.reads;
  if (req.read().serializable() || KSIM_MUTATED(options_, kReadWithoutReadIndex)) {
    store::RangeResult r = store_.Range(req.read().range());
    ClientResponse resp = Reply(req, r.ok() ? ClientResponse::OK : ClientResponse::INVALID, r.status.message());
    *resp.mutable_read() = r.response;
    return Respond(conn, std::move(resp));
  }
  const std::string ctx = fmt::format("{}/{}", options_.id, next_read_++);
  Status s = raft_->ReadIndex(ctx);
  if (!s.ok()) return Respond(conn, Reply(req, ClientResponse::UNAVAILABLE, s.message()));
  PendingRead p;
  p.conn = conn;
  p.request = req;
  p.deadline = env_.clock->MonotonicNow() + options_.read_timeout;
  pending_reads_[ctx] = std::move(p);
}

void StoreServer::ServeReads() {
  for (auto it = pending_reads_.begin(); it != pending_reads_.end();) {
    const PendingRead& p = it->second;
    if (p.index == 0 || raft_->log().applied() < p.index) {
      ++it;
      continue;
    }
    store::RangeResult r = store_.Range(p.request.read().range());
    ClientResponse resp = Reply(p.request, r.ok() ? ClientResponse::OK : ClientResponse::INVALID, r.status.message());
    *resp.mutable_read() = r.response;
    Respond(p.conn, std::move(resp));
    it = pending_reads_.erase(it);
  }
}

void StoreServer::HandleWatch(uint64_t conn, const ClientRequest& req) {
  const WatchRequest& w = req.watch();
  if (w.cancel_watch_id() != 0) {
    (void)store_.CancelWatch(w.cancel_watch_id());
    watches_.erase(w.cancel_watch_id());
    ClientResponse r = Reply(req, ClientResponse::OK, "");
    r.mutable_watch()->set_watch_id(w.cancel_watch_id());
    r.mutable_watch()->set_canceled(true);
    return Respond(conn, std::move(r));
  }
  store::WatchOptions o;
  o.key = w.key();
  o.range_end = w.range_end();
  o.start_revision = w.start_revision();
  if (KSIM_MUTATED(options_, kWatchResumesPastGap) && o.start_revision > 0) ++o.start_revision;
  o.prev_kv = w.prev_kv();
  store::WatchCreated created = store_.Watch(o);
  ClientResponse r = Reply(req, created.status.ok() ? ClientResponse::OK : ClientResponse::INVALID,
                           created.status.message());
  r.mutable_watch()->set_watch_id(created.watch_id);
  r.mutable_watch()->set_created(created.status.ok());
  if (!created.status.ok()) {
    r.mutable_watch()->set_canceled(true);
    r.mutable_watch()->set_error(created.status.message());
    r.mutable_watch()->set_compact_revision(created.compact_revision);
  }
  Respond(conn, std::move(r));
  if (created.status.ok()) {
    watches_[created.watch_id] = WatchOwner{conn, req.client_id(), req.seq()};
    DrainWatchers();
  }
}

void StoreServer::DrainWatchers() {
  for (int64_t id : store_.ReadyWatchers()) {
    auto owner = watches_.find(id);
    if (owner == watches_.end() || !conns_.count(owner->second.conn)) {
      (void)store_.CancelWatch(id);  // its client is gone
      watches_.erase(id);
      continue;
    }
    // Bounded: each round hands out at most a few batches per watcher.
    for (int round = 0; round < 16; ++round) {
      store::WatchBatch batch = store_.TakeEvents(id);
      ClientResponse r;
      r.set_client_id(owner->second.client_id);
      r.set_seq(owner->second.seq);
      r.set_code(ClientResponse::OK);
      WatchResponse* w = r.mutable_watch();
      w->set_watch_id(id);
      // A batch holds up to thousands of events of up to a MiB or two each: it goes out
      // in responses of about max_watch_response_bytes, in order (one event always fits).
      size_t bytes = 0;
      for (store::Event& e : batch.events) {
        const size_t size = e.ByteSizeLong();
        if (w->events_size() > 0 && bytes + size > options_.max_watch_response_bytes) {
          Respond(owner->second.conn, r);
          w->clear_events();
          bytes = 0;
        }
        bytes += size;
        *w->add_events() = std::move(e);
      }
      w->set_canceled(batch.canceled);
      if (batch.canceled) {
        w->set_error(batch.status.message());
        w->set_compact_revision(batch.compact_revision);
      }
      if (w->events_size() > 0 || batch.canceled) Respond(owner->second.conn, r);
      if (batch.canceled) {
        watches_.erase(id);
        break;
      }
      if (!batch.more) break;
    }
  }
}

void StoreServer::HandleKeepAlive(uint64_t conn, const ClientRequest& req) {
  if (raft_->role() != raft::Role::kLeader) {
    return Respond(conn, Reply(req, ClientResponse::NOT_LEADER, "keep-alives go to the leader"));
  }
  ClientResponse r = Reply(req, ClientResponse::OK, "");
  const int64_t id = req.keep_alive().lease_id();
  r.mutable_keep_alive()->set_lease_id(id);
  const store::LeaseLeasesResponse leases = store_.Leases();
  for (const store::LeaseStatus& l : leases.leases()) {
    if (l.id() != id) continue;
    lease_deadlines_[id] = env_.clock->MonotonicNow() + Seconds(l.granted_ttl_seconds());
    r.mutable_keep_alive()->set_ttl_seconds(l.granted_ttl_seconds());
  }
  Respond(conn, std::move(r));
}

// --- applying -----------------------------------------------------------------------------

void StoreServer::ApplyEntry(const raft::Entry& e) {
  ++stats_.applied_entries;
  if (e.type() == raft::ENTRY_CONF_CHANGE) {
    raft::ConfChange cc;
    if (cc.ParseFromString(e.data())) raft_->ApplyConfChange(cc);
    return;
  }
  if (e.data().empty()) return;  // a new leader's empty entry
  // One arena for the batch: its commands are freed at once, not message by message.
  google::protobuf::Arena arena;
  ReplicatedBatch& batch = *google::protobuf::Arena::CreateMessage<ReplicatedBatch>(&arena);
  if (!batch.ParseFromString(e.data())) {
    // Every replica sees the same bytes and skips them alike.
    env_.log->Log(LogLevel::kError, "store", fmt::format("unparsable entry at index {}", e.index()));
    return;
  }
  std::vector<AppliedWrite> applied;
  applied.reserve(static_cast<size_t>(batch.commands_size()));
  for (const ReplicatedCommand& rc : batch.commands()) applied.push_back(ApplyCommand(rc, e.index(), &arena));
  if (apply_observer_) apply_observer_(e, applied);
}

StoreServer::AppliedWrite StoreServer::ApplyCommand(const ReplicatedCommand& rc, uint64_t index,
                                                    google::protobuf::Arena* arena) {
  const int64_t revision_before = store_.revision();
  // The answer is built on the batch's arena, in the frame that may carry it to the client.
  ClientResponse& reply = *google::protobuf::Arena::CreateMessage<ClientResponse>(arena);
  store::CommandResponse& response = *reply.mutable_write();
  bool forgotten = false;
  Session* session = nullptr;  // set when the response is to be remembered
  if (rc.client_id() == 0) {
    (void)store_.ApplyEncoded(rc.command(), arena, &response);  // the values move into the store
  } else {
    Session& s = sessions_[rc.client_id()];
    s.last_index = index;
    // The client has its answers below first_unacked_seq: forget them. Nothing below
    // floor_seq is kept (it only rises, and every rise erases what is below it).
    if (rc.first_unacked_seq() > s.floor_seq) {
      s.responses.erase(s.responses.begin(), s.responses.lower_bound(rc.first_unacked_seq()));
      s.floor_seq = rc.first_unacked_seq();
    }
    auto cached = KSIM_MUTATED(options_, kNoWriteDeduplication) ? s.responses.end() : s.responses.find(rc.seq());
    if (cached != s.responses.end()) {
      (void)response.ParseFromString(cached->second);  // a duplicate proposal of an applied write
      ++stats_.duplicate_writes;
    } else if (rc.seq() < s.floor_seq) {
      forgotten = true;  // applied before; never apply twice
    } else {
      (void)store_.ApplyEncoded(rc.command(), arena, &response);  // the values move into the store
      session = &s;
    }
  }
  const std::string* remembered = session != nullptr ? Remember(session, rc.seq(), response) : nullptr;
  auto pending = pending_writes_.find({rc.client_id(), rc.seq()});
  if (pending != pending_writes_.end()) {
    reply.set_client_id(rc.client_id());
    reply.set_seq(rc.seq());
    reply.set_code(forgotten ? ClientResponse::INVALID : ClientResponse::OK);
    if (forgotten) reply.set_message("write already applied and its answer forgotten");
    if (remembered != nullptr) {
      RespondWithRemembered(pending->second, reply, *remembered);
    } else {
      Respond(pending->second, reply);
    }
    pending_writes_.erase(pending);
  }
  if (sessions_.size() > options_.max_sessions) {
    // Evict the session idle longest (smallest last index): deterministic everywhere.
    auto victim = sessions_.begin();
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
      if (it->second.last_index < victim->second.last_index) victim = it;
    }
    sessions_.erase(victim);
  }
  return AppliedWrite{rc.client_id(), rc.seq(), store_.revision() != revision_before};
}

const std::string* StoreServer::Remember(Session* session, uint64_t seq, const store::CommandResponse& response) {
  auto [it, inserted] = session->responses.try_emplace(seq);
  (void)SerializeDeterministic(response, &it->second);
  const std::string* kept = &it->second;
  while (session->responses.size() > options_.max_responses_per_session) {
    const uint64_t smallest = session->responses.begin()->first;
    if (smallest == seq) kept = nullptr;
    session->responses.erase(session->responses.begin());
    session->floor_seq = std::max(session->floor_seq, smallest + 1);
  }
  return kept;
}

std::string StoreServer::SnapshotData() const {
  ServerSnapshot snap;
  snap.set_store(store_.Snapshot());
  for (const auto& [id, s] : sessions_) {  // std::map: ordered
    ClientSession* out = snap.add_sessions();
    out->set_client_id(id);
    out->set_last_index(s.last_index);
    out->set_floor_seq(s.floor_seq);
    out->mutable_responses()->insert(s.responses.begin(), s.responses.end());
  }
  return SerializeDeterministic(snap);
}

void StoreServer::RestoreSnapshot(const std::string& data) {
  ServerSnapshot snap;
  if (!snap.ParseFromString(data) || !store::Store::Restore(snap.store(), &store_).ok()) {
    env_.log->Log(LogLevel::kError, "store", "snapshot is corrupt; member stops");
    failed_ = true;
    return;
  }
  sessions_.clear();
  for (const ClientSession& in : snap.sessions()) {
    Session& s = sessions_[in.client_id()];
    s.last_index = in.last_index();
    s.floor_seq = in.floor_seq();
    s.responses.insert(in.responses().begin(), in.responses().end());
  }
}

void StoreServer::MaybeSnapshot() {
  const uint64_t applied = raft_->log().applied();
  if (applied < last_snapshot_index_ + options_.snapshot_every_entries) return;
  const std::string data = SnapshotData();
  if (!raft_->Compact(applied, data).ok()) return;
  last_snapshot_index_ = applied;
  ++stats_.snapshots_taken;
  const raft::RaftLog& log = raft_->log();
  raft::Snapshot snapshot;
  snapshot.mutable_metadata()->set_index(log.snapshot_index());
  snapshot.mutable_metadata()->set_term(log.snapshot_term());
  for (uint64_t v : raft_->voters()) snapshot.mutable_metadata()->mutable_conf_state()->add_voters(v);
  snapshot.set_data(data);
  // The entries after the snapshot are not applied yet, so none of them was evicted from
  // the entry cache: Slice (memory only) has them all.
  storage_.Compact(snapshot, raft_->hard_state(), log.Slice(log.first_index(), log.last_index() + 1, SIZE_MAX),
                   [this](Status s) {
                     if (!s.ok()) {
                       env_.log->Log(LogLevel::kError, "store", "snapshot write failed: " + s.ToString());
                       failed_ = true;
                     }
                   });
}

}  // namespace ksim::storeserver
