#include "cluster/storage/record_log.h"

#include <gtest/gtest.h>

namespace ksim {
namespace {

TEST(RecordLog, RoundTripsRecordsIncludingEmptyOnes) {
  std::string data;
  AppendRecord("one", &data);
  AppendRecord("", &data);
  AppendRecord(std::string(1000, 'x'), &data);
  DecodedRecords d = DecodeRecords(data);
  ASSERT_EQ(d.payloads.size(), 3u);
  EXPECT_EQ(d.payloads[0], "one");
  EXPECT_EQ(d.payloads[1], "");
  EXPECT_EQ(d.payloads[2].size(), 1000u);
  EXPECT_EQ(d.valid_bytes, data.size());
  EXPECT_FALSE(d.torn_tail);
}

TEST(RecordLog, ARecordFramedInPlaceIsTheSameBytesAsAppendRecord) {
  std::string appended = "prefix";
  std::string framed = "prefix";
  for (const std::string& payload : {std::string("one"), std::string(), std::string(70000, 'y')}) {
    AppendRecord(payload, &appended);
    const size_t begin = BeginRecord(&framed);
    EXPECT_EQ(begin + kRecordHeaderBytes, framed.size());
    framed += payload;
    FinishRecord(begin, &framed);
  }
  EXPECT_EQ(framed, appended);
  DecodedRecords d = DecodeRecords(std::string_view(framed).substr(6));
  ASSERT_EQ(d.payloads.size(), 3u);
  EXPECT_EQ(d.payloads[2].size(), 70000u);
}

TEST(RecordLog, EveryTruncationKeepsExactlyTheWholeRecords) {
  std::string data;
  std::vector<size_t> ends;
  for (int i = 0; i < 5; ++i) {
    AppendRecord("record-" + std::to_string(i), &data);
    ends.push_back(data.size());
  }
  for (size_t cut = 0; cut <= data.size(); ++cut) {
    DecodedRecords d = DecodeRecords(std::string_view(data).substr(0, cut));
    size_t whole = 0;
    while (whole < ends.size() && ends[whole] <= cut) ++whole;
    ASSERT_EQ(d.payloads.size(), whole) << "cut at " << cut;
    EXPECT_EQ(d.valid_bytes, whole == 0 ? 0 : ends[whole - 1]);
    EXPECT_EQ(d.torn_tail, d.valid_bytes != cut);
  }
}

TEST(RecordLog, CorruptedByteStopsDecodingAtThatRecord) {
  std::string data;
  AppendRecord("aaaa", &data);
  const size_t first = data.size();
  AppendRecord("bbbb", &data);
  AppendRecord("cccc", &data);
  data[first + 9] ^= 0x01;  // inside the second record's payload
  DecodedRecords d = DecodeRecords(data);
  ASSERT_EQ(d.payloads.size(), 1u);
  EXPECT_EQ(d.valid_bytes, first);
  EXPECT_TRUE(d.torn_tail);
}

// A WAL reads one record back by the offset it noted when writing it.
TEST(RecordLog, RecordsDecodeAtTheirOffsets) {
  std::string data;
  std::vector<size_t> starts;
  for (int i = 0; i < 4; ++i) {
    starts.push_back(data.size());
    AppendRecord(std::string(static_cast<size_t>(i * 3), static_cast<char>('a' + i)), &data);
    EXPECT_EQ(data.size() - starts.back(), RecordBytes(static_cast<size_t>(i * 3)));
  }
  DecodedRecords d = DecodeRecords(data);
  EXPECT_EQ(d.offsets, starts);
  std::string_view payload;
  ASSERT_TRUE(DecodeRecordAt(data, starts[2], &payload));
  EXPECT_EQ(payload, "cccccc");
  EXPECT_FALSE(DecodeRecordAt(data, starts[2] + 1, &payload));  // not a record start
  EXPECT_FALSE(DecodeRecordAt(data, data.size(), &payload));
  EXPECT_FALSE(DecodeRecordAt(data, data.size() + 5, &payload));
  data[starts[3] + kRecordHeaderBytes] ^= 0x01;
  EXPECT_FALSE(DecodeRecordAt(data, starts[3], &payload));  // checksum
}

TEST(RecordLog, HugeLengthPrefixIsRejectedNotTrusted) {
  std::string data = "\xff\xff\xff\x7f\x00\x00\x00\x00tiny";
  DecodedRecords d = DecodeRecords(data);
  EXPECT_TRUE(d.payloads.empty());
  EXPECT_TRUE(d.torn_tail);
}

}  // namespace
}  // namespace ksim
