// The apiserver's verbs end to end on a simulated cluster: store, apiservers, clients.
#include <gtest/gtest.h>

#include <regex>

#include "cluster/api/apps.pb.h"
#include "cluster/api/autoscaling.pb.h"
#include "tests/cluster/apiserver/api_cluster.h"

namespace ksim::apiserver::testing {
namespace {

using client::ApiClient;
using client::ApiResult;

const api::KindInfo& Pods() { return Kind("", "pods"); }
const api::KindInfo& Namespaces() { return Kind("", "namespaces"); }

std::unique_ptr<api::Pod> AsPod(const ApiResult& r) {
  auto p = std::make_unique<api::Pod>();
  if (!p->ParseFromString(r.body)) return nullptr;
  return p;
}

class ApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    c = cluster.AddClient("client");
    ASSERT_TRUE(Create(Namespaces(), MakeNamespace("default")).ok());
  }
  ApiResult Create(const api::KindInfo& info, const google::protobuf::Message& m) {
    return cluster.Await([&](ApiClient::Done d) { c->Create(info, m, d); });
  }
  ApiResult GetPod(const std::string& name) {
    return cluster.Await([&](ApiClient::Done d) { c->Get(Pods(), "default", name, d); });
  }
  ApiResult List(std::map<std::string, std::string> q) {
    return cluster.Await([&](ApiClient::Done d) { c->List(Pods(), "default", q, d); });
  }
  ApiCluster cluster;
  ApiClient* c = nullptr;
};

