// Protobuf messages over Transport frames: one message per frame.
#pragma once

#include <google/protobuf/message_lite.h>

#include <string>
#include <string_view>

#include "cluster/env/status.h"
#include "cluster/env/transport.h"

namespace ksim {

// Serializes `msg` and sends it as one frame.
inline Status SendMessage(Connection& conn, const google::protobuf::MessageLite& msg) {
  std::string frame;
  if (!msg.SerializeToString(&frame)) return Status::InvalidArgument("message failed to serialize");
  if (frame.size() > kMaxFrameBytes) return Status::InvalidArgument("message larger than kMaxFrameBytes");
  return conn.Send(std::move(frame));
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
