// JWTs for bound service-account tokens: base64url, the compact-form parser, signing and
// verifying with EdDSA, RS256 and ES256, and the authenticator's checks of a bound token
// (signature, issuer, audience, time window with leeway, account and bound object).
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <map>
#include <string>
#include <tuple>

#include "cluster/apiserver/auth/authn.h"
#include "cluster/apiserver/auth/bound_token.h"
#include "cluster/apiserver/auth/jwt.h"

namespace ksim::apiserver {
namespace {

// --- base64url (RFC 4648 §5, the test vectors of §10) --------------------------------------

TEST(Base64Url, EncodesTheRfcVectorsWithoutPadding) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},         {"f", "Zg"},         {"fo", "Zm8"},
                                                         {"foo", "Zm9v"}, {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64UrlEncode(plain), encoded);
    std::string back;
    EXPECT_TRUE(Base64UrlDecode(encoded, &back)) << encoded;
    EXPECT_EQ(back, plain);
  }
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");  // the URL alphabet, not + and /
}

TEST(Base64Url, DecodeRefusesPaddingOtherAlphabetsAndNonCanonicalText) {
  std::string out;
  EXPECT_FALSE(Base64UrlDecode("Zg==", &out));
  EXPECT_FALSE(Base64UrlDecode("+/8", &out));
  EXPECT_FALSE(Base64UrlDecode("Zm9v Zg", &out));
  EXPECT_FALSE(Base64UrlDecode("Zm9vY", &out));  // 4n+1 characters end no byte
  EXPECT_FALSE(Base64UrlDecode("Zh", &out));     // "f" with a stray low bit set
  EXPECT_TRUE(Base64UrlDecode("Zg", &out));
}

// --- parsing -----------------------------------------------------------------------------

TEST(ParseJws, NamesWhatIsMalformed) {
  const std::string header = Base64UrlEncode(R"({"alg":"EdDSA"})");
  const std::string payload = Base64UrlEncode(R"({"iss":"x"})");
  Jws jws;
  EXPECT_TRUE(ParseJws(header + "." + payload + ".AAAA", &jws).ok());
  EXPECT_EQ(jws.signing_input, header + "." + payload);
  EXPECT_EQ(jws.claims["iss"], "x");
  const std::pair<std::string, const char*> bad[] = {
      {"", "not three dot-separated parts"},
      {header + "." + payload, "not three dot-separated parts"},
      {header + "." + payload + ".AAAA.AAAA", "not three dot-separated parts"},
      {"!." + payload + ".AAAA", "header is not base64url"},
      {header + ".a=.AAAA", "payload is not base64url"},
      {header + "." + payload + ".A", "signature is not base64url"},
      {Base64UrlEncode("[1]") + "." + payload + ".AAAA", "header is not a JSON object"},
      {Base64UrlEncode(R"({"alg":1})") + "." + payload + ".AAAA", "header has no string \"alg\""},
      {header + "." + Base64UrlEncode("\"x\"") + ".AAAA", "payload is not a JSON object"},
      {header + "." + Base64UrlEncode("{") + ".AAAA", "payload is not a JSON object"},
      {std::string(kMaxJwtBytes + 1, 'a'), "token longer than"},
  };
  for (const auto& [token, why] : bad) {
    const Status s = ParseJws(token, &jws);
    EXPECT_FALSE(s.ok()) << token;
    EXPECT_NE(s.message().find(why), std::string::npos) << s.message();
  }
}

// --- keys --------------------------------------------------------------------------------

// Entropy that replays fixed 64-bit words (an RFC's test key as little-endian words).
class FixedEntropy final : public Entropy {
 public:
  explicit FixedEntropy(std::string bytes) : bytes_(std::move(bytes)) {}
  uint64_t Next64() override {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(bytes_[pos_ + static_cast<size_t>(i)]);
    pos_ += 8;
    return v;
  }

 private:
  std::string bytes_;
  size_t pos_ = 0;
};