TEST_F(ApiServerTest, CreateThenGetReturnsTheObjectWithServerFields) {
  const ApiResult created = Create(Pods(), MakePod("default", "web"));
  ASSERT_EQ(created.code, 201) << created.Describe();
  auto p = AsPod(created);
  ASSERT_NE(p, nullptr);
  // A version-4, variant-1 UUID in its 8-4-4-4-12 lowercase form (RFC 4122 §3, §4.4).
  EXPECT_TRUE(std::regex_match(p->metadata().uid(),
                               std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
      << p->metadata().uid();
  EXPECT_FALSE(p->metadata().resource_version().empty());
  EXPECT_TRUE(p->metadata().has_creation_timestamp());
  EXPECT_EQ(p->metadata().generation(), 1);

  const ApiResult got = GetPod("web");
  ASSERT_EQ(got.code, 200) << got.Describe();
  auto g = AsPod(got);
  EXPECT_EQ(g->metadata().uid(), p->metadata().uid());
  EXPECT_EQ(g->metadata().resource_version(), p->metadata().resource_version());
  EXPECT_EQ(g->spec().containers(0).image(), "nginx:1.25");
}

TEST_F(ApiServerTest, ErrorsAreKubernetesStatuses) {
  struct Case {
    std::string what;
    std::function<ApiResult()> call;
    int code;
    std::string reason;
  };
  ASSERT_EQ(Create(Pods(), MakePod("default", "dup")).code, 201);
  std::vector<Case> cases = {
      {"get of a missing pod", [&] { return GetPod("nope"); }, 404, "NotFound"},
      {"create of an existing name", [&] { return Create(Pods(), MakePod("default", "dup")); }, 409, "AlreadyExists"},
      {"create in a missing namespace", [&] { return Create(Pods(), MakePod("ghost", "x")); }, 404, "NotFound"},
      {"create without a name", [&] { return Create(Pods(), MakePod("default", "")); }, 422, "Invalid"},
      {"a bad label selector", [&] { return List({{"labelSelector", "a in (b"}}); }, 400, "BadRequest"},
      {"a bad limit", [&] { return List({{"limit", "ten"}}); }, 400, "BadRequest"},
      {"an unknown resource",
       [&] {
         return cluster.Await([&](ApiClient::Done d) {
           Request r;
           r.set_verb("list");
           r.set_version("v1");
           r.set_resource("gizmos");
           c->Do(r, d);
         });
       },
       404, "NotFound"},
  };
  for (const Case& k : cases) {
    const ApiResult r = k.call();
    EXPECT_EQ(r.code, k.code) << k.what << ": " << r.Describe();
    EXPECT_EQ(r.error.reason(), k.reason) << k.what;
    EXPECT_EQ(r.error.kind(), "Status") << k.what;
  }
}

TEST_F(ApiServerTest, GenerateNameAppendsFiveCharacters) {
  api::Pod p = MakePod("default", "");
  p.mutable_metadata()->set_generate_name("web-");
  const ApiResult r = Create(Pods(), p);
  ASSERT_EQ(r.code, 201) << r.Describe();
  const std::string name = AsPod(r)->metadata().name();
  ASSERT_EQ(name.size(), 9u);
  EXPECT_EQ(name.substr(0, 4), "web-");
}

// KEP-4420 (Kubernetes ≥ 1.32): a drawn name that exists is drawn again, not a 409. Two
// clusters of one seed draw the same names through apiserver 1; in the second, the name
// apiserver 1 will draw next is taken first through apiserver 2 (whose draws are its own).
TEST(ApiServerGenerateName, ADrawnNameThatExistsIsDrawnAgain) {
  const auto draw = [](const std::string& take) {
    ApiCluster cluster(2, 7);
    ApiClient* one = cluster.AddClient("client-1", 1);
    ApiClient* two = cluster.AddClient("client-2", 2);
    EXPECT_EQ(cluster.Await([&](ApiClient::Done d) { two->Create(Namespaces(), MakeNamespace("default"), d); }).code, 201);
    std::vector<std::string> names;
    for (int i = 0; i < 3; ++i) {
      if (i == 1 && !take.empty()) {
        EXPECT_EQ(cluster.Await([&](ApiClient::Done d) { two->Create(Pods(), MakePod("default", take), d); }).code, 201);
      }
      api::Pod p = MakePod("default", "");
      p.mutable_metadata()->set_generate_name("web-");
      const ApiResult r = cluster.Await([&](ApiClient::Done d) { one->Create(Pods(), p, d); });
      EXPECT_EQ(r.code, 201) << r.Describe();
      names.push_back(r.code == 201 ? AsPod(r)->metadata().name() : "");
    }
    return names;
  };
  const std::vector<std::string> free = draw("");
  ASSERT_EQ(free.size(), 3u);
  const std::vector<std::string> taken = draw(free[1]);
  ASSERT_EQ(taken[0], free[0]) << "both clusters draw the same names";
  EXPECT_EQ(taken[1], free[2]) << "the taken second draw is replaced by the third";
}

TEST_F(ApiServerTest, UpdateIsGuardedByResourceVersion) {
  auto p = AsPod(Create(Pods(), MakePod("default", "web")));
  api::Pod stale = *p;
  (*p->mutable_metadata()->mutable_labels())["tier"] = "front";
  const ApiResult first = cluster.Await([&](ApiClient::Done d) { c->Update(Pods(), *p, d); });
  ASSERT_EQ(first.code, 200) << first.Describe();
  auto updated = AsPod(first);
  EXPECT_GT(std::stoll(updated->metadata().resource_version()), std::stoll(p->metadata().resource_version()));
  EXPECT_EQ(updated->metadata().generation(), 1) << "labels are not spec";

  (*stale.mutable_metadata()->mutable_labels())["tier"] = "back";
  const ApiResult second = cluster.Await([&](ApiClient::Done d) { c->Update(Pods(), stale, d); });
  EXPECT_EQ(second.code, 409);
  EXPECT_EQ(second.error.reason(), "Conflict");
  EXPECT_EQ(AsPod(GetPod("web"))->metadata().labels().at("tier"), "front") << "the stale write changed nothing";
}

TEST_F(ApiServerTest, MainResourceIgnoresStatusAndStatusSubresourceIgnoresSpec) {
  auto p = AsPod(Create(Pods(), MakePod("default", "web")));
  api::Pod main = *p;
  main.mutable_status()->set_phase("Running");
  main.mutable_spec()->set_active_deadline_seconds(60);
  auto after_main = AsPod(cluster.Await([&](ApiClient::Done d) { c->Update(Pods(), main, d); }));
  ASSERT_NE(after_main, nullptr);
  EXPECT_EQ(after_main->status().phase(), "Pending") << "the default from create; the main resource cannot change it";
  EXPECT_EQ(after_main->spec().active_deadline_seconds(), 60);
  EXPECT_EQ(after_main->metadata().generation(), 2) << "a spec change bumps generation";

  api::Pod status = *after_main;
  status.mutable_status()->set_phase("Running");
  status.mutable_spec()->set_active_deadline_seconds(5);
  auto after_status = AsPod(cluster.Await([&](ApiClient::Done d) { c->Update(Pods(), status, d, "status"); }));
  ASSERT_NE(after_status, nullptr);
  EXPECT_EQ(after_status->status().phase(), "Running");
  EXPECT_EQ(after_status->spec().active_deadline_seconds(), 60);
  EXPECT_EQ(after_status->metadata().generation(), 2);
}

TEST_F(ApiServerTest, ListFiltersBySelectorsAndPagesWithContinue) {
  for (int i = 0; i < 25; ++i) {
    const std::string tier = i % 2 == 0 ? "front" : "back";
    ASSERT_EQ(Create(Pods(), MakePod("default", "p" + std::to_string(100 + i), {{"tier", tier}},
                                     i < 5 ? "node-a" : "")).code,
              201);
  }
  auto names = [](const ApiResult& r) {
    ObjectList l;
    l.ParseFromString(r.body);
    std::vector<std::string> out;
    for (const std::string& b : l.items()) {
      api::Pod p;
      p.ParseFromString(b);
      out.push_back(p.metadata().name());
    }
    return out;
  };
  EXPECT_EQ(names(List({})).size(), 25u);
  EXPECT_EQ(names(List({{"labelSelector", "tier=front"}})).size(), 13u);
  EXPECT_EQ(names(List({{"labelSelector", "tier in (front,back),tier!=front"}})).size(), 12u);
  EXPECT_EQ(names(List({{"fieldSelector", "spec.nodeName=node-a"}})).size(), 5u);
  EXPECT_EQ(names(List({{"resourceVersion", "0"}, {"fieldSelector", "spec.nodeName=node-a"}})).size(), 5u)
      << "the watch cache answers resourceVersion=0 lists";

  // Pages of 10 at one revision: every pod exactly once, in key order.
  std::vector<std::string> all;
  std::string cont;
  int pages = 0;
  do {
    std::map<std::string, std::string> q{{"limit", "10"}};
    if (!cont.empty()) q["continue"] = cont;
    const ApiResult r = List(q);
    ASSERT_EQ(r.code, 200) << r.Describe();
    ObjectList l;
    l.ParseFromString(r.body);
    EXPECT_LE(l.items_size(), 10);
    for (const std::string& n : names(r)) all.push_back(n);
    cont = l.metadata().continue_();
    ++pages;
    if (pages == 1) {
      ASSERT_EQ(Create(Pods(), MakePod("default", "p999")).code, 201);  // after the first page
    }
  } while (!cont.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(all.size(), 25u) << "a paged list is a snapshot at its first page's revision";
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));
}

TEST_F(ApiServerTest, DeleteHonoursGraceForBoundPodsAndFinalizers) {
  ASSERT_EQ(Create(Pods(), MakePod("default", "unbound")).code, 201);
  ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { c->Delete(Pods(), "default", "unbound", d); }).code, 200);
  EXPECT_EQ(GetPod("unbound").code, 404) << "an unbound pod goes at once";

  ASSERT_EQ(Create(Pods(), MakePod("default", "bound", {}, "node-a")).code, 201);
  const ApiResult graceful = cluster.Await([&](ApiClient::Done d) { c->Delete(Pods(), "default", "bound", d); });
  ASSERT_EQ(graceful.code, 200);
  auto b = AsPod(GetPod("bound"));
  ASSERT_NE(b, nullptr) << "a bound pod waits for its kubelet";
  EXPECT_TRUE(b->metadata().has_deletion_timestamp());
  EXPECT_EQ(b->metadata().deletion_grace_period_seconds(), 30);
  ASSERT_EQ(cluster.Await([&](ApiClient::Done d) {
              c->Delete(Pods(), "default", "bound", d, {{"gracePeriodSeconds", "0"}});
            }).code,
            200);
  EXPECT_EQ(GetPod("bound").code, 404) << "the kubelet's delete with grace 0 removes it";

  api::Pod f = MakePod("default", "held");
  f.mutable_metadata()->add_finalizers("example.com/hold");
  ASSERT_EQ(Create(Pods(), f).code, 201);
  ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { c->Delete(Pods(), "default", "held", d); }).code, 200);
  auto held = AsPod(GetPod("held"));
  ASSERT_NE(held, nullptr) << "a finalizer keeps the object";
  EXPECT_TRUE(held->metadata().has_deletion_timestamp());
  held->mutable_metadata()->clear_finalizers();
  ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { c->Update(Pods(), *held, d); }).code, 200);
  EXPECT_EQ(GetPod("held").code, 404) << "removing the last finalizer deletes it";
}

