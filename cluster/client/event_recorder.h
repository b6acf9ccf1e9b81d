// EventRecorder: records core/v1 Events about objects, as client-go's record package does
// (EventRecorder + EventBroadcaster + EventCorrelator + the API sink), for one event loop.
//
//   - Event(object, type, reason, message) queues an Event (bounded: beyond max_queued
//     it is dropped and counted) and returns at once;
//   - events are written one at a time, in order, as client-go's sink does; before
//     writing, the correlator
//       * drops an event when the (source, involved object) spam filter has no token
//         (a bucket of 25, refilled one per 5 minutes),
//       * aggregates: once 10 events with the same source, object, type and reason but
//         different messages arrived within 10 minutes, further ones become one Event
//         "(combined from similar events): <message>",
//       * deduplicates: an event identical to one already written (same object, type,
//         reason, message, source) PATCHes that Event's count and lastTimestamp instead of
//         creating a new one (a 404 there, e.g. the Event's TTL ran out, creates it anew);
//   - a write that got no answer (or 429/5xx) is retried up to max_tries times, every
//     retry_delay; other refusals drop the event.
// Names are "<involved name>.<hex wall-clock ns>", as client-go's, kept unique per recorder.
#pragma once

#include <google/protobuf/message.h>

#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "cluster/api/core.pb.h"
#include "cluster/client/api_client.h"
#include "cluster/env/env.h"

namespace ksim::client {

struct EventRecorderOptions {
  std::string component;  // source.component and reportingComponent, e.g. "node-controller"
  std::string host;       // source.host (kubelets set their node name; controllers leave it "")
  std::string instance;   // reportingInstance; "" = env.host
  size_t max_queued = 1000;          // client-go's maxQueuedEvents
  size_t max_cache_entries = 4096;   // correlator caches (client-go's maxLruCacheEntries)
  size_t max_message_bytes = 1024;   // longer messages are cut (events.k8s.io's note limit)
  int64_t spam_burst = 25;           // spam filter bucket per (source, object)
  Nanos spam_refill = Seconds(300);  // one token per this interval (qps 1/300)
  size_t max_similar = 10;           // aggregation threshold (distinct messages)
  Nanos aggregate_interval = Seconds(600);
  int max_tries = 12;                // client-go's maxTriesPerEvent
  Nanos retry_delay = Seconds(10);
};

struct EventRecorderStats {
  uint64_t recorded = 0;       // Event() calls accepted into the queue
  uint64_t dropped_full = 0;   // refused: the queue was full
  uint64_t dropped_spam = 0;   // dropped by the spam filter
  uint64_t aggregated = 0;     // turned into a "(combined from similar events)" event
  uint64_t created = 0;        // Events created
  uint64_t patched = 0;        // repeats written as a count increment
  uint64_t retries = 0;
  uint64_t failed = 0;         // given up (refused, or out of tries)
};

// The reference to `object` an Event's involvedObject carries (kind, apiVersion,
// namespace, name, uid, resourceVersion). REQUIRES: a registered kind.
api::ObjectReference ReferenceTo(const google::protobuf::Message& object);

class EventRecorder {
 public:
  // REQUIRES: env and client outlive the recorder; options.component non-empty.
  EventRecorder(Env& env, ApiClient* client, EventRecorderOptions options);
  ~EventRecorder();
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  // Queues an Event about `object`; `type` is "Normal" or "Warning". Never blocks; returns
  // false when the event was dropped because the queue is full.
  bool Event(const google::protobuf::Message& object, std::string_view type, std::string_view reason,
             std::string_view message);
  bool Event(const api::ObjectReference& object, std::string_view type, std::string_view reason,
             std::string_view message);

  size_t queued() const { return queue_.size(); }
  bool idle() const { return queue_.empty() && !in_flight_; }
  const EventRecorderStats& stats() const { return stats_; }
  const EventRecorderOptions& options() const { return options_; }

 private:
  struct Pending {
    api::Event event;
    std::string dedupe_key;
    bool patch = false;  // a repeat of an Event already written
    int tries = 0;
  };
  // What the correlator remembers of an Event it wrote.
  struct Written {
    std::string ns, name;
    int32_t count = 0;
    google::protobuf::Timestamp first_timestamp;
  };
  struct Similar {
    std::set<std::string> messages;
    Nanos last{0};
  };
  struct Bucket {
    Nanos level{0};  // refill accumulated, in time; one token = spam_refill
    Nanos updated{0};
  };

  void Kick();
  void SendNext();
  // Runs the correlator over a dequeued event: false if the spam filter dropped it.
  bool Correlate(Pending& p);
  void Write(Pending p);
  void OnWritten(Pending p, const ApiResult& result);
  void Retry(Pending p);
  void Finish();
  std::string NewName(const std::string& involved_name);
  template <typename V>
  void Remember(std::map<std::string, V>& cache, std::list<std::string>& order, const std::string& key, V value);

  Env& env_;
  ApiClient* client_;
  EventRecorderOptions options_;
  std::deque<api::Event> queue_;
  bool in_flight_ = false;
  bool kick_pending_ = false;
  TimerId retry_timer_ = 0;
  int64_t last_name_ns_ = 0;
  // Correlator caches, each bounded by max_cache_entries (oldest insertion evicted).
  std::map<std::string, Bucket> spam_;
  std::list<std::string> spam_order_;
  std::map<std::string, Similar> similar_;
  std::list<std::string> similar_order_;
  std::map<std::string, Written> written_;
  std::list<std::string> written_order_;
  EventRecorderStats stats_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ksim::client
