#include "cluster/apiserver/apiserver.h"

#include <utility>

#include "cluster/api/meta.pb.h"
#include "cluster/env/wire.h"

namespace ksim::apiserver {
namespace {

// The 500 Status that replaces a reply the transport refused as too large.
Response TooLargeResponse(const Response& refused, const Status& why) {
  api::ApiStatus s;
  s.set_api_version("v1");
  s.set_kind("Status");
  s.set_status("Failure");
  s.set_reason("InternalError");
  s.set_code(500);
  s.set_message("the reply of " + std::to_string(refused.body().size()) + " bytes cannot be sent: " + why.message());
  Response r;
  r.set_id(refused.id());
  r.set_code(500);
  r.set_end(true);
  r.set_content_type("application/vnd.ksim.protobuf");
  r.set_body(SerializeDeterministic(s));
  return r;
}

}  // namespace

ApiServer::ApiServer(Env& env, ApiServerOptions options) : env_(env), options_(std::move(options)) {}

ApiServer::~ApiServer() {
  *alive_ = false;
  if (bookmark_timer_) env_.clock->Cancel(bookmark_timer_);
  for (auto& [key, c] : conns_) c.connection->Close();
}

void ApiServer::Start() {
  store_client_ = std::make_unique<storeclient::StoreClient>(env_, options_.store_members);
  HandlerOptions ho;
  ho.store_members = options_.store_members;
  ho.watch_window_events = options_.watch_window_events;
  ho.authenticate = options_.authenticate;
  ho.system_namespaces = options_.system_namespaces;
  ho.token_file = options_.token_file;
  ho.service_cluster_ip_range = options_.service_cluster_ip_range;
  ho.service_node_port_range = options_.service_node_port_range;
  ho.service_account_signing_key_pem = options_.service_account_signing_key_pem;
  ho.service_account_issuer = options_.service_account_issuer;
  ho.api_audiences = options_.api_audiences;
  ho.service_account_admission = options_.service_account_admission;
  handler_ = std::make_unique<ApiHandler>(env_, store_client_.get(), ho);
  if (Status ts = handler_->Start(); !ts.ok()) {
    env_.log->Log(LogLevel::kError, "apiserver", ts.message());
  }
  Status s = env_.transport->Listen(options_.port, [this](std::shared_ptr<Connection> conn) {
    const uint64_t key = next_conn_++;
    ConnectionHandlers h;
    h.on_frame = [this, key](std::string_view frame) { OnFrame(key, frame); };
    h.on_closed = [this, key](const Status&) { OnClosed(key); };
    conn->SetHandlers(std::move(h));
    conns_[key] = Conn{std::move(conn), {}};
  });
  if (!s.ok()) env_.log->Log(LogLevel::kError, "apiserver", "listen failed: " + s.ToString());
  ArmBookmark();
}

void ApiServer::ArmBookmark() {
  bookmark_timer_ = env_.clock->Schedule(options_.bookmark_interval, [this] {
    handler_->Bookmark();
    ArmBookmark();
  });
}

void ApiServer::OnFrame(uint64_t conn_key, std::string_view frame) {
  Request req;
  if (!ParseMessage(frame, &req, "api request").ok()) {
    // A peer that sends garbage gets no answer it could misread: the connection ends.
    auto it = conns_.find(conn_key);
    if (it != conns_.end()) it->second.connection->Close();
    return;
  }
  auto it = conns_.find(conn_key);
  if (it == conns_.end()) return;
  const uint64_t id = req.id();
  if (req.cancel()) {
    auto w = it->second.watches.find(id);
    if (w != it->second.watches.end()) {
      handler_->CancelWatch(w->second);
      it->second.watches.erase(w);
    }
    return;
  }
  if (req.verb() == "watch" && it->second.watches.size() >= options_.max_watches_per_connection) {
    Response r;
    r.set_id(id);
    r.set_code(429);
    r.set_end(true);
    (void)SendMessage(*it->second.connection, r);
    return;
  }
  const bool is_watch = req.verb() == "watch";
  std::weak_ptr<Connection> weak = it->second.connection;
  const uint64_t handle = handler_->Handle(std::move(req), [this, weak, conn_key, id, is_watch, alive = alive_](Response r) {
    if (!*alive) return false;
    auto conn = weak.lock();
    if (!conn || !conn->is_open()) return false;
    const bool end = !is_watch || r.end() || r.code() != 200;
    if (is_watch && end) {
      auto c = conns_.find(conn_key);
      if (c != conns_.end()) c->second.watches.erase(id);
    }
    if (Status s = SendMessage(*conn, r); !s.ok()) {
      // Too large for a frame: the caller gets a 500 Status instead of silence.
      if (s.Is(Status::Code::kInvalidArgument)) (void)SendMessage(*conn, TooLargeResponse(r, s));
      return false;
    }
    return !end;
  });
  if (handle != 0) it->second.watches[id] = handle;
}

void ApiServer::OnClosed(uint64_t conn_key) {
  auto it = conns_.find(conn_key);
  if (it == conns_.end()) return;
  for (const auto& [id, handle] : it->second.watches) handler_->CancelWatch(handle);
  conns_.erase(it);
}

}  // namespace ksim::apiserver
