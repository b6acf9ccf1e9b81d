// serviceaccounts/token end to end (Kubernetes' TokenRequest): `kubectl create token`'s
// flow, bound tokens dying with their pod, expiry in virtual time, audiences, validation
// answers, RBAC on the subresource, two apiservers sharing a key, and replay by seed.
#include <gtest/gtest.h>

#include "cluster/api/authentication.pb.h"
#include "cluster/apiserver/auth/jwt.h"
#include "cluster/client/token_request.h"
#include "tests/cluster/apiserver/api_cluster.h"

namespace ksim::apiserver::testing {
namespace {

using client::ApiClient;
using client::ApiResult;

const api::KindInfo& Pods() { return Kind("", "pods"); }
const api::KindInfo& Accounts() { return Kind("", "serviceaccounts"); }
constexpr char kIssuer[] = "https://kubernetes.default.svc.cluster.local";

// The cluster's service-account key, drawn once from the seed and given to every
// apiserver (as a simulated cluster shares its CA).
std::string ClusterKeyPem(uint64_t seed) {
  SeededEntropy entropy(seed ^ 0x5a5a5a5a);
  return JwtKey::Ed25519FromEntropy(entropy)->PrivateKeyPem();
}

class TokenFixture {
 public:
  explicit TokenFixture(int apiservers = 2, uint64_t seed = 1)
      : cluster(apiservers, seed, [seed](ApiServerOptions& o) {
          o.service_account_signing_key_pem = ClusterKeyPem(seed);
          o.api_audiences = {kIssuer, "api"};
        }) {
    admin = cluster.AddClient("admin", 1);
    EXPECT_EQ(Await([&](ApiClient::Done d) { admin->Create(Kind("", "namespaces"), MakeNamespace("default"), d); }).code,
              201);
    api::ServiceAccount sa;
    sa.mutable_metadata()->set_namespace_("default");
    sa.mutable_metadata()->set_name("build-robot");
    const ApiResult r = Await([&](ApiClient::Done d) { admin->Create(Accounts(), sa, d); });
    EXPECT_EQ(r.code, 201) << r.Describe();
    account.ParseFromString(r.body);
  }
  ApiResult Await(const std::function<void(ApiClient::Done)>& start) { return cluster.Await(start); }

  ApiResult RequestToken(api::TokenRequest request, const std::string& sa = "build-robot", ApiClient* via = nullptr) {
    return Await([&](ApiClient::Done d) {
      client::RequestServiceAccountToken(via != nullptr ? *via : *admin, "default", sa, request, d);
    });
  }
  // `kubectl create token build-robot [--duration] [--bound-object-kind Pod --bound-object-name]`.
  std::string Token(int64_t expiration_s = 0, const std::string& pod = "", std::vector<std::string> audiences = {}) {
    api::TokenRequest tr;
    if (expiration_s != 0) tr.mutable_spec()->set_expiration_seconds(expiration_s);
    for (const std::string& a : audiences) tr.mutable_spec()->add_audiences(a);
    if (!pod.empty()) {
      tr.mutable_spec()->mutable_bound_object_ref()->set_kind("Pod");
      tr.mutable_spec()->mutable_bound_object_ref()->set_api_version("v1");
      tr.mutable_spec()->mutable_bound_object_ref()->set_name(pod);
    }
    const ApiResult r = RequestToken(tr);
    EXPECT_EQ(r.code, 201) << r.Describe();
    api::TokenRequest out;
    out.ParseFromString(r.body);
    return out.status().token();
  }
  // What a request with `token` through apiserver `via` (1-based, 0: any) is answered:
  // 401 when the token does not authenticate, 403 when it does (the account may not list
  // pods), 200 once a binding lets it.
  int ListPodsWith(const std::string& token, int via = 0) {
    ApiClient* c = cluster.AddClient("c" + std::to_string(++clients_), via, token);
    const ApiResult r = Await([&](ApiClient::Done d) { c->List(Pods(), "default", {}, d); });
    last = r;
    return r.code;
  }

  ApiCluster cluster;
  ApiClient* admin = nullptr;
  api::ServiceAccount account;
  ApiResult last;

