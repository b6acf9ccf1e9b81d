#include "cluster/client/informer.h"

#include <utility>

#include "cluster/env/shared_decoder.h"

namespace ksim::client {

namespace gp = google::protobuf;

std::string Informer::KeyOf(const gp::Message& object) {
  const api::ObjectMeta* meta = api::GetMeta(object);
  if (meta == nullptr) return {};
  return meta->namespace_().empty() ? meta->name() : meta->namespace_() + "/" + meta->name();
}

ObjectPtr Informer::Decode(const std::string& bytes) const {
  if (env_.decoder != nullptr) return env_.decoder->Decode(*info_.prototype, bytes);
  std::unique_ptr<gp::Message> m = info_.New();
  if (!m->ParseFromString(bytes)) return nullptr;
  return m;
}

Informer::Informer(Env& env, ApiClient* client, const api::KindInfo& info, InformerOptions options)
    : env_(env), client_(client), info_(info), options_(std::move(options)) {}

Informer::~Informer() {
  *alive_ = false;
  if (watch_id_) client_->CancelWatch(watch_id_);
  if (retry_timer_) env_.clock->Cancel(retry_timer_);
  if (resync_timer_) env_.clock->Cancel(resync_timer_);
}

void Informer::AddHandlers(EventHandlers handlers) { handlers_.push_back(std::move(handlers)); }

void Informer::AddIndex(const std::string& name, IndexFunc fn) { index_funcs_[name] = std::move(fn); }

void Informer::Start() {
  if (started_) return;
  started_ = true;
  ListNow();
  if (options_.resync_period > Nanos(0)) {
    resync_timer_ = env_.clock->Schedule(options_.resync_period, [this] { Resync(); });
  }
}

void Informer::ScheduleRetry(std::function<void()> fn) {
  if (retry_timer_) env_.clock->Cancel(retry_timer_);
  retry_timer_ = env_.clock->Schedule(options_.retry_delay, [this, fn = std::move(fn)] {
    retry_timer_ = 0;
    fn();
  });
}

void Informer::ListNow() {
  ++stats_.lists;
  listing_.clear();
  ListPage("");
}

void Informer::ListPage(const std::string& cont) {
  // Paged like client-go's pager: one reply of a large resource could pass the frame
  // limit. Every page is read at the first page's revision (the continue token holds it).
  std::map<std::string, std::string> query{{"limit", std::to_string(options_.list_page_size)}};
  if (!cont.empty()) query["continue"] = cont;
  if (!options_.label_selector.empty()) query["labelSelector"] = options_.label_selector;
  if (!options_.field_selector.empty()) query["fieldSelector"] = options_.field_selector;
  client_->List(info_, options_.namespace_, query, [this, alive = alive_](const ApiResult& r) {
    if (!*alive) return;
    apiserver::ObjectList list;
    // Any failure starts the list over (a 410 means the continue token's revision was
    // compacted away).
    if (!r.ok() || !list.ParseFromString(r.body)) return ScheduleRetry([this] { ListNow(); });
    ++stats_.list_pages;
    for (const std::string& bytes : list.items()) {
      ObjectPtr m = Decode(bytes);
      if (m == nullptr) continue;
      const std::string key = KeyOf(*m);
      listing_[key] = std::move(m);
    }
    if (!list.metadata().continue_().empty()) return ListPage(list.metadata().continue_());
    int64_t revision = 0;
    FinishList(api::ParseResourceVersion(list.metadata().resource_version(), &revision) ? revision : 0);
  });
}

void Informer::FinishList(int64_t revision) {
  // Replace the copy; what vanished is reported deleted, the rest added or updated.
  std::map<std::string, ObjectPtr> fresh = std::move(listing_);
  listing_.clear();
  std::vector<std::pair<std::string, ObjectPtr>> gone;
  for (const auto& [key, obj] : objects_) {
    if (!fresh.count(key)) gone.emplace_back(key, obj);
  }
  for (auto& [key, obj] : gone) Remove(key, obj);
  for (auto& [key, obj] : fresh) Upsert(obj);
  resource_version_ = revision;
  synced_ = true;
  WatchNow();
}

void Informer::WatchNow() {
  ++stats_.watches;
  apiserver::Request req;
  req.set_group(info_.group);
  req.set_version(info_.version);
  req.set_resource(info_.resource);
  if (info_.namespaced) req.set_namespace_(options_.namespace_);
  (*req.mutable_query())["resourceVersion"] = std::to_string(resource_version_);
  (*req.mutable_query())["allowWatchBookmarks"] = "true";
  if (!options_.label_selector.empty()) (*req.mutable_query())["labelSelector"] = options_.label_selector;
  if (!options_.field_selector.empty()) (*req.mutable_query())["fieldSelector"] = options_.field_selector;
  watch_id_ = client_->Watch(
      std::move(req),
      [this](const apiserver::WatchEvent& e) {
        if (options_.event_delay > Nanos{0}) {
          (void)env_.clock->Schedule(options_.event_delay, [this, alive = alive_, e] {
            if (*alive) OnWatchEvent(e);
          });
          return true;
        }
        OnWatchEvent(e);
        return true;
      },
      [this, alive = alive_](Status, const ApiResult& opening) {
        if (!*alive) return;
        watch_id_ = 0;
        if (opening.code == 410) {
          ++stats_.relists_after_gone;
          return ListNow();
        }
        // The stream ended or broke: resume from the last revision (a 410 event re-lists).
        ScheduleRetry([this] { WatchNow(); });
      });
}

void Informer::OnWatchEvent(const apiserver::WatchEvent& e) {
  ++stats_.events;
  if (e.type() == "BOOKMARK") {
    if (e.resource_version() > resource_version_) resource_version_ = e.resource_version();
    return;
  }
  if (e.type() == "ERROR") {
    api::ApiStatus st;
    st.ParseFromString(e.object());
    if (st.code() == 410) {
      ++stats_.relists_after_gone;
      if (watch_id_) client_->CancelWatch(watch_id_);
      watch_id_ = 0;
      ScheduleRetry([this] { ListNow(); });
    }
    return;
  }
  ObjectPtr m = Decode(e.object());
  if (m == nullptr) return;
  const int64_t rv = e.resource_version();
  if (e.type() == "DELETED") {
    const std::string key = KeyOf(*m);
    Remove(key, m);
  } else {
    Upsert(std::move(m));
  }
  if (rv > resource_version_) resource_version_ = rv;
}

void Informer::Upsert(ObjectPtr object) {
  std::string key = KeyOf(*object);
  auto it = objects_.lower_bound(key);  // one descent serves both the lookup and the insert
  if (it == objects_.end() || it->first != key) {
    Index(key, *object, true);
    objects_.emplace_hint(it, std::move(key), object);
    for (const EventHandlers& h : handlers_) {
      if (h.on_add) h.on_add(object);
    }
    return;
  }
  ObjectPtr old = it->second;
  if (api::GetMeta(*old)->resource_version() == api::GetMeta(*object)->resource_version()) return;  // seen
  Index(key, *old, false);
  Index(key, *object, true);
  it->second = object;
  for (const EventHandlers& h : handlers_) {
    if (h.on_update) h.on_update(old, object);
  }
}

void Informer::Remove(const std::string& key, const ObjectPtr& last) {
  auto it = objects_.find(key);
  if (it == objects_.end()) return;
  Index(key, *it->second, false);
  objects_.erase(it);
  for (const EventHandlers& h : handlers_) {
    if (h.on_delete) h.on_delete(last);
  }
}

void Informer::Index(const std::string& key, const gp::Message& object, bool add) {
  for (const auto& [name, fn] : index_funcs_) {
    auto& index = indexes_[name];
    for (const std::string& value : fn(object)) {
      if (add) {
        index[value].insert(key);
      } else {
        auto v = index.find(value);
        if (v == index.end()) continue;
        v->second.erase(key);
        if (v->second.empty()) index.erase(v);
      }
    }
  }
}

void Informer::Resync() {
  resync_timer_ = env_.clock->Schedule(options_.resync_period, [this] { Resync(); });
  std::vector<ObjectPtr> all = List();
  for (const ObjectPtr& o : all) {
    for (const EventHandlers& h : handlers_) {
      if (h.on_update) h.on_update(o, o);
    }
  }
}

ObjectPtr Informer::Get(const std::string& key) const {
  auto it = objects_.find(key);
  return it == objects_.end() ? nullptr : it->second;
}

std::vector<ObjectPtr> Informer::List() const {
  std::vector<ObjectPtr> out;
  out.reserve(objects_.size());
  for (const auto& [key, o] : objects_) out.push_back(o);
  return out;
}

std::vector<ObjectPtr> Informer::ByIndex(const std::string& index, const std::string& value) const {
  std::vector<ObjectPtr> out;
  auto i = indexes_.find(index);
  if (i == indexes_.end()) return out;
  auto v = i->second.find(value);
  if (v == i->second.end()) return out;
  for (const std::string& key : v->second) out.push_back(objects_.at(key));
  return out;
}

}  // namespace ksim::client
