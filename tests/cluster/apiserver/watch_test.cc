// Watches, the watch cache and informers.
#include <gtest/gtest.h>

#include "cluster/apiserver/watch_cache.h"
#include "tests/cluster/apiserver/api_cluster.h"

namespace ksim::apiserver::testing {
namespace {

using client::ApiClient;
using client::ApiResult;

const api::KindInfo& Pods() { return Kind("", "pods"); }

struct Seen {
  std::string type;
  std::string name;
  int64_t rv = 0;
};

// Starts a watch through `c` and records what it receives.
uint64_t Record(ApiClient* c, std::map<std::string, std::string> query, std::vector<Seen>* seen, bool* ended) {
  Request r;
  r.set_version("v1");
  r.set_resource("pods");
  r.set_namespace_("default");
  for (auto& [k, v] : query) (*r.mutable_query())[k] = v;
  return c->Watch(
      r,
      [seen](const WatchEvent& e) {
        api::Pod p;
        p.ParseFromString(e.object());
        seen->push_back(Seen{e.type(), p.metadata().name(), e.resource_version()});
        return true;
      },
      [ended](Status, const ApiResult&) { *ended = true; });
}

TEST(ApiWatch, AWatchOnOneApiserverSeesWritesThroughAnotherInOrder) {
  ApiCluster cluster(2);
  ApiClient* writer = cluster.AddClient("writer", 1);
  ApiClient* watcher = cluster.AddClient("watcher", 2);
  ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { writer->Create(Kind("", "namespaces"), MakeNamespace("default"), d); }).code, 201);
  const ApiResult list = cluster.Await([&](ApiClient::Done d) { watcher->List(Pods(), "default", {}, d); });
  ObjectList l;
  l.ParseFromString(list.body);
  std::vector<Seen> seen;
  bool ended = false;
  Record(watcher, {{"resourceVersion", l.metadata().resource_version()}}, &seen, &ended);
  cluster.store.world.RunFor(Milliseconds(100));

  auto created = cluster.Await([&](ApiClient::Done d) { writer->Create(Pods(), MakePod("default", "web"), d); });
  api::Pod p;
  p.ParseFromString(created.body);
  (*p.mutable_metadata()->mutable_labels())["v"] = "2";
  ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { writer->Update(Pods(), p, d); }).code, 200);
  ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { writer->Delete(Pods(), "default", "web", d); }).code, 200);
  cluster.store.world.RunFor(Seconds(1));

  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].type, "ADDED");
  EXPECT_EQ(seen[1].type, "MODIFIED");
  EXPECT_EQ(seen[2].type, "DELETED");
  EXPECT_LT(seen[0].rv, seen[1].rv);
  EXPECT_LT(seen[1].rv, seen[2].rv);
  EXPECT_FALSE(ended);
}

// Creates that the store commits together reach a watcher together: one frame carries
// the events of one store batch, in order, instead of one frame per event.
TEST(ApiWatch, EventsOfOneStoreBatchShareAFrame) {
  ApiCluster cluster(1);
  ApiClient* writer = cluster.AddClient("writer", 1);
  ApiClient* watcher = cluster.AddClient("watcher", 1);
  ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { writer->Create(Kind("", "namespaces"), MakeNamespace("default"), d); }).code, 201);
  std::vector<Seen> seen;
  bool ended = false;
  Record(watcher, {}, &seen, &ended);
  cluster.store.world.RunFor(Milliseconds(500));
  const HandlerStats before = cluster.Server(1)->handler().stats();
  constexpr int kPods = 40;
  int answered = 0;
  for (int i = 0; i < kPods; ++i) {  // all in flight at once: the store gathers them
    writer->Create(Pods(), MakePod("default", "p" + std::to_string(100 + i)), [&](const ApiResult& r) {
      EXPECT_EQ(r.code, 201);
      ++answered;
    });
  }
  cluster.store.world.RunFor(Seconds(2));
  ASSERT_EQ(answered, kPods);
  ASSERT_EQ(seen.size(), static_cast<size_t>(kPods));
  for (size_t i = 1; i < seen.size(); ++i) EXPECT_LT(seen[i - 1].rv, seen[i].rv);
  const HandlerStats after = cluster.Server(1)->handler().stats();
  EXPECT_EQ(after.watch_events_sent - before.watch_events_sent, static_cast<uint64_t>(kPods));
  EXPECT_LE(after.watch_frames_sent - before.watch_frames_sent, static_cast<uint64_t>(kPods / 4))
      << "one frame per event";
  EXPECT_FALSE(ended);
}

