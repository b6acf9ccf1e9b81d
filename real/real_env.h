// RealHost: the backends of one real daemon, wired together, and the Env it hands to its
// processes. One RealHost per daemon process: one event loop, one clock, one TCP
// transport, one data directory, one Random and a stderr logger.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cluster/env/env.h"
#include "cluster/env/logger.h"
#include "cluster/env/random.h"
#include "real/clock.h"
#include "real/event_loop.h"
#include "real/os_entropy.h"
#include "real/posix_disk.h"
#include "real/tcp_transport.h"

namespace ksim::real {

// Writes one line per call to a file descriptor (stderr by default):
//   2024-05-01T12:00:00.123456Z I <host> <component>: <message>
// Wall time in UTC, because people correlate these lines across hosts. Each line is one
// write(2), so lines from several threads or processes sharing the fd do not interleave.
// Thread-safe (no mutable state).
class StderrLogger final : public Logger {
 public:
  // Lines below `min_level` are dropped. `fd` is borrowed, not closed.
  explicit StderrLogger(std::string host, LogLevel min_level = LogLevel::kInfo, int fd = 2);

  void Log(LogLevel level, std::string_view component, std::string_view message) override;

  // The line Log would write for `level`, `component` and `message` at `wall_ns` (ns
  // since the Unix epoch), including the trailing newline. Exposed for tests.
  std::string Format(int64_t wall_ns, LogLevel level, std::string_view component, std::string_view message) const;

 private:
  std::string host_;
  LogLevel min_level_;
  int fd_;
};

struct RealHostOptions {
  // This host's name as other hosts address it: Env::host and the host part of the
  // transport's LocalAddress. An IP, or a name every peer resolves the same way.
  std::string host = "127.0.0.1";
  // Root directory of the host's Disk (created if missing). Required.
  std::string data_dir;
  // Seed of the host's Random. Unset: drawn from std::random_device (and logged, so a
  // run can still be related to its randomness).
  std::optional<uint64_t> seed;
  TcpTransportOptions transport;
  LogLevel min_log_level = LogLevel::kInfo;
};

class RealHost {
 public:
  // Creates the loop and every backend. InvalidArgument if data_dir is empty; IOError if
  // the loop or the data directory cannot be created.
  static Status Create(RealHostOptions options, std::unique_ptr<RealHost>* host);

  // Destroys the backends before the loop they use. Pending timers and posted tasks are
  // dropped without running.
  ~RealHost();
  RealHost(const RealHost&) = delete;
  RealHost& operator=(const RealHost&) = delete;

  // The Env for a process on this host. Its pointers stay valid while the RealHost
  // lives. runtime and dataplane are null: this host offers neither yet.
  Env env();

  const std::string& name() const { return options_.host; }
  EventLoop& loop() { return *loop_; }
  RealClock& clock() { return *clock_; }
  TcpTransport& transport() { return *transport_; }
  PosixDisk& disk() { return *disk_; }
  Random& random() { return random_; }
  Entropy& entropy() { return entropy_; }
  StderrLogger& logger() { return *logger_; }

 private:
  RealHost(RealHostOptions options, std::unique_ptr<EventLoop> loop, std::unique_ptr<PosixDisk> disk,
           uint64_t seed);

  // Declaration order is destruction order in reverse: the loop goes last.
  RealHostOptions options_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<RealClock> clock_;
  std::unique_ptr<TcpTransport> transport_;
  std::unique_ptr<PosixDisk> disk_;
  Random random_;
  OsEntropy entropy_;  // never from the seed: uids and tokens must not replay
  std::unique_ptr<StderrLogger> logger_;
};

}  // namespace ksim::real
