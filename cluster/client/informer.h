// Informer: a local, eventually consistent copy of one resource (optionally one namespace
// and a label/field selector), kept by list-then-watch, with handlers for changes,
// indexes, and a lister. Like client-go's shared informer:
//   - it lists in pages (limit/continue, at one revision of the store; a page may end
//     early by bytes), then watches from the list's revision (served by the apiserver's
//     watch cache) with bookmarks;
//   - a broken watch resumes from the last revision seen; a 410 Gone re-lists, and the
//     differences between the old copy and the new list reach the handlers as
//     add/update/delete, so no change is lost and none is reported twice;
//   - every resync period, handlers get an update for every object (level-triggered
//     controllers re-check everything).
#pragma once

#include <google/protobuf/message.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cluster/api/codec.h"
#include "cluster/client/api_client.h"
#include "cluster/env/env.h"

namespace ksim::client {

using ObjectPtr = std::shared_ptr<const google::protobuf::Message>;

struct InformerOptions {
  std::string namespace_;       // "" = all namespaces
  std::string label_selector;   // Kubernetes selector syntax
  std::string field_selector;
  Nanos resync_period{0};       // 0 = never
  Nanos retry_delay = Seconds(1);
  // Objects per list page (client-go's pager: 500). Lists are paged with limit/continue
  // and read the store at one revision; the apiserver may end a page early by bytes.
  int64_t list_page_size = 500;
  // Test hook: each watch event is applied this long after it arrives, in order (an
  // overloaded informer whose cache lags the apiserver).
  Nanos event_delay{0};
};

struct EventHandlers {
  std::function<void(const ObjectPtr&)> on_add;
  std::function<void(const ObjectPtr& old_object, const ObjectPtr& new_object)> on_update;
  std::function<void(const ObjectPtr&)> on_delete;
};

struct InformerStats {
  uint64_t lists = 0;
  uint64_t list_pages = 0;
  uint64_t watches = 0;
  uint64_t events = 0;
  uint64_t relists_after_gone = 0;
};

class Informer {
 public:
  // Index functions map an object to the index values it is filed under.
  using IndexFunc = std::function<std::vector<std::string>(const google::protobuf::Message&)>;

  Informer(Env& env, ApiClient* client, const api::KindInfo& info, InformerOptions options = {});
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // REQUIRES: before Start.
  void AddHandlers(EventHandlers handlers);
  void AddIndex(const std::string& name, IndexFunc fn);
  void Start();

  // True once the first list has been applied.
  bool HasSynced() const { return synced_; }
  // The revision the copy reflects.
  int64_t resource_version() const { return resource_version_; }

  // Lister: "namespace/name" (or "name" for cluster-scoped kinds).
  ObjectPtr Get(const std::string& key) const;
  std::vector<ObjectPtr> List() const;  // ascending by key
  std::vector<ObjectPtr> ByIndex(const std::string& index, const std::string& value) const;
  size_t size() const { return objects_.size(); }
  const InformerStats& stats() const { return stats_; }

  static std::string KeyOf(const google::protobuf::Message& object);

 private:
  void ListNow();
  // Reads the page after `cont` ("" for the first), gathering into listing_.
  void ListPage(const std::string& cont);
  void FinishList(int64_t revision);
  void WatchNow();
  void OnWatchEvent(const apiserver::WatchEvent& e);
  // Through the world's SharedDecoder when there is one; null if the bytes do not parse.
  ObjectPtr Decode(const std::string& bytes) const;
  void Upsert(ObjectPtr object);
  void Remove(const std::string& key, const ObjectPtr& last);
  void Index(const std::string& key, const google::protobuf::Message& object, bool add);
  void ScheduleRetry(std::function<void()> fn);
  void Resync();

  Env& env_;
  ApiClient* client_;
  const api::KindInfo& info_;
  InformerOptions options_;
  std::vector<EventHandlers> handlers_;
  std::map<std::string, IndexFunc> index_funcs_;
  std::map<std::string, std::map<std::string, std::set<std::string>>> indexes_;  // index -> value -> keys
  std::map<std::string, ObjectPtr> objects_;
  std::map<std::string, ObjectPtr> listing_;  // the pages of a list in progress
  int64_t resource_version_ = 0;
  bool synced_ = false;
  bool started_ = false;
  uint64_t watch_id_ = 0;
  TimerId retry_timer_ = 0;
  TimerId resync_timer_ = 0;
  InformerStats stats_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ksim::client
