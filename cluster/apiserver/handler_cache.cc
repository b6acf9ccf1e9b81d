// ApiHandler: the per-resource watch caches, loaded by a paged list and kept current by a store watch.
#include "cluster/apiserver/handler_internal.h"

#include <google/protobuf/arena.h>

namespace ksim::apiserver {

namespace gp = google::protobuf;
using namespace handler_internal;  // NOLINT: this file's own helpers

// --- the watch caches ---------------------------------------------------------------------

CachedObjectPtr ApiHandler::ToCached(const api::KindInfo& info, const std::string& key, const std::string& bytes,
                                     int64_t revision) const {
  auto o = std::make_shared<CachedObject>();
  o->key = key;
  o->bytes = bytes;
  o->resource_version = revision;
  if (const ResourceStrategy& strategy = ResourceStrategyOf(info); strategy.project != nullptr) {
    (void)strategy.project(bytes, o.get());  // an unparsable value is cached without fields, as below
    return o;
  }
  // Parsed on an arena: the message lives only long enough to read its fields.
  gp::Arena arena;
  gp::Message* m = info.prototype->New(&arena);
  if (m->ParseFromString(bytes)) {
    const api::ObjectMeta& meta = *api::GetMeta(*m);
    o->namespace_ = meta.namespace_();
    o->name = meta.name();
    o->labels.insert(meta.labels().begin(), meta.labels().end());
    o->SetFields(SelectableFields(*m));
  }
  return o;
}

void ApiHandler::EnsureCache(const api::KindInfo& info, std::function<void(ResourceCache&)> then) {
  auto it = caches_.find(info.resource);
  if (it == caches_.end()) {
    WatchCacheOptions o;
    o.key_prefix = ResourcePrefix(info.resource, "");
    o.window_events = options_.watch_window_events;
    it = caches_.emplace(info.resource, std::make_unique<ResourceCache>(std::move(o))).first;
    it->second->info = &info;
  }
  ResourceCache& rc = *it->second;
  if (rc.cache.ready()) return then(rc);
  rc.waiting.push_back(std::move(then));
  if (rc.loading) return;
  rc.loading = true;
  LoadCache(rc, ResourcePrefix(info.resource, ""), 0, {});
}

void ApiHandler::LoadCache(ResourceCache& rc, std::string start_key, int64_t revision,
                           std::vector<CachedObjectPtr> acc) {
  const std::string end = PrefixEnd(ResourcePrefix(rc.info->resource, ""));
  store_.List(
      start_key, end, revision, options_.max_list_page,
      [this, &rc, revision, acc = std::move(acc), alive = alive_](ListPage p) mutable {
                if (!*alive) return;
                if (revision != 0 && p.status.ok()) p.revision = revision;  // the list's revision, not the header's
                if (!p.status.ok()) {
                  // Try again shortly (the store may be electing a leader); a compacted
                  // revision starts the list over.
                  env_.clock->Schedule(Milliseconds(200), [this, &rc, alive = alive_] {
                    if (*alive) LoadCache(rc, ResourcePrefix(rc.info->resource, ""), 0, {});
                  });
                  return;
                }
                for (const StoredObject& o : p.items) {
                  acc.push_back(ToCached(*rc.info, o.key, o.value, o.mod_revision));
                }
                if (p.more && !p.items.empty()) {
                  return LoadCache(rc, p.items.back().key + '\0', p.revision, std::move(acc));
                }
                rc.cache.Reset(std::move(acc), p.revision);
                if (rc.feeds_auth) OnAuthReset(rc);  // a re-list after compaction
                rc.loading = false;
                const std::string prefix = ResourcePrefix(rc.info->resource, "");
                rc.watch = std::make_unique<storeclient::StoreWatch>(
                    env_, options_.store_members, prefix, PrefixEnd(prefix), p.revision + 1,
                    [this, &rc](const std::vector<const store::Event*>& events) { OnStoreEvents(rc, events); },
                    [this, &rc](int64_t) {
                      // The store compacted past the cache: re-list (watchers get 410).
                      env_.clock->Schedule(Nanos(0), [this, &rc, alive = alive_] {
                        if (!*alive) return;
                        rc.watch.reset();
                        rc.loading = true;
                        LoadCache(rc, ResourcePrefix(rc.info->resource, ""), 0, {});
                      });
                    });
                rc.watch->Start();
                std::vector<std::function<void(ResourceCache&)>> waiting;
                waiting.swap(rc.waiting);
                for (auto& fn : waiting) fn(rc);
              },
      static_cast<int64_t>(options_.max_list_page_bytes));
}

void ApiHandler::OnStoreEvents(ResourceCache& rc, const std::vector<const store::Event*>& events) {
  gathering_watch_frames_ = true;
  for (const store::Event* e : events) {
    const int64_t revision = e->kv().mod_revision();
    if (revision <= rc.cache.revision()) continue;
    if (e->type() == store::Event::PUT) {
      CachedObjectPtr o = ToCached(*rc.info, e->kv().key(), e->kv().value(), revision);
      if (rc.feeds_auth) OnAuthObject(*rc.info, o->key, o);
      rc.cache.ApplyPut(std::move(o), revision);
    } else {
      if (rc.feeds_auth) OnAuthObject(*rc.info, e->kv().key(), nullptr);
      rc.cache.ApplyDelete(e->kv().key(), revision);
    }
  }
  gathering_watch_frames_ = false;
  FlushWatchFrames();
}

}  // namespace ksim::apiserver
