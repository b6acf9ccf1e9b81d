#include "cluster/demo/gossip_counter.h"

#include <fmt/format.h>

#include <algorithm>

#include "cluster/demo/demo.pb.h"
#include "cluster/env/wire.h"
#include "cluster/storage/record_log.h"

namespace ksim::demo {

GossipCounterNode::GossipCounterNode(Env& env, GossipCounterOptions options)
    : env_(env), options_(std::move(options)) {}

GossipCounterNode::~GossipCounterNode() {
  if (increment_timer_) env_.clock->Cancel(increment_timer_);
  if (gossip_timer_) env_.clock->Cancel(gossip_timer_);
  for (auto& conn : inbound_) conn->Close();
}

void GossipCounterNode::Start() {
  Recover();
  Status s = env_.transport->Listen(options_.listen_port, [this](std::shared_ptr<Connection> conn) {
    ConnectionHandlers handlers;
    Connection* raw = conn.get();
    handlers.on_frame = [this](std::string_view frame) { OnFrame(frame); };
    handlers.on_closed = [this, raw](const Status&) {
      inbound_.erase(std::remove_if(inbound_.begin(), inbound_.end(),
                                    [raw](const std::shared_ptr<Connection>& c) { return c.get() == raw; }),
                     inbound_.end());
    };
    conn->SetHandlers(std::move(handlers));
    inbound_.push_back(std::move(conn));
  });
  if (!s.ok()) env_.log->Log(LogLevel::kError, "counter", "listen failed: " + s.ToString());
  for (const auto& [peer, address] : options_.peers) {
    // Replies are not expected on outbound links: gossip flows one way per connection.
    links_.push_back(std::make_unique<PeerLink>(env_, address, PeerLinkOptions{}, nullptr));
    links_.back()->Start();
  }
  ScheduleIncrement();
  ScheduleGossip();
}

void GossipCounterNode::Recover() {
  std::string data;
  Status s = env_.disk->Read(LogPath(), &data);
  if (!s.ok() && !s.Is(Status::Code::kNotFound)) {
    env_.log->Log(LogLevel::kError, "counter", "recovery read failed: " + s.ToString());
  }
  DecodedRecords records = DecodeRecords(data);
  for (const std::string& payload : records.payloads) {
    CounterRecord record;
    if (record.ParseFromString(payload)) durable_ = std::max<uint64_t>(durable_, record.value());
  }
  written_ = durable_;
  log_bytes_ = records.valid_bytes;
  stats_.recovered_value = durable_;
  stats_.recovered_torn_tail = records.torn_tail;
  if (records.torn_tail) {
    // Later appends must follow a valid record, so the valid part is written anew — never
    // in place (a power failure before the fsync could tear the rewrite and lose durable
    // records): tmp, fsync, rename, fsync dir. Increments wait until it is done.
    compacting_ = true;
    const std::string tmp = options_.data_dir + "/log.tmp";
    if (!env_.disk->WriteFile(tmp, std::string_view(data).substr(0, records.valid_bytes)).ok()) return;
    env_.disk->Sync(tmp, [this, tmp, size = records.valid_bytes](Status st) {
      if (!st.ok() || !env_.disk->Rename(tmp, LogPath()).ok()) return;  // stays blocked: fail-stop
      env_.disk->SyncDir(options_.data_dir, [this, size](Status) {
        log_bytes_ = size;
        compacting_ = false;
      });
    });
  }
  env_.log->Log(LogLevel::kInfo, "counter",
                fmt::format("recovered value {} ({} records{})", durable_, records.payloads.size(),
                            records.torn_tail ? ", torn tail dropped" : ""));
}

Nanos GossipCounterNode::Jitter(Nanos base) {
  // +-10% so nodes do not act in lockstep; drawn from the process's seeded Random.
  const int64_t spread = base.count() / 10;
  return base + Nanos(env_.random->Range(-spread, spread));
}

void GossipCounterNode::ScheduleIncrement() {
  increment_timer_ = env_.clock->Schedule(Jitter(options_.increment_interval), [this] {
    increment_timer_ = 0;
    Increment();
    ScheduleIncrement();
  });
}

void GossipCounterNode::Increment() {
  if (!incrementing_ || sync_in_flight_ || compacting_) return;
  const uint64_t next = written_ + 1;
  CounterRecord record;
  record.set_value(next);
  std::string framed;
  AppendRecord(SerializeDeterministic(record), &framed);
  Status s = env_.disk->Append(LogPath(), framed);
  if (!s.ok()) {
    ++stats_.write_errors;
    env_.log->Log(LogLevel::kWarning, "counter", "append failed: " + s.ToString());
    return;
  }
  written_ = next;
  log_bytes_ += framed.size();
  sync_in_flight_ = true;
  const bool first_record = next == 1 || log_bytes_ == framed.size();
  env_.disk->Sync(LogPath(), [this, next, first_record](Status st) {
    if (!st.ok()) {
      sync_in_flight_ = false;
      ++stats_.write_errors;
      return;
    }
    auto made_durable = [this, next] {
      sync_in_flight_ = false;
      durable_ = std::max(durable_, next);
      ++stats_.increments_durable;
      MaybeCompact();
    };
    if (!first_record) {
      made_durable();
      return;
    }
    // A new file's name is durable only once its directory is synced.
    env_.disk->SyncDir(options_.data_dir, [made_durable](Status) { made_durable(); });
  });
}

void GossipCounterNode::MaybeCompact() {
  if (log_bytes_ < options_.compact_after_bytes || compacting_) return;
  compacting_ = true;
  const std::string tmp = options_.data_dir + "/log.tmp";
  CounterRecord record;
  record.set_value(durable_);
  std::string framed;
  AppendRecord(SerializeDeterministic(record), &framed);
  if (!env_.disk->WriteFile(tmp, framed).ok()) {
    compacting_ = false;
    return;
  }
  // write tmp, fsync it, rename over the log, fsync the directory: at every instant a
  // power failure leaves either the old log or the new one.
  env_.disk->Sync(tmp, [this, tmp, size = framed.size()](Status st) {
    if (!st.ok() || !env_.disk->Rename(tmp, LogPath()).ok()) {
      compacting_ = false;
      return;
    }
    env_.disk->SyncDir(options_.data_dir, [this, size](Status) {
      compacting_ = false;
      log_bytes_ = size;
      ++stats_.compactions;
    });
  });
}

void GossipCounterNode::ScheduleGossip() {
  gossip_timer_ = env_.clock->Schedule(Jitter(options_.gossip_interval), [this] {
    gossip_timer_ = 0;
    Gossip();
    ScheduleGossip();
  });
}

void GossipCounterNode::Gossip() {
  ksim::demo::Gossip msg;
  msg.set_from(options_.name);
  for (const auto& [node, value] : Known()) {
    CounterEntry* e = msg.add_counters();
    e->set_node(node);
    e->set_value(value);
  }
  const std::string frame = SerializeDeterministic(msg);
  for (auto& link : links_) {
    if (link->Send(frame).ok()) ++stats_.gossip_sent;
  }
}

void GossipCounterNode::OnFrame(std::string_view frame) {
  ksim::demo::Gossip msg;
  if (!ParseMessage(frame, &msg, "gossip").ok()) {
    ++stats_.malformed_frames;
    return;
  }
  ++stats_.gossip_received;
  for (const CounterEntry& e : msg.counters()) {
    if (e.node() == options_.name) {
      if (e.value() > durable_) {
        violations_.push_back(fmt::format("{} heard {} for itself from {} but has only {} durable", options_.name,
                                          e.value(), msg.from(), durable_));
      }
      continue;
    }
    uint64_t& v = known_[e.node()];
    v = std::max<uint64_t>(v, e.value());
  }
}

std::map<std::string, uint64_t> GossipCounterNode::Known() const {
  std::map<std::string, uint64_t> all = known_;
  all[options_.name] = durable_;
  return all;
}

}  // namespace ksim::demo
