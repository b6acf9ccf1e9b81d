#include "cluster/store/client/store_client.h"

#include <cassert>

#include "cluster/env/wire.h"

namespace ksim::storeclient {

using storeserver::ClientRequest;
using storeserver::ClientResponse;

StoreClient::StoreClient(Env& env, std::vector<Address> members, StoreClientOptions options)
    : env_(env), members_(std::move(members)), options_(options), client_id_(env.random->Next64() | 1) {
  assert(!members_.empty());
  member_index_ = static_cast<size_t>(env_.random->Uniform(members_.size()));
  target_ = members_[member_index_];
  poll_timer_ = env_.clock->Schedule(options_.poll, [this] { OnPoll(); });
}

StoreClient::~StoreClient() {
  if (poll_timer_) env_.clock->Cancel(poll_timer_);
  if (conn_) conn_->Close();
}

void StoreClient::Write(const store::Command& command, WriteDone done) {
  // ClientRequest{write: command}, written around the command's own encoding.
  std::string request;
  (void)AppendMessageField(ClientRequest::kWriteFieldNumber, command, &request);
  SubmitEncoded(std::move(request), std::move(done), nullptr);
}

void StoreClient::Put(const std::string& key, const std::string& value, WriteDone done) {
  store::Command c;
  c.mutable_put()->set_key(key);
  c.mutable_put()->set_value(value);
  Write(std::move(c), std::move(done));
}

void StoreClient::Delete(const std::string& key, WriteDone done) {
  store::Command c;
  c.mutable_delete_range()->set_key(key);
  Write(std::move(c), std::move(done));
}

void StoreClient::Read(store::RangeRequest range, bool serializable, ReadDone done) {
  ClientRequest r;
  *r.mutable_read()->mutable_range() = std::move(range);
  r.mutable_read()->set_serializable(serializable);
  Submit(std::move(r), nullptr, std::move(done));
}

void StoreClient::Get(const std::string& key, ReadDone done) {
  store::RangeRequest range;
  range.set_key(key);
  Read(std::move(range), false, std::move(done));
}

void StoreClient::Submit(const ClientRequest& request, WriteDone write_done, ReadDone read_done) {
  assert(request.client_id() == 0 && request.seq() == 0 && request.first_unacked_seq() == 0);
  SubmitEncoded(SerializeDeterministic(request), std::move(write_done), std::move(read_done));
}

void StoreClient::SubmitEncoded(std::string request, WriteDone write_done, ReadDone read_done) {
  // client_id, seq and first_unacked_seq (up to 11 bytes each) and the Frame's tag and
  // length (up to 6) are added to every attempt.
  constexpr size_t kFramingBytes = 3 * 11 + 6;
  Status refused;
  if (pending_.size() >= options_.max_pending) {
    refused = Status::Unavailable("too many requests in flight");
  } else if (request.size() + kFramingBytes > kMaxFrameBytes) {
    // Never sent, so never answered: refused now rather than left to time out.
    refused = Status::InvalidArgument("store request of " + std::to_string(request.size() + kFramingBytes) +
                                      " bytes exceeds the frame limit of " + std::to_string(kMaxFrameBytes) + " bytes");
  }
  if (!refused.ok()) {
    if (write_done) write_done(refused, store::CommandResponse{});
    if (read_done) read_done(refused, store::RangeResponse{});
    return;
  }
  const uint64_t seq = next_seq_++;
  AppendVarintField(ClientRequest::kClientIdFieldNumber, client_id_, &request);
  AppendVarintField(ClientRequest::kSeqFieldNumber, seq, &request);
  Pending& p = pending_[seq];
  p.request = std::move(request);
  p.write_done = std::move(write_done);
  p.read_done = std::move(read_done);
  p.deadline = env_.clock->MonotonicNow() + options_.request_timeout;
  EnsureConnected();
  if (open_) Send(p);
}

void StoreClient::EnsureConnected() {
  if (conn_) return;
  open_ = false;
  ConnectionHandlers h;
  h.on_frame = [this](std::string_view frame) { OnFrame(frame); };
  h.on_closed = [this](const Status&) {
    conn_.reset();
    open_ = false;
    // Try another member for everything still pending.
    for (auto& [seq, p] : pending_) p.sent = false;
    NextMember();
  };
  conn_ = env_.transport->Connect(target_, std::move(h), [this] {
    open_ = true;
    SendPending();
  });
}

void StoreClient::SwitchTo(const Address& address) {
  if (address == target_ && conn_) return;
  target_ = address;
  if (conn_) conn_->Close();
  conn_.reset();
  open_ = false;
  for (auto& [seq, p] : pending_) p.sent = false;
  if (!pending_.empty()) EnsureConnected();
}

void StoreClient::NextMember() {
  member_index_ = (member_index_ + 1) % members_.size();
  if (conn_) conn_->Close();
  conn_.reset();
  open_ = false;
  target_ = members_[member_index_];
  // Reconnect lazily: from the poll timer, so a dead cluster is not hammered.
}

void StoreClient::SendPending() {
  for (auto& [seq, p] : pending_) {
    if (!p.sent) Send(p);
  }
}

void StoreClient::Send(Pending& p) {
  if (!conn_ || !open_) return;
  ++stats_.attempts;
  // Frame{request: the request plus this attempt's first_unacked_seq}, as wire bytes.
  std::string suffix;
  AppendVarintField(ClientRequest::kFirstUnackedSeqFieldNumber, pending_.begin()->first, &suffix);
  std::string frame;
  frame.reserve(p.request.size() + suffix.size() + 12);
  AppendLengthPrefix(storeserver::Frame::kRequestFieldNumber, p.request.size() + suffix.size(), &frame);
  frame += p.request;
  frame += suffix;
  if (conn_->Send(std::move(frame)).ok()) {  // within kMaxFrameBytes: checked at submission
    p.sent = true;
    p.attempt_deadline = env_.clock->MonotonicNow() + options_.attempt_timeout;
  }
}

void StoreClient::OnFrame(std::string_view frame) {
  storeserver::Frame f;
  if (!ParseMessage(frame, &f, "store").ok() || !f.has_response()) return;
  const ClientResponse& r = f.response();
  auto it = pending_.find(r.seq());
  if (r.client_id() != client_id_ || it == pending_.end()) return;  // late answer to a finished request
  switch (r.code()) {
    case ClientResponse::OK:
      Complete(r.seq(), Status::Ok(), &r);
      break;
    case ClientResponse::INVALID:
      Complete(r.seq(), Status::InvalidArgument(r.message()), &r);
      break;
    case ClientResponse::NOT_LEADER:
      ++stats_.redirects;
      it->second.sent = false;
      if (!r.leader_address().empty() && r.leader_address() != target_) {
        SwitchTo(r.leader_address());
      } else {
        NextMember();
      }
      break;
    case ClientResponse::UNAVAILABLE:
    default:
      it->second.sent = false;  // resent by the poll timer
      break;
  }
}

void StoreClient::Complete(uint64_t seq, Status status, const ClientResponse* response) {
  auto it = pending_.find(seq);
  if (it == pending_.end()) return;
  Pending p = std::move(it->second);
  pending_.erase(it);
  // Both arms are lvalues, so the answer is passed by reference: a prvalue arm (T{}) would
  // make the conditional copy the whole response first.
  if (p.write_done) p.write_done(status, response ? response->write() : store::CommandResponse::default_instance());
  if (p.read_done) p.read_done(status, response ? response->read() : store::RangeResponse::default_instance());
}

void StoreClient::OnPoll() {
  poll_timer_ = env_.clock->Schedule(options_.poll, [this] { OnPoll(); });
  const Nanos now = env_.clock->MonotonicNow();
  std::vector<uint64_t> expired;
  bool attempt_expired = false;
  for (auto& [seq, p] : pending_) {
    if (now >= p.deadline) {
      expired.push_back(seq);
    } else if (p.sent && now >= p.attempt_deadline) {
      attempt_expired = true;
    }
  }
  for (uint64_t seq : expired) {
    ++stats_.timeouts;
    Complete(seq, Status::Timeout("store request timed out after " +
                                  std::to_string(options_.request_timeout.count() / 1000000) + " ms"),
             nullptr);
  }
  if (attempt_expired) {
    ++stats_.retries;
    for (auto& [seq, p] : pending_) p.sent = false;
    NextMember();
  }
  if (pending_.empty()) return;
  EnsureConnected();
  if (open_) SendPending();
}

}  // namespace ksim::storeclient
