// Reading a whole input file for a CLI command, with a size limit so that a mistaken
// argument (a disk image, say) fails clearly instead of exhausting memory.
#pragma once

#include <cstdint>
#include <string>

#include "cluster/env/status.h"

namespace ksim::tools {

inline constexpr uint64_t kMaxInputFileBytes = uint64_t{1} << 30;

// IOError naming the path and the reason; InvalidArgument above the limit.
Status ReadInputFile(const std::string& path, std::string* out, uint64_t max_bytes = kMaxInputFileBytes);

}  // namespace ksim::tools
