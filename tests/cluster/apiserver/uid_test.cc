// Uids never repeat across apiserver incarnations: a process restarted with the same seed
// draws its Entropy from a new stream (the host counts incarnations), while two runs of one
// seed still mint the same uids.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "cluster/api/rbac.pb.h"
#include "tests/cluster/apiserver/api_cluster.h"

namespace ksim::apiserver::testing {
namespace {

using client::ApiClient;
using client::ApiResult;

const api::KindInfo& ClusterRoles() { return Kind("rbac.authorization.k8s.io", "clusterroles"); }

template <typename T>
std::string UidOf(const ApiResult& r) {
  T object;
  if (!r.ok() || !object.ParseFromString(r.body)) return "";
  return object.metadata().uid();
}

// Uids of: the bootstrap ClusterRole "view", two pods created before a restart, the "view"
// the restarted apiserver writes again after it was deleted, two pods created after.
std::vector<std::string> RunRestart(uint64_t seed) {
  ApiCluster cluster(1, seed);
  ApiClient* admin = cluster.AddClient("admin");
  std::vector<std::string> uids;
  auto get_view = [&] { return cluster.Await([&](ApiClient::Done d) { admin->Get(ClusterRoles(), "", "view", d); }); };
  auto create_pod = [&](const std::string& name) {
    return cluster.Await([&](ApiClient::Done d) { admin->Create(Kind("", "pods"), MakePod("ns", name), d); });
  };
  EXPECT_EQ(cluster.Await([&](ApiClient::Done d) { admin->Create(Kind("", "namespaces"), MakeNamespace("ns"), d); }).code,
            201);
  uids.push_back(UidOf<api::ClusterRole>(get_view()));
  for (const char* name : {"a", "b"}) uids.push_back(UidOf<api::Pod>(create_pod(name)));
  EXPECT_TRUE(cluster.Await([&](ApiClient::Done d) { admin->Delete(ClusterRoles(), "", "view", d); }).ok());

  cluster.store.world.host(3).CrashProcess("apiserver");
  cluster.store.world.RunFor(Seconds(1));
  cluster.store.world.host(3).RestartProcess("apiserver");
  cluster.store.world.RunFor(Seconds(5));  // the new incarnation writes the bootstrap policy again

  uids.push_back(UidOf<api::ClusterRole>(get_view()));
  for (const char* name : {"c", "d"}) uids.push_back(UidOf<api::Pod>(create_pod(name)));
  return uids;
}

TEST(ApiUids, RestartedApiserverNeverReusesAUid) {
  const std::vector<std::string> uids = RunRestart(1);
  ASSERT_EQ(uids.size(), 6u);
  for (const std::string& uid : uids) EXPECT_EQ(uid.size(), 36u) << "every object was read back";
  const std::set<std::string> before(uids.begin(), uids.begin() + 3);
  for (size_t i = 3; i < uids.size(); ++i) EXPECT_EQ(before.count(uids[i]), 0u) << "reused uid " << uids[i];
  EXPECT_EQ(std::set<std::string>(uids.begin(), uids.end()).size(), uids.size());
}

TEST(ApiUids, ASeedReplaysItsUids) {
  const std::vector<std::string> first = RunRestart(2);
  EXPECT_EQ(first, RunRestart(2));
  EXPECT_NE(first, RunRestart(3));  // liveness floor: the seed does reach the uids
}

}  // namespace
}  // namespace ksim::apiserver::testing