 private:
  int clients_ = 0;
};

class TokenRequestTest : public ::testing::Test {
 protected:
  TokenFixture f;
};

// Kubernetes' docs: `kubectl create token build-robot` prints a token that authenticates
// as the account: forbidden (403, naming the account) until a binding lets it list pods.
TEST_F(TokenRequestTest, CreateTokenAuthenticatesAsTheAccount) {
  const ApiResult r = f.RequestToken(api::TokenRequest{});
  ASSERT_EQ(r.code, 201) << r.Describe();
  api::TokenRequest tr;
  ASSERT_TRUE(tr.ParseFromString(r.body));
  EXPECT_EQ(tr.kind(), "TokenRequest");
  EXPECT_EQ(tr.spec().expiration_seconds(), 3600);
  EXPECT_EQ(std::vector<std::string>(tr.spec().audiences().begin(), tr.spec().audiences().end()),
            (std::vector<std::string>{kIssuer, "api"}));
  const int64_t ttl = tr.status().expiration_timestamp().seconds() - tr.metadata().creation_timestamp().seconds();
  EXPECT_EQ(ttl, 3600);
  Jws jws;
  ASSERT_TRUE(ParseJws(tr.status().token(), &jws).ok());
  EXPECT_EQ(jws.header["alg"], "EdDSA");
  EXPECT_EQ(jws.claims["sub"], "system:serviceaccount:default:build-robot");
  EXPECT_EQ(jws.claims["iss"], kIssuer);
  EXPECT_EQ(jws.claims["kubernetes.io"]["serviceaccount"]["uid"], f.account.metadata().uid());
  EXPECT_GE(jws.claims["iat"].get<int64_t>(), 0);

  EXPECT_EQ(f.ListPodsWith(tr.status().token()), 403);
  EXPECT_EQ(f.last.error.message(),
            "pods is forbidden: User \"system:serviceaccount:default:build-robot\" cannot list resource \"pods\" in "
            "API group \"\" in the namespace \"default\"");
  api::RoleBinding b;
  b.mutable_metadata()->set_namespace_("default");
  b.mutable_metadata()->set_name("robot-view");
  auto* s = b.add_subjects();
  s->set_kind("ServiceAccount");
  s->set_name("build-robot");
  s->set_namespace_("default");
  b.mutable_role_ref()->set_api_group("rbac.authorization.k8s.io");
  b.mutable_role_ref()->set_kind("ClusterRole");
  b.mutable_role_ref()->set_name("view");
  ASSERT_EQ(f.Await([&](ApiClient::Done d) { f.admin->Create(Kind("rbac.authorization.k8s.io", "rolebindings"), b, d); }).code,
            201);
  f.cluster.store.world.RunFor(Milliseconds(200));
  EXPECT_EQ(f.ListPodsWith(tr.status().token()), 200) << f.last.Describe();
  EXPECT_EQ(f.ListPodsWith("not-a-token"), 401);
}

// One apiserver signs, the other accepts: they share the cluster's key.
TEST_F(TokenRequestTest, ATokenFromOneApiserverWorksAtAnother) {
  const std::string token = f.Token();
  EXPECT_EQ(f.ListPodsWith(token, 1), 403);
  EXPECT_EQ(f.ListPodsWith(token, 2), 403) << f.last.Describe();
}

TEST_F(TokenRequestTest, ABoundTokenDiesWithItsPod) {
  api::Pod pod = MakePod("default", "web-0");
  pod.mutable_spec()->set_service_account_name("build-robot");
  ApiResult r = f.Await([&](ApiClient::Done d) { f.admin->Create(Pods(), pod, d); });
  ASSERT_EQ(r.code, 201) << r.Describe();
  const std::string token = f.Token(0, "web-0");
  Jws jws;
  ASSERT_TRUE(ParseJws(token, &jws).ok());
  api::Pod created;
  created.ParseFromString(r.body);
  EXPECT_EQ(jws.claims["kubernetes.io"]["pod"]["uid"], created.metadata().uid());
  EXPECT_EQ(f.ListPodsWith(token), 403);
  api::DeleteOptions now;
  now.set_grace_period_seconds(0);
  r = f.Await([&](ApiClient::Done d) { f.admin->Delete(Pods(), "default", "web-0", now, d); });
  ASSERT_TRUE(r.ok()) << r.Describe();
  f.cluster.store.world.RunFor(Milliseconds(200));  // every apiserver's cache sees the delete
  EXPECT_EQ(f.ListPodsWith(token, 1), 401);
  EXPECT_EQ(f.ListPodsWith(token, 2), 401);
  // A new pod of the same name is another pod: the token stays dead.
  r = f.Await([&](ApiClient::Done d) { f.admin->Create(Pods(), pod, d); });
  ASSERT_EQ(r.code, 201) << r.Describe();
  f.cluster.store.world.RunFor(Milliseconds(200));
  EXPECT_EQ(f.ListPodsWith(token), 401);
}

TEST_F(TokenRequestTest, AnExpiredTokenIs401AfterTheLeeway) {
  const std::string token = f.Token(600);
  EXPECT_EQ(f.ListPodsWith(token), 403);
  f.cluster.store.world.RunFor(Seconds(600 + 30));
  EXPECT_EQ(f.ListPodsWith(token), 403) << "within Kubernetes' 60 s leeway";
  f.cluster.store.world.RunFor(Seconds(40));
  EXPECT_EQ(f.ListPodsWith(token), 401);
}

TEST_F(TokenRequestTest, ATokenForAnotherAudienceIs401) {
  EXPECT_EQ(f.ListPodsWith(f.Token(0, "", {"vault"})), 401);
  EXPECT_EQ(f.ListPodsWith(f.Token(0, "", {"vault", "api"})), 403);
}

TEST_F(TokenRequestTest, ATamperedTokenIs401) {
  const std::string token = f.Token();
  const size_t dot1 = token.find('.'), dot2 = token.rfind('.');
  Jws jws;
  ASSERT_TRUE(ParseJws(token, &jws).ok());
  jws.claims["kubernetes.io"]["serviceaccount"]["name"] = "default";
  jws.claims["sub"] = "system:serviceaccount:default:default";
  EXPECT_EQ(f.ListPodsWith(token.substr(0, dot1 + 1) + Base64UrlEncode(jws.claims.dump()) + token.substr(dot2)), 401);
  std::string flipped = token;
  flipped[dot2 + 3] = flipped[dot2 + 3] == 'A' ? 'B' : 'A';
  EXPECT_EQ(f.ListPodsWith(flipped), 401);
  EXPECT_EQ(f.ListPodsWith(token), 403);
}

TEST_F(TokenRequestTest, RefusalsNameTheFieldWithKubernetesCodes) {
  api::TokenRequest tr;
  tr.mutable_spec()->set_expiration_seconds(599);
  ApiResult r = f.RequestToken(tr);
  EXPECT_EQ(r.code, 422);
  ASSERT_EQ(r.error.details().causes_size(), 1);
  EXPECT_EQ(r.error.details().causes(0).field(), "spec.expirationSeconds");
  EXPECT_NE(r.error.message().find("may not specify a duration less than 10 minutes"), std::string::npos);
  tr.mutable_spec()->set_expiration_seconds(600);
  EXPECT_EQ(f.RequestToken(tr).code, 201);

  tr = api::TokenRequest{};
  tr.mutable_spec()->mutable_bound_object_ref()->set_kind("Node");
  tr.mutable_spec()->mutable_bound_object_ref()->set_name("n1");
  r = f.RequestToken(tr);
  EXPECT_EQ(r.code, 400);
  EXPECT_NE(r.error.message().find("spec.boundObjectRef"), std::string::npos) << r.Describe();
  tr.mutable_spec()->mutable_bound_object_ref()->set_kind("Pod");
  tr.mutable_spec()->mutable_bound_object_ref()->clear_name();
  r = f.RequestToken(tr);
  EXPECT_EQ(r.code, 422);
  EXPECT_NE(r.error.message().find("spec.boundObjectRef.name: Required value"), std::string::npos) << r.Describe();
  tr.mutable_spec()->mutable_bound_object_ref()->set_name("absent");
  EXPECT_EQ(f.RequestToken(tr).code, 404);
  EXPECT_EQ(f.RequestToken(api::TokenRequest{}, "no-such-account").code, 404);

  api::Pod pod = MakePod("default", "other-sa");
  pod.mutable_spec()->set_service_account_name("someone-else");
  ASSERT_EQ(f.Await([&](ApiClient::Done d) { f.admin->Create(Pods(), pod, d); }).code, 201);
  tr.mutable_spec()->mutable_bound_object_ref()->set_name("other-sa");
  r = f.RequestToken(tr);
  EXPECT_EQ(r.code, 400);
  EXPECT_NE(r.error.message().find("different serviceaccount"), std::string::npos) << r.Describe();
  pod = MakePod("default", "mine");
  pod.mutable_spec()->set_service_account_name("build-robot");
  ASSERT_EQ(f.Await([&](ApiClient::Done d) { f.admin->Create(Pods(), pod, d); }).code, 201);
  tr.mutable_spec()->mutable_bound_object_ref()->set_name("mine");
  tr.mutable_spec()->mutable_bound_object_ref()->set_uid("stale-uid");
  r = f.RequestToken(tr);
  EXPECT_EQ(r.code, 409) << r.Describe();
}

TEST_F(TokenRequestTest, CreatingTokensNeedsCreateOnServiceaccountsToken) {
  ApiClient* bob = f.cluster.AddClient("bob", 0, "bob-token");
  ApiResult r = f.RequestToken(api::TokenRequest{}, "build-robot", bob);
  EXPECT_EQ(r.code, 403);
  EXPECT_EQ(r.error.message(),
            "serviceaccounts \"build-robot\" is forbidden: User \"bob\" cannot create resource "
            "\"serviceaccounts/token\" in API group \"\" in the namespace \"default\"");
  api::Role role;
  role.mutable_metadata()->set_namespace_("default");
  role.mutable_metadata()->set_name("token-creator");
  auto* rule = role.add_rules();
  rule->add_api_groups("");
  rule->add_resources("serviceaccounts/token");
  rule->add_verbs("create");
  ASSERT_EQ(f.Await([&](ApiClient::Done d) { f.admin->Create(Kind("rbac.authorization.k8s.io", "roles"), role, d); }).code,
            201);
  api::RoleBinding b;
  b.mutable_metadata()->set_namespace_("default");
  b.mutable_metadata()->set_name("bob-tokens");
  auto* s = b.add_subjects();
  s->set_kind("User");
  s->set_name("bob");
  s->set_api_group("rbac.authorization.k8s.io");
  b.mutable_role_ref()->set_api_group("rbac.authorization.k8s.io");
  b.mutable_role_ref()->set_kind("Role");
  b.mutable_role_ref()->set_name("token-creator");
  ASSERT_EQ(f.Await([&](ApiClient::Done d) { f.admin->Create(Kind("rbac.authorization.k8s.io", "rolebindings"), b, d); }).code,
            201);
  f.cluster.store.world.RunFor(Milliseconds(200));
  r = f.RequestToken(api::TokenRequest{}, "build-robot", bob);
  EXPECT_EQ(r.code, 201) << r.Describe();
}

TEST(TokenRequestReplay, SameSeedSameTokenBytes) {
  std::vector<std::string> tokens;
  for (uint64_t seed : {5, 5, 6}) {
    TokenFixture f(1, seed);
    tokens.push_back(f.Token());
  }
  EXPECT_EQ(tokens[0], tokens[1]);
  EXPECT_NE(tokens[0], tokens[2]);
}

TEST(TokenRequestOff, WithoutAKeyTheSubresourceIsNotServed) {
  ApiCluster cluster(1, 1);
  ApiClient* admin = cluster.AddClient("admin");
  const ApiResult r = cluster.Await([&](ApiClient::Done d) {
    client::RequestServiceAccountToken(*admin, "default", "default", api::TokenRequest{}, d);
  });
  EXPECT_EQ(r.code, 404) << r.Describe();
}

}  // namespace
}  // namespace ksim::apiserver::testing