// RFC 8037 appendix A.4: an Ed25519 JWS another implementation made verifies here.
TEST(JwtKey, VerifiesTheRfc8037Ed25519Example) {
  std::string seed;
  ASSERT_TRUE(Base64UrlDecode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A", &seed));
  FixedEntropy entropy(seed);
  const auto key = JwtKey::Ed25519FromEntropy(entropy);
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(key->alg(), "EdDSA");
  const std::string token =
      "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
      "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
  // The payload is not JSON, so check the signature on a hand-built Jws.
  Jws jws;
  jws.header = {{"alg", "EdDSA"}};
  jws.signing_input = token.substr(0, token.rfind('.'));
  ASSERT_TRUE(Base64UrlDecode(token.substr(token.rfind('.') + 1), &jws.signature));
  EXPECT_TRUE(key->Verify(jws));
  jws.signing_input.back() = 'h';
  EXPECT_FALSE(key->Verify(jws));
}

std::string RsaPem(int bits) {
  EVP_PKEY* k = EVP_RSA_gen(static_cast<unsigned>(bits));
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  EVP_PKEY_free(k);
  return pem;
}

std::string EcPem(const char* curve) {
  EVP_PKEY* k = EVP_EC_gen(curve);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  EVP_PKEY_free(k);
  return pem;
}

void ExpectSignsAndVerifies(const JwtKey& key, bool deterministic) {
  const nlohmann::json claims = {{"iss", "i"}, {"sub", "s"}};
  std::string a, b;
  ASSERT_TRUE(key.Sign(claims, &a).ok());
  ASSERT_TRUE(key.Sign(claims, &b).ok());
  EXPECT_EQ(a == b, deterministic) << key.alg();
  Jws jws;
  ASSERT_TRUE(ParseJws(a, &jws).ok());
  EXPECT_EQ(jws.header["alg"], key.alg());
  EXPECT_EQ(jws.header["kid"], key.key_id());
  EXPECT_EQ(jws.claims, claims);
  EXPECT_TRUE(key.Verify(jws)) << key.alg();
  Jws tampered = jws;
  tampered.signature[3] ^= 1;
  EXPECT_FALSE(key.Verify(tampered)) << key.alg();
  tampered = jws;
  tampered.header["alg"] = "none";  // no algorithm substitution
  EXPECT_FALSE(key.Verify(tampered));
  tampered = jws;
  tampered.header["kid"] = "another";
  EXPECT_FALSE(key.Verify(tampered));
}

TEST(JwtKey, SignsAndVerifiesWithEveryKeyKind) {
  SeededEntropy entropy(7);
  const auto ed = JwtKey::Ed25519FromEntropy(entropy);
  ASSERT_NE(ed, nullptr);
  ExpectSignsAndVerifies(*ed, true);
  Status s;
  const auto rsa = JwtKey::FromPem(RsaPem(2048), &s);
  ASSERT_NE(rsa, nullptr) << s.ToString();
  EXPECT_EQ(rsa->alg(), "RS256");
  ExpectSignsAndVerifies(*rsa, true);  // PKCS#1 v1.5 is deterministic
  const auto ec = JwtKey::FromPem(EcPem("P-256"), &s);
  ASSERT_NE(ec, nullptr) << s.ToString();
  EXPECT_EQ(ec->alg(), "ES256");
  ExpectSignsAndVerifies(*ec, false);  // OpenSSL's ECDSA draws a fresh nonce
  // The PEM round trip keeps the key (what every apiserver of a cluster is given).
  const auto again = JwtKey::FromPem(ed->PrivateKeyPem(), &s);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->key_id(), ed->key_id());
}

TEST(JwtKey, RefusesWeakOrUnsupportedKeysByName) {
  Status s;
  EXPECT_EQ(JwtKey::FromPem("not a key", &s), nullptr);
  EXPECT_NE(s.message().find("not a PEM private key"), std::string::npos);
  EXPECT_EQ(JwtKey::FromPem(RsaPem(1024), &s), nullptr);
  EXPECT_NE(s.message().find("at least 2048 bits"), std::string::npos);
  EXPECT_EQ(JwtKey::FromPem(EcPem("P-384"), &s), nullptr);
  EXPECT_NE(s.message().find("P-256"), std::string::npos);
}

TEST(JwtKey, SameEntropySameKeyOtherwiseAnother) {
  SeededEntropy a(1), b(1), c(2);
  const auto ka = JwtKey::Ed25519FromEntropy(a);
  const auto kb = JwtKey::Ed25519FromEntropy(b);
  const auto kc = JwtKey::Ed25519FromEntropy(c);
  EXPECT_EQ(ka->key_id(), kb->key_id());
  EXPECT_NE(ka->key_id(), kc->key_id());
  Jws jws;
  std::string token;
  ASSERT_TRUE(ka->Sign({{"x", 1}}, &token).ok());
  ASSERT_TRUE(ParseJws(token, &jws).ok());
  EXPECT_TRUE(kb->Verify(jws));
  jws.header.erase("kid");  // a key id is optional; the signature still decides
  EXPECT_FALSE(kc->Verify(jws));
}

// --- the authenticator's checks ------------------------------------------------------------

constexpr int64_t kIssuedAt = 1'800'000'000;
constexpr char kIssuer[] = "https://kubernetes.default.svc.cluster.local";

