// Protobuf messages over Transport frames: one message per frame.
#pragma once

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/message_lite.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "cluster/env/status.h"
#include "cluster/env/transport.h"

namespace ksim {

// Appends the deterministic (map entries in key order) encoding of `msg`, whose
// ByteSizeLong() is `size`, computed just before so that the cached sizes it writes with
// are current.
inline bool AppendDeterministicSized(const google::protobuf::MessageLite& msg, size_t size, std::string* out) {
  // Sized once, written in place: growing a string through a stream cost more than the
  // encoding itself.
  if (size > static_cast<size_t>(INT32_MAX)) return false;
  const size_t at = out->size();
  out->resize(at + size);
  google::protobuf::io::ArrayOutputStream array(out->data() + at, static_cast<int>(size));
  google::protobuf::io::CodedOutputStream coded(&array);
  coded.SetSerializationDeterministic(true);
  msg.SerializeWithCachedSizes(&coded);
  return !coded.HadError();
}

// As SerializeDeterministic, but appends to `out` instead of replacing it.
inline bool AppendDeterministic(const google::protobuf::MessageLite& msg, std::string* out) {
  return AppendDeterministicSized(msg, msg.ByteSizeLong(), out);
}

// Serializes `msg` with map entries in key order. Protobuf's maps iterate in an order
// seeded per map instance (its address and the CPU's cycle counter), so plain
// serialization of a message with a map field differs between runs of one seed. Every
// byte that reaches a connection, a disk or the trace goes through here.
inline bool SerializeDeterministic(const google::protobuf::MessageLite& msg, std::string* out) {
  out->clear();
  return AppendDeterministic(msg, out);
}

// Appends `v` as a protobuf varint: for writing a message's framing around bytes that are
// already encoded (a field tag, a length), instead of copying them into a message.
inline void AppendVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Appends field `number` holding the varint `v` (wire type 0).
inline void AppendVarintField(int number, uint64_t v, std::string* out) {
  AppendVarint(static_cast<uint64_t>(number) << 3, out);
  AppendVarint(v, out);
}

// Appends the tag and length of length-delimited field `number`; its `size` bytes are the
// caller's to append next.
inline void AppendLengthPrefix(int number, size_t size, std::string* out) {
  AppendVarint(static_cast<uint64_t>(number) << 3 | 2, out);
  AppendVarint(size, out);
}

// Appends field `number` holding `msg`, encoded deterministically: how an enclosing
// message would encode it, without copying `msg` into one.
inline bool AppendMessageField(int number, const google::protobuf::MessageLite& msg, std::string* out) {
  const size_t size = msg.ByteSizeLong();
  AppendLengthPrefix(number, size, out);
  return AppendDeterministicSized(msg, size, out);
}

inline std::string SerializeDeterministic(const google::protobuf::MessageLite& msg) {
  std::string out;
  (void)SerializeDeterministic(msg, &out);
  return out;
}

// Serializes `msg` (deterministically) and sends it as one frame.
inline Status SendMessage(Connection& conn, const google::protobuf::MessageLite& msg) {
  std::string frame;
  if (!SerializeDeterministic(msg, &frame)) return Status::InvalidArgument("message failed to serialize");
  return conn.Send(std::move(frame));  // refuses a frame over kMaxFrameBytes
}

// Parses one frame into `msg`. Returns Corruption, naming `what`, on malformed bytes.
inline Status ParseMessage(std::string_view frame, google::protobuf::MessageLite* msg, std::string_view what) {
  if (!msg->ParseFromArray(frame.data(), static_cast<int>(frame.size()))) {
    return Status::Corruption("malformed " + std::string(what) + " frame of " + std::to_string(frame.size()) +
                              " bytes");
  }
  return Status::Ok();
}

}  // namespace ksim
