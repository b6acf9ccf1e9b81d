// Logger: where a process writes what it did. The simulated world stamps lines with
// virtual time; real hosts write them to stderr.
#pragma once

#include <string_view>

namespace ksim {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

class Logger {
 public:
  virtual ~Logger() = default;
  virtual void Log(LogLevel level, std::string_view component, std::string_view message) = 0;
};

}  // namespace ksim
