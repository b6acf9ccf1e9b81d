// List pages bounded by bytes, and lists too large for one reply answered with a
// Kubernetes Status (issue #14), in the simulated world.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "cluster/apiserver/apiserver.pb.h"
#include "tests/cluster/apiserver/api_cluster.h"

namespace ksim::apiserver::testing {
namespace {

constexpr size_t kSecretBytes = 900 << 10;  // with its metadata, within the store's 1 MiB value

// A cluster with namespace "big" holding `n` Secrets of kSecretBytes each.
class ListLimits : public ::testing::Test {
 protected:
  void Fill(int n) {
    client = cluster.AddClient("c1");
    ASSERT_TRUE(cluster.Await([&](auto done) { client->Create(Kind("", "namespaces"), MakeNamespace("big"), done); }).ok());
    for (int i = 0; i < n; ++i) {
      api::Secret s;
      s.mutable_metadata()->set_namespace_("big");
      s.mutable_metadata()->set_name("s" + std::to_string(100 + i));
      (*s.mutable_data())["blob"] = std::string(kSecretBytes, static_cast<char>('a' + i % 26));
      const client::ApiResult r = cluster.Await([&](auto done) { client->Create(Kind("", "secrets"), s, done); });
      ASSERT_TRUE(r.ok()) << r.Describe();
    }
  }
  client::ApiResult List(std::map<std::string, std::string> query) {
    return cluster.Await([&](auto done) { client->List(Kind("", "secrets"), "big", query, done); });
  }

  ApiCluster cluster;
  client::ApiClient* client = nullptr;
};

// A page asked for with `limit` ends at max_list_page_bytes (4 MiB), below the limit,
// with a continue token; following the tokens reads every object once, at one revision.
TEST_F(ListLimits, APageEndsEarlyByBytesWithAContinueToken) {
  Fill(12);
  std::set<std::string> names;
  std::set<std::string> revisions;
  std::string cont;
  int pages = 0;
  do {
    std::map<std::string, std::string> q{{"limit", "100"}};
    if (!cont.empty()) q["continue"] = cont;
    const client::ApiResult r = List(q);
    ASSERT_TRUE(r.ok()) << r.Describe();
    ObjectList list;
    ASSERT_TRUE(list.ParseFromString(r.body));
    ASSERT_GT(list.items_size(), 0);
    EXPECT_LE(list.items_size(), 5) << "4 MiB of 900 KiB Secrets";
    for (const std::string& bytes : list.items()) {
      api::Secret s;
      ASSERT_TRUE(s.ParseFromString(bytes));
      EXPECT_TRUE(names.insert(s.metadata().name()).second) << "listed twice: " << s.metadata().name();
    }
    revisions.insert(list.metadata().resource_version());
    cont = list.metadata().continue_();
    ++pages;
  } while (!cont.empty() && pages < 50);
  EXPECT_EQ(names.size(), 12u);
  EXPECT_GE(pages, 3);
  EXPECT_EQ(revisions.size(), 1u) << "every page at the first page's revision";
}

// Unpaged, 20 Secrets would be an 18 MiB reply, past the 16 MiB frame: a 500 Status
// naming the way out, from the store path and from the watch cache alike; never a
// reply the transport drops.
TEST_F(ListLimits, AListTooLargeForOneReplyIsA500) {
  Fill(20);
  for (const char* rv : {"", "0"}) {
    std::map<std::string, std::string> q;
    if (*rv != '\0') q["resourceVersion"] = rv;
    const client::ApiResult r = List(q);
    ASSERT_TRUE(r.status.ok()) << "answered, not timed out: " << r.Describe();
    EXPECT_EQ(r.code, 500) << "resourceVersion=" << rv << ": " << r.Describe();
    EXPECT_EQ(r.error.reason(), "InternalError");
    EXPECT_NE(r.error.message().find("limit and continue"), std::string::npos) << r.error.message();
  }
}

// An informer over the same 18 MiB lists in pages and syncs.
TEST_F(ListLimits, AnInformerSyncsThroughPages) {
  Fill(20);
  client::InformerOptions io;
  io.namespace_ = "big";
  client::Informer* inf = cluster.AddInformer("inf", Kind("", "secrets"), io);
  ASSERT_TRUE(cluster.store.world.RunUntilCondition([&] { return inf->HasSynced(); },
                                                    cluster.store.world.now() + Seconds(60)));
  EXPECT_EQ(inf->size(), 20u);
  EXPECT_GE(inf->stats().list_pages, 5u) << "4 MiB pages";
}

}  // namespace
}  // namespace ksim::apiserver::testing
