#include "cluster/client/api_client.h"

#include <fmt/format.h>

#include <cassert>
#include <utility>

#include "cluster/env/wire.h"

namespace ksim::client {

namespace gp = google::protobuf;
using apiserver::Request;
using apiserver::Response;

namespace {


Request Base(const api::KindInfo& info, const std::string& verb, const std::string& ns, const std::string& name) {
  Request r;
  r.set_verb(verb);
  r.set_group(info.group);
  r.set_version(info.version);
  r.set_resource(info.resource);
  if (info.namespaced) r.set_namespace_(ns);
  r.set_name(name);
  return r;
}

}  // namespace

std::string ApiResult::Describe() const {
  if (!status.ok()) return status.ToString();
  if (code >= 400) return fmt::format("{} {}: {}", code, error.reason(), error.message());
  return fmt::format("{}", code);
}

ApiClient::ApiClient(Env& env, ApiClientOptions options) : env_(env), options_(std::move(options)) {
  assert(!options_.endpoints.empty());
  for (const Address& a : options_.endpoints) endpoints_.push_back(Endpoint{a, nullptr, false});
  preferred_ = static_cast<size_t>(env_.random->Uniform(endpoints_.size()));
  client_tag_ = fmt::format("{:016x}", env_.entropy->Next64());
}

ApiClient::~ApiClient() {
  *alive_ = false;
  if (poll_timer_) env_.clock->Cancel(poll_timer_);
  for (Endpoint& e : endpoints_) {
    if (e.conn) e.conn->Close();
  }
}

// --- typed conveniences -----------------------------------------------------------------------

void ApiClient::Create(const api::KindInfo& info, const gp::Message& object, Done done) {
  const api::ObjectMeta* meta = api::GetMeta(object);
  Request r = Base(info, "create", meta ? meta->namespace_() : "", "");
  r.set_body(SerializeDeterministic(object));
  Do(std::move(r), std::move(done));
}

void ApiClient::Get(const api::KindInfo& info, const std::string& ns, const std::string& name, Done done) {
  Do(Base(info, "get", ns, name), std::move(done));
}

void ApiClient::Update(const api::KindInfo& info, const gp::Message& object, Done done,
                       const std::string& subresource) {
  const api::ObjectMeta* meta = api::GetMeta(object);
  Request r = Base(info, "update", meta->namespace_(), meta->name());
  r.set_subresource(subresource);
  r.set_body(SerializeDeterministic(object));
  Do(std::move(r), std::move(done));
}

void ApiClient::Delete(const api::KindInfo& info, const std::string& ns, const std::string& name, Done done,
                       std::map<std::string, std::string> query) {
  Request r = Base(info, "delete", ns, name);
  for (auto& [k, v] : query) (*r.mutable_query())[k] = v;
  Do(std::move(r), std::move(done));
}

void ApiClient::Delete(const api::KindInfo& info, const std::string& ns, const std::string& name,
                       const api::DeleteOptions& options, Done done) {
  Request r = Base(info, "delete", ns, name);
  r.set_body(SerializeDeterministic(options));
  Do(std::move(r), std::move(done));
}

void ApiClient::List(const api::KindInfo& info, const std::string& ns, std::map<std::string, std::string> query,
                     Done done) {
  Request r = Base(info, "list", ns, "");
  for (auto& [k, v] : query) (*r.mutable_query())[k] = v;
  Do(std::move(r), std::move(done));
}

void ApiClient::Patch(const api::KindInfo& info, const std::string& ns, const std::string& name,
                      const std::string& patch_type, std::string patch, Done done, const std::string& subresource) {
  Request r = Base(info, "patch", ns, name);
  r.set_subresource(subresource);
  r.set_content_type(patch_type);
  r.set_body(std::move(patch));
  Do(std::move(r), std::move(done));
}

std::unique_ptr<gp::Message> ApiClient::DecodeObject(const api::KindInfo& info, const ApiResult& r) {
  auto m = info.New();
  if (!r.ok() || !m->ParseFromString(r.body)) return nullptr;
  return m;
}

// --- calls ----------------------------------------------------------------------------------

void ApiClient::Do(Request request, Done done) {
  auto call = std::make_unique<Call>();
  call->request = std::move(request);
  call->done = std::move(done);
  Submit(std::move(call));
}

uint64_t ApiClient::Watch(Request request, WatchEvents on_events, WatchEnded on_ended) {
  request.set_verb("watch");
  auto call = std::make_unique<Call>();
  call->request = std::move(request);
  call->on_events = std::move(on_events);
  call->on_ended = std::move(on_ended);
  call->watch = true;
  const uint64_t id = next_id_;
  Submit(std::move(call));
  return id;
}

void ApiClient::CancelWatch(uint64_t id) {
  auto it = calls_.find(id);
  if (it == calls_.end() || !it->second->watch) return;
  Call& c = *it->second;
  Endpoint& e = endpoints_[c.endpoint];
  if (c.sent && e.conn && e.open) {
    Request cancel;
    cancel.set_id(id);
    cancel.set_cancel(true);
    (void)SendMessage(*e.conn, cancel);
  }
  TakeCall(it);  // its on_ended is not called: the owner asked for the end
}

void ApiClient::Submit(std::unique_ptr<Call> call) {
  ++stats_.calls;
  const uint64_t id = next_id_++;
  call->request.set_id(id);
  if (call->request.verb() == "create" && call->request.request_id().empty()) {
    call->request.set_request_id(fmt::format("{}-{}", client_tag_, ++request_ids_));
  }
  if (!options_.token.empty()) call->request.set_token(options_.token);
  if (options_.on_request) options_.on_request(call->request);
  if (calls_.size() >= options_.max_pending) {
    ApiResult r;
    r.status = Status::Unavailable("too many API calls in flight");
    if (call->watch) {
      call->on_ended(r.status, r);
    } else {
      call->done(r);
    }
    return;
  }
  call->endpoint = preferred_;
  call->deadline = env_.clock->MonotonicNow() + options_.request_timeout;
  call->attempt_deadline = env_.clock->MonotonicNow() + options_.attempt_timeout;
  calls_.emplace(id, std::move(call));
  // Deadlines are checked every `poll` while a call has one. A client whose calls are
  // only open watches (most of a cluster's clients, most of the time) keeps no timer.
  if (poll_timer_ == 0) poll_timer_ = env_.clock->Schedule(options_.poll, [this] { OnPoll(); });
  Send(id);
}

void ApiClient::Send(uint64_t id) {
  Call& c = *calls_.at(id);
  Endpoint& e = endpoints_[c.endpoint];
  if (!e.conn) Connect(c.endpoint);
  if (!e.open) return;  // sent when the connection opens
  ++stats_.attempts;
  c.sent = true;
  c.ever_sent = true;
  c.attempt_deadline = env_.clock->MonotonicNow() + options_.attempt_timeout;
  if (!SendMessage(*e.conn, c.request).ok()) c.sent = false;
}

void ApiClient::Connect(size_t index) {
  Endpoint& e = endpoints_[index];
  ConnectionHandlers h;
  h.on_frame = [this, index](std::string_view frame) { OnFrame(index, frame); };
  h.on_closed = [this, index](const Status&) { OnClosed(index); };
  e.open = false;
  e.conn = env_.transport->Connect(e.address, std::move(h), [this, index] {
    endpoints_[index].open = true;
    std::vector<uint64_t> ids;
    for (const auto& [id, c] : calls_) {
      if (c->endpoint == index && !c->sent) ids.push_back(id);
    }
    for (uint64_t id : ids) {
      if (calls_.count(id)) Send(id);
    }
  });
}

void ApiClient::OnClosed(size_t index) {
  endpoints_[index].conn.reset();
  endpoints_[index].open = false;
  if (preferred_ == index) preferred_ = (index + 1) % endpoints_.size();
  std::vector<uint64_t> ids;
  for (const auto& [id, c] : calls_) {
    if (c->endpoint == index) ids.push_back(id);
  }
  for (uint64_t id : ids) Retry(id, Status::Unavailable("connection to " + endpoints_[index].address + " closed"));
}

bool ApiClient::Retriable(const Call& c) const {
  const std::string& verb = c.request.verb();
  if (!c.ever_sent) return true;
  return verb != "patch" && verb != "deletecollection";
}

void ApiClient::Retry(uint64_t id, const Status& why) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;
  Call& c = *it->second;
  if (c.watch && c.watch_opened) {
    // An open watch that breaks ends; its owner re-watches from its last revision.
    auto ended = std::move(c.on_ended);
    TakeCall(it);
    ended(why, ApiResult{});
    return;
  }
  if (!Retriable(c) || env_.clock->MonotonicNow() >= c.deadline) {
    ApiResult r;
    r.status = env_.clock->MonotonicNow() >= c.deadline ? Status::Timeout("API call timed out: " + why.message())
                                                        : Status::Unavailable(why.message());
    return Finish(id, std::move(r));
  }
  ++stats_.retries;
  c.sent = false;
  c.endpoint = (c.endpoint + 1) % endpoints_.size();
  c.attempt_deadline = env_.clock->MonotonicNow() + options_.attempt_timeout;
  Send(id);
}

