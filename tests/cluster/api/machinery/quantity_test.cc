// Quantity: every input form, the canonical strings Kubernetes prints, rounding and rejections.
#include "cluster/api/machinery/quantity.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace ksim::api {
namespace {

Quantity Q(const std::string& text) {
  Quantity q;
  const Status s = Quantity::Parse(text, &q);
  EXPECT_TRUE(s.ok()) << text << ": " << s.ToString();
  return q;
}

struct CanonicalCase {
  const char* input;
  const char* canonical;
  int64_t milli;  // MilliValue()
  int64_t value;  // Value()
};

TEST(QuantityTest, ParsesEveryFormToItsCanonicalString) {
  const CanonicalCase cases[] = {
      {"250m", "250m", 250, 1},
      {"1.5Gi", "1536Mi", 1610612736000, 1610612736},
      {"1e3", "1e3", 1000000, 1000},
      {"1E3", "1e3", 1000000, 1000},
      {"1e+3", "1e3", 1000000, 1000},
      {"100M", "100M", 100000000000, 100000000},
      {"0.5", "500m", 500, 1},
      {".5", "500m", 500, 1},
      {"5.", "5", 5000, 5},
      {"+1", "1", 1000, 1},
      {"12E", "12E", std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::max()},  // saturates
      {"1Ki", "1Ki", 1024000, 1024},
      {"5n", "5n", 1, 1},
      {"1u", "1u", 1, 1},
      {"1024Mi", "1Gi", 1073741824000, 1073741824},
      {"1536Mi", "1536Mi", 1610612736000, 1610612736},
      {"1000", "1k", 1000000, 1000},
      {"1500000", "1500k", 1500000000, 1500000},
      {"1.5", "1500m", 1500, 2},
      {"-1.5", "-1500m", -1500, -2},
      {"0", "0", 0, 0},
      {"-0", "0", 0, 0},
      {"0Ki", "0", 0, 0},
      {"0.000e5", "0", 0, 0},
      {"1.5Ki", "1536", 1536000, 1536},
      {"0.5Ki", "512", 512000, 512},
      {"512Ki", "512Ki", 524288000, 524288},
      {"1.001Ki", "1025024m", 1025024, 1026},
      {"-1Ki", "-1Ki", -1024000, -1024},
      {"2048Ei", "2048Ei", std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::max()},
      {"1e-3", "1e-3", 1, 1},
      {"-1e-3", "-1e-3", -1, -1},
      {"1e1", "10", 10000, 10},
      {"12e2", "1200", 1200000, 1200},
      {"1000E", "1e21", std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::max()},
      {"0.1m", "100u", 1, 1},
      {"0.1n", "1n", 1, 1},       // finer than a nano-unit: rounded up
      {"-0.1n", "-1n", -1, -1},   // away from zero
      {"1e-99", "1e-9", 1, 1},  // rounded up to 1n, printed in its own family
      {"1.0000000001", "1000000001n", 1001, 2},
      {"100m", "100m", 100, 1},
      {"1e27", "1e27", std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::max()},
      {"007", "7", 7000, 7},
      {"1.50", "1500m", 1500, 2},
  };
  for (const CanonicalCase& c : cases) {
    const Quantity q = Q(c.input);
    EXPECT_EQ(q.String(), c.canonical) << c.input;
    EXPECT_EQ(q.MilliValue(), c.milli) << c.input;
    EXPECT_EQ(q.Value(), c.value) << c.input;
  }
}

TEST(QuantityTest, KeepsTheSuffixFamily) {
  EXPECT_EQ(Q("1Gi").format(), Quantity::Format::kBinarySI);
  EXPECT_EQ(Q("1G").format(), Quantity::Format::kDecimalSI);
  EXPECT_EQ(Q("1e9").format(), Quantity::Format::kDecimalExponent);
  EXPECT_EQ(Q("12E").format(), Quantity::Format::kDecimalSI);  // E alone is exa
  EXPECT_EQ(Q("1Gi").String(), "1Gi");
  EXPECT_EQ(Q("1G").String(), "1G");
  EXPECT_EQ(Q("1e9").String(), "1e9");
}

// Kubernetes' resource.Quantity: a binary-SI value that is no whole number of Ki, Mi, ...
// is written without a suffix, and that string reads back as decimal SI.
TEST(QuantityTest, ABinaryValueThatIsNoWholeSuffixIsWrittenPlainAndRereadsAsDecimal) {
  const Quantity q = Quantity::FromValue(24285000, Quantity::Format::kBinarySI);
  EXPECT_EQ(q.String(), "24285000");
  EXPECT_EQ(Q(q.String()).format(), Quantity::Format::kDecimalSI);
  EXPECT_EQ(Q(q.String()).String(), "24285k");
  EXPECT_EQ(Quantity::FromValue(3 * 1024 * 1024, Quantity::Format::kBinarySI).String(), "3Mi");
}

TEST(QuantityTest, RejectsGarbageNamingTheInputAndReason) {
  const char* cases[][2] = {
      {"", "empty"},
      {"1.5.3", "malformed number"},
      {"abc", "expected a number"},
      {"1e", "unknown suffix \"e\""},
      {"1x", "unknown suffix \"x\""},
      {"Ki", "expected a number"},
      {"1 Ki", "unknown suffix \" Ki\""},
      {" 1", "expected a number"},
      {"1Ki ", "unknown suffix"},
      {"1e3.5", "exponent \"3.5\" is not an integer"},
      {"--1", "expected a number"},
      {"+", "expected a number"},
      {".", "expected a number"},
      {"1KiB", "unknown suffix"},
      {"1ki", "unknown suffix"},
      {"1e99", "out of range"},
      {"1e28", "out of range"},
      {"2000000000Ei", "out of range"},
      {"1e+", "is not an integer"},
      {"1.2.", "malformed number"},
  };
  for (const auto& c : cases) {
    Quantity q = Quantity::FromValue(7);
    const Status s = Quantity::Parse(c[0], &q);
    ASSERT_FALSE(s.ok()) << c[0];
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(s.message().rfind("quantity \"" + std::string(c[0]) + "\": ", 0), 0u) << s.message();
    EXPECT_NE(s.message().find(c[1]), std::string::npos) << c[0] << " -> " << s.message();
    EXPECT_EQ(q, Quantity::FromValue(7)) << "output untouched on error";
  }
}

TEST(QuantityTest, ComparesValuesNotSuffixes) {
  EXPECT_EQ(Q("1Ki"), Q("1024"));
  EXPECT_EQ(Q("1e3"), Q("1k"));
  EXPECT_EQ(Q("0.5"), Q("500m"));
  EXPECT_LT(Q("1"), Q("1001m"));
  EXPECT_GT(Q("1Mi"), Q("1M"));
  EXPECT_LT(Q("-1"), Q("0"));
  EXPECT_TRUE(Q("0").IsZero());
  EXPECT_EQ(Q("-3m").Sign(), -1);
}

TEST(QuantityTest, AddAndSub) {
  Quantity q = Q("1");
  ASSERT_TRUE(q.Add(Q("500m")).ok());
  EXPECT_EQ(q.String(), "1500m");
  ASSERT_TRUE(q.Sub(Q("2")).ok());
  EXPECT_EQ(q.String(), "-500m");

  Quantity zero;
  ASSERT_TRUE(zero.Add(Q("1Gi")).ok());
  EXPECT_EQ(zero.String(), "1Gi") << "a zero quantity adopts the other's format";

  Quantity mem = Q("1Gi");
  ASSERT_TRUE(mem.Add(Q("512Mi")).ok());
  EXPECT_EQ(mem.String(), "1536Mi");

  Quantity big = Q("1e27");
  EXPECT_FALSE(big.Add(Q("1")).ok());
  EXPECT_EQ(big, Q("1e27")) << "unchanged on overflow";
}

TEST(QuantityTest, ExactConstructors) {
  EXPECT_EQ(Quantity::FromMilli(1500).String(), "1500m");
  EXPECT_EQ(Quantity::FromValue(2048, Quantity::Format::kBinarySI).String(), "2Ki");
  EXPECT_EQ(Quantity::FromNano(5).String(), "5n");
  EXPECT_EQ(Quantity::FromValue(-1).MilliValue(), -1000);
  EXPECT_EQ(Int128ToString(Quantity::kMaxNano), "1000000000000000000000000000000000000");
  EXPECT_EQ(Int128ToString(-42), "-42");
}

}  // namespace
}  // namespace ksim::api
