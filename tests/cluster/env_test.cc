#include <gtest/gtest.h>

#include <map>
#include <set>

#include "cluster/env/random.h"
#include "cluster/env/status.h"
#include "cluster/env/transport.h"

namespace ksim {
namespace {

TEST(Random, SameSeedSameSequenceDifferentSeedDifferent) {
  Random a(5), b(5), c(6);
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.Next64();
    EXPECT_EQ(x, b.Next64());
    EXPECT_NE(x, c.Next64());
  }
}

TEST(Random, KnownValuesPinTheAlgorithm) {
  // Pinned so that a change of generator (which would change every trace hash) is a
  // deliberate decision, not an accident.
  Random r(0);
  const uint64_t first = r.Next64();
  Random again(0);
  EXPECT_EQ(first, again.Next64());
  EXPECT_EQ(Random::Mix64(0), 0xe220a8397b1dcdafULL);
}

TEST(Random, UniformStaysInRangeAndCoversIt) {
  Random r(9);
  std::map<uint64_t, int> counts;
  for (int i = 0; i < 7000; ++i) {
    const uint64_t v = r.Uniform(7);
    ASSERT_LT(v, 7u);
    ++counts[v];
  }
  ASSERT_EQ(counts.size(), 7u);
  for (const auto& [v, n] : counts) EXPECT_NEAR(n, 1000, 150) << v;
  for (int i = 0; i < 1000; ++i) {
    const int64_t x = r.Range(-3, 3);
    ASSERT_GE(x, -3);
    ASSERT_LE(x, 3);
  }
}

TEST(Random, ChildDoesNotConsumeParentAndDependsOnLabel) {
  Random p(1), q(1);
  Random c1 = p.Child("a");
  EXPECT_EQ(p.Next64(), q.Next64());
  EXPECT_EQ(c1.Next64(), q.Child("a").Next64());
  EXPECT_NE(p.Child("a").Next64(), p.Child("b").Next64());
}

TEST(Random, BernoulliExtremes) {
  Random r(2);
  for (int i = 0; i < 100; ++i) {
    EXPECT_FALSE(r.Bernoulli(0));
    EXPECT_TRUE(r.Bernoulli(1));
  }
}

TEST(Status, ToStringNamesCodeAndMessage) {
  EXPECT_EQ(Status::Ok().ToString(), "OK");
  EXPECT_EQ(Status::NotFound("x").ToString(), "NotFound: x");
  EXPECT_TRUE(Status::Timeout("t").Is(Status::Code::kTimeout));
}

TEST(ParseAddress, AcceptsHostPortAndRejectsTheRest) {
  std::string host;
  uint16_t port = 0;
  ASSERT_TRUE(ParseAddress("n1:7000", &host, &port).ok());
  EXPECT_EQ(host, "n1");
  EXPECT_EQ(port, 7000);
  ASSERT_TRUE(ParseAddress("127.0.0.1:0", &host, &port).ok());
  for (const char* bad : {"", "n1", ":80", "n1:", "n1:x", "n1:65536", "n1:80x"}) {
    Status s = ParseAddress(bad, &host, &port);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find(std::string("'") + bad + "'"), std::string::npos) << s.message();
  }
}

}  // namespace
}  // namespace ksim
