#include "cluster/apiserver/watch_cache.h"

#include <cassert>

#include <algorithm>
#include <utility>

#include "cluster/apiserver/strategy/strategy.h"

namespace ksim::apiserver {

std::string_view WatchEventTypeName(WatchEventType type) {
  switch (type) {
    case WatchEventType::kAdded: return "ADDED";
    case WatchEventType::kModified: return "MODIFIED";
    case WatchEventType::kDeleted: return "DELETED";
    case WatchEventType::kBookmark: return "BOOKMARK";
    case WatchEventType::kError: return "ERROR";
  }
  return "ERROR";
}

std::string_view CachedObject::Field(std::string_view field) const {
  if (field == "metadata.name") return name;
  if (field == "metadata.namespace") return namespace_;
  auto it = std::lower_bound(fields.begin(), fields.end(), field,
                             [](const std::pair<std::string_view, std::string>& f, std::string_view n) { return f.first < n; });
  return it != fields.end() && it->first == field ? std::string_view(it->second) : std::string_view();
}

void CachedObject::SetFields(std::map<std::string, std::string> all) {
  fields.clear();
  fields.reserve(all.size());
  for (auto& [field, value] : all) {  // std::map: already sorted
    if (value.empty() || field == "metadata.name" || field == "metadata.namespace") continue;
    const std::string_view interned = SelectableFieldName(field);
    assert(!interned.empty());  // SelectableFields only fills names of its own table
    fields.emplace_back(interned, std::move(value));
  }
}

bool WatchFilter::Matches(const CachedObject& o) const {
  if (!namespace_.empty() && o.namespace_ != namespace_) return false;
  if (!name.empty() && o.name != name) return false;
  if (!labels.Empty() && !labels.Matches(o.labels)) return false;
  if (!fields.Empty() && !fields.MatchesLookup([&o](std::string_view field) { return o.Field(field); })) return false;
  return true;
}

std::string WatchCache::BucketOf(const WatchFilter& filter) {
  if (auto node = filter.fields.RequiredValue("spec.nodeName")) return "node/" + *node;
  if (!filter.namespace_.empty()) return "ns/" + filter.namespace_;
  return "*";
}

void WatchCache::EndWatchers() {
  std::vector<int64_t> ids;
  for (const auto& [id, w] : watchers_) ids.push_back(id);
  for (int64_t id : ids) {
    auto it = watchers_.find(id);
    WatcherEvent gone{WatchEventType::kError, nullptr, revision_};
    it->second.sink(gone);
    Remove(id);
  }
}

void WatchCache::Reset(std::vector<CachedObjectPtr> objects, int64_t revision) {
  // Watchers cannot be told what happened between their last event and the list.
  EndWatchers();
  objects_.clear();
  by_node_.clear();
  for (CachedObjectPtr& o : objects) {
    IndexNode(*o, true);
    const std::string_view key = o->key;  // o's own bytes: the map keeps o alive
    objects_.erase(key);                   // a list names each key once; if not, the last wins
    objects_.emplace(key, std::move(o));
  }
  window_.clear();
  revision_ = revision;
  window_start_ = revision;
  ready_ = true;
}

void WatchCache::ApplyPut(CachedObjectPtr object, int64_t revision) {
  auto it = objects_.find(object->key);
  CacheEvent e;
  e.revision = revision;
  e.object = object;
  if (it == objects_.end()) {
    e.type = WatchEventType::kAdded;
    IndexNode(*object, true);
    objects_.emplace(object->key, std::move(object));
  } else {
    e.type = WatchEventType::kModified;
    e.prev = it->second;
    IndexNode(*it->second, false);
    IndexNode(*object, true);
    // Re-keyed to the new object's bytes (the old object may be freed); no allocation.
    auto node = objects_.extract(it);
    node.key() = object->key;
    node.mapped() = std::move(object);
    objects_.insert(std::move(node));
  }
  revision_ = revision;
  Record(std::move(e));
}

void WatchCache::ApplyDelete(const std::string& key, int64_t revision) {
  revision_ = revision;
  auto it = objects_.find(key);
  if (it == objects_.end()) return;
  CacheEvent e;
  e.type = WatchEventType::kDeleted;
  e.revision = revision;
  e.prev = it->second;
  // The deleted object as watchers see it: its last state at the deletion revision.
  auto gone = std::make_shared<CachedObject>(*it->second);
  gone->resource_version = revision;
  e.object = std::move(gone);
  IndexNode(*it->second, false);
  objects_.erase(it);
  Record(std::move(e));
}

void WatchCache::Record(CacheEvent event) {
  ++stats_.events;
  Dispatch(event);
  window_.push_back(std::move(event));
  while (window_.size() > options_.window_events) {
    window_start_ = window_.front().revision;
    window_.pop_front();
  }
}

void WatchCache::IndexNode(const CachedObject& o, bool add) {
  const std::string_view node = o.Field("spec.nodeName");
  if (node.empty()) return;  // unbound objects are found by scanning (they are few once scheduled)
  auto it = by_node_.find(node);
  if (add) {
    if (it == by_node_.end()) it = by_node_.emplace(std::string(node), std::set<std::string, std::less<>>{}).first;
    it->second.insert(o.key);
  } else if (it != by_node_.end()) {
    it->second.erase(o.key);
    if (it->second.empty()) by_node_.erase(it);
  }
}

std::vector<CachedObjectPtr> WatchCache::List(const WatchFilter& filter) const {
  std::vector<CachedObjectPtr> out;
  // A kubelet's list (spec.nodeName=<node>) reads its node's objects only.
  if (auto node = filter.fields.RequiredValue("spec.nodeName"); node && !node->empty()) {
    auto it = by_node_.find(*node);
    if (it == by_node_.end()) return out;
    for (const std::string& key : it->second) {
      const CachedObjectPtr& o = objects_.at(key);
      if (filter.Matches(*o)) out.push_back(o);
    }
    return out;
  }
  auto it = objects_.begin();
  std::string ns_prefix;
  if (!filter.namespace_.empty()) {
    // A namespace's keys are the contiguous run <prefix><namespace>/...
    ns_prefix = options_.key_prefix + filter.namespace_ + "/";
    it = objects_.lower_bound(ns_prefix);
  }
  for (; it != objects_.end(); ++it) {
    if (!ns_prefix.empty() && it->first.compare(0, ns_prefix.size(), ns_prefix) != 0) break;
    if (filter.Matches(*it->second)) out.push_back(it->second);
  }
  return out;
}

CachedObjectPtr WatchCache::Get(const std::string& key) const {
  auto it = objects_.find(key);
  return it == objects_.end() ? nullptr : it->second;
}

Status WatchCache::Watch(const WatchFilter& filter, int64_t start_revision, WatchSink sink, int64_t* watch_id) {
  if (start_revision != 0 && start_revision < window_start_) {
    return Status::NotFound("too old resource version: " + std::to_string(start_revision) + " (" +
                            std::to_string(window_start_) + ")");
  }
  const int64_t id = next_watch_id_++;
  Watcher w{filter, std::move(sink), BucketOf(filter)};
  bool alive = true;
  if (start_revision == 0) {
    for (const CachedObjectPtr& o : List(filter)) {
      if (!(alive = w.sink(WatcherEvent{WatchEventType::kAdded, o, o->resource_version}))) break;
    }
  } else {
    for (const CacheEvent& e : window_) {
      if (e.revision <= start_revision) continue;
      if (!(alive = Deliver(id, w, e))) break;
    }
  }
  if (!alive) return Status::Unavailable("watcher refused its first events");
  buckets_[w.bucket].insert(id);
  watchers_.emplace(id, std::move(w));
  *watch_id = id;
  return Status::Ok();
}

void WatchCache::CancelWatch(int64_t watch_id) { Remove(watch_id); }

void WatchCache::Remove(int64_t id) {
  auto it = watchers_.find(id);
  if (it == watchers_.end()) return;
  auto b = buckets_.find(it->second.bucket);
  if (b != buckets_.end()) {
    b->second.erase(id);
    if (b->second.empty()) buckets_.erase(b);
  }
  watchers_.erase(it);
}

void WatchCache::Bookmark() {
  for (auto& [id, w] : watchers_) {
    if (!w.sink(WatcherEvent{WatchEventType::kBookmark, nullptr, revision_})) doomed_.push_back(id);
  }
  for (int64_t id : doomed_) Remove(id);
  doomed_.clear();
}

void WatchCache::ExpireWindow() {
  EndWatchers();
  window_.clear();
  window_start_ = revision_;
}

bool WatchCache::Deliver(int64_t id, Watcher& w, const CacheEvent& e) {
  ++stats_.watcher_visits;
  const bool now = e.type != WatchEventType::kDeleted && w.filter.Matches(*e.object);
  const bool before = e.prev != nullptr && w.filter.Matches(*e.prev);
  WatcherEvent out;
  out.revision = e.revision;
  if (now && before) {
    out.type = WatchEventType::kModified;
    out.object = e.object;
  } else if (now) {
    out.type = WatchEventType::kAdded;
    out.object = e.object;
  } else if (before) {
    out.type = WatchEventType::kDeleted;  // deleted, or left the filter: seen as it now is
    out.object = e.object;
  } else {
    return true;
  }
  ++stats_.deliveries;
  (void)id;
  return w.sink(out);
}

void WatchCache::Dispatch(const CacheEvent& e) {
  auto visit = [&](std::string_view bucket) {
    auto b = buckets_.find(bucket);
    if (b == buckets_.end()) return;
    for (int64_t id : b->second) {
      Watcher& w = watchers_.at(id);
      if (!Deliver(id, w, e)) doomed_.push_back(id);
    }
  };
  visit("*");
  const CachedObject& o = *e.object;
  visit("ns/" + o.namespace_);
  std::string node_now;
  node_now = std::string(o.Field("spec.nodeName"));
  visit("node/" + node_now);
  if (e.prev != nullptr) {
    const std::string node_before(e.prev->Field("spec.nodeName"));
    if (node_before != node_now) visit("node/" + node_before);
  }
  for (int64_t id : doomed_) Remove(id);
  doomed_.clear();
}

}  // namespace ksim::apiserver