class BoundTokenTest : public ::testing::Test {
 protected:
  BoundTokenTest() {
    SeededEntropy entropy(3);
    key = JwtKey::Ed25519FromEntropy(entropy);
    objects[{"serviceaccounts", "ns", "robot"}] = BoundObjectState{"sa-uid", 0};
    objects[{"pods", "ns", "web-0"}] = BoundObjectState{"pod-uid", 0};
    objects[{"secrets", "ns", "s"}] = BoundObjectState{"secret-uid", 0};
    auth.EnableBoundTokens(key, kIssuer, {kIssuer, "api"},
                           [this](std::string_view r, std::string_view ns, std::string_view n) {
                             auto it = objects.find({std::string(r), std::string(ns), std::string(n)});
                             return it == objects.end() ? std::nullopt : std::optional<BoundObjectState>(it->second);
                           });
    claims.issuer = kIssuer;
    claims.audiences = {kIssuer};
    claims.namespace_ = "ns";
    claims.service_account_name = "robot";
    claims.service_account_uid = "sa-uid";
    claims.bound_kind = "Pod";
    claims.bound_name = "web-0";
    claims.bound_uid = "pod-uid";
    claims.issued_at_s = kIssuedAt;
    claims.expires_at_s = kIssuedAt + 3600;
    claims.jti = "j1";
  }
  std::string Token() const {
    std::string token;
    EXPECT_TRUE(key->Sign(EncodeBoundTokenClaims(claims), &token).ok());
    return token;
  }
  // Whether the token authenticates at `now_s`; the refusal's reason must mention `why`.
  bool Accepted(const std::string& token, int64_t now_s, const std::string& why = "") {
    const bool ok = auth.Authenticate(token, now_s).has_value();
    if (!ok && !why.empty()) {
      EXPECT_NE(auth.last_bound_token_refusal().find(why), std::string::npos) << auth.last_bound_token_refusal();
    }
    return ok;
  }

  std::shared_ptr<const JwtKey> key;
  std::map<std::tuple<std::string, std::string, std::string>, BoundObjectState> objects;
  TokenAuthenticator auth;
  BoundTokenClaims claims;
};

TEST_F(BoundTokenTest, AuthenticatesAsTheAccountWithThePodInExtra) {
  const std::optional<UserInfo> user = auth.Authenticate(Token(), kIssuedAt + 10);
  ASSERT_TRUE(user.has_value()) << auth.last_bound_token_refusal();
  EXPECT_EQ(user->name, "system:serviceaccount:ns:robot");
  EXPECT_EQ(user->uid, "sa-uid");
  EXPECT_EQ(user->groups, (std::vector<std::string>{"system:serviceaccounts", "system:serviceaccounts:ns",
                                                    "system:authenticated"}));
  EXPECT_EQ(user->extra.at("authentication.kubernetes.io/pod-name"), std::vector<std::string>{"web-0"});
  EXPECT_EQ(user->extra.at("authentication.kubernetes.io/pod-uid"), std::vector<std::string>{"pod-uid"});
  EXPECT_EQ(user->extra.at("authentication.kubernetes.io/credential-id"), std::vector<std::string>{"JTI=j1"});
  // Without bound tokens enabled, the same JWT is nobody.
  EXPECT_FALSE(TokenAuthenticator().Authenticate(Token(), kIssuedAt + 10).has_value());
}

TEST_F(BoundTokenTest, TimeWindowHasSixtySecondsOfLeewayEachSide) {
  const std::string token = Token();
  EXPECT_TRUE(Accepted(token, kIssuedAt + 3600 + 60));
  EXPECT_FALSE(Accepted(token, kIssuedAt + 3600 + 61, "expired"));
  EXPECT_TRUE(Accepted(token, kIssuedAt - 60));
  EXPECT_FALSE(Accepted(token, kIssuedAt - 61, "not valid yet"));
}

// go-jose checks iat on its own (ErrIssuedInTheFuture), so a token without nbf but issued
// in the future is refused too; nbf alone is checked when iat is absent.
TEST_F(BoundTokenTest, IatAndNbfAreEachChecked) {
  claims.not_before_s = kIssuedAt - 600;  // valid long ago, yet issued later
  const std::string token = Token();
  EXPECT_TRUE(Accepted(token, kIssuedAt - 60));
  EXPECT_FALSE(Accepted(token, kIssuedAt - 61, "issued in the future"));
  claims.not_before_s = kIssuedAt + 600;  // issued now, valid only later
  const std::string later = Token();
  EXPECT_FALSE(Accepted(later, kIssuedAt + 539, "not valid yet"));
  EXPECT_TRUE(Accepted(later, kIssuedAt + 540));
}

TEST_F(BoundTokenTest, RefusesAnotherIssuerOrAudience) {
  claims.audiences = {"vault"};
  EXPECT_FALSE(Accepted(Token(), kIssuedAt, "audiences"));
  claims.audiences = {"vault", "api"};  // one accepted audience is enough
  EXPECT_TRUE(Accepted(Token(), kIssuedAt));
  claims.issuer = "https://elsewhere";
  EXPECT_FALSE(Accepted(Token(), kIssuedAt, "issuer"));
}

