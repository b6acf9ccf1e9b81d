// Disk: a host's files. The model is POSIX with explicit durability, as on ext4:
// - Append/WriteFile change a file's contents in the page cache; only Sync makes those
//   contents durable.
// - Creating, renaming and removing files change directory entries; only SyncDir of the
//   parent directory makes those durable.
// - A process crash loses nothing (the page cache survives); a power failure of the host
//   loses whatever was not made durable, possibly in part (a torn last write).
// Paths are relative to the process's data root, use '/' and never contain "..".
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/env/status.h"

namespace ksim {

// Checks that `path` is a valid Disk path: relative, naming a file, no empty, "." or ".."
// component, no NUL byte. Every Disk implementation validates with this, so both worlds
// accept and reject exactly the same paths.
Status CheckDiskPath(std::string_view path);

class Disk {
 public:
  virtual ~Disk() = default;

  // Appends `data` to `path`, creating the file (and parent directories) if missing.
  // Returns IOError if the disk refuses the write; the file is then unchanged.
  virtual Status Append(const std::string& path, std::string_view data) = 0;

  // Replaces the whole content of `path` with `data`, creating it if missing.
  virtual Status WriteFile(const std::string& path, std::string_view data) = 0;

  // Makes the current content of `path` durable, then runs done(status) on the event
  // loop. Writes made after the call are not covered. NotFound if `path` does not exist.
  virtual void Sync(const std::string& path, std::function<void(Status)> done) = 0;

  // Makes the directory entries of `dir` ("" is the root) durable: files created,
  // renamed into or removed from it survive a power failure once done(OK) runs.
  virtual void SyncDir(const std::string& dir, std::function<void(Status)> done) = 0;

  // Atomically renames `from` to `to`, replacing `to` if it exists.
  virtual Status Rename(const std::string& from, const std::string& to) = 0;

  // Reads the whole file. NotFound if it does not exist.
  virtual Status Read(const std::string& path, std::string* out) const = 0;

  // Reads bytes [offset, offset + length) of `path` into *out, replacing its content: a
  // log reads one record back without reading the whole file. NotFound if the file does
  // not exist; InvalidArgument (and *out empty) if the file is shorter than offset + length.
  virtual Status ReadAt(const std::string& path, uint64_t offset, size_t length, std::string* out) const = 0;

  // Names (not paths) of the files directly inside `dir`, sorted. An absent directory
  // lists as empty.
  virtual Status List(const std::string& dir, std::vector<std::string>* names) const = 0;

  // Removes a file. NotFound if it does not exist.
  virtual Status Remove(const std::string& path) = 0;
};

}  // namespace ksim
