// ApiHandler: replies (objects, lists, Statuses), uids, and the helpers the verbs share.
#include "cluster/apiserver/handler_internal.h"

#include <fmt/format.h>
#include <google/protobuf/arena.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "cluster/env/wire.h"

namespace ksim::apiserver {

namespace gp = google::protobuf;
using namespace handler_internal;  // NOLINT: this file's own helpers

namespace handler_internal {

std::string Base64Encode(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
  return out;
}

bool Base64Decode(std::string_view in, std::string* out) {
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '-') v = 62;
    else if (c == '_') v = 63;
    else return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}


std::string QueryValue(const Request& r, const std::string& key) {
  auto it = r.query().find(key);
  return it == r.query().end() ? std::string() : it->second;
}

// Seconds-precision wall time, as Kubernetes' metav1.Time.
void SetTime(gp::Timestamp* t, Nanos wall) {
  t->set_seconds(wall.count() / 1'000'000'000);
  t->set_nanos(0);
}

// The protobuf bytes that, appended to an object's bytes, set its resourceVersion:
// protobuf merges repeated occurrences of a sub-message, so the stored bytes need no
// decode and re-encode on the way out. Written by hand (it runs for every object sent):
// the kind's metadata field, length-delimited, holding ObjectMeta.resource_version.
std::string RevisionSuffix(const api::KindInfo& info, int64_t revision) {
  const gp::FieldDescriptor* meta = info.descriptor->FindFieldByName("metadata");
  static const int kResourceVersionField =
      api::ObjectMeta::descriptor()->FindFieldByName("resource_version")->number();
  const std::string rv = std::to_string(revision);
  std::string inner;
  AppendLengthPrefix(kResourceVersionField, rv.size(), &inner);
  inner += rv;
  std::string out;
  AppendLengthPrefix(meta->number(), inner.size(), &out);
  out += inner;
  return out;
}

// The last frame of a watch that cannot continue: an ERROR event carrying a 410 Expired
// Status, which clients answer by listing again.
Response GoneFrame(uint64_t id, const std::string& message) {
  api::ApiStatus st;
  st.set_kind("Status");
  st.set_api_version("v1");
  st.set_status("Failure");
  st.set_code(410);
  st.set_reason("Expired");
  st.set_message(message);
  Response frame;
  frame.set_id(id);
  frame.set_code(200);
  WatchEvent* out = frame.add_events();
  out->set_type("ERROR");
  out->set_object(SerializeDeterministic(st));
  frame.set_end(true);
  return frame;
}

}  // namespace handler_internal

// --- replies ------------------------------------------------------------------------------

std::string ApiHandler::ObjectBody(const Call& call, const std::string& bytes, int64_t revision) const {
  if (!WantsJson(call.request.accept())) return bytes + RevisionSuffix(*call.info, revision);
  auto m = call.info->New();
  m->ParseFromString(bytes);
  api::MutableMeta(*m)->set_resource_version(std::to_string(revision));
  api::SetTypeMeta(*m);
  return api::EncodeJson(*m);
}

void ApiHandler::ReplyObject(const Call& call, int code, const std::string& bytes, int64_t revision) const {
  Response r;
  r.set_id(call.request.id());
  r.set_code(code);
  r.set_content_type(WantsJson(call.request.accept()) ? kJson : kProtobuf);
  r.set_body(ObjectBody(call, bytes, revision));
  call.reply(std::move(r));
}

void ApiHandler::ReplyStatus(const Call& call, int code, const std::string& reason, const std::string& message,
                             std::vector<api::StatusCause> causes) const {
  api::ApiStatus s;
  s.set_api_version("v1");
  s.set_kind("Status");
  s.set_status(code < 400 ? "Success" : "Failure");
  s.set_message(message);
  s.set_reason(reason);
  s.set_code(code);
  if (call.info != nullptr) {
    s.mutable_details()->set_name(call.request.name());
    s.mutable_details()->set_group(call.info->group);
    s.mutable_details()->set_kind(call.info->resource);
  }
  for (api::StatusCause& c : causes) *s.mutable_details()->add_causes() = std::move(c);
  Response r;
  r.set_id(call.request.id());
  r.set_code(code);
  if (WantsJson(call.request.accept())) {
    r.set_content_type(kJson);
    r.set_body(api::EncodeJson(s));
  } else {
    r.set_content_type(kProtobuf);
    r.set_body(SerializeDeterministic(s));
  }
  call.reply(std::move(r));
}

void ApiHandler::ReplyNotFound(const Call& call) const {
  ReplyStatus(call, 404, "NotFound",
              fmt::format("{} \"{}\" not found", QualifiedResource(*call.info), call.request.name()));
}

void ApiHandler::ReplyConflict(const Call& call) const {
  ReplyStatus(call, 409, "Conflict",
              fmt::format("Operation cannot be fulfilled on {} \"{}\": the object has been modified; please apply "
                          "your changes to the latest version and try again",
                          QualifiedResource(*call.info), call.request.name()));
}

void ApiHandler::ReplyStoreError(const Call& call, const Status& status) const {
  if (status.Is(Status::Code::kInvalidArgument)) {
    // The store refused the request itself (a request or a reply over its limits):
    // retrying cannot help. Kubernetes answers etcd's "request is too large" with 500.
    ReplyStatus(call, 500, "InternalError", "the store refused the request: " + status.message());
  } else if (status.Is(Status::Code::kTimeout)) {
    ReplyStatus(call, 504, "Timeout", "the store did not answer in time: " + status.message());
  } else {
    ReplyStatus(call, 503, "ServiceUnavailable", "the store is unavailable: " + status.message());
  }
}

std::string ApiHandler::NewUid(const std::string& request_id) const {
  // A retried create carries the same request id, so it gets the same uid and the
  // apiserver can tell "my earlier attempt created it" from "someone else did". Request
  // ids are unique because each client draws its tag from Entropy; without one the uid
  // comes from Entropy itself, never from the seeded Random, so a process restarted with
  // the same seed does not mint a uid it minted before.
  uint64_t hi;
  uint64_t lo;
  if (!request_id.empty()) {
    const XXH128_hash_t h = XXH3_128bits(request_id.data(), request_id.size());
    hi = h.high64;
    lo = h.low64;
  } else {
    hi = env_.entropy->Next64();
    lo = env_.entropy->Next64();
  }
  hi = (hi & ~0xF000ull) | 0x4000ull;                                // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;        // variant 1
  // 8-4-4-4-12 lowercase hex digits (RFC 4122 §3), written directly: every create makes
  // one, and formatting through fmt cost more than the hash.
  static constexpr char kHex[] = "0123456789abcdef";
  std::string uid(36, '-');
  size_t pos = 0;
  auto put = [&](uint64_t v, int digits) {
    for (int i = digits - 1; i >= 0; --i) uid[pos++] = kHex[(v >> (4 * i)) & 0xF];
    ++pos;  // over the dash
  };
  put(hi >> 32, 8);
  put((hi >> 16) & 0xFFFF, 4);
  put(hi & 0xFFFF, 4);
  put(lo >> 48, 4);
  put(lo & 0xFFFFFFFFFFFFull, 12);
  return uid;
}

// --- decoding a body ----------------------------------------------------------------------

namespace handler_internal {

// A request's object, on an arena that lives exactly as long as the object: a Pod is
// dozens of allocations, and freeing them one by one cost more than decoding them.
std::shared_ptr<gp::Message> NewRequestObject(const api::KindInfo& info) {
  gp::ArenaOptions options;
  options.start_block_size = 4096;  // a typical Pod, decoded and defaulted, in one block
  auto arena = std::make_shared<gp::Arena>(options);
  gp::Message* m = info.prototype->New(arena.get());
  return std::shared_ptr<gp::Message>(std::move(arena), m);  // shares the arena's lifetime
}

Status DecodeBody(const Request& r, const api::KindInfo& info, gp::Message* out) {
  const std::string& ct = r.content_type();
  if (ct.empty() || ct == kProtobuf) {
    if (!out->ParseFromString(r.body())) return Status::InvalidArgument("the body is not a protobuf " + info.kind);
    return Status::Ok();
  }
  return api::DecodeInto(r.body(), "request body", out);
}

std::vector<api::StatusCause> Causes(const std::vector<FieldError>& errors) {
  std::vector<api::StatusCause> causes;
  for (const FieldError& e : errors) {
    api::StatusCause c;
    c.set_field(e.field);
    c.set_reason(e.reason);
    c.set_message(e.message);
    causes.push_back(std::move(c));
  }
  return causes;
}

std::string InvalidMessage(const api::KindInfo& info, const std::string& name, const std::vector<FieldError>& errors) {
  std::string msg = fmt::format("{} \"{}\" is invalid: ", info.kind, name);
  for (size_t i = 0; i < errors.size(); ++i) {
    if (i > 0) msg += ", ";
    msg += errors[i].field + ": " + errors[i].message;
  }
  return msg;
}

std::string PreconditionFailure(const std::string& uid, const std::string& resource_version,
                                const api::ObjectMeta& meta, int64_t revision) {
  if (!uid.empty() && uid != meta.uid()) {
    return fmt::format("Precondition failed: UID in precondition: {}, UID in object meta: {}", uid, meta.uid());
  }
  if (const std::string rv = std::to_string(revision); !resource_version.empty() && resource_version != rv) {
    return fmt::format("Precondition failed: ResourceVersion in precondition: {}, ResourceVersion in object meta: {}",
                       resource_version, rv);
  }
  return {};
}

}  // namespace handler_internal

void ApiHandler::ReplyList(const Call& call, const api::ListMeta& meta,
                           const std::vector<std::pair<std::string_view, int64_t>>& items) const {
  Response resp;
  resp.set_id(call.request.id());
  resp.set_code(200);
  if (WantsJson(call.request.accept())) {
    std::vector<std::unique_ptr<gp::Message>> owned;
    std::vector<const gp::Message*> ptrs;
    for (const auto& [bytes, revision] : items) {
      auto m = call.info->New();
      m->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
      api::MutableMeta(*m)->set_resource_version(std::to_string(revision));
      ptrs.push_back(m.get());
      owned.push_back(std::move(m));
    }
    resp.set_content_type(kJson);
    resp.set_body(api::EncodeJsonList(*call.info, meta, ptrs));
  } else {
    ObjectList list;
    *list.mutable_metadata() = meta;
    for (const auto& [bytes, revision] : items) {
      std::string* item = list.add_items();
      item->assign(bytes);
      *item += RevisionSuffix(*call.info, revision);
    }
    resp.set_content_type(kProtobuf);
    resp.set_body(SerializeDeterministic(list));
  }
  if (resp.body().size() > options_.max_reply_bytes) return ReplyTooLarge(call, items.size(), resp.body().size());
  call.reply(std::move(resp));
}

void ApiHandler::ReplyTooLarge(const Call& call, size_t items, size_t bytes) const {
  ReplyStatus(call, 500, "InternalError",
              fmt::format("the list of {} items would be a reply of {} bytes, more than the {} bytes one reply may "
                          "carry; list in pages with limit and continue",
                          items, bytes, options_.max_reply_bytes));
}

}  // namespace ksim::apiserver