TEST(ApiWatch, AWatchFromARevisionOlderThanTheWindowGetsGone) {
  ApiCluster cluster(1, 1, [](ApiServerOptions& o) { o.watch_window_events = 5; });
  ApiClient* c = cluster.AddClient("client");
  ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { c->Create(Kind("", "namespaces"), MakeNamespace("default"), d); }).code, 201);
  // Warm the cache, then push more events through it than its window holds.
  const ApiResult first = cluster.Await([&](ApiClient::Done d) { c->List(Pods(), "default", {{"resourceVersion", "0"}}, d); });
  ObjectList l;
  l.ParseFromString(first.body);
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { c->Create(Pods(), MakePod("default", "p" + std::to_string(i)), d); }).code, 201);
  }
  cluster.store.world.RunFor(Milliseconds(200));
  std::vector<Seen> seen;
  bool ended = false;
  Record(c, {{"resourceVersion", l.metadata().resource_version()}}, &seen, &ended);
  cluster.store.world.RunFor(Milliseconds(200));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].type, "ERROR");
  EXPECT_TRUE(ended);
}

TEST(ApiWatch, AFieldSelectedWatchSeesPodsEnterAndLeaveItsNode) {
  ApiCluster cluster(1);
  ApiClient* c = cluster.AddClient("client");
  ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { c->Create(Kind("", "namespaces"), MakeNamespace("default"), d); }).code, 201);
  std::vector<Seen> seen;
  bool ended = false;
  Record(c, {{"fieldSelector", "spec.nodeName=node-a"}}, &seen, &ended);
  ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { c->Create(Pods(), MakePod("default", "elsewhere", {}, "node-b"), d); }).code, 201);
  ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { c->Create(Pods(), MakePod("default", "web"), d); }).code, 201);
  api::Binding b;
  b.mutable_target()->set_name("node-a");
  Request bind;
  bind.set_verb("create");
  bind.set_version("v1");
  bind.set_resource("pods");
  bind.set_namespace_("default");
  bind.set_name("web");
  bind.set_subresource("binding");
  bind.set_body(b.SerializeAsString());
  ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { c->Do(bind, d); }).code, 201);
  ASSERT_EQ(cluster.Await([&](ApiClient::Done d) {
              c->Delete(Pods(), "default", "web", d, {{"gracePeriodSeconds", "0"}});
            }).code,
            200);
  cluster.store.world.RunFor(Seconds(1));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].type, "ADDED") << "binding moved it onto the node";
  EXPECT_EQ(seen[0].name, "web");
  EXPECT_EQ(seen[1].type, "DELETED");
}

TEST(ApiWatch, AnInformerFollowsListsAndIndexes) {
  ApiCluster cluster(2);
  ApiClient* c = cluster.AddClient("client", 1);
  ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { c->Create(Kind("", "namespaces"), MakeNamespace("default"), d); }).code, 201);
  ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { c->Create(Pods(), MakePod("default", "before", {}, "node-a"), d); }).code, 201);
  int adds = 0;
  int updates = 0;
  int deletes = 0;
  client::Informer* inf = cluster.AddInformer("informer", Pods(), {}, [&](client::Informer& i) {
    i.AddHandlers({[&](const client::ObjectPtr&) { ++adds; },
                   [&](const client::ObjectPtr&, const client::ObjectPtr&) { ++updates; },
                   [&](const client::ObjectPtr&) { ++deletes; }});
    i.AddIndex("node", [](const google::protobuf::Message& m) {
      return std::vector<std::string>{static_cast<const api::Pod&>(m).spec().node_name()};
    });
  });
  cluster.store.world.RunFor(Seconds(1));
  ASSERT_TRUE(inf->HasSynced());
  EXPECT_EQ(adds, 1);
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(cluster.Await([&](ApiClient::Done d) {
                c->Create(Pods(), MakePod("default", "p" + std::to_string(i), {}, i % 2 ? "node-a" : "node-b"), d);
              }).code,
              201);
  }
  ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { c->Delete(Pods(), "default", "p0", d, {{"gracePeriodSeconds", "0"}}); }).code, 200);
  cluster.store.world.RunFor(Seconds(1));
  EXPECT_EQ(adds, 5);
  EXPECT_EQ(deletes, 1);
  EXPECT_EQ(updates, 0);
  EXPECT_EQ(inf->size(), 4u);
  EXPECT_EQ(inf->ByIndex("node", "node-a").size(), 3u);
  EXPECT_EQ(inf->ByIndex("node", "node-b").size(), 1u);
  ASSERT_NE(inf->Get("default/p1"), nullptr);
}

// --- the watch cache alone ---------------------------------------------------------------

CachedObjectPtr Obj(const std::string& name, const std::string& node, int64_t rv) {
  auto o = std::make_shared<CachedObject>();
  o->key = "/registry/pods/default/" + name;
  o->namespace_ = "default";
  o->name = name;
  o->resource_version = rv;
  o->SetFields({{"metadata.name", name}, {"metadata.namespace", "default"}, {"spec.nodeName", node}});
  return o;
}

