#include "real/real_env.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>
#include <utility>

namespace ksim::real {
namespace {

char LevelLetter(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return 'D';
    case LogLevel::kInfo:
      return 'I';
    case LogLevel::kWarning:
      return 'W';
    case LogLevel::kError:
      return 'E';
  }
  return '?';
}

uint64_t SeedFromRandomDevice() {
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ static_cast<uint64_t>(device());
}

}  // namespace

// --- StderrLogger --------------------------------------------------------------------

StderrLogger::StderrLogger(std::string host, LogLevel min_level, int fd)
    : host_(std::move(host)), min_level_(min_level), fd_(fd) {}

std::string StderrLogger::Format(int64_t wall_ns, LogLevel level, std::string_view component,
                                 std::string_view message) const {
  const time_t seconds = static_cast<time_t>(wall_ns / 1'000'000'000);
  const long micros = static_cast<long>((wall_ns % 1'000'000'000) / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char stamp[64];
  std::snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
  std::string line;
  line.reserve(64 + host_.size() + component.size() + message.size());
  line.append(stamp);
  line.push_back(' ');
  line.push_back(LevelLetter(level));
  line.push_back(' ');
  line.append(host_);
  line.push_back(' ');
  line.append(component);
  line.append(": ");
  line.append(message);
  line.push_back('\n');
  return line;
}

void StderrLogger::Log(LogLevel level, std::string_view component, std::string_view message) {
  if (static_cast<int>(level) < static_cast<int>(min_level_)) return;
  const int64_t now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  const std::string line = Format(now_ns, level, component, message);
  std::string_view rest = line;
  while (!rest.empty()) {
    const ssize_t n = write(fd_, rest.data(), rest.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // nowhere left to report a logging failure
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
}

// --- RealHost ------------------------------------------------------------------------

Status RealHost::Create(RealHostOptions options, std::unique_ptr<RealHost>* host) {
  if (options.data_dir.empty()) return Status::InvalidArgument("RealHost: data_dir is required");
  std::unique_ptr<EventLoop> loop;
  if (Status s = EventLoop::Create(&loop); !s.ok()) return s;
  std::unique_ptr<PosixDisk> disk;
  if (Status s = PosixDisk::Open(loop.get(), options.data_dir, &disk); !s.ok()) return s;
  const bool seeded = options.seed.has_value();
  const uint64_t seed = seeded ? *options.seed : SeedFromRandomDevice();
  host->reset(new RealHost(std::move(options), std::move(loop), std::move(disk), seed));
  (*host)->logger_->Log(LogLevel::kInfo, "host",
                        std::string("started; data_dir=") + (*host)->options_.data_dir +
                            " seed=" + std::to_string(seed) + (seeded ? "" : " (from random_device)"));
  return Status::Ok();
}

RealHost::RealHost(RealHostOptions options, std::unique_ptr<EventLoop> loop, std::unique_ptr<PosixDisk> disk,
                   uint64_t seed)
    : options_(std::move(options)),
      loop_(std::move(loop)),
      clock_(std::make_unique<RealClock>(loop_.get())),
      transport_(std::make_unique<TcpTransport>(loop_.get(), options_.host, options_.transport)),
      disk_(std::move(disk)),
      random_(seed),
      logger_(std::make_unique<StderrLogger>(options_.host, options_.min_log_level)) {}

RealHost::~RealHost() {
  // Explicit order, matching the comment in the header: everything before the loop.
  logger_.reset();
  disk_.reset();
  transport_.reset();
  clock_.reset();
  loop_.reset();
}

Env RealHost::env() {
  Env env;
  env.host = options_.host;
  env.clock = clock_.get();
  env.transport = transport_.get();
  env.disk = disk_.get();
  env.runtime = nullptr;
  env.dataplane = nullptr;
  env.random = &random_;
  env.entropy = &entropy_;
  env.log = logger_.get();
  return env;
}

}  // namespace ksim::real
