#include "cluster/client/event_recorder.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cassert>
#include <utility>

#include "cluster/api/codec.h"
#include "cluster/api/registry.h"

namespace ksim::client {
namespace {

const api::KindInfo& EventsKind() { return *api::Registry::Default().ByGroupResource("", "events"); }

google::protobuf::Timestamp WallTimestamp(const Env& env) {
  google::protobuf::Timestamp t;
  const int64_t ns = env.clock->WallNow().count();
  t.set_seconds(ns / 1'000'000'000);
  return t;
}

// RFC 3339 seconds, as a JSON merge patch writes lastTimestamp.
std::string Rfc3339(const google::protobuf::Timestamp& t) {
  const int64_t s = t.seconds();
  const int64_t days = s >= 0 ? s / 86400 : (s - 86399) / 86400;
  const int64_t rem = s - days * 86400;
  // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", y, m, d, rem / 3600, rem / 60 % 60, rem % 60);
}

std::string ObjectKey(const api::Event& e) {
  const auto& o = e.involved_object();
  return fmt::format("{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}", e.source().component(), e.source().host(), o.kind(),
                     o.namespace_(), o.name(), o.uid(), o.api_version());
}

std::string AggregateKey(const api::Event& e) {
  return fmt::format("{}\x1f{}\x1f{}\x1f{}\x1f{}", ObjectKey(e), e.type(), e.reason(), e.reporting_component(),
                     e.reporting_instance());
}

}  // namespace

api::ObjectReference ReferenceTo(const google::protobuf::Message& object) {
  api::ObjectReference ref;
  const api::KindInfo* kind = api::KindOf(object);
  assert(kind != nullptr);
  if (kind != nullptr) {
    ref.set_kind(kind->kind);
    ref.set_api_version(kind->ApiVersion());
  }
  if (const api::ObjectMeta* meta = api::GetMeta(object)) {
    ref.set_namespace_(meta->namespace_());
    ref.set_name(meta->name());
    ref.set_uid(meta->uid());
    ref.set_resource_version(meta->resource_version());
  }
  return ref;
}

EventRecorder::EventRecorder(Env& env, ApiClient* client, EventRecorderOptions options)
    : env_(env), client_(client), options_(std::move(options)) {
  assert(!options_.component.empty());
  if (options_.instance.empty()) options_.instance = env_.host;
}

EventRecorder::~EventRecorder() {
  *alive_ = false;
  if (retry_timer_ != 0) env_.clock->Cancel(retry_timer_);
}

bool EventRecorder::Event(const google::protobuf::Message& object, std::string_view type, std::string_view reason,
                          std::string_view message) {
  return Event(ReferenceTo(object), type, reason, message);
}

bool EventRecorder::Event(const api::ObjectReference& object, std::string_view type, std::string_view reason,
                          std::string_view message) {
  if (queue_.size() >= options_.max_queued) {
    ++stats_.dropped_full;
    return false;
  }
  api::Event e;
  *e.mutable_involved_object() = object;
  // Events about cluster-scoped objects (Nodes) live in "default", as Kubernetes'.
  e.mutable_metadata()->set_namespace_(object.namespace_().empty() ? "default" : object.namespace_());
  e.set_type(std::string(type));
  e.set_reason(std::string(reason));
  e.set_message(std::string(message.substr(0, options_.max_message_bytes)));
  e.mutable_source()->set_component(options_.component);
  e.mutable_source()->set_host(options_.host);
  e.set_reporting_component(options_.component);
  e.set_reporting_instance(options_.instance);
  *e.mutable_first_timestamp() = WallTimestamp(env_);
  *e.mutable_last_timestamp() = e.first_timestamp();
  e.set_count(1);
  queue_.push_back(std::move(e));
  ++stats_.recorded;
  Kick();
  return true;
}

void EventRecorder::Kick() {
  if (in_flight_ || kick_pending_ || queue_.empty()) return;
  kick_pending_ = true;
  env_.clock->Schedule(Nanos(0), [this, alive = alive_] {
    if (!*alive) return;
    kick_pending_ = false;
    SendNext();
  });
}

void EventRecorder::SendNext() {
  while (!in_flight_ && !queue_.empty()) {
    Pending p;
    p.event = std::move(queue_.front());
    queue_.pop_front();
    if (!Correlate(p)) continue;
    Write(std::move(p));
  }
}

template <typename V>
void EventRecorder::Remember(std::map<std::string, V>& cache, std::list<std::string>& order, const std::string& key,
                             V value) {
  auto [it, inserted] = cache.insert_or_assign(key, std::move(value));
  (void)it;
  if (!inserted) return;
  order.push_back(key);
  while (cache.size() > options_.max_cache_entries && !order.empty()) {
    cache.erase(order.front());
    order.pop_front();
  }
}

bool EventRecorder::Correlate(Pending& p) {
  api::Event& e = p.event;
  const Nanos now = env_.clock->MonotonicNow();
  // Spam filter: a token bucket per (source, involved object).
  const std::string object_key = ObjectKey(e);
  const Nanos capacity = options_.spam_refill * options_.spam_burst;
  auto bucket_it = spam_.find(object_key);
  Bucket bucket = bucket_it == spam_.end() ? Bucket{capacity, now} : bucket_it->second;
  bucket.level = std::min(capacity, bucket.level + (now - bucket.updated));
  bucket.updated = now;
  const bool allowed = bucket.level >= options_.spam_refill;
  if (allowed) bucket.level -= options_.spam_refill;
  Remember(spam_, spam_order_, object_key, bucket);
  if (!allowed) {
    ++stats_.dropped_spam;
    return false;
  }

  // Aggregation: many similar events (same reason, different messages) become one.
  const std::string aggregate_key = AggregateKey(e);
  auto sim_it = similar_.find(aggregate_key);
  Similar similar = sim_it == similar_.end() ? Similar{} : sim_it->second;
  if (now - similar.last > options_.aggregate_interval) similar.messages.clear();
  similar.last = now;
  // client-go inserts the message and aggregates once the set reaches the threshold, then
  // pops an arbitrary member to stay below it; we pop the message just added (deterministic).
  const bool aggregate = similar.messages.insert(e.message()).second && similar.messages.size() >= options_.max_similar;
  if (aggregate) similar.messages.erase(e.message());
  Remember(similar_, similar_order_, aggregate_key, std::move(similar));
  if (aggregate) {
    ++stats_.aggregated;
    e.set_message(std::string("(combined from similar events): ") + e.message());
    p.dedupe_key = aggregate_key;
  } else {
    p.dedupe_key = aggregate_key + "\x1f" + e.message();
  }

  // Deduplication: a repeat patches the Event already written.
  auto w = written_.find(p.dedupe_key);
  if (w != written_.end()) {
    p.patch = true;
    e.mutable_metadata()->set_name(w->second.name);
    e.set_count(w->second.count + 1);
    *e.mutable_first_timestamp() = w->second.first_timestamp;
  }
  return true;
}

std::string EventRecorder::NewName(const std::string& involved_name) {
  last_name_ns_ = std::max(env_.clock->WallNow().count(), last_name_ns_ + 1);
  return fmt::format("{}.{:x}", involved_name, static_cast<uint64_t>(last_name_ns_));
}

void EventRecorder::Write(Pending p) {
  in_flight_ = true;
  ++p.tries;
  if (!p.patch && p.event.metadata().name().empty()) {
    p.event.mutable_metadata()->set_name(NewName(p.event.involved_object().name()));
  }
  auto on_done = [this, alive = alive_, p](const ApiResult& r) mutable {
    if (!*alive) return;
    OnWritten(std::move(p), r);
  };
  if (p.patch) {
    const api::Event& e = p.event;
    nlohmann::json patch = {{"count", e.count()},
                            {"lastTimestamp", Rfc3339(e.last_timestamp())},
                            {"message", e.message()}};
    client_->Patch(EventsKind(), e.metadata().namespace_(), e.metadata().name(), "application/merge-patch+json",
                   patch.dump(), std::move(on_done));
    return;
  }
  client_->Create(EventsKind(), p.event, std::move(on_done));
}

void EventRecorder::OnWritten(Pending p, const ApiResult& result) {
  in_flight_ = false;
  if (result.ok()) {
    p.patch ? ++stats_.patched : ++stats_.created;
    const api::Event& e = p.event;
    Remember(written_, written_order_, p.dedupe_key,
             Written{e.metadata().namespace_(), e.metadata().name(), e.count(), e.first_timestamp()});
    Finish();
    return;
  }
  const bool unanswered = !result.status.ok() || result.code == 429 || result.code >= 500;
  if (p.patch && result.status.ok() && result.code == 404) {
    // The Event is gone (its TTL ran out): write it anew, keeping the count.
    p.patch = false;
    p.event.mutable_metadata()->clear_name();
    p.event.mutable_metadata()->clear_resource_version();
    p.tries = 0;
    Write(std::move(p));
    return;
  }
  if (!p.patch && result.status.ok() && result.code == 409) {
    // Another recorder took the name at the same nanosecond: pick the next one.
    p.event.mutable_metadata()->clear_name();
    if (p.tries < options_.max_tries) {
      Write(std::move(p));
      return;
    }
  }
  if (unanswered && p.tries < options_.max_tries) {
    Retry(std::move(p));
    return;
  }
  ++stats_.failed;
  if (env_.log != nullptr) {
    env_.log->Log(LogLevel::kWarning, options_.component,
                  fmt::format("event {} about {}/{} dropped: {}", p.event.reason(),
                              p.event.involved_object().namespace_(), p.event.involved_object().name(),
                              result.Describe()));
  }
  Finish();
}

void EventRecorder::Retry(Pending p) {
  ++stats_.retries;
  in_flight_ = true;  // the queue waits behind this event, as client-go's sink does
  retry_timer_ = env_.clock->Schedule(options_.retry_delay, [this, alive = alive_, p = std::move(p)]() mutable {
    if (!*alive) return;
    retry_timer_ = 0;
    in_flight_ = false;
    Write(std::move(p));
  });
}

void EventRecorder::Finish() { Kick(); }

}  // namespace ksim::client
