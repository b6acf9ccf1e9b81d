// ApiHandler: get, list and watch.
#include "cluster/apiserver/handler_internal.h"

#include <fmt/format.h>

namespace ksim::apiserver {

namespace gp = google::protobuf;
using namespace handler_internal;  // NOLINT: this file's own helpers

// --- get and list -------------------------------------------------------------------------

void ApiHandler::Get(std::shared_ptr<Call> call) {
  if (!call->request.subresource().empty() && call->request.subresource() != "status") {
    return ReplyStatus(*call, 405, "MethodNotAllowed", "get is not supported on this subresource");
  }
  store_.Get(call->key, [this, call, alive = alive_](Status s, const StoredObject* o) {
    if (!*alive) return;
    if (!s.ok()) return ReplyStoreError(*call, s);
    if (o == nullptr) {
      return ReplyNotFound(*call);
    }
    ReplyObject(*call, 200, o->value, o->mod_revision);
  });
}

Status handler_internal::ParseListFilter(const Request& r, const api::KindInfo& info, WatchFilter* f) {
  f->namespace_ = info.namespaced ? r.namespace_() : "";
  if (Status s = api::LabelMatcher::Parse(QueryValue(r, "labelSelector"), &f->labels); !s.ok()) {
    return Status::InvalidArgument("labelSelector: " + s.message());
  }
  if (Status s = api::FieldSelector::Parse(QueryValue(r, "fieldSelector"), &f->fields); !s.ok()) {
    return Status::InvalidArgument("fieldSelector: " + s.message());
  }
  for (const std::string& field : f->fields.Fields()) {
    if (!IsSelectableField(info, field)) {
      return Status::InvalidArgument(
          fmt::format("fieldSelector: field label not supported: \"{}\" for {}", field, info.kind));
    }
  }
  return Status::Ok();
}

void ApiHandler::List(std::shared_ptr<Call> call) {
  const Request& r = call->request;
  WatchFilter filter;
  if (Status s = ParseListFilter(r, *call->info, &filter); !s.ok()) return ReplyStatus(*call, 400, "BadRequest", s.message());
  int64_t limit = 0;
  if (const std::string l = QueryValue(r, "limit"); !l.empty() && !api::ParseResourceVersion(l, &limit)) {
    return ReplyStatus(*call, 400, "BadRequest", "limit: \"" + l + "\" is not a non-negative integer");
  }
  const std::string cont = QueryValue(r, "continue");
  const std::string rv = QueryValue(r, "resourceVersion");
  if (cont.empty() && rv == "0" && limit == 0) {
    // resourceVersion=0: any recent state will do, so the cache answers (informers' lists).
    return EnsureCache(*call->info, [this, call, filter](ResourceCache& rc) {
      const std::vector<CachedObjectPtr> items = rc.cache.List(filter);
      api::ListMeta meta;
      meta.set_resource_version(std::to_string(rc.cache.revision()));
      std::vector<std::pair<std::string_view, int64_t>> views;
      views.reserve(items.size());
      for (const CachedObjectPtr& o : items) views.emplace_back(o->bytes, o->resource_version);
      ReplyList(*call, meta, views);
    });
  }
  int64_t revision = 0;
  std::string start = ResourcePrefix(call->info->resource, filter.namespace_);
  if (!cont.empty()) {
    std::string raw;
    ContinueToken token;
    if (!Base64Decode(cont, &raw) || !token.ParseFromString(raw) || token.revision() <= 0 ||
        token.start_key().compare(0, start.size(), start) != 0) {
      return ReplyStatus(*call, 400, "BadRequest", "continue: the token is malformed");
    }
    revision = token.revision();
    start = token.start_key();
  } else if (!rv.empty() && rv != "0" && !api::ParseResourceVersion(rv, &revision)) {
    return ReplyStatus(*call, 400, "BadRequest", "resourceVersion: \"" + rv + "\" is not a resource version");
  }
  ListFromStore(call, std::move(filter), revision, start, limit, {});
}

void ApiHandler::ListFromStore(std::shared_ptr<Call> call, WatchFilter filter, int64_t revision, std::string start_key,
                               int64_t limit, std::vector<StoredObject> acc) {
  const std::string end = PrefixEnd(ResourcePrefix(call->info->resource, filter.namespace_));
  const int64_t page = limit > 0 ? std::min(options_.max_list_page, limit - static_cast<int64_t>(acc.size()) + 1)
                                 : options_.max_list_page;
  store_.List(
      start_key, end, revision, page,
      [this, call, filter, limit, revision, acc = std::move(acc), alive = alive_](ListPage p) mutable {
                if (!*alive) return;
                // The store's header carries its current revision; a read at a past
                // revision keeps that one for the whole list.
                if (revision != 0 && p.status.ok()) p.revision = revision;
                if (!p.status.ok()) {
                  if (p.compacted) {
                    return ReplyStatus(*call, 410, "Expired",
                                       "The provided continue parameter is too old to display a consistent list "
                                       "result. You can start a new list without the continue parameter.");
                  }
                  return ReplyStoreError(*call, p.status);
                }
                // Where the next store page starts, taken before the items are moved out.
                const std::string after_page = p.items.empty() ? "" : p.items.back().key + '\0';
                std::string next_key;
                bool more = p.more;
                size_t bytes = 0;
                for (const StoredObject& o : acc) bytes += o.value.size();
                bool bytes_full = false;
                for (StoredObject& o : p.items) {
                  // A page asked for with `limit` also ends at max_list_page_bytes, below
                  // `limit` if need be (it always holds one object), with a continue token.
                  bytes_full = limit > 0 && !acc.empty() && bytes + o.value.size() > options_.max_list_page_bytes;
                  if ((limit > 0 && static_cast<int64_t>(acc.size()) == limit) || bytes_full) {
                    next_key = o.key;  // the first key of the next page
                    more = true;
                    break;
                  }

                  const size_t size = o.value.size();
                  if (filter.labels.Empty() && filter.fields.Empty()) {
                    acc.push_back(std::move(o));
                    bytes += size;
                  } else if (CachedObjectPtr c = ToCached(*call->info, o.key, o.value, o.mod_revision);
                             filter.Matches(*c)) {
                    acc.push_back(std::move(o));
                    bytes += size;
                  }
                  if (limit == 0 && bytes > options_.max_reply_bytes) {
                    // Unpaged and already too large for one reply: answer now, read no more.
                    return ReplyTooLarge(*call, acc.size(), bytes);
                  }
                }
                if (next_key.empty() && p.more) next_key = after_page;
                const bool full = (limit > 0 && static_cast<int64_t>(acc.size()) >= limit) || bytes_full;
                if (p.more && !full && !next_key.empty()) {
                  // Keep reading at the same revision until the page is full or the range ends.
                  return ListFromStore(call, std::move(filter), p.revision, next_key, limit, std::move(acc));
                }
                api::ListMeta lm;
                lm.set_resource_version(std::to_string(p.revision));
                if (more && !next_key.empty()) {
                  ContinueToken token;
                  token.set_revision(p.revision);
                  token.set_start_key(next_key);
                  lm.set_continue_(Base64Encode(SerializeDeterministic(token)));
                }
                std::vector<std::pair<std::string_view, int64_t>> views;
                views.reserve(acc.size());
                for (const StoredObject& o : acc) views.emplace_back(o.value, o.mod_revision);
                ReplyList(*call, lm, views);
              },
      static_cast<int64_t>(options_.max_list_page_bytes));
}

// --- watch --------------------------------------------------------------------------------

void ApiHandler::Watch(std::shared_ptr<Call> call) {
  const uint64_t handle = call->watch_handle;
  WatchFilter filter;
  if (Status s = ParseListFilter(call->request, *call->info, &filter); !s.ok()) {
    watches_.erase(handle);
    return ReplyStatus(*call, 400, "BadRequest", s.message());
  }
  if (!call->request.name().empty()) filter.name = call->request.name();
  int64_t from = 0;
  const std::string rv = QueryValue(call->request, "resourceVersion");
  if (!rv.empty() && !api::ParseResourceVersion(rv, &from)) {
    watches_.erase(handle);
    return ReplyStatus(*call, 400, "BadRequest", "resourceVersion: \"" + rv + "\" is not a resource version");
  }
  const bool bookmarks = QueryValue(call->request, "allowWatchBookmarks") == "true";
  EnsureCache(*call->info, [this, call, filter, from, bookmarks, handle](ResourceCache& rc) {
    auto ref = watches_.find(handle);
    if (ref == watches_.end() || ref->second.canceled) {
      watches_.erase(handle);
      return;
    }
    // The stream opens with a 200; events follow, one frame per event.
    Response open;
    open.set_id(call->request.id());
    open.set_code(200);
    open.set_content_type(kProtobuf);
    if (!call->reply(std::move(open))) {
      watches_.erase(handle);
      return;
    }
    const api::KindInfo* info = call->info;
    WatchSink sink = [this, call, info, bookmarks, handle](const WatcherEvent& e) {
      if (e.type == WatchEventType::kBookmark && !bookmarks) return true;
      if (e.type == WatchEventType::kError) {
        ++stats_.watch_events_sent;
        ++stats_.watch_frames_sent;
        if (!FlushWatchFrame(handle)) return false;  // what came before goes first
        return call->reply(GoneFrame(call->request.id(), "the watch cache was re-listed; watch again from a fresh list"));
      }
      PendingWatchFrame& pending = pending_watch_frames_[handle];
      if (pending.frame.events().empty()) {
        pending.call = call;
        pending.frame.set_id(call->request.id());
        pending.frame.set_code(200);
      }
      WatchEvent* out = pending.frame.add_events();
      out->set_type(std::string(WatchEventTypeName(e.type)));
      if (e.type == WatchEventType::kBookmark) {
        out->set_resource_version(e.revision);
      } else {
        out->set_object(e.object->bytes + RevisionSuffix(*info, e.object->resource_version));
        out->set_resource_version(e.object->resource_version);
        pending.bytes += out->object().size();
      }
      ++stats_.watch_events_sent;
      const bool room = pending.frame.events_size() < kMaxWatchFrameEvents && pending.bytes < kMaxWatchFrameBytes;
      if (gathering_watch_frames_ && room) return true;  // sent when OnStoreEvents ends
      return FlushWatchFrame(handle);
    };
    int64_t id = 0;
    Status s = rc.cache.Watch(filter, from, std::move(sink), &id);
    if (!s.ok()) {
      Response gone = GoneFrame(call->request.id(), s.message());
      call->reply(std::move(gone));
      watches_.erase(handle);
      return;
    }
    ref->second.cache_watch_id = id;
  });
}

bool ApiHandler::FlushWatchFrame(uint64_t handle) {
  auto it = pending_watch_frames_.find(handle);
  if (it == pending_watch_frames_.end()) return true;
  PendingWatchFrame pending = std::move(it->second);
  pending_watch_frames_.erase(it);
  ++stats_.watch_frames_sent;
  return pending.call->reply(std::move(pending.frame));
}

void ApiHandler::FlushWatchFrames() {
  while (!pending_watch_frames_.empty()) {
    const uint64_t handle = pending_watch_frames_.begin()->first;
    if (FlushWatchFrame(handle)) continue;
    // The watcher cannot take more: the cache drops it, as when its sink refuses.
    auto ref = watches_.find(handle);
    if (ref == watches_.end()) continue;
    auto rc = caches_.find(ref->second.resource);
    if (rc != caches_.end()) rc->second->cache.CancelWatch(ref->second.cache_watch_id);
  }
}

void ApiHandler::CancelWatch(uint64_t handle) {
  pending_watch_frames_.erase(handle);
  auto it = watches_.find(handle);
  if (it == watches_.end()) return;
  if (it->second.cache_watch_id == 0) {
    it->second.canceled = true;  // still waiting for the cache; dropped when it is ready
    return;
  }
  auto rc = caches_.find(it->second.resource);
  if (rc != caches_.end()) rc->second->cache.CancelWatch(it->second.cache_watch_id);
  watches_.erase(it);
}

void ApiHandler::Bookmark() {
  for (auto& [resource, rc] : caches_) {
    if (rc->cache.ready()) rc->cache.Bookmark();
  }
}

size_t ApiHandler::ExpireWatchWindows() {
  size_t ended = 0;
  for (auto& [resource, rc] : caches_) {
    if (!rc->cache.ready()) continue;
    ended += rc->cache.watcher_count();
    rc->cache.ExpireWindow();
  }
  return ended;
}

}  // namespace ksim::apiserver
