#include "real/posix_disk.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace ksim::real {
namespace {

std::string ErrnoText(int err) { return std::strerror(err); }

Status IoError(const std::string& op, const std::string& path, int err) {
  return Status::IOError(op + " '" + path + "': " + ErrnoText(err));
}

int FsyncFd(int fd) {
  int rc;
  do {
    rc = fsync(fd);
  } while (rc != 0 && errno == EINTR);
  return rc == 0 ? 0 : errno;
}

// close(2) can report a deferred write error (e.g. on network file systems).
int CloseFd(int fd) { return close(fd) == 0 || errno == EINTR ? 0 : errno; }

std::string ParentOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

}  // namespace

Status PosixDisk::Open(EventLoop* loop, const std::string& root, std::unique_ptr<PosixDisk>* disk) {
  if (root.empty()) return Status::InvalidArgument("disk root must not be empty");
  // mkdir -p
  for (size_t pos = root.find('/', 1);; pos = root.find('/', pos + 1)) {
    const std::string prefix = root.substr(0, pos);
    if (!prefix.empty() && mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      return IoError("create disk root", prefix, errno);
    }
    if (pos == std::string::npos) break;
  }
  const int fd = open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError("open disk root", root, errno);
  disk->reset(new PosixDisk(loop, root, fd));
  return Status::Ok();
}

PosixDisk::PosixDisk(EventLoop* loop, std::string root, int root_fd)
    : loop_(loop), root_(std::move(root)), root_fd_(root_fd) {}

PosixDisk::~PosixDisk() { close(root_fd_); }

Status PosixDisk::CheckPath(const std::string& path) { return CheckDiskPath(path); }

Status PosixDisk::CheckDir(const std::string& dir) { return dir.empty() ? Status::Ok() : CheckPath(dir); }

Status PosixDisk::MakeParentDirs(const std::string& path) {
  for (size_t pos = path.find('/'); pos != std::string::npos; pos = path.find('/', pos + 1)) {
    const std::string dir = path.substr(0, pos);
    if (mkdirat(root_fd_, dir.c_str(), 0755) != 0) {
      if (errno == EEXIST) continue;  // if it is not a directory, the open that follows says so
      return IoError("create directory", dir, errno);
    }
    // The new directory's entry lives in its parent: make it durable now, so a SyncDir
    // of the directory holding a file is enough for the file to survive.
    const std::string parent = ParentOf(dir);
    const int pfd = openat(root_fd_, parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0) return IoError("open directory", parent, errno);
    const int err = FsyncFd(pfd);
    close(pfd);
    if (err != 0) return IoError("fsync directory", parent, err);
  }
  return Status::Ok();
}

Status PosixDisk::WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("write", path, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));  // a short write continues with the rest
  }
  return Status::Ok();
}

Status PosixDisk::Append(const std::string& path, std::string_view data) {
  if (Status s = CheckPath(path); !s.ok()) return s;
  bool created = false;
  int fd = openat(root_fd_, path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    if (Status s = MakeParentDirs(path); !s.ok()) return s;
    fd = openat(root_fd_, path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    created = fd >= 0;
    if (fd < 0 && errno == EEXIST) fd = openat(root_fd_, path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  }
  if (fd < 0) return IoError("open for append", path, errno);
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    close(fd);
    return IoError("stat", path, err);
  }
  Status s = WriteAll(fd, data, path);
  if (!s.ok()) {
    // Undo the part that was written so the file is as it was.
    if (created) {
      unlinkat(root_fd_, path.c_str(), 0);
    } else {
      while (ftruncate(fd, st.st_size) != 0 && errno == EINTR) {
      }
    }
    close(fd);
    return s;
  }
  if (const int err = CloseFd(fd); err != 0) return IoError("close", path, err);
  return Status::Ok();
}

Status PosixDisk::WriteFile(const std::string& path, std::string_view data) {
  if (Status s = CheckPath(path); !s.ok()) return s;
  constexpr int kFlags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
  int fd = openat(root_fd_, path.c_str(), kFlags, 0644);
  if (fd < 0 && errno == ENOENT) {
    if (Status s = MakeParentDirs(path); !s.ok()) return s;
    fd = openat(root_fd_, path.c_str(), kFlags, 0644);
  }
  if (fd < 0) return IoError("open for write", path, errno);
  Status s = WriteAll(fd, data, path);
  const int err = CloseFd(fd);
  if (!s.ok()) return s;
  if (err != 0) return IoError("close", path, err);
  return Status::Ok();
}

void PosixDisk::Complete(std::function<void(Status)> done, Status status) {
  loop_->Post([done = std::move(done), status = std::move(status)] { done(status); });
}

void PosixDisk::Sync(const std::string& path, std::function<void(Status)> done) {
  if (Status s = CheckPath(path); !s.ok()) return Complete(std::move(done), std::move(s));
  const int fd = openat(root_fd_, path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) return Complete(std::move(done), Status::NotFound("sync '" + path + "'"));
    return Complete(std::move(done), IoError("open for sync", path, err));
  }
  const int err = FsyncFd(fd);
  close(fd);
  Complete(std::move(done), err == 0 ? Status::Ok() : IoError("fsync", path, err));
}

