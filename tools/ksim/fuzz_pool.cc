#include "tools/ksim/fuzz_pool.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>

#include "reports/run_record_json.h"

extern char** environ;

namespace ksim::tools {
namespace {

constexpr size_t kMaxHeaderBytes = 64;
constexpr size_t kReadBytes = 64 * 1024;

struct Worker {
  pid_t pid = -1;
  int fd = -1;
  std::vector<uint64_t> chunk;
  size_t done = 0;       // seeds of chunk received
  std::string buffer;    // bytes not parsed yet: at most a header and one frame
  std::string protocol_error;
};

std::string JoinSeeds(const std::vector<uint64_t>& seeds) {
  std::string s;
  for (uint64_t seed : seeds) {
    if (!s.empty()) s += ',';
    s += std::to_string(seed);
  }
  return s;
}

bool Spawn(const WorkerPoolOptions& o, Worker* w, std::string* error) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  std::vector<std::string> args = {o.exe};
  args.insert(args.end(), o.args.begin(), o.args.end());
  args.push_back("--seed-list");
  args.push_back(JoinSeeds(w->chunk));
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 3);  // dup2 clears close-on-exec on fd 3
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  const int rc = posix_spawn(&w->pid, o.exe.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    *error = "posix_spawn " + o.exe + ": " + std::strerror(rc);
    return false;
  }
  w->fd = fds[0];
  return true;
}

// Parses whole frames off w->buffer; false on a malformed one (protocol_error set).
bool TakeFrames(Worker* w, const std::function<void(reports::SeedRun)>& on_done) {
  for (;;) {
    const size_t nl = w->buffer.find('\n');
    if (nl == std::string::npos) {
      if (w->buffer.size() > kMaxHeaderBytes) w->protocol_error = "a frame header longer than 64 bytes";
      return w->protocol_error.empty();
    }
    char tag[16] = {};
    unsigned long long seed = 0, bytes = 0;
    const std::string header = w->buffer.substr(0, nl);
    if (std::sscanf(header.c_str(), "%15s %llu %llu", tag, &seed, &bytes) != 3 || std::string(tag) != kFrameTag) {
      w->protocol_error = "a malformed frame header \"" + header + "\"";
      return false;
    }
    if (bytes > kMaxFrameBytes) {
      w->protocol_error = "a record of " + std::to_string(bytes) + " bytes (more than 64 MiB)";
      return false;
    }
    if (w->buffer.size() < nl + 1 + bytes) return true;
    std::string parse_error;
    std::optional<reports::RunRecord> record =
        reports::ParseRunRecordJson(std::string_view(w->buffer).substr(nl + 1, bytes), "worker output", &parse_error);
    w->buffer.erase(0, nl + 1 + bytes);
    if (!record || record->seeds.size() != 1 || w->done >= w->chunk.size() || record->seeds[0].seed != seed ||
        seed != w->chunk[w->done]) {
      w->protocol_error = record ? "a record for an unexpected seed " + std::to_string(seed) : parse_error;
      return false;
    }
    ++w->done;
    on_done(std::move(record->seeds[0]));
  }
}

std::string DescribeExit(int status, const std::string& protocol_error) {
  if (!protocol_error.empty()) return "worker process sent " + protocol_error;
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    return "worker process killed by signal " + std::to_string(sig) + " (" + sigabbrev_np(sig) + ")";
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
    return "worker process exited with status " + std::to_string(WEXITSTATUS(status));
  }
  return "worker process output ended early (truncated)";
}

}  // namespace

std::string FrameSeedRun(uint64_t seed, const std::string& record_json) {
  return std::string(kFrameTag) + " " + std::to_string(seed) + " " + std::to_string(record_json.size()) + "\n" +
         record_json;
}

bool RunWorkerPool(const WorkerPoolOptions& options, const std::vector<uint64_t>& seeds,
                   const std::function<void(reports::SeedRun)>& on_done, std::string* error) {
  const size_t jobs = static_cast<size_t>(std::max(1, options.jobs));
  // Several chunks per worker so that a slow chunk does not leave the other workers idle.
  const size_t chunk_size = std::clamp<size_t>((seeds.size() + jobs * 4 - 1) / (jobs * 4), 1, kMaxSeedsPerChunk);
  std::deque<std::vector<uint64_t>> queue;
  for (size_t i = 0; i < seeds.size(); i += chunk_size) {
    queue.emplace_back(seeds.begin() + static_cast<std::ptrdiff_t>(i),
                       seeds.begin() + static_cast<std::ptrdiff_t>(std::min(seeds.size(), i + chunk_size)));
  }
  std::vector<std::unique_ptr<Worker>> running;
  std::vector<char> read_buffer(kReadBytes);
  while (!queue.empty() || !running.empty()) {
    while (running.size() < jobs && !queue.empty()) {
      auto w = std::make_unique<Worker>();
      w->chunk = std::move(queue.front());
      queue.pop_front();
      if (!Spawn(options, w.get(), error)) {
        for (auto& r : running) kill(r->pid, SIGKILL);
        for (auto& r : running) waitpid(r->pid, nullptr, 0);
        return false;
      }
      running.push_back(std::move(w));
    }
    std::vector<pollfd> fds;
    for (auto& w : running) fds.push_back(pollfd{w->fd, POLLIN, 0});
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      *error = std::string("poll: ") + std::strerror(errno);
      return false;
    }
    for (size_t i = running.size(); i-- > 0;) {
      if (fds[i].revents == 0) continue;
      Worker* w = running[i].get();
      const ssize_t n = read(w->fd, read_buffer.data(), read_buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n > 0) {
        w->buffer.append(read_buffer.data(), static_cast<size_t>(n));
        if (TakeFrames(w, on_done)) continue;
        kill(w->pid, SIGKILL);  // malformed output: treat as a crash of the current seed
      }
      close(w->fd);
      int status = 0;
      waitpid(w->pid, &status, 0);
      if (w->done < w->chunk.size()) {
        reports::SeedRun crashed;
        crashed.seed = w->chunk[w->done];
        crashed.verdict = reports::Verdict::kError;
        crashed.error = DescribeExit(status, w->protocol_error);
        crashed.replay_command = "ksim run " + options.replay_file + " --seed " + std::to_string(crashed.seed);
        on_done(std::move(crashed));
        if (w->done + 1 < w->chunk.size()) {
          queue.emplace_front(w->chunk.begin() + static_cast<std::ptrdiff_t>(w->done + 1), w->chunk.end());
        }
      }
      running.erase(running.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  return true;
}

}  // namespace ksim::tools
