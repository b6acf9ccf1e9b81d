// Static token file parsing and service-account token Secrets.
#include "cluster/apiserver/auth/authn.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace ksim::apiserver {
namespace {

using Groups = std::vector<std::string>;

TEST(TokenFile, ParsesUsersUidsAndGroups) {
  TokenAuthenticator auth;
  const Status s = TokenAuthenticator::ParseTokenFile(
      "# token,user,uid,groups\n"
      "\n"
      "t1,alice,uid-1,\"dev,ops\"\n"
      "t2,bob,uid-2\n"
      "  t3 , carol,,\"\"\r\n"
      "   # indented comment\n"
      "t4,dave,u4,single\n"
      "\"t,5\",\"eve \"\"e\"\"\",u5,\"a,,b,a,\"",
      "tokens.csv", &auth);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(auth.static_token_count(), 5u);
  EXPECT_EQ(auth.Authenticate("t1"), (UserInfo{"alice", "uid-1", {"dev", "ops", "system:authenticated"}, {}}));
  EXPECT_EQ(auth.Authenticate("t2"), (UserInfo{"bob", "uid-2", {"system:authenticated"}, {}}));
  // Leading blanks of a field are skipped (Go's TrimLeadingSpace), trailing ones kept.
  EXPECT_EQ(auth.Authenticate("t3 "), (UserInfo{"carol", "", {"system:authenticated"}, {}}));
  EXPECT_EQ(auth.Authenticate("t3"), std::nullopt);
  EXPECT_EQ(auth.Authenticate("t4"), (UserInfo{"dave", "u4", {"single", "system:authenticated"}, {}}));
  EXPECT_EQ(auth.Authenticate("t,5"), (UserInfo{"eve \"e\"", "u5", {"a", "b", "system:authenticated"}, {}}));
  EXPECT_EQ(auth.Authenticate(""), std::nullopt);
  EXPECT_EQ(auth.Authenticate("nope"), std::nullopt);
}

TEST(TokenFile, GroupSystemAuthenticatedIsNotRepeated) {
  TokenAuthenticator auth;
  ASSERT_TRUE(TokenAuthenticator::ParseTokenFile("t,u,,\"system:authenticated,x\"\n", "f", &auth).ok());
  EXPECT_EQ(auth.Authenticate("t")->groups, (Groups{"system:authenticated", "x"}));
}

struct BadFile {
  const char* text;
  const char* message;
};

class TokenFileErrors : public ::testing::TestWithParam<BadFile> {};

TEST_P(TokenFileErrors, NameSourceLineAndReason) {
  TokenAuthenticator auth;
  ASSERT_TRUE(auth.AddStaticToken("keep", {"kept", "", {}, {}}));
  const Status s = TokenAuthenticator::ParseTokenFile(GetParam().text, "tokens.csv", &auth);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.message(), GetParam().message);
  // A failed parse leaves the authenticator as it was.
  EXPECT_EQ(auth.static_token_count(), 1u);
  EXPECT_TRUE(auth.Authenticate("keep").has_value());
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, TokenFileErrors,
    ::testing::Values(
        BadFile{"a,alice,1\nb,bob,2\na,carol,3\n", "tokens.csv:3: duplicate token (first defined on line 1)"},
        BadFile{"# c\n\nt,,uid\n", "tokens.csv:3: missing user name"},
        BadFile{",alice,uid\n", "tokens.csv:1: empty token"},
        BadFile{"t,alice\n", "tokens.csv:1: want at least 3 columns (token, user name, uid), found 2"},
        BadFile{"t\n", "tokens.csv:1: want at least 3 columns (token, user name, uid), found 1"},
        BadFile{"t,alice,1,g,extra\n", "tokens.csv:1: want at most 4 columns (token, user name, uid, groups), found 5"},
        BadFile{"t,alice,1,\"g1,g2\n", "tokens.csv:1: quoted field not closed before the end of the line (field 4)"},
        BadFile{"t,al\"ice,1\n", "tokens.csv:1: bare \" in unquoted field (field 2)"},
        BadFile{"t,\"alice\"x,1\n", "tokens.csv:1: extraneous or missing \" in quoted field (field 2)"},
        BadFile{"ok,alice,1\r\nt,\"bob\" ,2\r\n", "tokens.csv:2: extraneous or missing \" in quoted field (field 2)"}));

TEST(TokenFile, MessagesNeverQuoteTheToken) {
  TokenAuthenticator auth;
  const Status s = TokenAuthenticator::ParseTokenFile("s3cr3t,a,1\ns3cr3t,b,2\n", "f", &auth);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().find("s3cr3t"), std::string::npos);
}

TEST(TokenFile, ReplacesEarlierStaticTokens) {
  TokenAuthenticator auth;
  ASSERT_TRUE(TokenAuthenticator::ParseTokenFile("old,alice,1\n", "f", &auth).ok());
  ASSERT_TRUE(TokenAuthenticator::ParseTokenFile("new,bob,2\n", "f", &auth).ok());
  EXPECT_FALSE(auth.Authenticate("old").has_value());
  EXPECT_EQ(auth.Authenticate("new")->name, "bob");
}