void PosixDisk::SyncDir(const std::string& dir, std::function<void(Status)> done) {
  if (Status s = CheckDir(dir); !s.ok()) return Complete(std::move(done), std::move(s));
  const int fd = openat(root_fd_, dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return Complete(std::move(done), Status::Ok());
    return Complete(std::move(done), IoError("open directory for sync", dir, err));
  }
  const int err = FsyncFd(fd);
  close(fd);
  Complete(std::move(done), err == 0 ? Status::Ok() : IoError("fsync directory", dir, err));
}

Status PosixDisk::Rename(const std::string& from, const std::string& to) {
  if (Status s = CheckPath(from); !s.ok()) return s;
  if (Status s = CheckPath(to); !s.ok()) return s;
  struct stat st {};
  if (fstatat(root_fd_, from.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::NotFound("rename '" + from + "': no such file");
    return IoError("stat", from, errno);
  }
  if (!S_ISREG(st.st_mode)) return Status::NotFound("rename '" + from + "': not a regular file");
  if (renameat(root_fd_, from.c_str(), root_fd_, to.c_str()) == 0) return Status::Ok();
  if (errno == ENOENT) {  // `from` exists, so `to`'s directory is missing
    if (Status s = MakeParentDirs(to); !s.ok()) return s;
    if (renameat(root_fd_, from.c_str(), root_fd_, to.c_str()) == 0) return Status::Ok();
  }
  return IoError("rename to '" + to + "'", from, errno);
}

namespace {

// pread(2) into buf until `length` bytes or end of file; *got says how many arrived.
Status PreadFull(int fd, const std::string& path, uint64_t offset, char* buf, size_t length, size_t* got) {
  *got = 0;
  while (*got < length) {
    const ssize_t n = pread(fd, buf + *got, length - *got, static_cast<off_t>(offset + *got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("read", path, errno);
    }
    if (n == 0) break;
    *got += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

Status PosixDisk::OpenForRead(const std::string& path, int* fd) const {
  if (Status s = CheckPath(path); !s.ok()) return s;
  *fd = openat(root_fd_, path.c_str(), O_RDONLY | O_CLOEXEC);
  if (*fd >= 0) return Status::Ok();
  if (errno == ENOENT || errno == ENOTDIR) return Status::NotFound("read '" + path + "': no such file");
  return IoError("open for read", path, errno);
}

Status PosixDisk::Read(const std::string& path, std::string* out) const {
  out->clear();
  int fd = -1;
  if (Status s = OpenForRead(path, &fd); !s.ok()) return s;
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return Status::NotFound("read '" + path + "': not a regular file");
  }
  // Read to EOF rather than trusting the size: the file may change meanwhile.
  out->resize(static_cast<size_t>(st.st_size) + 1);
  size_t used = 0;
  for (;;) {
    if (used == out->size()) out->resize(out->size() * 2);
    size_t got = 0;
    if (Status s = PreadFull(fd, path, used, out->data() + used, out->size() - used, &got); !s.ok()) {
      close(fd);
      out->clear();
      return s;
    }
    used += got;
    if (used < out->size()) break;  // end of file
  }
  close(fd);
  out->resize(used);
  return Status::Ok();
}

Status PosixDisk::ReadAt(const std::string& path, uint64_t offset, size_t length, std::string* out) const {
  out->clear();
  int fd = -1;
  if (Status s = OpenForRead(path, &fd); !s.ok()) return s;
  out->resize(length);
  size_t got = 0;
  Status s = PreadFull(fd, path, offset, out->data(), length, &got);
  close(fd);
  if (s.ok() && got < length) {
    s = Status::InvalidArgument("read '" + path + "': bytes [" + std::to_string(offset) + ", " +
                                std::to_string(offset + length) + ") are past its end at " +
                                std::to_string(offset + got));
  }
  if (!s.ok()) out->clear();
  return s;
}

Status PosixDisk::List(const std::string& dir, std::vector<std::string>* names) const {
  names->clear();
  if (Status s = CheckDir(dir); !s.ok()) return s;
  const int fd = openat(root_fd_, dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::Ok();
    return IoError("open directory", dir, errno);
  }
  DIR* d = fdopendir(fd);  // takes ownership of fd
  if (d == nullptr) {
    const int err = errno;
    close(fd);
    return IoError("opendir", dir, err);
  }
  for (;;) {
    errno = 0;
    const dirent* e = readdir(d);
    if (e == nullptr) {
      if (errno != 0) {
        const int err = errno;
        closedir(d);
        names->clear();
        return IoError("readdir", dir, err);
      }
      break;
    }
    bool regular = e->d_type == DT_REG;
    if (e->d_type == DT_UNKNOWN) {  // some file systems do not fill d_type
      struct stat st {};
      regular = fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
    }
    if (regular) names->emplace_back(e->d_name);
  }
  closedir(d);
  std::sort(names->begin(), names->end());
  return Status::Ok();
}

Status PosixDisk::Remove(const std::string& path) {
  if (Status s = CheckPath(path); !s.ok()) return s;
  if (unlinkat(root_fd_, path.c_str(), 0) == 0) return Status::Ok();
  if (errno == ENOENT || errno == ENOTDIR) return Status::NotFound("remove '" + path + "': no such file");
  if (errno == EISDIR) return Status::NotFound("remove '" + path + "': a directory, not a file");
  return IoError("remove", path, errno);
}

}  // namespace ksim::real