TEST_F(ApiServerTest, PatchesApplyToTheCurrentObject) {
  ASSERT_EQ(Create(Pods(), MakePod("default", "web", {{"a", "1"}})).code, 201);
  const ApiResult merge = cluster.Await([&](ApiClient::Done d) {
    c->Patch(Pods(), "default", "web", "application/merge-patch+json", R"({"metadata":{"labels":{"b":"2","a":null}}})",
             d);
  });
  ASSERT_EQ(merge.code, 200) << merge.Describe();
  auto p = AsPod(merge);
  EXPECT_EQ(p->metadata().labels().size(), 1u);
  EXPECT_EQ(p->metadata().labels().at("b"), "2");

  const ApiResult strategic = cluster.Await([&](ApiClient::Done d) {
    c->Patch(Pods(), "default", "web", "application/strategic-merge-patch+json",
             R"({"spec":{"containers":[{"name":"app","image":"nginx:1.26"}]}})", d);
  });
  ASSERT_EQ(strategic.code, 200) << strategic.Describe();
  EXPECT_EQ(AsPod(strategic)->spec().containers(0).image(), "nginx:1.26");
  EXPECT_EQ(AsPod(strategic)->spec().containers_size(), 1) << "containers merge by name";

  const ApiResult failing = cluster.Await([&](ApiClient::Done d) {
    c->Patch(Pods(), "default", "web", "application/json-patch+json",
             R"([{"op":"test","path":"/metadata/labels/b","value":"3"}])", d);
  });
  EXPECT_EQ(failing.code, 422) << failing.Describe();
}

