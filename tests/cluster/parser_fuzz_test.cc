// Parsers meet arbitrary input (RapidCheck-driven; the libFuzzer targets in fuzz/ do the
// same coverage-guided): they never crash, and what they accept is exactly what is valid.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "cluster/demo/demo.pb.h"
#include "cluster/env/transport.h"
#include "cluster/env/wire.h"
#include "cluster/storage/record_log.h"
#include "tools/ksim/duration.h"

namespace ksim {
namespace {

RC_GTEST_PROP(RecordLogFuzz, ArbitraryBytesDecodeToAValidPrefix, (const std::string& bytes)) {
  const DecodedRecords d = DecodeRecords(bytes);
  RC_ASSERT(d.valid_bytes <= bytes.size());
  std::string reencoded;
  for (const std::string& p : d.payloads) AppendRecord(p, &reencoded);
  RC_ASSERT(reencoded == bytes.substr(0, d.valid_bytes));
  RC_ASSERT(d.torn_tail == (d.valid_bytes != bytes.size()));
}

RC_GTEST_PROP(RecordLogFuzz, CorruptingALogKeepsOnlyRecordsBeforeTheDamage,
              (const std::vector<std::string>& payloads, size_t where, unsigned char flip)) {
  std::string data;
  std::vector<size_t> ends;
  for (const std::string& p : payloads) {
    AppendRecord(p, &data);
    ends.push_back(data.size());
  }
  RC_PRE(!data.empty() && flip != 0);
  const size_t pos = where % data.size();
  data[pos] = static_cast<char>(data[pos] ^ flip);
  const DecodedRecords d = DecodeRecords(data);
  // Records wholly before the damaged byte survive intact; nothing after it is trusted
  // unless the checksum happens to collide (2^-32), which a shrunk counterexample would show.
  size_t intact = 0;
  while (intact < ends.size() && ends[intact] <= pos) ++intact;
  RC_ASSERT(d.payloads.size() >= intact);
  for (size_t i = 0; i < intact; ++i) RC_ASSERT(d.payloads[i] == payloads[i]);
  RC_ASSERT(d.payloads.size() == intact);
}

RC_GTEST_PROP(DurationFuzz, ArbitraryTextIsRejectedOrRoundTrips, (const std::string& text)) {
  Nanos d{0};
  const Status s = tools::ParseDuration("--flag", text, &d);
  if (!s.ok()) {
    RC_ASSERT(s.code() == Status::Code::kInvalidArgument);
    RC_ASSERT(s.message().find("--flag") != std::string::npos);
    return;
  }
  RC_ASSERT(d >= Nanos(0));
  Nanos again{0};
  RC_ASSERT(tools::ParseDuration("--flag", tools::FormatDuration(d), &again).ok());
  RC_ASSERT(again == d);
}

RC_GTEST_PROP(DurationFuzz, WellFormedDurationsParseToTheirValue, (uint32_t value, uint8_t unit_index)) {
  static const char* units[] = {"ns", "us", "ms", "s", "m", "h"};
  static const int64_t scale[] = {1, 1000, 1000000, 1000000000, 60000000000, 3600000000000};
  const size_t u = unit_index % 6;
  Nanos d{0};
  const Status s = tools::ParseDuration("--d", std::to_string(value) + units[u], &d);
  if (static_cast<int64_t>(value) > INT64_MAX / scale[u]) {  // beyond ~292 years
    RC_ASSERT(s.message().find("too large") != std::string::npos);
    return;
  }
  RC_ASSERT(s.ok());
  RC_ASSERT(d.count() == static_cast<int64_t>(value) * scale[u]);
}

RC_GTEST_PROP(AddressFuzz, ArbitraryTextIsRejectedOrSplitsExactly, (const std::string& text)) {
  std::string host;
  uint16_t port = 0;
  if (!ParseAddress(text, &host, &port).ok()) return;
  const size_t colon = text.rfind(':');
  RC_ASSERT(colon != std::string::npos);
  RC_ASSERT(!host.empty());
  RC_ASSERT(host == text.substr(0, colon));
  const std::string digits = text.substr(colon + 1);
  RC_ASSERT(!digits.empty() && digits.find_first_not_of("0123456789") == std::string::npos);
  RC_ASSERT(std::stoul(digits) == port);
}

RC_GTEST_PROP(WireFuzz, ArbitraryFramesParseOrAreRejectedAsCorruption, (const std::string& frame)) {
  demo::Gossip g;
  const Status s = ParseMessage(frame, &g, "gossip");
  if (!s.ok()) {
    RC_ASSERT(s.code() == Status::Code::kCorruption);
    RC_ASSERT(s.message().find("gossip") != std::string::npos);
  }
}

}  // namespace
}  // namespace ksim