TEST(WatchCache, ANodePinnedWatcherCostsOnlyTheEventsOfItsNode) {
  WatchCacheOptions o;
  o.key_prefix = "/registry/pods/";
  WatchCache cache(o);
  cache.Reset({}, 1);
  std::map<std::string, int> delivered;
  for (int n = 0; n < 1000; ++n) {
    WatchFilter f;
    const std::string node = "node-" + std::to_string(n);
    ASSERT_TRUE(api::FieldSelector::Parse("spec.nodeName=" + node, &f.fields).ok());
    int64_t id = 0;
    ASSERT_TRUE(cache.Watch(f, 1, [&delivered, node](const WatcherEvent&) { return ++delivered[node], true; }, &id).ok());
  }
  for (int i = 0; i < 100; ++i) cache.ApplyPut(Obj("p" + std::to_string(i), "node-" + std::to_string(i % 10), 2 + i), 2 + i);
  EXPECT_EQ(cache.stats().watcher_visits, 100u) << "each event visits one watcher, not 1,000";
  EXPECT_EQ(delivered["node-3"], 10);
  EXPECT_EQ(delivered.size(), 10u);
}

TEST(WatchCache, ReplaysFromTheWindowAndRefusesOlderRevisions) {
  WatchCacheOptions o;
  o.key_prefix = "/registry/pods/";
  o.window_events = 3;
  WatchCache cache(o);
  cache.Reset({}, 10);
  for (int i = 0; i < 5; ++i) cache.ApplyPut(Obj("p" + std::to_string(i), "", 11 + i), 11 + i);
  std::vector<int64_t> revs;
  int64_t id = 0;
  ASSERT_TRUE(cache.Watch({}, 12, [&revs](const WatcherEvent& e) { return revs.push_back(e.revision), true; }, &id).ok());
  EXPECT_EQ(revs, (std::vector<int64_t>{13, 14, 15}));
  EXPECT_FALSE(cache.Watch({}, 11, [](const WatcherEvent&) { return true; }, &id).ok()) << "event 12 is gone";
  revs.clear();
  ASSERT_TRUE(cache.Watch({}, 0, [&revs](const WatcherEvent& e) { return revs.push_back(e.revision), true; }, &id).ok());
  EXPECT_EQ(revs.size(), 5u) << "resourceVersion 0 starts with the current objects";
}

TEST(WatchCache, AnExpiredWindowEndsWatchersAndRefusesOlderRevisionsButKeepsObjects) {
  WatchCacheOptions o;
  o.key_prefix = "/registry/pods/";
  WatchCache cache(o);
  cache.Reset({}, 10);
  for (int i = 0; i < 3; ++i) cache.ApplyPut(Obj("p" + std::to_string(i), "", 11 + i), 11 + i);
  std::vector<std::string> got;
  int64_t id = 0;
  ASSERT_TRUE(cache.Watch({}, 13, [&got](const WatcherEvent& e) {
                return got.push_back(e.type == WatchEventType::kError ? "error" : "event"), true;
              }, &id).ok());
  cache.ExpireWindow();
  EXPECT_EQ(got, std::vector<std::string>{"error"}) << "the watcher is told it lost events";
  EXPECT_EQ(cache.watcher_count(), 0u);
  EXPECT_FALSE(cache.Watch({}, 12, [](const WatcherEvent&) { return true; }, &id).ok()) << "event 13 is forgotten";
  EXPECT_TRUE(cache.Watch({}, 13, [](const WatcherEvent&) { return true; }, &id).ok()) << "nothing after 13 is lost";
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.revision(), 13);
}

TEST(ApiWatch, AnInformerReListsAfterTheApiserverForgetsItsWindowAndMissesNothing) {
  ApiCluster cluster(1);
  ApiClient* c = cluster.AddClient("client");
  ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { c->Create(Kind("", "namespaces"), MakeNamespace("default"), d); }).code, 201);
  client::Informer* inf = cluster.AddInformer("informer", Pods());
  cluster.store.world.RunFor(Seconds(1));
  ASSERT_TRUE(inf->HasSynced());
  ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { c->Create(Pods(), MakePod("default", "before"), d); }).code, 201);
  cluster.store.world.RunFor(Milliseconds(500));
  EXPECT_GE(cluster.Server(1)->handler().ExpireWatchWindows(), 1u);
  // Written while the informer is between its 410 and its re-list.
  ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { c->Create(Pods(), MakePod("default", "after"), d); }).code, 201);
  cluster.store.world.RunFor(Seconds(5));
  EXPECT_EQ(inf->stats().relists_after_gone, 1u);
  EXPECT_NE(inf->Get("default/before"), nullptr);
  EXPECT_NE(inf->Get("default/after"), nullptr);
}

}  // namespace
}  // namespace ksim::apiserver::testing