TEST_F(ApiServerTest, BindingAssignsANodeOnce) {
  ASSERT_EQ(Create(Pods(), MakePod("default", "web")).code, 201);
  auto bind = [&](const std::string& node) {
    return cluster.Await([&](ApiClient::Done d) {
      api::Binding b;
      b.mutable_metadata()->set_name("web");
      b.mutable_target()->set_kind("Node");
      b.mutable_target()->set_name(node);
      Request r;
      r.set_verb("create");
      r.set_version("v1");
      r.set_resource("pods");
      r.set_namespace_("default");
      r.set_name("web");
      r.set_subresource("binding");
      r.set_body(b.SerializeAsString());
      c->Do(r, d);
    });
  };
  EXPECT_EQ(bind("node-a").code, 201);
  EXPECT_EQ(AsPod(GetPod("web"))->spec().node_name(), "node-a");
  const ApiResult again = bind("node-b");
  EXPECT_EQ(again.code, 409);
  EXPECT_EQ(AsPod(GetPod("web"))->spec().node_name(), "node-a");
}

TEST_F(ApiServerTest, ARetriedCreateWithTheSameRequestIdSucceedsOnce) {
  auto create = [&] {
    return cluster.Await([&](ApiClient::Done d) {
      Request r;
      r.set_verb("create");
      r.set_version("v1");
      r.set_resource("pods");
      r.set_namespace_("default");
      r.set_request_id("req-42");
      r.set_body(MakePod("default", "once").SerializeAsString());
      c->Do(r, d);
    });
  };
  const ApiResult a = create();
  const ApiResult b = create();
  ASSERT_EQ(a.code, 201);
  ASSERT_EQ(b.code, 201) << "the same request id is the same create";
  EXPECT_EQ(AsPod(a)->metadata().uid(), AsPod(b)->metadata().uid());
  api::Pod other = MakePod("default", "once");
  EXPECT_EQ(Create(Pods(), other).code, 409) << "a different create of the name conflicts";
}

}  // namespace
}  // namespace ksim::apiserver::testing

