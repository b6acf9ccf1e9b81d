#include "tools/ksim/read_file.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace ksim::tools {

Status ReadInputFile(const std::string& path, std::string* out, uint64_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) return Status::IOError(fmt::format("cannot read {}: not a regular file", path));
  if (static_cast<uint64_t>(size) > max_bytes) {
    return Status::InvalidArgument(fmt::format("{}: {} bytes is more than the {} MiB limit", path, size,
                                               max_bytes >> 20));
  }
  in.seekg(0, std::ios::beg);
  out->assign(static_cast<size_t>(size), '\0');
  if (!in.read(out->data(), size)) return Status::IOError(fmt::format("cannot read {}", path));
  return Status::Ok();
}

}  // namespace ksim::tools
