// What the codec's files share (codec_decode.cc, codec_encode.cc): the special message
// types and the field options that change how a value is written. Not an interface.
#pragma once

#include <google/protobuf/descriptor.h>

#include <string_view>

#include "cluster/api/meta.pb.h"

namespace ksim::api::codec_internal {

inline constexpr std::string_view kTimestampType = "google.protobuf.Timestamp";
inline constexpr std::string_view kStructType = "google.protobuf.Struct";
inline constexpr std::string_view kValueType = "google.protobuf.Value";
inline constexpr std::string_view kListValueType = "google.protobuf.ListValue";

inline bool IsMicroTime(const google::protobuf::FieldDescriptor* field) {
  return field->options().GetExtension(micro_time);
}
inline bool IsQuantity(const google::protobuf::FieldDescriptor* field) {
  return field->options().GetExtension(quantity);
}

}  // namespace ksim::api::codec_internal