namespace ksim::apiserver::testing {
namespace {

TEST(ApiScale, TheScaleSubresourceReadsAndWritesReplicas) {
  ApiCluster cluster;
  ApiClient* c = cluster.AddClient("client");
  ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { c->Create(Kind("", "namespaces"), MakeNamespace("default"), d); }).code, 201);
  api::Deployment dep;
  dep.mutable_metadata()->set_namespace_("default");
  dep.mutable_metadata()->set_name("web");
  dep.mutable_spec()->set_replicas(3);
  (*dep.mutable_spec()->mutable_selector()->mutable_match_labels())["app"] = "web";
  *dep.mutable_spec()->mutable_template_()->mutable_metadata()->mutable_labels() = dep.spec().selector().match_labels();
  auto* container = dep.mutable_spec()->mutable_template_()->mutable_spec()->add_containers();
  container->set_name("web");
  container->set_image("nginx:1.25");
  const ApiResult created = cluster.Await([&](ApiClient::Done d) { c->Create(Kind("apps", "deployments"), dep, d); });
  ASSERT_EQ(created.code, 201) << created.Describe();

  auto scale_call = [&](const std::string& verb, const api::Scale* body) {
    return cluster.Await([&](ApiClient::Done d) {
      Request r;
      r.set_verb(verb);
      r.set_group("apps");
      r.set_version("v1");
      r.set_resource("deployments");
      r.set_namespace_("default");
      r.set_name("web");
      r.set_subresource("scale");
      if (body != nullptr) r.set_body(body->SerializeAsString());
      c->Do(r, d);
    });
  };
  const ApiResult got = scale_call("get", nullptr);
  ASSERT_EQ(got.code, 200) << got.Describe();
  api::Scale scale;
  scale.ParseFromString(got.body);
  EXPECT_EQ(scale.spec().replicas(), 3);
  EXPECT_EQ(scale.status().selector(), "app=web");

  api::Scale stale = scale;
  scale.mutable_spec()->set_replicas(5);
  const ApiResult updated = scale_call("update", &scale);
  ASSERT_EQ(updated.code, 200) << updated.Describe();
  api::Scale after;
  after.ParseFromString(updated.body);
  EXPECT_EQ(after.spec().replicas(), 5);
  const ApiResult d = cluster.Await([&](ApiClient::Done done) { c->Get(Kind("apps", "deployments"), "default", "web", done); });
  api::Deployment now;
  now.ParseFromString(d.body);
  EXPECT_EQ(now.spec().replicas(), 5);
  EXPECT_EQ(now.metadata().generation(), 2);
  stale.mutable_spec()->set_replicas(1);
  EXPECT_EQ(scale_call("update", &stale).code, 409) << "the Scale's resourceVersion is a precondition";
}

}  // namespace
}  // namespace ksim::apiserver::testing

