// The RFC 1035 codec: round trips, decoding compressed names (as other servers send
// them), strictness and limits, and a RapidCheck fuzz of the decoder.
#include "cluster/dns/message.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <cstring>

namespace ksim::dns {
namespace {

Message Sample() {
  Message m;
  m.id = 0xbeef;
  m.response = true;
  m.authoritative = true;
  m.recursion_desired = true;
  m.rcode = kNXDomain;
  m.questions.push_back({"_http._tcp.web.default.svc.cluster.local", kTypeSRV, kClassIN});
  m.answers.push_back(MakeSrv("_http._tcp.web.default.svc.cluster.local", 0, 100, 80, "web.default.svc.cluster.local", 5));
  m.answers.push_back(MakeCname("ext.default.svc.cluster.local", "example.com", 5));
  m.authority.push_back(MakeSoa("cluster.local", 1, 5, 5));
  m.additional.push_back(MakeA("web.default.svc.cluster.local", 0x0a60000a, 5));
  return m;
}

void ExpectSame(const Message& a, const Message& b) {
  std::string x;
  std::string y;
  ASSERT_TRUE(Encode(a, &x).ok());
  ASSERT_TRUE(Encode(b, &y).ok());
  EXPECT_EQ(x, y);
}

TEST(DnsMessage, RoundTripsEveryField) {
  const Message m = Sample();
  std::string bytes;
  ASSERT_TRUE(Encode(m, &bytes).ok());
  Message back;
  ASSERT_TRUE(Decode(bytes, &back).ok());
  EXPECT_EQ(back.id, 0xbeef);
  EXPECT_TRUE(back.response);
  EXPECT_TRUE(back.authoritative);
  EXPECT_TRUE(back.recursion_desired);
  EXPECT_FALSE(back.recursion_available);
  EXPECT_EQ(back.rcode, kNXDomain);
  ASSERT_EQ(back.questions.size(), 1u);
  EXPECT_EQ(back.questions[0].name, "_http._tcp.web.default.svc.cluster.local");
  const auto srv = ReadSrv(back.answers[0]);
  ASSERT_TRUE(srv.has_value());
  EXPECT_EQ(srv->port, 80);
  EXPECT_EQ(srv->weight, 100);
  EXPECT_EQ(srv->target, "web.default.svc.cluster.local");
  EXPECT_EQ(ReadCname(back.answers[1]), "example.com");
  EXPECT_EQ(ReadA(back.additional[0]), 0x0a60000au);
  ExpectSame(m, back);
}

// A reply as a compressing server writes it: the answer's name and the SRV target point
// back into the question.
TEST(DnsMessage, DecodesCompressedNames) {
  std::string b = {'\x12', '\x34', '\x84', '\x00', 0, 1, 0, 1, 0, 0, 0, 0};
  // question at offset 12: "web.default.svc.cluster.local" SRV IN
  for (const char* label : {"web", "default", "svc", "cluster", "local"}) {
    b.push_back(static_cast<char>(strlen(label)));
    b += label;
  }
  b.push_back(0);
  b += std::string{0, 33, 0, 1};
  // answer: "_http" + pointer to offset 12; SRV 0 100 80 target pointer to 12
  b.push_back(5);
  b += "_http";
  b += std::string{'\xc0', 12};
  b += std::string{0, 33, 0, 1, 0, 0, 0, 5, 0, 8, 0, 0, 0, 100, 0, 80, '\xc0', 12};
  Message m;
  const Status s = Decode(b, &m);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(m.answers[0].name, "_http.web.default.svc.cluster.local");
  const auto srv = ReadSrv(m.answers[0]);
  ASSERT_TRUE(srv.has_value());
  EXPECT_EQ(srv->target, "web.default.svc.cluster.local");
  EXPECT_EQ(srv->port, 80);
  // The rdata no longer refers to the message: it re-encodes on its own.
  std::string again;
  ASSERT_TRUE(Encode(m, &again).ok());
  Message m2;
  ASSERT_TRUE(Decode(again, &m2).ok());
  EXPECT_EQ(ReadSrv(m2.answers[0])->target, "web.default.svc.cluster.local");
}

TEST(DnsMessage, RefusesMalformedInputWithAReason) {
  Message m;
  std::string bytes;
  m.questions.push_back({"a.b", kTypeA, kClassIN});
  ASSERT_TRUE(Encode(m, &bytes).ok());
  auto refused = [](std::string b, const std::string& why) {
    Message out;
    const Status s = Decode(b, &out);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << why;
    EXPECT_NE(s.message().find(why), std::string::npos) << s.message();
  };
  refused(bytes.substr(0, 11), "message too short");
  refused(bytes + "x", "trailing bytes");
  std::string loop = bytes;
  loop[12] = '\xc0';  // a pointer to itself
  loop[13] = 12;
  refused(loop, "does not point backwards");
  std::string reserved = bytes;
  reserved[12] = '\x41';
  refused(reserved, "reserved label type");
  std::string counts = bytes;
  counts[4] = '\x7f';  // 32,000-odd questions
  refused(counts, "more than 4096");
  Message long_label;
  long_label.questions.push_back({std::string(64, 'a') + ".local", kTypeA, kClassIN});
  EXPECT_FALSE(Encode(long_label, &bytes).ok());
  Message long_name;
  std::string name;
  for (int i = 0; i < 50; ++i) name += "abcde.";
  long_name.questions.push_back({name + "x", kTypeA, kClassIN});
  EXPECT_FALSE(Encode(long_name, &bytes).ok());
}

// The decoder meets arbitrary bytes: it never crashes, and whatever it accepts encodes
// and decodes again to the same message (nothing half-read is accepted).
RC_GTEST_PROP(DnsMessageFuzz, ArbitraryBytesAreRefusedOrRoundTrip, (const std::string& bytes)) {
  Message m;
  if (!Decode(bytes, &m).ok()) return;
  std::string again;
  RC_ASSERT(Encode(m, &again).ok());
  Message m2;
  RC_ASSERT(Decode(again, &m2).ok());
  std::string third;
  RC_ASSERT(Encode(m2, &third).ok());
  RC_ASSERT(third == again);
}

// Mutations of a valid message (a byte flipped, the end cut) are refused or decode to a
// message that round-trips: the decoder never reads outside what it was given.
RC_GTEST_PROP(DnsMessageFuzz, MutatedMessagesAreRefusedOrRoundTrip, (size_t where, unsigned char flip, size_t cut)) {
  std::string bytes;
  RC_ASSERT(Encode(Sample(), &bytes).ok());
  bytes[where % bytes.size()] = static_cast<char>(bytes[where % bytes.size()] ^ flip);
  bytes.resize(bytes.size() - cut % 8);
  Message m;
  if (!Decode(bytes, &m).ok()) return;
  std::string again;
  RC_ASSERT(Encode(m, &again).ok());
  Message m2;
  RC_ASSERT(Decode(again, &m2).ok());
}

}  // namespace
}  // namespace ksim::dns