namespace ksim::apiserver::testing {
namespace {

TEST(WatchCache, ANodeListReadsOnlyThatNodesObjectsAndFollowsRebinding) {
  WatchCacheOptions o;
  o.key_prefix = "/registry/pods/";
  WatchCache cache(o);
  std::vector<CachedObjectPtr> initial;
  for (int i = 0; i < 50; ++i) initial.push_back(Obj("p" + std::to_string(i), "node-" + std::to_string(i % 5), 2));
  cache.Reset(std::move(initial), 2);
  auto on = [&cache](const std::string& node) {
    WatchFilter f;
    EXPECT_TRUE(api::FieldSelector::Parse("spec.nodeName=" + node, &f.fields).ok());
    std::vector<std::string> names;
    for (const CachedObjectPtr& p : cache.List(f)) names.push_back(p->name);
    return names;
  };
  EXPECT_EQ(on("node-3").size(), 10u);
  cache.ApplyPut(Obj("p3", "node-4", 3), 3);  // p3 moves from node-3 to node-4
  cache.ApplyDelete("/registry/pods/default/p8", 4);
  EXPECT_EQ(on("node-3").size(), 8u);
  EXPECT_EQ(on("node-4").size(), 11u);
  EXPECT_TRUE(on("node-9").empty());
  WatchFilter unbound;
  ASSERT_TRUE(api::FieldSelector::Parse("spec.nodeName=", &unbound.fields).ok());
  cache.ApplyPut(Obj("fresh", "", 5), 5);
  EXPECT_EQ(cache.List(unbound).size(), 1u) << "unbound pods are found by scanning";
}

}  // namespace
}  // namespace ksim::apiserver::testing

namespace ksim::apiserver::testing {
namespace {

// 410 Gone once the store has compacted: a watch cache cut off from the store while the
// history it needs is compacted away re-lists, and its watchers get an ERROR 410 (their
// clients re-list); a continue token whose revision is compacted is 410 Expired.
TEST(ApiCompaction, WatchersOfACacheThatFellBehindCompactionGetGone) {
  ApiCluster cluster(2, 1, nullptr, [](storeserver::StoreServerOptions& o) { o.auto_compact_retain_revisions = 20; });
  ApiClient* writer = cluster.AddClient("writer", 1);
  ApiClient* watcher = cluster.AddClient("watcher", 2);
  ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { writer->Create(Kind("", "namespaces"), MakeNamespace("default"), d); }).code, 201);
  std::vector<Seen> seen;
  bool ended = false;
  Record(watcher, {}, &seen, &ended);  // from now, through apiserver 2's cache
  cluster.store.world.RunFor(Milliseconds(200));
  // Cut apiserver 2 (host index 4: three store members, then api1, api2) off the store
  // members, but not from its watcher, while 100 writes and their compaction go by.
  sim::World& w = cluster.store.world;
  for (uint32_t m = 0; m < 3; ++m) w.network().Partition({{4}, {m}});
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { writer->Create(Pods(), MakePod("default", "p" + std::to_string(i)), d); }).code, 201);
  }
  // Long enough for the store's side of the stalled watch stream to give up (its
  // retransmissions run out after about 50 s), so the cache must resume from a revision
  // that compaction has removed.
  w.RunFor(Seconds(70));
  w.network().Heal();
  w.RunFor(Seconds(5));
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().type, "ERROR") << "the cache re-listed; its watchers must re-list too";
  EXPECT_TRUE(ended);
}

TEST(ApiCompaction, AContinueTokenPastCompactionIsExpired) {
  ApiCluster cluster(1, 1, nullptr, [](storeserver::StoreServerOptions& o) { o.auto_compact_retain_revisions = 20; });
  ApiClient* c = cluster.AddClient("client");
  ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { c->Create(Kind("", "namespaces"), MakeNamespace("default"), d); }).code, 201);
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { c->Create(Pods(), MakePod("default", "p" + std::to_string(i)), d); }).code, 201);
  }
  const ApiResult first = cluster.Await([&](ApiClient::Done d) { c->List(Pods(), "default", {{"limit", "5"}}, d); });
  ObjectList l;
  ASSERT_TRUE(l.ParseFromString(first.body));
  ASSERT_FALSE(l.metadata().continue_().empty());
  for (int i = 10; i < 80; ++i) {
    ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { c->Create(Pods(), MakePod("default", "p" + std::to_string(i)), d); }).code, 201);
  }
  cluster.store.world.RunFor(Seconds(1));
  const ApiResult next = cluster.Await([&](ApiClient::Done d) {
    c->List(Pods(), "default", {{"limit", "5"}, {"continue", l.metadata().continue_()}}, d);
  });
  EXPECT_EQ(next.code, 410) << next.Describe();
  EXPECT_EQ(next.error.reason(), "Expired");
}

}  // namespace
}  // namespace ksim::apiserver::testing
