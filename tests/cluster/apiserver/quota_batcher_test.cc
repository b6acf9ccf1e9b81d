// Creates in a namespace with a ResourceQuota, many at once and through several
// apiservers: every create that fits is admitted (the liveness floor: before batching,
// most of them were answered 409), none that does not fit is, and status.used counts
// exactly the objects that exist.
#include "cluster/apiserver/quota_batcher.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cluster/api/machinery/quantity.h"
#include "tests/cluster/apiserver/api_cluster.h"

namespace ksim::apiserver {
namespace {

using testing::ApiCluster;
using testing::Kind;
using testing::MakeNamespace;
using testing::MakePod;

api::ResourceQuota PodQuota(const std::string& ns, int pods) {
  api::ResourceQuota q;
  q.mutable_metadata()->set_namespace_(ns);
  q.mutable_metadata()->set_name("pods");
  (*q.mutable_spec()->mutable_hard())["pods"] = std::to_string(pods);
  return q;
}

int64_t UsedPods(ApiCluster& c, client::ApiClient* admin, const std::string& ns) {
  const client::ApiResult r = c.Await([&](auto done) { admin->Get(Kind("", "resourcequotas"), ns, "pods", done); });
  api::ResourceQuota q;
  if (!r.ok() || !q.ParseFromString(r.body)) return -1;
  auto it = q.status().used().find("pods");
  api::Quantity used;
  if (it == q.status().used().end() || !api::Quantity::Parse(it->second, &used).ok()) return -1;
  return used.Value();
}

struct Tally {
  int created = 0;
  int forbidden = 0;
  int other = 0;
  std::string first_other;
};

// Sends `count` pod creates at once, spread over `clients`, and waits for every answer.
Tally CreateAtOnce(ApiCluster& c, const std::vector<client::ApiClient*>& clients, const std::string& ns, int first,
                   int count) {
  Tally t;
  int answered = 0;
  for (int i = first; i < first + count; ++i) {
    client::ApiClient* client = clients[static_cast<size_t>(i) % clients.size()];
    client->Create(Kind("", "pods"), MakePod(ns, "p" + std::to_string(i)), [&t, &answered](const client::ApiResult& r) {
      ++answered;
      if (r.ok()) {
        ++t.created;
      } else if (r.code == 403) {
        ++t.forbidden;
      } else {
        if (t.other == 0) t.first_other = std::to_string(r.code) + " " + r.body;
        ++t.other;
      }
    });
  }
  c.store.world.RunUntilCondition([&] { return answered == count; }, c.store.world.now() + Seconds(120));
  EXPECT_EQ(answered, count);
  return t;
}

TEST(QuotaBatcher, ConcurrentCreatesThroughThreeApiserversFillTheQuotaExactly) {
  ApiCluster c(3, 7);
  client::ApiClient* admin = c.AddClient("admin");
  ASSERT_TRUE(c.Await([&](auto done) { admin->Create(Kind("", "namespaces"), MakeNamespace("t"), done); }).ok());
  ASSERT_TRUE(c.Await([&](auto done) { admin->Create(Kind("", "resourcequotas"), PodQuota("t", 300), done); }).ok());
  c.store.world.RunFor(Seconds(1));  // every apiserver's quota cache has it
  std::vector<client::ApiClient*> clients;
  for (int i = 1; i <= 3; ++i) clients.push_back(c.AddClient("tenant" + std::to_string(i), i));
  // 400 creates at once for a quota of 300: exactly 300 are admitted, 100 refused.
  const Tally t = CreateAtOnce(c, clients, "t", 0, 400);
  EXPECT_EQ(t.created, 300);
  EXPECT_EQ(t.forbidden, 100);
  EXPECT_EQ(t.other, 0) << t.first_other;
  EXPECT_EQ(UsedPods(c, admin, "t"), 300);
  // Several quota writes carried the 300 charges: batching happened.
  uint64_t writes = 0;
  uint64_t charges = 0;
  for (int i = 1; i <= 3; ++i) {
    writes += c.Server(i)->handler().quota_stats().writes;
    charges += c.Server(i)->handler().quota_stats().charges;
  }
  EXPECT_EQ(charges, 300u);
  EXPECT_LT(writes, 300u / 4);
}

TEST(QuotaBatcher, ACreateWhoseNameExistsGivesItsChargeBack) {
  ApiCluster c(1, 3);
  client::ApiClient* admin = c.AddClient("admin");
  ASSERT_TRUE(c.Await([&](auto done) { admin->Create(Kind("", "namespaces"), MakeNamespace("t"), done); }).ok());
  ASSERT_TRUE(c.Await([&](auto done) { admin->Create(Kind("", "resourcequotas"), PodQuota("t", 10), done); }).ok());
  c.store.world.RunFor(Seconds(1));
  ASSERT_EQ(CreateAtOnce(c, {admin}, "t", 0, 5).created, 5);
  // The same five names again: all answered 409 AlreadyExists, and the quota still says 5.
  const Tally again = CreateAtOnce(c, {admin}, "t", 0, 5);
  EXPECT_EQ(again.created, 0);
  EXPECT_EQ(again.other, 5);
  c.store.world.RunFor(Seconds(1));  // releases are written after the answers
  EXPECT_EQ(UsedPods(c, admin, "t"), 5);
  EXPECT_EQ(c.Server(1)->handler().quota_stats().releases, 5u);
  // And the five charges given back are usable: five more fit.
  EXPECT_EQ(CreateAtOnce(c, {admin}, "t", 5, 5).created, 5);
  EXPECT_EQ(UsedPods(c, admin, "t"), 10);
}

}  // namespace
}  // namespace ksim::apiserver
