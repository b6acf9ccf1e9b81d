// Time values used across ksim. Durations are std::chrono::nanoseconds; time points are
// nanoseconds since an epoch that the clock which produced them documents. Only backends
// (sim/, real/) ever produce time points: cluster/ code asks its Clock.
#pragma once

#include <chrono>
#include <cstdint>

namespace ksim {

using Nanos = std::chrono::nanoseconds;

constexpr Nanos Microseconds(int64_t v) { return std::chrono::microseconds(v); }
constexpr Nanos Milliseconds(int64_t v) { return std::chrono::milliseconds(v); }
constexpr Nanos Seconds(int64_t v) { return std::chrono::seconds(v); }

}  // namespace ksim
