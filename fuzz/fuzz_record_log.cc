// libFuzzer target: record-log decoding (what recovery trusts after a crash).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "cluster/storage/record_log.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const ksim::DecodedRecords d = ksim::DecodeRecords(bytes);
  std::string reencoded;
  for (const std::string& p : d.payloads) ksim::AppendRecord(p, &reencoded);
  if (d.valid_bytes > size || reencoded != bytes.substr(0, d.valid_bytes)) std::abort();
  return 0;
}
