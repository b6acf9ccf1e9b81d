#include "cluster/env/container_runtime.h"

namespace ksim {

// containerd's reference normalization: a name without a registry is on docker.io, a
// single-component name is under library/, and a reference without tag or digest is :latest.
std::string NormalizeImageName(const std::string& image) {
  if (image.empty()) return image;
  std::string name = image;
  size_t slash = name.find('/');
  bool has_registry = false;
  if (slash != std::string::npos) {
    std::string first = name.substr(0, slash);
    has_registry = first.find('.') != std::string::npos || first.find(':') != std::string::npos ||
                   first == "localhost";
  }
  if (!has_registry) {
    if (slash == std::string::npos) name = "library/" + name;
    name = "docker.io/" + name;
  }
  size_t last_slash = name.rfind('/');
  bool has_digest = name.find('@') != std::string::npos;
  bool has_tag = name.find(':', last_slash) != std::string::npos;
  if (!has_digest && !has_tag) name += ":latest";
  return name;
}

}  // namespace ksim
