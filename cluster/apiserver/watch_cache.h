// WatchCache: one resource's objects as of a store revision, the recent events that led
// there, and the watchers fed from them. Each apiserver keeps one per resource, fed by a
// single store watch, so N clients watching pods cost the store one watch, not N.
//
// Watchers are indexed: a watcher whose field selector pins spec.nodeName (a kubelet) is
// found through that node name, a namespaced watcher through its namespace, and only the
// rest are visited for every event. An event therefore costs the watchers that may want
// it, not every watcher: 5,000 kubelets watching their own pods cost each pod event one
// lookup.
//
// Lists are indexed the same way: a namespace is a contiguous key range, and a list with
// spec.nodeName=<node> reads that node's objects from a node index.
//
// Pure data structure: no clock, no I/O. The owner feeds it (Reset, Apply) and drains it.
#pragma once

#include <google/protobuf/message.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster/api/machinery/fields.h"
#include "cluster/api/machinery/labels.h"
#include "cluster/env/status.h"

namespace ksim::apiserver {

// One object as the cache holds it: what filters and indexes need, and its bytes.
struct CachedObject {
  std::string key;
  std::string namespace_;
  std::string name;
  int64_t resource_version = 0;  // the store's mod revision
  std::string bytes;             // the kind's protobuf bytes, resourceVersion unset
  std::map<std::string, std::string> labels;
  // Selectable fields beyond metadata.name and metadata.namespace (those are `name` and
  // `namespace_`), with non-empty values, sorted by name: a field selector treats a
  // missing field as "". A flat vector costs one allocation per object where a map cost
  // one per field, and the names view storage that lives as long as the process (string
  // literals, SelectableFieldName's table): owned copies of them were most of this
  // vector's bytes, in every apiserver's cache.
  std::vector<std::pair<std::string_view, std::string>> fields;

  // The value of a selectable field, "" if it is empty or not a field of this kind.
  std::string_view Field(std::string_view field) const;
  // Builds `fields` from a name -> value map (SelectableFields), dropping empty values.
  // REQUIRES: every name is a selectable field of some kind.
  void SetFields(std::map<std::string, std::string> all);
};
using CachedObjectPtr = std::shared_ptr<const CachedObject>;

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark, kError };
std::string_view WatchEventTypeName(WatchEventType type);  // "ADDED", ...

struct CacheEvent {
  WatchEventType type = WatchEventType::kAdded;
  int64_t revision = 0;
  CachedObjectPtr object;  // after the event (for kDeleted: the object as it was deleted)
  CachedObjectPtr prev;    // before the event (nullptr for kAdded)
};

struct WatchFilter {
  std::string namespace_;  // "" = all namespaces
  std::string name;        // "" = all names (metadata.name=x is folded in here)
  api::LabelMatcher labels;
  api::FieldSelector fields;
  bool Matches(const CachedObject& o) const;
};

// What a watcher receives: the event as seen through its filter (an object leaving the
// filter arrives as kDeleted, one entering as kAdded).
struct WatcherEvent {
  WatchEventType type = WatchEventType::kAdded;
  CachedObjectPtr object;
  int64_t revision = 0;  // for kBookmark: the revision the watcher has seen everything up to
};
// Returns false when the watcher cannot take more (it is then removed; its owner ends the
// stream, and the client re-watches from its last revision).
using WatchSink = std::function<bool(const WatcherEvent&)>;

struct WatchCacheOptions {
  std::string key_prefix;         // "/registry/pods/": every key starts with it
  size_t window_events = 100000;  // events kept for watches that start in the past
};

struct WatchCacheStats {
  uint64_t events = 0;
  uint64_t deliveries = 0;
  uint64_t watcher_visits = 0;  // candidate watchers examined (the index's cost)
};

class WatchCache {
 public:
  explicit WatchCache(WatchCacheOptions options = {}) : options_(options) {}

  // Replaces the content with a full list read at `revision`. Existing watchers are
  // ended (their sinks see kError with 410), since the events between are unknown.
  void Reset(std::vector<CachedObjectPtr> objects, int64_t revision);
  // Applies one store event. REQUIRES: revision > revision(). A put of an absent key is
  // kAdded, of a present key kModified; a delete of an absent key is ignored.
  void ApplyPut(CachedObjectPtr object, int64_t revision);
  void ApplyDelete(const std::string& key, int64_t revision);

  // The revision the cache reflects: every change at or below it has been applied.
  int64_t revision() const { return revision_; }
  // Watches that start below this revision have lost events (410 Gone).
  int64_t window_start() const { return window_start_; }
  bool ready() const { return ready_; }

  // Current objects matching `filter`, ascending by key.
  std::vector<CachedObjectPtr> List(const WatchFilter& filter) const;
  CachedObjectPtr Get(const std::string& key) const;
  size_t size() const { return objects_.size(); }

  // Starts a watch. start_revision 0: synthetic kAdded events for the current matching
  // objects, then changes. Otherwise: the changes after start_revision, replayed from the
  // window. Gone (Status::NotFound with "too old resource version") if start_revision is
  // below the window. Returns the watcher id.
  Status Watch(const WatchFilter& filter, int64_t start_revision, WatchSink sink, int64_t* watch_id);
  void CancelWatch(int64_t watch_id);
  // Sends every watcher a bookmark at the cache's revision.
  void Bookmark();
  // Forgets the event window, as when the store's history is compacted past it: every
  // watcher ends with 410 Gone and a watch resuming below revision() is refused, so
  // clients re-list. Objects and revision stay. (A fault for tests and scenarios.)
  void ExpireWindow();
  size_t watcher_count() const { return watchers_.size(); }
  const WatchCacheStats& stats() const { return stats_; }

 private:
  struct Watcher {
    WatchFilter filter;
    WatchSink sink;
    std::string bucket;  // its index bucket: "*", "ns/<namespace>" or "node/<name>"
  };
  static std::string BucketOf(const WatchFilter& filter);
  void Dispatch(const CacheEvent& event);
  // Delivers `event` to watcher `id` through its filter; false if the watcher must go.
  bool Deliver(int64_t id, Watcher& watcher, const CacheEvent& event);
  void Remove(int64_t id);
  void EndWatchers();  // each sink sees kError (410), then the watcher is removed
  void Record(CacheEvent event);
  void IndexNode(const CachedObject& o, bool add);

  WatchCacheOptions options_;
  bool ready_ = false;
  int64_t revision_ = 0;
  int64_t window_start_ = 0;
  // Keyed by a view of each object's own key: cached objects are immutable, and an entry
  // is re-keyed whenever its object is replaced (every apiserver holds one per object).
  std::map<std::string_view, CachedObjectPtr, std::less<>> objects_;
  // spec.nodeName -> keys of the objects bound there (lists of one node's pods).
  std::map<std::string, std::set<std::string, std::less<>>, std::less<>> by_node_;
  std::deque<CacheEvent> window_;
  int64_t next_watch_id_ = 1;
  std::map<int64_t, Watcher> watchers_;
  std::map<std::string, std::set<int64_t>, std::less<>> buckets_;
  std::vector<int64_t> doomed_;  // watchers whose sinks refused, removed after dispatch
  WatchCacheStats stats_;
};

}  // namespace ksim::apiserver
