// Admission on create: LimitRanger, ResourceQuota (charged atomically in the store, so
// never exceeded even through several apiservers at once) and DefaultTolerationSeconds
// (ServiceAccount: service_account_admission_test.cc).
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>

#include "tests/cluster/apiserver/api_cluster.h"

namespace ksim::apiserver::testing {
namespace {

using client::ApiClient;
using client::ApiResult;

const api::KindInfo& Pods() { return Kind("", "pods"); }

api::ResourceQuota Quota(const std::string& name, std::map<std::string, std::string> hard) {
  api::ResourceQuota q;
  q.mutable_metadata()->set_namespace_("default");
  q.mutable_metadata()->set_name(name);
  for (auto& [k, v] : hard) (*q.mutable_spec()->mutable_hard())[k] = v;
  return q;
}

class AdmissionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    c = cluster.AddClient("client");
    ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { c->Create(Kind("", "namespaces"), MakeNamespace("default"), d); }).code, 201);
  }
  ApiResult Create(const google::protobuf::Message& m, const api::KindInfo& info) {
    return cluster.Await([&](ApiClient::Done d) { c->Create(info, m, d); });
  }
  ApiCluster cluster{2};
  ApiClient* c = nullptr;
};

TEST_F(AdmissionTest, LimitRangerDefaultsAndBoundsContainers) {
  api::LimitRange lr;
  lr.mutable_metadata()->set_namespace_("default");
  lr.mutable_metadata()->set_name("limits");
  auto* item = lr.mutable_spec()->add_limits();
  item->set_type("Container");
  (*item->mutable_default_limit())["cpu"] = "500m";
  (*item->mutable_default_request())["cpu"] = "250m";
  (*item->mutable_max())["cpu"] = "1";
  ASSERT_EQ(Create(lr, Kind("", "limitranges")).code, 201);
  cluster.store.world.RunFor(Milliseconds(100));

  const ApiResult defaulted = Create(MakePod("default", "plain"), Pods());
  ASSERT_EQ(defaulted.code, 201) << defaulted.Describe();
  api::Pod p;
  p.ParseFromString(defaulted.body);
  EXPECT_EQ(p.spec().containers(0).resources().limits().at("cpu"), "500m");
  EXPECT_EQ(p.spec().containers(0).resources().requests().at("cpu"), "250m");

  api::Pod big = MakePod("default", "big");
  (*big.mutable_spec()->mutable_containers(0)->mutable_resources()->mutable_limits())["cpu"] = "2";
  const ApiResult denied = Create(big, Pods());
  EXPECT_EQ(denied.code, 403);
  EXPECT_EQ(denied.error.message(), "pods \"big\" is forbidden: maximum cpu usage per Container is 1, but limit is 2");
}

TEST_F(AdmissionTest, DefaultTolerationSecondsAddsNotReadyAndUnreachableFor300s) {
  const ApiResult created = Create(MakePod("default", "plain"), Pods());
  ASSERT_EQ(created.code, 201) << created.Describe();
  api::Pod p;
  ASSERT_TRUE(p.ParseFromString(created.body));
  ASSERT_EQ(p.spec().tolerations_size(), 2);
  std::map<std::string, int64_t> seconds;
  for (const auto& t : p.spec().tolerations()) {
    EXPECT_EQ(t.operator_(), "Exists");
    EXPECT_EQ(t.effect(), "NoExecute");
    seconds[t.key()] = t.toleration_seconds();
  }
  EXPECT_EQ(seconds["node.kubernetes.io/not-ready"], 300);
  EXPECT_EQ(seconds["node.kubernetes.io/unreachable"], 300);

  // A pod that tolerates one of them itself keeps its own and gets only the other.
  api::Pod own = MakePod("default", "own");
  auto* t = own.mutable_spec()->add_tolerations();
  t->set_key("node.kubernetes.io/unreachable");
  t->set_operator_("Exists");
  t->set_effect("NoExecute");
  t->set_toleration_seconds(6000);
  const ApiResult own_created = Create(own, Pods());
  ASSERT_EQ(own_created.code, 201) << own_created.Describe();
  ASSERT_TRUE(p.ParseFromString(own_created.body));
  ASSERT_EQ(p.spec().tolerations_size(), 2);
  EXPECT_EQ(p.spec().tolerations(0).toleration_seconds(), 6000);
  EXPECT_EQ(p.spec().tolerations(1).key(), "node.kubernetes.io/not-ready");

  // A wildcard (empty key, Exists) tolerates everything: nothing is added.
  api::Pod all = MakePod("default", "all");
  all.mutable_spec()->add_tolerations()->set_operator_("Exists");
  const ApiResult all_created = Create(all, Pods());
  ASSERT_EQ(all_created.code, 201) << all_created.Describe();
  ASSERT_TRUE(p.ParseFromString(all_created.body));
  EXPECT_EQ(p.spec().tolerations_size(), 1);
}

