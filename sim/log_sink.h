// LogSink: the simulated world's log, stamped with virtual time. Bounded: keeps the
// newest lines only, so a long run cannot exhaust memory through logging.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "cluster/env/logger.h"
#include "cluster/env/time.h"

namespace ksim::sim {

class LogSink {
 public:
  LogSink(size_t capacity_lines, bool echo) : capacity_lines_(capacity_lines), echo_(echo) {}

  void Add(Nanos at, std::string_view host, LogLevel level, std::string_view component, std::string_view message);

  const std::deque<std::string>& lines() const { return lines_; }
  uint64_t total_lines() const { return total_lines_; }
  void set_echo(bool echo) { echo_ = echo; }

 private:
  size_t capacity_lines_;
  bool echo_;
  std::deque<std::string> lines_;
  uint64_t total_lines_ = 0;
};

}  // namespace ksim::sim
