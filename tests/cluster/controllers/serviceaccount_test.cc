// The ServiceAccount and legacy token controllers against the API in the simulated world:
// a `default` account in every active namespace (re-created when deleted, not in a
// terminating namespace); Kubernetes' "manually create a long-lived API token" example
// (a kubernetes.io/service-account-token Secret filled with token, ca.crt and namespace,
// whose token then authenticates); token Secrets of deleted or replaced accounts deleted.
#include <gtest/gtest.h>

#include "cluster/apiserver/auth/authn.h"
#include "cluster/controllers/service_account.h"
#include "tests/cluster/controllers/cm_cluster.h"

namespace ksim::controllers::testing {
namespace {

constexpr char kRootCa[] = "-----BEGIN CERTIFICATE-----\nroot\n-----END CERTIFICATE-----\n";

api::Namespace MakeNs(const std::string& name) {
  api::Namespace ns;
  ns.mutable_metadata()->set_name(name);
  return ns;
}
api::ServiceAccount MakeSa(const std::string& ns, const std::string& name) {
  api::ServiceAccount sa;
  sa.mutable_metadata()->set_name(name);
  sa.mutable_metadata()->set_namespace_(ns);
  return sa;
}
api::Secret TokenSecret(const std::string& ns, const std::string& name, const std::string& account) {
  api::Secret s;
  s.mutable_metadata()->set_name(name);
  s.mutable_metadata()->set_namespace_(ns);
  (*s.mutable_metadata()->mutable_annotations())["kubernetes.io/service-account.name"] = account;
  s.set_type("kubernetes.io/service-account-token");
  return s;
}

class ServiceAccountTest : public ::testing::Test {
 public:
  void Start(int managers = 1) {
    for (int i = 1; i <= managers; ++i) {
      c.AddManager(i, [](ControllerManagerOptions& o) {
        o.controllers = {kServiceAccountControllerName, kServiceAccountTokenControllerName};
        o.root_ca_pem = kRootCa;
      });
    }
    c.Run(Seconds(20));
  }
  std::map<std::string, api::ServiceAccount> Accounts(const std::string& ns) {
    return c.List<api::ServiceAccount>("serviceaccounts", ns);
  }
  std::map<std::string, api::Secret> Secrets(const std::string& ns) { return c.List<api::Secret>("secrets", ns); }
  client::ApiResult Delete(const std::string& resource, const std::string& ns, const std::string& name) {
    return c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Delete(Kind("", resource), ns, name, std::move(d)); });
  }
  // The answer a request with `token` gets: 401 if it authenticates nobody.
  int CodeWithToken(const std::string& token) {
    client::ApiClient* client = c.api.AddClient("client-" + std::to_string(++clients_), 0, token);
    return c.api.Await([&](client::ApiClient::Done d) { client->List(Kind("", "pods"), "default", {}, std::move(d)); }).code;
  }
  CmCluster c;
  int clients_ = 0;
};

TEST_F(ServiceAccountTest, EveryActiveNamespaceGetsADefaultAccountAgainWhenDeleted) {
  ASSERT_TRUE(c.Create(MakeNs("team-a")).ok());
  Start();
  ASSERT_TRUE(c.Create(MakeNs("team-b")).ok());
  c.Run(Seconds(2));
  for (const char* ns : {"default", "kube-system", "team-a", "team-b"}) {
    EXPECT_EQ(Accounts(ns).count("default"), 1u) << ns;
  }
  const std::string uid = Accounts("team-a").at("default").metadata().uid();
  ASSERT_TRUE(Delete("serviceaccounts", "team-a", "default").ok());
  c.Run(Seconds(2));
  ASSERT_EQ(Accounts("team-a").count("default"), 1u) << "re-created";
  EXPECT_NE(Accounts("team-a").at("default").metadata().uid(), uid);

  // A terminating namespace gets none.
  ASSERT_TRUE(Delete("namespaces", "", "team-b").ok());
  c.Run(Seconds(1));
  (void)Delete("serviceaccounts", "team-b", "default");
  c.Run(Seconds(5));
  EXPECT_EQ(Accounts("team-b").count("default"), 0u);
  EXPECT_TRUE(c.violations.empty());
}