void ApiClient::OnFrame(size_t index, std::string_view frame) {
  Response resp;
  if (!ParseMessage(frame, &resp, "api response").ok()) return;
  auto it = calls_.find(resp.id());
  if (it == calls_.end()) return;
  Call& c = *it->second;
  if (c.endpoint != index) return;  // an answer from an attempt already abandoned
  ApiResult r;
  r.code = resp.code();
  if (r.code >= 400) {
    r.error.ParseFromString(resp.body());
  }
  if (!c.watch) {
    r.body = std::move(*resp.mutable_body());
    return Finish(resp.id(), std::move(r));
  }
  if (!c.watch_opened) {
    if (r.code != 200) return Finish(resp.id(), std::move(r));
    c.watch_opened = true;
    ++open_watches_;
  }
  const uint64_t id = resp.id();
  auto alive = alive_;
  for (const apiserver::WatchEvent& e : resp.events()) {
    if (!c.on_events(e)) {
      if (!*alive) return;
      CancelWatch(id);
      return;
    }
    if (!*alive || !calls_.count(id)) return;
  }
  if (resp.end()) Finish(id, std::move(r));
}

void ApiClient::Finish(uint64_t id, ApiResult result) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;
  std::unique_ptr<Call> c = TakeCall(it);
  if (c->watch) {
    c->on_ended(result.status, result);
  } else {
    if (result.status.Is(Status::Code::kTimeout)) ++stats_.timeouts;
    c->done(result);
  }
}

std::unique_ptr<ApiClient::Call> ApiClient::TakeCall(std::map<uint64_t, std::unique_ptr<Call>>::iterator it) {
  std::unique_ptr<Call> c = std::move(it->second);
  if (c->watch_opened) --open_watches_;
  calls_.erase(it);
  return c;
}

void ApiClient::OnPoll() {
  poll_timer_ = 0;
  if (calls_.size() == open_watches_) return;  // only open watches: nothing has a deadline
  poll_timer_ = env_.clock->Schedule(options_.poll, [this] { OnPoll(); });
  const Nanos now = env_.clock->MonotonicNow();
  std::vector<uint64_t> late;
  for (const auto& [id, c] : calls_) {
    if (c->watch && c->watch_opened) continue;  // open watches have no deadline
    if (now >= c->deadline || now >= c->attempt_deadline) {
      late.push_back(id);
    }
  }
  for (uint64_t id : late) Retry(id, Status::Timeout("no answer within the attempt timeout"));
}

}  // namespace ksim::client
