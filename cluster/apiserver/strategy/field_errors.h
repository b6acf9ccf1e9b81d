// Building FieldErrors the way Kubernetes' field package does: a path, an error type and
// Kubernetes' wording for each type (internal to the strategy library).
#pragma once

#include <absl/container/inlined_vector.h>
#include <google/protobuf/map.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster/apiserver/strategy/strategy.h"

namespace ksim::apiserver {

// A field path: "spec", "spec.containers[0]", "metadata.labels[app]".
class Path {
 public:
  Path() = default;
  explicit Path(std::string_view root) { Append(root); }
  // Copies only the bytes in use.
  Path(const Path& other) : size_(other.size_), long_(other.long_) { std::memcpy(inline_, other.inline_, size_); }
  Path& operator=(const Path& other) {
    size_ = other.size_;
    long_ = other.long_;
    std::memmove(inline_, other.inline_, size_);
    return *this;
  }
  Path Child(std::string_view name) const;
  Path Index(size_t i) const;
  Path Key(std::string_view key) const;
  std::string str() const { return std::string(view()); }
  std::string_view view() const { return long_.empty() ? std::string_view(inline_, size_) : std::string_view(long_); }

 private:
  void Append(std::string_view part);
  // Validation makes a path for every field it visits and almost none end up in an
  // error: paths up to kInlineBytes long live in the object, so making one allocates
  // nothing. Longer ones move to `long_`.
  static constexpr size_t kInlineBytes = 112;
  size_t size_ = 0;
  char inline_[kInlineBytes];
  std::string long_;
};

// Go's %q of a string: what Kubernetes prints for a bad string value.
std::string Quote(std::string_view value);
// Go's %#v of a map[string]string: map[string]string{"a":"b"}.
std::string GoMap(const std::map<std::string, std::string>& map);

// Protobuf maps iterate in an unspecified order; every walk over one goes through a copy.
std::map<std::string, std::string> Sorted(const google::protobuf::Map<std::string, std::string>& map);
// The same walk without the copy, for the checks every create runs: the entries as views,
// in key order (maps of up to 8 entries, such as a pod's labels, need no allocation).
using SortedEntries = absl::InlinedVector<std::pair<std::string_view, std::string_view>, 8>;
SortedEntries SortedView(const google::protobuf::Map<std::string, std::string>& map);

class Errors {
 public:
  void Required(const Path& path, std::string_view detail = "");
  void Invalid(const Path& path, std::string_view value, std::string_view detail);
  void Invalid(const Path& path, int64_t value, std::string_view detail);
  // `shown` is already rendered (a map, a struct).
  void InvalidShown(const Path& path, std::string_view shown, std::string_view detail);
  void NotSupported(const Path& path, std::string_view value, const std::vector<std::string_view>& supported);
  void Duplicate(const Path& path, std::string_view value);
  void DuplicateShown(const Path& path, std::string_view shown);
  void NotFound(const Path& path, std::string_view value);
  void Forbidden(const Path& path, std::string_view detail);
  void TooLong(const Path& path, int64_t max_bytes);

  // Invalid(path, value, message) for each message of a Kubernetes-style check.
  void InvalidEach(const Path& path, std::string_view value, const std::vector<std::string>& messages);

  void Append(std::vector<FieldError> more);
  bool empty() const { return list_.empty(); }
  size_t size() const { return list_.size(); }
  std::vector<FieldError> Take() { return std::move(list_); }

 private:
  void Add(const Path& path, std::string_view reason, std::string body, std::string_view detail);
  std::vector<FieldError> list_;
};

// Kubernetes' common detail strings.
inline constexpr std::string_view kNonNegative = "must be greater than or equal to 0";
inline constexpr std::string_view kPositive = "must be greater than zero";
inline constexpr std::string_view kImmutable = "field is immutable";

}  // namespace ksim::apiserver
