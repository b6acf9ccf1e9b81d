#include "cluster/env/disk.h"

#include <string>

namespace ksim {

Status CheckDiskPath(std::string_view path) {
  const std::string shown(path.substr(0, path.find('\0')));
  if (path.empty() || path.front() == '/' || path.back() == '/') {
    return Status::InvalidArgument("disk path '" + shown + "': must be relative and name a file");
  }
  if (path.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("disk path '" + shown + "': contains a NUL byte");
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") {
      return Status::InvalidArgument("disk path '" + shown + "': empty, '.' or '..' component");
    }
    start = end + 1;
  }
  return Status::Ok();
}

}  // namespace ksim
