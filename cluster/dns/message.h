// RFC 1035 DNS messages: the header, questions and resource records, encoded without
// name compression and decoded strictly (compression pointers followed backwards only),
// within byte and count limits. One message is one Transport frame. docs/NETWORKING.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/env/status.h"

namespace ksim::dns {

inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypeNS = 2;
inline constexpr uint16_t kTypeCNAME = 5;
inline constexpr uint16_t kTypeSOA = 6;
inline constexpr uint16_t kTypePTR = 12;
inline constexpr uint16_t kTypeAAAA = 28;
inline constexpr uint16_t kTypeSRV = 33;
inline constexpr uint16_t kTypeANY = 255;
inline constexpr uint16_t kClassIN = 1;

inline constexpr uint8_t kNoError = 0;
inline constexpr uint8_t kFormErr = 1;
inline constexpr uint8_t kServFail = 2;
inline constexpr uint8_t kNXDomain = 3;
inline constexpr uint8_t kNotImp = 4;
inline constexpr uint8_t kRefused = 5;

inline constexpr size_t kMaxMessageBytes = 65535;  // a TCP message's length field
inline constexpr size_t kMaxNameBytes = 255;       // wire form, RFC 1035 2.3.4
inline constexpr size_t kMaxLabelBytes = 63;
inline constexpr size_t kMaxRecords = 4096;        // questions plus records of one message

// Names are dotted text without the final dot ("" is the root). Labels hold any byte but
// '.' (a label with a dot cannot be written in this form and is refused).
struct Question {
  std::string name;
  uint16_t type = kTypeA;
  uint16_t klass = kClassIN;
};

// `rdata` is the record's data in wire form; for types whose data holds names (NS, CNAME,
// PTR, SOA, SRV) the decoder expands any compression, so rdata never refers to the message.
struct ResourceRecord {
  std::string name;
  uint16_t type = kTypeA;
  uint16_t klass = kClassIN;
  uint32_t ttl = 0;
  std::string rdata;
};

struct Message {
  uint16_t id = 0;
  bool response = false;
  uint8_t opcode = 0;
  bool authoritative = false;
  bool truncated = false;
  bool recursion_desired = false;
  bool recursion_available = false;
  uint8_t rcode = kNoError;
  std::vector<Question> questions;
  std::vector<ResourceRecord> answers;
  std::vector<ResourceRecord> authority;
  std::vector<ResourceRecord> additional;
};

// InvalidArgument naming the part and the offset when `bytes` is not one well-formed
// message (short, trailing bytes, a bad label or pointer, over a limit).
Status Decode(std::string_view bytes, Message* out);
// InvalidArgument if a name cannot be written (label or name too long) or the message
// would pass kMaxMessageBytes.
Status Encode(const Message& message, std::string* out);

// Record builders and readers.
ResourceRecord MakeA(const std::string& name, uint32_t ip, uint32_t ttl);
ResourceRecord MakeCname(const std::string& name, const std::string& target, uint32_t ttl);
ResourceRecord MakeSrv(const std::string& name, uint16_t priority, uint16_t weight, uint16_t port,
                       const std::string& target, uint32_t ttl);
ResourceRecord MakeSoa(const std::string& zone, uint32_t serial, uint32_t minimum_ttl, uint32_t ttl);
std::optional<uint32_t> ReadA(const ResourceRecord& rr);
struct Srv {
  uint16_t priority = 0;
  uint16_t weight = 0;
  uint16_t port = 0;
  std::string target;
};
std::optional<Srv> ReadSrv(const ResourceRecord& rr);
std::optional<std::string> ReadCname(const ResourceRecord& rr);

// ASCII lowercase (DNS names compare case-insensitively).
std::string Lower(std::string_view name);

}  // namespace ksim::dns
