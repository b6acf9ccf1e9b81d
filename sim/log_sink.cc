#include "sim/log_sink.h"

#include <fmt/format.h>

#include <cstdio>

namespace ksim::sim {
namespace {

char LevelLetter(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return 'D';
    case LogLevel::kInfo: return 'I';
    case LogLevel::kWarning: return 'W';
    case LogLevel::kError: return 'E';
  }
  return '?';
}

}  // namespace

void LogSink::Add(Nanos at, std::string_view host, LogLevel level, std::string_view component,
                  std::string_view message) {
  const int64_t ns = at.count();
  std::string line = fmt::format("{:>6}.{:06}s {} {} {}: {}", ns / 1000000000, (ns / 1000) % 1000000,
                                 LevelLetter(level), host, component, message);
  if (echo_) std::fprintf(stderr, "%s\n", line.c_str());
  ++total_lines_;
  if (capacity_lines_ == 0) return;
  if (lines_.size() == capacity_lines_) lines_.pop_front();
  lines_.push_back(std::move(line));
}

}  // namespace ksim::sim