api::Secret SaSecret(const std::string& ns, const std::string& name, const std::string& sa, const std::string& token,
                     const std::string& uid = "sa-uid") {
  api::Secret secret;
  secret.mutable_metadata()->set_namespace_(ns);
  secret.mutable_metadata()->set_name(name);
  (*secret.mutable_metadata()->mutable_annotations())[std::string(kServiceAccountNameAnnotation)] = sa;
  if (!uid.empty()) (*secret.mutable_metadata()->mutable_annotations())[std::string(kServiceAccountUidAnnotation)] = uid;
  secret.set_type(std::string(kServiceAccountTokenSecretType));
  (*secret.mutable_data())["token"] = token;
  return secret;
}

TEST(ServiceAccountTokens, AuthenticateAsTheServiceAccount) {
  TokenAuthenticator auth;
  auth.AddSecret(SaSecret("team-a", "builder-token-x1", "builder", "tok-a"));
  const auto user = auth.Authenticate("tok-a");
  ASSERT_TRUE(user.has_value());
  EXPECT_EQ(user->name, "system:serviceaccount:team-a:builder");
  EXPECT_EQ(user->uid, "sa-uid");
  EXPECT_EQ(user->groups,
            (Groups{"system:serviceaccounts", "system:serviceaccounts:team-a", "system:authenticated"}));
}

TEST(ServiceAccountTokens, AddReplacesAndRemoveWithdraws) {
  TokenAuthenticator auth;
  auth.AddSecret(SaSecret("ns", "s", "sa", "first"));
  auth.AddSecret(SaSecret("ns", "s", "sa", "second"));  // the token was rotated
  EXPECT_FALSE(auth.Authenticate("first").has_value());
  EXPECT_TRUE(auth.Authenticate("second").has_value());
  EXPECT_EQ(auth.service_account_token_count(), 1u);
  auth.RemoveSecret("ns", "s");
  EXPECT_FALSE(auth.Authenticate("second").has_value());
  EXPECT_EQ(auth.service_account_token_count(), 0u);
  auth.RemoveSecret("ns", "s");  // removing twice is harmless
}

TEST(ServiceAccountTokens, OnlyWellFormedLiveTokenSecretsCount) {
  TokenAuthenticator auth;
  api::Secret opaque = SaSecret("ns", "opaque", "sa", "t1");
  opaque.set_type("Opaque");
  api::Secret unnamed = SaSecret("ns", "unnamed", "", "t2");
  api::Secret empty = SaSecret("ns", "empty", "sa", "");
  api::Secret deleting = SaSecret("ns", "deleting", "sa", "t4");
  deleting.mutable_metadata()->mutable_deletion_timestamp()->set_seconds(1);
  for (const api::Secret& s : {opaque, unnamed, empty, deleting}) auth.AddSecret(s);
  EXPECT_EQ(auth.service_account_token_count(), 0u);
  for (const char* t : {"t1", "t2", "t4"}) EXPECT_FALSE(auth.Authenticate(t).has_value()) << t;

  // A Secret that stops being a valid token Secret withdraws what it carried.
  auth.AddSecret(SaSecret("ns", "s", "sa", "t5"));
  ASSERT_TRUE(auth.Authenticate("t5").has_value());
  api::Secret now_deleting = SaSecret("ns", "s", "sa", "t5");
  now_deleting.mutable_metadata()->mutable_deletion_timestamp()->set_seconds(1);
  auth.AddSecret(now_deleting);
  EXPECT_FALSE(auth.Authenticate("t5").has_value());
}

TEST(ServiceAccountTokens, AmbiguousTokensAuthenticateNobody) {
  TokenAuthenticator auth;
  auth.AddSecret(SaSecret("a", "s", "sa", "shared"));
  auth.AddSecret(SaSecret("b", "s", "sa", "shared"));
  EXPECT_FALSE(auth.Authenticate("shared").has_value());
  auth.RemoveSecret("b", "s");
  EXPECT_EQ(auth.Authenticate("shared")->name, "system:serviceaccount:a:sa");

  ASSERT_TRUE(auth.AddStaticToken("shared", {"root", "", {}, {}}));
  EXPECT_FALSE(auth.Authenticate("shared").has_value());
}

TEST(ServiceAccountTokens, NewTokensReplayFromTheSeed) {
  SeededEntropy a(7);
  SeededEntropy b(7);
  SeededEntropy c(8);
  const std::string t1 = TokenAuthenticator::NewServiceAccountToken(a);
  EXPECT_EQ(t1.size(), 64u);
  EXPECT_EQ(t1.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(t1, TokenAuthenticator::NewServiceAccountToken(b));
  EXPECT_NE(t1, TokenAuthenticator::NewServiceAccountToken(c));
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(TokenAuthenticator::NewServiceAccountToken(a));
  EXPECT_EQ(seen.size(), 1000u);
}

}  // namespace
}  // namespace ksim::apiserver