TEST_F(BoundTokenTest, DiesWithItsAccountOrBoundObject) {
  const std::string token = Token();
  ASSERT_TRUE(Accepted(token, kIssuedAt));
  // Graceful deletion: valid until a leeway (60 s) past the deletion timestamp.
  objects[{"pods", "ns", "web-0"}].deletion_s = kIssuedAt + 30;
  EXPECT_TRUE(Accepted(token, kIssuedAt + 90));
  EXPECT_FALSE(Accepted(token, kIssuedAt + 91, "being deleted"));
  objects[{"pods", "ns", "web-0"}] = BoundObjectState{"another-uid", 0};  // re-created under the same name
  EXPECT_FALSE(Accepted(token, kIssuedAt, "has uid another-uid"));
  objects.erase({"pods", "ns", "web-0"});
  EXPECT_FALSE(Accepted(token, kIssuedAt, "no longer exists"));
  claims.bound_kind = "Secret";
  claims.bound_name = "s";
  claims.bound_uid = "secret-uid";
  const std::string secret_token = Token();
  EXPECT_TRUE(Accepted(secret_token, kIssuedAt));
  objects.erase({"secrets", "ns", "s"});
  EXPECT_FALSE(Accepted(secret_token, kIssuedAt, "secrets \"ns/s\" no longer exists"));
  claims.bound_kind.clear();
  const std::string account_token = Token();
  EXPECT_TRUE(Accepted(account_token, kIssuedAt));
  objects[{"serviceaccounts", "ns", "robot"}].uid = "new-sa-uid";
  EXPECT_FALSE(Accepted(account_token, kIssuedAt, "serviceaccounts"));
}

TEST_F(BoundTokenTest, RefusesTamperedTokens) {
  const std::string token = Token();
  const size_t dot1 = token.find('.'), dot2 = token.rfind('.');
  // Another payload under the original signature: a different account.
  BoundTokenClaims other = claims;
  other.service_account_name = "admin";
  const std::string swapped =
      token.substr(0, dot1 + 1) + Base64UrlEncode(EncodeBoundTokenClaims(other).dump()) + token.substr(dot2);
  EXPECT_FALSE(Accepted(swapped, kIssuedAt, "signature"));
  std::string flipped = token;
  flipped[dot2 + 5] = flipped[dot2 + 5] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(Accepted(flipped, kIssuedAt, "signature"));
  // Signed by another key (another cluster's) with the same claims.
  SeededEntropy e(99);
  const auto stranger = JwtKey::Ed25519FromEntropy(e);
  std::string foreign;
  ASSERT_TRUE(stranger->Sign(EncodeBoundTokenClaims(claims), &foreign).ok());
  EXPECT_FALSE(Accepted(foreign, kIssuedAt, "signature"));
  // alg "none" with no signature.
  const std::string unsigned_token = Base64UrlEncode(R"({"alg":"none"})") + token.substr(dot1, dot2 - dot1) + ".";
  EXPECT_FALSE(Accepted(unsigned_token, kIssuedAt, "signature"));
  EXPECT_TRUE(Accepted(token, kIssuedAt));
}

TEST_F(BoundTokenTest, RefusesSignedClaimsMissingWhatItNeeds) {
  auto signed_json = [this](const nlohmann::json& j) {
    std::string token;
    EXPECT_TRUE(key->Sign(j, &token).ok());
    return token;
  };
  const nlohmann::json good = EncodeBoundTokenClaims(claims);
  for (const char* claim : {"iss", "aud", "exp", "sub", "kubernetes.io"}) {
    nlohmann::json j = good;
    j.erase(claim);
    EXPECT_FALSE(Accepted(signed_json(j), kIssuedAt, std::string("claim ") + claim)) << claim;
  }
  nlohmann::json j = good;
  j["sub"] = "system:serviceaccount:ns:admin";  // sub and the kubernetes.io claim disagree
  EXPECT_FALSE(Accepted(signed_json(j), kIssuedAt, "sub"));
  j = good;
  j["exp"] = "never";
  EXPECT_FALSE(Accepted(signed_json(j), kIssuedAt, "claim exp"));
  j = good;
  j["aud"] = kIssuer;  // a bare-string audience is valid JWT
  EXPECT_TRUE(Accepted(signed_json(j), kIssuedAt));
}

TEST_F(BoundTokenTest, StaticAndSecretTokensStillWin) {
  ASSERT_TRUE(auth.AddStaticToken("plain", UserInfo{"alice", "", {}, {}}));
  EXPECT_EQ(auth.Authenticate("plain", kIssuedAt)->name, "alice");
  EXPECT_FALSE(auth.Authenticate("", kIssuedAt).has_value());
}

}  // namespace
}  // namespace ksim::apiserver
