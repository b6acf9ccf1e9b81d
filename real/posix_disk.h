// PosixDisk: ksim::Disk on a directory of a real file system.
//
// Every path is resolved relative to a directory fd opened once at the root (openat and
// friends), so the working directory never matters. Durability follows
// cluster/env/disk.h: Append/WriteFile reach the page cache; Sync fsyncs a file;
// SyncDir fsyncs a directory so entries created, renamed or removed in it survive a
// power failure. Directories that PosixDisk creates itself (parents of a new file) are
// made durable at creation (their parent is fsynced), so a caller only ever has to
// SyncDir the directory that holds the file, as it would in the simulator.
//
// Blocking: every call does its system calls on the calling (loop) thread, fsync
// included, which can take milliseconds on a real disk. Sync and SyncDir still report
// through the loop (a posted task), never inside the call, so callers are written for
// the asynchronous contract and a thread pool can be added here later without changes
// above. If fsync fails, the kernel may already have dropped the dirty pages, so
// retrying cannot make the data durable: callers must treat IOError from Sync as fatal
// for that file's contents.
//
// Not thread-safe: call it on the loop's thread. Paths are not checked for symlinks;
// the root is trusted to belong to this process.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/env/disk.h"
#include "real/event_loop.h"

namespace ksim::real {

class PosixDisk final : public Disk {
 public:
  // Creates `root` (with missing parents) if needed and opens it. IOError if it cannot
  // be created or is not a directory.
  // REQUIRES: `loop` outlives the disk and any completion it posted.
  static Status Open(EventLoop* loop, const std::string& root, std::unique_ptr<PosixDisk>* disk);

  ~PosixDisk() override;
  PosixDisk(const PosixDisk&) = delete;
  PosixDisk& operator=(const PosixDisk&) = delete;

  // Appends with O_APPEND, creating the file and its parent directories. Handles short
  // writes and EINTR. On failure the file is truncated back to its old size (or removed
  // if this call created it), so it is unchanged as the contract requires.
  Status Append(const std::string& path, std::string_view data) override;

  // Truncates and writes. Not atomic: a crash can leave the file empty or partial; write
  // a temporary file, Sync it and Rename it over the target for an atomic replace.
  Status WriteFile(const std::string& path, std::string_view data) override;

  // fsyncs `path`, then posts done(status) to the loop. NotFound if it does not exist.
  void Sync(const std::string& path, std::function<void(Status)> done) override;

  // fsyncs the directory `dir` ("" is the root), then posts done(status). An absent
  // directory has no entries to make durable and completes OK, as in the simulator.
  void SyncDir(const std::string& dir, std::function<void(Status)> done) override;

  // rename(2): atomic, replacing `to`. Creates `to`'s parent directories if missing.
  // NotFound if `from` does not exist.
  Status Rename(const std::string& from, const std::string& to) override;

  // Reads the whole file. NotFound if it does not exist or is not a regular file.
  Status Read(const std::string& path, std::string* out) const override;
  // pread(2) until `length` bytes arrive; a short file is InvalidArgument.
  Status ReadAt(const std::string& path, uint64_t offset, size_t length, std::string* out) const override;

  // Sorted names of the regular files directly inside `dir` ("" is the root);
  // subdirectories are not listed. An absent directory lists as empty.
  Status List(const std::string& dir, std::vector<std::string>* names) const override;

  // unlink(2). NotFound if there is no such file.
  Status Remove(const std::string& path) override;

  const std::string& root() const { return root_; }

  // InvalidArgument unless `path` is relative, non-empty, without a trailing '/', NUL
  // bytes, or empty, "." or ".." components. Public so callers can pre-validate.
  static Status CheckPath(const std::string& path);

 private:
  PosixDisk(EventLoop* loop, std::string root, int root_fd);

  // CheckPath, but "" (the root) is allowed.
  static Status CheckDir(const std::string& dir);
  // Opens `path` read-only into *fd: NotFound if it does not exist.
  Status OpenForRead(const std::string& path, int* fd) const;
  // Creates the missing directories above `path`, fsyncing each one's parent.
  Status MakeParentDirs(const std::string& path);
  Status WriteAll(int fd, std::string_view data, const std::string& path);
  void Complete(std::function<void(Status)> done, Status status);

  EventLoop* loop_;
  std::string root_;
  int root_fd_;
};

}  // namespace ksim::real
