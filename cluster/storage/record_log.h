// Record framing for append-only files (logs, WALs): each record is
//   [u32 little-endian payload length][u32 little-endian CRC-32 of payload][payload].
// A crash can leave a torn or garbled tail; decoding stops at the first record that is
// short or fails its checksum and reports how many bytes were valid, so recovery can
// truncate there instead of trusting garbage.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ksim {

// Appends one framed record holding `payload` to `out`.
void AppendRecord(std::string_view payload, std::string* out);

// Frames a record in place, for a payload serialized straight into *out (a WAL entry is
// tens of kilobytes; building it elsewhere first would copy it once more):
//   size_t begin = BeginRecord(out); <append the payload to *out>; FinishRecord(begin, out);
// REQUIRES: nothing else appends to *out in between.
size_t BeginRecord(std::string* out);
void FinishRecord(size_t begin, std::string* out);

struct DecodedRecords {
  std::vector<std::string> payloads;  // the valid records, in order
  std::vector<size_t> offsets;        // where each of them starts in the input
  size_t valid_bytes = 0;             // length of the valid prefix of the input
  bool torn_tail = false;             // bytes after the valid prefix were discarded
};

DecodedRecords DecodeRecords(std::string_view data);

// Decodes the one record starting at data[pos] into *payload (a view of `data`); false if
// it is short or fails its checksum.
bool DecodeRecordAt(std::string_view data, size_t pos, std::string_view* payload);

inline constexpr size_t kRecordHeaderBytes = 8;
// Bytes a record holding `payload_bytes` takes (its header included).
inline size_t RecordBytes(size_t payload_bytes) { return kRecordHeaderBytes + payload_bytes; }

}  // namespace ksim
