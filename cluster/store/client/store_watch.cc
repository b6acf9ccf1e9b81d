#include "cluster/store/client/store_watch.h"

#include <cassert>

#include "cluster/env/wire.h"
#include "cluster/store/server/server.pb.h"

namespace ksim::storeclient {

using storeserver::ClientRequest;
using storeserver::ClientResponse;

StoreWatch::StoreWatch(Env& env, std::vector<Address> members, std::string key, std::string range_end,
                       int64_t start_revision, EventsFn on_events, CompactedFn on_compacted, StoreWatchOptions options)
    : env_(env),
      members_(std::move(members)),
      key_(std::move(key)),
      range_end_(std::move(range_end)),
      on_events_(std::move(on_events)),
      on_compacted_(std::move(on_compacted)),
      options_(options),
      client_id_(env.random->Next64() | 1),
      last_revision_(start_revision - 1) {
  assert(!members_.empty() && start_revision > 0);
  member_index_ = static_cast<size_t>(env_.random->Uniform(members_.size()));
}

StoreWatch::~StoreWatch() {
  *alive_ = false;
  if (reconnect_timer_) env_.clock->Cancel(reconnect_timer_);
  if (conn_) conn_->Close();
}

void StoreWatch::Start() { Connect(); }

void StoreWatch::Connect() {
  reconnect_timer_ = 0;
  if (ended_) return;
  ConnectionHandlers h;
  h.on_frame = [this](std::string_view frame) { OnFrame(frame); };
  h.on_closed = [this](const Status&) { OnClosed(); };
  const uint64_t seq = ++seq_;
  conn_ = env_.transport->Connect(members_[member_index_], std::move(h), [this, seq] {
    storeserver::Frame f;
    ClientRequest* r = f.mutable_request();
    r->set_client_id(client_id_);
    r->set_seq(seq);
    r->mutable_watch()->set_key(key_);
    r->mutable_watch()->set_range_end(range_end_);
    r->mutable_watch()->set_start_revision(last_revision_ + 1);
    if (conn_) (void)SendMessage(*conn_, f);
  });
}

void StoreWatch::OnClosed() {
  conn_.reset();
  if (ended_) return;
  ++reconnects_;
  member_index_ = (member_index_ + 1) % members_.size();
  if (reconnect_timer_ == 0) {
    reconnect_timer_ = env_.clock->Schedule(options_.reconnect_delay, [this] { Connect(); });
  }
}

void StoreWatch::OnFrame(std::string_view frame) {
  storeserver::Frame f;
  if (!ParseMessage(frame, &f, "store watch frame").ok() || !f.has_response()) return;
  const ClientResponse& r = f.response();
  if (r.seq() != seq_ || !r.has_watch()) return;  // an older connection's stream
  const storeserver::WatchResponse& w = r.watch();
  if (w.canceled()) {
    if (w.compact_revision() > 0 || w.error().find("compacted") != std::string::npos) {
      ended_ = true;
      auto alive = alive_;
      if (conn_) conn_->Close();
      if (*alive) on_compacted_(w.compact_revision());
      return;
    }
    if (conn_) conn_->Close();  // any other reason: resume elsewhere
    return;
  }
  std::vector<const store::Event*> events;
  events.reserve(static_cast<size_t>(w.events_size()));
  for (const store::Event& e : w.events()) {
    if (e.kv().mod_revision() <= last_revision_) continue;  // never twice
    events.push_back(&e);
  }
  if (events.empty()) return;
  // The last event's revision; a revision's events arrive together, in one response.
  last_revision_ = events.back()->kv().mod_revision();
  on_events_(events);
}

}  // namespace ksim::storeclient
