// The typed view of a message the strategy tables dispatch on. The tables look entries up
// by the message's type, so the cast cannot fail there.
#pragma once

#include <google/protobuf/message.h>

namespace ksim::apiserver {

template <typename T>
const T& As(const google::protobuf::Message& m) {
  return *google::protobuf::DynamicCastToGenerated<T>(&m);
}
template <typename T>
T& AsMutable(google::protobuf::Message& m) {
  return *google::protobuf::DynamicCastToGenerated<T>(&m);
}

}  // namespace ksim::apiserver
