// Wall-clock times in API objects: Time fields hold whole seconds, MicroTime fields
// microseconds (what the codec writes), so a stored copy compares equal to what was sent.
#pragma once

#include <google/protobuf/timestamp.pb.h>

#include <cstdint>

#include "cluster/env/time.h"

namespace ksim::kubelet {

// Floor of wall / unit, also for times before the epoch.
inline int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0 && (a < 0) != (b < 0)) ? 1 : 0); }

inline void SetTime(google::protobuf::Timestamp* t, Nanos wall) {
  t->set_seconds(FloorDiv(wall.count(), 1'000'000'000));
  t->set_nanos(0);
}

inline void SetMicroTime(google::protobuf::Timestamp* t, Nanos wall) {
  const int64_t micros = FloorDiv(wall.count(), 1000);
  t->set_seconds(FloorDiv(micros, 1'000'000));
  t->set_nanos(static_cast<int32_t>((micros - FloorDiv(micros, 1'000'000) * 1'000'000) * 1000));
}

}  // namespace ksim::kubelet
