#include "cluster/net/http1.h"

#include <gtest/gtest.h>
#include <algorithm>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

namespace ksim::http1 {
namespace {

TEST(Http1, GetRoundTripsAndHasTheConventionalBytes) {
  const std::string bytes = FormatRequest(Get("10.244.1.5:80", "/healthz"));
  EXPECT_EQ(bytes, "GET /healthz HTTP/1.1\r\nHost: 10.244.1.5:80\r\nContent-Length: 0\r\n\r\n");
  Request r;
  ASSERT_TRUE(ParseRequest(bytes, &r).ok());
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target, "/healthz");
  ASSERT_NE(FindHeader(r.headers, "host"), nullptr);
  EXPECT_EQ(*FindHeader(r.headers, "HOST"), "10.244.1.5:80");
  EXPECT_TRUE(r.body.empty());
  // The minimal form from the shared conventions parses too.
  ASSERT_TRUE(ParseRequest("GET / HTTP/1.1\r\nHost: a:80\r\n\r\n", &r).ok());
}

TEST(Http1, ResponseRoundTripsWithBodyAndStandardReason) {
  Response resp;
  resp.status = 503;
  resp.body = "web-0";
  const std::string bytes = FormatResponse(resp);
  EXPECT_EQ(bytes, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\n\r\nweb-0");
  Response back;
  ASSERT_TRUE(ParseResponse(bytes, &back).ok());
  EXPECT_EQ(back.status, 503);
  EXPECT_EQ(back.reason, "Service Unavailable");
  EXPECT_EQ(back.body, "web-0");
  // Without Content-Length, a response's body is the rest of the frame.
  ASSERT_TRUE(ParseResponse("HTTP/1.1 200 OK\r\n\r\nhello", &back).ok());
  EXPECT_EQ(back.body, "hello");
  // An empty reason phrase keeps its separating space.
  ASSERT_TRUE(ParseResponse("HTTP/1.1 299 \r\nContent-Length: 0\r\n\r\n", &back).ok());
  EXPECT_EQ(back.status, 299);
}

struct Case {
  const char* frame;
  const char* names;  // a word the error must contain
};

TEST(Http1, MalformedRequestsAreRefusedNamingThePart) {
  const Case cases[] = {
      {"GET / HTTP/1.1\r\nHost: a\r\n", "blank line"},
      {"GET / HTTP/1.1\nHost: a\r\n\r\n", "bare CR or LF"},
      {"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", "request line"},
      {"GET /\r\nHost: a\r\n\r\n", "request line"},
      {"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", "method"},
      {"GET x HTTP/1.1\r\nHost: a\r\n\r\n", "target"},
      {"GET / HTTP/2.0\r\nHost: a\r\n\r\n", "version"},
      {"GET / HTTP/1.1\r\n\r\n", "Host"},
      {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "Host"},
      {"GET / HTTP/1.1\r\nHost : a\r\n\r\n", "not a token"},
      {"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", "folding"},
      {"GET / HTTP/1.1\r\nHost a\r\n\r\n", "no colon"},
      {"GET / HTTP/1.1\r\nHost: a\r\n\r\nbody", "without Content-Length"},
      {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nabc", "Content-Length"},
      {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", "decimal"},
      {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx", "disagree"},
  };
  for (const Case& c : cases) {
    Request r;
    r.method = "untouched";
    const Status s = ParseRequest(c.frame, &r);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << c.frame;
    EXPECT_NE(s.message().find(c.names), std::string::npos) << s.message();
    EXPECT_EQ(r.method, "untouched");
  }
  Request r;
  EXPECT_EQ(ParseRequest("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", &r).code(),
            Status::Code::kNotSupported);
}

TEST(Http1, MalformedResponsesAreRefused) {
  const Case cases[] = {
      {"HTTP/1.1 200\r\n\r\n", "status line"},
      {"HTTP/1.1 2x0 OK\r\n\r\n", "three digits"},
      {"HTTP/1.1 099 X\r\n\r\n", "below 100"},
      {"HTTP/3.0 200 OK\r\n\r\n", "version"},
      {"HTTP/1.1 204 No Content\r\n\r\nx", "no body"},
      {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nx", "Content-Length"},
  };
  for (const Case& c : cases) {
    Response r;
    const Status s = ParseResponse(c.frame, &r);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << c.frame;
    EXPECT_NE(s.message().find(c.names), std::string::npos) << s.message();
  }
}

TEST(Http1, LimitsAreEnforcedInBytesAndCounts) {
  std::string many = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (size_t i = 0; i < kMaxHeaders; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  many += "\r\n";
  Request r;
  Status s = ParseRequest(many, &r);
  EXPECT_NE(s.message().find("more than"), std::string::npos) << s.ToString();
  const std::string big_head = "GET /" + std::string(kMaxHeadBytes, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n";
  s = ParseRequest(big_head, &r);
  EXPECT_NE(s.message().find("longer than"), std::string::npos) << s.ToString();
  Response big;
  big.body = std::string(kMaxBodyBytes + 1, 'x');
  Response back;
  s = ParseResponse(FormatResponse(big), &back);
  EXPECT_NE(s.message().find("body: longer than"), std::string::npos) << s.ToString();
  big.body.pop_back();
  EXPECT_TRUE(ParseResponse(FormatResponse(big), &back).ok());
}

// Whatever the bytes, the parsers answer a Status (never crash), and what they accept
// formats back into a message that parses to the same thing.
RC_GTEST_PROP(Http1Fuzz, ArbitraryBytesAreRejectedOrRoundTrip, (const std::string& bytes)) {
  Request req;
  if (ParseRequest(bytes, &req).ok()) {
    Request again;
    RC_ASSERT(ParseRequest(FormatRequest(req), &again).ok());
    RC_ASSERT(again.method == req.method && again.target == req.target && again.body == req.body);
  }
  Response resp;
  if (ParseResponse(bytes, &resp).ok()) {
    Response again;
    RC_ASSERT(ParseResponse(FormatResponse(resp), &again).ok());
    RC_ASSERT(again.status == resp.status && again.body == resp.body);
  }
}

// Mutating one byte of a valid request never crashes the parser, and a request that
// still parses keeps a method made of token characters.
RC_GTEST_PROP(Http1Fuzz, MutatedRequestsStayWellFormedOrAreRejected,
              (const std::string& path, const std::string& body, size_t where, unsigned char to)) {
  Request r = Get("10.0.0.1:80", "/" + path);
  r.method = "POST";
  r.body = body;
  std::string bytes = FormatRequest(r);
  Request parsed;
  const bool valid_path = std::all_of(path.begin(), path.end(), [](char c) {
    return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f;
  });
  RC_ASSERT(ParseRequest(bytes, &parsed).ok() == valid_path);
  bytes[where % bytes.size()] = static_cast<char>(to);
  if (ParseRequest(bytes, &parsed).ok()) {
    RC_ASSERT(!parsed.method.empty());
    RC_ASSERT(parsed.body.size() <= kMaxBodyBytes);
  }
}

}  // namespace
}  // namespace ksim::http1