namespace ksim::apiserver::testing {
namespace {

TEST(ApiNamespaces, ADeletedNamespaceTerminatesRefusesNewContentAndGoesWhenFinalized) {
  ApiCluster cluster;
  ApiClient* c = cluster.AddClient("client");
  const auto& namespaces = Kind("", "namespaces");
  ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { c->Create(namespaces, MakeNamespace("team"), d); }).code, 201);
  ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { c->Delete(namespaces, "", "team", d); }).code, 200);
  const ApiResult got = cluster.Await([&](ApiClient::Done d) { c->Get(namespaces, "", "team", d); });
  api::Namespace ns;
  ASSERT_TRUE(ns.ParseFromString(got.body));
  EXPECT_EQ(ns.status().phase(), "Terminating");
  EXPECT_TRUE(ns.metadata().has_deletion_timestamp());
  cluster.store.world.RunFor(Milliseconds(100));
  const ApiResult refused = cluster.Await([&](ApiClient::Done d) { c->Create(Kind("", "pods"), MakePod("team", "late"), d); });
  EXPECT_EQ(refused.code, 403);
  EXPECT_EQ(refused.error.message(), "unable to create new content in namespace team because it is being terminated");
  // The namespace controller's finalize: spec.finalizers emptied through namespaces/finalize.
  ns.mutable_spec()->clear_finalizers();
  ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { c->Update(namespaces, ns, d, "finalize"); }).code, 200);
  EXPECT_EQ(cluster.Await([&](ApiClient::Done d) { c->Get(namespaces, "", "team", d); }).code, 404);
}

TEST(ApiCollections, DeleteCollectionDeletesWhatTheSelectorMatches) {
  ApiCluster cluster;
  ApiClient* c = cluster.AddClient("client");
  ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { c->Create(Kind("", "namespaces"), MakeNamespace("default"), d); }).code, 201);
  for (int i = 0; i < 6; ++i) {
    ASSERT_EQ(cluster.Await([&](ApiClient::Done d) {
                c->Create(Kind("", "pods"), MakePod("default", "p" + std::to_string(i), {{"batch", i < 4 ? "old" : "new"}}), d);
              }).code,
              201);
  }
  const ApiResult r = cluster.Await([&](ApiClient::Done d) {
    Request req;
    req.set_verb("deletecollection");
    req.set_version("v1");
    req.set_resource("pods");
    req.set_namespace_("default");
    (*req.mutable_query())["labelSelector"] = "batch=old";
    c->Do(req, d);
  });
  ASSERT_EQ(r.code, 200) << r.Describe();
  const ApiResult left = cluster.Await([&](ApiClient::Done d) { c->List(Kind("", "pods"), "default", {}, d); });
  ObjectList l;
  l.ParseFromString(left.body);
  EXPECT_EQ(l.items_size(), 2);
}

TEST(ApiWatchBookmarks, WatchersThatAskGetBookmarksWithTheCacheRevision) {
  ApiCluster cluster(1, 1, [](ApiServerOptions& o) { o.bookmark_interval = Seconds(1); });
  ApiClient* c = cluster.AddClient("client");
  ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { c->Create(Kind("", "namespaces"), MakeNamespace("default"), d); }).code, 201);
  std::vector<std::string> with;
  std::vector<std::string> without;
  int64_t bookmark_rv = 0;
  for (bool ask : {true, false}) {
    Request r;
    r.set_version("v1");
    r.set_resource("pods");
    r.set_namespace_("default");
    if (ask) (*r.mutable_query())["allowWatchBookmarks"] = "true";
    auto* seen = ask ? &with : &without;
    c->Watch(
        r,
        [seen, &bookmark_rv](const WatchEvent& e) {
          seen->push_back(e.type());
          if (e.type() == "BOOKMARK") bookmark_rv = e.resource_version();
          return true;
        },
        [](Status, const ApiResult&) {});
  }
  const ApiResult created = cluster.Await([&](ApiClient::Done d) { c->Create(Kind("", "pods"), MakePod("default", "web"), d); });
  api::Pod p;
  p.ParseFromString(created.body);
  cluster.store.world.RunFor(Seconds(3));
  EXPECT_EQ(without, std::vector<std::string>{"ADDED"});
  ASSERT_GE(with.size(), 2u);
  EXPECT_EQ(with[0], "ADDED");
  EXPECT_EQ(with[1], "BOOKMARK");
  EXPECT_GE(bookmark_rv, std::stoll(p.metadata().resource_version()));
}

}  // namespace
}  // namespace ksim::apiserver::testing