TEST_F(AdmissionTest, ResourceQuotaIsChargedAndReleased) {
  ASSERT_EQ(Create(Quota("q", {{"pods", "2"}, {"requests.cpu", "1"}}), Kind("", "resourcequotas")).code, 201);
  cluster.store.world.RunFor(Milliseconds(100));
  auto pod = [](const std::string& name, const std::string& cpu) {
    api::Pod p = MakePod("default", name);
    (*p.mutable_spec()->mutable_containers(0)->mutable_resources()->mutable_requests())["cpu"] = cpu;
    return p;
  };
  EXPECT_EQ(Create(pod("a", "400m"), Pods()).code, 201);
  const ApiResult cpu = Create(pod("b", "700m"), Pods());
  EXPECT_EQ(cpu.code, 403);
  EXPECT_EQ(cpu.error.message(),
            "pods \"b\" is forbidden: exceeded quota: q, requested: requests.cpu=700m, used: requests.cpu=400m, "
            "limited: requests.cpu=1");
  EXPECT_EQ(Create(pod("c", "100m"), Pods()).code, 201);
  const ApiResult count = Create(pod("d", "100m"), Pods());
  EXPECT_EQ(count.code, 403);
  EXPECT_NE(count.error.message().find("exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2"),
            std::string::npos)
      << count.error.message();
  ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { c->Delete(Pods(), "default", "a", d); }).code, 200);
  cluster.store.world.RunFor(Milliseconds(100));
  EXPECT_EQ(Create(pod("d", "100m"), Pods()).code, 201) << "a delete releases its charge";
  const ApiResult q = cluster.Await([&](ApiClient::Done d) { c->Get(Kind("", "resourcequotas"), "default", "q", d); });
  api::ResourceQuota rq;
  rq.ParseFromString(q.body);
  EXPECT_EQ(rq.status().used().at("pods"), "2");
  EXPECT_EQ(rq.status().used().at("requests.cpu"), "200m");
}

// Quota is never exceeded: creators race through both apiservers (and one apiserver may
// be cut off for a while); at the end the pods that exist never outnumber the quota and
// the quota's usage counts exactly them. Liveness floors: without the cut, creates up to the
// quota all succeed (as many pods as the quota allows exist); with or without it, once
// things settle, creates fill the quota exactly (each is accepted, the next is refused).
RC_GTEST_PROP(AdmissionProperty, QuotaIsNeverExceededByConcurrentCreates, ()) {
  const int limit = *rc::gen::inRange(1, 12);
  const int creators = *rc::gen::inRange(2, 5);
  const bool cut = *rc::gen::arbitrary<bool>();
  const int cut_at_ms = *rc::gen::inRange(0, 50);
  ApiCluster cluster(2, *rc::gen::inRange<uint64_t>(1, 1000));
  ApiClient* admin = cluster.AddClient("admin");
  RC_ASSERT(cluster.Await([&](ApiClient::Done d) { admin->Create(Kind("", "namespaces"), MakeNamespace("default"), d); }).code == 201);
  RC_ASSERT(cluster.Await([&](ApiClient::Done d) {
              admin->Create(Kind("", "resourcequotas"), Quota("q", {{"pods", std::to_string(limit)}}), d);
            }).code == 201);
  cluster.store.world.RunFor(Milliseconds(100));
  int acked = 0;
  int answered = 0;
  std::vector<ApiClient*> clients;
  for (int i = 0; i < creators; ++i) clients.push_back(cluster.AddClient("creator" + std::to_string(i), 1 + i % 2));
  for (int i = 0; i < creators; ++i) {
    for (int j = 0; j < 6; ++j) {
      clients[static_cast<size_t>(i)]->Create(
          Pods(), MakePod("default", "p" + std::to_string(i) + "-" + std::to_string(j)), [&](const ApiResult& r) {
            ++answered;
            if (r.ok()) ++acked;
          });
    }
  }
  sim::World& w = cluster.store.world;
  if (cut) {
    w.RunFor(Milliseconds(cut_at_ms));
    w.network().Isolate(3);  // apiserver 1
    w.RunFor(Seconds(2));
    w.network().Heal();
  }
  w.RunUntilCondition([&] { return answered == creators * 6; }, w.now() + Seconds(120));
  w.RunFor(Seconds(1));
  const ApiResult list = cluster.Await([&](ApiClient::Done d) { admin->List(Pods(), "default", {}, d); });
  ObjectList l;
  l.ParseFromString(list.body);
  RC_ASSERT(l.items_size() <= limit);
  RC_ASSERT(acked <= l.items_size());
  const ApiResult q = cluster.Await([&](ApiClient::Done d) { admin->Get(Kind("", "resourcequotas"), "default", "q", d); });
  api::ResourceQuota rq;
  rq.ParseFromString(q.body);
  const auto used = rq.status().used().find("pods");  // absent until a pod is charged
  RC_ASSERT((used == rq.status().used().end() ? std::string("0") : used->second) == std::to_string(l.items_size()));
  const int sent = creators * 6;
  if (!cut) RC_ASSERT(l.items_size() == std::min(limit, sent));
  for (int k = l.items_size(); k <= limit; ++k) {
    const ApiResult r = cluster.Await(
        [&](ApiClient::Done d) { admin->Create(Pods(), MakePod("default", "fill-" + std::to_string(k)), d); });
    RC_ASSERT(r.code == (k < limit ? 201 : 403));
  }
}

}  // namespace
}  // namespace ksim::apiserver::testing