// Kubernetes' docs: "Manually create an API token for a ServiceAccount".
TEST_F(ServiceAccountTest, ATokenSecretIsFilledAndAuthenticatesUntilItsAccountIsDeleted) {
  Start();
  ASSERT_TRUE(c.Create(MakeSa("default", "build-robot")).ok());
  ASSERT_TRUE(c.Create(TokenSecret("default", "build-robot-secret", "build-robot")).ok());
  c.Run(Seconds(2));
  const api::Secret s = Secrets("default").at("build-robot-secret");
  const std::string token = s.data().count("token") ? s.data().at("token") : "";
  ASSERT_EQ(token.size(), 64u);
  EXPECT_EQ(s.data().at("ca.crt"), kRootCa);
  EXPECT_EQ(s.data().at("namespace"), "default");
  EXPECT_EQ(s.metadata().annotations().at("kubernetes.io/service-account.uid"),
            Accounts("default").at("build-robot").metadata().uid());
  EXPECT_EQ(CodeWithToken(token), 403) << "authenticated as system:serviceaccount:default:build-robot, not allowed";
  EXPECT_EQ(CodeWithToken("not-a-token"), 401);

  // The token is kept on later syncs (a resync, another replica) and not regenerated.
  c.ManagerHost(1).CrashProcess("controller-manager");
  c.ManagerHost(1).RestartProcess("controller-manager");
  c.Run(Seconds(30));
  EXPECT_EQ(Secrets("default").at("build-robot-secret").data().at("token"), token);

  ASSERT_TRUE(Delete("serviceaccounts", "default", "build-robot").ok());
  c.Run(Seconds(2));
  EXPECT_EQ(Secrets("default").count("build-robot-secret"), 0u) << "deleted with its account";
  EXPECT_EQ(CodeWithToken(token), 401);
  EXPECT_TRUE(c.violations.empty());
}

TEST_F(ServiceAccountTest, SecretsOfMissingOrReplacedAccountsAreDeleted) {
  Start();
  ASSERT_TRUE(c.Create(TokenSecret("default", "orphan", "nobody")).ok());
  ASSERT_TRUE(c.Create(MakeSa("default", "robot")).ok());
  api::Secret stale = TokenSecret("default", "stale", "robot");
  (*stale.mutable_metadata()->mutable_annotations())["kubernetes.io/service-account.uid"] = "uid-of-an-old-robot";
  ASSERT_TRUE(c.Create(stale).ok());
  api::Secret opaque;
  opaque.mutable_metadata()->set_name("plain");
  opaque.mutable_metadata()->set_namespace_("default");
  ASSERT_TRUE(c.Create(opaque).ok());
  c.Run(Seconds(2));
  const auto secrets = Secrets("default");
  EXPECT_EQ(secrets.count("orphan"), 0u);
  EXPECT_EQ(secrets.count("stale"), 0u);
  EXPECT_EQ(secrets.count("plain"), 1u) << "other Secrets are not the controller's";
}

// A token Secret created while the leader is down is filled by the replica that takes over.
TEST_F(ServiceAccountTest, AFailoverFillsTokensCreatedMeanwhile) {
  Start(2);
  const int leader = c.Leader();
  ASSERT_NE(leader, 0);
  c.ManagerHost(leader).CrashProcess("controller-manager");
  ASSERT_TRUE(c.Create(MakeSa("default", "robot")).ok());
  ASSERT_TRUE(c.Create(TokenSecret("default", "robot-token", "robot")).ok());
  c.Run(Seconds(30));
  EXPECT_NE(c.Leader(), leader);
  EXPECT_EQ(Secrets("default").at("robot-token").data().count("token"), 1u);
  EXPECT_TRUE(c.violations.empty());
}

}  // namespace
}  // namespace ksim::controllers::testing
