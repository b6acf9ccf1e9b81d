// Test helper: run the ksim binary as a child process and read its output.
#pragma once

#include <string>
#include <vector>

#include <sys/types.h>

namespace ksim::testing {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `argv` to completion (argv[0] is the program path).
RunResult RunCommand(const std::vector<std::string>& argv);

// A child whose stdout is read line by line.
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv);
  ~Child();  // kills the child if it still runs
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Reads stdout lines until `pred(line)` holds or `timeout_ms` passes. Returns whether
  // it held; `last` gets the matching line.
  template <typename Pred>
  bool WaitForLine(Pred pred, int timeout_ms, std::string* last = nullptr);
  void Kill(int signal);
  // Waits for exit; returns the exit code, or 128+signal.
  int Wait();
  pid_t pid() const { return pid_; }

 private:
  bool ReadLine(std::string* line, int timeout_ms);
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string buffer_;
  bool exited_ = false;
  int status_ = 0;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreeLoopbackPort();

// A new empty directory under TMPDIR.
std::string TempDir();

template <typename Pred>
bool Child::WaitForLine(Pred pred, int timeout_ms, std::string* last) {
  std::string line;
  // Bounded by the deadline inside ReadLine's callers: each call waits at most the rest.
  for (int waited = 0; waited < timeout_ms; waited += 50) {
    while (ReadLine(&line, 50)) {
      if (pred(line)) {
        if (last) *last = line;
        return true;
      }
    }
  }
  return false;
}

}  // namespace ksim::testing
