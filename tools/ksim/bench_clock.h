// Clocks for `ksim bench`: the tools layer is the only one that reads real time.
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <fstream>
#include <string>

namespace ksim::tools {

inline double WallSecondsSince(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// CPU time of this process: on a shared machine the wall clock also counts other jobs.
inline double CpuSeconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

// Peak resident set size (VmHWM), bytes.
inline uint64_t PeakResidentBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

}  // namespace ksim::tools
